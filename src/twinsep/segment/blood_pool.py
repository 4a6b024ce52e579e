"""Large pools of contrast blood outside the skull (the heart) are not bone.

A planning CT of infants often takes in the chest (a CT angiogram, an airway study). With
contrast the heart's chambers hold blood at 300-400 HU, inside the bone hysteresis of
``segment.ct._bone_mask`` (its floor is soft peak + ~150 HU, the level of an infant's thin
parietal bone). The extracranial vessel rule of ``segment.vessels`` found the heart (the
tube test kept 99 % of the piece) but its cancellous-bone test
(``segment.vessels.bone_encased``) dropped it: a piece holding both chambers (330 and
380 HU) has more than ``VesselParams.ext_shell_share`` (2 %) of its border above its
median by the cortex margin (the brighter chamber), so the heart stayed bone (blind
bodies benchmark, 44b738b: 96 % of the heart blood on a 2.5 mm grid; vessel when only
the top of the heart was in the scan).

Bone and a blood pool differ in shape and in their edge: infant bone is thin (a 1-2.5 mm
plate, a 5-8 mm rib or long-bone shaft, a vertebral body of ~1-2 mL under a cortical
shell), while a chamber is a blob tens of mm across whose wall (myocardium, lung,
mediastinal fat) is darker than the blood. :func:`find_blood_pools` keeps the bright
voxels below the top of the blood range outside the cranial cavity, erodes them by
``SegmentParams.pool_core_mm`` (what remains is farther than that from any edge: no
plate, rib or shaft survives), keeps the cores of at least ``pool_min_core_ml`` that are
compact (principal-axis ratio at most ``pool_max_elongation``: a column of vertebral
bodies joined by partial volume leaves a core that is a rod along the spine), grows
them back within those voxels, and drops a pool whose surrounding shell is brighter than
its median in more than ``pool_shell_max_fraction`` of the shell (a cortical shell
around marrow). A pool then takes the voxels joined to it within ``pool_grow_mm`` whose
values lie within ``pool_band_sd`` noise SDs of its median (the thinner parts of the
same chambers). The caller labels the pools vessel on a contrast CT and soft tissue on
a plain one.
"""

from __future__ import annotations

import logging

import numpy as np

from twinsep.segment import morph
from twinsep.segment.params import SegmentParams

logger = logging.getLogger(__name__)


def find_blood_pools(
    sm: np.ndarray,
    raw: np.ndarray,
    bright: np.ndarray,
    outside_cavity: np.ndarray,
    spacing_mm: morph.Spacing,
    *,
    top_hu: float,
    noise_hu: float,
    params: SegmentParams = SegmentParams(),
) -> np.ndarray:
    """Voxels of the bright mask that are a compact pool of blood, not bone.

    Parameters
    ----------
    sm : np.ndarray
        Smoothed CT (HU), the image the bone hysteresis read.
    raw : np.ndarray
        The CT itself (HU, same shape): the band a pool grows through is read on it.
    bright : np.ndarray
        Bone hysteresis mask (bool, same shape).
    outside_cavity : np.ndarray
        Where a pool may lie (bool): the body outside the cranial cavity.
    spacing_mm : tuple of float
        Voxel size (mm) per axis.
    top_hu : float
        Top of the blood range (HU): brighter voxels are bone, never blood.
    noise_hu : float
        Noise SD of ``raw`` (HU) in a uniform region.
    params : SegmentParams
        ``pool_core_mm``, ``pool_min_core_ml``, ``pool_max_elongation``,
        ``pool_shell_mm``, ``pool_shell_margin_hu``, ``pool_shell_max_fraction``,
        ``pool_band_sd``, ``pool_grow_mm``.

    Returns
    -------
    np.ndarray
        Boolean mask of the pools (a subset of ``bright``); all false when the rule is
        off (``pool_min_core_ml`` <= 0) or nothing qualifies.
    """
    out = np.zeros(bright.shape, bool)
    if params.pool_min_core_ml <= 0:
        return out
    cand = bright & outside_cavity & (sm < top_hu)
    box = morph._bounding_box(cand, [0, 0, 0])
    if box is None:
        return out
    vox_ml = float(np.prod(spacing_mm)) / 1000.0
    reach = params.pool_core_mm + params.pool_shell_mm + 2 * max(spacing_mm)
    margin = [int(np.ceil(reach / s)) for s in spacing_mm]
    box = morph._bounding_box(cand, margin)
    assert box is not None
    c = cand[box]
    core = morph.erode_mm(c, params.pool_core_mm, spacing_mm)
    if not core.any():
        return out
    lab, sizes = morph.component_sizes(core)
    keep = np.flatnonzero(sizes * vox_ml >= params.pool_min_core_ml) + 1
    if keep.size == 0:
        return out
    s = sm[box]
    r = raw[box]
    grown_by = params.pool_core_mm + 1.01 * max(spacing_mm)
    found = np.zeros(c.shape, bool)
    band = np.zeros(c.shape, bool)
    for k in keep:
        in_core = lab == k
        elong = _elongation(np.argwhere(in_core) * np.asarray(spacing_mm))
        if elong > params.pool_max_elongation:
            logger.debug(
                "bright core %.1f mL kept as bone: elongation %.1f (a rod, not a pool)",
                float(in_core.sum()) * vox_ml,
                elong,
            )
            continue
        vals = r[in_core]
        level = float(np.median(vals))
        pool = c & morph.dilate_mm(lab == k, grown_by, spacing_mm)
        shell = morph.dilate_mm(pool, params.pool_shell_mm, spacing_mm) & ~pool
        share = float(np.mean(s[shell] > level + params.pool_shell_margin_hu))
        ml = float(pool.sum()) * vox_ml
        if share > params.pool_shell_max_fraction:
            logger.debug(
                "bright pool %.1f mL at %.0f HU kept as bone: %.2f of its shell brighter",
                ml,
                level,
                share,
            )
            continue
        logger.debug(
            "bright pool %.1f mL at %.0f HU is blood (core elongation %.1f, shell %.2f)",
            ml,
            level,
            elong,
            share,
        )
        found |= pool
        band |= np.abs(r - level) <= params.pool_band_sd * max(noise_hu, 1.0)
    if found.any() and params.pool_grow_mm > 0:
        # the thinner parts of the same pool (an atrium, a chamber's apex) hold the same
        # plateau: joined through it, as far as pool_grow_mm
        near = morph.dilate_mm(found, params.pool_grow_mm, spacing_mm)
        joined = found | (c & band & near)
        ids, _n = morph.label_components(joined, 26)
        found = np.isin(ids, np.unique(ids[found]))
    out[box] = found
    return out


def _elongation(points_mm: np.ndarray) -> float:
    """Ratio of the largest to the smallest principal standard deviation of points (mm)."""
    if len(points_mm) < 4:
        return float("inf")
    ev = np.linalg.eigvalsh(np.cov(points_mm.T.astype(np.float64)))
    return float(np.sqrt(ev[-1] / max(ev[0], 1e-6)))
