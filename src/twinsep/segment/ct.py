"""Tissue segmentation of a head CT into labels 0..5 (see ``twinsep.labels``).

Steps (each explainable on one slide):

1. **Histogram**: air and soft-tissue peaks and the noise level of this very scan;
   every threshold is an offset from the soft-tissue peak, bounded by
   :class:`SegmentParams`, so a scanner calibrated ±50 HU off is handled alike.
2. **Body**: voxels above midway air/soft tissue; what a ball of ``carve_radius_mm``
   sweeps from pieces deeper than ``head_min_depth_mm`` (an opening on a ~2 mm grid)
   is the heads; thin parts near them (ears, nose) are added back, the table, head
   holder and tubes (thin, reaching far out) are not, and where one presses on the
   scalp the part of it the sweep took is cut back (``segment.pressed``); holes are
   filled.
3. **Bone**: hysteresis threshold (low: thin, partial-volume infant bone, raised to
   the local half-maximum so blurred edges of dense bone are not taken; high: seeds)
   without any closing, so sutures and fontanelles stay open.
4. **Intracranial space** (``segment.cavity``): a *copy* of the skull, closed with
   growing radii, and the scalp layer wall off pockets of the body, joined only through
   channels narrower than ``2 x cavity_channel_mm`` (a spinal canal, sutures); a pocket
   whose wall is mostly skull is a cranial cavity (a face or neck is walled by soft
   tissue), even under a bony defect at the union; it is carried to the full grid
   against the unclosed bone. Once the vessels are read (5), it is carried again with
   its wall rules (``segment.cavity_wall``): at a thin skull base the voxels holding
   part of a plate that the bone mask left out, and fat, do not carry it (blood is no
   plate; a sharp kernel is undone first, so its undershoot is no fat).
5. **Vessels**: bone is regrown from dense seeds down to the top of the blood range;
   contrast-band voxels outside its partial-volume rim, on the intracranial side and
   not touching the outside of the skull, in components of sinus size, are evidence
   of contrast (detected from their volume) and grow into the sinus wall; tube-shaped
   contrast buried in soft tissue (neck vessels) is added (see ``segment.vessels``).
6. **Brain vs CSF** (``segment.brain_csf``): cavity voxels brighter than the brain
   class can be (partial volume with bone or blood) are CSF; of the rest, those darker
   than the CSF/brain crossing of an EM mixture, on a smoothing normalised over them
   (so the bone rim does not leak in), are CSF too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from twinsep import labels as L
from twinsep.errors import ScanError
from twinsep.layout import from_canonical, to_canonical
from twinsep.segment import filters, morph
from twinsep.segment.blood_pool import find_blood_pools
from twinsep.segment.brain_csf import classify_brain_csf
from twinsep.segment.cavity import Cavity, find_cranial_cavity
from twinsep.segment.cavity_wall import walled_cavity
from twinsep.segment.foreign_metal import ForeignMetal, metal_not_bone, metal_warning
from twinsep.segment.histogram import (
    CTStats,
    NoiseLevel,
    histogram_peak,
    noise_level,
    noise_sigma,
    padding_value,
    sample_values,
)
from twinsep.segment.kernel import brain_csf_input
from twinsep.segment.leads import find_leads
from twinsep.segment.lungs import find_lungs
from twinsep.segment.marrow import find_marrow
from twinsep.segment.metal import MetalStreaks, corrected_smooth, find_metal_streaks
from twinsep.segment.params import SegmentParams
from twinsep.segment.pressed import cut_pressed_supports
from twinsep.segment.result import TissueLabels
from twinsep.segment.sinus_join import join_fragments
from twinsep.segment.skin_edge import half_filled_edge
from twinsep.segment.vessels import VesselLevels, contrast_detected, contrast_doubt, find_vessels
from twinsep.tilt import check_orthogonal
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

#: The warning of a CT read as plain: no sinus is segmented from it. ``segment.mr.fuse_mr``
#: drops it when an MR venogram supplies the sinuses.
NO_CONTRAST_WARNING = (
    "no contrast in the CT: dural venous sinuses and vessels are not segmented "
    "(inferred or missing); give an MR venogram with --mr to add them"
)


@dataclass(frozen=True)
class _Crop:
    lo: tuple[int, int, int]
    hi: tuple[int, int, int]

    def take(self, a: np.ndarray) -> np.ndarray:
        return a[self.lo[0] : self.hi[0], self.lo[1] : self.hi[1], self.lo[2] : self.hi[2]]


def ct_statistics(ct: Volume, params: SegmentParams = SegmentParams()) -> CTStats:
    """Air and soft-tissue peaks and noise sigma (HU) of a CT from its histogram.

    Raises
    ------
    ScanError
        If the values do not look like a CT in Hounsfield units.
    """
    rng = np.random.default_rng(params.seed)
    src = ct.meta.get("source", "CT")
    a = ct.array
    vals = sample_values(a, 400_000, rng).astype(np.float32)
    if not np.isfinite(vals).all():
        raise ScanError(src, "contains NaN or infinite values")
    lo_v, hi_v = float(np.percentile(vals, 0.5)), float(np.percentile(vals, 99.9))
    if lo_v > -500 or hi_v < 100:
        raise ScanError(
            src,
            f"values span {lo_v:.0f}..{hi_v:.0f}, which is not a CT in Hounsfield units "
            "(air should be near -1000 HU); give the CT in HU (an MR is planned on its own when it "
            "is recognised as MR, or beside the CT with --mr)",
        )
    # the air peak is patient air, not the exact fill outside a round field of view
    pad = padding_value(vals, *params.air_peak_range_hu, params.padding_min_share)
    air_vals = vals if pad is None else vals[vals != pad]
    air = histogram_peak(air_vals, *params.air_peak_range_hu) or -1000.0
    soft = histogram_peak(vals, *params.soft_peak_range_hu)
    if soft is None:
        raise ScanError(src, "has no soft-tissue peak between -150 and 150 HU; not a head CT")
    step = max(1, a.shape[2] // 64)
    sub = a[:, :, ::step]  # the noise is measured on every step-th plane only
    # differences at growing lags: real CT noise is correlated by the reconstruction
    # kernel, and neighbours alone saw 17 of 30 HU at 0.8 voxels (histogram.noise_level;
    # the whole window by default, its interior with params.noise_method "interior")
    level = noise_level(
        sub, (sub > (air + soft) / 2) & (np.abs(sub - soft) < 150), method=params.noise_method
    )
    c0, c1, c2 = level.corr_vox
    return CTStats(
        air_hu=air, soft_hu=soft, noise_hu=level.sigma_hu, noise_corr_vox=(c0, c1, c2 * step)
    )


def segment_ct(
    ct: Volume,
    *,
    contrast: bool | None = None,
    params: SegmentParams = SegmentParams(),
) -> TissueLabels:
    """Segment a head CT (HU) into tissue labels 0..5.

    Parameters
    ----------
    ct : Volume
        CT in Hounsfield units, any orientation and (anisotropic) spacing.
    contrast : bool, optional
        Force contrast on/off; None detects it from the image.
    params : SegmentParams
        Tunable numbers.

    Returns
    -------
    TissueLabels
        Labels on the CT grid; ``warnings`` lists what was assumed.

    Raises
    ------
    ScanError
        Values are not HU, no body, or no skull enclosing a cranial cavity (not a head);
        or a sheared (gantry-tilted) grid, which ``twinsep.io.load_scan`` corrects.
    """
    src = ct.meta.get("source", "CT")
    check_orthogonal(ct.affine, ct.shape, str(src))
    # the same scan stored in another layout (a sagittal stack, LPS, flipped slices) is
    # segmented as the same array: every rule below samples, smooths and differences in
    # the canonical layout (twinsep.layout), and the labels go back to the input's grid
    canon, layout = to_canonical(ct)
    if not layout.identity:
        res = segment_ct(canon, contrast=contrast, params=params)
        back = from_canonical(res.labels.array, layout)
        labels = Volume(back, ct.affine.copy(), dict(res.labels.meta))
        metal = None if res.metal is None else res.metal.from_canonical(layout)
        return replace(res, labels=labels, metal=metal)
    spacing = ct.spacing_mm
    warnings: list[str] = []
    stats = ct_statistics(ct, params)
    soft = stats.soft_hu
    t_body = float(np.clip((stats.air_hu + soft) / 2, *params.body_threshold_bounds_hu))
    logger.debug("CT peaks air %.0f soft %.0f noise %.1f HU", stats.air_hu, soft, stats.noise_hu)
    if abs(soft - 40.0) > 50:
        warnings.append(
            f"soft-tissue peak at {soft:.0f} HU (expected ~40 HU): CT calibration looks off; "
            "thresholds were shifted with it"
        )

    # --- crop to everything above the body threshold (table included) --------------
    box = morph._bounding_box(ct.array > t_body, [2, 2, 2])
    if box is None:
        raise ScanError(src, "has no voxel denser than air; it is empty")
    crop = _Crop(
        lo=(box[0].start, box[1].start, box[2].start),
        hi=(box[0].stop, box[1].stop, box[2].stop),
    )
    raw = crop.take(ct.array)
    sigma_vx = [params.smooth_sigma_mm / s for s in spacing]
    sm = filters.gaussian_filter(raw, sigma_vx, mode="nearest")
    # metal streaks (segment.metal): the contrast/vessel and brain/CSF rules read an
    # image whose streak voxels hold the tissue around them; None without metal
    # (in the canonical layout the third axis is the one nearest head-foot: an axial
    # scan's slices, where streaks lie, whatever layout the CT was stored in)
    streaks = find_metal_streaks(raw, spacing, soft_hu=soft, params=params.metal)
    raw_t: np.ndarray = raw
    sm_t: np.ndarray = sm
    if streaks is not None:
        warnings.append(streaks.warning())
        raw_t = streaks.corrected(raw)
        sm_t = corrected_smooth(sm, raw, streaks, sigma_vx)
    # streaks only lose contrast evidence (a dark line filled in never makes blood)
    sm_v = sm_t if streaks is None else np.minimum(sm, sm_t)

    body, body_filled = _body_mask(sm, t_body, spacing, params, src, soft_hu=soft)

    # --- bone by hysteresis ------------------------------------------------------------
    # the neighbour-difference sigma of the smoothed CT (what the noise multiples of the
    # bone and vessel rules were measured with), scaled by what neighbours miss of the
    # raw noise when it is correlated (1 for white noise)
    noise_sm = (
        noise_sigma(
            sm[:, :, :: max(1, sm.shape[2] // 64)],
            body[:, :, :: max(1, sm.shape[2] // 64)]
            & (np.abs(sm[:, :, :: max(1, sm.shape[2] // 64)] - soft) < 100),
        )
        * NoiseLevel(stats.noise_hu, stats.noise_corr_vox).neighbour_miss()
    )
    t_lo = soft + max(params.bone_low_offset_hu, params.bone_low_noise_k * noise_sm)
    t_hi = max(soft + params.bone_high_offset_hu, t_lo + 50.0)
    t_dense = soft + params.dense_bone_offset_hu
    bright = _bone_mask(sm_t, raw_t, soft, t_lo, t_hi, body_filled, spacing, params)
    if streaks is not None:
        bright &= ~streaks.metal  # an implant is not bone (its label stays soft tissue)
    # metal with or without streaks (ports, electrodes), and its bone-level rim, is not
    # bone either (segment.foreign_metal)
    foreign = metal_not_bone(
        raw, bright, spacing, soft_hu=soft, outside=~body_filled, params=params.metal
    )
    not_bone = None if foreign is None else foreign.metal | foreign.rim
    if not_bone is not None:
        bright &= ~not_bone

    # --- intracranial space ------------------------------------------------------------
    # body voxels that are part air: the cells and septa of pneumatised bone (mastoid,
    # sinuses), which keep a notch of air beside them counted as skin (segment.cavity)
    part_air = body_filled & (sm_t < soft + params.skin_air_cells_level * (stats.air_hu - soft))
    cav = _intracranial(bright, body_filled, spacing, params, src, part_air)
    intracranial, radius = cav.mask, cav.close_radius_mm
    del part_air
    logger.debug("skull closed at radius %.0f mm", radius)
    if foreign is not None:
        note = metal_warning(foreign, ct.affine, crop.lo, ~intracranial)
        if note is not None:
            warnings.append(note)
    if radius > params.skull_close_mm[0]:
        warnings.append(
            f"the skull has wide openings (closed only at {radius:.0f} mm): large fontanelles, "
            "a craniectomy or a scan cut through the skull; check the intracranial space"
        )

    # --- contrast and vessels ----------------------------------------------------------
    t_contrast = soft + params.contrast_offset_hu
    t_vessel_max = min(soft + params.vessel.max_offset_hu, t_dense)
    sinus = find_vessels(
        sm_v,
        intracranial,
        bright,
        body_filled,
        spacing,
        levels=VesselLevels(
            contrast_hu=t_contrast,
            vessel_max_hu=t_vessel_max,
            dense_hu=t_dense,
            soft_hu=soft,
            sigmas_mm=params.vessel_sigma_mm,
            ratio_min=params.tube_ratio_min,
            noise_hu=noise_sm,
        ),
        params=params.vessel,
    )
    frac = sinus.enhanced_fraction
    vp = params.vessel
    # Sinus evidence, weaker sinus evidence confirmed by the neck vessels, or strong
    # contrast in the neck vessels alone (segment.vessels.contrast_detected).
    detected = contrast_detected(sinus, vp)
    logger.debug(
        "contrast evidence %.2f mL (%.3f %% of the cavity), median %.0f HU",
        sinus.evidence_ml,
        100 * frac,
        sinus.contrast_median_hu,
    )
    doubt = contrast_doubt(sinus, vp)
    if contrast is None:
        contrast = detected
        if doubt is not None:
            warnings.append(
                f"the contrast call is uncertain: {doubt}; the CT was read as plain: no "
                "sinus is taken from it, and without sinuses the fusion's completeness is "
                "inferred, not seen; check whether the CT has contrast"
            )
    elif contrast != detected:
        warnings.append(
            f"contrast was set to {contrast} but the image suggests {detected} "
            f"({sinus.evidence_ml:.2f} mL, {100 * frac:.2f} % of the intracranial space, "
            "is enhanced away from bone)"
        )
    vessel = np.zeros(sm.shape, bool)
    if contrast:
        vessel = sinus.vessel
    # --- the cavity's wall at a thin skull base (segment.cavity_wall) ------------------
    # read after the vessel rule, which ran on the cavity as step 5 left it: the blood
    # it found (its confident evidence; its vessels on a contrast CT) is no plate
    intracranial = walled_cavity(
        cav,
        raw=raw_t,
        sm=sm_t,
        bone=bright,
        body_filled=body_filled,
        blood=sinus.evidence | vessel,
        spacing=spacing,
        t_lo=t_lo,
        soft_hu=soft,
        noise_hu=noise_sm,
        params=params,
    )
    cavity = intracranial
    del cav
    if contrast:
        # enhanced voxels the bone hysteresis took are blood, not bone; the cavity
        # includes its sinuses (and the rule's neck vessels: ``cavity`` is the skull's)
        intracranial = intracranial | vessel
    else:
        warnings.append(NO_CONTRAST_WARNING)

    # --- bone on thick slices ----------------------------------------------------------
    reach = thick_slice_reach_mm(spacing, params.bone_halfmax_mm)
    if reach is not None:
        # The contrast rule ran on the bone hysteresis as it is; the bone label takes
        # the half-maximum edge of the plate's full value (thick_slice_reach_mm).
        # A dropped voxel is left to soft tissue: joining those beside the cavity to it
        # (for the brain/CSF rule) gained CSF on plain rows but lost 0.005 CSF on
        # contrast rows (bench_grids, vertical-II 5 mm x). Vessel voxels are relabelled
        # below whatever this says.
        bright &= _bone_mask(sm_t, raw_t, soft, t_lo, t_hi, body_filled, spacing, params, reach)

    # --- cancellous bone between the tables (segment.marrow) --------------------------
    # Added to the bone label only, after the cavity and contrast rules and outside the
    # cavity (vessels included), so brain, CSF, vessels and the cavity are unchanged.
    marrow = find_marrow(
        sm,
        raw,
        bright,
        body_filled & ~intracranial,
        spacing,
        floor_hu=t_lo,
        seed_hu=t_hi,
        params=params,
    )
    bright[marrow] = True
    del marrow
    if not_bone is not None:
        bright &= ~not_bone

    # --- compact pools of contrast blood outside the skull (segment.blood_pool) -------
    # the heart and aortic root of a scan that takes in the chest: blood, not bone
    pool = find_blood_pools(
        sm,
        raw_t,
        bright,
        body_filled & ~intracranial,
        spacing,
        top_hu=t_vessel_max,
        noise_hu=stats.noise_hu,
        params=params,
    )
    bright &= ~pool

    # --- brain vs CSF (segment.brain_csf) on a CT whose sharp kernel is undone --------
    inner = intracranial & ~vessel
    raw_bc, noise_bc, kern = brain_csf_input(
        raw_t,
        sm_t,
        bright,
        inner,
        spacing,
        noise_hu=stats.noise_hu,
        soft_hu=soft,
        csf_max_contrast_hu=params.csf_max_contrast_hu,
        params=params.kernel,
    )
    if kern is not None:
        warnings.append(kern.warning())
    unread = _metal_slices(
        streaks, foreign, max(1, int(params.csf_fit_metal_reach_mm / spacing[2]))
    )
    split = classify_brain_csf(
        raw_bc,
        inner,
        spacing=spacing,
        soft_hu=soft,
        noise_hu=noise_bc,
        # a softened sharp kernel has noise of its own correlation (kernel.py)
        noise_corr_vox=stats.noise_corr_vox if kern is None else (0.0, 0.0, 0.0),
        metal_slices=unread,
        metal=_metal_voxels(streaks, foreign),
        params=params,
    )
    warnings.extend(split.warnings)
    brain, csf = split.brain, split.csf
    t_csf, t_mixed = split.csf_brain_hu, split.brain_mixed_hu
    if contrast:
        # a sinus broken into pieces on a coarse grid: pieces whose ends face each other
        # are joined through the band's CSF along their course (segment.sinus_join)
        vessel = vessel | join_fragments(
            sm_v,
            vessel,
            csf,
            spacing,
            floor_hu=t_contrast,
            lumen_hu=sinus.lumen_hu,
            params=vp,
        )

    if contrast:
        vessel = vessel | pool  # without contrast a pool at blood level stays soft tissue
    del pool
    full = np.zeros(ct.shape, np.uint8)
    lab = crop.take(full)  # a view: the crop's labels are written in place
    lab[body_filled] = L.SOFT_TISSUE
    air = body_filled & ~intracranial
    air &= sm < t_body
    # aerated lungs are air too, read against their own level (segment.lungs)
    lungs = find_lungs(
        sm,
        raw,
        body_filled,
        cavity,
        spacing,
        soft_hu=soft,
        air_hu=stats.air_hu,
        params=params.lungs,
    )
    air |= lungs
    # voxels beside the body that the noise cannot tell from half-filled ones are
    # tissue (segment.skin_edge): the skin's outer layer and the walls of inner air;
    # none while skin_edge_noise_k is 0 (the default: segment.skin_edge's docstring)
    edge = half_filled_edge(
        sm, body, t_body=t_body, noise_hu=noise_sm, noise_k=params.skin_edge_noise_k
    )
    edge &= ~lungs & ~intracranial
    del lungs
    air &= ~edge
    lab[air] = L.BACKGROUND  # air in sinuses/airway/lungs
    lab[edge] = L.SOFT_TISSUE
    del air, edge
    lab[bright] = L.BONE  # bright vessel voxels are relabelled below
    # ECG leads on or outside the skin are no tissue (segment.leads)
    lab[find_leads(body_filled, bright, spacing, params=params.leads) & ~intracranial] = (
        L.BACKGROUND
    )
    lab[brain] = L.BRAIN
    lab[csf] = L.CSF
    lab[vessel] = L.VESSEL
    vol = Volume(full, ct.affine.copy(), {"kind": "labels"})
    # where the streaking metal is, by slice of the CT's grid (what later stages read)
    metal_slices = None
    if streaks is not None:
        metal_slices = streaks.by_slice(offset=crop.lo[2], n_slices=ct.shape[2])
        if unread is not None:
            # the slices the brain/CSF split read no CSF body in (the ventricles stage
            # says so when they hold most of a twin's brain)
            full_k = np.zeros(ct.shape[2], bool)
            full_k[crop.lo[2] : crop.lo[2] + unread.size] = unread
            metal_slices = replace(metal_slices, unread=full_k)
    thresholds = {
        "air_peak_hu": round(stats.air_hu, 1),
        "soft_peak_hu": round(soft, 1),
        "noise_hu": round(stats.noise_hu, 1),
        "body_hu": round(t_body, 1),
        "bone_low_hu": round(t_lo, 1),
        "bone_high_hu": round(t_hi, 1),
        "dense_bone_hu": round(t_dense, 1),
        "contrast_hu": round(t_contrast, 1),
        "csf_brain_hu": round(t_csf, 1),
        "brain_mixed_hu": round(t_mixed, 1),
        "skull_close_mm": radius,
        "contrast_fraction": round(frac, 5),
        "contrast_evidence_ml": round(sinus.evidence_ml, 2),
        "contrast_extracranial_ml": round(sinus.extracranial_ml, 2),
        "contrast_ceiling_ml": round(sinus.ceiling_evidence_ml, 2),
        "vessel_max_hu": round(t_vessel_max, 1),
    }
    return TissueLabels(
        labels=vol,
        contrast=bool(contrast),
        hu_thresholds=thresholds,
        warnings=tuple(warnings),
        modality="CT",
        tissue_ml=tissue_volumes_ml(vol),
        metal=metal_slices,
    )


def _metal_slices(
    streaks: MetalStreaks | None, foreign: ForeignMetal | None, neighbours: int
) -> np.ndarray | None:
    """Slices across the third (acquisition) axis that hold metal, streaking or not, and
    ``neighbours`` slices either side; None without metal.

    Any metal in a slice can streak through it, also where the streak search found no
    line (a streak as wide as its reference, far from the metal), and in the slices
    beside it where the metal's partial volume stays below the metal level
    (``SegmentParams.csf_fit_metal_reach_mm``): the deep-CSF test leaves these slices
    out of its fit (``segment.brain_csf.classify_brain_csf``).
    """
    masks = [m.metal for m in (streaks, foreign) if m is not None]
    if not masks:
        return None
    k = np.zeros(masks[0].shape[2], bool)
    for m in masks:
        k |= m.any(axis=(0, 1))
    if not k.any():
        return None
    if neighbours > 0:
        k = ndimage.binary_dilation(k, iterations=neighbours)
    return k


def _metal_voxels(streaks: MetalStreaks | None, foreign: ForeignMetal | None) -> np.ndarray | None:
    """The metal voxels of the streak search and of ``segment.foreign_metal`` together
    (the pieces whose lines the streaks follow); None without metal."""
    masks = [m.metal for m in (streaks, foreign) if m is not None]
    if not masks:
        return None
    out: np.ndarray = np.logical_or.reduce(masks)
    return out


def tissue_volumes_ml(labels: Volume) -> dict[str, float]:
    """Volume (mL) of each tissue label in a label map.

    Voxels are counted per label on slabs of ~1 M voxels that stay in cache
    (``count_nonzero(slab == label)``: 0.06 s on a 512x512x400 map, where a ``bincount``
    casts the grid to int64 first and took 0.45-1.0 s).
    """
    a = labels.array
    counts = np.zeros(max(L.TISSUE_NAMES) + 1, np.int64)
    step = max(1, (1 << 20) // max(1, int(np.prod(a.shape[1:]))))
    for i in range(0, a.shape[0], step):
        slab = a[i : i + step]
        for val in L.TISSUE_NAMES:
            counts[val] += np.count_nonzero(slab == val)
    v = labels.voxel_volume_mm3 / 1000.0
    return {name: round(float(counts[val]) * v, 3) for val, name in L.TISSUE_NAMES.items()}


# ------------------------------------------------------------------------------------
# steps
# ------------------------------------------------------------------------------------
def _body_mask(
    sm: np.ndarray,
    t_body: float,
    spacing: morph.Spacing,
    params: SegmentParams,
    src: str,
    *,
    soft_hu: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Body without table, head holder and tubes: (body, body with holes filled).

    The heads are what a ball of ``carve_radius_mm`` can sweep (an opening, on a ~2 mm
    grid) starting from pieces at least ``head_min_depth_mm`` deep; a table, holder or
    tube is thinner than the ball, even where it presses on the scalp. Thin parts of
    the body that the ball misses (ears, nose, the jaw) are added back when they stay
    within ``appendage_mm`` of the swept heads or less than ``support_far_fraction`` of
    them lies beyond (a chin poking out); a table or tube reaches much farther out. Where
    a support presses on the scalp, head and support together are thicker than the
    ball, which then sweeps into the support; a touching piece with at least
    ``support_far_fraction`` of its volume beyond ``appendage_mm`` is a support, and its
    plate or rod is continued into the swept heads and cut out (``segment.pressed``).
    A touching piece that holds a core of its own (thicker than the ball somewhere, but
    less than ``head_min_depth_mm`` deep: an arm, or a chest wall with its arm) is body
    whatever its reach: no support is thicker than the ball. Without this, a scan that
    takes in the bodies lost their arms and chest walls (the lungs lie below the body
    threshold, so the chest is a shell) on grids where the arms' cores do not join the
    trunk's (1.5 mm: 1114 mL; 2.5 mm: joined, 95 mL; docs/segmentation.md).
    """
    raw_body = sm > t_body
    f = morph.downsample_factors(sm.shape, spacing, 2.0)
    csp = tuple(s * k for s, k in zip(spacing, f, strict=True))
    coarse = morph.block_mean(raw_body, f) >= 0.5
    depth = morph.distance_mm(coarse, csp)  # type: ignore[arg-type]
    cores = depth > params.carve_radius_mm
    lab, sizes = morph.component_sizes(cores)
    if sizes.size == 0:
        raise ScanError(
            src,
            f"nothing in the scan is thicker than {2 * params.carve_radius_mm:.0f} mm; "
            "not a head CT",
        )
    max_depth = np.zeros(sizes.size + 1, np.float32)
    np.maximum.at(max_depth, lab[cores], depth[cores])
    big = np.flatnonzero(max_depth[1:] >= params.head_min_depth_mm) + 1
    if big.size == 0:
        raise ScanError(
            src,
            f"nothing in the scan is thicker than {2 * params.head_min_depth_mm:.0f} mm "
            f"(deepest point {float(max_depth.max()):.0f} mm under the surface); "
            "not a head CT",
        )
    del depth
    lut = np.zeros(sizes.size + 1, bool)
    lut[big] = True
    # cores of pieces that are not heads (an arm): no support holds one
    other_c = cores & ~lut[lab]
    head_c = morph.dilate_mm(lut[lab], params.carve_radius_mm + 0.5 * max(csp), csp)  # type: ignore[arg-type]
    dist_c = morph.distance_to_mm(head_c, csp)  # type: ignore[arg-type]
    head = morph.upsample(head_c, f, sm.shape)  # type: ignore[arg-type]
    body = raw_body & head
    resid = raw_body & ~head
    # the piece of each residue voxel, in the raster order of flatnonzero
    which, sizes2 = morph.component_ids(resid)
    if sizes2.size:
        idx = np.flatnonzero(resid)
        # the coarse distance of each residue voxel's block: the value upsample would
        # give it, read without a full-grid copy of the distances (0.4 GB on 512^3)
        n1, n2 = sm.shape[1], sm.shape[2]
        ci = (idx // (n1 * n2) // f[0], idx // n2 % n1 // f[1], idx % n2 // f[2])
        dv = dist_c[ci]
        # pieces holding a core of their own (segment.ct._body_mask's docstring)
        thick = np.bincount(which[other_c[ci]], minlength=sizes2.size + 1) > 0
        del ci
        far = np.zeros(sizes2.size + 1, np.float32)
        near = np.full(sizes2.size + 1, np.inf, np.float32)
        np.maximum.at(far, which, dv)
        np.minimum.at(near, which, dv)
        touch = near <= 1.5 * max(csp)
        # a piece is part of the head when it stays within appendage_mm, or when only
        # a small share of it lies beyond (a jaw whose chin pokes out; its reach read on
        # the coarse grid depends on the grid); a support has most of its volume beyond
        beyond = np.bincount(which[dv > params.appendage_mm], minlength=sizes2.size + 1)
        total = np.concatenate([[0], sizes2])  # voxels per piece
        far_share = beyond >= params.support_far_fraction * total
        ok = ((far <= params.appendage_mm) | ~far_share | thick) & touch
        ok[0] = False
        body.flat[idx] = ok[which]  # body and resid are disjoint: set the residue only
        # a support pressed on the scalp: most of the piece lies beyond appendage_mm;
        # the part of it the sweep took is cut back (segment.pressed)
        support = touch & ~ok & far_share
        support[0] = False
        sel = np.flatnonzero(support[which] & (dv <= 2.0 * params.carve_radius_mm))
        if sel.size:
            # the contact layer whole, of the rest every step-th voxel: the shape fit needs
            # no more than ~10^5 (a 512^3 CT's table holds 1.5 M within reach)
            tv = dv[sel] <= 1.5 * max(csp)
            tv_or_step = tv.copy()
            tv_or_step[:: max(1, sel.size // 100_000)] = True
            sel, tv = sel[tv_or_step], tv[tv_or_step]
            pts = np.stack(np.unravel_index(idx[sel], sm.shape), axis=1) * np.asarray(spacing)
            ws = which[sel]
            n_cut = cut_pressed_supports(
                body,
                sm,
                [(pts[ws == p], tv[ws == p]) for p in np.unique(ws)],
                spacing,
                soft_hu=soft_hu,
                max_half_thickness_mm=params.carve_radius_mm,
                reach_mm=params.carve_radius_mm,
                thin_ratio=params.support_thin_ratio,
                min_contrast_sigmas=params.support_contrast_sigmas,
            )
            logger.debug("%d voxels of supports pressed on the scalp removed", n_cut)
        del which, dv, idx
    body = morph.keep_large_components(body, 0.2)
    filled = morph.fill_holes(body)
    return body, filled


def _bone_mask(
    sm: np.ndarray,
    raw: np.ndarray,
    soft: float,
    t_lo: float,
    t_hi: float,
    within: np.ndarray,
    spacing: morph.Spacing,
    params: SegmentParams,
    reach_mm: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """Bone (and bright blood) by hysteresis with a local half-maximum edge.

    A voxel is bright when the smoothed image ``sm`` is above ``t_lo`` (a noise-safe
    floor) *and* the unsmoothed CT ``raw`` is above half-way between soft tissue and
    the brightest unsmoothed voxel within ``bone_halfmax_mm`` (the edge of a plate lies
    at half its peak, whatever that peak: 1500 HU in an adult, 300 HU in a newborn's
    thin parietal bone). The edge is drawn on the unsmoothed CT because smoothing widens
    the profile of a plate as thin as the blur and lowers its peak, so half of that
    peak lies outside the plate (a 1.5 mm plate under a 1.2 mm PSF at 0.6 mm voxels came
    out 2.1 mm thick on the smoothed image, 1.7 mm on the CT itself); noise of tens of HU
    moves an edge rising hundreds of HU per mm by hundredths of a mm. The brightest
    noisy voxel overshoots the bone by ~2-2.5 noise sigmas (27-125 voxels), which moves
    the edge by 1-2 % of a 1000 HU contrast, less than the smoothing's lowered peak
    (10-25 % on plates of 1.5-2 mm); taking it off (the expected maximum of n normals)
    thickened 2 mm plates by 0.16 mm and was dropped. Bright components
    whose smoothed value reaches ``t_hi`` somewhere are kept (seeds from the smoothed
    image, so a noise spike never seeds bone). ``reach_mm`` (per axis) replaces
    ``bone_halfmax_mm`` as the half-width of that neighbourhood
    (:func:`thick_slice_reach_mm`).
    """
    r = reach_mm if reach_mm is not None else (params.bone_halfmax_mm,) * 3
    half = [max(1, int(round(h / s))) for h, s in zip(r, spacing, strict=True)]
    out = np.zeros(sm.shape, bool)
    # Only voxels >= t_lo inside ``within`` can be bone: the maximum filter runs on their
    # bounding box grown by its half-width (exact there: every window of a box voxel
    # lies in the grown box, or is cut by the array border just as on the full grid).
    box = morph._bounding_box((sm >= t_lo) & within, [0, 0, 0])
    if box is None:
        return out
    grown = tuple(
        slice(max(b.start - h, 0), min(b.stop + h, n))
        for b, h, n in zip(box, half, sm.shape, strict=True)
    )
    peak = filters.maximum_filter(raw[grown], [2 * h + 1 for h in half], mode="nearest")
    inner = tuple(
        slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, grown, strict=True)
    )
    # the same float32 products and sums, in place (two box-sized float32 temporaries
    # fewer: 0.76 GB on a 512x464x400 CT)
    edge = peak[inner].astype(np.float32)
    del peak
    np.multiply(edge, np.float32(0.5), out=edge)
    np.add(edge, np.float32(0.5 * soft), out=edge)
    sm_box = sm[box]
    low = sm_box >= t_lo
    low &= raw[box] >= edge
    low &= within[box]
    del edge
    out[box] = _hysteresis(low, sm_box >= t_hi)
    return out


def thick_slice_reach_mm(
    spacing_mm: morph.Spacing, halfmax_mm: float
) -> tuple[float, float, float] | None:
    """Per-axis half-width (mm) of the bone peak search on a thick-slice grid, or None.

    A slab of thickness ``s`` averages a plate of thickness ``t < s`` lying along it to
    at most ``B t / s + soft (1 - t / s)`` (bone value ``B``): an infant vault of 2 mm
    and 1100 HU reads ~460 HU in a 5 mm slice, so the local half-maximum edge of
    :func:`_bone_mask`, read from that lowered peak, takes voxels holding a fifth of
    bone whose centres lie outside the plate. The plate's full value shows where it
    crosses the slab steeply; a plate tilted by 45 degrees through a voxel's centre
    lies up to ``(s_max - s_a) / 2`` beyond the voxel's own half-width along axis
    ``a`` within the slab, so the peak is searched ``halfmax_mm + (s_max - s_a) / 2``
    along each axis. (The whole ``s_max - s_a`` measured the same on box-averaged
    5 mm slices but lost 0.006 bone on a phantom rendered straight on 1 x 1 x 3 mm
    voxels, tests/segment/test_aniso_grids.py, where no slab lowers the peak and the
    wider search reaches denser bone.) None (no change) on isotropic grids and where
    no voxel is thicker than ``halfmax_mm`` (the plate is not thinner than the
    slab).

    Parameters
    ----------
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    halfmax_mm : float
        ``SegmentParams.bone_halfmax_mm`` (mm).

    Returns
    -------
    tuple of float or None
        Half-widths (mm) along i, j, k, or None when the grid needs none.
    """
    s = [float(v) for v in spacing_mm]
    top = max(s)
    if top <= halfmax_mm or top - min(s) <= 1e-6 * top:
        return None
    return (
        halfmax_mm + 0.5 * (top - s[0]),
        halfmax_mm + 0.5 * (top - s[1]),
        halfmax_mm + 0.5 * (top - s[2]),
    )


def _hysteresis(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Voxels of ``low`` connected (26) to a voxel of ``low & high``."""
    ids, sizes = morph.component_ids(low)  # the piece of each low voxel, raster order
    if sizes.size == 0:
        return low
    seeds = np.unique(ids[high[low]])
    lut = np.zeros(sizes.size + 1, bool)
    lut[seeds] = True
    lut[0] = False
    out: np.ndarray = np.zeros(low.shape, bool)
    out[low] = lut[ids]  # look up the low voxels only (6 % of the bone box)
    return out


def _intracranial(
    bone: np.ndarray,
    body_filled: np.ndarray,
    spacing: morph.Spacing,
    params: SegmentParams,
    src: str,
    part_air: np.ndarray | None = None,
) -> Cavity:
    """Cranial cavity, with the skull-closing radius (mm) used (see ``segment.cavity``)."""
    return find_cranial_cavity(
        bone, body_filled, spacing, params=params, source=src, part_air=part_air
    )


def _drop_small(mask: np.ndarray, min_vx: int) -> np.ndarray:
    lab, sizes = morph.component_sizes(mask)
    if sizes.size == 0:
        return mask
    lut = np.concatenate([[False], sizes >= min_vx])
    return lut[lab]
