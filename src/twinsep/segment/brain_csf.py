"""Brain vs CSF inside the cranial cavity of a CT (labels 3 and 4).

Inside the cavity (vessels excluded) every voxel is brain or CSF: a binary decision
made by two tests, each from a Gaussian mixture fitted by EM on the cavity's own
histogram (so a CT calibrated tens of HU off is split alike), then cleaned of specks:

1. **Bright = CSF.** A cavity voxel brighter than the brain class can be by its own
   spread (``bright_k_sigma`` brain sigmas) is a partial-volume mixture with bone or
   blood (brain never touches bone: dura and CSF line the inner table and surround
   the sinuses). The test runs on a lightly smoothed image (``bright_smooth_vx``,
   ``bright_smooth_min_mm``): the smoothing that the dark test needs would spread the
   brightness of the bone rim into the brain beside it. Only voxels within
   ``bright_reach_mm`` of the wall can be such a mixture: brighter voxels deeper in are
   the bright lines of metal streaks (tests/realism); they are labelled brain, and stay
   out of the dark test's smoothing and fit like every bright voxel.
2. **Dark = CSF.** Among the remaining voxels, CSF is darker than brain by ~25 HU; at
   the noise of a CT that needs smoothing (``_tissue_sigma_mm``, from the measured
   noise). The smoothing is *normalised* over the remaining voxels, so the bright rim
   and the bone do not leak into it and a CSF layer beside the inner table stays dark.
   The edge is the lower crossing of the CSF and brain classes (Bayes rule); a fit
   whose means are closer than ``csf_brain_min_sep_noise`` smoothed-noise sigmas has no
   CSF mode (coarse noisy grids: it splits the brain) and only the brain's far tail is
   taken. Brain may be two tissues: where the smoothed noise is below the grey-white
   contrast (fine grids) a three-class fit resolves white and grey matter, and its cut
   between CSF and the lower brain class bounds the edge from above
   (``csf_three_class_min_bic``); without it white matter became CSF at 1-1.5 mm.
   An infant brain can need four: below CSF, unmyelinated white matter (15-25 HU)
   and grey matter, a wide artefact class (fat or muscle partial volume at the skull
   base) takes the lowest; then four classes are fitted (``_cut_above_artefact``).
   Where the edge is a Bayes crossing, which weighs CSF by its share of the whole
   cavity, CSF grows from the voxels under it through the face-connected voxels under
   the midpoint of the CSF level and brain (``csf_grow_to_midpoint``): beside a wide
   extra-axial layer CSF is not a few per cent of the voxels. Only where a smoothing of
   a CSF body's scale, wide enough to leave ``csf_grow_gate_sigmas`` noise sigmas
   between the midpoint and brain, reads under the midpoint too (``_grow_gate``): ungated,
   the voxels under the midpoint percolated through a noisy brain from any seed
   (analytic twins at 1 mm / 30 HU: CSF 0.891 -> 0.745). A CSF class wider than the noise
   (thin layers blurred with brain) has its level taken under its mean (``_crossing_midpoint``).
   A lowest class reaching deeper below brain than water can (``csf_max_contrast_hu``)
   is an artefact (sharp-kernel undershoot, fat or air partial volume), not CSF: taken
   as CSF it cut a real head CT at -6 HU and left its ventricles brain (now 11.8 HU,
   98 % of the ventricles' dark voxels CSF; sharp-kernel Colin27 CSF 0.505 -> 0.617).
   On CTs finer than ``dark_grid_mm`` this test runs on blocks of about that size.
   Within ``csf_shell_depth_mm`` of the cavity wall a voxel is also dark when its mean
   over its own shell of equal depth is (``segment.shells``, same noise target): the
   subarachnoid layer lies parallel to the inner table, and the isotropic smoothing
   averaged its second voxel layer with the brain below it (at 1.2 mm and 30 HU that
   layer came out midway; CSF Dice 0.74-0.76 on the size-256 phantoms, 0.81-0.84 with
   the shells; the edge is still fitted on the isotropic values).
   **Bodies of CSF** much wider than that smoothing (enlarged ventricles: hydrocephalus,
   cysts) are found on a second, coarser smoothing (``csf_deep_sigma_mm``) where the
   first one leaves too much noise to resolve them (3 mm voxels: 42 mL of ventricles
   0.38 CSF at 15 HU, 0.05 at 30); only when that smoothing shows a CSF class of its
   own (``_deep_csf``).
   **Slices with metal** (``metal_slices``: ports, a shunt valve, electrodes, with the
   slices their streaks reach) stay out of the deep test's fit and coarse smoothing
   when the other slices keep enough of the cavity: a streak darkens whole bands of
   brain by tens of HU across its slices, and those bands widened the fitted CSF class
   until the deep test found no CSF class of its own (the clinical blind hydrocephalic
   head with expander ports: deep fit sigma 9.9 HU for 3.8, enlarged ventricles 0.60
   CSF). A CSF body there takes the coarse value of the clean slices around it. The
   bright and dark tests keep every slice: leaving the metal's slices out of their fits
   too lost 0.0026 brain Dice on vt0-p15-exp and 0.003 on vt90-c15-all-1.2mm and gained
   nothing on the ventricles.
   **Streaks' level in the slices with metal.** Inside those slices the dark bands were
   still labelled CSF by their value (the clinical blind hydrocephalic head with
   expander ports: twin B's CSF 134.5 mL for 98.4). When the metal's voxels are given
   (``metal``), the streaks' shift (``segment.streak_level``: the deviation of each
   slice's local level from the clean slices above and below, as far as it is constant
   along lines through the metal and beyond ``csf_streak_tolerance_hu``) is taken off
   the image and the slices with metal are labelled again with the edges and deep-CSF
   blocks fitted on the whole cavity; the other slices keep their labels. Refitting on
   the shifted image moved the dark edge from 6.9 to 3.4 HU on the 'all' case and lost
   ventricle recall in every slice (0.819 -> 0.760).
3. **Specks are brain.** A face-connected piece of CSF (bright and dark together) is kept
   when it reaches the cavity wall (bone, vessel or the cavity's edge: subarachnoid
   CSF and the partial-volume rim) or when its dark part fills at least
   ``csf_min_noise_volumes`` times the volume the dark smoothing averages; smaller
   isolated pieces are the noise tails of both tests in brain.

A spatial Potts prior solved by min-cut (PyMaxflow, 6-neighbour, 0.5-2 nats per face)
was evaluated on 20 cached cavities: it changed CSF Dice by -0.02 (real anatomy) to
+0.04 (one 3.1 mm grid at noise 30 HU), mostly by less than 0.01, at ~280 bytes per
cavity voxel; it is not used. Edge-preserving denoising before the dark test was
measured on the same kind of cached cavities (issue 4, README): non-local means
(3x3x3 patches, h 0.6-1.2 noise sigmas) gained 0.004-0.007 on 2.3-2.7 mm phantoms but
lost 0.11-0.18 on 1.0-1.5 mm grids and costs seconds on a 0.5 mm CT; curvature flow
lost 0.11. Neither is used.

The first voxel layer under the inner table (where the bright test takes 85-100 % of
the layer as CSF while the truth is 54-94 %) was studied for a thickness fitted on the
pooled profile (issue 4, README): mean HU against sub-voxel depth below the cavity
wall (0.1-voxel bins of thousands of voxels), fitted by a bone edge and a CSF layer of
thickness t, both blurred by a Gaussian, with the brain and CSF levels fixed. The fit
leaves 6-25 HU of residual, as large as the CSF signal itself: at 2.3-2.7 mm the CSF
deficit (about 25 HU over 1.5-2.5 mm) is roughly a tenth of the bone's spill into the
cavity, and the spill varies with the plate's thickness and HU over the surface
(values at one depth spread 100-150 HU). The fitted CSF/brain boundary was off by
0.9-2.2 mm on the independent phantom and by 0.5-4.8 mm on the four phantom rows tried
(0.2 mm on Colin27; fits stratified by the local bone peak: some strata within 0.1 mm,
others 0.6-2.7 mm off). Even the exact CSF fraction of that layer (truth) does not
help: ranking the layer by its lightly smoothed value orders depth right for 80-92 %
of its CSF, so taking the fraction's brightest voxels changes CSF Dice by -0.018 to
-0.045 on all 24 size-128 phantoms, -0.03 on Colin27 and +0.016 to +0.061 on the
independent phantom. The layer needs a per-voxel depth better than its value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import filters, morph, shells
from twinsep.segment.gmm import Mixture1D, fit_gmm_1d
from twinsep.segment.histogram import NoiseLevel, histogram_peak, sample_values
from twinsep.segment.params import SegmentParams
from twinsep.segment.streak_level import csf_body_reach, streak_shift

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrainCsf:
    """Brain/CSF split of the cranial cavity.

    Attributes
    ----------
    brain, csf : ndarray of bool
        Disjoint masks on the grid of the input; their union is the cavity given.
    csf_brain_hu : float
        Brain/CSF intensity boundary (HU, on the smoothed image).
    brain_mixed_hu : float
        Upper edge of the brain class (HU): brighter cavity voxels are mixed with bone or
        blood (partial volume) and taken as CSF.
    warnings : tuple of str
        Doubts, in plain words.
    """

    brain: np.ndarray
    csf: np.ndarray
    csf_brain_hu: float
    brain_mixed_hu: float
    warnings: tuple[str, ...]


def classify_brain_csf(
    raw: np.ndarray,
    inner: np.ndarray,
    *,
    spacing: morph.Spacing,
    soft_hu: float,
    noise_hu: float,
    noise_corr_vox: tuple[float, float, float] = (0.0, 0.0, 0.0),
    metal_slices: np.ndarray | None = None,
    metal: np.ndarray | None = None,
    params: SegmentParams = SegmentParams(),
) -> BrainCsf:
    """Split the cranial cavity ``inner`` of a CT into brain and CSF.

    Parameters
    ----------
    raw : ndarray
        CT values (HU), any numeric dtype; not modified.
    inner : ndarray of bool
        Cranial cavity without vessels, same shape.
    spacing : tuple of 3 float
        Voxel size (mm) along the array axes.
    soft_hu : float
        Soft-tissue peak of the scan (HU).
    noise_hu : float
        Voxel noise sigma of the raw image (HU).
    noise_corr_vox : length-3 tuple of float
        Gaussian correlation length of that noise along each axis (voxels; 0 white,
        ``histogram.noise_level``). Correlated noise is smoothed away more slowly: the
        smoothing widths and smoothed noise levels below are computed from the white
        noise that smoothing leaves as noisy (``NoiseLevel.white_equivalent_hu``).
    metal_slices : ndarray of bool, shape (K,), optional
        Slices across the third (acquisition) axis that hold metal (and the slices its
        streaks reach): their values stay out of the deep-CSF test's fit and coarse
        smoothing (module doc, "Slices with metal"). They are still labelled.
    metal : ndarray of bool, optional
        Metal voxels (same shape as ``raw``): in ``metal_slices`` the streaks' level
        shift along lines through them is taken off before labelling (module doc,
        "Streaks' level in the slices with metal"). Without it, no shift.
    params : SegmentParams
        Tunable numbers.

    Returns
    -------
    BrainCsf
    """
    warnings: list[str] = []
    nz = [np.flatnonzero(inner.any(axis=tuple(j for j in range(3) if j != ax))) for ax in range(3)]
    brain = np.zeros(inner.shape, bool)
    csf = np.zeros(inner.shape, bool)
    if nz[0].size == 0:
        return BrainCsf(brain, csf, soft_hu - 15.0, soft_hu + 40.0, ())
    pad = 1 + int(np.ceil(3 * params.tissue_sigma_bounds_mm[1] / min(spacing)))
    box = tuple(
        slice(max(int(n[0]) - pad, 0), min(int(n[-1]) + pad + 1, s))
        for n, s in zip(nz, inner.shape, strict=True)
    )
    cav = inner[box]
    img = raw[box]  # a view: never written to
    # the slices the deep-CSF test fits and smooths: without those that hold metal, when
    # the others keep enough of the cavity (streaks darken whole bands of brain there)
    fit_k = _fit_slices(cav, None if metal_slices is None else metal_slices[box[2]], params)

    k_box = None if metal_slices is None else np.asarray(metal_slices, bool)[box[2]]
    first = _split(img, cav, spacing, soft_hu, noise_hu, noise_corr_vox, fit_k, params, warnings)
    cut = first.csf

    # streaks' level in the slices with metal: their labels are taken again from the
    # image without the shift, with the fits of the whole cavity (module doc)
    def shifted_csf(
        metal_box: np.ndarray, k: np.ndarray, exclude: np.ndarray | None
    ) -> np.ndarray | None:
        # the streaks' shift (with ``exclude`` out of its line medians) taken off and
        # the cavity split again with the whole cavity's fits, in the metal's slices
        # ``k``; None without a shift
        shift = streak_shift(
            img,
            cav,
            metal_box,
            k,
            spacing=spacing,
            soft_hu=soft_hu,
            sigma_mm=params.csf_streak_level_sigma_mm,
            tolerance_hu=params.csf_streak_tolerance_hu,
            exclude=exclude,
        )
        if shift is None:
            return None
        again = _split(
            np.subtract(img, shift, dtype=np.float32),
            cav,
            spacing,
            soft_hu,
            noise_hu,
            noise_corr_vox,
            fit_k,
            params,
            [],
            fits=first.fits,
        )
        return np.where(k[None, None, :], again.csf, first.csf)

    if metal is not None and k_box is not None and fit_k is not None:
        second = shifted_csf(metal[box], k_box, None)
        if second is not None:
            cut = second
            # once more with the CSF bodies (enlarged ventricles) out of the levels the
            # line medians come from: a ventricle bulging inside the run is not taken
            # for streak
            bodies = csf_body_reach(cut, spacing, params.csf_streak_level_sigma_mm)
            if bodies.any():
                third = shifted_csf(metal[box], k_box, bodies)
                cut = first.csf if third is None else third
    csf[box] = cut
    brain[box] = cav & ~cut
    return BrainCsf(
        brain, csf, float(first.fits.t_csf), float(first.fits.t_bright), tuple(warnings)
    )


class _Fits(NamedTuple):
    """What :func:`_split` fitted on the cavity (reused on a shifted image)."""

    t_bright: float
    """Upper edge of the brain class on the light smoothing (HU)."""
    t_csf: float
    """Brain/CSF edge on the dark test's smoothing (HU)."""
    t_grow: float
    """Edge up to which CSF grows from the voxels under ``t_csf`` (HU; ``>= t_csf``)."""
    brain_hu: float
    """Mean of the brain class whose midpoint with CSF is ``t_grow`` (HU; nan: no growth)."""
    deep_c: np.ndarray | None
    """Deep-CSF blocks (``_deep_csf``), or None."""


