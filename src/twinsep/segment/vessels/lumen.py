"""A vessel's lumen and background values: medians over a piece's interior (voxels
deeper than the blur) or the shell around it, and samples of the interior.
"""

from __future__ import annotations

import numpy as np

from twinsep.segment import morph
from twinsep.segment.morph import Spacing
from twinsep.segment.vessels.grid import _dilate_faces


def _interior_median(
    sm: np.ndarray, mask: np.ndarray, sp: Spacing, blur_mm: float, min_samples: int
) -> float:
    """Median of ``sm`` over the voxels of ``mask`` deeper than the blur in it.

    Voxels farther than ``blur_mm`` (and one voxel along every axis) from the outside of
    ``mask`` hold blood only, so their median is the lumen value, free of the partial
    volume of the edge. NaN when there are fewer than ``min_samples`` (at least 1) of
    them (``VesselParams.lumen_min_samples``).
    """
    vals = _interior_values(sm, mask, sp, blur_mm)
    if vals.size < max(min_samples, 1):
        return float("nan")
    return float(np.median(vals))


def _interior_sample_flat(mask: np.ndarray, sp: Spacing, blur_mm: float, max_n: int) -> np.ndarray:
    """Flat indices of interior voxels of ``mask`` (as :func:`_interior_values`: farther
    than ``blur_mm`` and one voxel along every axis from its outside, the array border
    included) among at most ``max_n`` of its voxels taken at a regular stride in raster
    order.

    The test reads each sampled voxel's neighbours within the blur (and its face
    neighbours) instead of dilating the outside of ``mask`` over its bounding box, which
    for vessels spread through a 512-voxel head costs most of a second.
    """
    m = np.ravel(mask) if mask.flags.c_contiguous else np.ascontiguousarray(mask).ravel()
    flat = np.flatnonzero(m)
    if flat.size == 0:
        return flat
    flat = flat[:: max(1, -(-flat.size // max_n))]
    idx = np.stack(np.unravel_index(flat, mask.shape), axis=1)
    r = [int(np.floor(blur_mm / s + 1e-9)) for s in sp]
    grid = np.stack(np.meshgrid(*(np.arange(-k, k + 1) for k in r), indexing="ij"), -1).reshape(
        -1, 3
    )
    offs = grid[((grid * np.asarray(sp)) ** 2).sum(axis=1) <= blur_mm**2 + 1e-9]
    offs = np.unique(np.concatenate([offs, np.eye(3, dtype=int), -np.eye(3, dtype=int)]), axis=0)
    # beyond the array border is outside: a voxel whose neighbourhood leaves the array
    # is not interior, and the others read their neighbours by flat index
    reach = np.abs(offs).max(axis=0)
    shape = np.asarray(mask.shape)
    flat = flat[((idx >= reach) & (idx < shape - reach)).all(axis=1)]
    if flat.size == 0:  # also a slab thinner than the neighbourhood
        return flat
    steps = np.ravel_multi_index(tuple((offs + reach).T), tuple(shape)) - np.ravel_multi_index(
        tuple(reach), tuple(shape)
    )
    return flat[m[flat[:, None] + steps[None, :]].all(axis=1)]


def _interior_values(sm: np.ndarray, mask: np.ndarray, sp: Spacing, blur_mm: float) -> np.ndarray:
    """Values of ``sm`` at the voxels of ``mask`` farther than ``blur_mm`` (and one voxel
    along every axis) from its outside (empty when there are none)."""
    box = morph._bounding_box(mask, [1, 1, 1])
    if box is None:
        return np.zeros(0, np.float32)
    m = np.pad(mask[box], 1)
    out = ~m
    inner = m & ~(morph.dilate_mm(out, blur_mm, sp) | _dilate_faces(out))
    return np.asarray(np.pad(sm[box], 1)[inner])


def _shell_median(
    sm: np.ndarray,
    mask: np.ndarray,
    within: np.ndarray,
    sp: Spacing,
    blur_mm: float,
    lo_hu: float,
    hi_hu: float,
    default: float,
) -> float:
    """Median of ``sm`` over the tissue around ``mask``: voxels of ``within`` one voxel
    beyond the blur (``blur_mm``, at least the face neighbours) from it, with values
    in ``[lo_hu, hi_hu)``; ``default`` when there are fewer than ``_MIN_SAMPLES``."""
    r_out = blur_mm + max(sp)
    box = morph._bounding_box(mask, [int(np.ceil(r_out / s)) + 1 for s in sp])
    if box is None:
        return default
    m = mask[box]
    s = sm[box]
    shell = morph.dilate_mm(m, r_out, sp) & ~(morph.dilate_mm(m, blur_mm, sp) | _dilate_faces(m))
    shell &= within[box] & (s >= lo_hu) & (s < hi_hu)
    if int(shell.sum()) < _MIN_SAMPLES:
        return default
    return float(np.median(s[shell]))


#: Fewest voxels a median is taken over (its standard error is then below 0.3 sigma).
_MIN_SAMPLES = 20
