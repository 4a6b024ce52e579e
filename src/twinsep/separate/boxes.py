"""Bounding boxes of masks, so that the separation steps work near the cut, not on the grid.

A box is ``(lo, hi)``: integer index arrays of length 3, ``hi`` exclusive. The
separation surface of a 512x512x400 scan lies in a few percent of the grid; every step
that only needs voxels near it crops to a box first (issue 10).
"""

from __future__ import annotations

import numpy as np

Box = tuple[np.ndarray, np.ndarray]


def extent(mask: np.ndarray) -> Box | None:
    """Index bounds ``(lo, hi)`` (``hi`` exclusive) of a mask's true voxels.

    Three reductions of the mask (one per axis); no index list of the voxels is built.

    Returns
    -------
    (lo, hi) of int64 arrays, or None when the mask is empty.
    """
    lo, hi = [], []
    for ax in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != ax)))
        if hit.size == 0:
            return None
        lo.append(int(hit[0]))
        hi.append(int(hit[-1]) + 1)
    return np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)


def slices(lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, slice]:
    """The index slices of the box ``[lo, hi)``."""
    return (
        slice(int(lo[0]), int(hi[0])),
        slice(int(lo[1]), int(hi[1])),
        slice(int(lo[2]), int(hi[2])),
    )


def grow(box: Box, margin: np.ndarray | int, shape: tuple[int, ...]) -> Box:
    """The box grown by ``margin`` voxels on every side, clipped to ``shape``."""
    lo, hi = box
    return np.maximum(lo - margin, 0), np.minimum(hi + margin, np.asarray(shape))


def window(crop: np.ndarray, crop_lo: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The box ``[lo, hi)`` of a grid known only on ``crop`` (placed at ``crop_lo``).

    Voxels of the box outside the crop are zero (False).
    """
    out = np.zeros(tuple(int(v) for v in np.asarray(hi) - np.asarray(lo)), dtype=crop.dtype)
    a = np.maximum(lo, crop_lo)
    b = np.minimum(hi, np.asarray(crop_lo) + np.asarray(crop.shape))
    if np.all(b > a):
        out[slices(a - lo, b - lo)] = crop[slices(a - crop_lo, b - crop_lo)]
    return out
