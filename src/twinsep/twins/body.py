"""Each twin's head and neck apart from its body, when the scan holds the chest.

A planning CT of infant craniopagus twins often takes in the necks, shoulders and
chests (a CT angiogram, an airway study). The twins' ``volume_ml`` and ``tissue_ml`` in
``plan.json`` count every tissue voxel a twin owns, so with the bodies in the scan they
are 2-3 times the heads' (blind bodies benchmark, 44b738b). The head is what the
separation plans (scalp, skull, brain, sinuses) and what a surgeon compares between
scans: here it is the head and the neck down to the top of the shoulders, the cervical
level at which a chest CT's body begins.

:func:`split_head_body` finds, per twin, the direction the neck leaves the head (from
the brain's centroid to the centroid of the twin's tissue farther than
``BodyParams.far_brain_radii`` brain radii from it), profiles the tissue cross-section
along it in slabs of ``bin_mm``, and walks from the brain down: the neck is the
narrowest slab so far, the shoulders the first slab that reaches ``shoulder_ratio``
times it, and their top the slab from which the cross-section stays above
``shoulder_top_ratio`` times the neck. Everything of the twin beyond that level is body
(the trunk and the arms beside it); an arm lying over the other twin's head is above
it and stays in the head.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from twinsep import labels as L
from twinsep.twins.params import BodyParams
from twinsep.volume import Volume

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadBody:
    """One twin's head (and neck) and body below the shoulders.

    Attributes
    ----------
    head_ml : float
        Tissue volume (mL) of the head and neck: the sum of ``head_tissue_ml``.
    head_tissue_ml : dict of str to float
        The head's volume per tissue (``soft_tissue``, ``bone``, ``brain``, ``csf``,
        ``vessel``), mL.
    body_ml : float
        Tissue volume (mL) below the shoulders (0 when the scan holds no body).
    shoulder_mm : float or None
        Distance (mm) of the top of the shoulders from the brain's centroid along the
        neck direction; None without a body.
    neck_dir : tuple of float or None
        Unit vector (world RAS) along which the neck leaves the head; None without a
        neck in the scan.
    """

    head_tissue_ml: dict[str, float]
    body_ml: float
    shoulder_mm: float | None
    neck_dir: tuple[float, float, float] | None

    @property
    def head_ml(self) -> float:
        """Tissue volume (mL) of the head and neck (the sum of ``head_tissue_ml``)."""
        return round(sum(self.head_tissue_ml.values()), 3)


def split_head_body(
    labels: Volume, twins: Volume, params: BodyParams = BodyParams()
) -> dict[str, HeadBody]:
    """Split each twin's tissue into head (and neck) and body below the shoulders.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5.
    twins : Volume
        Owners (0, 1 twin A, 2 twin B) on the same grid.
    params : BodyParams
        The rule's numbers (module docstring).

    Returns
    -------
    dict of str to HeadBody
        By twin name ``"A"`` / ``"B"``; a twin with no brain voxel is left out.
    """
    sp = np.asarray(labels.spacing_mm, float)
    step = [max(1, int(round(params.grid_mm / s))) if s < params.grid_mm else 1 for s in sp]
    sl = tuple(slice(None, None, k) for k in step)
    lab = np.asarray(labels.array)[sl]
    own = np.asarray(twins.array)[sl]
    vox_ml = float(abs(np.linalg.det(labels.affine[:3, :3]))) * float(np.prod(step)) / 1000.0
    aff = labels.affine[:3, :3] * np.asarray(step, float)[None, :]
    off = labels.affine[:3, 3]
    out: dict[str, HeadBody] = {}
    for code, name in L.TWIN_NAMES.items():
        tissue = (own == code) & (lab > 0)
        idx = np.argwhere(tissue)
        if idx.size == 0:
            continue
        xyz = idx.astype(np.float32) @ aff.T.astype(np.float32) + off.astype(np.float32)
        tl = lab[tissue]
        brain = tl == L.BRAIN
        if not brain.any():
            continue
        cb = xyz[brain].mean(axis=0)
        r_b = (3.0 * float(brain.sum()) * vox_ml * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
        d = np.linalg.norm(xyz - cb, axis=1)
        far = d > params.far_brain_radii * r_b
        head_mask = np.ones(len(xyz), bool)
        shoulder = None
        u = None
        if float(far.sum()) * vox_ml >= params.min_far_ml:
            v = xyz[far].mean(axis=0) - cb
            u = v / max(float(np.linalg.norm(v)), 1e-9)
            s = (xyz - cb) @ u
            shoulder = _shoulder_level(s, r_b, vox_ml, params)
            if shoulder is not None:
                head_mask = s < shoulder
        per = {
            tn: round(float(np.count_nonzero(head_mask & (tl == v))) * vox_ml, 3)
            for v, tn in L.TISSUE_NAMES.items()
        }
        body_ml = round(float(np.count_nonzero(~head_mask)) * vox_ml, 3)
        logger.debug(
            "twin %s: head %.1f mL, body %.1f mL, shoulders %s mm",
            name,
            sum(per.values()),
            body_ml,
            shoulder,
        )
        out[name] = HeadBody(
            head_tissue_ml=per,
            body_ml=body_ml,
            shoulder_mm=None if shoulder is None else round(float(shoulder), 1),
            neck_dir=None if u is None else (float(u[0]), float(u[1]), float(u[2])),
        )
    return out


def _shoulder_level(s: np.ndarray, r_b: float, vox_ml: float, params: BodyParams) -> float | None:
    """Top of the shoulders (mm along the neck direction), or None when the
    cross-section never widens below the neck (module docstring)."""
    w = params.bin_mm
    lo = r_b * 0.5  # from the middle of the head down
    sel = s >= lo
    if not sel.any():
        return None
    bins = np.floor((s[sel] - lo) / w).astype(np.int64)
    area = np.bincount(bins).astype(float) * vox_ml * 1000.0 / w  # mm2
    neck = np.inf
    for i, a in enumerate(area):
        if a >= params.shoulder_ratio * neck and a > 0:
            top = i
            while top > 0 and area[top - 1] > params.shoulder_top_ratio * neck:
                top -= 1
            return float(lo + top * w)
        if a > 0:
            neck = min(neck, a)
    return None
