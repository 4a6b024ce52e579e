"""MR alone: the cranial cavity's wall at the inner edge of the skull's dark band.

The cavity of a T1 planned alone (``segment.mr.segment_mr_t1``) is the grown brain,
closed and filled, and beyond it the subarachnoid CSF up to the inner table. A fixed
1.5 mm dilation of the brain placed that wall: under a thin CSF layer (an adult's, about
a voxel) it reached the inner table, under a thick one (an infant's, 1.5-3.5 mm on the
blind MR phantom) it stopped short and the rest of the CSF became skull (blind MR
phantom at 2 mm: 16.6 k of its 23.4 k CSF voxels labelled bone).

Here the layer is grown outward from the brain, one face-neighbour step at a time,
through voxels that read as CSF - darker than the CSF/grey level, not darker than the
CSF the brain encloses (its ventricles) by more than a few of its own noise sigmas -
so it stops at the first voxel as dark as bone. It is kept only when it reads as CSF as
a whole: where the CSF layer is thinner than a voxel its voxels are partial volume of
grey matter, CSF, dura and bone, and none of them parts CSF from bone by level (Colin27:
the layer read 43 against its ventricles' 31 and a CSF/grey level of 59); the fixed
dilation is then kept. So it is where the skull beyond the layer's reach reads as CSF
(bone within the noise of CSF: a band as dark as CSF that goes on is not a CSF layer;
tests/segment/test_mr_orbit's adult head, bone 20 against CSF 22).

The layer's reach is ``MRParams.csf_layer_mm`` (3 mm), or farther where the T1 shows the
inner table farther out (:func:`inner_table_mm`): an infant's extra-axial CSF can be
4-10 mm wide (benign enlargement of the subarachnoid spaces), and with a fixed 3 mm reach
its outer part became bone (generated heads, folded cortex, CSF layer 5 / 8 mm: CSF Dice
0.38 / 0.26, the layer refused as the skull beyond 4.5 mm read as CSF - it was the layer).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.params import MRParams

logger = logging.getLogger(__name__)


def csf_layer_cavity(
    sm: np.ndarray,
    closed: np.ndarray,
    body: np.ndarray,
    csf_values: np.ndarray,
    level: float,
    spacing_mm: tuple[float, float, float],
    params: MRParams,
) -> np.ndarray | None:
    """The cranial cavity: ``closed`` (the brain, closed and filled) and the CSF layer
    over it up to the skull's dark band, or None when that layer does not read as CSF.

    The layer is ``closed`` grown by face-neighbour steps, at most
    ``params.csf_layer_mm`` from it, through ``body`` voxels that lie below ``level``
    and at or above the enclosed CSF's median less ``params.csf_layer_sigmas`` robust
    sigmas (interquartile range / 1.349) of ``csf_values``; then its holes are filled. It
    is returned only when the layer's median lies within ``params.csf_layer_max_share``
    of the way from the enclosed CSF's median to ``level``, and the body between 1.5
    and 2 times ``params.csf_layer_mm`` from ``closed`` (the skull beyond the layer)
    does not: its median lies farther from the CSF's, above or below, than that share.

    Parameters
    ----------
    sm : ndarray of float
        The smoothed, bias-corrected T1.
    closed : ndarray of bool
        The grown brain, closed and its holes filled.
    body : ndarray of bool
        The head's foreground.
    csf_values : ndarray of float
        T1 values of pure CSF that the brain encloses (its ventricles' interiors).
    level : float
        The CSF/grey level (``segment.mr._csf_grey_boundary``), above the CSF's median.
    spacing_mm : (3,) float
    params : MRParams

    Returns
    -------
    ndarray of bool or None
    """
    if csf_values.size == 0 or params.csf_layer_mm <= 0:
        return None
    q25, csf, q75 = (float(v) for v in np.percentile(csf_values, [25, 50, 75]))
    if not level > csf:
        return None
    low = csf - params.csf_layer_sigmas * (q75 - q25) / 1.349
    dist = morph.distance_to_mm(closed, spacing_mm)
    table = inner_table_mm(sm, dist, body, low, level, spacing_mm, params.csf_layer_max_mm)
    reach_mm = max(params.csf_layer_mm, table or 0.0)
    # beyond the layer's reach the skull must not read as CSF: a band as dark as CSF
    # that goes on is bone the T1 cannot tell from CSF (an adult's compact bone within
    # the noise of the CSF), and a layer grown into it would be the inner table. Where
    # the inner table was seen beyond the layer (darker than CSF), that is shown
    far = body & (dist > 1.5 * params.csf_layer_mm) & (dist <= 2.0 * params.csf_layer_mm)
    if table is None and far.any():
        far_share = (float(np.median(sm[far])) - csf) / (level - csf)
        if abs(far_share) <= params.csf_layer_max_share:
            logger.debug(
                "MR alone CSF layer: not used, the skull beyond it reads as CSF (median "
                "%.2f of the way from the enclosed CSF %.1f to the CSF/grey level %.1f)",
                far_share,
                csf,
                level,
            )
            return None
    reach = dist <= reach_mm
    allowed = body & reach & (sm >= low) & (sm < level)
    # enough face steps to reach reach_mm along a voxel diagonal: the Euclidean
    # distance bounds the layer, not the count of steps
    steps = int(np.ceil(np.sqrt(3.0) * reach_mm / min(spacing_mm)))
    face = ndi.generate_binary_structure(3, 1)
    grown = ndi.binary_dilation(closed, face, iterations=steps, mask=allowed | closed)
    cavity = morph.fill_holes(np.asarray(grown, dtype=bool) | closed) & body
    layer = cavity & ~closed
    if not layer.any():
        return None
    share = (float(np.median(sm[layer])) - csf) / (level - csf)
    vx_ml = float(np.prod(spacing_mm)) / 1000.0
    logger.debug(
        "MR alone CSF layer: %.1f mL between %.1f and %.1f (enclosed CSF %.1f), reach "
        "%.1f mm (inner table %s), median %.2f of the way to the CSF/grey level (at most "
        "%.2f kept)",
        float(layer.sum()) * vx_ml,
        low,
        level,
        csf,
        reach_mm,
        "not seen" if table is None else f"{table:.1f} mm",
        share,
        params.csf_layer_max_share,
    )
    if share > params.csf_layer_max_share:
        return None
    return cavity


def inner_table_mm(
    sm: np.ndarray,
    dist: np.ndarray,
    body: np.ndarray,
    low: float,
    level: float,
    spacing_mm: tuple[float, float, float],
    max_mm: float,
) -> float | None:
    """How far the CSF layer goes before the inner table: where the share of voxels
    darker than CSF first crosses one half, going out from the brain.

    The body is cut into shells one smallest voxel side thick by distance from the
    closed brain (``dist``). From the brain out, the shells are CSF (most voxels below
    ``level``) up to the first shell in which most voxels read darker than ``low``
    (compact bone); the layer's outer edge is where the share of such voxels crosses
    one half, linearly between that shell's middle and the one before's. None
    when no such shell lies within ``max_mm`` after at least one CSF shell: the skull is
    not seen apart from CSF (an adult's compact bone within the CSF's noise), or there
    is no CSF layer (thinner than a voxel).

    Parameters
    ----------
    sm : ndarray of float
        The smoothed, bias-corrected T1.
    dist : ndarray of float
        Distance (mm) from the closed brain.
    body : ndarray of bool
        The head's foreground.
    low, level : float
        Below ``low`` a voxel is darker than CSF; from ``level`` up it is brain.
    spacing_mm : (3,) float
    max_mm : float
        The farthest the layer is looked for.

    Returns
    -------
    float or None
    """
    step = float(min(spacing_mm))
    csf_shells = 0
    dark_before = 0.0
    for k in range(1, int(np.floor(max_mm / step)) + 2):
        shell = body & (dist > (k - 1) * step) & (dist <= k * step)
        if not shell.any():
            return None
        x = sm[shell]
        dark = float(np.mean(x < low))
        if dark >= 0.5:
            if not csf_shells:
                return None
            # where the dark share crosses one half, linearly between the two shells'
            # middles: the inner table's edge
            return (k - 1.5 + (0.5 - dark_before) / (dark - dark_before)) * step
        if float(np.mean(x < level)) >= 0.5:
            csf_shells += 1
        else:
            return None  # bright before any dark band: no layer bounded by bone
        dark_before = dark
    return None
