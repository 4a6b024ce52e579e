"""The lumen plateau: vessel pieces whose interior scatters by structure are bone.

Last, the lumen plateau (:func:`lumen_is_plateau`, on the CT grid after delineation):
blood is one mixed fluid, so the interior of a lumen (voxels deeper than ``rim_mm``)
scatters by the noise only; cancellous and thin complex bone whose partial volume lies
in the contrast band (sphenoid body, clivus, clinoids, petrous apex of an adult skull
base) scatters by its structure. A vessel piece whose interior's robust SD exceeds
``lumen_spread_noise_k`` noise sigmas and ``lumen_spread_fraction`` of its enhancement
is bone and goes, with its share of the contrast evidence; when the pieces together show
no plateau, no evidence is left. On the real plain adult CT of Debian's
``invesalius-examples`` (0.96 x 0.96 x 1.5 mm) the 23 mL of "vessel" at the skull base
had a robust SD of 76 HU (noise 4.3 HU, limit 38 HU) and 4.0 mL of evidence called it
enhanced; every contrast row of the benchmark stays at most 0.54 of its limit.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from twinsep.segment import morph
from twinsep.segment.morph import Spacing
from twinsep.segment.params import VesselParams
from twinsep.segment.vessels.contrast import SinusResult, VesselLevels
from twinsep.segment.vessels.grid import _dilate_faces
from twinsep.segment.vessels.lumen import _MIN_SAMPLES, _interior_sample_flat

logger = logging.getLogger(__name__)


def lumen_is_plateau(
    spread_hu: float, lumen_hu: float, levels: VesselLevels, params: VesselParams
) -> bool:
    """Whether the vessels' interior scatters as little as blood in one lumen can.

    Blood is one fluid and the iodine in it is mixed, so the interior of a lumen
    (voxels deeper than the blur) reads one value plus the image noise: its robust
    standard deviation stays within ``params.lumen_spread_noise_k`` noise sigmas, or
    ``params.lumen_spread_fraction`` of the lumen's enhancement over soft tissue
    (inflow, mixing and texture of a real scan). Cancellous and thin complex bone whose
    partial volume lies in the contrast band (skull base, petrous apex, clinoids) scatters
    by its structure, tens to hundreds of HU. NaN spread (no interior) counts as a plateau:
    the rule then decides nothing.

    Parameters
    ----------
    spread_hu : float
        Robust standard deviation (HU) of the interior voxels.
    lumen_hu : float
        Their median (HU).
    levels : VesselLevels
        ``noise_hu`` (noise sigma of the smoothed CT) and ``soft_hu``.
    params : VesselParams
        ``lumen_spread_noise_k`` and ``lumen_spread_fraction``.

    Returns
    -------
    bool
    """
    if not np.isfinite(spread_hu) or params.lumen_spread_noise_k <= 0:
        return True
    limit = max(
        params.lumen_spread_noise_k * max(levels.noise_hu, 0.0),
        params.lumen_spread_fraction * (lumen_hu - levels.soft_hu),
    )
    return bool(spread_hu <= limit)


def lumen_below_ceiling(
    spread_hu: float, lumen_hu: float, levels: VesselLevels, params: VesselParams
) -> bool:
    """Whether a plateau lies inside the contrast band, not piled up under its ceiling.

    Voxels above the top of the blood range (``levels.vessel_max_hu``) are never vessel,
    so the band cuts every interior there. A lumen's values are symmetric about its
    level and the cut takes at most its upper tail; a broad partial-volume spread of
    thin bone (a 2-3 mm infant vault without a core on 2 mm voxels) cut by the ceiling
    piles up under it with a small robust SD, a false plateau. For a normal lumen of
    level ``mu`` and sigma ``s`` cut at ``c = mu + t s``, the distance of the median
    below ``c`` in robust SDs of what is left is 1.09 at ``t = 0`` (level at the
    ceiling), 1.42 at ``t = 1``, 2.08 at ``t = 2``, ``t`` itself for large ``t``, and
    tends to 0.85 as the level rises far above the ceiling (the cut piece of the lower
    tail is then exponential). NaN spread (no interior) and a threshold of 0 decide
    nothing (True).

    Parameters
    ----------
    spread_hu : float
        Robust standard deviation (HU, IQR / 1.349) of the interior voxels.
    lumen_hu : float
        Their median (HU).
    levels : VesselLevels
        ``vessel_max_hu``, the top of the blood range.
    params : VesselParams
        ``lumen_ceiling_sd``.

    Returns
    -------
    bool
        ``vessel_max_hu - lumen_hu >= lumen_ceiling_sd * spread_hu``.
    """
    if not np.isfinite(spread_hu) or params.lumen_ceiling_sd <= 0:
        return True
    return bool(levels.vessel_max_hu - lumen_hu >= params.lumen_ceiling_sd * spread_hu)


def _plateau_check(
    res: SinusResult, sm: np.ndarray, sp: Spacing, levels: VesselLevels, params: VesselParams
) -> SinusResult:
    """``res`` without the vessel pieces whose interior is no lumen plateau.

    Each 26-connected vessel piece with at least ``_MIN_SAMPLES`` interior voxels (deeper
    than ``params.rim_mm``; sampled, :func:`_interior_sample_flat`) is tested on its own
    (:func:`lumen_is_plateau`): a textured piece is bone in the contrast band, and its
    part thick enough to show an interior (:func:`_thick_part`) goes with the evidence
    voxels in it (``evidence_ml`` and ``enhanced_fraction`` shrink in proportion to the
    evidence voxels lost); its thin branches were not sampled and are not judged by it (a
    sinus network joined to a vertebral body on a 3 mm grid, whose sinuses are too thin
    for an interior, was lost whole). When the interior of all pieces together is no
    plateau either and the neck vessels do not show contrast by themselves
    (``extracranial_ml`` below ``params.neck_alone_ml``), nothing in the image shows
    blood: the textured pieces and the pieces too small to show an interior go whole and
    no evidence is left. A piece whose own interior is a plateau within
    ``params.lumen_spread_noise_k`` noise sigmas alone (one fluid, without the
    ``lumen_spread_fraction`` allowance) shows blood too: the pooled interior of a lumen
    and a bone piece is no plateau (the blind MR phantom's CT venogram on a 2 mm grid:
    a neck vein of 46 interior voxels, robust SD 13 HU at 14 HU noise, pooled with a
    skull plate's 390-455 HU, robust SD 85 HU, lost every sinus and the call). A plateau
    piled up under the top of the blood range shows no blood, neither pooled nor in a
    piece (:func:`lumen_below_ceiling`; the plain CT of that phantom on 2 mm pooled 28
    interior voxels of skull plate, median 437 HU, robust SD 40 HU, 0.88 SDs under the
    472 HU ceiling, and was called contrast); it does not make a piece textured.
    ``lumen_spread_hu`` is the spread of all pieces. Not on grids with a voxel longer
    than ``params.lumen_voxel_max_mm`` along some axis (6 mm: every grid the
    segmentation plans on). Thick slices are read too: the interior lies one voxel deep
    along the slice axis as well, so only a lumen three slices long is sampled, and on
    5-6 mm slices contrast lumens read 9.6-25.5 HU while the skull base of a plain adult
    CT averaged across the slice reads 68-80 HU (until 2026-11-29 the bound was 4 mm,
    and that CT in 5-6 mm slices was called contrast on 6.3-7.6 mL of its partial
    volume; docs/segmentation.md, "The contrast call on thick slices").
    """
    if params.lumen_spread_noise_k <= 0 or not res.vessel.any():
        return res
    if max(sp) > params.lumen_voxel_max_mm:
        # beyond the thickest slices the segmentation plans on nothing was measured
        return res
    shape = res.vessel.shape
    lab, sizes, f = _coarse_pieces(res.vessel, sp, params.work_grid_mm)
    flat = _interior_sample_flat(res.vessel, sp, params.rim_mm, _PLATEAU_SAMPLES)
    if flat.size < _MIN_SAMPLES:
        return res
    vals = np.ravel(sm)[flat] if sm.flags.c_contiguous else sm.flat[flat]
    ids = _labels_at(lab, f, flat, shape)
    q25, q50, q75 = np.percentile(vals, [25.0, 50.0, 75.0])
    spread = float(q75 - q25) / 1.349
    overall = lumen_is_plateau(spread, float(q50), levels, params)
    # a plateau piled up under the band's ceiling shows no blood (lumen_below_ceiling)
    shows = overall and lumen_below_ceiling(spread, float(q50), levels, params)
    # distances (robust SDs) under the ceiling of the plateaus the ceiling verdict refused
    refused = [_ceiling_distance_sd(spread, float(q50), levels)] if overall and not shows else []
    # per piece: quartiles of each label's samples (sorted by label, then value)
    order = np.lexsort((vals, ids))
    v_sorted, id_sorted = vals[order], ids[order]
    first = np.searchsorted(id_sorted, np.arange(1, sizes.size + 1), side="left")
    count = np.searchsorted(id_sorted, np.arange(1, sizes.size + 1), side="right") - first
    drop = np.zeros(sizes.size + 1, bool)
    # a piece whose interior scatters by the image noise alone is one fluid: blood
    quiet = replace(params, lumen_spread_fraction=0.0)
    blood_piece = False
    for i in np.flatnonzero(count >= _MIN_SAMPLES):
        v = v_sorted[first[i] : first[i] + count[i]]
        a, m, b = np.percentile(v, [25.0, 50.0, 75.0])
        sd = float(b - a) / 1.349
        drop[i + 1] = not lumen_is_plateau(sd, float(m), levels, params)
        if lumen_is_plateau(sd, float(m), levels, quiet):
            if lumen_below_ceiling(sd, float(m), levels, params):
                blood_piece = True
            else:
                refused.append(_ceiling_distance_sd(sd, float(m), levels))
    # no plateau anywhere shows no blood only when nothing else does: on a ~3 mm grid a
    # sinus is too thin for an interior, and a bone piece may be the only one sampled;
    # the pooled interior of a bone piece and a lumen is no plateau, but the lumen's own
    # interior still shows blood
    blood_elsewhere = res.extracranial_ml >= params.neck_alone_ml or blood_piece
    drop_all = not shows and not blood_elsewhere
    # the ceiling verdict alone took every sign of blood, and a refused plateau lies where
    # a lumen at the top of the blood range lies too (ceiling_doubt_sd): the call is in doubt
    ceiling_took = drop_all and any(z >= params.ceiling_doubt_sd for z in refused)
    ceiling_sd = max(refused) if refused else float("nan")
    out = replace(res, lumen_spread_hu=spread, ceiling_sd=ceiling_sd)
    if ceiling_took:
        # what the verdicts without the ceiling would have kept (only the textured
        # pieces' thick parts go): the evidence the ceiling verdict took
        thick = _thick_parts(
            res.vessel, drop, lab, f, sp, params.rim_mm, params.textured_branch_min_mm
        )
        ev_n = int(np.count_nonzero(res.evidence))
        kept_uncut = 1.0 if ev_n == 0 else np.count_nonzero(res.evidence & ~thick) / ev_n
        out = replace(out, ceiling_evidence_ml=res.evidence_ml * float(kept_uncut))
    if drop_all:
        drop[1:][count < _MIN_SAMPLES] = True
    logger.debug(
        "vessel interior: median %.0f HU, robust SD %.0f HU (noise %.1f HU), %s; %d of %d "
        "pieces with an interior are textured (bone, not blood)",
        q50, spread, levels.noise_hu,
        ("a lumen plateau" if shows else "a plateau under the band's ceiling") if overall
        else "no plateau",
        int(drop[1:][count >= _MIN_SAMPLES].sum()), int((count >= _MIN_SAMPLES).sum()),
    )  # fmt: skip
    if not drop.any() and not drop_all:
        return out
    if drop_all:
        # no evidence is left even when every piece with an interior is a plateau of
        # its own (one piled up under the ceiling shows no blood, lumen_below_ceiling)
        vessel, n_gone = _without(res.vessel, drop, lab, f)
        evidence = np.zeros_like(res.evidence)
        kept = 0.0
    else:
        thick = _thick_parts(
            res.vessel, drop, lab, f, sp, params.rim_mm, params.textured_branch_min_mm
        )
        vessel = res.vessel & ~thick
        evidence = res.evidence & ~thick
        n_gone = int(np.count_nonzero(res.vessel)) - int(np.count_nonzero(vessel))
        ev_n = int(np.count_nonzero(res.evidence))
        kept = 1.0 if ev_n == 0 else float(np.count_nonzero(evidence)) / ev_n
    logger.debug(
        "vessel: %d voxels dropped (%s); sinus evidence %.2f -> %.2f mL",
        n_gone,
        "no blood anywhere: textured and interior-less pieces whole" if drop_all
        else "the thick part of textured pieces",
        res.evidence_ml, res.evidence_ml * kept,
    )  # fmt: skip
    return replace(
        out,
        vessel=vessel,
        evidence=evidence,
        evidence_ml=res.evidence_ml * kept,
        enhanced_fraction=res.enhanced_fraction * kept,
    )


def _ceiling_distance_sd(spread_hu: float, lumen_hu: float, levels: VesselLevels) -> float:
    """Distance (robust SDs) of a plateau's median under the top of the blood range
    (the statistic of :func:`lumen_below_ceiling`); inf for a spread of 0."""
    gap = levels.vessel_max_hu - lumen_hu
    return float(gap / spread_hu) if spread_hu > 0 else float(np.copysign(np.inf, gap))


def _thick_part(piece: np.ndarray, sp: Spacing, blur_mm: float, branch_min_mm: float) -> np.ndarray:
    """What of a textured ``piece`` is judged by its interior: its part thick enough to
    show one (voxels farther than ``blur_mm`` and one voxel along every axis from its
    outside, as in :func:`_interior_values`) grown back by that reach and one voxel more
    (an opening that also takes the single-voxel spurs of a bone piece's rim), and every
    thin remainder that stays within ``branch_min_mm`` of it (the partial-volume plates
    of cancellous bone around its thick parts). Thin branches that run farther away (a
    sinus or artery joined to a vertebral body on a coarse grid) stay out."""
    m = np.pad(np.asarray(piece, dtype=bool), 1)
    out = ~m
    inner = m & ~(morph.dilate_mm(out, blur_mm, sp) | _dilate_faces(out))
    thick = m & (morph.dilate_mm(inner, blur_mm + max(sp), sp) | _dilate_faces(inner))
    rest = m & ~thick
    if thick.any() and rest.any():
        lab, n = morph.label_components(rest, 26)
        far = np.zeros(n + 1, bool)
        far[np.unique(lab[morph.distance_to_mm(thick, sp) > branch_min_mm])] = True
        far[0] = False
        thick |= rest & ~far[lab]
    return np.asarray(thick[1:-1, 1:-1, 1:-1])


def _thick_parts(
    mask: np.ndarray,
    which: np.ndarray,
    lab: np.ndarray,
    f: tuple[int, int, int],
    sp: Spacing,
    blur_mm: float,
    branch_min_mm: float,
) -> np.ndarray:
    """Union of :func:`_thick_part` of the pieces of ``mask`` whose block label
    (``lab``, block factors ``f``; :func:`_coarse_pieces`) is marked in ``which``; each
    piece is worked on its own bounding box."""
    thick = np.zeros(mask.shape, bool)
    for t in np.flatnonzero(which[1:]) + 1:
        bi = np.nonzero(lab == t)
        lo = [int(b.min()) for b in bi]
        hi = [int(b.max()) + 1 for b in bi]
        box = tuple(
            slice(a * k, min(b * k, n)) for a, b, k, n in zip(lo, hi, f, mask.shape, strict=True)
        )
        sub = lab[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        for ax, k in enumerate(f):
            sub = np.repeat(sub, k, axis=ax)
        sub = sub[tuple(slice(0, s.stop - s.start) for s in box)]
        piece = mask[box] & (sub == t)
        thick[box] |= _thick_part(piece, sp, blur_mm, branch_min_mm)
    return thick


def _coarse_pieces(
    mask: np.ndarray, sp: Spacing, grid_mm: float
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """Pieces of ``mask`` as the 26-connected components of its blocks of about
    ``grid_mm`` (a block is in when any of its voxels is): ``(labels of the block grid,
    sizes, block factors)``. The blocks are set from the mask's own voxels and labelled
    instead of the voxels: on a 0.3 x 0.3 x 0.75 mm CT, whose vessels span the whole
    head, labelling (or even copying) the full grid costs most of a second. Pieces
    closer than a block join."""
    f = morph.downsample_factors(mask.shape, sp, grid_mm)
    cshape = tuple(-(-n // k) for n, k in zip(mask.shape, f, strict=True))
    coarse = np.zeros(cshape, bool)
    m = np.ravel(mask) if mask.flags.c_contiguous else np.ascontiguousarray(mask).ravel()
    i, j, k = np.unravel_index(np.flatnonzero(m), mask.shape)
    coarse[i // f[0], j // f[1], k // f[2]] = True
    lab, sizes = morph.component_sizes(coarse)
    return lab, sizes, f


def _labels_at(
    lab: np.ndarray, f: tuple[int, int, int], flat: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray:
    """Block-grid labels of the voxels with flat indices ``flat`` on a grid of ``shape``."""
    i, j, k = np.unravel_index(flat, shape)
    return lab[i // f[0], j // f[1], k // f[2]]


def _without(
    mask: np.ndarray, drop: np.ndarray, lab: np.ndarray, f: tuple[int, int, int]
) -> tuple[np.ndarray, int]:
    """A copy of ``mask`` without its voxels in blocks whose label is marked in ``drop``,
    and how many went."""
    out = np.ascontiguousarray(mask, dtype=bool).copy()
    flat = np.flatnonzero(out)
    gone = flat[drop[_labels_at(lab, f, flat, out.shape)]]
    out.reshape(-1)[gone] = False
    return out, int(gone.size)


#: Most vessel voxels read for the lumen plateau test (a quartile of 20 000 samples has a
#: standard error below 1 % of the spread).
_PLATEAU_SAMPLES = 20_000
