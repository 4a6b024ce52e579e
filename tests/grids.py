"""Generated test grids: a cubic voxel grid rotated against the world axes."""

from __future__ import annotations

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
