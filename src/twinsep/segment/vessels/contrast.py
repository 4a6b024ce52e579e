"""The vessel rule's inputs and result, and the contrast call read off the result.

:class:`VesselLevels` (the HU levels of one CT), :class:`SinusResult` (what the rule
found), :func:`contrast_detected` (is there contrast), :func:`contrast_doubt` (is that
call in doubt) and :func:`core_seed_hu` (the level of a confident contrast seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinsep.segment.params import VesselParams


@dataclass(frozen=True)
class VesselLevels:
    """HU levels of one CT and the tube-test settings that the vessel rule reads.

    Measured by ``segment_ct`` from the image's own histogram (offsets from its
    soft-tissue peak, ``SegmentParams``), so one value object travels from
    :func:`find_vessels` to the rule on each grid instead of seven loose numbers.

    Attributes
    ----------
    contrast_hu : float
        Lower edge of enhanced blood (HU).
    vessel_max_hu : float
        Upper edge of enhanced blood (HU); brighter voxels connected to dense bone are bone.
    dense_hu : float
        Dense-bone seed level (HU); never contrast.
    soft_hu : float
        Soft-tissue peak (HU).
    sigmas_mm : tuple of float
        Gaussian scales (mm) of the Hessian tube test.
    ratio_min : float
        Minimum ``|lambda2| / |lambda3|`` of the tube test.
    noise_hu : float
        Noise sigma (HU) of the smoothed CT, from differences of neighbours in soft
        tissue; 0 decides the vessel edge voxel by voxel (no neighbour prior).
    """

    contrast_hu: float
    vessel_max_hu: float
    dense_hu: float
    soft_hu: float
    sigmas_mm: tuple[float, ...]
    ratio_min: float
    noise_hu: float = 0.0


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
        volume of thin bone on a coarse grid is fragmented), counting only voxels more
        than ``VesselParams.evidence_clear_vx`` voxels (26-neighbourhood) from the bone
        core.
    enhanced_fraction : float
        ``evidence_ml`` over the cranial cavity volume (incl. the evidence).
    contrast_median_hu : float
        Median smoothed value of the evidence voxels (HU), NaN when there are none.
    extracranial_ml : float
        Volume (mL) of tube-shaped contrast found in soft tissue (neck vessels), in
        pieces that do not lie on bone (``VesselParams.ext_bone_side_max``) nor between
        air cells (pneumatised bone, ``VesselParams.ext_gas_share``).
    lumen_hu : float
        Lumen value of the vessels (HU): median of their interior voxels (NaN when
        there is no vessel).
    edge_intracranial_hu, edge_extracranial_hu : float
        Half-maximum edge (HU) applied to sinuses (against CSF and brain) and to
        vessels in soft tissue; NaN when not applicable.
    lumen_spread_hu : float
        Robust standard deviation (HU, interquartile range / 1.349) of the vessels'
        interior voxels on the CT grid, before textured pieces were dropped
        (:func:`lumen_is_plateau`, ``_plateau_check``); NaN when fewer than
        ``_MIN_SAMPLES`` voxels lie deeper than the blur. When it exceeds the plateau
        limit, ``evidence_ml`` and ``enhanced_fraction`` are 0.
    ceiling_evidence_ml : float
        Sinus evidence (mL) that only the ceiling verdict took (``_plateau_check``,
        :func:`lumen_below_ceiling`): without it a plateau lying at least
        ``VesselParams.ceiling_doubt_sd`` of its robust SDs under the top of the blood
        range would have shown blood and this evidence would have been kept; 0 when the
        ceiling verdict took nothing, or when every plateau it refused lies nearer the
        ceiling than that (a level above the top of the blood range: bone), or when
        something else shows blood (:func:`contrast_doubt`).
    ceiling_sd : float
        The largest distance (robust SDs) under the top of the blood range among the
        plateaus that the ceiling verdict refused; NaN when it refused none.
    """

    vessel: np.ndarray
    evidence: np.ndarray
    evidence_ml: float
    enhanced_fraction: float
    contrast_median_hu: float
    extracranial_ml: float = 0.0
    lumen_hu: float = float("nan")
    edge_intracranial_hu: float = float("nan")
    edge_extracranial_hu: float = float("nan")
    lumen_spread_hu: float = float("nan")
    ceiling_evidence_ml: float = 0.0
    ceiling_sd: float = float("nan")


