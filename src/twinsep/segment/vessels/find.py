"""The vessel rule's entry point: the sinus rule on a work grid, then delineation on the
fine grid.

Entry point: :func:`find_vessels` (used by ``segment_ct``). It runs the sinus rule on a
*work grid* of about ``VesselParams.work_grid_mm`` (block means of the CT; the fine grid
itself when it is already that coarse), then delineates the vessels on the fine grid
by their half-maximum edge. The rule concerns millimetre structures (a 1.5 mm bone
rim, sinuses 3-7 mm across), so a thin-slice CT gains nothing from running it at
0.5 mm, where it would cost seconds per distance transform.

The edge of a vessel is where the blurred image crosses half-way between the vessel's
own lumen value (the median of its interior voxels) and its local background (CSF and
brain around a sinus, soft tissue around a neck vessel): a voxel whose centre lies
inside a vessel wider than the blur holds more than half of it (partial volume).

Last, a vessel voxel whose value lies on the blurred tail of the bone beside it (the
scan's edge spread measured along each axis, :mod:`.blur`) is dropped
(:func:`twinsep.segment.vessels.rim.blurred_rim`): on a blurry scanner the inner table
lifts the CSF under it into the contrast band.
"""

from __future__ import annotations

from dataclasses import replace

import cc3d
import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.morph import Spacing
from twinsep.segment.params import VesselParams
from twinsep.segment.vessels.blur import edge_widths
from twinsep.segment.vessels.contrast import SinusResult, VesselLevels, core_seed_hu
from twinsep.segment.vessels.grid import _block_majority, _block_mean, _finite
from twinsep.segment.vessels.plateau import _plateau_check
from twinsep.segment.vessels.rim import blurred_rim
from twinsep.segment.vessels.sinus import sinus_mask
from twinsep.segment.vessels.tube import tubular_mask


def find_vessels(
    sm: np.ndarray,
    intracranial: np.ndarray,
    bright: np.ndarray,
    body: np.ndarray,
    spacing_mm: Spacing,
    *,
    levels: VesselLevels,
    params: VesselParams,
) -> SinusResult:
    """Contrast vessels and sinuses of a head CT, with the evidence of contrast.

    The sinus rule (:func:`sinus_mask`, with the Hessian tube test of
    :func:`tubular_mask`) runs on a work grid of block means with voxels of about
    ``params.work_grid_mm`` (the CT grid itself when its voxels are that large). On a
    finer CT the vessels found there are delineated on the CT grid: voxels within one
    work voxel of them, in the contrast band, above their half-maximum edge, in
    components of at least ``params.min_vessel_mm3``.

    Parameters
    ----------
    sm : (I, J, K) ndarray of float32
        Lightly smoothed CT (HU).
    intracranial : (I, J, K) ndarray of bool
        Cranial cavity.
    bright : (I, J, K) ndarray of bool
        Bone and bright blood (bone hysteresis).
    body : (I, J, K) ndarray of bool
        Body with holes filled; nothing outside it is vessel.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    levels : VesselLevels
        HU levels measured on this CT and the tube-test settings.
    params : VesselParams
        Tunable distances and sizes.

    Returns
    -------
    SinusResult
        On the grid of ``sm``; no input array is modified.
    """
    sp: Spacing = (float(spacing_mm[0]), float(spacing_mm[1]), float(spacing_mm[2]))
    levels = replace(levels, dense_hu=core_seed_hu(levels, params))
    f0 = morph.downsample_factors(sm.shape, sp, params.work_grid_mm)
    # an axis shorter than its block (a thin slab) stays at full resolution
    f = (
        f0[0] if sm.shape[0] >= f0[0] else 1,
        f0[1] if sm.shape[1] >= f0[1] else 1,
        f0[2] if sm.shape[2] >= f0[2] else 1,
    )
    if max(f) == 1:
        res = _rule(sm, intracranial, bright, body, sp, levels, params)
        res = _plateau_check(res, sm, sp, levels, params)
        return _blur_rim(res, sm, intracranial, bright, sp, levels, params)
    # On the work grid the vessels only mark where the fine edge is drawn (voxel-wise,
    # below); its block means have another noise than the one measured on the CT grid.
    csp = (sp[0] * f[0], sp[1] * f[1], sp[2] * f[2])
    sm_c = _block_mean(sm, f)
    ic_c = _block_majority(intracranial, f)
    # No wall step on the work grid: the fine delineation already takes every CT voxel
    # within one work voxel of the vessels above the edge, and a wall voxel grown there
    # would lift its ceiling from the lumen to the top of the blood range (bone partial
    # volume; measured -0.012 to -0.024 Dice on the analytic twins at 1.0 mm).
    res = _rule(
        sm_c,
        ic_c,
        _block_majority(bright, f),
        _block_majority(body, f),
        csp,
        replace(levels, noise_hu=0.0),
        replace(params, wall_fraction=0.0),
    )
    del sm_c
    vessel = np.zeros(sm.shape, bool)
    evidence = np.zeros(sm.shape, bool)
    if res.vessel.any():
        vessel = _delineate(res, ic_c, f, sm, body, sp, levels.vessel_max_hu, params, csp)
    if res.evidence.any():
        i, j, k = _fine_voxels(res.evidence, f, sm.shape)
        keep = sm[i, j, k] >= levels.contrast_hu
        evidence[i[keep], j[keep], k[keep]] = True
    fine = SinusResult(
        vessel=vessel,
        evidence=evidence,
        evidence_ml=res.evidence_ml,
        enhanced_fraction=res.enhanced_fraction,
        contrast_median_hu=res.contrast_median_hu,
        extracranial_ml=res.extracranial_ml,
        lumen_hu=res.lumen_hu,
        edge_intracranial_hu=res.edge_intracranial_hu,
        edge_extracranial_hu=res.edge_extracranial_hu,
    )
    fine = _plateau_check(fine, sm, sp, levels, params)
    return _blur_rim(fine, sm, intracranial, bright, sp, levels, params)


