"""Hand-made conjoined-head label volumes with known geometry (test fixtures).

Independent of ``twinsep.phantom``: two layered heads (brain, CSF, skull, scalp) each with
a neck, a nose, a chin and two ears, joined by a cylindrical bridge, on a grid whose
affine (spacing, rotation, flips) is chosen by the test. Everything is defined in world
mm; the truth is returned with the volumes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

R_BRAIN = 30.0
R_CSF = 32.0
R_BONE = 35.0
R_SCALP = 39.0


@dataclass
class Pair:
    labels: np.ndarray
    twins: np.ndarray
    affine: np.ndarray
    axis_a: np.ndarray
    axis_b: np.ndarray
    face_a: np.ndarray
    face_b: np.ndarray
    bridge_centre: np.ndarray
    bridge_axis: np.ndarray
    bridge_radius_mm: float
    axis_angle_deg: float
    rotation_deg: float


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrix taking unit vector a onto unit vector b."""
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if np.linalg.norm(v) < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = _unit(np.cross(a, np.eye(3)[int(np.argmin(np.abs(a)))]))
        return Rotation.from_rotvec(np.pi * perp).as_matrix()
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * (1.0 / (1.0 + c))


def grid_affine(shape: tuple[int, int, int], spacing: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Affine with given spacing and direction, centred on world origin."""
    aff = np.eye(4)
    aff[:3, :3] = rot * spacing
    centre = (np.array(shape) - 1) / 2.0
    aff[:3, 3] = -aff[:3, :3] @ centre
    return aff


def voxel_skin(body: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Skin points (mm) and outward voxel normals of ``body`` (bool) on a 1 mm grid whose
    voxel centres are the world coordinates (identity affine), as the frames read them
    (``twinsep.fusion.axes._skin_normals``: everything outside the body is background)."""
    from twinsep.fusion.axes import _skin_normals

    skin = _skin_normals(
        body=body,
        background=~body,
        free=np.ones_like(body),
        affine=np.eye(4),
        offset=np.zeros(3, dtype=int),
        full_shape=body.shape,
    )
    assert skin is not None
    return skin


def site_dir(elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Local direction (x lateral, y face, z vertex) at an elevation from the vertex."""
    e, p = np.radians(elevation_deg), np.radians(azimuth_deg)
    return np.array([np.sin(e) * np.sin(p), np.sin(e) * np.cos(p), np.cos(e)])


def make_pair(
    *,
    shape: tuple[int, int, int] = (88, 88, 88),
    spacing: tuple[float, float, float] = (2.6, 2.6, 2.6),
    grid_rot: np.ndarray | None = None,
    world_rot: np.ndarray | None = None,
    site_a: tuple[float, float] = (0.0, 0.0),
    site_b: tuple[float, float] = (0.0, 0.0),
    roll_deg: float = 0.0,
    bridge_radius_mm: float = 20.0,
    bridge_gap_mm: float = 12.0,
    sinus: str = "none",
    face: bool = True,
    neck: bool = True,
    cranium_a: Callable[[np.ndarray], np.ndarray] | None = None,
    cranium_b: Callable[[np.ndarray], np.ndarray] | None = None,
    neck_length_mm: float = 80.0,
    neck_back_mm: float = 4.0,
) -> Pair:
    """Two heads joined by a bridge.

    Parameters
    ----------
    site_a, site_b : (elevation_deg, azimuth_deg)
        Fusion site on each head in its own frame (elevation from the vertex; azimuth
        0 = face, 180 = back of the head).
    roll_deg : float
        Rotation of head B about the bridge axis.
    sinus : {"none", "ring", "sagittal", "separate"}
        Shared circular sinus, shared sagittal-like tube, or one own sinus per twin.
    face, neck : bool
        Give each head a nose, chin and ears / a neck below the cranium (both False:
        plain layered spheres with nothing beyond the scalp but the bridge).
    cranium_a, cranium_b : callable, optional
        A deformed cranium for head A / B: maps local coordinates (n, 3), mm, to those
        of the round head at which the brain, CSF, bone, scalp and ears (which ride on
        the skull) are drawn; the nose, chin and neck stay as they are, symmetric
        about the local plane x = 0 (the face's midline plane, the truth).
    neck_length_mm : float
        How far below the head centre the neck ends (mm); a long neck runs off the
        grid, as where a scan's edge crosses it.
    neck_back_mm : float
        How far behind the head centre (away from the face) the neck's axis runs (mm),
        parallel to the head's long axis.
    """
    rot_w = np.eye(3) if world_rot is None else world_rot
    rot_g = np.eye(3) if grid_rot is None else grid_rot
    aff = grid_affine(shape, np.asarray(spacing, float), rot_g)
    ijk = np.indices(shape).reshape(3, -1).T.astype(np.float64)
    xyz = ijk @ aff[:3, :3].T + aff[:3, 3]

    # Frames in world: A's local frame rotated by rot_w; bridge direction v.
    s_a = site_dir(*site_a)
    v = rot_w @ s_a
    ra = rot_w
    s_b = site_dir(*site_b)
    rb = Rotation.from_rotvec(np.radians(roll_deg) * v).as_matrix() @ _align(s_b, -v)
    u_a, f_a = ra @ [0, 0, 1.0], ra @ [0, 1.0, 0]
    u_b, f_b = rb @ [0, 0, 1.0], rb @ [0, 1.0, 0]
    dist = 2 * R_SCALP + bridge_gap_mm
    c_a = -v * dist / 2
    c_b = v * dist / 2

    labels = np.zeros(xyz.shape[0], np.uint8)
    owner = np.zeros(xyz.shape[0], np.uint8)

    def head(
        c: np.ndarray,
        r: np.ndarray,
        twin: int,
        cranium: Callable[[np.ndarray], np.ndarray] | None,
    ) -> None:
        loc = (xyz - c) @ r  # local coordinates (x lateral, y face, z vertex)
        skull = loc if cranium is None else cranium(loc)
        rr = np.linalg.norm(skull, axis=1)
        soft = rr <= R_SCALP
        # neck: cylinder going down from the head centre
        if neck:
            radial = np.hypot(loc[:, 0], loc[:, 1] + neck_back_mm)
            soft |= (radial <= 17.0) & (loc[:, 2] <= -15.0) & (loc[:, 2] >= -neck_length_mm)
        if face:
            soft |= np.linalg.norm((loc - [0, 36.0, -12.0]) / [7.0, 10.0, 9.0], axis=1) <= 1
            soft |= np.linalg.norm((loc - [0, 26.0, -38.0]) / [16.0, 12.0, 9.0], axis=1) <= 1
            for side in (-1, 1):
                soft |= (
                    np.linalg.norm((skull - [side * 40.0, -2.0, -6.0]) / [5.0, 8.0, 12.0], axis=1)
                    <= 1
                )
        lab = np.where(soft, 1, 0)
        lab = np.where(rr <= R_BONE, 2, lab)
        lab = np.where(rr <= R_CSF, 4, lab)
        lab = np.where(rr <= R_BRAIN, 3, lab)
        put = lab > 0
        labels[put] = np.maximum(labels[put], lab[put])
        owner[put & (owner == 0)] = twin

    head(c_a, ra, 1, cranium_a)
    head(c_b, rb, 2, cranium_b)
    # bridge: cylinder between the centres, soft tissue with a bone ring
    t = xyz @ v
    rad = np.linalg.norm(xyz - np.outer(t, v), axis=1)
    bridge = (rad <= bridge_radius_mm) & (np.abs(t) <= dist / 2)
    outside_heads = bridge & (labels <= 1)
    labels[outside_heads] = 1
    ring = (
        bridge
        & (rad >= bridge_radius_mm - 6)
        & (rad <= bridge_radius_mm - 3)
        & (np.abs(t) < dist / 2 - R_BRAIN)
    )
    labels[ring & (labels <= 2)] = 2
    # twins: the plane through the middle of the bridge
    body = labels > 0
    owner[:] = 0
    owner[body & (t < 0)] = 1
    owner[body & (t >= 0)] = 2
    if sinus == "ring":
        helper = np.eye(3)[int(np.argmin(np.abs(v)))]
        e1 = _unit(np.cross(v, helper))
        e2 = np.cross(v, e1)
        # torus in the bridge, tilted so that it crosses the twin boundary all around
        ring_r = bridge_radius_mm - 10.0
        phi = np.arctan2((xyz @ e2), (xyz @ e1))
        centre_line = np.outer(np.cos(phi), e1) * ring_r + np.outer(np.sin(phi), e2) * ring_r
        centre_line += np.outer(4.0 * np.cos(phi), v)
        d = np.linalg.norm(xyz - centre_line, axis=1)
        labels[(d <= 4.0) & body] = 5
    elif sinus == "sagittal":
        helper = np.eye(3)[int(np.argmin(np.abs(v)))]
        e1 = _unit(np.cross(v, helper))
        off = xyz - 6.0 * e1
        tt = off @ v
        d = np.linalg.norm(off - np.outer(tt, v), axis=1)
        labels[(d <= 3.5) & (np.abs(tt) <= dist / 2) & body] = 5
    elif sinus == "separate":
        helper = np.eye(3)[int(np.argmin(np.abs(v)))]
        e1 = _unit(np.cross(v, helper))
        for sgn in (-1, 1):
            centre = sgn * v * (dist / 2 - R_BRAIN - 1.0)
            off = xyz - centre
            tt = off @ e1
            d = np.linalg.norm(off - np.outer(tt, e1), axis=1)
            labels[(d <= 3.0) & (np.abs(tt) <= 25.0) & body] = 5
    sh = shape
    shared_axis = _unit(u_a - u_b)
    pa = f_a - np.dot(f_a, shared_axis) * shared_axis
    pb = f_b - np.dot(f_b, shared_axis) * shared_axis
    rot = float(np.degrees(np.arccos(np.clip(np.dot(_unit(pa), _unit(pb)), -1, 1))))
    ang = float(np.degrees(np.arccos(np.clip(np.dot(u_a, u_b), -1, 1))))
    return Pair(
        labels=labels.reshape(sh),
        twins=owner.reshape(sh),
        affine=aff,
        axis_a=u_a,
        axis_b=u_b,
        face_a=f_a,
        face_b=f_b,
        bridge_centre=np.zeros(3),
        bridge_axis=v,
        bridge_radius_mm=bridge_radius_mm,
        axis_angle_deg=ang,
        rotation_deg=rot,
    )
