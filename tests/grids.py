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
