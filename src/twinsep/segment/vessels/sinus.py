"""The sinus rule: contrast-filled sinuses and vessels next to the cranial cavity.

The sinus rule (:func:`sinus_mask`) separates contrast from thin bone by position and
distance, not by shape alone: bone is what hysteresis grows from dense seeds down to
the top of the blood range, the partial-volume rim around it is never evidence, and
evidence must lie on the intracranial side without touching the outside of the skull.
Contrast is detected from the volume of that evidence, not counting a blood-range layer
only one or two voxels thick from the scalp to the brain: a weak plate (an infant
calvaria of 500-650 HU) whose peak the grid split between two voxels, so that it has no
core (:func:`_thin_layer`), nor in such a layer with the dark cavity on both sides along
an axis (:func:`between_dark`: a bone partition between two brains, or a plate parallel
to 5 mm slices, whose slice reads ``B t / s + soft (1 - t / s)``, ~460 HU for 2 mm of
1100 HU, below the core seed; looked for only along the slice axes of a thick-slice grid,
``VesselParams.slice_axis_ratio``). There, margins that must reach at least the next
voxel are ellipsoids of the margin and one voxel per axis (:func:`dilate_per_axis_mm`),
not balls of the largest spacing (six voxels in-plane on 0.83 x 0.83 x 5 mm voxels).

Two later rules, both read off the image (issue 4; the measurements are in
``VesselParams``): a vessel piece lying wholly in the bone's partial-volume rim with a
voxel brighter than blood can be (lumen + 3 noise sigmas) is bone partial volume
(:func:`rim_pieces`): a ridge of it along the inner table, above a thin CSF layer,
passes the tube test at some scale. And when the contrast is faint, the vessels grow
one face step into voxels between their half-height edge and the floor of the contrast
band before the edge is decided (``faint_edge_steps``): the floor is where contrast is
detected, not where a vessel ends. Where the misses lie at 2.3-2.7 mm on our phantoms
(size 128, seed 0): ~60 % of the false negatives are sinus voxels one voxel from the
found sinus inside the bone rim, whose values (clean CT 150-400 HU) overlap the
CSF/bone mixtures beside them (precision of any value band there <= 0.46, below the
Dice/2 a voxel must beat), and 40-130 voxels a row are whole sinus fragments lying in
the rim away from any evidence; the false positives are the 0.5 mm layer between the
inner table and the sinus (truth soft tissue, values of blood + bone) and, at noise 30
HU, noise at the one-voxel edge. The best rule on single values reaches 0.85-0.90 on
the noise-free CT there and 0.79-0.84 on the noisy one; ours is 0.80-0.89.

On coarse grids (3.1-3.6 mm, issue 4) two more: outside the cavity mask, a vessel
voxel brighter than the lumen + 3 noise sigmas whose voxel on the far side from its
brightest neighbour holds no blood lies on a bone surface's profile and is bone
partial volume (:func:`bone_profile`; a neck vessel's ring took the facial and skull
base plates' partial volume); and when neither the sinuses (one or two voxels across,
no interior) nor the neck vessels have 20 interior voxels, the lumen is the median of
their pooled interior if it holds ``lumen_min_samples``, not the evidence median that
partial volume pulls 30-50 HU down (which set the edges and the wall step's ceiling).

And on grids of 2 mm or coarser (issue 4) the sinus's layers inside the one-voxel bone
rim: a rim voxel within two noise sigmas of the lumen, inside a patch of such voxels
(three of its six face neighbours sinus or at the lumen), reached from the sinus in two
face steps, is sinus (:func:`rim_plateau`): blood reads its lumen whatever part of
the voxel it fills beside the bone, CSF lifted by bone only by chance and alone.

Sutures (issue 4): the soft tissue of a suture or of the seam between two skulls,
narrower than a voxel, reads 200-470 HU (averaged with the bone on both sides) and the
growth from the sinus beneath took it. A vessel voxel between two voxels brighter than
blood along one axis, with the scalp on one face and a vessel voxel on the opposite face
along another axis, spans the plate above the sinus and is dropped (:func:`suture_gaps`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.morph import Spacing
from twinsep.segment.params import VesselParams
from twinsep.segment.vessel_edge import edge_cut
from twinsep.segment.vessels.aircells import gas_walled
from twinsep.segment.vessels.contrast import SinusResult
from twinsep.segment.vessels.encased import bone_encased
from twinsep.segment.vessels.grid import (
    _CUBE,
    _dilate_faces,
    _drop_small_mm3,
    _finite,
    _grow_faces,
    _grow_from,
    _keep_tubular,
    _touching,
)
from twinsep.segment.vessels.lumen import _MIN_SAMPLES, _interior_median, _shell_median
from twinsep.segment.vessels.rim import (
    _bone_side,
    bone_profile,
    rim_pieces,
    rim_plateau,
    suture_gaps,
)
from twinsep.segment.vessels.thin import (
    _next_voxel_margin,
    _thin_layer,
    between_dark,
    dilate_per_axis_mm,
)

logger = logging.getLogger(__name__)


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
    noise_hu: float = 0.0,
    tube: np.ndarray | None = None,
    body: np.ndarray | None = None,
    tube_test: Callable[[np.ndarray], np.ndarray] | None = None,
) -> SinusResult:
    """Contrast-filled dural sinuses and vessels on the intracranial side of the skull.

    Method (each step removes one kind of false positive):

    1. **Bone core**: hysteresis from seeds ``>= t_dense_hu`` down to
       ``t_vessel_max_hu`` (iodinated blood never reaches it), so a thin plate attached
       to dense bone is bone wherever it is brighter than blood can be
       (:func:`find_vessels` lowers the seed level to a few noise sigmas above
       ``t_vessel_max_hu``, :func:`core_seed_hu`, so weak bone has a core too).
    2. **Partial-volume rim**: voxels within ``rim_mm`` (and at least one voxel) of the
       bone core mix bone with brain and may show any value in between; they are never
       evidence of contrast. Contrast detection counts only evidence beyond the core's
       edge and corner neighbours too (``evidence_clear_vx``), and none in a
       blood-range layer at most ``thin_layer_vx`` voxels thick that spans the skull
       from its outside to the dark cavity (:func:`_thin_layer`: a weak plate that
       the grid sampled without a core), or that has the dark cavity on both sides
       along an axis (:func:`between_dark`).
    3. **Intracranial side**: evidence must lie within ``dural_margin_mm`` of the cranial
       cavity and not touch the outside of the skull (scalp, air; with ``body``, every
       non-bone voxel within ``scalp_min_mm`` of the skin counts as scalp whatever the
       cavity mask says): a plate of thin bone without a dense core touches both the
       cavity and the scalp; a sinus lies between the inner table and the brain.
    4. **Size**: evidence components smaller than ``min_component_mm3`` (calcified
       pineal or choroid plexus, noise) are dropped.
    5. **Growth**: the vessel is the evidence plus contrast-band voxels within
       ``grow_mm`` of it (the sinus wall against the inner table, which the rim rule
       excluded from the evidence), plus Hessian tubes (``tube``) on the intracranial
       side (small veins). Inside the bone rim the growth takes one face step from
       the sinus outside the rim, not the whole ``grow_mm`` ball: on grids finer than
       ``grow_mm`` the ball's second step reaches CSF that bone spill lifted to the
       lumen value. With ``noise_hu``, a grown or tube voxel at least half-way from the
       lumen to the brightest voxel of its 3x3x3 block, when that voxel is brighter
       than blood can be (``bone_side_noise_k``), holds more bone than blood and is
       dropped.
    6. **Wall**: contrast-band voxels next to the sinus (inside the bone rim, beyond
       the growth zone) join it when they hold at least ``wall_fraction`` blood
       (between background and lumen) and stay below the lumen value (brighter means
       bone partial volume); only on grids whose voxels are wider than ``grow_mm``.
    7. **Edge**: a vessel voxel must exceed half-way between the local background and
       the lumen value (median of the vessels' interior voxels), separately for the
       sinuses (background: cavity voxels next to them) and vessels in soft tissue.
       With ``noise_hu`` > 0, on grids of at most ``edge_prior_max_voxel_mm``, the
       edge is decided for all candidates together under a prior that face
       neighbours agree (:func:`twinsep.segment.vessel_edge.edge_cut`).
    8. **Rim pieces**: with ``noise_hu`` > 0, a piece lying wholly in the bone rim with
       a voxel more than ``rim_piece_noise_k`` noise sigmas above the lumen is bone
       partial volume (:func:`rim_pieces`); the tube test takes such ridges along the
       inner table above a thin CSF layer.
    9. **Bone profile**: with ``noise_hu`` > 0, a vessel voxel in the bone rim outside
       the cavity mask, more than ``bone_profile_noise_k`` noise sigmas above the lumen,
       with no blood on the far side from its brightest neighbour, is bone partial
       volume (:func:`bone_profile`).
    10. **Suture gaps**: with ``params.suture_gap``, a vessel voxel between two voxels
        brighter than blood along one axis, with the outside of the skull on one face
        and a vessel voxel on the opposite face along another axis, lies in a gap
        through a bone plate above the sinus and is dropped (:func:`suture_gaps`).
    11. **Rim plateau**: with ``noise_hu`` > 0 on grids of at least
        ``rim_plateau_min_voxel_mm``, contrast-band voxels of the bone rim on the cavity
        side within ``rim_plateau_noise_k`` noise sigmas of the lumen, inside a patch of
        such voxels (``rim_plateau_min_faces``), join the sinus within
        ``rim_plateau_steps`` face steps (:func:`rim_plateau`).

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
    soft_hu : float
        Soft-tissue peak (HU); the fallback background of the edge rule.
    params : VesselParams
        Tunable distances and sizes.
    noise_hu : float, optional
        Noise sigma (HU) of ``sm``; 0 (default) decides the edge voxel by voxel.
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
    sp: Spacing = (float(spacing_mm[0]), float(spacing_mm[1]), float(spacing_mm[2]))
    vx_mm3 = float(np.prod(sp))
    # the slice axes of a thick-slice grid (VesselParams.slice_axis_ratio)
    slice_axes = [a for a in range(3) if sp[a] >= params.slice_axis_ratio * min(sp)]
    band = (sm >= t_contrast_hu) & (sm < t_vessel_max_hu)
    core = _grow_from(sm >= t_vessel_max_hu, sm >= t_dense_hu)
    # at least the face neighbours along every axis, also on anisotropic grids
    rim = morph.dilate_mm(core, params.rim_mm, sp)
    rim |= _dilate_faces(core)
    # Partial volume of a core voxel reaches every voxel whose footprint touches it,
    # after the blur also the edge and corner neighbours: evidence there is kept for the
    # sinus but not counted as proof of contrast.
    if params.evidence_clear_vx > 0:
        clear = ~ndi.binary_dilation(core, _CUBE, iterations=params.evidence_clear_vx)
    else:
        clear = np.ones_like(rim)
    del core  # the band never holds a core voxel (core >= t_vessel_max_hu)
    cavity_side = intracranial | bright
    near_ic = morph.dilate_mm(intracranial, params.dural_margin_mm, sp)
    outside = ~(cavity_side | band)
    if body is not None and params.scalp_min_mm > 0:
        # The scalp is outside the skull even where the cavity mask strays into it (a
        # coarse grid, a suture): no sinus lies within the scalp's least thickness of
        # the skin.
        skin_r = max(params.scalp_min_mm, 1.01 * max(sp))
        outside |= morph.dilate_mm(~body, skin_r, sp) & ~(bright | band)
    touch_out = morph.dilate_mm(outside, max(params.outside_gap_mm, 1.01 * max(sp)), sp)
    ic_band = band & near_ic & cavity_side
    ev = ic_band & ~rim & ~touch_out
    ev = _drop_small_mm3(ev, params.min_component_mm3, vx_mm3)
    if params.thin_layer_vx > 0 and ev.any():
        # a weak plate sampled across two voxels has no core; its blood-range layer
        # spans the skull from the scalp to the cavity and is no proof of contrast
        dark = intracranial & (sm < t_contrast_hu)
        clear &= ~_thin_layer(ev, outside, dark, sp, params.thin_layer_vx)
        # the same plate between two dark sides (a partition between the brains, or
        # a plate parallel to thick slices with the cavity above and below)
        clear &= ~between_dark(ev, dark, int(params.thin_layer_vx), slice_axes)
        del dark
    # the outside of the skull, kept for the suture-gap rule (suture_gaps) at the end
    gap_outside = outside if params.suture_gap else None
    del outside
    ext = np.zeros_like(ev)
    ext_all_ml = 0.0
    if body is not None:
        # Extracranial vessels (carotids, jugulars, scalp veins): contrast-band voxels
        # away from bone and its rim, buried in soft tissue (not touching air), far
        # from the cavity, in components of vessel size.
        touch_air = morph.dilate_mm(~body, 1.01 * max(sp), sp)
        # off the cranial side by the dural margin, and by at least one voxel along
        # every axis: a 4 mm ball has no neighbour along 5 mm slices, and a layer of
        # band voxels just above or below the cavity then counted as a neck vessel
        near_ext = near_ic
        if 1.01 * max(sp) > params.dural_margin_mm:
            near_ext = dilate_per_axis_mm(intracranial, params.dural_margin_mm, sp)
        ext = band & ~rim & ~touch_air & ~near_ext
        del near_ext
        del touch_air
        ext = _drop_small_mm3(ext, params.min_component_mm3, vx_mm3)
        if tube_test is not None and ext.any():
            # a table pressed on the scalp or a sheet of soft-tissue partial volume is a
            # plate; keep components a good part of which is tube-shaped
            ext = _keep_tubular(ext, tube_test(ext), params.ext_tube_fraction_min)
        if params.ext_shell_fraction > 0 and ext.any():
            # cancellous bone inside a cortex (vertebral bodies, the mandible's marrow)
            # is no vessel (bone_encased)
            ext &= ~bone_encased(
                ext, sm, rim | (sm >= t_vessel_max_hu), soft_hu=soft_hu, noise_hu=noise_hu,
                shell_fraction=params.ext_shell_fraction, shell_share=params.ext_shell_share,
                wall_fraction=params.ext_encased_wall_fraction,
                min_interior=params.lumen_min_samples,
            )  # fmt: skip
    if body is not None:
        if params.ext_bone_side_max < 1.0 and ext.any():
            # partial volume along a bone plate (the mandible on a ~3 mm grid) is a
            # curved sheet lying on the bone; a neck vessel runs in soft tissue, and a
            # piece touching the cranial cavity continues a sinus (its bright neighbours
            # are blood in the bone hysteresis)
            ext_all_ml = float(ext.sum()) * vx_mm3 / 1000.0
            lab_e, sizes_e = morph.component_sizes(ext)
            on_bone = np.bincount(
                lab_e[ext & _dilate_faces(bright & ~ext)], minlength=sizes_e.size + 1
            )
            plate = on_bone[1:] >= params.ext_bone_side_max * sizes_e
            plate[_touching(lab_e, intracranial) - 1] = False
            ext = np.concatenate([[False], ~plate])[lab_e]
        if params.ext_gas_share <= 1.0 and ext.any():
            # the septa of pneumatised bone (ethmoid, turbinates, mastoid) lie between
            # air cells; a neck vessel runs in soft tissue (gas_walled)
            ext &= ~gas_walled(
                ext, sm, gas_hu=soft_hu - params.ext_gas_below_soft_hu,
                share=params.ext_gas_share, inside=body,
            )  # fmt: skip
    # The contrast evidence counts the pieces that pass the bone-side test too: a piece
    # lying on bone is partial volume of it, and on thick slices (5 mm) that partial
    # volume of the skull base and mandible alone reached the neck-alone level.
    ext_ml = float(ext.sum()) * vx_mm3 / 1000.0
    if body is not None and params.ext_bone_side_max < 1.0 and ext_ml > 0:
        logger.debug(
            "extracranial contrast: %.2f mL in tube-shaped pieces, %.2f mL off bone",
            ext_all_ml, ext_ml,
        )  # fmt: skip
    sinus = ev
    if ev.any():
        # Outside the bone rim the sinus takes the whole growth zone; inside it one face
        # step from there (the wall against the inner table), which is all the zone
        # holds on grids of grow_mm or coarser.
        zone = _next_voxel_margin(ev, params.grow_mm, sp, bool(slice_axes)) & ic_band
        sinus = ev | (zone & ~rim)
        sinus |= _dilate_faces(sinus) & zone & rim
        del zone
    # Contrast evidence is the large pieces of the sinus system only: tube-shaped
    # "contrast" in soft tissue can also be partial volume of thin facial or neck bone
    # on a coarse grid (measured up to 3 mL on phantoms without contrast).
    # Pieces are measured after growth into the sinus wall, which joins the fragments
    # a coarse grid leaves between rim voxels.
    big = _drop_small_mm3(sinus, 1000.0 * params.system_min_ml, vx_mm3)
    n_ev = int((ev & big & clear).sum())
    del big, clear
    if tube is not None:
        sinus |= tube & ic_band & ~touch_out
    outer = ext
    if ext.any():
        ring = _next_voxel_margin(ext, 0.0, sp, bool(slice_axes))
        outer = ext | (ring & band & ~near_ic)
        del ring
    if body is not None:
        sinus &= body
        outer &= body
    med = float(np.median(sm[ev | ext])) if (ev | ext).any() else float("nan")
    lumen, edge_ic, edge_ext = float("nan"), float("nan"), float("nan")
    if ev.any() or ext.any():
        blur = params.rim_mm
        lumen_ic = _interior_median(sm, sinus, sp, blur, _MIN_SAMPLES)
        lumen_ext = _interior_median(sm, outer, sp, blur, _MIN_SAMPLES)
        # which lumen values were measured on the vessels' own interior (not a fallback)
        measured_ic, measured_ext = bool(np.isfinite(lumen_ic)), bool(np.isfinite(lumen_ext))
        lumen_few = float("nan")
        if not (measured_ic or measured_ext) and params.lumen_min_samples < _MIN_SAMPLES:
            # a coarse grid: few interior voxels, all vessels pooled, still beat the
            # evidence median that partial volume pulls down (lumen_min_samples)
            lumen_few = _interior_median(sm, sinus | outer, sp, blur, params.lumen_min_samples)
        lumen = _finite(lumen_ic, _finite(lumen_ext, _finite(lumen_few, med)))
        lumen_ext = _finite(lumen_ext, lumen)
        # blood's value for the bone-side test: the sinuses' own interior, else that of
        # the vessels in soft tissue (one circulation; a 1-2 voxel sinus on a 3 mm grid
        # has no interior), never the evidence median that partial volume pulls down
        on_interior = measured_ext or bool(np.isfinite(lumen_few))
        lumen_bs = lumen_ic if measured_ic else (lumen if on_interior else float("nan"))
        if params.bone_side_noise_k > 0 and noise_hu > 0 and np.isfinite(lumen_bs):
            sinus &= ~_bone_side(sm, sinus & ~ev, lumen_bs, params.bone_side_noise_k * noise_hu)
        lo_bg = soft_hu - (t_contrast_hu - soft_hu)
        if params.wall_fraction > 0 and sinus.any() and 1.01 * min(sp) > params.grow_mm:
            # On a grid coarser than the growth distance the growth zone is one face
            # neighbour of the evidence: the sinus wall behind the corners of the bone
            # rim is missed. (On finer grids the step measured -0.007 to +0.009 Dice.)
            bg_ic = _shell_median(sm, sinus, intracranial, sp, blur, lo_bg, t_contrast_hu, soft_hu)
            wall_hu = bg_ic + params.wall_fraction * (lumen - bg_ic)
            wall = ic_band & ~touch_out & (sm >= wall_hu) & (sm < lumen)
            sinus |= ndi.binary_dilation(sinus, _CUBE, mask=wall)
            if body is not None:
                sinus &= body
        bg_ic = _shell_median(sm, sinus, intracranial, sp, blur, lo_bg, t_contrast_hu, soft_hu)
        within = body if body is not None else np.ones_like(outer)
        bg_ext = _shell_median(sm, outer, within, sp, blur, lo_bg, t_contrast_hu, soft_hu)
        k = params.edge_fraction
        edge_ic = bg_ic + k * (lumen - bg_ic)
        edge_ext = bg_ext + k * (lumen_ext - bg_ext)
        if params.faint_edge_steps > 0:
            # faint contrast: the half-height edge lies below the band's floor, and the
            # vessel's outer partial-volume voxels between the two become candidates
            if measured_ic and edge_ic < t_contrast_hu and sinus.any():
                low = (sm >= edge_ic) & (sm < t_contrast_hu) & near_ic & cavity_side
                low &= ~touch_out if body is None else ~touch_out & body
                sinus |= _grow_faces(sinus, low, params.faint_edge_steps)
                del low
            if measured_ext and edge_ext < t_contrast_hu and outer.any() and body is not None:
                low = (sm >= edge_ext) & (sm < t_contrast_hu) & ~near_ic & body
                outer |= _grow_faces(outer, low, params.faint_edge_steps)
                del low
        if _use_edge_prior(noise_hu, sp, params):
            edge = np.where(sinus, np.float32(edge_ic), np.float32(edge_ext))
            keep = edge_cut(
                sm, sinus | outer, edge, noise_hu, sp,
                beta_nat=params.edge_prior_nat,
                outside_fraction=params.edge_prior_outside_fraction,
            )  # fmt: skip
            del edge
            sinus &= keep
            outer &= keep
        else:
            sinus &= sm >= edge_ic
            outer &= sm >= edge_ext
        logger.debug(
            "vessel lumen %.0f HU (soft tissue %.0f); edges %.0f HU (sinus, background "
            "%.0f) and %.0f HU (soft tissue, background %.0f)",
            lumen, lumen_ext, edge_ic, bg_ic, edge_ext, bg_ext,
        )  # fmt: skip
    grow_zone = None
    if (
        params.rim_plateau_noise_k > 0
        and params.rim_plateau_steps > 0
        and noise_hu > 0
        and np.isfinite(lumen)
        and min(sp) >= params.rim_plateau_min_voxel_mm
        and sinus.any()
    ):
        # where the sinus may grow by the lumen plateau (rim_plateau), after the
        # bone-side rules below have had their say
        grow_zone = rim & ic_band & ~touch_out
        if body is not None:
            grow_zone &= body
    del touch_out, ic_band
    if params.rim_piece_noise_k > 0 and noise_hu > 0 and np.isfinite(lumen):
        # a piece lying wholly in the bone's partial-volume rim with a voxel brighter
        # than blood can be is bone partial volume (rim_pieces)
        drop = rim_pieces(sinus | outer, rim, sm, lumen + params.rim_piece_noise_k * noise_hu)
        sinus &= ~drop
        outer &= ~drop
        del drop
    if params.bone_profile_noise_k > 0 and noise_hu > 0 and np.isfinite(lumen):
        # outside the cavity, a voxel brighter than blood with no blood on its far side
        # from the bone is the bone's surface profile (bone_profile)
        drop = bone_profile(
            sinus | outer, rim & ~intracranial, sm,
            top_hu=lumen + params.bone_profile_noise_k * noise_hu,
            edge_hu=(_finite(edge_ic, edge_ext), _finite(edge_ext, edge_ic)),
            first=sinus,
        )  # fmt: skip
        sinus &= ~drop
        outer &= ~drop
        del drop
    del rim
    if gap_outside is not None:
        # a voxel in a gap through a bone plate, between the scalp and a vessel voxel, is
        # the suture's soft tissue averaged with bone, not blood (suture_gaps)
        drop = suture_gaps(sinus | outer, sm, gap_outside, bone_hu=t_vessel_max_hu)
        sinus &= ~drop
        outer &= ~drop
        del drop
    del gap_outside
    if grow_zone is not None:
        # blood in the bone rim reads the lumen: rim voxels at the lumen value within a
        # few face steps of the sinus are sinus (rim_plateau)
        add = rim_plateau(
            sinus, grow_zone & ~(sinus | outer), sm,
            lumen_hu=lumen, tol_hu=params.rim_plateau_noise_k * noise_hu,
            steps=params.rim_plateau_steps, min_faces=params.rim_plateau_min_faces,
        )  # fmt: skip
        sinus |= add
        del add, grow_zone
    cavity_vx = int((intracranial | ev).sum())
    return SinusResult(
        vessel=sinus | outer,
        evidence=ev,
        evidence_ml=n_ev * vx_mm3 / 1000.0,
        enhanced_fraction=n_ev / cavity_vx if cavity_vx else 0.0,
        contrast_median_hu=med,
        extracranial_ml=ext_ml,
        lumen_hu=lumen,
        edge_intracranial_hu=edge_ic if sinus.any() else float("nan"),
        edge_extracranial_hu=edge_ext if outer.any() else float("nan"),
    )


def _use_edge_prior(noise_hu: float, sp: Spacing, params: VesselParams) -> bool:
    """Whether the vessel edge is decided with the neighbour prior on this grid."""
    return noise_hu > 0 and params.edge_prior_nat > 0 and max(sp) <= params.edge_prior_max_voxel_mm
