"""Fit a voxel grid around the phantom's anatomy and list its voxel centres in world mm."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from twinsep.errors import ConfigError

#: Largest grid make_phantom builds (voxels): about 0.5 GB of float32 work arrays.
MAX_VOXELS = 40_000_000


def _check_spacing(spacing_mm: float | Sequence[float]) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(spacing_mm, dtype=np.float64))
    if arr.shape == (1,):
        arr = np.repeat(arr, 3)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)) or np.any(arr < 0.1) or np.any(arr > 20):
        raise ConfigError(
            "spacing_mm",
            f"{spacing_mm!r} is not one or three voxel sizes in 0.1..20 mm; e.g. 1.0 or (0.8, 0.8, 2.5)",
        )
    return arr


def _check_affine(affine: npt.ArrayLike) -> np.ndarray:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape == (4, 4):
        a = a[:3, :3]
    if a.shape != (3, 3) or not np.all(np.isfinite(a)):
        raise ConfigError("affine", f"expected a finite 4x4 (or 3x3) matrix, got shape {a.shape}")
    spacing = np.linalg.norm(a, axis=0)
    if np.any(spacing < 0.1) or np.any(spacing > 20) or abs(np.linalg.det(a)) < 1e-6:
        raise ConfigError(
            "affine",
            "voxel axes must be independent with lengths (voxel sizes) in 0.1..20 mm; "
            f"got column lengths {np.round(spacing, 3).tolist()}",
        )
    return a


def fit_grid(
    lo_mm: np.ndarray,
    hi_mm: np.ndarray,
    *,
    size: int,
    spacing_mm: float | Sequence[float] | None,
    affine: npt.ArrayLike | None,
) -> tuple[tuple[int, int, int], np.ndarray]:
    """Shape and voxel-to-world affine of a grid covering the world box ``[lo, hi]``.

    Parameters
    ----------
    lo_mm, hi_mm : (3,) ndarray
        World (RAS) corners of the box to cover, mm.
    size : int
        Voxels along the box's longest axis (isotropic RAS grid) when neither
        ``spacing_mm`` nor ``affine`` is given.
    spacing_mm : float or (3,) sequence, optional
        Exact voxel size(s) of an axis-aligned RAS grid (``size`` is then ignored).
    affine : (4, 4) or (3, 3) array_like, optional
        Voxel axes (directions times voxel sizes) of an arbitrary grid: rotated, flipped
        or oblique. Its translation is replaced so that the grid covers the box.

    Raises
    ------
    ConfigError
        Invalid spacing or affine, both given, or a grid larger than :data:`MAX_VOXELS`.
    """
    ext = hi_mm - lo_mm
    if affine is not None:
        if spacing_mm is not None:
            raise ConfigError("spacing_mm", "give either spacing_mm or affine, not both")
        m = _check_affine(affine)
        corners = np.array(
            [
                [
                    lo_mm[0] if i else hi_mm[0],
                    lo_mm[1] if j else hi_mm[1],
                    lo_mm[2] if k else hi_mm[2],
                ]
                for i in (0, 1)
                for j in (0, 1)
                for k in (0, 1)
            ]
        )
        idx = corners @ np.linalg.inv(m).T
        i_lo = np.floor(idx.min(axis=0))
        i_hi = np.ceil(idx.max(axis=0))
        shape = tuple(int(v) + 1 for v in (i_hi - i_lo))
        origin = m @ i_lo
    else:
        if spacing_mm is None:
            step = float(ext.max()) / max(size - 1, 1)
            sp = np.array([step, step, step])
        else:
            sp = _check_spacing(spacing_mm)
        counts = np.ceil(ext / sp).astype(int) + 1
        shape = tuple(int(c) for c in counts)
        centre = (lo_mm + hi_mm) / 2.0
        origin = centre - (counts - 1) / 2.0 * sp
        m = np.diag(sp)
    nvox = math.prod(shape)
    if nvox > MAX_VOXELS:
        raise ConfigError(
            "size" if affine is None and spacing_mm is None else "spacing_mm",
            f"the grid would have {nvox} voxels {shape}, more than {MAX_VOXELS}; "
            "use a smaller size or larger voxels",
        )
    aff = np.eye(4)
    aff[:3, :3] = m
    aff[:3, 3] = origin
    return (shape[0], shape[1], shape[2]), aff


def voxel_centres_mm(
    shape: tuple[int, int, int], affine: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World x, y, z (float32, flat, C order) of every voxel centre of the grid."""
    i, j, k = (np.arange(n, dtype=np.float32) for n in shape)
    a = affine.astype(np.float32)
    out = []
    for row in range(3):
        v = (
            a[row, 0] * i[:, None, None]
            + a[row, 1] * j[None, :, None]
            + a[row, 2] * k[None, None, :]
            + a[row, 3]
        )
        out.append(np.ascontiguousarray(v, dtype=np.float32).reshape(-1))
    return out[0], out[1], out[2]
