"""The level shift of metal streaks in the slices that hold metal, against the clean ones.

A metal streak shifts whole bands of a slice by tens of HU (a port's dark band: about
-30 HU at 70 mm in the clinical blind phantom, FBP streaks as lines); the brain in a
dark band reads as CSF. A streak is two-dimensional: it lies in the slices of the
metal only, and along lines through the metal. Anatomy is neither: the brain's level
at an in-plane position changes slowly from slice to slice and is not arranged on
lines through a port. So the shift is measured in two steps (``streak_shift``):

1. **Against the clean slices.** Each slice's local level is a normalised in-plane
   Gaussian mean (``sigma_mm``) of the cavity's tissue values; in a run of slices
   with metal the reference at each position is the level of the nearest clean slices
   below and above, interpolated linearly across the run (one side when the run ends
   the cavity). Level minus reference is the cross-slice deviation: the streak plus
   what anatomy changes across the run (a ventricle that bulges inside the run).
   A deviation the whole slice shares evenly (its 10-90 % spread smaller than its
   median) is anatomy lying in the slice, not lines through the metal: its median is
   taken out first (``_common_offset``).
2. **Along lines through the metal.** For each piece of metal in the run (each
   slice's own pieces, or the nearest slice's with metal), the deviation is binned by
   the direction of the line from the piece's centre through each position (bins a
   smoothing width apart at the cavity's far edge); a bin's median is the line's
   shift. A streak shifts most of its line; a ventricle or a sulcus is a short stretch
   of a line crossing the head and moves its median little. Pieces are taken one
   after the other on what the earlier ones left.

The shift kept is the line model where it lies beyond ``tolerance_hu``, and 0 where it
does not: a smaller deviation may be anatomy. A second pass (``exclude``, the caller's
CSF bodies and their reach, :func:`csf_body_reach`) keeps an enlarged ventricle that
bulges inside the run out of the line medians; the positions left out take the median
of their line's measured positions nearby (``GAP_WINDOW_MM``).

On the clinical blind cases with their streak-free rendering as truth (vt0-c15-all,
at120-occ-c15-all, the expander + hydrocephalus case; 6 mm level), 90 % of the positions
without a streak got -6.3..+7.2 HU and 90 % of the enlarged ventricles' positions
without a streak -13.2..+1.3 HU (the cross-slice deviation alone: -18.6..+0.9), streaked
positions (true shift below -10 HU) a median of -20.5 to -23.8 HU for a true -22 to -25
HU. Taking only the part beyond the tolerance (a soft threshold) left the bands 10-15 HU
dark: on the generated cavity of ``tests/segment/test_brain_csf_hydro.py`` 0.29 of the
bands' brain stayed CSF at 15 HU noise, 0.17 with the whole shift.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph

logger = logging.getLogger(__name__)

_TISSUE_HALF_RANGE_HU = 100.0
"""Cavity voxels within this distance of the soft-tissue peak make up the levels: brain,
CSF and the streaks over them, not the bone rim's partial volume or metal."""

_MIN_LINE_PX = 3
"""A direction bin with fewer cavity pixels has no line median (shift 0)."""

BODY_OPEN_MM = 4.5
"""A CSF body whose level stays out of the line medians (:func:`csf_body_reach`) is what
an opening by a ball of this radius (mm) keeps: wider than 9 mm (an enlarged ventricle,
a cyst), not the noise specks, the sulci or the subarachnoid layer. Measured on the
clinical blind vt0-c15-all (in-process ``classify_brain_csf``, the whole line's median,
ventricle recall 0.800 before, 0.819 without the shift): opening 3 / 4.5 / 6 mm with a
reach of 3-4.5 mm 0.810 / 0.808 / 0.805; 4.5 mm with a reach of 3 / 6 / 9 mm 0.808 /
0.812 / 0.807."""


