"""Bone brightness spilled by the scanner's PSF into a cavity, and the PSF width behind it.

A CT value is the tissue in the voxel's own box (partial volume) blurred by the
scanner's point spread function (PSF). Beside the inner table both lift a cavity voxel
above its tissue level: its own share of bone, and the PSF's spill of the bone around
it. The spill depends on the scanner, not on the tissue at the voxel centre, and can be
predicted once the PSF is known (docs/segmentation.md, "Bone spill under the inner
table").

1. **Spill** (:func:`predict_spill_hu`). The bone's excess over the soft-tissue level
   is deblurred on its own support (the voxels outside the cavity) by a few projected
   Van Cittert steps, since the measured bone was blurred once already; a cavity voxel
   still brighter than tissue by ``source_k`` noise sigmas once that bone's spill is
   taken off holds bone itself (own partial volume, which spills further in) and joins
   the support. The spill into a voxel is the PSF-weighted excess of the *other*
   voxels (``G E - w0 E``), so a voxel's own partial volume stays with it.
2. **PSF width** (:func:`estimate_psf_sigma_mm`). The sigma whose spill, taken off the
   cavity voxels two and three face steps below the wall, leaves their values least
   spread. Those voxels hold no bone of their own under any partial-volume model (a
   linear occupancy ramp reaches half a voxel in), so all that lifts them beside bone is
   spill; a wrong sigma adds the difference between the predicted and the real spill to
   their spread. Where the PSF is narrow against the voxel (sigma under ~0.4 voxels) no
   spill reaches them and the estimate is 0: the spill into the first layer is then the
   same size as its own partial volume and is not identified by this estimator.

A measurement instrument, not part of the twinsep package: the brain/CSF rule built
on it missed the accuracy gates (the PSF is unmeasurable at 1.5 mm and coarser, and the
gain on fine grids swings with 0.04 mm of error in it), so ``segment_ct`` does not use
it. The measurements it made are in docs/segmentation.md ("Bone spill under the inner
table"); tests/segment/test_spill.py keeps it correct.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

logger = logging.getLogger(__name__)

#: PSF sigmas (mm) tried by :func:`estimate_psf_sigma_mm` before refining: FWHM 0 to
#: 2.8 mm, the span of head CT kernels from the sharpest to the smoothest soft ones.
_SIGMA_GRID_MM = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2)
#: Refinement step (mm) around the best grid sigma.
_REFINE_MM = 0.1


def _centre_weight(sig_vx: Sequence[float]) -> float:
    """Centre weight of ``ndi.gaussian_filter`` with sigmas ``sig_vx`` (voxels), truncate 3."""
    r = [int(3.0 * s + 0.5) + 1 for s in sig_vx]
    d = np.zeros([2 * k + 1 for k in r], np.float64)
    d[tuple(r)] = 1.0
    g = ndi.gaussian_filter(d, list(sig_vx), mode="constant", truncate=3.0)
    return float(g[tuple(r)])


def _deblur_on_support(
    x: np.ndarray, e: np.ndarray, support: np.ndarray, sig: list[float], n_iter: int
) -> np.ndarray:
    """Projected Van Cittert: ``e <- max(e + x - G e, 0)`` on ``support``, 0 off it."""
    for _ in range(n_iter):
        r = ndi.gaussian_filter(e, sig, mode="nearest", truncate=3.0)
        np.subtract(x, r, out=r)
        e += r
        np.maximum(e, 0, out=e)
        e[~support] = 0
    return e


def predict_spill_hu(
    raw: np.ndarray,
    inside: np.ndarray,
    spacing: Sequence[float],
    *,
    sigma_mm: float,
    soft_hu: float,
    noise_hu: float,
    source_k: float = 3.0,
    n_iter: int = 4,
) -> np.ndarray:
    """Expected brightness (HU, >= 0) spilled by the PSF into each voxel of ``inside``.

    Parameters
    ----------
    raw : ndarray
        CT values (HU), 3-D; not modified.
    inside : ndarray of bool
        The cavity (same shape); the voxels outside it are the bone's support.
    spacing : sequence of 3 float
        Voxel size (mm) along the array axes.
    sigma_mm : float
        PSF Gaussian sigma (mm), >= 0; 0 gives no spill.
    soft_hu : float
        Tissue level (HU) above which a voxel's excess spills.
    noise_hu : float
        Noise sigma of ``raw`` (HU).
    source_k : float
        A cavity voxel is a source too (own partial volume) when, after the outside
        spill, it exceeds ``soft_hu`` by this many noise sigmas.
    n_iter : int
        Van Cittert steps on the outside support (half as many after the own partial
        volume joins it).

    Returns
    -------
    ndarray of float32
        The spill at ``inside`` voxels, 0 elsewhere.
    """
    if raw.shape != inside.shape or raw.ndim != 3:
        raise ValueError(f"raw {raw.shape} and inside {inside.shape} must be the same 3-D shape")
    out = np.zeros(raw.shape, np.float32)
    if sigma_mm <= 0 or not inside.any():
        return out
    sig = [sigma_mm / float(s) for s in spacing]
    x = np.subtract(raw, np.float32(soft_hu), dtype=np.float32)
    support = ~inside
    e = np.where(support, np.maximum(x, 0), np.float32(0)).astype(np.float32)
    e = _deblur_on_support(x, e, support, sig, n_iter)
    # own partial volume: what the outside bone does not explain
    own = ndi.gaussian_filter(e, sig, mode="nearest", truncate=3.0)
    np.subtract(x, own, out=own)
    own_mask = inside & (own > source_k * noise_hu)
    if own_mask.any():
        support |= own_mask
        e[own_mask] = own[own_mask]
        e = _deblur_on_support(x, e, support, sig, max(1, n_iter // 2))
    del own
    ndi.gaussian_filter(e, sig, output=out, mode="nearest", truncate=3.0)
    out -= np.float32(_centre_weight(sig)) * e
    np.maximum(out, 0, out=out)
    out[~inside] = 0
    return out


def estimate_psf_sigma_mm(
    raw: np.ndarray,
    inside: np.ndarray,
    spacing: Sequence[float],
    *,
    soft_hu: float,
    noise_hu: float,
    z_min: float = 5.0,
) -> float:
    """PSF Gaussian sigma (mm) that best explains the brightness two and three voxels
    below the wall of ``inside`` (module docstring).

    The spread (variance) of ``raw - spill(sigma)`` over the cavity voxels at face
    distance 2-3 from the wall is computed for ``_SIGMA_GRID_MM`` and then in
    ``_REFINE_MM`` steps around its minimum; the minimiser is returned, or 0 when it
    lowers the spread by fewer than ``z_min`` standard errors of that drop (no
    measurable spill: on coarse grids a sigma of 0.9-1.1 mm won by noise alone on 4 of
    17 rows of the independent phantom, 1-3 SE).

    Parameters
    ----------
    raw : ndarray
        CT values (HU), 3-D; not modified.
    inside : ndarray of bool
        The cranial cavity (same shape).
    spacing : sequence of 3 float
        Voxel size (mm).
    soft_hu, noise_hu : float
        Soft-tissue level and noise sigma (HU), as for :func:`predict_spill_hu`.
    z_min : float
        Significance (standard errors) the drop in spread needs.

    Returns
    -------
    float
        Sigma (mm), >= 0.
    """
    depth = ndi.distance_transform_cdt(inside, metric="taxicab")
    probe = (depth >= 2) & (depth <= 3)
    if int(np.count_nonzero(probe)) < 100:
        return 0.0
    vals = raw[probe].astype(np.float64)
    cache: dict[float, float] = {}

    def spread(s_mm: float) -> float:
        key = round(s_mm, 3)
        if key not in cache:
            p = predict_spill_hu(
                raw, inside, spacing, sigma_mm=s_mm, soft_hu=soft_hu, noise_hu=noise_hu, n_iter=2
            )[probe]
            cache[key] = float(np.var(vals - p))
        return cache[key]

    grid = [spread(s) for s in _SIGMA_GRID_MM]
    best = _SIGMA_GRID_MM[int(np.argmin(grid))]
    for s in (best - _REFINE_MM, best + _REFINE_MM):
        if s > 0:
            spread(s)
    s_best = min(cache, key=lambda k: (cache[k], k))
    if s_best > 0:
        # the drop in spread must stand out of its own sampling noise: per voxel the
        # change of the squared deviation, its mean against z_min standard errors
        p = predict_spill_hu(
            raw, inside, spacing, sigma_mm=s_best, soft_hu=soft_hu, noise_hu=noise_hu, n_iter=2
        )[probe]
        r = vals - p
        diff = (r - r.mean()) ** 2 - (vals - vals.mean()) ** 2
        z = -float(diff.mean()) / max(float(diff.std()) / np.sqrt(diff.size), 1e-9)
        if z < z_min:
            logger.debug("PSF: sigma %.2f mm lowers the spread by %.1f SE only: 0", s_best, z)
            s_best = 0.0
    logger.debug(
        "PSF from the inner table: sigma %.2f mm (spread %.1f HU^2 against %.1f at 0)",
        s_best,
        cache[round(s_best, 3)],
        cache[0.0],
    )
    return float(s_best)
