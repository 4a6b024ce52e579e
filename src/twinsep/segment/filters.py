"""Separable grey-level filters run on two threads, bit-identical to ``scipy.ndimage``.

``scipy.ndimage.gaussian_filter`` and ``maximum_filter`` (box ``size``) are sequences
of 1-D passes, one per axis, each computed line by line; the 1-D passes release the
GIL. Each pass here is split into slabs along another axis and the slabs are filtered
on ``threads`` threads into one output array: every line sees the same kernel and the
same input values, so the result is bit-identical to the single-threaded scipy call
for any thread count (tests/segment/test_filters.py checks it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage as ndi

logger = logging.getLogger(__name__)

#: Threads used per pass (the issue-10 speed target is set on 2 cores).
FILTER_THREADS = max(1, min(2, os.cpu_count() or 1))

_Pass = Callable[[np.ndarray, np.ndarray, int], None]


def gaussian_filter(
    a: np.ndarray,
    sigma_vx: Sequence[float],
    *,
    mode: str = "nearest",
    truncate: float = 4.0,
    threads: int = FILTER_THREADS,
) -> np.ndarray:
    """Gaussian smoothing with a per-axis sigma (voxels), returned as float32.

    Equals ``scipy.ndimage.gaussian_filter(a.astype(np.float32), sigma_vx, mode=mode,
    truncate=truncate)`` bit for bit, without the float32 copy of an integer input
    (scipy reads every input line into a float64 buffer either way, and int16 or
    float32 values are exact in float64).

    Parameters
    ----------
    a : ndarray, shape (I, J, K)
        Image (any real dtype; not modified).
    sigma_vx : sequence of 3 floats
        Standard deviation per axis, in voxels; an axis with sigma <= 1e-15 is skipped
        as scipy does.
    mode, truncate
        As in ``scipy.ndimage.gaussian_filter1d``.
    threads : int
        Threads per pass (>= 1).

    Returns
    -------
    ndarray of float32, shape (I, J, K)
    """
    sig = [float(s) for s in sigma_vx]
    if len(sig) != a.ndim:
        raise ValueError(f"sigma_vx has {len(sig)} values for a {a.ndim}-D image")

    def one(s: float) -> _Pass:
        def run(src: np.ndarray, dst: np.ndarray, axis: int) -> None:
            ndi.gaussian_filter1d(src, s, axis=axis, output=dst, mode=mode, truncate=truncate)

        return run

    passes = [(ax, one(s)) for ax, s in enumerate(sig) if s > 1e-15]
    return _separable(a, passes, np.dtype(np.float32), threads)


def maximum_filter(
    a: np.ndarray,
    size_vx: Sequence[int],
    *,
    mode: str = "nearest",
    threads: int = FILTER_THREADS,
) -> np.ndarray:
    """Maximum over a box of ``size_vx`` voxels (odd sizes: centred), in ``a``'s dtype.

    Equals ``scipy.ndimage.maximum_filter(a, size=size_vx, mode=mode)`` bit for bit.

    Parameters
    ----------
    a : ndarray, shape (I, J, K)
        Image (not modified).
    size_vx : sequence of 3 ints
        Box edge per axis, in voxels (>= 1; an axis of size 1 is skipped).
    mode : str
        As in ``scipy.ndimage.maximum_filter1d``.
    threads : int
        Threads per pass (>= 1).
    """
    size = [int(n) for n in size_vx]
    if len(size) != a.ndim or min(size) < 1:
        raise ValueError(f"size_vx must hold {a.ndim} sizes >= 1, got {list(size_vx)}")

    # Edge-replicated windows by doubling (exact: a maximum of the same values), except
    # where values have no order (NaN), which scipy's comparisons treat their own way.
    doubling = mode == "nearest" and not (
        np.issubdtype(a.dtype, np.floating) and bool(np.isnan(a).any())
    )

    def one(n: int) -> _Pass:
        def run(src: np.ndarray, dst: np.ndarray, axis: int) -> None:
            if doubling:
                _maximum1d_nearest(src, dst, axis, n)
            else:
                ndi.maximum_filter1d(src, n, axis=axis, output=dst, mode=mode)

        return run

    passes = [(ax, one(n)) for ax, n in enumerate(size) if n > 1]
    return _separable(a, passes, a.dtype, threads)


#: Elements per block of :func:`_maximum1d_nearest` (its temporaries stay in cache).
_BLOCK_ELEMENTS = 1 << 18


def _maximum1d_nearest(src: np.ndarray, dst: np.ndarray, axis: int, n: int) -> None:
    """``dst = scipy.ndimage.maximum_filter1d(src, n, axis, mode="nearest")`` for
    ``n >= 1`` (``dst`` may be ``src``: each block is read before it is written).

    Each line is padded with copies of its end values (``n // 2`` before, ``n - 1 -
    n // 2`` after: scipy's centring), then the maxima of windows of 1, 2, 4, ... values
    are built from two windows of half the width, and the window of ``n`` from two
    overlapping ones: ``log2(n) + 1`` vectorised passes instead of scipy's line-by-line
    monotone queue. The values are maxima of the same numbers, so the result equals
    scipy's (up to the sign of a zero maximum where -0.0 and 0.0 meet, which compare
    equal). Blocks of whole lines are taken along another axis so that the
    temporaries stay in cache.
    """
    before = n // 2
    after = n - 1 - before
    other = 0 if axis != 0 else 1
    per_index = src.size // max(1, src.shape[other])  # elements per index along `other`
    step = max(1, _BLOCK_ELEMENTS // max(1, per_index))

    def along(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
        sel = [slice(None)] * x.ndim
        sel[axis] = slice(lo, hi)
        return x[tuple(sel)]

    last = src.shape[axis] - 1
    for lo in range(0, src.shape[other], step):
        sel = [slice(None)] * src.ndim
        sel[other] = slice(lo, lo + step)
        block = src[tuple(sel)]
        run = np.concatenate(
            [
                np.take(block, [0] * before, axis=axis),
                block,
                np.take(block, [last] * after, axis=axis),
            ],
            axis=axis,
        )  # run[..., i, ...] = max of the padded values i .. i + width - 1
        width = 1
        while 2 * width <= n:
            size = run.shape[axis]
            run = np.maximum(along(run, 0, size - width), along(run, width, size))
            width *= 2
        if width < n:
            size, k = run.shape[axis], n - width
            run = np.maximum(along(run, 0, size - k), along(run, k, size))
        dst[tuple(sel)] = run


def _separable(
    a: np.ndarray,
    passes: list[tuple[int, _Pass]],
    dtype: np.dtype,
    threads: int,
) -> np.ndarray:
    """Apply 1-D ``passes`` (axis, fn(src, dst, axis)) in order; the first reads ``a``."""
    out = np.empty(a.shape, dtype)
    if not passes:
        out[...] = a
        return out
    threads = max(1, int(threads))
    src = a
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for axis, fn in passes:
            split = max((d for d in range(a.ndim) if d != axis), key=lambda d: a.shape[d])
            edges = np.linspace(0, a.shape[split], threads + 1).round().astype(int)
            jobs = []
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                if hi > lo:
                    sl = tuple(slice(lo, hi) if d == split else slice(None) for d in range(a.ndim))
                    jobs.append((src[sl], out[sl]))
            if len(jobs) == 1:
                fn(jobs[0][0], jobs[0][1], axis)
            else:
                for fut in [pool.submit(fn, s_, d_, axis) for s_, d_ in jobs]:
                    fut.result()
            src = out  # later passes run in place, line by line, as scipy's do
    return out