def _blur_rim(
    res: SinusResult,
    sm: np.ndarray,
    intracranial: np.ndarray,
    bright: np.ndarray,
    sp: Spacing,
    levels: VesselLevels,
    params: VesselParams,
) -> SinusResult:
    """``res`` without the vessel voxels that the blurred bone beside them explains
    (:func:`blurred_rim`, with the edge spread measured per axis on this CT).

    Applied last, after the plateau check: the evidence, its volume and the lumen are
    those the contrast call read; only the vessel mask loses voxels.
    """
    if params.blur_rim_noise_k <= 0 or levels.noise_hu <= 0 or not res.vessel.any():
        return res
    widths = edge_widths(sm, bright, intracranial, sp)
    if widths is None or not np.isfinite(res.lumen_hu):
        return res
    k = params.edge_fraction
    bg_ic = _finite((res.edge_intracranial_hu - k * res.lumen_hu) / (1.0 - k), levels.soft_hu)
    bg = np.where(intracranial, np.float32(bg_ic), np.float32(levels.soft_hu))
    e_ic = _finite(res.edge_intracranial_hu, res.edge_extracranial_hu)
    e_ext = _finite(res.edge_extracranial_hu, res.edge_intracranial_hu)
    edge = np.where(intracranial, np.float32(e_ic), np.float32(e_ext))
    drop = blurred_rim(
        res.vessel, sm, levels.vessel_max_hu, sp, widths,
        background_hu=bg, edge_hu=edge, tol_hu=params.blur_rim_noise_k * levels.noise_hu,
        reach_w=params.blur_rim_reach_w,
        lumen_hu=res.lumen_hu if params.blur_rim_inside else None,
    )  # fmt: skip
    if not drop.any():
        return res
    return replace(res, vessel=res.vessel & ~drop)


