"""Fuse two copies of a head into a craniopagus with a known owner for every voxel.

Twin A keeps the head frame; twin B is rotated so that its contact point faces A's,
twisted about the contact axis, and pushed into A by ``overlap_mm``. Where both heads
occupy a voxel, it belongs to the twin in which it lies *deeper* (larger distance from
that head's own skin): the true twin boundary is the surface of equal depth, and each
twin's tissue there is the tissue of its own head at that point, as in a real union
where skin, bone and dura merge across the junction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L
from twinsep.realanatomy.head import HeadModel
from twinsep.segment import morph
from twinsep.volume import Volume, apply_affine, world_to_voxel


@dataclass(frozen=True)
class FusionConfig:
    """How the two heads are joined.

    Attributes
    ----------
    contact_a, contact_b : (x, y, z)
        Direction (head frame, unit or not) from each head's cranial centre to its
        point of union: ``(0, 0, 1)`` is the vertex, ``(0, 1, 1)`` frontal-parietal.
    twist_deg : float
        Rotation of twin B about the contact axis (deg). B is turned onto A by the
        smallest rotation (for a vertex-to-vertex union: 180 deg about the
        anterior-posterior axis, so both faces look the same way), then by this twist:
        a vertex-to-vertex union's faces are ``twist_deg`` apart about the union axis
        (the O'Connell rotation).
    overlap_mm : float
        Interpenetration of the two scalps along the contact axis (mm); ~2x the
        scalp+skull thickness makes the skulls and dura meet.
    spacing_mm : float
        Isotropic voxel size of the output grid (mm).
    direction : 3x3 or None
        Voxel-axis directions (columns) of the output grid in world; None = identity.
        Use a flip or an oblique rotation to test orientation handling.
    table : bool
        Add a patient table touching the scalp.
    """

    contact_a: tuple[float, float, float] = (0.0, 0.0, 1.0)
    contact_b: tuple[float, float, float] = (0.0, 0.0, 1.0)
    twist_deg: float = 30.0
    overlap_mm: float = 16.0
    spacing_mm: float = 1.5
    direction: tuple[tuple[float, float, float], ...] | None = None
    table: bool = True


@dataclass(frozen=True)
class FusedCase:
    """A craniopagus built from two heads.

    Attributes
    ----------
    labels, twins : Volume
        Truth tissue labels (0..5) and owners (0, 1 = A, 2 = B) on the output grid.
    mr : Volume or None
        Fused T1 intensities when the head has an MR.
    texture : ndarray or None
        Fused texture (for :func:`labels_to_ct`).
    table : ndarray of bool
        Table voxels (background in the truth).
    b_rotation : (3, 3) ndarray
        Rotation of twin B relative to A (world).
    axis_angle_deg : float
        Angle between the two heads' neck-to-vertex axes (deg): 180 = vertical.
    face_angle_deg : float
        Angle between the two faces' directions (deg).
    world_to_b_head : (4, 4) ndarray
        Maps a world point (mm) to the head frame of the rotated copy (head mm), e.g.
        to sample another image of that copy; the first copy's head frame is world.
    b_copy_twin : int
        Twin label (1 or 2) the rotated copy received under the A/B rule.
    """

    labels: Volume
    twins: Volume
    mr: Volume | None
    texture: np.ndarray | None
    table: np.ndarray
    b_rotation: np.ndarray
    axis_angle_deg: float
    face_angle_deg: float
    world_to_b_head: np.ndarray | None = None
    b_copy_twin: int = L.TWIN_B


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking unit vector ``a`` onto unit vector ``b`` (Rodrigues)."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if c < -1 + 1e-9:
        # antiparallel: 180 degrees about any axis perpendicular to a
        perp = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(perp) < 1e-6:
            perp = np.cross(a, [0.0, 1.0, 0.0])
        return axis_angle(perp, 180.0)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


def axis_angle(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotation matrix of ``angle_deg`` about ``axis``."""
    k = np.asarray(axis, float)
    k = k / np.linalg.norm(k)
    t = np.deg2rad(angle_deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(t) * kx + (1 - np.cos(t)) * kx @ kx


def _surface_distance(
    mask: np.ndarray, affine: np.ndarray, centre: np.ndarray, d: np.ndarray
) -> float:
    """Distance (mm) from ``centre`` along ``d`` to where the head mask ends."""
    step = 0.25
    inv = np.linalg.inv(affine)
    last = 0.0
    for i in range(1, 4000):
        p = centre + d * (i * step)
        ijk = np.rint(apply_affine(inv, p)).astype(int)
        if (ijk < 0).any() or (ijk >= mask.shape).any() or not mask[tuple(ijk)]:
            return last
        last = i * step
    return last


def fuse_heads(head: HeadModel, config: FusionConfig) -> FusedCase:
    """Join two copies of ``head`` as described by ``config``."""
    mask = head.labels > 0 if head.mask is None else np.asarray(head.mask, bool)
    hsp = np.linalg.norm(head.affine[:3, :3], axis=0)
    depth = morph.distance_mm(mask, (float(hsp[0]), float(hsp[1]), float(hsp[2])))
    ua = np.asarray(config.contact_a, float)
    ua /= np.linalg.norm(ua)
    vb = np.asarray(config.contact_b, float)
    vb /= np.linalg.norm(vb)
    c = np.asarray(head.centre_mm, float)
    pa = c + ua * _surface_distance(mask, head.affine, c, ua)
    pb = c + vb * _surface_distance(mask, head.affine, c, vb)
    rot = axis_angle(ua, config.twist_deg) @ rotation_between(vb, -ua)
    t = pa - config.overlap_mm * ua  # where B's contact point lands

    def b_to_world(p: np.ndarray) -> np.ndarray:
        return (p - pb) @ rot.T + t

    # output grid: bounding box of both heads in the grid's own axes
    direction = np.eye(3) if config.direction is None else np.asarray(config.direction, float)
    idx = np.argwhere(mask)
    pts = apply_affine(head.affine, idx[:: max(1, len(idx) // 200_000)])
    allp = np.vstack([pts, b_to_world(pts)])
    local = allp @ direction  # coordinates along the grid axes
    lo = local.min(axis=0) - 10.0
    hi = local.max(axis=0) + 10.0
    s = config.spacing_mm
    shape = tuple(int(np.ceil((b - a) / s)) + 1 for a, b in zip(lo, hi, strict=True))
    affine = np.eye(4)
    affine[:3, :3] = direction * s
    affine[:3, 3] = direction @ lo
    grid = np.indices(shape, dtype=np.float32).reshape(3, -1).T
    world = apply_affine(affine, grid)
    del grid
    ia = world_to_voxel(head.affine, world).T
    ib = world_to_voxel(head.affine, (world - t) @ rot + pb).T
    del world

    def samp(a: np.ndarray, coords: np.ndarray, order: int) -> np.ndarray:
        return ndi.map_coordinates(a, coords, order=order, mode="constant", cval=0).reshape(shape)

    la = samp(head.labels, ia, 0)
    lb = samp(head.labels, ib, 0)
    da = samp(depth, ia, 1)
    db = samp(depth, ib, 1)
    if head.mask is None:
        in_a, in_b = la > 0, lb > 0
    else:
        m8 = mask.astype(np.uint8)
        in_a, in_b = samp(m8, ia, 0) > 0, samp(m8, ib, 0) > 0
        del m8
    own_a = in_a & (~in_b | (da >= db))
    own_b = in_b & ~own_a
    del in_a, in_b
    lab = np.where(own_a, la, np.where(own_b, lb, 0)).astype(np.uint8)
    tw = np.zeros(shape, np.uint8)
    tw[own_a] = L.TWIN_A
    tw[own_b] = L.TWIN_B
    texture = None
    if head.texture is not None:
        texture = np.where(own_a, samp(head.texture, ia, 1), samp(head.texture, ib, 1)).astype(
            np.float32
        )
    mr_vol = None
    if head.mr is not None:
        mr = np.where(own_a, samp(head.mr, ia, 1), np.where(own_b, samp(head.mr, ib, 1), 0))
        mr_vol = Volume(mr.astype(np.float32), affine.copy(), {"kind": "T1"})
    del ia, ib
    # the owners must follow the DESIGN rule: A has the smaller coordinate along the
    # world axis where the centroids differ most
    lab_vol = Volume(lab, affine.copy(), {"kind": "labels"})
    ca = lab_vol.centroid_mm(tw == L.TWIN_A)
    cb = lab_vol.centroid_mm(tw == L.TWIN_B)
    axis = int(np.argmax(np.abs(ca - cb)))
    b_copy_twin = L.TWIN_B
    if ca[axis] > cb[axis]:
        b_copy_twin = L.TWIN_A
        tw = np.where(tw == L.TWIN_A, L.TWIN_B, np.where(tw == L.TWIN_B, L.TWIN_A, 0)).astype(
            np.uint8
        )
    table = np.zeros(shape, bool)
    if config.table:
        # a 6 mm slab whose top touches the most posterior skin of twin A (world -y
        # of head A, i.e. both lie on their backs/sides on one table)
        n = np.array([0.0, -1.0, 0.0])
        coords = apply_affine(affine, np.indices(shape, dtype=np.float32).reshape(3, -1).T) @ n
        coords = coords.reshape(shape)
        top = float(coords[lab > 0].max())
        table = (coords >= top - 0.5) & (coords <= top + 6.0) & (lab == 0)
    axis_angle_deg = float(
        np.degrees(np.arccos(np.clip(np.dot([0, 0, 1.0], rot @ [0, 0, 1.0]), -1, 1)))
    )
    face = rot @ np.array([0.0, 1.0, 0.0])
    face_angle = float(np.degrees(np.arccos(np.clip(face[1], -1, 1))))
    return FusedCase(
        labels=lab_vol,
        twins=Volume(tw, affine.copy(), {"kind": "twins"}),
        mr=mr_vol,
        texture=texture,
        table=table,
        b_rotation=rot,
        axis_angle_deg=axis_angle_deg,
        face_angle_deg=face_angle,
        world_to_b_head=_world_to_b_head(rot, t, pb),
        b_copy_twin=b_copy_twin,
    )


def _world_to_b_head(rot: np.ndarray, t: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """4x4 form of ``p -> (p - t) @ rot + pb`` (world to the rotated copy's head mm)."""
    m = np.eye(4)
    m[:3, :3] = rot.T
    m[:3, 3] = pb - rot.T @ t
    return m


def write_fused_case(
    folder: Path, case: FusedCase, ct: Volume, facts_name: str, facts: dict[str, Any]
) -> Path:
    """Write a built case into ``folder``, each file atomically; return the CT path.

    ``labels.nii.gz``, ``twins.nii.gz``, ``mr.nii.gz`` (when the case has an MR), the
    ``facts`` as JSON under ``facts_name``, and ``ct.nii.gz`` last, so that a folder
    holding a CT holds the whole case (the case cache tests for the CT only).
    """
    from twinsep.io import atomic_write_text, save_volume

    folder.mkdir(parents=True, exist_ok=True)
    save_volume(case.labels, folder / "labels.nii.gz")
    save_volume(case.twins, folder / "twins.nii.gz")
    if case.mr is not None:
        save_volume(case.mr, folder / "mr.nii.gz")
    atomic_write_text(folder / facts_name, json.dumps(facts, indent=2) + "\n")
    save_volume(ct, folder / "ct.nii.gz")
    return folder / "ct.nii.gz"
