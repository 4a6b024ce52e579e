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
times it. Their top is the knee of the profile between the two: the cross-section,
read in a ``bin_mm`` window slid along the neck by ``knee_step_mm``, first reaches
``knee_ratio`` times its narrowest value there, walking down from that narrowest place
(interpolated between steps). A trunk that widens slowly (no arms beside it, or an arm
raised) passes the knee as soon as it starts to widen; a fixed share of the shoulders'
width (1.25 times the neck, on whole slabs) was read 5-15 mm low there, counting the
top of the chest as head. Everything of the twin beyond the level is body (the trunk
and the arms beside it).

A scan that ends just below the shoulders cuts their slabs (the scan's edge is oblique
to the neck), so none may reach ``shoulder_ratio``: when the twin's tissue runs into the
scan's edge below the neck and the cut cross-section has still widened to
``shoulder_top_ratio`` times the neck (a cut slab's area is less than the body's, never
more), the shoulders are taken to begin there (``HeadBody.shoulders_cut``).

Above the level the head is the head's own tissue: its coverings (within
``limb_cover_mm`` of the cranial cavity) and the neck's column (around the neck's
narrowest slab, down to the level), with what else is joined to them only there (an
ear, the face). A part of at least ``limb_min_ml`` outside both and joined to the body
below the level is a limb (an arm raised along the head or lying over the other twin's
head, which touches a scalp along its skin but leaves the body at the shoulder) and is
counted with the body (``HeadBody.limb_ml``). A raised arm widens the neck's slabs
too, so when a limb is found the level is read again on the profile without it, and
the limbs again at that level when it is higher.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from twinsep import labels as L
from twinsep.layout import to_canonical
from twinsep.segment import morph
from twinsep.twins.params import BodyParams
from twinsep.volume import Volume, spacing_from_affine

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
    shoulders_cut : bool
        The scan ends at the shoulders: the level was found on slabs cut by the scan's
        edge (less sure than on whole ones).
    limb_ml : float
        Tissue (mL) above the shoulder level that hangs from the body, not from the
        head (a raised arm); counted in ``body_ml``, not in the head.
    """

    head_tissue_ml: dict[str, float]
    body_ml: float
    shoulder_mm: float | None
    neck_dir: tuple[float, float, float] | None
    shoulders_cut: bool = False
    limb_ml: float = 0.0

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
    # the grid is strided from the canonical layout's first voxel (twinsep.layout, a
    # view): counted from the array's, a reversed axis kept other voxels and the real
    # CT's heads read 0.01-3 mL per tissue apart between two storages of one scan
    labels = to_canonical(labels, copy=False)[0]
    twins = to_canonical(twins, copy=False)[0]
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
        cut = False
        limb_ml = 0.0
        if float(far.sum()) * vox_ml >= params.min_far_ml:
            v = xyz[far].mean(axis=0) - cb
            u = v / max(float(np.linalg.norm(v)), 1e-9)
            s = (xyz - cb) @ u
            edge = np.any((idx == 0) | (idx == np.asarray(lab.shape) - 1), axis=1)
            found = _shoulder_level(s, r_b, vox_ml, params, edge=edge)
            if found is not None:
                shoulder, cut, neck_mm = found
                head_mask = s < shoulder
                across = (xyz - cb) - s[:, None] * u[None, :]
                cavity = (tl == L.BRAIN) | (tl == L.CSF)
                limb = _limbs(idx, s, across, shoulder, neck_mm, cavity, aff, params)
                if limb.any():
                    again = _shoulder_level(s[~limb], r_b, vox_ml, params, edge=edge[~limb])
                    if again is not None and again[0] < shoulder:
                        shoulder, cut, neck_mm = again
                        head_mask = s < shoulder
                        limb = _limbs(idx, s, across, shoulder, neck_mm, cavity, aff, params)
                head_mask &= ~limb
                limb_ml = round(float(np.count_nonzero(limb)) * vox_ml, 3)
        per = {
            tn: round(float(np.count_nonzero(head_mask & (tl == v))) * vox_ml, 3)
            for v, tn in L.TISSUE_NAMES.items()
        }
        body_ml = round(float(np.count_nonzero(~head_mask)) * vox_ml, 3)
        logger.debug(
            "twin %s: head %.1f mL, body %.1f mL (limbs above the level %.1f mL), "
            "shoulders %s mm%s",
            name,
            sum(per.values()),
            body_ml,
            limb_ml,
            shoulder,
            " (cut by the scan's edge)" if cut else "",
        )
        out[name] = HeadBody(
            head_tissue_ml=per,
            body_ml=body_ml,
            shoulder_mm=None if shoulder is None else round(float(shoulder), 1),
            neck_dir=None if u is None else (float(u[0]), float(u[1]), float(u[2])),
            shoulders_cut=cut,
            limb_ml=limb_ml,
        )
    return out


def _shoulder_level(
    s: np.ndarray,
    r_b: float,
    vox_ml: float,
    params: BodyParams,
    *,
    edge: np.ndarray | None = None,
) -> tuple[float, bool, float] | None:
    """Top of the shoulders (mm along the neck direction), whether it was found on
    slabs cut by the scan's edge, and the middle of the neck's slab (mm), or None when
    the cross-section never widens below the neck (module docstring). ``edge`` marks
    the points on the scan's border."""
    w = params.bin_mm
    lo = r_b * 0.5  # from the middle of the head down
    sel = s >= lo
    if not sel.any():
        return None
    bins = np.floor((s[sel] - lo) / w).astype(np.int64)
    area = np.bincount(bins).astype(float) * vox_ml * 1000.0 / w  # mm2
    neck = np.inf
    i_neck = 0
    for i, a in enumerate(area):
        if a >= params.shoulder_ratio * neck and a > 0:
            top = _knee(s[sel], lo + (i_neck + 0.5) * w, lo + (i + 0.5) * w, vox_ml, params)
            return top, False, lo + (i_neck + 0.5) * w
        if 0 < a < neck:
            neck, i_neck = a, i
    if edge is None or not edge[sel].any():
        return None
    # the scan's edge cuts the slabs from ``first`` on: their area is less than the
    # body's. The neck is the narrowest whole slab; past it, a cut slab that is still
    # shoulder_top_ratio wider is the start of the shoulders
    cut = np.zeros(len(area), bool)
    cut[np.unique(bins[edge[sel]])] = True
    whole = np.flatnonzero(~cut & (area > 0))
    if whole.size == 0:
        return None
    i_neck = int(whole[np.argmin(area[whole])])
    neck = float(area[i_neck])
    beyond = np.arange(i_neck + 1, len(area))
    if not cut[beyond].any():
        return None  # the body (if any) ends inside the scan: nothing cut
    i_peak = int(beyond[np.argmax(area[beyond])]) if beyond.size else i_neck
    if i_peak == i_neck or area[i_peak] < params.shoulder_top_ratio * neck:
        return None  # a neck cut by the scan's edge: no shoulders
    top = _knee(s[sel], lo + (i_neck + 0.5) * w, lo + (i_peak + 0.5) * w, vox_ml, params)
    return top, True, lo + (i_neck + 0.5) * w