class _Split(NamedTuple):
    """Result of :func:`_split`."""

    csf: np.ndarray
    """CSF voxels of the cavity (bool, the box's grid)."""
    fits: _Fits


def _split(
    img: np.ndarray,
    cav: np.ndarray,
    spacing: morph.Spacing,
    soft_hu: float,
    noise_hu: float,
    noise_corr_vox: tuple[float, float, float],
    fit_k: np.ndarray | None,
    params: SegmentParams,
    warnings: list[str],
    *,
    fits: _Fits | None = None,
) -> _Split:
    """The bright, dark and speck steps of :func:`classify_brain_csf` on the box's
    image ``img`` and cavity ``cav``; with ``fits``, its edges and deep-CSF blocks are
    used instead of being fitted (the image without the streaks' shift)."""
    # 1. bright: partial volume with bone or blood (a 0.5-voxel Gaussian is exact to
    # 3e-4 with a 3-tap kernel: truncate at 2 sigma; wider ones at 3 sigma)
    light_vx = [max(params.bright_smooth_vx, params.bright_smooth_min_mm / s) for s in spacing]
    light = ndi.gaussian_filter(
        img,
        sigma=light_vx,
        output=np.float32,
        mode="nearest",
        truncate=2.0 if max(light_vx) <= 0.5 else 3.0,
    )
    t_bright = _bright_threshold(light, cav, soft_hu, params) if fits is None else fits.t_bright
    bright = light > t_bright
    bright &= cav
    del light
    # bright beyond the PSF's reach of the wall: a streak, labelled brain at the end (it
    # stays out of the dark test's smoothing and fit like any bright voxel)
    streak = bright & ~_near_wall(bright, cav, spacing, params.bright_reach_mm)

    # 2. dark: CSF vs brain on a smoothing normalised over the non-bright cavity, run
    # on blocks of about ``dark_grid_mm`` when the voxels are finer (the block mean is
    # part of the smoothing: it adds the variance (k^2 - 1) s^2 / 12 of a box)
    rest = cav & ~bright
    level = NoiseLevel(noise_hu, noise_corr_vox)  # the raw noise, for the growth's gate
    sigma_mm = _tissue_sigma_mm(noise_hu, spacing, params)
    if any(c > 0 for c in noise_corr_vox):
        # the width depends on the equivalent noise and that on the width: a few
        # fixed-point steps (each widening; it settles within 1 % in three)
        for _ in range(3):
            noise_hu = level.white_equivalent_hu([sigma_mm / sp for sp in spacing])
            sigma_mm = _tissue_sigma_mm(noise_hu, spacing, params)
        logger.debug(
            "brain/CSF: noise %.1f HU correlated over %s vx acts as %.1f HU white",
            level.sigma_hu,
            [round(c, 2) for c in noise_corr_vox],
            noise_hu,
        )
    f = morph.downsample_factors(rest.shape, spacing, params.dark_grid_mm)
    w = rest.astype(np.float32)
    wimg = np.multiply(img, w, dtype=np.float32)
    num0, den0 = _block_mean_f32(wimg, f), _block_mean_f32(w, f)
    del wimg, w
    g_vx = [
        np.sqrt(max(sigma_mm**2 - (k * k - 1) * sp * sp / 12.0, 0.0)) / (k * sp)
        for k, sp in zip(f, spacing, strict=True)
    ]
    if max(g_vx) > 0:
        num = ndi.gaussian_filter(num0, sigma=g_vx, mode="nearest", truncate=3.0)
        den = ndi.gaussian_filter(den0, sigma=g_vx, mode="nearest", truncate=3.0)
    else:  # the block means are kept for the shell smoothing
        num, den = num0.copy(), den0.copy()
    rest_c = den >= 0.5
    np.maximum(den, 1e-3, out=den)
    ts = np.divide(num, den, out=num)
    del den
    noise_ts = noise_hu / float(
        np.sqrt((4 * np.pi) ** 1.5 * np.prod([sigma_mm / sp for sp in spacing]))
    )
    t_csf, t_grow, brain_hu = (
        _csf_edges(ts, rest_c, soft_hu, noise_ts, params, warnings)
        if fits is None
        else (fits.t_csf, fits.t_grow, fits.brain_hu)
    )
    # near the wall a voxel is also dark when its mean along its own depth shell is
    # (the edge is fitted on the isotropic smoothing alone: the same noise target)
    shell = _shell_values(num0, den0, cav, f, spacing, noise_hu, params)
    if shell is not None:
        np.fmin(ts, shell, out=ts)
        del shell
    dark_c = ts < t_csf
    # CSF grows from those voxels through the voxels under ``t_grow`` (module doc 2)
    band_c = None
    if params.csf_grow_to_midpoint and t_grow > t_csf and brain_hu > t_grow:
        gate = _grow_gate(num0, den0, f, spacing, level, brain_hu - t_grow, sigma_mm, params)
        band_c = (ts < t_grow) & (gate < t_grow)
        del gate
    del ts
    # deep CSF: bodies of CSF far wider than the dark test's smoothing (enlarged
    # ventricles, cysts), resolved on a coarser smoothing where the fine one is not
    deep_c = (
        _deep_csf(
            num0,
            den0,
            rest_c,
            f,
            spacing,
            noise_hu,
            soft_hu,
            params,
            None if fit_k is None else _block_slices(fit_k, f[2]),
        )
        if fits is None
        else fits.deep_c
    )
    if deep_c is not None:
        dark_c = dark_c | deep_c

    # 3. unresolved specks: a CSF piece that reaches neither the cavity wall nor the
    # volume the smoothing averages is noise (on the blocks of the dark test)
    if params.csf_min_noise_volumes > 0:
        keep_c = _resolved_csf(bright, dark_c, cav, f, spacing, sigma_mm, params)
        bright &= morph.upsample(keep_c, f, rest.shape)
        dark_c &= keep_c
    if band_c is not None and dark_c.any():
        grown = _grow_from(dark_c, band_c & rest_c)
        logger.debug(
            "brain/CSF: CSF grown from %d to %d blocks under %.1f HU",
            int(np.count_nonzero(dark_c)),
            int(np.count_nonzero(grown)),
            t_grow,
        )
        dark_c = grown
    dark = morph.upsample(dark_c, f, rest.shape)
    dark &= rest

    bright &= ~streak
    logger.debug(
        "brain/CSF: bright > %.1f HU, dark < %.1f HU (smoothing %.2f mm)%s",
        t_bright,
        t_csf,
        sigma_mm,
        "" if fits is None else ", without the streaks' shift",
    )
    return _Split(
        bright | dark,
        _Fits(float(t_bright), float(t_csf), float(t_grow), float(brain_hu), deep_c),
    )