def _rule(
    sm: np.ndarray,
    intracranial: np.ndarray,
    bright: np.ndarray,
    body: np.ndarray,
    sp: Spacing,
    lv: VesselLevels,
    params: VesselParams,
) -> SinusResult:
    """The sinus rule with its tube tests on one grid."""
    near_ic = morph.dilate_mm(intracranial, params.tube_margin_mm, sp)
    cand = (intracranial | bright) & near_ic & (sm >= lv.contrast_hu) & (sm < lv.dense_hu)
    del near_ic
    tube = tubular_mask(sm, cand, sp, lv.sigmas_mm, lv.ratio_min)
    del cand
    res = sinus_mask(
        sm,
        intracranial,
        bright,
        sp,
        t_contrast_hu=lv.contrast_hu,
        t_vessel_max_hu=lv.vessel_max_hu,
        t_dense_hu=lv.dense_hu,
        soft_hu=lv.soft_hu,
        noise_hu=lv.noise_hu,
        params=params,
        tube=tube,
        body=body,
        tube_test=lambda m: tubular_mask(sm, m, sp, lv.sigmas_mm, lv.ratio_min),
    )
    if res.vessel.any():
        v = cc3d.dust(
            res.vessel.view(np.uint8), _min_vessel_vx(sp, params), connectivity=26,
            binary_image=True,
        )  # fmt: skip
        res = replace(res, vessel=v.astype(bool))
    return res


def _delineate(
    res: SinusResult,
    ic_c: np.ndarray,
    f: tuple[int, int, int],
    sm: np.ndarray,
    body: np.ndarray,
    sp: Spacing,
    t_vessel_max_hu: float,
    params: VesselParams,
    csp: Spacing,
) -> np.ndarray:
    """Fine-grid vessel voxels within one work voxel of the work-grid vessels, in the
    contrast band, above the edge of their side of the skull (HU); outside the
    work-grid vessel itself, below the lumen value.

    Only the fine voxels of those work voxels are read (a few per cent of the grid).
    Specks were removed on the work grid (``min_vessel_mm3``); a fine voxel above the
    edge lies in or next to a work voxel of a vessel that passed that test.
    """
    near_c = ndi.binary_dilation(res.vessel, ndi.generate_binary_structure(3, 3))
    ic_side_c = morph.dilate_mm(ic_c, params.dural_margin_mm, csp)
    i, j, k = _fine_voxels(near_c, f, sm.shape)
    e_ic = _finite(res.edge_intracranial_hu, res.edge_extracranial_hu)
    e_ext = _finite(res.edge_extracranial_hu, res.edge_intracranial_hu)
    edge = np.where(ic_side_c[i // f[0], j // f[1], k // f[2]], e_ic, e_ext)
    v = sm[i, j, k]
    # Next to (not in) a work-grid vessel, a voxel brighter than the lumen holds bone:
    # blood alone never exceeds the lumen value, and the vessel did not reach there.
    top = np.where(res.vessel[i // f[0], j // f[1], k // f[2]], t_vessel_max_hu, res.lumen_hu)
    keep = (v >= edge) & (v < top) & body[i, j, k]
    out = np.zeros(sm.shape, bool)
    out[i[keep], j[keep], k[keep]] = True
    return out


def _fine_voxels(
    coarse: np.ndarray, f: tuple[int, int, int], shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fine-grid indices ``(i, j, k)`` of the voxels in the blocks of true coarse voxels."""
    c = np.argwhere(coarse)
    off = np.stack(np.meshgrid(*(np.arange(n) for n in f), indexing="ij"), -1).reshape(-1, 3)
    idx = (c[:, None, :] * np.asarray(f) + off[None]).reshape(-1, 3)
    idx = idx[(idx < np.asarray(shape[:3])).all(axis=1)]
    return idx[:, 0], idx[:, 1], idx[:, 2]


def _min_vessel_vx(sp: Spacing, params: VesselParams) -> int:
    """Smallest vessel component (voxels) on a grid of spacing ``sp``."""
    vx_mm3 = float(np.prod(sp))
    return max(params.min_vessel_vx, int(np.ceil(params.min_vessel_mm3 / vx_mm3 - 1e-9)))
