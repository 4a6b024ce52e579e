"""Compact, lossless storage of label volumes for the stage cache.

The ``separate`` result holds two whole-grid uint8 label maps (refined twins and the
cut): 210 MB of pickle on a 512x512x400 scan, almost all of it long runs of one value.
Run-length coding along the array's memory order stores them in a few MB and decodes
in a fraction of a second; the decoded array equals the original (values, dtype, shape
and memory order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from twinsep.volume import Volume


@dataclass(frozen=True)
class PackedVolume:
    """A label :class:`Volume` as runs of equal values.

    Attributes
    ----------
    starts : (R,) uint32 (int64 beyond 2**32 voxels) ndarray
        Flat index (memory order) where each run begins; ``starts[0] == 0``.
    values : (R,) ndarray
        Value of each run, in the volume's dtype.
    shape : tuple of int
    order : "C" or "F"
        Memory order of the original array (the decoded array has the same).
    affine : (4, 4) ndarray
    meta : dict
    """

    starts: np.ndarray
    values: np.ndarray
    shape: tuple[int, ...]
    order: Literal["C", "F"]
    affine: np.ndarray
    meta: dict[str, Any]


def pack_volume(volume: Volume) -> PackedVolume:
    """Run-length code a label volume (any integer or bool dtype)."""
    arr = volume.array
    order: Literal["C", "F"] = "F" if arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"
    flat = arr.ravel(order=order)
    index_dtype = np.uint32 if flat.size < 2**32 else np.int64
    if flat.size == 0:
        starts = np.zeros(0, dtype=index_dtype)
    else:
        change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        starts = np.concatenate([np.zeros(1, dtype=index_dtype), change.astype(index_dtype)])
    return PackedVolume(
        starts=starts,
        values=flat[starts].copy(),
        shape=tuple(int(n) for n in arr.shape),
        order=order,
        affine=np.asarray(volume.affine, dtype=np.float64).copy(),
        meta=dict(volume.meta),
    )


def unpack_volume(packed: PackedVolume) -> Volume:
    """The :class:`Volume` that :func:`pack_volume` coded."""
    size = int(np.prod(packed.shape))
    lengths = np.diff(np.append(packed.starts.astype(np.int64), size))
    flat = np.repeat(packed.values, lengths)
    arr = flat.reshape(packed.shape, order="F" if packed.order == "F" else "C")
    return Volume(arr, packed.affine, dict(packed.meta))