def _grow_gate(
    num0: np.ndarray,
    den0: np.ndarray,
    f: tuple[int, int, int],
    spacing: morph.Spacing,
    level: NoiseLevel,
    margin_hu: float,
    sigma_min_mm: float,
    params: SegmentParams,
) -> np.ndarray:
    """The value the growth to the midpoint is gated on: the non-bright cavity's
    normalised smoothing (block sums ``num0`` / ``den0``, blocks ``f``) wide enough that
    its noise is ``params.csf_grow_gate_sigmas`` times below ``margin_hu``, the gap
    between the growth edge and the brain class mean (never narrower than the dark
    test's ``sigma_min_mm``).

    Why the growth then cannot percolate: in brain more than about that smoothing's width
    from CSF the gate value is the brain level plus noise, under the growth edge with
    probability ``Phi(-k)`` (0.13 % at k = 3). Such a Gaussian field's excursion set at
    k sigmas is isolated blobs of the smoothing's size (the set of a smooth field
    percolates in 3-D only at levels near its mean; site percolation on the 6-neighbour
    lattice needs 31 % of the sites), so the voxels under the midpoint cannot form a
    path from a seed through the brain. Beside a CSF body wider than the smoothing the
    gate crosses the midpoint at the body's edge (a blurred flat step crosses half-way
    at the step) and the fine test decides inside it; a body or layer narrower than the
    smoothing never reads under the midpoint and does not grow. The gate's edge lies
    within ``sqrt(2 pi) sigma / (2 k)`` (0.42 sigma at k = 3) of the body's, one noise
    sigma of the gate over its slope at a flat edge.
    """
    k = params.csf_grow_gate_sigmas
    prod_sp = float(np.prod(spacing))
    noise = level.sigma_hu
    floor = max(sigma_min_mm, params.csf_grow_gate_min_mm)
    sigma = floor
    for _ in range(3):  # correlated noise: its white equivalent depends on the width
        noise = level.white_equivalent_hu([sigma / sp for sp in spacing])
        need = ((k * noise / margin_hu) ** 2 * prod_sp / (4 * np.pi) ** 1.5) ** (1.0 / 3.0)
        sigma = max(floor, float(need))
    g = [
        np.sqrt(max(sigma**2 - (kk * kk - 1) * sp * sp / 12.0, 0.0)) / (kk * sp)
        for kk, sp in zip(f, spacing, strict=True)
    ]
    num = ndi.gaussian_filter(num0, sigma=g, mode="nearest", truncate=3.0)
    den = ndi.gaussian_filter(den0, sigma=g, mode="nearest", truncate=3.0)
    np.maximum(den, 1e-3, out=den)
    logger.debug(
        "brain/CSF: growth gate smoothing %.2f mm (noise %.1f HU, margin %.1f HU)",
        sigma,
        noise,
        margin_hu,
    )
    out: np.ndarray = np.divide(num, den, out=num)
    return out


def _grow_from(seed: np.ndarray, band: np.ndarray) -> np.ndarray:
    """``seed`` and every face-connected piece of ``band | seed`` that holds a seed voxel."""
    lab, _n = morph.label_components(band | seed, 6)
    hit = np.unique(lab[seed])
    out: np.ndarray = np.isin(lab, hit[hit > 0])
    return out


