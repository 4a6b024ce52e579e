"""The same voxels stored in another array layout (test helper, ``tests/invariance``)."""

from __future__ import annotations

import numpy as np


def stored(arr: np.ndarray, aff: np.ndarray, order: tuple, flips: tuple) -> tuple:
    """``arr`` with its axes in ``order`` (result axis c = input axis ``order[c]``), then
    the result's axes ``flips`` reversed; every voxel keeps its world position (the
    affine's columns permuted and negated, its origin moved). Returns (array, affine)."""
    out = aff.copy()
    out[:3, :3] = aff[:3, :3][:, list(order)]
    arr = np.transpose(arr, order)
    for ax in flips:
        arr = np.flip(arr, axis=ax)
        out[:3, 3] += out[:3, ax] * (arr.shape[ax] - 1)
        out[:3, ax] = -out[:3, ax]
    return np.ascontiguousarray(arr), out


def back(arr: np.ndarray, order: tuple, flips: tuple) -> np.ndarray:
    """The inverse of :func:`stored` on an array of the stored layout."""
    for ax in flips:
        arr = np.flip(arr, axis=ax)
    return np.transpose(arr, np.argsort(order))