def _knee(
    s: np.ndarray, neck_mm: float, shoulder_mm: float, vox_ml: float, params: BodyParams
) -> float:
    """The top of the shoulders (mm along the neck direction): where the cross-section,
    read in a window of ``bin_mm`` slid by ``knee_step_mm``, first reaches
    ``knee_ratio`` times its narrowest value, walking down from that narrowest place.

    Parameters
    ----------
    s : ndarray of float
        Distance (mm) of each of the twin's tissue points along the neck direction.
    neck_mm : float
        Middle of the narrowest slab (the neck).
    shoulder_mm : float
        Middle of the slab found at the shoulders (wider than the neck by at least
        ``shoulder_ratio``, or ``shoulder_top_ratio`` on slabs cut by the scan's edge).
    vox_ml : float
        Volume (mL) of one point.
    params : BodyParams
        ``bin_mm``, ``knee_ratio`` and ``knee_step_mm``.

    Returns
    -------
    float
        The level (mm), between ``neck_mm - bin_mm`` and ``shoulder_mm``.
    """
    w = params.bin_mm
    x = np.arange(neck_mm - w, shoulder_mm + 0.5 * params.knee_step_mm, params.knee_step_mm)
    ss = np.sort(s)
    n = np.searchsorted(ss, x + 0.5 * w) - np.searchsorted(ss, x - 0.5 * w)
    a = n.astype(float) * vox_ml * 1000.0 / w  # mm2
    i_min = int(np.argmin(a))
    limit = params.knee_ratio * float(a[i_min])
    up = np.flatnonzero(a[i_min:] >= limit)
    if up.size == 0:  # the shoulders' slab itself is at least shoulder_top_ratio wider
        return float(shoulder_mm)
    j = i_min + int(up[0])
    if j == i_min:
        return float(x[j])
    f = (limit - a[j - 1]) / max(float(a[j] - a[j - 1]), 1e-9)
    return float(x[j - 1] + f * (x[j] - x[j - 1]))


