"""Analytic two-head test cases for the reconstruct tests (truth known in closed form).

Two layered spheres (radius 60 mm: scalp 54-60, bone 50-54, CSF 48-50, brain < 48)
with centres ``+-d`` along a unit direction ``u``; each voxel of the union belongs to the
twin on its side of the mid-plane and takes the layer of its own sphere. The cut is the
disc of the mid-plane inside both spheres, so (with ``R_x`` the outer radius of layer x)
scalp defect = pi (R_scalp^2 - d^2), bone defect = pi (R_bone^2 - d^2), exposed dura =
pi (R_csf^2 - d^2). The grid may be rotated and anisotropic: all geometry is generated in
world mm from the affine.
"""

from __future__ import annotations

import math

import numpy as np

from twinsep.reconstruct.defects import HeadFrame
from twinsep.volume import Volume, apply_affine

R_SCALP, R_BONE, R_CSF, R_BRAIN = 60.0, 54.0, 50.0, 48.0


def rotation(axis: tuple[float, float, float], angle_deg: float) -> np.ndarray:
    """Rotation matrix about ``axis`` (Rodrigues)."""
    k = np.asarray(axis, dtype=np.float64)
    k /= np.linalg.norm(k)
    a = math.radians(angle_deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * kx + (1 - math.cos(a)) * kx @ kx


def two_heads(
    *,
    half_distance_mm: float = 45.0,
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0),
    spacing_mm: tuple[float, float, float] = (2.0, 2.0, 2.0),
    rot: np.ndarray | None = None,
    scale: float = 1.0,
    stretch: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> tuple[Volume, Volume, dict[str, float]]:
    """Labels, twins and analytic truth for two joined layered spheres.

    ``stretch`` scales the layers along the world axes (ellipsoids of semi-axes
    ``radius * stretch``); the truth's areas are those of the spheres (1, 1, 1).
    """
    u = np.asarray(direction, dtype=np.float64)
    u /= np.linalg.norm(u)
    d = half_distance_mm
    radii = np.array([R_SCALP, R_BONE, R_CSF, R_BRAIN]) * scale
    st = np.asarray(stretch, dtype=np.float64)
    # half-size of the world box holding both heads
    ext_world = np.abs(u) * d + radii[0] * st.max() + 6.0
    rot = np.eye(3) if rot is None else rot
    sp = np.asarray(spacing_mm, dtype=np.float64)
    lin = rot * sp  # columns: world direction of each voxel axis times spacing
    # voxel-axis extent of the rotated world box
    n = np.ceil(2 * (np.abs(rot).T @ ext_world) / sp).astype(int) + 2
    half = (n - 1) / 2.0
    affine = np.eye(4)
    affine[:3, :3] = lin
    affine[:3, 3] = -lin @ half
    idx = np.indices(tuple(int(v) for v in n)).reshape(3, -1).T
    world = apply_affine(affine, idx)
    ca, cb = -d * u, d * u
    ra = np.linalg.norm((world - ca) / st, axis=1)
    rb = np.linalg.norm((world - cb) / st, axis=1)
    side_a = world @ u < 0
    r_own = np.where(side_a, ra, rb)
    inside = np.minimum(ra, rb) <= radii[0]
    own_inside = r_own <= radii[0]
    tw = np.where(inside & own_inside, np.where(side_a, 1, 2), 0).astype(np.uint8)
    lab = np.zeros(len(world), dtype=np.uint8)
    lab[(tw > 0)] = 1
    lab[(tw > 0) & (r_own < radii[1])] = 2
    lab[(tw > 0) & (r_own < radii[2])] = 4
    lab[(tw > 0) & (r_own < radii[3])] = 3
    shape = tuple(int(v) for v in n)
    labels = Volume(lab.reshape(shape), affine)
    twins = Volume(tw.reshape(shape), affine)
    truth = {
        "scalp_defect_area_mm2": math.pi * (radii[0] ** 2 - d * d),
        "bone_defect_area_mm2": math.pi * (radii[1] ** 2 - d * d),
        "dura_exposed_area_mm2": math.pi * (radii[2] ** 2 - d * d),
        "outer_radius_mm": float(radii[0]),
        "bone_outer_radius_mm": float(radii[1]),
        "half_distance_mm": d,
    }
    return labels, twins, truth


def head_frames(
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0),
    face: tuple[float, float, float] = (1.0, 0.0, 0.0),
) -> dict[str, HeadFrame]:
    """Frames of :func:`two_heads`: each twin's vertex toward the other, faces along ``face``.

    ``face`` is made perpendicular to ``direction``.
    """
    u = np.asarray(direction, dtype=np.float64)
    u /= np.linalg.norm(u)
    f = np.asarray(face, dtype=np.float64)
    f = f - (f @ u) * u
    f /= np.linalg.norm(f)
    return {"A": HeadFrame(u, f), "B": HeadFrame(-u, f)}