GAP_WINDOW_MM = 50.0
"""Positions left out of a line's median (a CSF body's reach) take the median of the line's
measured positions within this distance (mm) along the line, not the whole line's: a
streak is not constant along its line (the clinical generator's port bands, by thirds of
distance from the piece: -44 / -28 / -49 HU), and a ventricle lies in the middle of the
head, where the band is weakest. With the whole line's median the left-out middle took the
ends' darkness (vt90-c15-all-1.2mm recall 0.702 -> 0.682), with this 0.708. A window over
every position (not only the gaps) took the ventricles' darkness back in (3 mm recall
0.002-0.019 under the whole line's, expander + hydrocephalus 0.860 -> 0.841)."""


def csf_body_reach(csf: np.ndarray, spacing: morph.Spacing, reach_mm: float) -> np.ndarray:
    """The CSF bodies wider than ``2 * BODY_OPEN_MM`` and what lies within ``reach_mm`` of
    them (bool, the grid of ``csf``).

    Where an enlarged ventricle bulges inside a run of metal slices, the slice's level
    there is darker than the clean slices' for the anatomy's sake, and a line through the
    metal that crosses it takes part of that for streak in its median: on the clinical
    blind vt0-c15-all / vt0-p15-all the shift overshot the true streak (the rendering
    minus its streak-free twin) by 6.3 / 5.0 HU (median) on the ventricle positions it
    moved; the line model of the anatomy alone gave -3.2 / -2.8 HU there, that of the
    streak alone +0.3 / +0.6. The reach is the level's smoothing: the level of a position
    that far from the body no longer sees its CSF.
    """
    bodies = morph.open_mm(csf, BODY_OPEN_MM, spacing)
    if not bodies.any():
        return bodies
    out: np.ndarray = morph.dilate_mm(bodies, reach_mm, spacing)
    return out


def streak_shift(
    img: np.ndarray,
    cav: np.ndarray,
    metal: np.ndarray,
    metal_slices: np.ndarray,
    *,
    spacing: morph.Spacing,
    soft_hu: float,
    sigma_mm: float,
    tolerance_hu: float,
    exclude: np.ndarray | None = None,
) -> np.ndarray | None:
    """Streak shift (HU) of each cavity voxel in the slices with metal.

    Parameters
    ----------
    img : ndarray, shape (I, J, K)
        CT values (HU); not modified.
    cav : ndarray of bool, shape (I, J, K)
        Cranial cavity (the voxels to label).
    metal : ndarray of bool, shape (I, J, K)
        Metal voxels (the pieces whose lines the streaks follow).
    metal_slices : ndarray of bool, shape (K,)
        Slices across the third (acquisition) axis that hold metal or its streaks.
    spacing : tuple of 3 float
        Voxel size (mm).
    soft_hu : float
        Soft-tissue peak (HU).
    sigma_mm : float
        In-plane Gaussian sigma (mm) of the local level.
    tolerance_hu : float
        Deviation (HU) that anatomy may make; the shift is what lies beyond it.
    exclude : ndarray of bool, optional
        Voxels kept out of the levels the line medians are estimated from (the CSF
        bodies and their reach, :func:`csf_body_reach`); the shift is still given
        wherever the level of all the cavity's tissue is defined. None: every voxel.

    Returns
    -------
    ndarray of float32 or None
        The shift (HU) to subtract, 0 outside the slices with metal and where no clean
        slice gives a reference; None when it is 0 everywhere.
    """
    ms = np.asarray(metal_slices, bool)
    n_k = img.shape[2]
    if ms.shape != (n_k,) or not ms.any() or ms.all():
        return None
    level, ok = _levels(img, cav, spacing, soft_hu, sigma_mm)
    if exclude is None:
        level_e, ok_e = level, ok
    else:
        level_e, ok_e = _levels(img, cav & ~exclude, spacing, soft_hu, sigma_mm)
    has_metal = np.count_nonzero(metal, axis=(0, 1)) > 0
    out = np.zeros(img.shape, np.float32)
    for a, b in _runs(ms):
        ref, ref_ok = _references(level_e, ok_e, a, b)
        apply_ok = ref_ok if exclude is None else _references(level, ok, a, b)[1]
        src = np.flatnonzero(has_metal[a : b + 1]) + a
        for k in range(a, b + 1):
            good = ok_e[:, :, k] & ref_ok[k - a] & cav[:, :, k]
            apply = good | (ok[:, :, k] & apply_ok[k - a] & cav[:, :, k])
            if src.size == 0 or not good.any():
                continue
            dev = np.where(good, level_e[:, :, k] - ref[k - a], 0.0).astype(np.float32)
            dev[good] -= _common_offset(dev[good])
            near = int(src[np.argmin(np.abs(src - k))])
            model = _line_model(dev, good, apply, metal[:, :, near], spacing[:2], sigma_mm)
            shift = np.where(np.abs(model) > tolerance_hu, model, 0.0)
            out[:, :, k] = np.where(cav[:, :, k], shift, 0.0)
    if not out.any():
        return None
    logger.debug(
        "streak shift: %d slices, %.1f mL shifted by more than 5 HU (median %.1f HU)",
        int(np.count_nonzero(out.any(axis=(0, 1)))),
        float(np.count_nonzero(np.abs(out) > 5.0)) * float(np.prod(spacing)) / 1000.0,
        float(np.median(out[out != 0])),
    )
    return out


