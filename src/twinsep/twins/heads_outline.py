"""Tell two joined heads from the two halves of one head by the head's outline.

Two craniopagus heads each have their own skull vault: where their cranial cavities
meet, the outline of the tissue around them narrows too (the notch where two round
skulls meet; 16-80 % narrower on the phantoms and real cases). One head whose cavity
came apart into two cores - its hemispheres parted by the falx or an interhemispheric
fissure labelled dark, as on a skull-stripped adult T1 (Colin27 ``ch2better``, 0.5 mm)
or a brain atlas (``jhu189``) - has a cavity that narrows between the cores while the
outline around it does not: one convex head.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from twinsep.errors import AnatomyError
from twinsep.segment import morph
from twinsep.twins.params import TwinParams

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Narrowing:
    """How much the cavity and the head's outline narrow between two head cores.

    Attributes
    ----------
    cavity : float
        1 - (smallest cross-section of the cavity between the cores) / (the smaller of
        its largest cross-sections on either side of it); 0 when it does not narrow.
    outline : float
        The same for the filled, closed tissue around the cavity (the head's outline).
    span_mm : float
        Distance between the two cores' centroids (mm).
    """

    cavity: float
    outline: float
    span_mm: float


def narrowing(
    tissue_c: np.ndarray,
    ic_c: np.ndarray,
    core_a: np.ndarray,
    core_b: np.ndarray,
    csp: morph.Spacing,
    params: TwinParams,
) -> Narrowing:
    """Narrowing of the cavity and of the head's outline between two cores.

    Cross-sections are slabs one coarse voxel thick perpendicular to the line through
    the cores' centroids. The outline is the tissue within ``params.outline_cover_mm``
    of the cavity (the heads' coverings, not a neck or body beside them), closed by
    ``params.outline_close_mm`` (a fissure open to the outside is not a notch) and
    filled.

    Parameters
    ----------
    tissue_c, ic_c : ndarray of bool
        Tissue and cranial cavity on the coarse grid.
    core_a, core_b : ndarray of bool
        The two head cores (:func:`twinsep.twins.heads.find_head_cores`).
    csp : (3,) float
        Coarse voxel size (mm).
    params : TwinParams
        ``outline_cover_mm`` and ``outline_close_mm``.

    Returns
    -------
    Narrowing
    """
    sp = np.asarray(csp, float)
    ca = np.argwhere(core_a).mean(axis=0) * sp
    cb = np.argwhere(core_b).mean(axis=0) * sp
    span = float(np.linalg.norm(cb - ca))
    pad = int(np.ceil(params.outline_close_mm / float(sp.min()))) + 1
    near = np.pad(tissue_c | ic_c, pad)
    near &= morph.distance_to_mm(np.pad(ic_c, pad), csp) <= params.outline_cover_mm
    outline = morph.fill_holes(morph.close_mm(near, params.outline_close_mm, csp))
    shift = np.full(3, pad * sp)
    return Narrowing(
        cavity=_narrowing(np.argwhere(ic_c) * sp, ca, cb, float(sp.max())),
        outline=_narrowing(np.argwhere(outline) * sp - shift, ca, cb, float(sp.max())),
        span_mm=span,
    )


def _narrowing(pts: np.ndarray, ca: np.ndarray, cb: np.ndarray, step: float) -> float:
    """1 - the deepest dip of the cross-section profile between ``ca`` and ``cb``, each
    section over the smaller of the largest sections on either side of it (0 for a
    convex body: its profile rises to one maximum and falls)."""
    span = float(np.linalg.norm(cb - ca))
    if span <= 0 or pts.size == 0:
        return 0.0
    t = (pts - ca) @ ((cb - ca) / span)
    bins = np.arange(float(t.min()), float(t.max()) + step, step)
    if bins.size < 2:
        return 0.0
    prof, _ = np.histogram(t, bins=bins)
    prof = prof.astype(np.float64)
    mid = 0.5 * (bins[1:] + bins[:-1])
    left = np.maximum.accumulate(prof)
    right = np.maximum.accumulate(prof[::-1])[::-1]
    between = (mid >= 0.0) & (mid <= span)
    if not between.any():
        return 0.0
    ratio = prof[between] / np.maximum(np.minimum(left[between], right[between]), 1.0)
    return float(max(0.0, 1.0 - float(ratio.min())))


def check_two_outlines(
    tissue_c: np.ndarray,
    ic_c: np.ndarray,
    core_a: np.ndarray,
    core_b: np.ndarray,
    csp: morph.Spacing,
    params: TwinParams,
    src: str,
) -> Narrowing:
    """Refuse two head cores that are the two halves of one head.

    The cavity narrows between the cores by at least ``params.outline_min_cavity``
    while the head's outline narrows by less than ``params.outline_min_share`` of that:
    the cavity is parted inside one convex head (the falx, a fissure), not where two
    skulls meet. Two joined heads' outline narrows by about (R / (R + s))^2 of their
    cavity's narrowing (cavity radius R, scalp and skull s: 0.7 for an infant, more on
    the phantoms and real cases); a narrowing cavity with an outline that does not
    narrow is not two heads.

    Raises
    ------
    AnatomyError
        One head: exit code 2, naming ``src``.
    """
    n = narrowing(tissue_c, ic_c, core_a, core_b, csp, params)
    logger.debug(
        "cavity narrows %.3f, outline %.3f between cores %.0f mm apart",
        n.cavity,
        n.outline,
        n.span_mm,
    )
    if n.cavity >= params.outline_min_cavity and n.outline < params.outline_min_share * n.cavity:
        raise AnatomyError(
            src,
            "shows a single head (one head found: its cranial cavity came apart into two "
            f"halves {n.span_mm:.0f} mm apart, narrowing {100 * n.cavity:.0f} % between "
            f"them, but the head's outline narrows only {100 * n.outline:.0f} % there: the two "
            "hemispheres of one brain parted by the falx or a fissure, not two joined "
            "heads); twinsep plans craniopagus twins only",
        )
    return n
