"""Aerated lungs inside the body: air (label 0), as the head's own air is.

DESIGN's label 0 is air, and the head's air (sinuses, airway, mouth) is labelled so by
one rule: a body voxel that is more than half air, i.e. darker than midway between the
air and soft-tissue peaks (``segment.ct``'s body threshold). An infant lung is not air
but a fine mix of air and tissue: it reads -380 to -650 HU (a newborn's can lie above
the body threshold and be labelled soft tissue whole). The same rule, read with the
lung's own level in place of the air peak, is this module's: a voxel of a lung is one
darker than midway between the lung's level and soft tissue.

A lung is found as a region, not by a level alone (fat and the skin's partial volume
also fill the range between air and tissue): voxels darker than
``LungParams.dark_level`` (below fat) and brighter than the air band, eroded by one
voxel (the skin's partial-volume rim with the outside air is one voxel thick), in
components of at least ``min_volume_ml``, enclosed by the body in the slices across
them (a foam rest under the body is not), and farther than ``min_cavity_distance_mm``
from the cranial cavity (a head's pneumatised bone, whose cells and septa average to
part air, lies beside it). Its level is the median of the core; it is grown through the
partial volume around it up to ``grow_mm``, never into the body's outer voxel layer (the
skin). Regions whose level lies in the air band
are the air rule's (pure air: the midpoint is the body threshold), so a scan without a
chest keeps its labels.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from twinsep.segment import morph
from twinsep.segment.params import LungParams

logger = logging.getLogger(__name__)


def find_lungs(
    sm: np.ndarray,
    raw: np.ndarray,
    body_filled: np.ndarray,
    intracranial: np.ndarray,
    spacing: morph.Spacing,
    *,
    soft_hu: float,
    air_hu: float,
    params: LungParams = LungParams(),
) -> np.ndarray:
    """Voxels of aerated lung (air-holding regions of part-air level) inside the body.

    Parameters
    ----------
    sm : ndarray, shape (I, J, K)
        The smoothed CT (HU) the labels are read from.
    raw : ndarray, shape (I, J, K)
        The CT (HU); a lung's level is the median of its core here.
    body_filled : ndarray of bool, shape (I, J, K)
        The body with its holes filled (``segment.ct._body_mask``).
    intracranial : ndarray of bool, shape (I, J, K)
        The cranial cavity; never lung, and a region near it is not one.
    spacing : tuple of 3 floats
        Voxel size, mm.
    soft_hu, air_hu : float
        The scan's soft-tissue and air peaks, HU.
    params : LungParams
        Levels and sizes (``segment.params.LungParams``).

    Returns
    -------
    ndarray of bool, shape (I, J, K)
        Lung voxels (label 0); all False on a scan without a chest.
    """
    out = np.zeros(sm.shape, bool)
    t_dark = soft_hu + params.dark_level * (air_hu - soft_hu)
    t_air = air_hu + params.air_band * (soft_hu - air_hu)
    part = (sm < t_dark) & (sm > t_air) & ~intracranial
    if not part.any():
        return out
    # the skin's (and every surface's) one-voxel partial-volume rim goes; lungs stay
    core = ndimage.binary_erosion(part, ndimage.generate_binary_structure(3, 1))
    del part
    lab, sizes = morph.component_sizes(core)
    vox_ml = float(np.prod(spacing)) / 1000.0
    big = np.flatnonzero(sizes * vox_ml >= params.min_volume_ml) + 1
    if big.size == 0:
        return out
    boxes = ndimage.find_objects(lab)
    filled: dict[int, np.ndarray] = {}  # the body filled across each axis, when needed
    pad = [int(np.ceil(params.min_cavity_distance_mm / s)) + 1 for s in spacing]
    for c in big:
        box = boxes[c - 1]
        assert box is not None
        sel = tuple(
            slice(max(0, b.start - p), min(n, b.stop + p))
            for b, p, n in zip(box, pad, sm.shape, strict=True)
        )
        comp = lab[sel] == c
        n = int(comp.sum())
        enclosing: np.ndarray | None = None
        for ax in range(3):
            if ax not in filled:
                filled[ax] = morph.fill_holes_in_slices(body_filled, ax)
            if int((filled[ax][sel] & comp).sum()) >= params.enclosed_share * n:
                enclosing = filled[ax][sel]
                break
        if enclosing is None:
            logger.debug(
                "dark region %d (%.1f mL) not enclosed by the body", c, sizes[c - 1] * vox_ml
            )
            continue
        near = morph.dilate_mm(comp, params.min_cavity_distance_mm, spacing)
        if (near & intracranial[sel]).any():
            logger.debug("dark region %d lies beside the cranial cavity: head air", c)
            continue
        level = float(np.median(raw[sel][comp]))
        mid = 0.5 * (level + soft_hu)
        allowed = (sm[sel] < mid) & ~intracranial[sel]
        steps = max(1, int(round(params.grow_mm / min(spacing))))
        grown = ndimage.binary_dilation(
            comp, structure=np.ones((3, 3, 3), bool), iterations=steps, mask=allowed | comp
        )
        grown &= morph.dilate_mm(comp, params.grow_mm, spacing)
        # the skin stays: no voxel beside the air around the body (a chest wall thinner
        # than a voxel reads dark from the lung on one side and the air on the other)
        grown &= ndimage.binary_erosion(
            enclosing, ndimage.generate_binary_structure(3, 1), border_value=1
        )
        out[sel] |= grown
        logger.debug(
            "lung: %.1f mL core, level %.0f HU, %.1f mL with its partial volume",
            comp.sum() * vox_ml,
            level,
            grown.sum() * vox_ml,
        )
    return out
