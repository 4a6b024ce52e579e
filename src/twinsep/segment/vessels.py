"""Contrast-filled vessels and dural sinuses: a Hessian tube test and the sinus rule.

The sinus rule (:func:`sinus_mask`) separates contrast from thin bone by position and
distance, not by shape alone: bone is what hysteresis grows from dense seeds down to
the top of the blood range, the partial-volume rim around it is never evidence, and
evidence must lie on the intracranial side without touching the outside of the skull.
Contrast is detected from the volume of that evidence.

The tube test:

A bright voxel is taken as contrast-filled blood only if the image around it is a
bright *tube or blob* at some scale: both larger Hessian eigenvalues negative and of
comparable size (Frangi et al., MICCAI 1998, ratio ``R_A``). The partial-volume rim of a
bone plate is plate-like (one large eigenvalue) or convex-outward (a positive one), so
it fails the test and stays bone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment.morph import Spacing
from twinsep.segment.params import VesselParams


def tubular_mask(
    image: np.ndarray,
    candidates: np.ndarray,
    spacing_mm: Spacing,
    sigmas_mm: tuple[float, ...],
    ratio_min: float,
) -> np.ndarray:
    """Which candidate voxels are bright tubes or blobs at one of the scales.

    Parameters
    ----------
    image : (I, J, K) ndarray
        Intensities (float32), bright vessels on a darker background.
    candidates : (I, J, K) ndarray of bool
        Voxels to test (the Hessian is evaluated only there).
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    sigmas_mm : tuple of float
        Gaussian scales (mm).
    ratio_min : float
        Minimum ``|lambda2| / |lambda3|`` (eigenvalues sorted by magnitude).

    Returns
    -------
    ndarray of bool
        True at candidates that pass at any scale.
    """
    out = np.zeros(image.shape, bool)
    idx = np.argwhere(candidates)
    if idx.size == 0:
        return out
    lo = idx.min(axis=0)
    hi = idx.max(axis=0) + 1
    passed = np.zeros(len(idx), bool)
    sp = np.asarray(spacing_mm, float)
    for sigma in sigmas_mm:
        # Work on a grid whose voxel is at most sigma/2: larger scales are computed on a
        # block-averaged image (cheap), smaller ones at full resolution.
        f = np.maximum(1, np.floor(sigma / (2.0 * sp))).astype(int)
        margin = np.ceil(4 * sigma / sp).astype(int) + f
        a0 = np.maximum(lo - margin, 0)
        a1 = np.minimum(hi + margin, image.shape)
        sub = image[a0[0] : a1[0], a0[1] : a1[1], a0[2] : a1[2]].astype(np.float32)
        if (f > 1).any():
            pads = [(0, (-n) % k) for n, k in zip(sub.shape, f, strict=True)]
            sub = np.pad(sub, pads, mode="edge")
            s = sub.shape
            sub = sub.reshape(s[0] // f[0], f[0], s[1] // f[1], f[1], s[2] // f[2], f[2]).mean(
                axis=(1, 3, 5)
            )
        csp = sp * f
        g = ndi.gaussian_filter(sub, sigma=sigma / csp, mode="nearest")
        # Hessian by central differences at the candidate voxels only (mm^-2 units).
        p = (idx - a0) // f
        p = np.clip(p, 1, np.array(g.shape) - 2)
        h = np.empty((len(p), 3, 3), np.float32)
        c = g[p[:, 0], p[:, 1], p[:, 2]]
        unit = np.eye(3, dtype=int)
        for a in range(3):
            ea = unit[a]
            fp = g[tuple((p + ea).T)]
            fm = g[tuple((p - ea).T)]
            h[:, a, a] = (fp - 2 * c + fm) / csp[a] ** 2
            for b in range(a + 1, 3):
                eb = unit[b]
                v = (
                    g[tuple((p + ea + eb).T)]
                    - g[tuple((p + ea - eb).T)]
                    - g[tuple((p - ea + eb).T)]
                    + g[tuple((p - ea - eb).T)]
                ) / (4 * csp[a] * csp[b])
                h[:, a, b] = v
                h[:, b, a] = v
        ev = np.linalg.eigvalsh(h)
        order = np.argsort(np.abs(ev), axis=1)
        ev = np.take_along_axis(ev, order, axis=1)
        l2, l3 = ev[:, 1], ev[:, 2]
        ra = np.abs(l2) / np.maximum(np.abs(l3), 1e-9)
        passed |= (l2 < 0) & (l3 < 0) & (ra >= ratio_min)
    out[tuple(idx[passed].T)] = True
    return out


@dataclass(frozen=True)
class SinusResult:
    """Contrast-filled vessels and sinuses found next to the cranial cavity.

    Attributes
    ----------
    vessel : ndarray of bool
        Vessel/sinus voxels (empty when ``contrast`` is False and not forced).
    evidence : ndarray of bool
        The confident part: contrast-band voxels away from bone and its partial-volume
        rim, not touching the outside of the skull, in components of sinus size.
    evidence_ml : float
        Volume (mL) of the evidence in connected pieces of at least
        ``VesselParams.system_min_ml`` (the sinus system is one large piece; partial
        volume of thin bone on a coarse grid is fragmented).
    enhanced_fraction : float
        ``evidence_ml`` over the cranial cavity volume (incl. the evidence).
    contrast_median_hu : float
        Median smoothed value of the evidence voxels (HU), NaN when there are none.
    extracranial_ml : float
        Volume (mL) of tube-shaped contrast found in soft tissue (neck vessels).
    """

    vessel: np.ndarray
    evidence: np.ndarray
    evidence_ml: float
    enhanced_fraction: float
    contrast_median_hu: float
    extracranial_ml: float = 0.0


def sinus_mask(
    sm: np.ndarray,
    intracranial: np.ndarray,
    bright: np.ndarray,
    spacing_mm: Spacing,
    *,
    t_contrast_hu: float,
    t_vessel_max_hu: float,
    t_dense_hu: float,
    soft_hu: float,
    params: VesselParams,
    tube: np.ndarray | None = None,
    body: np.ndarray | None = None,
    tube_test: Callable[[np.ndarray], np.ndarray] | None = None,
) -> SinusResult:
    """Contrast-filled dural sinuses and vessels on the intracranial side of the skull.

    Method (each step removes one kind of false positive):

    1. **Bone core**: hysteresis from seeds ``>= t_dense_hu`` down to
       ``t_vessel_max_hu`` (iodinated blood never reaches it), so a thin plate attached
       to dense bone is bone wherever it is brighter than blood can be.
    2. **Partial-volume rim**: voxels within ``rim_mm`` (and at least one voxel) of the
       bone core mix bone with brain and may show any value in between; they are never
       evidence of contrast.
    3. **Intracranial side**: evidence must lie within ``dural_margin_mm`` of the cranial
       cavity and not touch the outside of the skull (scalp, air): a plate of thin
       bone without a dense core touches both the cavity and the scalp; a sinus lies
       between the inner table and the brain.
    4. **Size**: evidence components smaller than ``min_component_mm3`` (calcified
       pineal or choroid plexus, noise) are dropped.
    5. **Growth**: the vessel is the evidence plus contrast-band voxels within
       ``grow_mm`` of it that are not bone core (the sinus wall against the inner
       table, which the rim rule excluded from the evidence), plus Hessian tubes
       (``tube``) on the intracranial side (small veins).

    Parameters
    ----------
    sm : (I, J, K) ndarray
        Lightly smoothed CT (HU).
    intracranial : ndarray of bool
        Cranial cavity (its bright voxels may have been excluded).
    bright : ndarray of bool
        Bright voxels (bone and bright blood) from the bone hysteresis.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    t_contrast_hu, t_vessel_max_hu, t_dense_hu : float
        Lower edge of enhanced blood, upper edge of enhanced blood, and the dense-bone
        seed threshold (HU).
    params : VesselParams
        Tunable distances and sizes.
    tube : ndarray of bool, optional
        Voxels passing a Hessian tube test.
    body : ndarray of bool, optional
        Body with holes filled; when given, extracranial vessels (neck, scalp) are
        found too and nothing outside it is vessel.
    tube_test : callable, optional
        Maps a candidate mask to the voxels of it that are tube-shaped (Hessian);
        extracranial components must be tube-shaped in part.

    Returns
    -------
    SinusResult
    """
    from twinsep.segment import morph

    sp = tuple(float(s) for s in spacing_mm)
    vx_mm3 = float(np.prod(sp))
    band = (sm >= t_contrast_hu) & (sm < t_vessel_max_hu)
    seeds = sm >= t_dense_hu
    low = sm >= t_vessel_max_hu
    core = _grow_from(low, seeds)
    rim_r = max(params.rim_mm, 1.01 * min(sp))
    rim = morph.dilate_mm(core, rim_r, sp) if core.any() else np.zeros_like(core)  # type: ignore[arg-type]
    cavity_side = intracranial | bright
    near_ic = morph.dilate_mm(intracranial, params.dural_margin_mm, sp)  # type: ignore[arg-type]
    outside = ~(intracranial | bright | band)
    touch_out = morph.dilate_mm(outside, max(params.outside_gap_mm, 1.01 * max(sp)), sp)  # type: ignore[arg-type]
    ev = band & ~rim & near_ic & cavity_side & ~touch_out & ~core
    ev = _drop_small_mm3(ev, params.min_component_mm3, vx_mm3)
    ext = np.zeros_like(ev)
    if body is not None:
        # Extracranial vessels (carotids, jugulars, scalp veins): contrast-band voxels
        # away from bone and its rim, buried in soft tissue (not touching air), far
        # from the cavity, in components of vessel size.
        touch_air = morph.dilate_mm(~body, 1.01 * max(sp), sp)  # type: ignore[arg-type]
        ext = band & ~rim & ~core & ~touch_air & ~near_ic
        ext = _drop_small_mm3(ext, params.min_component_mm3, vx_mm3)
        if tube_test is not None and ext.any():
            # a table pressed on the scalp or a sheet of soft-tissue partial volume is a
            # plate; keep components a good part of which is tube-shaped
            ext = _keep_tubular(ext, tube_test(ext), params.ext_tube_fraction_min)
    grow = morph.dilate_mm(ev, max(params.grow_mm, 1.01 * max(sp)), sp) if ev.any() else ev  # type: ignore[arg-type]
    vessel = ev | (grow & band & ~core & near_ic & cavity_side)
    if ext.any():
        vessel |= ext | (
            morph.dilate_mm(ext, 1.01 * max(sp), sp) & band & ~core & ~near_ic  # type: ignore[arg-type]
        )
    if tube is not None:
        vessel |= tube & band & ~core & near_ic & cavity_side & ~touch_out
    # Contrast evidence is the large pieces of the sinus system only: tube-shaped
    # "contrast" in soft tissue can also be partial volume of thin facial or neck bone
    # on a coarse grid (measured up to 3 mL on phantoms without contrast).
    # Pieces are measured after growth into the sinus wall, which joins the fragments
    # a coarse grid leaves between rim voxels.
    big = _drop_small_mm3(
        ev | (grow & band & ~core & near_ic & cavity_side), 1000.0 * params.system_min_ml, vx_mm3
    )
    n_ev = int((ev & big).sum())
    med = float(np.median(sm[ev | ext])) if (ev | ext).any() else float("nan")
    if body is not None:
        vessel &= body
    if ev.any() or ext.any():
        # The edge of a blurred vessel lies at half its height above the surroundings:
        # voxels below that are mostly tissue (partial volume).
        vessel &= sm >= soft_hu + params.edge_fraction * (med - soft_hu)
    cavity_vx = int((intracranial | ev).sum())
    return SinusResult(
        vessel=vessel,
        evidence=ev,
        evidence_ml=n_ev * vx_mm3 / 1000.0,
        enhanced_fraction=n_ev / cavity_vx if cavity_vx else 0.0,
        contrast_median_hu=med,
        extracranial_ml=float(ext.sum()) * vx_mm3 / 1000.0,
    )


def _keep_tubular(mask: np.ndarray, tube: np.ndarray, fraction_min: float) -> np.ndarray:
    """Components of ``mask`` at least ``fraction_min`` of whose voxels are in ``tube``."""
    from twinsep.segment import morph

    lab, sizes = morph.component_sizes(mask)
    if sizes.size == 0:
        return mask
    hits = np.bincount(lab[tube & mask], minlength=sizes.size + 1)[1:]
    lut = np.concatenate([[False], hits >= fraction_min * sizes])
    return lut[lab]


def _drop_small_mm3(mask: np.ndarray, min_mm3: float, vx_mm3: float) -> np.ndarray:
    """``mask`` without its (26-connected) components smaller than ``min_mm3``."""
    from twinsep.segment import morph

    lab, sizes = morph.component_sizes(mask)
    if sizes.size == 0:
        return mask
    lut = np.concatenate([[False], sizes * vx_mm3 >= min_mm3])
    return lut[lab]


def _grow_from(low: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Components (26-connected) of ``low`` that contain a voxel of ``seeds``."""
    from twinsep.segment import morph

    lab, sizes = morph.component_sizes(low)
    if sizes.size == 0:
        return low.copy()
    ids = np.unique(lab[seeds & low])
    lut = np.zeros(sizes.size + 1, bool)
    lut[ids] = True
    lut[0] = False
    return lut[lab]
