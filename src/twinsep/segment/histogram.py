"""Intensity statistics of a CT taken from its own histogram (peaks and noise)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage as ndi


@dataclass(frozen=True)
class CTStats:
    """Histogram facts of one CT.

    Attributes
    ----------
    air_hu, soft_hu : float
        Positions of the air and soft-tissue peaks (HU).
    noise_hu : float
        Voxel noise sigma of the raw image (HU), from differences of voxels far enough
        apart for the noise to be independent (``noise_level``).
    noise_corr_vox : length-3 tuple of float
        Gaussian correlation length of the noise along each array axis (voxels; 0 for
        white noise), ``noise_level``.
    """

    air_hu: float
    soft_hu: float
    noise_hu: float
    noise_corr_vox: tuple[float, float, float] = (0.0, 0.0, 0.0)


def sample_values(a: np.ndarray, max_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``max_samples`` values of ``a`` (flattened), drawn with ``rng``.

    The values are those of ``a.ravel()`` (C order) at the sorted drawn positions; a
    non-contiguous ``a`` (a NIfTI volume is Fortran-ordered) is read at those positions
    without flattening a copy of the whole grid.
    """
    if a.size <= max_samples:
        return a.ravel()
    idx = np.sort(rng.choice(a.size, size=max_samples, replace=False))
    if a.flags.c_contiguous:
        return a.ravel()[idx]
    out: np.ndarray = a[np.unravel_index(idx, a.shape)]
    return out


def padding_value(
    values: np.ndarray, lo: float, hi: float, min_share: float, spike_ratio: float = 20.0
) -> float | None:
    """The exact value within ``[lo, hi]`` that pads ``values``, or None.

    Outside a round reconstruction field (and on a scanner's constant fill) a CT holds one
    exact value, noise-free, which is no patient air: -1024 HU there pulled the air peak
    of a real CT from -998 to -1022 HU. Padding is the most frequent exact value in the
    range when it holds at least ``min_share`` of ``values``, at least ``spike_ratio``
    times the mean count per HU of the values within 10 HU of it (noise spreads measured
    air over many values), and values in the range other than it still hold
    ``min_share`` (noisy air is there to measure; a noise-free image's air is its
    own exact value and is not padding).

    Parameters
    ----------
    values : ndarray
        Sampled CT values (HU).
    lo, hi : float
        The range searched (HU; ``SegmentParams.air_peak_range_hu``).
    min_share : float
        Share (0-1) of ``values`` (``SegmentParams.padding_min_share``).
    spike_ratio : float
        How many times the neighbours' mean count per HU the value must hold.

    Returns
    -------
    float or None
    """
    v = values[(values >= lo) & (values <= hi)]
    if v.size == 0:
        return None
    uniq, counts = np.unique(v, return_counts=True)
    i = int(np.argmax(counts))
    pad, n_pad = float(uniq[i]), int(counts[i])
    need = min_share * values.size
    if n_pad < need or v.size - n_pad < need:
        return None
    near = int(np.count_nonzero(np.abs(values - pad) <= 10.0)) - n_pad
    if n_pad < spike_ratio * near / 20.0:
        return None
    return pad


def histogram_peak(values: np.ndarray, lo: float, hi: float, bin_hu: float = 4.0) -> float | None:
    """Mode (HU) of ``values`` within ``[lo, hi]``, from a lightly smoothed histogram.

    Returns None when no value falls in the range.
    """
    v = values[(values >= lo) & (values <= hi)]
    if v.size == 0:
        return None
    nb = max(1, int(np.ceil((hi - lo) / bin_hu)))
    h, edges = np.histogram(v, bins=nb, range=(lo, hi))
    k = np.array([1, 2, 3, 2, 1], float)
    hs = np.convolve(h.astype(float), k / k.sum(), mode="same")
    i = int(np.argmax(hs))
    return float(0.5 * (edges[i] + edges[i + 1]))


def noise_sigma(a: np.ndarray, mask: np.ndarray) -> float:
    """Robust noise sigma (same units as ``a``) from differences of neighbours.

    Uses the median absolute difference between each voxel and its neighbour along the
    first axis, inside ``mask`` (both voxels in the mask); for white noise the
    difference has sigma ``sqrt(2) * sigma`` and MAD ``0.6745 * sqrt(2) * sigma``.
    Edges inflate the tail but barely move the median.
    """
    both = mask[1:] & mask[:-1]
    if not both.any():
        return 0.0
    d = np.abs(a[1:].astype(np.float32, copy=False) - a[:-1].astype(np.float32, copy=False))
    d = d[both]
    return float(np.median(d) / (0.6745 * np.sqrt(2.0)))


