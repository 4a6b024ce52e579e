"""Storage layout of a volume: the same scan with its axes in a canonical order.

A CT can be stored slice by slice along any array axis, with any axis reversed (DICOM
LPS, NIfTI RAS, a sagittal stack, a flipped series): the voxels and their world
positions are the same, only the array's layout differs. Rules that sample, scan or
difference the array (random draws for a histogram, noise from neighbour differences,
searches in "the slice plane") would then see a different array and could answer
differently for the same scan. :func:`to_canonical` gives the same voxels in one fixed
layout (array axis ``w`` nearest world axis ``w`` and running along it, i.e. RAS order),
so that such rules see one array for every layout; :func:`from_canonical` puts a result
computed there back on the original layout. Only whole-axis permutations and reversals
are used (no resampling), so the round trip is exact; an oblique grid keeps its
obliquity.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from twinsep.volume import Volume


@dataclass(frozen=True)
class Layout:
    """How an array's axes map to the canonical layout.

    Attributes
    ----------
    axes : tuple of int
        ``axes[w]``: the original array axis that becomes canonical axis ``w`` (the one
        nearest world axis ``w``: x, y, z).
    flipped : tuple of bool
        ``flipped[w]``: that axis runs against world axis ``w`` and is reversed.
    """

    axes: tuple[int, int, int]
    flipped: tuple[bool, bool, bool]

    @property
    def identity(self) -> bool:
        """True when the array is already in the canonical layout."""
        return self.axes == (0, 1, 2) and not any(self.flipped)


def canonical_layout(direction: np.ndarray) -> Layout:
    """The permutation and reversals that bring a grid to the canonical layout.

    Parameters
    ----------
    direction : (3, 3) ndarray
        Unit column vectors: the world direction of each array axis
        (``Volume.direction``).

    Returns
    -------
    Layout
        The assignment of array axes to world axes that maximises the summed
        |cosine| (exhaustive over the six permutations; the first in
        ``itertools.permutations`` order wins an exact tie, as for a grid rotated
        45 degrees), and which of them run against their world axis.
    """
    d = np.abs(np.asarray(direction, dtype=np.float64))
    best: tuple[int, ...] = (0, 1, 2)
    best_score = -1.0
    for perm in itertools.permutations(range(3)):
        score = float(sum(d[w, perm[w]] for w in range(3)))
        if score > best_score + 1e-12:
            best, best_score = perm, score
    axes = (int(best[0]), int(best[1]), int(best[2]))
    flipped = tuple(bool(direction[w, axes[w]] < 0) for w in range(3))
    return Layout(axes=axes, flipped=(flipped[0], flipped[1], flipped[2]))


def to_canonical(vol: Volume, *, copy: bool = True) -> tuple[Volume, Layout]:
    """``vol`` with its voxels in the canonical layout, and the layout used.

    Every voxel keeps its value and its world position (the affine is changed to
    match); the array is a new contiguous copy (a view of ``vol``'s array with
    ``copy=False``) unless the layout is already canonical, in which case ``vol``
    itself is returned. ``vol`` is never modified.
    """
    lay = canonical_layout(vol.direction)
    if lay.identity:
        return vol, lay
    arr = np.transpose(vol.array, lay.axes)
    flip_axes = tuple(w for w in range(3) if lay.flipped[w])
    if flip_axes:
        arr = np.flip(arr, axis=flip_axes)
    # canonical index c -> original index o: o[axes[w]] = c[w], or n - 1 - c[w] if flipped
    t = np.eye(4)
    t[:3, :3] = 0.0
    for w in range(3):
        a = lay.axes[w]
        if lay.flipped[w]:
            t[a, w] = -1.0
            t[a, 3] = vol.shape[a] - 1
        else:
            t[a, w] = 1.0
    affine = np.asarray(vol.affine, dtype=np.float64) @ t
    return Volume(np.ascontiguousarray(arr) if copy else arr, affine, dict(vol.meta)), lay


def from_canonical(array: np.ndarray, lay: Layout) -> np.ndarray:
    """An array computed on the canonical layout, back on the original layout
    (a contiguous copy unless the layout is the identity)."""
    if lay.identity:
        return array
    flip_axes = tuple(w for w in range(3) if lay.flipped[w])
    out = np.flip(array, axis=flip_axes) if flip_axes else array
    return np.ascontiguousarray(np.transpose(out, np.argsort(lay.axes)))


def canonical_array(array: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray, Layout]:
    """An array and its voxel-to-world affine in the canonical layout.

    The array form of :func:`to_canonical`, for measurements that run on a crop of a
    mask (a marching-cubes surface, a feature transform): the same voxels at the same
    world positions, so that a triangulation or a tie broken by index order is the
    same whichever way the scan was stored.

    Parameters
    ----------
    array : (I, J, K) ndarray
        Any voxel values (not modified).
    affine : (4, 4) ndarray
        Voxel-to-world matrix of ``array``.

    Returns
    -------
    array_c : ndarray
        ``array`` in the canonical layout (``array`` itself when already canonical,
        otherwise a view: callers that need contiguity copy it).
    affine_c : (4, 4) ndarray
        Voxel-to-world matrix of ``array_c``.
    layout : Layout
        For :func:`original_index` and :func:`from_canonical`.
    """
    vol, lay = to_canonical(Volume(np.asarray(array), np.asarray(affine, dtype=np.float64)))
    return vol.array, vol.affine, lay


def original_index(ijk: np.ndarray, lay: Layout, shape: tuple[int, ...]) -> np.ndarray:
    """Voxel indices on the canonical layout mapped to the original array's indices.

    Parameters
    ----------
    ijk : (N, 3) int ndarray
        Indices on the canonical layout (as given by :func:`to_canonical`).
    lay : Layout
        The layout used.
    shape : tuple of int
        Shape of the original array.

    Returns
    -------
    (N, 3) int64 ndarray
        The same voxels' indices on the original array.
    """
    c = np.asarray(ijk, dtype=np.int64).reshape(-1, 3)
    out = np.empty_like(c)
    for w in range(3):
        a = lay.axes[w]
        out[:, a] = (int(shape[a]) - 1 - c[:, w]) if lay.flipped[w] else c[:, w]
    return out
