"""Intensity statistics of a CT taken from its own histogram (peaks and noise)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CTStats:
    """Histogram facts of one CT.

    Attributes
    ----------
    air_hu, soft_hu : float
        Positions of the air and soft-tissue peaks (HU).
    noise_hu : float
        Voxel noise sigma of the raw image (HU), from neighbour differences.
    """

    air_hu: float
    soft_hu: float
    noise_hu: float


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