def contrast_detected(res: SinusResult, params: VesselParams) -> bool:
    """Whether the CT holds iodinated contrast, from the evidence in ``res``.

    Any one of three cues: enough sinus evidence (``contrast_min_ml``); smaller sinus
    evidence (``contrast_support_ml``) confirmed by contrast-filled neck vessels
    (``extracranial_min_ml``, an independent cue: unenhanced blood is far below the
    contrast band); or neck vessels alone far beyond what partial volume of thin bone
    imitates without contrast (``neck_alone_ml``; on grids of ~3 mm the sinus may leave
    almost nothing outside the bone rim). The sinus cues also need the evidence to
    fill ``contrast_min_fraction`` of the cavity.
    """
    sinus_ok = res.enhanced_fraction >= params.contrast_min_fraction and (
        res.evidence_ml >= params.contrast_min_ml
        or (
            res.evidence_ml >= params.contrast_support_ml
            and res.extracranial_ml >= params.extracranial_min_ml
        )
    )
    return bool(sinus_ok or res.extracranial_ml >= params.neck_alone_ml)


def contrast_doubt(res: SinusResult, params: VesselParams) -> str | None:
    """Why a CT that :func:`contrast_detected` calls plain may hold contrast, or None.

    Two blind spots of the call, where a rule with a margin between the plain and the
    contrast CTs measured was not found (docs/segmentation.md, "Contrast CTs called
    plain"), so the plan says the call is in doubt instead of changing it:

    * sinus evidence of at least ``contrast_support_ml`` but under ``contrast_min_ml``
      with no neck vessels to confirm it: what the support cue accepts when a neck is
      in view. A contrast sinus on a 2-3 mm grid without the neck (the analytic infant
      head: 1.24-1.96 mL at 2-3 mm) leaves that much, while plain CTs keep 0 mL after
      the plateau rules; but the evidence of thin bone without a core before those rules
      reached 2.71 mL, so volume alone does not prove contrast;
    * the ceiling verdict alone took every sign of blood, and the evidence it took
      (``ceiling_evidence_ml``) is at least ``contrast_support_ml``: a lumen at the top
      of the blood range and thin bone piled up under it look alike there
      (``VesselParams.ceiling_doubt_sd``).

    Parameters
    ----------
    res : SinusResult
        The sinus rule's result after the plateau check.
    params : VesselParams
        ``contrast_support_ml`` and what :func:`contrast_detected` reads.

    Returns
    -------
    str or None
        The reason in plain words (no trailing period), None when the plain call is not
        in doubt or the CT is called contrast. The cavity-fraction condition of
        :func:`contrast_detected` is not applied: it only matters for adult cavities.
    """
    if contrast_detected(res, params):
        return None
    if res.ceiling_evidence_ml >= params.contrast_support_ml:
        return (
            f"{res.ceiling_evidence_ml:.1f} mL of sinus-like enhancement was set aside because "
            f"its interior lies just under the top of the blood range "
            f"({res.ceiling_sd:.2f} robust SDs under it), where a lumen of dense contrast and "
            "thin bone look alike"
        )
    if res.evidence_ml >= params.contrast_support_ml:
        return (
            f"{res.evidence_ml:.1f} mL of sinus-like enhancement lies inside the skull "
            f"(contrast needs {params.contrast_min_ml:.1f} mL, or contrast in the neck "
            f"vessels to confirm it: {res.extracranial_ml:.1f} mL seen)"
        )
    return None


def core_seed_hu(levels: VesselLevels, params: VesselParams) -> float:
    """Seed level (HU) of the bone core that the sinus rule grows down to the top of
    the blood range.

    A voxel more than ``params.core_seed_noise_k`` noise sigmas above the top of the
    blood range (``levels.vessel_max_hu``) is not blood whatever the bone's density, so
    it seeds the core; ``levels.dense_hu`` (soft peak + a fixed offset) only caps the
    level. Without this, bone of 500-650 HU (a poorly mineralised infant calvaria)
    never reaches a fixed dense level and its partial-volume rim passes as sinus.

    Parameters
    ----------
    levels : VesselLevels
        HU levels of the CT (``noise_hu`` the noise sigma of the smoothed CT).
    params : VesselParams
        ``core_seed_noise_k``.

    Returns
    -------
    float
        ``min(dense_hu, vessel_max_hu + core_seed_noise_k * noise_hu)`` (HU).
    """
    seed = levels.vessel_max_hu + params.core_seed_noise_k * max(levels.noise_hu, 0.0)
    return float(min(levels.dense_hu, seed))