def _deep_csf(
    num0: np.ndarray,
    den0: np.ndarray,
    rest_c: np.ndarray,
    f: tuple[int, int, int],
    spacing: morph.Spacing,
    noise_hu: float,
    soft_hu: float,
    params: SegmentParams,
    clean_k: np.ndarray | None = None,
) -> np.ndarray | None:
    """Blocks of CSF bodies much wider than the dark test's smoothing (enlarged
    ventricles, cysts), found on a coarser smoothing of the same values.

    ``clean_k`` (per block slice; None = all) are the slices without metal: only their
    values enter the coarse smoothing and the fit. A slice with metal takes the coarse
    value of the clean slices around it (the normalised smoothing reaches across a few
    slices), so a streak's dark band in it is neither fitted nor grown into a body, and a
    ventricle that the slice crosses is read from the slices above and below.

    The dark test's smoothing is capped at ``tissue_sigma_bounds_mm`` (1.5 mm) so that
    the 1-3 mm subarachnoid layer survives; on 3 mm voxels it then leaves 8-13 HU of
    noise, its CSF class is small (3-5 % of the cavity) and its Bayes cut, which weighs
    CSF by that share, fell below the CSF mean (4.6 HU for 8 HU ventricles at 15 HU
    noise) or, unresolved, 2.5 brain sigmas under brain (-12 HU at 30 HU): 42 mL of
    hydrocephalic ventricles were 0.84 / 0.38 / 0.05 CSF at 5 / 15 / 30 HU noise. On a
    Gaussian of ``params.csf_deep_sigma_mm`` (normalised over the non-bright cavity,
    like the dark test) a body a few sigmas wide keeps its own value inside while the
    noise falls to 1-5 HU, and a two-class fit resolves it.

    Used only when that fit's CSF class is resolved (means at least the separation
    bound of the dark test apart, on the coarse noise), holds at least
    ``params.csf_deep_min_noise_volumes`` noise volumes ``(4 pi)^(3/2) sigma^3`` of the
    smoothing, and reads as CSF: its mean less one sigma at least
    ``params.csf_grey_white_max_hu`` below brain, and a mode of its own (means
    ``params.csf_deep_min_sep_sigmas`` mean sigmas apart). A normal cavity's sulci and
    thin layers blur into brain and leave an empty class (0.00 mL on the blind phantom3
    heads at 3 and 1.2 mm); on Colin27 (adult) the class is white matter and sulci
    blurred together (23.8 +- 5.7 HU under brain at 32.0 +- 2.4) and is not used; on
    the generated head of test_brain_csf_coarse at 3.5 mm and 30 HU the brain's noise
    split into classes 7.5-13 HU apart with sigmas 6-10 (0.9-1.8 mean sigmas).

    Bodies are the face-connected pieces below a quarter of the way from the CSF class
    to brain, of at least as many noise volumes (at the midpoint, 30 HU noise on 3 mm
    voxels left 12 % of the white matter below it in blobs that joined the ventricles).
    Each body's edge is where the blur crosses half-way between the CSF class and the
    brain around that body (the median of the coarse values 2-3 sigmas out), within 2
    sigmas of it: a blurred flat wall crosses that level where the body ends (a curved
    one moves inward by about sigma^2 / radius). Ventricles lie in white matter, below
    the brain class's mean: the class midpoint as the edge put it a voxel out (generated
    3 mm head at 5 HU: ventricles 54 mL for 39 mL; with the local level 43 mL).

    Returns
    -------
    ndarray of bool or None
        Deep-CSF blocks (the grid of ``rest_c``), or None when there is no such class.
    """
    s_mm = params.csf_deep_sigma_mm
    if s_mm <= 0:
        return None
    sp_c = [k * s for k, s in zip(f, spacing, strict=True)]
    g = [s_mm / s for s in sp_c]
    if clean_k is not None:
        w = clean_k.astype(np.float32)[None, None, :]
        num0, den0 = num0 * w, den0 * w
    num = ndi.gaussian_filter(num0, sigma=g, mode="nearest", truncate=3.0)
    den = ndi.gaussian_filter(den0, sigma=g, mode="nearest", truncate=3.0)
    if clean_k is not None:
        # a block the clean slices' smoothing does not reach has no value (not 0 HU)
        rest_c = rest_c & (den > 1e-3)
    np.maximum(den, 1e-3, out=den)
    coarse = np.divide(num, den, out=num)
    del den
    fit_c = rest_c if clean_k is None else _in_slices(rest_c, clean_k)
    noise_c = noise_hu / float(np.sqrt((4 * np.pi) ** 1.5 * np.prod(g)))
    hist = _cavity_histogram(coarse, fit_c, soft_hu, params)
    mix = None if hist is None else _fit_histogram(hist, (-25.0, 0.0), max(noise_c, 1e-3))
    if mix is None:
        return None
    ib = int(np.argmax(mix.weights))
    block_mm3 = float(np.prod(sp_c))
    noise_mm3 = (4 * np.pi) ** 1.5 * s_mm**3
    csf_mm3 = float(mix.weights[ib - 1]) * float(np.count_nonzero(fit_c)) * block_mm3
    sep = mix.means[ib] - mix.means[ib - 1] if ib > 0 else 0.0
    min_sep = max(params.csf_brain_min_sep_hu, params.csf_brain_min_sep_noise * noise_c)
    logger.debug(
        "deep CSF fit (%.1f mm): means %s HU, sigmas %s, CSF class %.1f mL (%.1f noise volumes)",
        s_mm,
        np.round(mix.means, 1),
        np.round(mix.sigmas, 1),
        csf_mm3 / 1000.0 if ib > 0 else 0.0,
        csf_mm3 / noise_mm3 if ib > 0 else 0.0,
    )
    # a CSF body reads as CSF at this scale: its class (mean less one sigma) lies at
    # least a grey-white contrast below brain, in a mode of its own; a class nearer
    # brain is white matter or sulci blurred into it (Colin27: 23.8 +- 5.7 HU under
    # brain at 32.0 +- 2.4), a wide one the noise of brain split in two
    if (
        ib == 0
        or sep < min_sep
        or csf_mm3 < params.csf_deep_min_noise_volumes * noise_mm3
        or mix.means[ib] - (mix.means[ib - 1] - mix.sigmas[ib - 1]) < params.csf_grey_white_max_hu
        or sep < params.csf_deep_min_sep_sigmas * 0.5 * (mix.sigmas[ib - 1] + mix.sigmas[ib])
    ):
        return None
    csf_hu = mix.means[ib - 1]
    # bodies: seeds a quarter of the way from CSF to brain (at the midpoint, 30 HU
    # noise on 3 mm voxels left 12 % of white matter below it, in blobs of the
    # smoothing's size that joined the ventricles)
    deep = coarse < csf_hu + 0.25 * sep
    deep &= rest_c
    lab, n = morph.label_components(deep, 6)
    cnt = np.bincount(lab.ravel(), minlength=int(n) + 1)
    keep = cnt * block_mm3 >= params.csf_deep_min_noise_volumes * noise_mm3
    keep[0] = False
    if not keep.any():
        return None
    lab = np.where(keep[lab], lab, 0)
    # each body's edge is where the blur crosses half-way to the brain around it (its
    # ring 2-3 sigmas out, where the coarse values are the brain's own): ventricles lie
    # in white matter, below the brain class's mean, and the class midpoint put the
    # edge a voxel out (+38 % ventricle volume on the generated 3 mm head at 5 HU)
    dist, idx = ndi.distance_transform_edt(lab == 0, sampling=sp_c, return_indices=True)
    near = lab[tuple(idx)]
    del idx
    ring = (dist > 2 * s_mm) & (dist <= 3 * s_mm) & rest_c
    ids = np.flatnonzero(keep)
    outside = np.asarray(ndi.median(coarse, labels=np.where(ring, near, 0), index=ids))
    outside = np.where(np.isfinite(outside), outside, mix.means[ib])
    cut = np.full(int(n) + 1, -np.inf)
    cut[ids] = 0.5 * (csf_hu + outside)
    out: np.ndarray = (coarse < cut[near]) & (dist <= 2 * s_mm) & rest_c
    logger.debug(
        "deep CSF: %d bodies, %.1f mL, edges at %s HU",
        ids.size,
        float(np.count_nonzero(out)) * block_mm3 / 1000.0,
        np.round(cut[ids], 1),
    )
    return out


def _fit_slices(
    cav: np.ndarray, metal_slices: np.ndarray | None, params: SegmentParams
) -> np.ndarray | None:
    """Slices (third axis of ``cav``) whose cavity values the deep-CSF test uses.

    None (every slice) without metal, or when the slices without metal hold less than
    ``params.csf_fit_min_clean_share`` of the cavity (a fit on a few slices would be
    measured on too little brain: the slices with metal are then kept).
    """
    if metal_slices is None or not metal_slices.any():
        return None
    per_slice = np.count_nonzero(cav, axis=(0, 1))
    clean = ~np.asarray(metal_slices, bool)
    total = int(per_slice.sum())
    if total == 0 or int(per_slice[clean].sum()) < params.csf_fit_min_clean_share * total:
        return None
    logger.debug(
        "brain/CSF: fits leave out %d slices with metal (%.0f %% of the cavity)",
        int(np.count_nonzero(~clean)),
        100.0 * (1.0 - per_slice[clean].sum() / total),
    )
    return clean


