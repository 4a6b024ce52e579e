"""Exact dilation by a small Euclidean ball on bit-packed rows.

A ball of radius ``R`` (mm) on an anisotropic grid is a set of voxel offsets. Along
one in-plane axis (the *run* axis) each (other-axis, last-axis) offset pair holds a
symmetric run of half-width ``w``; so the dilation is the union, over the pairs, of
the mask dilated by a 1-D segment of half-width ``w`` along the run axis and shifted
by the pair. The mask is packed 64 voxels per word along the last axis: a shift along
the first two axes moves whole words and a shift along the last axis is a bit shift
with carry, so each pair costs a pass over 1/64 of the grid. For the radii segmentation
uses (1-4 mm on 0.3-0.8 mm voxels: 10-300 pairs) this is 5-30x faster than an exact
Euclidean distance transform of the grid, and gives the same voxels as
``scipy.ndimage.distance_transform_edt(~mask, sampling) <= R`` (offset lengths are
evaluated in float64, as scipy does; tests/segment/test_morph_exact.py checks it).
"""

from __future__ import annotations

import math

import numpy as np

Spacing = tuple[float, float, float]


def ball_rows(radius_mm: float, spacing_mm: Spacing) -> tuple[int, dict[tuple[int, int], int]]:
    """Run axis (0 or 1) and the ball's half-widths along it per (other, last) offset.

    Returns
    -------
    run_axis : int
        0 or 1: the one of the first two axes with more voxels per radius.
    widths : dict
        ``(d_other, d_last) -> w``: offsets ``(+-0..w, d_other, d_last)`` (in run,
        other, last axis order) are within ``radius_mm``; pairs with no offset inside
        the ball are absent.
    """
    k = [int(math.floor(radius_mm / s)) for s in spacing_mm]
    run = 0 if k[0] >= k[1] else 1
    other = 1 - run
    s_run, s_oth, s_last = spacing_mm[run], spacing_mm[other], spacing_mm[2]
    widths: dict[tuple[int, int], int] = {}
    for d2 in range(-k[2], k[2] + 1):
        for do in range(-k[other], k[other] + 1):
            base = (do * s_oth) ** 2 + (d2 * s_last) ** 2
            if math.sqrt(base) > radius_mm:
                continue
            n = 0
            while math.sqrt(((n + 1) * s_run) ** 2 + base) <= radius_mm:
                n += 1
            widths[(do, d2)] = n
    return run, widths


def dilate_ball(mask: np.ndarray, radius_mm: float, spacing_mm: Spacing) -> np.ndarray:
    """Dilation of a 3-D bool ``mask`` by the ball of ``radius_mm`` (voxels beyond the
    array are not mask; the result is cut to the array).

    Parameters
    ----------
    mask : ndarray of bool, shape (I, J, K)
        Not modified.
    radius_mm : float
        Ball radius in mm (> 0).
    spacing_mm : tuple of 3 floats
        Voxel size per array axis, mm.

    Returns
    -------
    ndarray of bool, shape (I, J, K)
    """
    n0, n1, n2 = mask.shape
    run, widths = ball_rows(radius_mm, spacing_mm)
    other = 1 - run
    packed = np.packbits(np.asarray(mask, dtype=bool), axis=2, bitorder="little")
    nb = packed.shape[2]
    words = np.zeros((n0, n1, -(-nb // 8) * 8), np.uint8)
    words[:, :, :nb] = packed
    del packed
    w0 = words.view("<u8")  # bit i of word j on a row = voxel 64 j + i
    # the mask dilated along the run axis by half-widths 0..max
    seg = [w0]
    for w in range(1, max(widths.values()) + 1):
        e = seg[-1].copy()
        _or_shifted(e, w0, w, run)
        _or_shifted(e, w0, -w, run)
        seg.append(e)
    out = np.zeros_like(w0)
    row = np.empty_like(w0)
    for d2 in sorted({d for _, d in widths}):
        row.fill(0)
        for (do, dd), w in widths.items():
            if dd == d2:
                _or_shifted(row, seg[w], do, other)
        _or_bit_shifted(out, row, d2)
    bits = out.view(np.uint8)[:, :, :nb]
    res: np.ndarray = np.unpackbits(bits, axis=2, count=n2, bitorder="little").view(bool)
    return res


def _or_shifted(out: np.ndarray, a: np.ndarray, d: int, axis: int) -> None:
    """``out |= a`` moved by ``d`` along ``axis`` (``out[i] |= a[i - d]``; zero fill)."""
    n = a.shape[axis]
    if abs(d) >= n:
        return
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    if d >= 0:
        src[axis], dst[axis] = slice(0, n - d), slice(d, n)
    else:
        src[axis], dst[axis] = slice(-d, n), slice(0, n + d)
    o = out[tuple(dst)]
    np.bitwise_or(o, a[tuple(src)], out=o)


def _or_bit_shifted(out: np.ndarray, w: np.ndarray, d: int) -> None:
    """``out |= w`` moved by ``d`` voxels along the packed last axis (zero fill)."""
    q, r = divmod(abs(d), 64)
    nw = w.shape[-1]
    if q >= nw:
        return
    if d >= 0:
        src, dst = w[..., : nw - q], out[..., q:]
    else:
        src, dst = w[..., q:], out[..., : nw - q]
    if r == 0:
        np.bitwise_or(dst, src, out=dst)
        return
    up, down = np.uint64(r), np.uint64(64 - r)
    if d > 0:
        np.bitwise_or(dst, src << up, out=dst)
        np.bitwise_or(dst[..., 1:], src[..., :-1] >> down, out=dst[..., 1:])
    else:
        np.bitwise_or(dst, src >> up, out=dst)
        np.bitwise_or(dst[..., :-1], src[..., 1:] << down, out=dst[..., :-1])
