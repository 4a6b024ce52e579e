"""Voxel-grid helpers of the vessel rule: block means and majorities, face steps,
and 26-connected component filters.
"""

from __future__ import annotations

import cc3d
import numpy as np

from twinsep.segment import morph


def _finite(a: float, b: float) -> float:
    return a if np.isfinite(a) else b


def _block_majority(mask: np.ndarray, f: tuple[int, int, int]) -> np.ndarray:
    """Coarse mask: at least half of the block's voxels are true (integer counts)."""
    return _block_mean(np.asarray(mask, dtype=bool).view(np.uint8), f, np.uint16) >= 0.5


def _block_mean(a: np.ndarray, f: tuple[int, int, int], acc: type = np.float32) -> np.ndarray:
    """Block means (float32) of ``a`` over ``f`` blocks, one axis at a time, summed in
    ``acc`` (an integer type is exact and faster for masks).

    The grid is cut to whole blocks and the last coarse slice along an axis is repeated
    for the remaining (fewer than ``f``) voxels at the far border: the crop of
    ``segment_ct`` keeps the anatomy two voxels or more inside that border.
    """
    n = [max(1, s // k) for s, k in zip(a.shape, f, strict=True)]
    x = a[: n[0] * f[0], : n[1] * f[1], : n[2] * f[2]]
    # outer axes first: each step sums whole contiguous slices and shrinks the data
    x = x.reshape(n[0], f[0], x.shape[1], x.shape[2]).sum(axis=1, dtype=acc)
    x = x.reshape(n[0], n[1], f[1], x.shape[2]).sum(axis=2, dtype=acc)
    x = x.reshape(n[0], n[1], n[2], f[2]).sum(axis=3, dtype=acc)
    x = x.astype(np.float32) * np.float32(1.0 / (f[0] * f[1] * f[2]))
    ceil = [-(-s // k) for s, k in zip(a.shape, f, strict=True)]
    pads = [(0, c - m) for c, m in zip(ceil, n, strict=True)]
    if any(p[1] for p in pads):
        x = np.pad(x, pads, mode="edge")
    return x


def _grow_faces(mask: np.ndarray, allowed: np.ndarray, steps: int) -> np.ndarray:
    """Voxels of ``allowed`` reached from ``mask`` in at most ``steps`` face steps through
    ``allowed`` (``mask`` itself excluded)."""
    out = np.zeros_like(mask)
    front = mask
    for _ in range(steps):
        front = _dilate_faces(front) & allowed & ~out & ~mask
        if not front.any():
            break
        out |= front
    return out


def _dilate_faces(mask: np.ndarray) -> np.ndarray:
    """``mask`` plus its six face neighbours (one voxel along each axis)."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    out[:, :, 1:] |= mask[:, :, :-1]
    out[:, :, :-1] |= mask[:, :, 1:]
    return out


#: 26-neighbourhood (one voxel along every axis and diagonal).
_CUBE = np.ones((3, 3, 3), bool)


def _touching(lab: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Labels (> 0) of ``lab`` with a voxel among the 26 neighbours of ``other``.

    Read at the labelled voxels only (a few thousand): no full-grid dilation.
    """
    idx = np.argwhere(lab > 0)
    vals = lab[tuple(idx.T)]
    hit = np.zeros(len(idx), bool)
    hi = np.asarray(lab.shape) - 1
    for off in np.argwhere(_CUBE) - 1:
        nb = np.clip(idx + off, 0, hi)
        hit |= other[tuple(nb.T)]
    return np.unique(vals[hit])


def _keep_tubular(mask: np.ndarray, tube: np.ndarray, fraction_min: float) -> np.ndarray:
    """Components of ``mask`` at least ``fraction_min`` of whose voxels are in ``tube``."""
    lab, sizes = morph.component_sizes(mask)
    if sizes.size == 0:
        return mask
    hits = np.bincount(lab[tube & mask], minlength=sizes.size + 1)[1:]
    lut = np.concatenate([[False], hits >= fraction_min * sizes])
    return lut[lab]


def _drop_small_mm3(mask: np.ndarray, min_mm3: float, vx_mm3: float) -> np.ndarray:
    """``mask`` without its (26-connected) components smaller than ``min_mm3``."""
    if not mask.any():
        return mask
    min_vx = int(np.ceil(min_mm3 / vx_mm3 - 1e-9))
    out = cc3d.dust(
        np.ascontiguousarray(mask, dtype=np.uint8), max(min_vx, 1), connectivity=26,
        binary_image=True,
    )  # fmt: skip
    return out.astype(bool)


def _grow_from(low: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Components (26-connected) of ``low`` that contain a voxel of ``seeds``."""
    lab, sizes = morph.component_sizes(low)
    if sizes.size == 0:
        return low.copy()
    ids = np.unique(lab[seeds & low])
    lut = np.zeros(sizes.size + 1, bool)
    lut[ids] = True
    lut[0] = False
    return lut[lab]