def _limbs(
    idx: np.ndarray,
    s: np.ndarray,
    across: np.ndarray,
    shoulder_mm: float,
    neck_mm: float,
    cavity: np.ndarray,
    aff: np.ndarray,
    params: BodyParams,
) -> np.ndarray:
    """Which of a twin's tissue points above the shoulder level hang from the body, not
    from the head (bool per point; module docstring).

    Parameters
    ----------
    idx : ndarray of int
        (n, 3) voxel indices of the twin's tissue (on the profile's grid).
    s : ndarray of float
        (n,) distance (mm) of each along the neck direction from the brain's centroid.
    across : ndarray of float
        (n, 3) each point's offset (mm, world) from the neck's axis through the
        brain's centroid, across it.
    shoulder_mm : float
        The shoulder level on that axis.
    neck_mm : float
        The middle of the neck's (narrowest) slab on that axis.
    cavity : ndarray of bool
        (n,) which points are inside the cranial cavity (brain, CSF).
    aff : ndarray
        3x3 voxel-to-world matrix of the grid (mm per index step per axis).
    params : BodyParams
        ``limb_cover_mm``, ``limb_neck_margin_mm`` and ``limb_min_ml``.
    """
    limb = np.zeros(len(idx), bool)
    if params.limb_min_ml <= 0:
        return limb
    sp = spacing_from_affine(aff)
    lo = idx.min(axis=0) - 1
    shape = tuple(int(v) for v in idx.max(axis=0) - lo + 2)
    loc = idx - lo

    def grid(sel: np.ndarray) -> np.ndarray:
        g = np.zeros(shape, bool)
        g[tuple(loc[sel].T)] = True
        return g

    # the neck: the piece of its slab nearest the axis, as a round column along the
    # axis through the piece's centre; its radius from the median distance to that
    # centre (sqrt 2 times it on a disc), which a limb lying against the neck in that
    # slab moves much less than it moves the farthest point
    in_slab = np.abs(s - neck_mm) <= 0.5 * params.bin_mm
    if not in_slab.any():
        return limb
    pieces, _n = morph.label_components(grid(in_slab), 26)
    at = pieces[tuple(loc.T)]
    axis_piece = at[np.flatnonzero(in_slab)[np.argmin(np.linalg.norm(across[in_slab], axis=1))]]
    own = at == axis_piece
    centre = across[own].mean(axis=0)
    radial = np.linalg.norm(across - centre, axis=1)
    neck_r = float(np.sqrt(2.0) * np.median(radial[own])) + params.limb_neck_margin_mm
    # the head's own parts: its coverings (tissue within limb_cover_mm of the cranial
    # cavity) and the neck's column down to the level
    cover = morph.dilate_mm(grid(cavity), params.limb_cover_mm, sp)[tuple(loc.T)]
    above = s < shoulder_mm
    head_own = cover | (above & (radial <= neck_r))
    # the rest above the level, in pieces; those joined to the body below it are limbs
    rest = above & ~head_own
    if not rest.any():
        return limb
    parts, n = morph.label_components(grid(rest), 26)
    below = morph.dilate_mm(grid(~above), 1.01 * max(sp), sp)
    p_at = parts[tuple(loc.T)]
    hangs = np.unique(p_at[rest & below[tuple(loc.T)]])
    hangs = hangs[hangs > 0]
    if hangs.size == 0:
        return limb
    vox_ml = float(abs(np.linalg.det(aff))) / 1000.0
    sizes = np.bincount(p_at[rest], minlength=n + 1)
    logger.debug(
        "pieces hanging from the body above the level: %s mL (neck radius %.1f mm)",
        [round(float(sizes[h]) * vox_ml, 1) for h in hangs],
        neck_r,
    )
    hangs = hangs[sizes[hangs] * vox_ml >= params.limb_min_ml]
    if hangs.size == 0:
        return limb
    return rest & np.isin(p_at, hangs)