def _common_offset(dev: np.ndarray) -> float:
    """The level (HU) a slice's cross-slice deviation shares everywhere: its median when
    the 10-90 % spread is smaller than the median's size (a uniform shift), else 0.

    A streak is arranged along lines through the metal, so it varies across the slice
    by more than its mean: dark bands beside lighter ones (FBP streaks alternate dark
    and bright; the clinical generator's port band darkening 83-87 % of a 1.2 mm slice
    spread its deviation over 56-59 HU for a median of -32 HU). A uniform deviation is
    anatomy lying in the slice, such as the CSF sheet between two brains that fills one
    slice of the FBP-streaked angular-frontal 128 phantom (truth 98 % CSF, deviation
    -19.4..-10.1 HU for 10-90 %, median -16.5, artefact 0), or the thin top of a cavity.
    """
    if dev.size == 0:
        return 0.0
    lo, med, hi = np.percentile(dev, [10.0, 50.0, 90.0])
    if hi - lo < abs(med):
        return float(med)
    return 0.0


def _levels(
    img: np.ndarray, cav: np.ndarray, spacing: morph.Spacing, soft_hu: float, sigma_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each slice's local level (in-plane normalised Gaussian mean of the cavity's tissue
    values, HU) and where it is defined (weight at least a fifth of the full)."""
    w = (cav & (np.abs(img - soft_hu) < _TISSUE_HALF_RANGE_HU)).astype(np.float32)
    g = (sigma_mm / spacing[0], sigma_mm / spacing[1], 0.0)
    num = ndi.gaussian_filter(np.multiply(img, w, dtype=np.float32), g, mode="constant")
    den = ndi.gaussian_filter(w, g, mode="constant")
    ok: np.ndarray = den > 0.2
    np.maximum(den, 1e-3, out=den)
    return np.divide(num, den, out=num), ok


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """First and last index of each run of True in a 1-D mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return [
        (int(a), int(b) - 1)
        for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True)
    ]


