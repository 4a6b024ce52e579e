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
    # components labelled inside the core's bounding box only (no label grid of the
    # whole array: 0.38 GB written and scanned on a 512x464x400 CT)
    cbox = morph._bounding_box(core, [0, 0, 0])
    if cbox is None:
        return out
    sub = np.ascontiguousarray(core[cbox])
    del core
    lab, n_comp = morph.label_components(sub, 26)
    sizes = np.bincount(lab[sub], minlength=n_comp + 1)[1:]
    del sub
    vox_ml = float(np.prod(spacing)) / 1000.0
    big = np.flatnonzero(sizes * vox_ml >= params.min_volume_ml) + 1
    if big.size == 0:
        return out
    boxes = ndimage.find_objects(lab)
    filled: dict[int, np.ndarray] = {}  # the body filled across each axis, when needed
    pad = [int(np.ceil(params.min_cavity_distance_mm / s)) + 1 for s in spacing]
    for c in big:
        found = boxes[c - 1]
        assert found is not None
        box = tuple(
            slice(b.start + o.start, b.stop + o.start) for b, o in zip(found, cbox, strict=True)
        )
        sel = tuple(
            slice(max(0, b.start - p), min(n, b.stop + p))
            for b, p, n in zip(box, pad, sm.shape, strict=True)
        )
        comp = component_in(lab, cbox, int(c), sel)
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


def component_in(
    lab: np.ndarray, box: tuple[slice, ...], c: int, sel: tuple[slice, ...]
) -> np.ndarray:
    """``lab_full[sel] == c`` for the label grid ``lab_full`` that is ``lab`` inside
    ``box`` and 0 outside it (``sel`` may reach beyond ``box`` on any side, up to the
    array's edge).

    Parameters
    ----------
    lab : ndarray of int
        Component labels of the bounding box ``box`` of a mask.
    box : tuple of slices
        Where ``lab`` lies in the grid (non-negative, stepless slices).
    c : int
        The component.
    sel : tuple of slices
        The region of the grid asked for (non-negative, stepless slices).

    Returns
    -------
    ndarray of bool, the shape of ``sel``
    """
    out = np.zeros(tuple(s.stop - s.start for s in sel), bool)
    lo = [max(s.start, b.start) for s, b in zip(sel, box, strict=True)]
    hi = [min(s.stop, b.stop) for s, b in zip(sel, box, strict=True)]
    if any(h <= low for low, h in zip(lo, hi, strict=True)):
        return out
    dst = tuple(slice(low - s.start, h - s.start) for low, h, s in zip(lo, hi, sel, strict=True))
    src = tuple(slice(low - b.start, h - b.start) for low, h, b in zip(lo, hi, box, strict=True))
    out[dst] = lab[src] == c
    return out
