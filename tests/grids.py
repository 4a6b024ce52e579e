"""Generated test grids: a cubic voxel grid rotated against the world axes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rotated_grid(n: int, spacing_mm: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """World coordinates (mm) of an ``n``^3 grid centred on the origin, rotated by a seeded
    random orthogonal matrix (a mirror when its determinant is -1), and its affine.

    Returns
    -------
    world : ndarray, shape (n, n, n, 3)
        World position (mm) of each voxel centre.
    affine : ndarray, shape (4, 4)
        Voxel-to-world affine.
    """
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    rot = q * np.sign(np.diag(r))
    affine = np.eye(4)
    affine[:3, :3] = rot * spacing_mm
    affine[:3, 3] = -affine[:3, :3] @ np.full(3, (n - 1) / 2.0)
    ijk = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), axis=-1).astype(np.float64)
    return ijk @ affine[:3, :3].T + affine[:3, 3], affine


def supersampled(
    tissue: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a tissue model with 2x2x2 sub-voxel samples (partial volume).

    ``tissue(ijk)`` maps voxel coordinates (..., 3) to (HU, labels). Returns the mean HU
    of the eight samples at +-0.25 voxel, the labels at the voxel centres (the truth), and
    the voxel coordinates, shape ``shape + (3,)``.
    """
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij"))
    ijk = np.moveaxis(grid, 0, -1)
    acc = np.zeros(shape)
    for off in np.array(np.meshgrid([-0.25, 0.25], [-0.25, 0.25], [-0.25, 0.25])).reshape(3, -1).T:
        acc += tissue(ijk + off)[0]
    return acc / 8.0, tissue(ijk)[1], ijk


def rotation_matrix(axis: np.ndarray, deg: float) -> np.ndarray:
    """Rotation by ``deg`` degrees about ``axis`` (Rodrigues' formula)."""
    u = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    k = np.array([[0, -u[2], u[1]], [u[2], 0, -u[0]], [-u[1], u[0], 0]])
    t = np.deg2rad(deg)
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def resample_oblique(
    arr: np.ndarray, affine: np.ndarray, rot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Linear resampling (SimpleITK, -1024 outside) onto a grid whose axes are ``rot``
    times the input's, same spacing, covering the whole input: the anatomy keeps its
    world position. ``affine`` is RAS (nibabel); returns the array (input dtype) and
    its RAS affine."""
    import SimpleITK as sitk

    ras_lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    sp = np.linalg.norm(affine[:3, :3], axis=0)
    lps = ras_lps @ affine
    img = sitk.GetImageFromArray(np.ascontiguousarray(arr.T).astype(np.float32))
    img.SetSpacing(sp.tolist())
    img.SetOrigin(lps[:3, 3].tolist())
    direction = lps[:3, :3] / sp
    img.SetDirection(direction.ravel().tolist())
    new_dir = rot @ direction
    n = np.array(arr.shape) - 1
    corners = np.array([[i, j, k] for i in (0, n[0]) for j in (0, n[1]) for k in (0, n[2])])
    along = (corners @ lps[:3, :3].T + lps[:3, 3]) @ new_dir  # corners on the new axes
    lo = along.min(axis=0)
    size = np.ceil((along.max(axis=0) - lo) / sp).astype(int) + 1
    res = sitk.ResampleImageFilter()
    res.SetOutputSpacing(sp.tolist())
    res.SetOutputOrigin((new_dir @ lo).tolist())
    res.SetOutputDirection(new_dir.ravel().tolist())
    res.SetSize([int(v) for v in size])
    res.SetInterpolator(sitk.sitkLinear)
    res.SetDefaultPixelValue(-1024.0)
    out = np.round(sitk.GetArrayFromImage(res.Execute(img)).T).astype(arr.dtype)
    new_aff = np.eye(4)
    new_aff[:3, :3] = new_dir * sp
    new_aff[:3, 3] = new_dir @ lo
    return out, ras_lps @ new_aff