@dataclass(frozen=True)
class NoiseLevel:
    """Voxel noise of an image and how far it is correlated.

    The noise is modelled as white noise smoothed by a Gaussian of ``corr_vox[a]`` voxels
    along axis ``a`` (a CT reconstruction kernel correlates neighbouring voxels); white
    noise has ``corr_vox == (0, 0, 0)``.

    Attributes
    ----------
    sigma_hu : float
        Standard deviation of one voxel value (image units, HU for a CT).
    corr_vox : length-3 tuple of float
        Gaussian correlation length along each array axis (voxels, >= 0).
    """

    sigma_hu: float
    corr_vox: tuple[float, float, float]

    def white_equivalent_hu(self, smooth_vx: Sequence[float]) -> float:
        """Voxel sigma of white noise that smoothing leaves as noisy as this noise (HU).

        A Gaussian of ``s`` voxels reduces white noise by ``sqrt(4 pi) s`` along each
        axis (the white-noise formula the smoothing widths are computed with), but
        noise correlated over ``c`` voxels only by ``sqrt(1 + s^2 / c^2)``. The
        returned sigma, put through the white-noise formula, gives the smoothed level
        of this noise: ``sigma * prod(max(1, sqrt(4 pi) s c / sqrt(s^2 + c^2)))``
        under the square root; equal to ``sigma_hu`` for white noise.

        Parameters
        ----------
        smooth_vx : length-3 sequence of float
            Gaussian smoothing sigma along each array axis (voxels).

        Returns
        -------
        float
            Equivalent white-noise sigma (HU).
        """
        f = 1.0
        for s, c in zip(smooth_vx, self.corr_vox, strict=True):
            if c > 0 and s > 0:
                f *= max(1.0, float(np.sqrt(4 * np.pi) * s * c / np.hypot(s, c)))
        return float(self.sigma_hu * np.sqrt(f))

    def neighbour_miss(self) -> float:
        """Ratio of the voxel sigma to the neighbour-difference sigma along axis 0.

        Neighbours correlated by ``rho = exp(-1 / (4 c^2))`` differ by
        ``sqrt(2 (1 - rho)) sigma``, not ``sqrt(2) sigma``; 1 for white noise.
        """
        c = self.corr_vox[0]
        if c <= 0:
            return 1.0
        return float(1.0 / np.sqrt(max(1.0 - np.exp(-1.0 / (4.0 * c * c)), 1e-3)))


def memory_order(a: np.ndarray) -> tuple[int, ...]:
    """The axes of ``a`` from the largest stride to the smallest (ties in axis order):
    ``a.transpose(memory_order(a))`` walks memory in C order (the identity for a
    C-ordered array, reversed for a Fortran-ordered one such as a loaded NIfTI's)."""
    return tuple(int(i) for i in np.argsort([-abs(s) for s in a.strides], kind="stable"))


def _median_abs_diff(a: np.ndarray, mask: np.ndarray, axis: int, lag: int) -> float | None:
    """Median |a[x + lag] - a[x]| along ``axis`` over pairs with both voxels in ``mask``.

    The pairs are gathered in the array's memory order (:func:`memory_order`): the
    median of the differences does not depend on their order, and a boolean gather in C
    order across a Fortran-ordered CT (the 512x512x400 scan, every 6th slice) jumped
    through memory: noise_level 1.1-1.2 -> 0.3 s.
    """
    perm = memory_order(a)
    if perm != tuple(range(a.ndim)):
        a, mask, axis = a.transpose(perm), mask.transpose(perm), perm.index(axis)
    n = a.shape[axis]
    if lag >= n:
        return None
    hi = [slice(None)] * a.ndim
    lo = [slice(None)] * a.ndim
    hi[axis] = slice(lag, None)
    lo[axis] = slice(None, n - lag)
    both = mask[tuple(hi)] & mask[tuple(lo)]
    if not both.any():
        return None
    d = np.abs(a[tuple(hi)][both].astype(np.float32) - a[tuple(lo)][both].astype(np.float32))
    if not np.issubdtype(a.dtype, np.integer):
        return float(np.median(d))
    # integer HU: the median of integer differences moves in steps of 1 HU (8 % of a
    # 10 HU noise); interpolate within the median's unit bin instead
    counts = np.bincount(d.astype(np.int64))
    cum = np.cumsum(counts)
    half = 0.5 * d.size
    k = int(np.searchsorted(cum, half))
    below = float(cum[k - 1]) if k > 0 else 0.0
    return float(max(k - 0.5, 0.0) + (half - below) / float(counts[k]))