def _block_slices(keep: np.ndarray, k: int) -> np.ndarray:
    """``keep`` per slice on blocks of ``k`` slices: a block is kept when all its slices
    are (the last, partial block repeats the last slice, as ``_block_mean_f32``)."""
    if k == 1:
        return keep
    n = -(-keep.size // k) * k
    full = np.concatenate([keep, np.repeat(keep[-1:], n - keep.size)])
    out: np.ndarray = np.all(full.reshape(-1, k), axis=1)
    return out


def _in_slices(mask: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """``mask`` restricted to the slices ``keep`` (third axis); ``mask`` when None."""
    if keep is None:
        return mask
    out: np.ndarray = mask & keep[None, None, :]
    return out


def _shell_values(
    num0: np.ndarray,
    den0: np.ndarray,
    cav: np.ndarray,
    f: tuple[int, int, int],
    spacing: morph.Spacing,
    noise_hu: float,
    params: SegmentParams,
) -> np.ndarray | None:
    """Dark-test values smoothed within shells of equal depth below the cavity wall.

    The subarachnoid CSF under the inner table is a layer parallel to the wall, one to
    three voxels thick on 1-1.5 mm grids; the isotropic tissue smoothing (1.1 voxels
    at 1.2 mm and 30 HU) averages it with the brain below, so its second voxel layer
    came out midway between CSF and brain (CSF Dice 0.74-0.76 on the size-256 phantoms
    at 30 HU, 0.85 with this). Within a shell one band deep (``segment.shells``) the
    same noise target needs a wider Gaussian (``shell_sigma_mm``) but mixes no depths.
    Bands reach ``params.csf_shell_depth_mm`` below the wall (the blocks of the dark
    test: ``num0`` / ``den0`` are block means of the non-bright values times weights
    and of the weights); deeper voxels keep the isotropic smoothing only. The caller
    takes the darker of the two values, so a sulcus (narrow along the shell) stays as
    dark as the isotropic smoothing makes it.

    Returns
    -------
    ndarray of float32 or None
        Shell means on the band blocks, NaN elsewhere; None when the shell Gaussian is
        below ``params.csf_shell_min_sigma_vx`` blocks (low noise: nothing to average)
        or the depth bound is 0.
    """
    sp_c = tuple(k * s for k, s in zip(f, spacing, strict=True))
    noise_c = noise_hu / float(np.sqrt(np.prod(f)))  # noise of a block mean
    band_mm = shells.band_width_mm(sp_c)
    s_mm = shells.shell_sigma_mm(noise_c, float(np.prod(sp_c)), band_mm, params.tissue_noise_hu)
    if params.csf_shell_depth_mm <= 0 or s_mm < params.csf_shell_min_sigma_vx * min(sp_c):
        return None
    cav_c = morph.block_mean(cav, f) >= 0.5 if max(f) > 1 else cav
    bands = shells.depth_bands(cav_c, sp_c, band_mm=band_mm, max_depth_mm=params.csf_shell_depth_mm)
    return shells.smooth_in_shells(num0, den0, bands, sigma_mm=s_mm, spacing_mm=sp_c)


def _near_wall(
    bright: np.ndarray, cav: np.ndarray, spacing: morph.Spacing, reach_mm: float
) -> np.ndarray:
    """``bright`` voxels within ``reach_mm`` of the cavity wall.

    Partial volume needs bone or blood within the PSF's reach; brighter voxels deeper
    in are streaks (the bright lines radiating from metal) crossing the brain, not CSF.

    On grids whose voxels are at least half the reach along every axis (1.25 mm for
    2.5 mm) the test is exact and cheap: a voxel is near when its centre lies at most
    ``reach_mm`` below the wall, taken half a voxel beyond the nearest centre outside
    the cavity (depth ``distance - min(spacing) / 2``, the wall's expected position
    between the two centres), or when it has a face neighbour outside the cavity (the
    first layer always holds the wall's partial volume, also across a thick slice).
    There the 0.5-voxel light smoothing carries the first layer's brightness a whole
    voxel (2.4-3.2 mm) deeper, beyond any bone spill: the per-axis window below (two
    voxels) let those voxels be CSF, on the independent phantom 3.4 k of 3.5 k brain
    voxels of the second layer at 2.4 mm, seed 1 (docs/segmentation.md "Bright
    reach").

    On finer grids the test runs on blocks of half the reach (a 0.5 mm CT: 3 voxels),
    dilated by the reach in blocks, so it keeps every voxel within the reach and some
    up to ~1.7 times it (the light smoothing carries brightness less than a
    millimetre there). Blocks are only expanded to voxels where a bright voxel lies
    beyond the reach (none on a CT without streaks: 0.1 s on the 512x512x400 CT's cavity
    box, against 0.6-0.7 s for the exact full-grid maximum filter and 1.4 s for a
    distance transform).
    """
    h = [max(1, int(np.ceil(reach_mm / s))) for s in spacing]
    b = (max(1, (h[0] + 1) // 2), max(1, (h[1] + 1) // 2), max(1, (h[2] + 1) // 2))
    if b == (1, 1, 1):
        depth = morph.distance_mm(cav, spacing)
        near = depth <= reach_mm + 0.5 * min(spacing)
        near |= cav & ~ndi.binary_erosion(cav, border_value=0)
        near &= bright
        return near
    r = [int(np.ceil(k / f)) for k, f in zip(h, b, strict=True)]
    wall = morph.block_any(~cav, b)
    wall = filters.maximum_filter(wall.view(np.uint8), [2 * k + 1 for k in r], mode="nearest")
    far = (wall == 0) & morph.block_any(bright, b)  # blocks whose bright voxels go
    if not far.any():
        return bright
    box = morph._bounding_box(far, [0, 0, 0])
    assert box is not None
    fine = tuple(
        slice(sl.start * f, min(sl.stop * f, n))
        for sl, f, n in zip(box, b, bright.shape, strict=True)
    )
    out = bright.copy()
    sub = out[fine]
    sub &= ~morph.upsample(far[box], b, sub.shape)
    return out


def _resolved_csf(
    bright: np.ndarray,
    dark_c: np.ndarray,
    cav: np.ndarray,
    f: tuple[int, int, int],
    spacing: morph.Spacing,
    sigma_mm: float,
    params: SegmentParams,
) -> np.ndarray:
    """Coarse mask of the CSF pieces to keep (on the blocks ``f`` of the dark test).

    The CSF candidates (bright or dark blocks) are split into face-connected (6-) pieces:
    noise candidates scattered at density p join into pieces that span the cavity, and
    so reach its wall, once p passes the site-percolation threshold of the lattice,
    0.097 with 26 neighbours but 0.31 with 6 (simple cubic lattice). Before the mixture
    separation bound, false dark voxels deep in a 3.55 mm phantom at 30 HU had p = 0.195:
    99 % of them lay in 26-connected pieces touching the wall, 31 % in 6-connected ones.
    Measured against 26 on cached cavities (issue 4): CSF +0.002..+0.004 on 21 of 67
    rows, -0.002 at worst (independent phantom 3.2 mm / 30 HU; Colin27 -0.001). A
    piece is kept when it touches a block that holds a non-cavity voxel (bone, vessel,
    outside: where CSF lines the wall and partial volume makes it bright), or when its
    dark blocks fill at least ``params.csf_min_noise_volumes`` noise volumes. The noise
    volume ``(4 pi)^(3/2) sigma^3`` is the volume whose plain mean has the variance of
    one value of the Gaussian smoothing of sigma ``sigma_mm`` (mm): a smaller dark
    piece rests on about one independent noise sample, so its darkness is not
    resolved from noise. Bright-only pieces away from the wall are the 3-sigma noise
    tail of the bright test (partial volume needs bone or blood beside it).
    """
    bright_c = morph.block_any(bright, f)
    near_c = _dilate_cube1(morph.block_mean(cav, f) < 1.0)  # blocks at the cavity wall
    cand = bright_c | dark_c
    lab, n = morph.label_components(cand, 6)
    n_dark = np.bincount(lab[dark_c], minlength=int(n) + 1)
    n_near = np.bincount(lab[cand & near_c], minlength=int(n) + 1)
    block_mm3 = float(np.prod([k * s for k, s in zip(f, spacing, strict=True)]))
    noise_mm3 = (4 * np.pi) ** 1.5 * sigma_mm**3
    keep = (n_near > 0) | (n_dark * block_mm3 >= params.csf_min_noise_volumes * noise_mm3)
    keep[0] = False
    logger.debug(
        "brain/CSF: %d of %d CSF pieces dropped as noise specks", int(n - keep.sum()), int(n)
    )
    out: np.ndarray = keep[lab]
    return out


def _dilate_cube1(mask: np.ndarray) -> np.ndarray:
    """Dilation by the 3x3x3 cube (26 neighbours), as three one-voxel OR shifts.

    The cube is separable: one pass per axis (ORing the array shifted by one voxel
    both ways) equals ``ndi.binary_dilation`` with ``np.ones((3, 3, 3))`` at a quarter of
    its cost on a 4.5 M-voxel block grid.
    """
    out = mask.copy()
    for ax in range(out.ndim):
        lo = [slice(None)] * out.ndim
        hi = [slice(None)] * out.ndim
        lo[ax], hi[ax] = slice(None, -1), slice(1, None)
        prev = out.copy()
        out[tuple(hi)] |= prev[tuple(lo)]
        out[tuple(lo)] |= prev[tuple(hi)]
    return out


def _block_mean_f32(a: np.ndarray, f: tuple[int, int, int]) -> np.ndarray:
    """Mean (float32) of ``f[0] x f[1] x f[2]`` blocks; a partial block at the far end of
    an axis is completed by repeating the last slice. ``a`` itself when ``f`` is 1.

    Summed one axis at a time as strided slices (a multi-axis reduction over a 6-D
    block view was 4x slower on a 136 M-voxel box).
    """
    out = a
    for ax, k in enumerate(f):
        if k == 1:
            continue
        n = out.shape[ax]
        c = -(-n // k)
        acc = _stride(out, ax, 0, k).astype(np.float32, copy=True)  # c slices: j=0 < n
        for j in range(1, k):
            if (c - 1) * k + j >= n:  # the last block is partial: repeat the last slice
                sl = np.take(out, np.minimum(np.arange(j, c * k, k), n - 1), axis=ax)
            else:
                sl = _stride(out, ax, j, k)
            np.add(acc, sl, out=acc)
        out = acc
    if out is a:
        return a
    out /= np.float32(f[0] * f[1] * f[2])
    return out


def _stride(a: np.ndarray, ax: int, start: int, step: int) -> np.ndarray:
    sl = [slice(None)] * 3
    sl[ax] = slice(start, None, step)
    return a[tuple(sl)]


def _tissue_sigma_mm(noise_hu: float, spacing: morph.Spacing, params: SegmentParams) -> float:
    """Isotropic smoothing (mm) that brings voxel noise down to ``params.tissue_noise_hu``.

    White noise smoothed by a Gaussian of sigma ``s_i`` voxels keeps a standard deviation
    ``noise / sqrt((4 pi)^(3/2) s_x s_y s_z)``; solving for an isotropic sigma in mm gives
    ``(V (noise/target)^2 / (4 pi)^(3/2))^(1/3)`` with ``V`` the voxel volume in mm^3.
    """
    v = float(np.prod(spacing))
    ratio2 = (max(noise_hu, 1e-3) / params.tissue_noise_hu) ** 2
    s = (v * ratio2 / (4 * np.pi) ** 1.5) ** (1 / 3)
    return float(np.clip(s, *params.tissue_sigma_bounds_mm))


def _cavity_histogram(
    img: np.ndarray, mask: np.ndarray, soft: float, params: SegmentParams
) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """0.5 HU histogram of the cavity values near soft tissue; None when too few values.

    Returns ``(centres, counts, brain0, init_sigma)``: bin centres (HU), counts, the brain
    peak (HU) and the starting sigma of EM (HU), from (at most ``gmm_max_samples``)
    seeded samples.
    """
    rng = np.random.default_rng(params.seed)
    # a regular subgrid of at most ~8 x gmm_max_samples cavity voxels (indexing all
    # 40 M voxels of a 0.5 mm cavity costs seconds), then a seeded sample of it
    n = int(np.count_nonzero(mask))
    step = max(1, int(np.floor((n / (8.0 * params.gmm_max_samples)) ** (1 / 3))))
    sub = (slice(None, None, step),) * 3
    vals = img[sub][mask[sub]]
    vals = vals[(vals > soft - 120) & (vals < soft + params.contrast_offset_hu)]
    if vals.size < 100:
        return None
    x = sample_values(vals, params.gmm_max_samples, rng)
    brain0 = histogram_peak(x, soft - 60, soft + 60) or soft
    counts, edges = np.histogram(x, bins=int(np.ceil((x.max() - x.min()) / 0.5)) + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    return centres, counts, float(brain0), max(4.0, float(np.std(x)) / 4)


def _fit_histogram(
    hist: tuple[np.ndarray, np.ndarray, float, float],
    offsets_hu: tuple[float, ...],
    min_sigma: float,
) -> Mixture1D | None:
    """EM fit on a :func:`_cavity_histogram`, components starting at the brain peak plus
    ``offsets_hu``; None when EM has too few samples."""
    centres, counts, brain0, init_sigma = hist
    try:
        return fit_gmm_1d(
            centres,
            tuple(brain0 + o for o in offsets_hu),
            init_sigma=init_sigma,
            weights=counts,
            min_sigma=min_sigma,
        )
    except ValueError:
        return None


def _fit_cavity_mixture(
    img: np.ndarray,
    mask: np.ndarray,
    soft: float,
    offsets_hu: tuple[float, ...],
    min_sigma: float,
    params: SegmentParams,
) -> tuple[Mixture1D, float] | None:
    """EM fit on the cavity values near soft tissue; None when too few values.

    The components start at the brain peak plus ``offsets_hu``; the fit runs on a 0.5 HU
    histogram of (at most ``gmm_max_samples``) seeded samples.
    """
    hist = _cavity_histogram(img, mask, soft, params)
    if hist is None:
        return None
    mix = _fit_histogram(hist, offsets_hu, min_sigma)
    return None if mix is None else (mix, hist[2])


def _bright_threshold(
    light: np.ndarray, cav: np.ndarray, soft: float, params: SegmentParams
) -> float:
    """Lower edge (HU) of the cavity voxels mixed with bone or blood.

    Three classes are fitted on the lightly smoothed cavity values (CSF, brain, bright
    partial volume) so that the brain class (the heaviest) is measured without the
    tails of the others; the edge lies ``bright_k_sigma`` brain sigmas above the brain
    mean. A voxel brighter than brain can be by its own spread (grey/white texture plus
    noise) holds bone or blood. The Bayes crossing with the bright class was measured
    too: the same or lower CSF Dice everywhere (0.59 vs 0.70 on a 3.1 mm grid at noise
    30 HU), since that class is a wide, non-Gaussian partial-volume tail.

    The edge is never below the midpoint of the brain and bright means (nearest class
    mean): at low noise the brain class is narrow, and brain lifted by the blur of the
    bone beyond a CSF layer (a spatial lift that the brain class does not model) would
    otherwise be taken as CSF. On the size-128 phantoms at noise 10 HU this raised CSF
    Dice by 0.006-0.015 (brain by up to 0.003); at noise 30 HU, on the analytic twins
    and on real anatomy the sigma edge is the higher one and nothing changes.
    """
    fitted = _fit_cavity_mixture(light, cav, soft, (-25.0, 0.0, 50.0), 1e-3, params)
    if fitted is None:
        return soft + 40.0
    mix, _ = fitted
    ib = int(np.argmax(mix.weights))
    edge = mix.means[ib] + params.bright_k_sigma * mix.sigmas[ib]
    if ib + 1 < len(mix.means):
        edge = max(edge, 0.5 * (mix.means[ib] + mix.means[ib + 1]))
    return float(edge)


def _csf_threshold(
    ts: np.ndarray,
    rest: np.ndarray,
    soft: float,
    noise_ts: float,
    params: SegmentParams,
    warnings: list[str],
) -> float:
    """Brain/CSF boundary (HU) on the smoothed image of the non-bright cavity: the first
    edge of :func:`_csf_edges`."""
    return _csf_edges(ts, rest, soft, noise_ts, params, warnings)[0]


def _csf_edges(
    ts: np.ndarray,
    rest: np.ndarray,
    soft: float,
    noise_ts: float,
    params: SegmentParams,
    warnings: list[str],
) -> tuple[float, float, float]:
    """Brain/CSF boundary (HU) on the smoothed image of the non-bright cavity, the
    edge up to which CSF grows from the voxels under it, and the mean of the brain class
    that edge is the midpoint to (nan when it does not grow).

    Two classes (CSF, brain) are fitted by EM; no class may be narrower than the noise
    left after smoothing (``noise_ts``, HU). The boundary is their Bayes boundary. A fit
    whose means are closer than ``csf_brain_min_sep_noise`` noise sigmas has no CSF mode
    (it split the brain); then only the brain class's far tail is CSF.

    Brain is two tissues, grey and white matter (CT: grey 35-40 HU, white 25-30, infant
    unmyelinated white lower still). Where the smoothed noise is below their contrast
    (fine grids) the two-class fit puts its lower class on white matter and its boundary
    inside it; so a three-class fit is made too (:func:`_two_tissue_boundary`), and when
    it resolves brain into two tissues its CSF/brain cut bounds the boundary from above.
    It also replaces the two-class result when the two-class fit's heaviest class is its
    lower one (white matter and CSF merged: the fallback would sit 2.5 sigmas below a
    class that is not brain), but not when that fit is unresolved because its means are
    close (noisy grids): there the fallback measured better (1.56 mm at noise 30 HU:
    CSF 0.71-0.76 vs 0.67-0.72 with the three-class cut, issue 4). When the three-class
    fit rejected its lowest class as an artefact darker than water (sharp-kernel
    undershoot, beam hardening, fat; :func:`_below_water`), its cut replaces the
    two-class boundary in every case: the two-class CSF class holds the artefact.

    The growth edge: a Bayes boundary weighs CSF by its share of the whole cavity, which
    is not its share beside CSF (a wide extra-axial layer, a ventricle); there a voxel
    nearer the CSF mean than the brain's is CSF. So CSF grows from the voxels under the
    boundary through the voxels under the midpoint of the two class means (nearest
    class mean), never above a three-class cut (the midpoint to the lower brain tissue);
    a midpoint boundary, or a boundary that is not a resolved crossing, does not grow.
    Infant blind phantom (4 months, 0.9 x 0.9 x 1.5 mm, 15 HU, 6 mm of extra-axial CSF
    widening; CSF 5, unmyelinated white 20 HU): Bayes cut 6.3 HU, growth to 11.6 HU.
    """
    hist = _cavity_histogram(ts, rest, soft, params)
    nan = float("nan")
    if hist is None:
        return soft - 15.0, soft - 15.0, nan
    min_sigma = max(noise_ts, 1e-3)
    mix = _fit_histogram(hist, (-25.0, 0.0), min_sigma)
    if mix is None:
        return soft - 15.0, soft - 15.0, nan
    t2, resolved = _two_class_boundary(mix, noise_ts, params)
    three = _two_tissue_boundary(hist, mix, noise_ts, params)
    t3, artefact = three.cut_hu, three.artefact
    merged = int(np.argmax(mix.weights)) == 0  # no brain class above the lower one
    # an artefact class rejected by the three-class fit sits in the two-class fit's
    # CSF class, which widened it and moved its boundary: the three-class cut stands
    if t3 is not None and (t3 < t2 or merged or artefact):
        logger.debug("brain/CSF: three-class cut %.1f HU (two-class %.1f HU)", t3, t2)
        if three.grow_hu is None or three.brain_hu is None or three.grow_hu <= t3:
            return t3, t3, nan
        return t3, three.grow_hu, three.brain_hu
    if not resolved:
        warnings.append("brain and CSF could not be told apart by intensity; CSF is approximate")
        return t2, t2, nan
    grow = _crossing_midpoint(mix, t2, noise_ts)
    if t3 is not None:
        grow = min(grow, t3)
    if grow <= t2:
        return t2, t2, nan
    return t2, grow, float(mix.means[int(np.argmax(mix.weights))])


def _crossing_midpoint(mix: Mixture1D, t_hu: float, noise_ts: float) -> float:
    """Midpoint of the CSF level and the mean of the heaviest class of ``mix`` when
    ``t_hu`` is a crossing between it and the class below; ``t_hu`` otherwise (the
    far-tail rules), and never below ``t_hu``.

    The CSF level is the lower class's mean less the part of its sigma beyond the
    smoothed noise ``noise_ts`` (HU): a class of pure CSF is as wide as the noise, while
    one that holds thin layers and sulci blurred with brain is wider and its mean lies
    above the CSF's own level (partial volume only lifts it; analytic twins at 1 mm:
    class 23.1 +- 7.9 HU at noise 4.0 for CSF of 8 HU, level taken 16.3 HU). The midpoint
    to the class mean put the edge a voxel into the brain beside every thin layer.
    """
    ib = int(np.argmax(mix.weights))
    if ib == 0 or not (mix.means[ib - 1] < t_hu < mix.means[ib]):
        return t_hu
    # a CSF class wider than the noise holds partial volume with brain, which lifts its
    # mean above the CSF's own level: that level is taken one excess sigma lower
    excess = float(np.sqrt(max(mix.sigmas[ib - 1] ** 2 - noise_ts**2, 0.0)))
    return max(t_hu, float(0.5 * (mix.means[ib - 1] - excess + mix.means[ib])))


def _two_class_boundary(
    mix: Mixture1D, noise_ts: float, params: SegmentParams
) -> tuple[float, bool]:
    """Boundary (HU) of a CSF/brain two-class fit, and whether CSF was resolved.

    Unresolved (means closer than the separation bound, or no class below the heaviest):
    2.5 brain sigmas below the brain mean.
    """
    ib = int(np.argmax(mix.weights))
    sep = mix.means[ib] - mix.means[ib - 1] if ib > 0 else 0.0
    unresolved = sep < max(params.csf_brain_min_sep_hu, params.csf_brain_min_sep_noise * noise_ts)
    if ib == 0 or unresolved or mix.weights[ib - 1] < 0.005:
        return mix.means[ib] - 2.5 * mix.sigmas[ib], False
    # A wide CSF class (CSF mixed with brain) wins only below its lower crossing with
    # brain, which may lie under its own mean; when it never wins, only its far tail
    # (3 sigma below its mean) is taken.
    below = [x for x in mix.crossings(ib - 1, ib) if x <= mix.means[ib]]
    if not below:
        return mix.means[ib - 1] - 3.0 * mix.sigmas[ib - 1], True
    return max(below), True


class _ThreeClassCut(NamedTuple):
    """Result of :func:`_two_tissue_boundary`."""

    cut_hu: float | None
    """CSF/brain cut (HU), or None when the three-class fit does not give one."""
    artefact: bool
    """Whether the fit's lowest class was rejected as an artefact (:func:`_below_water`):
    the two-class fit then holds it in its CSF class and its boundary is not used when
    the three-class fit gives a cut."""
    grow_hu: float | None = None
    """Edge up to which CSF grows from the voxels under the cut (:func:`_csf_edges`):
    the CSF/brain midpoint when the cut is a Bayes crossing; None = the cut."""
    brain_hu: float | None = None
    """Mean of the brain class above ``grow_hu`` (HU); None with it."""


def _below_water(mix: Mixture1D, noise_ts: float, params: SegmentParams) -> bool:
    """Whether the lowest class of ``mix`` reaches deeper below the heaviest (brain)
    class than CSF can: an artefact class, not CSF.

    CSF is water (0-15 HU on a calibrated CT) plus partial volume with brain, which
    only lifts it; so a CSF class's mean minus one sigma lies at most about one noise
    sigma below water, and water lies at most ``params.csf_max_contrast_hu`` below the
    brain class. A class whose mean minus sigma lies deeper than that bound plus
    ``params.csf_artefact_noise_k`` smoothed-noise sigmas (``noise_ts``, HU) is a
    spread of values darker than water: the undershoot of a sharp kernel beside the
    inner table, beam-hardening darkness, fat or air partial volume at the skull base.
    Measured on the real head CT: lowest class -20.4 HU, sigma 25.9 HU, brain 24.0 HU
    (70 HU against the bound of 48 HU); on every benchmark row with truth at most 38 HU
    against a bound of 51 HU (``SegmentParams.csf_max_contrast_hu``).
    """
    h = int(np.argmax(mix.weights))
    if h == 0:
        return False
    water_min = mix.means[h] - params.csf_max_contrast_hu - params.csf_artefact_noise_k * noise_ts
    return bool(mix.means[0] - mix.sigmas[0] < water_min)


def _single_tissue_k(params: SegmentParams) -> float:
    """Largest sigma of a one-tissue class, in smoothed-noise sigmas: two tissues of
    equal weight resolved by the bimodality bound (means ``csf_brain_min_sep_noise``
    noise sigmas apart) widen a class to ``sqrt(1 + (min_sep_noise / 2)^2)`` of them."""
    return float(np.sqrt(1.0 + (params.csf_brain_min_sep_noise / 2.0) ** 2))


def _drop_lowest(mix: Mixture1D) -> Mixture1D:
    """``mix`` without its lowest class, the other weights renormalised."""
    rest = 1.0 - mix.weights[0]
    return Mixture1D(
        means=mix.means[1:],
        sigmas=mix.sigmas[1:],
        weights=tuple(w / rest for w in mix.weights[1:]),
        log_likelihood=mix.log_likelihood,
        iterations=mix.iterations,
    )


def _two_tissue_boundary(
    hist: tuple[np.ndarray, np.ndarray, float, float],
    mix2: Mixture1D,
    noise_ts: float,
    params: SegmentParams,
) -> _ThreeClassCut:
    """CSF/brain cut (HU) from a three-class fit in which brain may be two tissues.

    Three classes are fitted (started 25 and 8 HU below the brain peak and at it; a
    second start at 25 HU below, the peak and 8 HU above gave the same cut on all 120
    rows of issue 4 and cost another 50 ms) and used only when the Bayesian information
    criterion prefers them to the two-class fit ``mix2`` by more than
    ``params.csf_three_class_min_bic``. The brain group is the heaviest class, joined by
    the class below it when that class's mean is nearer to the heaviest class's mean than
    to the mean of the class below it (grey-white contrast is smaller than the
    brain-CSF contrast: white matter sits with grey, a fluid class with CSF), or when the
    heaviest class is one tissue (its sigma within sqrt(1 + (min_sep_noise / 2)^2) of
    the noise): then brain's other tissue, which a real brain always has, is the class
    below it. The second test is needed for infants: unmyelinated white matter (20-25 HU)
    is nearer to a CSF class lifted by partial volume (mean 13-16 HU, sigma 6-8) than to
    grey matter (35 HU); without it vertical-II with white matter at 22 HU gave brain
    0.74-0.79 and CSF 0.38-0.45 at every size (96-256, noise 10 HU; 0.95-0.98 and
    0.67-0.83 with it), and the same happens to the two-class fit alone. The next class
    down is CSF; it must lie at least the separation bound below the group
    (``csf_brain_min_sep_hu``, ``csf_brain_min_sep_noise`` noise sigmas). When it does
    not and brain is two resolved tissues (grey-white means that far apart), only the
    lower tissue's far tail (2.5 sigmas, as in the two-class rule) is CSF, provided that
    class is no wider than one tissue (``_single_tissue_k`` times the noise or the
    heaviest class's sigma): a wider one is CSF's partial volume split off by EM; else
    None.
    The cut is the midpoint of the two class means (nearest class mean): the Bayes
    crossing weighs CSF by its share of the whole cavity (1-5 % on fine phantoms), which
    is not the local share in a sulcus, and put the cut 4-5 HU low (CSF Dice -0.02 to
    -0.03 at 1.2-1.6 mm, issue 4).

    The lowest class is not always CSF: when it reaches deeper below brain than water
    can (:func:`_below_water`) it is an artefact, and the class above it is CSF, cut
    from brain by the two-class rule (:func:`_two_class_boundary`) on those two classes:
    the two-class fit itself put the artefact into its CSF class (real head CT:
    two-class cut 10.8 HU, this one 11.8 HU). Before, the real head CT (InVesalius
    Cranium, 0.96 mm, noise 8 HU; fit -20.4 / 8.2 / 24.0 HU, sigmas 25.9 / 10.9 / 5.9,
    weights 0.009 / 0.181 / 0.81) was cut at -6.1 HU: its ventricles and sulci were
    brain; Colin27 with a sharp kernel likewise (CSF 0.505 / 0.514 -> 0.617 / 0.619).
    The midpoint (16.1 HU) was measured too: 45 mL of CSF specks inside parenchyma
    against 10 mL (that brain class is textured, sigma 5.9 HU against noise 4 HU).
    The class above the artefact may instead be brain's other tissue: when the heaviest
    class is one tissue and it lies within ``csf_grey_white_max_hu`` of it. Then four
    classes are fitted (the artefact below three others); when BIC prefers them by the
    same bound and their lowest is again an artefact, the three-class reading is kept
    (artefact with CSF), else CSF is not resolved (None: the two-class boundary). Taking
    that white matter for CSF cut an undershoot over white and grey matter at 28-30 HU
    (mixture test); and on the size-256 sharp-kernel and all-stressor phantoms (white
    matter 8-11 HU under a one-tissue grey class) the CSF/white cut of the four classes
    lost 0.009-0.042 CSF and up to 0.013 brain, since the undershoot also darkens the
    brain 3-6 mm under a thin CSF layer (the voxels between the classes were 95 % brain)
    while that CSF layer itself lies in the undershoot. The fused real-CT case (two
    copies of the real CT at 1 mm) resolves four classes too, but its heaviest class is
    two tissues (sigma 4.9 HU against a one-tissue bound of 3.8 HU), so its 8.6 HU class
    is CSF.

    Returns
    -------
    _ThreeClassCut
        The cut (HU; None when brain is not resolved into two tissues or CSF not
        resolved from the artefact) and whether an artefact class was rejected.
    """
    min_sigma = max(noise_ts, 1e-3)
    if not np.isfinite(params.csf_three_class_min_bic):
        return _ThreeClassCut(None, False)
    mix3 = _fit_histogram(hist, (-25.0, -8.0, 0.0), min_sigma)
    if mix3 is None:
        return _ThreeClassCut(None, False)
    n = float(hist[1].sum())
    # BIC difference (2 - 3 classes): 2 n (ll3 - ll2) - (8 - 5) ln n, ll per sample
    dbic = 2.0 * n * (mix3.log_likelihood - mix2.log_likelihood) - 3.0 * np.log(n)
    if _below_water(mix3, noise_ts, params):
        # the class above the artefact is CSF unless it may be brain's other tissue:
        # the heaviest class is one tissue and it lies within a grey-white contrast
        mu, sd = mix3.means, mix3.sigmas
        single = sd[2] <= _single_tissue_k(params) * min_sigma
        white = single and mu[2] - mu[1] <= params.csf_grey_white_max_hu
        logger.debug(
            "brain/CSF three-class fit: lowest class %.1f +- %.1f HU lies deeper below "
            "brain (%.1f HU) than water can: an artefact; the class above it (%.1f HU) %s",
            mu[0],
            sd[0],
            mu[int(np.argmax(mix3.weights))],
            mu[1],
            "may be white matter" if white else "is CSF",
        )
        if not white:
            above = _drop_lowest(mix3)
            cut, resolved = _two_class_boundary(above, noise_ts, params)
            if resolved:
                return _ThreeClassCut(
                    cut,
                    True,
                    _crossing_midpoint(above, cut, noise_ts),
                    float(above.means[int(np.argmax(above.weights))]),
                )
            # the two classes above the artefact may be CSF and white matter with grey
            # matter pooled into the heavier (an infant brain: unmyelinated white
            # 15-25 HU within 10-15 HU of CSF): four classes, the artefact below CSF,
            # white and grey matter (:func:`_cut_above_artefact`)
            return _ThreeClassCut(_cut_above_artefact(hist, mix3, noise_ts, params), True)
        # white matter above the artefact: CSF, if resolved at all, lies between them
        # (four classes, BIC) and the three-class reading is kept; else CSF is not
        # resolved and the two-class boundary stands
        mix4 = _fit_histogram(hist, (-50.0, -25.0, -8.0, 0.0), min_sigma)
        # BIC difference (3 - 4 classes): 2 n (ll4 - ll3) - (11 - 8) ln n
        if (
            mix4 is None
            or 2.0 * n * (mix4.log_likelihood - mix3.log_likelihood) - 3.0 * np.log(n)
            <= params.csf_three_class_min_bic
            or not _below_water(mix4, noise_ts, params)
        ):
            return _ThreeClassCut(None, True)
    mu, sd, wt = mix3.means, mix3.sigmas, mix3.weights
    h = int(np.argmax(wt))
    # the heaviest class is one tissue when its spread is the noise's: two tissues of
    # equal weight resolved by the bimodality bound (means >= min_sep_noise noise sigmas
    # apart) would widen it to at least sqrt(1 + (min_sep_noise / 2)^2) noise sigmas
    single = sd[2] <= _single_tissue_k(params) * min_sigma
    lo = h - 1 if h == 2 and ((mu[2] - mu[1]) < (mu[1] - mu[0]) or single) else h
    logger.debug(
        "brain/CSF three-class fit: means %s HU, sigmas %s, weights %s, dBIC %.0f",
        np.round(mu, 1),
        np.round(sd, 1),
        np.round(wt, 3),
        dbic,
    )
    if dbic <= params.csf_three_class_min_bic or lo < 1:
        return _ThreeClassCut(None, False)
    min_sep = max(params.csf_brain_min_sep_hu, params.csf_brain_min_sep_noise * noise_ts)
    if mu[lo] - mu[lo - 1] < min_sep:
        # CSF not resolved from the lower brain tissue: only that tissue's far tail, as
        # in the two-class rule, and only when brain is two resolved tissues and that
        # lower class is a tissue: no wider than one (the noise or, when wider, the
        # heaviest class's own spread). A wider one is partial volume with CSF that EM
        # split off the CSF class (a scale mixture: the probe infant's 18.3 +- 9.4 and
        # 19.2 +- 6.7 HU at noise 4.0); its 2.5-sigma tail cut the CSF class at 2.5 HU
        # and the two-class boundary (19.1 HU) stands instead (:func:`_csf_edges`)
        tissue = sd[1] <= _single_tissue_k(params) * max(min_sigma, float(sd[2]))
        two_tissues = (
            lo == 1 and tissue and mu[2] - mu[1] >= params.csf_brain_min_sep_noise * noise_ts
        )
        return _ThreeClassCut(mu[lo] - 2.5 * sd[lo] if two_tissues else None, False)
    return _ThreeClassCut(0.5 * (mu[lo - 1] + mu[lo]), False)


def _cut_above_artefact(
    hist: tuple[np.ndarray, np.ndarray, float, float],
    mix3: Mixture1D,
    noise_ts: float,
    params: SegmentParams,
) -> float | None:
    """CSF/brain cut (HU) of a four-class fit: an artefact class, CSF, white and grey
    matter; None unless it is that.

    Used when the three-class fit's lowest class is an artefact and the two classes
    above it are not resolved: CSF and white matter in one class, or white and grey
    matter in the heavier. The four classes stand when BIC prefers them to ``mix3`` by
    ``params.csf_three_class_min_bic``, their lowest is again an artefact
    (:func:`_below_water`) and the three above it read as CSF, white and grey matter:
    CSF at least the separation bound below white matter (``csf_brain_min_sep_hu``,
    ``csf_brain_min_sep_noise`` noise sigmas) and white within ``csf_grey_white_max_hu``
    of grey. The cut is the midpoint of the CSF and white means (nearest class mean,
    as in :func:`_two_tissue_boundary`).
    """
    min_sigma = max(noise_ts, 1e-3)
    mix4 = _fit_histogram(hist, (-50.0, -25.0, -8.0, 0.0), min_sigma)
    if mix4 is None:
        return None
    n = float(hist[1].sum())
    dbic = 2.0 * n * (mix4.log_likelihood - mix3.log_likelihood) - 3.0 * np.log(n)
    mu, sd, wt = mix4.means, mix4.sigmas, mix4.weights
    logger.debug(
        "brain/CSF four-class fit: means %s HU, sigmas %s, weights %s, dBIC %.0f",
        np.round(mu, 1),
        np.round(sd, 1),
        np.round(wt, 3),
        dbic,
    )
    if dbic <= params.csf_three_class_min_bic or not _below_water(mix4, noise_ts, params):
        return None
    min_sep = max(params.csf_brain_min_sep_hu, params.csf_brain_min_sep_noise * noise_ts)
    if mu[2] - mu[1] < min_sep or mu[3] - mu[2] > params.csf_grey_white_max_hu:
        return None
    return float(0.5 * (mu[1] + mu[2]))