def _references(
    level: np.ndarray, ok: np.ndarray, a: int, b: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Reference level (HU) and where it is defined for slices ``a..b``: the clean slices
    ``a - 1`` and ``b + 1`` interpolated linearly (one side where the other is missing)."""
    sides = [c for c in (a - 1, b + 1) if 0 <= c < level.shape[2]]
    refs, oks = [], []
    for k in range(a, b + 1):
        num = np.zeros(level.shape[:2], np.float64)
        den = np.zeros(level.shape[:2], np.float64)
        for c in sides:
            wt = 1.0 if len(sides) == 1 else 1.0 - abs(k - c) / (b - a + 2)
            num += wt * np.where(ok[:, :, c], level[:, :, c], 0.0)
            den += wt * ok[:, :, c]
        refs.append(num / np.maximum(den, 1e-6))
        oks.append(den > 0.3)
    return refs, oks


def _line_model(
    dev: np.ndarray,
    good: np.ndarray,
    apply: np.ndarray,
    metal2d: np.ndarray,
    sp: tuple[float, float],
    sigma_mm: float,
) -> np.ndarray:
    """The part of a slice's deviation ``dev`` (HU) that is constant along lines through
    its metal pieces: per piece, the median over each direction bin of the positions
    ``good`` (where ``dev`` is measured), on what the pieces before it left; given at the
    positions ``apply`` (a superset of ``good``)."""
    lab, n = ndi.label(metal2d)
    if n == 0:
        return np.zeros(dev.shape, np.float32)
    ii, jj = np.nonzero(apply)
    x, y = ii * sp[0], jj * sp[1]
    measured = good[ii, jj]
    resid = dev[ii, jj].astype(np.float64)
    model = np.zeros(resid.shape, np.float64)
    for ci, cj in ndi.center_of_mass(metal2d, lab, range(1, n + 1)):
        dx, dy = x - ci * sp[0], y - cj * sp[1]
        far = float(np.sqrt(dx * dx + dy * dy).max())
        n_bins = max(1, int(np.ceil(np.pi * far / sigma_mm)))
        # a line through the piece: directions theta and theta + pi are the same line
        th = np.mod(np.arctan2(dy, dx), np.pi)
        b = np.minimum((th / np.pi * n_bins).astype(np.int64), n_bins - 1)
        cnt = np.bincount(b[measured], minlength=n_bins)
        ids = np.flatnonzero(cnt >= _MIN_LINE_PX)
        if ids.size == 0:
            continue
        med = np.zeros(n_bins)
        med[ids] = ndi.median(resid, labels=np.where(measured, b + 1, 0), index=ids + 1)
        m = med[b]
        if not measured.all():
            # signed distance along the line through the piece
            along = np.where(np.mod(np.arctan2(dy, dx), 2 * np.pi) < np.pi, 1.0, -1.0)
            along *= np.sqrt(dx * dx + dy * dy)
            _fill_gaps(m, resid, along, b, measured, ids)
        model += m
        resid -= m
    out = np.zeros(dev.shape, np.float32)
    out[ii, jj] = model
    return out


def _fill_gaps(
    m: np.ndarray,
    resid: np.ndarray,
    along: np.ndarray,
    b: np.ndarray,
    measured: np.ndarray,
    ids: np.ndarray,
) -> None:
    """In place: a position of line bin ``b`` left out of the line's median (not
    ``measured``) takes the median of the measured positions of its line within
    ``GAP_WINDOW_MM`` along it (``along``, mm), on a 3 mm grid, interpolated; the whole
    line's median where fewer than ``_MIN_LINE_PX`` lie that near."""
    for i in ids:
        sel = np.flatnonzero(b == i)
        gap = sel[~measured[sel]]
        if gap.size == 0:
            continue
        est = sel[measured[sel]]
        order = np.argsort(along[est])
        pos, val = along[est][order], resid[est][order]
        grid = np.arange(float(along[sel].min()), float(along[sel].max()) + 3.0, 3.0)
        lo = np.searchsorted(pos, grid - GAP_WINDOW_MM)
        hi = np.searchsorted(pos, grid + GAP_WINDOW_MM, side="right")
        whole = float(m[est[0]])
        at = np.array(
            [
                float(np.median(val[a:c])) if c - a >= _MIN_LINE_PX else whole
                for a, c in zip(lo, hi, strict=True)
            ]
        )
        m[gap] = np.interp(along[gap], grid, at)