def _interior(mask: np.ndarray, reach: int, min_voxels: int) -> np.ndarray:
    """``mask`` without its voxels within ``reach`` 6-connected steps of an unmasked
    voxel (the array's faces are no edge); ``mask`` itself when fewer than
    ``min_voxels`` would be left."""
    if reach <= 0:
        return mask
    perm = memory_order(mask)  # erode in memory order (a NIfTI CT is Fortran-ordered)
    m = mask.transpose(perm) if perm != tuple(range(mask.ndim)) else mask
    inner = ndi.binary_erosion(m, iterations=reach, border_value=1)
    if perm != tuple(range(mask.ndim)):
        inner = inner.transpose(np.argsort(perm))
    return inner if int(np.count_nonzero(inner)) >= min_voxels else mask


def _gaussian_fit(d1: float, dl: float, lag: int) -> tuple[float, float]:
    """Level ``D`` and correlation length ``c`` (voxels) of Gaussian-correlated noise
    whose median absolute differences at lags 1 and ``lag`` are ``d1`` and ``dl``.

    Differences at lag ``l`` have the median ``D sqrt(1 - exp(-l^2 / (4 c^2)))``; the
    ratio ``(d1 / dl)^2`` falls monotonically with ``c`` from 1 to ``1 / lag^2`` and is
    solved for ``c`` by bisection (in log c), then ``D`` follows from ``dl``.
    """

    def ratio(c: float) -> float:
        return float(-np.expm1(-1.0 / (4 * c * c)) / -np.expm1(-(lag * lag) / (4 * c * c)))

    want = min((d1 / dl) ** 2, 1.0)
    lo, hi = np.log(0.05), np.log(50.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ratio(float(np.exp(mid))) > want:
            lo = mid
        else:
            hi = mid
    c = float(np.exp(0.5 * (lo + hi)))
    return float(dl / np.sqrt(-np.expm1(-(lag * lag) / (4 * c * c)))), c


def _rises(a: np.ndarray, mask: np.ndarray, axis: int, d1: float | None, start_tol: float) -> bool:
    """Whether the median difference along ``axis`` at lag 2 exceeds ``d1`` (lag 1) by
    more than ``start_tol`` (relative)."""
    if d1 is None or d1 <= 0:
        return False
    d2 = _median_abs_diff(a, mask, axis, 2)
    return d2 is not None and d2 > d1 * (1.0 + start_tol)


def noise_level(
    a: np.ndarray,
    mask: np.ndarray,
    *,
    method: Literal["interior", "window"] = "interior",
    max_lag: int = 10,
    start_tol: float = 0.08,
    plateau_tol: float = 0.03,
    edge_reach_vox: int = 2,
    min_voxels: int = 1000,
) -> NoiseLevel:
    """Voxel noise sigma and correlation lengths from differences at growing lags.

    The median absolute difference of voxels ``l`` apart along axis 0 (both in the
    mask) rises with ``l`` while the noise of the two is correlated and levels off at
    ``0.6745 sqrt(2) sigma`` once it is not. When lag 2 differs by no more than
    ``start_tol`` more than lag 1, the noise is taken as white and the sigma is the
    neighbour-difference estimate (Gaussian-correlated noise of 0.4 voxels raises lag 2
    by 12 %, and below that the neighbour estimate is within 8 %). Otherwise the
    differences are followed to the first lag ``L`` whose next lag adds less than
    ``plateau_tol``. Along an axis the lag-1 difference then gives the correlation
    ``rho = 1 - (d1 / d)^2`` of neighbours and, for Gaussian-correlated noise
    (``rho = exp(-1 / (4 c^2))``), the correlation length ``c`` in voxels (0 when
    ``rho < 0.05``).

    ``method="interior"`` (the default) reads only the mask's interior: voxels more
    than ``edge_reach_vox`` voxels from its edge (``min_voxels`` or more of them, else
    the whole mask). A pair across or beside an edge (partial volume against air or
    bone, a thin scalp or CSF sheet, an oblique surface on a coarse grid) differs by
    anatomy, and anatomy rises with the lag as correlated noise does: on the probe's
    2.5 mm grid turned 25 deg, 10.3 HU of white noise read 16.1 HU correlated over
    0.5 voxels on the whole soft-tissue window, 10.3 HU white on its interior. The
    level at ``L`` is then that of Gaussian-correlated noise whose medians at lags 1 and
    ``L`` are those read (``_gaussian_fit``; at 2 voxels of correlation the differences
    still rise 1-3 % per lag at lag 7-8, which read 4-11 % low), the white estimate is
    interpolated within integer HU, and the correlation is read along each axis whose
    own differences rise from lag 1 to lag 2 by more than ``start_tol`` (a grid
    resampled along one axis, as a gantry tilt's correction is, is correlated along
    that axis alone). ``method="window"`` is the estimate of 94caf67, which
    ``ct.ct_statistics`` keeps by default (``SegmentParams.noise_method``): the whole
    mask, the neighbour estimate in whole HU, the level read at ``L``, and the
    correlation along every axis only when axis 0's is.

    Parameters
    ----------
    a : ndarray, shape (I, J, K)
        Image (not modified).
    mask : ndarray of bool, shape (I, J, K)
        Voxels of one tissue (both voxels of a pair must be in it).
    method : {"interior", "window"}
        The mask's interior with the model's level and per-axis correlation, or the
        whole mask as before.
    max_lag : int
        Largest lag tried (voxels); correlation beyond about ``max_lag / 4`` voxels is
        underestimated.
    start_tol : float
        Relative rise from lag 1 to lag 2 above which the noise is taken as correlated.
    plateau_tol : float
        Relative rise below which the differences of correlated noise are taken as
        levelled off.
    edge_reach_vox : int
        Voxels (6-connected steps) of the mask's edge left out (``"interior"`` only).
    min_voxels : int
        Fewest interior voxels read; a smaller interior falls back to the whole mask.

    Returns
    -------
    NoiseLevel
        ``sigma_hu`` 0 and no correlation when no pair lies in the mask.
    """
    interior = method == "interior"
    if interior:
        mask = _interior(mask, edge_reach_vox, min_voxels)
    d1 = _median_abs_diff(a, mask, 0, 1)
    if d1 is None or d1 <= 0:
        return NoiseLevel(0.0, (0.0, 0.0, 0.0))
    d, at = d1, 1
    for lag in range(2, max_lag + 1):
        nxt = _median_abs_diff(a, mask, 0, lag)
        if nxt is None:
            break
        if nxt <= d * (1.0 + (start_tol if lag == 2 else plateau_tol)):
            break
        d, at = nxt, lag
    if at == 1 and not interior:  # white: exactly the neighbour estimate it always was
        return NoiseLevel(noise_sigma(a, mask), (0.0, 0.0, 0.0))
    if at > 1 and interior:
        d = _gaussian_fit(d1, d, at)[0]
    corr: list[float] = []
    for ax in range(3):
        da = d1 if ax == 0 else _median_abs_diff(a, mask, ax, 1)
        # "interior": an axis is correlated only when its own differences rise from
        # lag 1 to lag 2, as axis 0's must (a tilt's correction: along axis 1 alone)
        rising = at > 1 if ax == 0 or not interior else _rises(a, mask, ax, da, start_tol)
        rho = 0.0 if da is None or not rising else 1.0 - min(da / d, 1.0) ** 2
        # rho < 0.05 (c < 0.29 voxels) is sampling scatter of white noise and would
        # change no smoothing (white_equivalent_hu is 1 below c = 1 / sqrt(4 pi))
        corr.append(0.0 if rho < 0.05 else float(0.5 / np.sqrt(-np.log(min(rho, 0.999)))))
    return NoiseLevel(float(d / (0.6745 * np.sqrt(2.0))), (corr[0], corr[1], corr[2]))
