"""Ventricle size per twin: ventricular CSF volume and two linear indices.

Definitions (world millimetres through the affine; ``docs/segmentation.md``,
"Ventricle size per twin")
--------------------------------------------------------------------------------------
*Cranial cavity* of a twin: its largest piece of brain and CSF (labels 3, 4; 26-connected)
with its holes filled (vessels inside the brain). *Depth*: distance (mm) from the wall
of that cavity (:func:`wall_cavity`); where the twins' cavities join, the twin boundary
is a surface (the CSF sheet between two brains in a total union lies there). The wall
is the inner table, not a vessel that runs from it into the brain: the twin's vessel
voxels against the cavity (sinuses, the straight sinus and the deep veins, all inside
the dura) count as cavity, and so does what a ball of ``VentricleParams.wall_close_mm``
closes (a channel one or two voxels wide, whatever its label); otherwise one voxel
that joins the straight sinus to the confluence opens a tunnel from the surface to
between the lateral ventricles and moves their volume by 10 %.

*Ventricular CSF*: the twin's CSF pieces (26-connected) that lie at least
``VentricleParams.shell_mm`` under the cavity surface, hold at least
``VentricleParams.min_body_ml`` and a ball of ``core_mm`` radius (a body wider than
15 mm: enlarged ventricles), opened by a ball of ``open_mm``. The subarachnoid CSF (1-4 mm
under the inner table) and the sulci never reach that depth; a wide CSF body deeper in
the brain is a dilated ventricle or a cyst, which the measure cannot tell apart. Normal
ventricles are thinner and are not measured (no number: "not enlarged").

*Head frame* (``fusion.axes.TwinFrame``): ``w`` its long axis (neck to vertex), ``v`` its
face direction, ``u = w x v`` left-right. Axial planes are slabs across ``w`` one voxel
(the largest spacing) thick. A width on a plane is the span along ``u`` of the voxel
centres in it plus one voxel length along ``u``.

*Frontal horns*: the ventricular CSF in the front quarter of the ventricles' extent
along ``v``; *occipital horns* the back quarter. On the template infant brain these
hold the frontal and occipital horns (and the front and back of the bodies) and leave
the temporal horns out (their tips lie in the middle half).

*Evans' index* (Evans 1942): the largest width across both frontal horns over the axial
planes, divided by the inner skull width (the cavity's span along ``u``) on the same
plane; > 0.30 is ventriculomegaly.
*Frontal and occipital horn ratio* (FOHR; O'Hayon et al., Pediatr Neurosurg 1998): the
largest frontal-horn width plus the largest occipital-horn width, divided by twice the
biparietal diameter (here the largest inner skull width over the planes that hold the
lateral ventricles). FOHR is the index built for children: it is independent of age,
about 0.37 in normal children, and among the linear indices it agrees best with the
ventricular volume in congenital hydrocephalus (Ragan et al., J Neurosurg Pediatr 2015);
the CHOP infant pathway grades 0.4 normal, 0.55 mild, 0.60 moderate, 0.70 severe.

An index is not given (``None``, with the reason) when the twin's frame has no face
direction, no wide ventricle is found, the plane it needs has the cavity's width ending
at the junction with the other twin (there the width is not the skull's), or metal
streaks run through the ventricles (the slices the segment stage found streaking metal
in, ``segment.result.MetalSlices``).

*Enlarged*: either index over its limit; when neither index is given, a ventricular CSF
volume far above normal infant ventricles (``VentricleParams.volume_limit_ml``, sources
there) makes the ventricles enlarged and a smaller one leaves the verdict open (None).
A volume over that limit where the indices say "not enlarged" is said in the note.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from twinsep.fusion.axes import TwinFrame
from twinsep.labels import BRAIN, CSF, VESSEL
from twinsep.segment import morph
from twinsep.segment.result import MetalSlices
from twinsep.volume import Volume

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VentricleParams:
    """Tunable numbers of the ventricle measure (recorded in ``plan.json``)."""

    shell_mm: float = 10.0
    """CSF shallower than this under the cavity surface is subarachnoid, mm. Infants:
    subarachnoid CSF 1-4 mm (up to about 5 mm in benign enlargement of the subarachnoid
    spaces) and sulci a few mm deep; the lateral ventricles' walls lie 20 mm or more
    under the inner table of an infant skull, and still more than 10 mm in the
    hydrocephalic head of the clinical blind layer."""

    min_body_ml: float = 0.1
    """A deep CSF piece smaller than this (mL) is left out (noise, a vessel's dark rim)."""

    core_mm: float = 7.5
    """A deep CSF piece is measured only when a ball of this radius (mm) fits in it
    (its voxel centres' distance to the nearest voxel outside it): a body more than
    15 mm across. Lateral ventricles over 15 mm wide are hydrocephalus, and the normal
    infant atrium is at most 10 mm across (Garrett et al., Radiology 1980); normal
    bodies and horns are thinner. Thinner deep pieces are not measured: normal
    ventricles, and on 3 mm voxels the streak-darkened white matter next to metal
    ports that the segmentation calls CSF (blind clinical 'exp' and 'all' cases: 7-18 mL
    with at most 4.2-6.0 mm inside)."""

    wall_close_mm: float = 3.0
    """The cavity whose wall the depth is measured from is closed by a ball of this
    radius (mm; at least one voxel across, 1.01 of the largest spacing): a channel into
    the brain narrower than about twice this (a vein, its partial-volume rim called
    bone) is not the inner table. Clinical blind vt0-c15-hydro (3 mm): the sinus join
    (21998c2) made one CSF voxel between the straight sinus and the confluence vessel,
    the sinus became a tunnel from the back of the cavity to 3 mm from the ventricles'
    medial walls (depth there 28.5 -> 9.5 mm), and twin A's volume went 41.0 -> 37.0 mL
    with the same CSF labels; 41.1 both ways with the wall."""

    open_mm: float = 3.0
    """The wide pieces are opened by a ball of this radius (mm) before they are measured,
    so that thin CSF or artefact sheets joined to a ventricle do not widen it."""

    horn_fraction: float = 0.25
    """Share of the ventricles' front-to-back extent taken as the frontal (front) and
    occipital (back) horns."""

    evans_limit: float = 0.30
    """Evans' index above this is ventriculomegaly (Evans 1942; radiopaedia: 0.20-0.25
    normal, 0.25-0.30 possible, > 0.30 ventriculomegaly)."""

    fohr_limit: float = 0.50
    """FOHR above this is enlarged ventricles (children: normal about 0.37-0.40,
    O'Hayon 1998 and the CHOP pathway; mild hydrocephalus 0.55 in that pathway: the
    limit is half-way between normal and mild)."""

    volume_limit_ml: float = 60.0
    """Ventricular CSF (``VentricleMeasure.volume_ml``) above this, mL, is far above the
    normal infant ventricles: when neither Evans' index nor FOHR can be measured (the
    junction crosses their planes, no face direction, no head frame), the ventricles are
    said to be enlarged from it; when the indices are measured and say not enlarged, the
    note says that the volume disagrees (the verdict stays the indices'). Between a wide
    body's first millilitres and this limit the volume decides nothing (``enlarged`` stays
    None without an index). Normal ranges: lateral ventricles of 165 normal infants on
    T2-weighted MRI 13.1 +- 6.0 mL (boys) and 11.1 +- 4.6 mL (girls) (Lu et al.,
    PMC7398218, table 1): 60 mL is the boys' mean + 7.8 SD; all ventricles of normal
    children on MRI (Xenos, Sgouros and Natarajan, J Neurosurg 2002;97:584-90): 17 mL at
    12 months (boys 20), 26 mL at 15 years: 60 mL is three times the one-year-old boys'
    mean and over twice the adolescents'. The measured volume is only the wide bodies,
    opened (38-41 mL of the 43.7 mL of all the clinical blind hydrocephalic head's
    ventricles), so a normal infant's thin ventricles never add to it. The margin is wide
    on purpose (a false "enlarged" on a normal infant is worse than a missed borderline
    one): that clinical hydrocephalic head (Evans' index 0.47, about 41 mL) is not decided
    by its volume; the blind shapes layer's hydrocephalic twins (131-449 mL) are."""

    min_face_strength: float = 0.05
    """Below this ``TwinFrame.face_strength`` the face direction is a guess (fusion.axes)
    and no linear index is given: left-right would be unknown."""

    metal_hidden_share: float = 0.5
    """When no wide CSF body is found and at least this share of a twin's cranial cavity
    lies in the slices where the segmentation reads no CSF body because of metal
    (``MetalSlices.unread``), the twin's ventricles are said to be not measurable on
    this CT, and the plan warns (dimensionless; "most of the brain"). Measured on the
    clinical blind cases (in-process segmentation, 2026-11-27): the hydrocephalic twin
    whose ventricles were missed held 0.72 of its cavity there (at120-occ-c15/p15-all,
    3 mm); hydrocephalic twins found at 0.32-0.66 (the 'exp' and 'all' cases, 1.2 mm
    too); twins without hydrocephalus 0.33-0.72."""


@dataclass(frozen=True)
class VentricleMeasure:
    """Ventricle size of one twin (every length in mm, volume in mL).

    Attributes
    ----------
    twin : str
        ``"A"`` or ``"B"``.
    volume_ml : float or None
        Ventricular CSF of the wide bodies (module docstring), mL; None when no body
        wider than ``2 * core_mm`` is found (normal ventricles are not measured).
    evans_index, fohr : float or None
        Evans' index and the frontal and occipital horn ratio; None when not measured
        (``note`` says why).
    frontal_horn_width_mm, occipital_horn_width_mm : float or None
        Largest width across both frontal (occipital) horns on an axial plane, mm.
    inner_skull_width_mm : float or None
        Inner skull width on the plane of the largest frontal-horn width, mm.
    biparietal_mm : float or None
        Largest inner skull width over the lateral ventricles' planes, mm.
    enlarged : bool or None
        Evans' index above ``VentricleParams.evans_limit`` or FOHR above
        ``fohr_limit``; when neither index could be measured, ``volume_ml`` above
        ``volume_limit_ml`` (far above normal infant ventricles); False when no CSF body
        wider than ``2 * core_mm`` lies deep in the brain; None when a wide body was found,
        neither index could be measured and its volume is not above ``volume_limit_ml``.
    note : str
        Why an index is missing, and what the volume says when it decides or disagrees
        with the indices ("" when both indices are given and the volume agrees).
    metal_hidden_fraction : float or None
        Share of the twin's cranial cavity in slices where metal keeps the segmentation
        from reading CSF bodies, when that share made the ventricles not measurable
        (``VentricleParams.metal_hidden_share``); None otherwise.
    """

    twin: str
    volume_ml: float | None
    evans_index: float | None = None
    fohr: float | None = None
    frontal_horn_width_mm: float | None = None
    occipital_horn_width_mm: float | None = None
    inner_skull_width_mm: float | None = None
    biparietal_mm: float | None = None
    enlarged: bool | None = None
    note: str = ""
    metal_hidden_fraction: float | None = None

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict (units in key names, rounded)."""

        def r(x: float | None, n: int) -> float | None:
            return None if x is None else round(float(x), n)

        return {
            "volume_ml": r(self.volume_ml, 1),
            "evans_index": r(self.evans_index, 3),
            "fohr": r(self.fohr, 3),
            "frontal_horn_width_mm": r(self.frontal_horn_width_mm, 1),
            "occipital_horn_width_mm": r(self.occipital_horn_width_mm, 1),
            "inner_skull_width_mm": r(self.inner_skull_width_mm, 1),
            "biparietal_mm": r(self.biparietal_mm, 1),
            "enlarged": self.enlarged,
            "note": self.note,
            "metal_hidden_fraction": r(self.metal_hidden_fraction, 2),
        }


def cavity_masks(labels: np.ndarray, twins: np.ndarray) -> dict[int, np.ndarray]:
    """Each twin's cranial cavity (largest brain + CSF piece, holes filled), by twin value."""
    inside = np.isin(labels, (BRAIN, CSF))
    out = {}
    for value in (1, 2):
        own = inside & (twins == value)
        if not own.any():
            out[value] = own
            continue
        out[value] = morph.fill_holes(morph.largest_components(own, 1, 26))
    return out


def wall_cavity(
    cavity: np.ndarray,
    labels: np.ndarray,
    twins: np.ndarray,
    value: int,
    spacing_mm: morph.Spacing,
    params: VentricleParams,
) -> np.ndarray:
    """The twin's cranial cavity up to its wall, for the depth (module docstring).

    Parameters
    ----------
    cavity : ndarray of bool
        The twin's cranial cavity (:func:`cavity_masks`).
    labels, twins : ndarray
        Tissue labels and twin map (same grid).
    value : int
        The twin (1 or 2).
    spacing_mm : tuple of 3 float
        Voxel size (mm).
    params : VentricleParams

    Returns
    -------
    ndarray of bool
        ``cavity`` with the twin's vessel voxels that touch it (26-neighbours) and what
        a ball of ``params.wall_close_mm`` closes, holes filled; only voxels of this
        twin are added (the twin boundary stays a surface).
    """
    if not cavity.any():
        return cavity.copy()
    own = twins == value
    near = morph.dilate_mm(cavity, 1.01 * float(np.sqrt(np.sum(np.square(spacing_mm)))), spacing_mm)
    wall = cavity | ((labels == VESSEL) & own & near)
    radius = max(params.wall_close_mm, 1.01 * float(max(spacing_mm)))
    closed = morph.fill_holes(morph.close_mm(wall, radius, spacing_mm))
    out: np.ndarray = cavity | (closed & own)
    return out


def ventricle_mask(
    labels: np.ndarray,
    twins: np.ndarray,
    value: int,
    depth_mm: np.ndarray,
    spacing_mm: morph.Spacing,
    params: VentricleParams,
) -> np.ndarray:
    """Wide ventricular CSF of twin ``value`` (1 or 2), module docstring: the deep CSF
    pieces that hold a ball of ``2 * core_mm`` across, opened by ``open_mm``."""
    deep = (labels == CSF) & (twins == value) & (depth_mm >= params.shell_mm)
    if not deep.any():
        return deep
    vox_ml = float(np.prod(spacing_mm)) / 1000.0
    lab, n = morph.label_components(deep, 26)
    sizes = np.bincount(lab.ravel(), minlength=int(n) + 1)
    inner = morph.distance_mm(deep, spacing_mm)
    core = np.zeros(int(n) + 1)
    np.maximum.at(core, lab[deep], inner[deep])
    keep = (sizes * vox_ml >= params.min_body_ml) & (core >= params.core_mm)
    keep[0] = False
    wide = np.asarray(keep[lab], dtype=bool)
    if not wide.any():
        return wide
    return morph.open_mm(wide, params.open_mm, spacing_mm)


def _surface(mask: np.ndarray) -> np.ndarray:
    """Voxels of ``mask`` with a face neighbour outside it (or on the array border)."""
    m = np.asarray(mask, dtype=bool)
    inner = m.copy()
    for ax in range(m.ndim):
        lo = [slice(None)] * m.ndim
        hi = [slice(None)] * m.ndim
        lo[ax], hi[ax] = slice(0, -1), slice(1, None)
        inner[tuple(lo)] &= m[tuple(hi)]
        inner[tuple(hi)] &= m[tuple(lo)]
        edge = [slice(None)] * m.ndim
        for end in (0, -1):
            edge[ax] = slice(end, end + 1) if end == 0 else slice(-1, None)
            inner[tuple(edge)] = False
    return m & ~inner


def _frame_axes(frame: TwinFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    w = np.asarray(frame.axis, float)
    w = w / np.linalg.norm(w)
    v = np.asarray(frame.face_dir, float)
    v = v - w * float(v @ w)
    v = v / np.linalg.norm(v)
    return np.cross(w, v), v, w


def _project(mask: np.ndarray, affine: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(N, 3) coordinates (u, v, w) of the voxel centres of ``mask`` (mm, frame axes)."""
    idx = np.argwhere(mask).astype(float)
    world = idx @ affine[:3, :3].T + affine[:3, 3]
    return world @ axes.T


def _span_by_slab(uvw: np.ndarray, slab_mm: float, pad_mm: float) -> dict[int, tuple[float, float]]:
    """Per slab number (``floor(w / slab_mm)``): (min u, max u) of the points, widened
    by ``pad_mm`` on each side."""
    if len(uvw) == 0:
        return {}
    k = np.floor(uvw[:, 2] / slab_mm).astype(np.int64)
    order = np.argsort(k, kind="stable")
    ks, u = k[order], uvw[order, 0]
    keys, start = np.unique(ks, return_index=True)
    lo = np.minimum.reduceat(u, start)
    hi = np.maximum.reduceat(u, start)
    return {
        int(key): (float(a) - pad_mm, float(b) + pad_mm)
        for key, a, b in zip(keys, lo, hi, strict=True)
    }


def measure_twin(
    twin: str,
    vent: np.ndarray,
    cavity: np.ndarray,
    junction: np.ndarray,
    labels: Volume,
    frame: TwinFrame | None,
    params: VentricleParams,
    *,
    streaks: bool = False,
    metal_share: float = 0.0,
) -> VentricleMeasure:
    """Ventricle volume and indices of one twin from its masks (module docstring).

    Parameters
    ----------
    twin : str
        ``"A"`` or ``"B"``.
    vent, cavity : ndarray of bool
        The twin's ventricular CSF and cranial cavity, on the grid of ``labels``.
    junction : ndarray of bool
        Cavity voxels of this twin that touch the other twin's cavity.
    labels : Volume
        For the grid (affine, spacing).
    frame : TwinFrame or None
        The twin's head frame from the fusion analysis.
    params : VentricleParams
    streaks : bool
        Metal streaks cross the ventricles (or, without wide ones, the cavity): no
        number is given (see :func:`measure_ventricles`).
    metal_share : float
        Share of ``cavity`` in the slices where metal keeps the segmentation from reading
        CSF bodies (``MetalSlices.unread``); with streaks, no wide body and at least
        ``params.metal_hidden_share`` of it, the ventricles are not measurable.
    """
    volume_ml = float(vent.sum()) * labels.voxel_volume_mm3 / 1000.0
    base = VentricleMeasure(twin=twin, volume_ml=volume_ml)
    if not vent.any():
        wide = f"no CSF body wider than {2 * params.core_mm:.0f} mm deep in the brain"
        if streaks and metal_share >= params.metal_hidden_share:
            return _replace(
                base,
                volume_ml=None,
                metal_hidden_fraction=metal_share,
                note=(
                    f"{wide}, but {100 * metal_share:.0f} % of this twin's brain lies in "
                    "slices where metal and its streaks hide CSF: the ventricles cannot be "
                    "measured on this CT (enlarged ventricles are neither seen nor excluded)"
                ),
            )
        if streaks:
            return _replace(
                base,
                volume_ml=None,
                note=f"{wide}, but metal streaks can hide ventricles: not measured",
            )
        return _replace(
            base,
            volume_ml=None,
            enlarged=False,
            # the verdict is ``enlarged`` (the report prints it beside this note)
            note=f"{wide}; thinner ventricles are not measured",
        )
    if frame is None:
        return _with_volume(_replace(base, note="no head frame for this twin"), params)
    if not frame.from_anatomy or frame.face_strength < params.min_face_strength:
        return _with_volume(
            _replace(
                base, note="the face direction of this head is not known (left-right unknown)"
            ),
            params,
        )
    u, v, w = _frame_axes(frame)
    axes = np.stack([u, v, w])
    affine = np.asarray(labels.affine, float)
    # voxel length along u: root-sum-square of the voxel edges projected on u
    edges = affine[:3, :3]
    pad = 0.5 * float(np.sqrt(np.sum((u @ edges) ** 2)))
    slab = float(max(labels.spacing_mm))
    pv = _project(vent, affine, axes)
    vmin, vmax = float(pv[:, 1].min()), float(pv[:, 1].max())
    cut = params.horn_fraction * (vmax - vmin)
    front = _span_by_slab(pv[pv[:, 1] >= vmax - cut], slab, pad)
    back = _span_by_slab(pv[pv[:, 1] <= vmin + cut], slab, pad)
    # a plane's extremes lie on the cavity's surface: its shell voxels suffice (a 0.5 mm
    # CT holds ~10 M cavity voxels per twin, a few hundred thousand on the surface)
    skull = _span_by_slab(_project(_surface(cavity), affine, axes), slab, pad)
    # planes whose cavity width ends at the junction (a junction voxel within a voxel of
    # either end): there the width is not the skull's
    joined = _span_by_slab(_project(junction, affine, axes), slab, pad)
    touched = {
        k
        for k, (lo, hi) in joined.items()
        if k in skull and (lo <= skull[k][0] + 4 * pad or hi >= skull[k][1] - 4 * pad)
    }

    def width(spans: dict[int, tuple[float, float]]) -> tuple[int, float] | None:
        if not spans:
            return None
        k = max(spans, key=lambda s: spans[s][1] - spans[s][0])
        return k, spans[k][1] - spans[k][0]

    fh, oh = width(front), width(back)
    notes = []
    evans = inner = None
    if fh is not None and fh[0] in skull and fh[0] not in touched:
        inner = skull[fh[0]][1] - skull[fh[0]][0]
        evans = fh[1] / inner
    else:
        notes.append("Evans' index: the frontal horns' plane meets the junction")
    levels = range(int(np.floor(pv[:, 2].min() / slab)), int(np.floor(pv[:, 2].max() / slab)) + 1)
    if any(k in touched for k in levels):
        bpd = None
        notes.append("FOHR: the junction crosses the ventricles' planes")
    else:
        widths = [skull[k][1] - skull[k][0] for k in levels if k in skull]
        bpd = max(widths) if widths else None
    fohr = None
    if bpd and fh is not None and oh is not None:
        fohr = (fh[1] + oh[1]) / (2.0 * bpd)
    if streaks:
        # the CSF beside streaks is off both ways (darkened brain called CSF, ventricle
        # called brain: Evans' index 0.60-0.62 for 0.48 on the 1.2 mm clinical cases)
        return _replace(
            base,
            volume_ml=None,
            enlarged=True,
            note=(
                f"a CSF body wider than {2 * params.core_mm:.0f} mm lies deep in the brain, "
                "but metal streaks cross the brain: its size is not measured"
            ),
        )
    measured = VentricleMeasure(
        twin=twin,
        volume_ml=volume_ml,
        evans_index=evans,
        fohr=fohr,
        frontal_horn_width_mm=None if fh is None else fh[1],
        occipital_horn_width_mm=None if oh is None else oh[1],
        inner_skull_width_mm=inner,
        biparietal_mm=bpd,
        enlarged=_enlarged(evans, fohr, params),
        note="; ".join(notes),
    )
    return _with_volume(measured, params)


def _with_volume(m: VentricleMeasure, params: VentricleParams) -> VentricleMeasure:
    """What the volume adds to a measure with wide bodies (``VentricleParams.volume_limit_ml``).

    Without either index, a volume above the limit makes the ventricles enlarged (the
    note says why) and one at or under it is said not to decide; with the indices saying
    "not enlarged", a volume above the limit is said in the note (the verdict stays).
    """
    if m.volume_ml is None:
        return m
    limit = params.volume_limit_ml
    over = m.volume_ml > limit
    body = (
        f"{m.volume_ml:.0f} mL of CSF in bodies wider than {2 * params.core_mm:.0f} mm "
        "deep in the brain"
    )
    if m.evans_index is None and m.fohr is None:
        if over:
            said = (
                f"enlarged from the volume: {body}, far above normal infant ventricles "
                f"(limit {limit:.0f} mL; dilated ventricles or a cyst)"
            )
            return _replace(m, enlarged=True, note=_join(m.note, said))
        said = (
            f"no index: the volume ({m.volume_ml:.0f} mL, not above {limit:.0f} mL) "
            "alone does not decide"
        )
        return _replace(m, enlarged=None, note=_join(m.note, said))
    if m.enlarged is False and over:
        said = (
            f"yet {body}, far above normal infant ventricles (limit {limit:.0f} mL): "
            "the indices say not enlarged, the volume does not; look at the images "
            "(a cyst, or dilated ventricles the indices' planes miss)"
        )
        return _replace(m, note=_join(m.note, said))
    return m


def _join(note: str, more: str) -> str:
    return f"{note}; {more}" if note else more


def _enlarged(evans: float | None, fohr: float | None, params: VentricleParams) -> bool | None:
    """Either index over its limit (None when neither was measured)."""
    if evans is None and fohr is None:
        return None
    return bool(
        (evans is not None and evans > params.evans_limit)
        or (fohr is not None and fohr > params.fohr_limit)
    )


def _replace(m: VentricleMeasure, **kw: object) -> VentricleMeasure:
    from dataclasses import replace

    return replace(m, **kw)  # type: ignore[arg-type]


def measure_ventricles(
    labels: Volume,
    twins: Volume,
    frames: Mapping[str, TwinFrame | None],
    *,
    params: VentricleParams = VentricleParams(),
    metal: MetalSlices | None = None,
) -> dict[str, VentricleMeasure]:
    """Ventricular CSF volume, Evans' index and FOHR of each twin.

    Parameters
    ----------
    labels : Volume
        Tissue labels (uint8 0-5).
    twins : Volume
        Twin map (0, 1 A, 2 B) on the same grid.
    frames : mapping
        ``{"A": TwinFrame | None, "B": ...}``: each twin's head frame (``fusion``).
    params : VentricleParams
    metal : MetalSlices or None
        The acquisition slices of ``labels`` that hold streaking metal or its streaks
        (``TissueLabels.metal`` of the segment stage, :attr:`MetalSlices.planes`). CSF
        in those slices is off both ways (the streak-darkened brain comes out CSF, the
        ventricle beside a streak brain), so a twin whose wide CSF bodies (or, without
        any, whose cranial cavity) reach them gets no number: "enlarged" with a wide
        body, "not measured" without one.

    Returns
    -------
    dict
        ``{"A": VentricleMeasure, "B": VentricleMeasure}``.

    Raises
    ------
    ValueError
        When ``metal`` was found on another grid (its slices do not fit ``labels``).
    """
    lab = np.asarray(labels.array)
    tw = np.asarray(twins.array)
    if metal is not None and not (
        0 <= metal.axis < 3 and metal.planes.shape == (lab.shape[metal.axis],)
    ):
        raise ValueError(
            f"metal slices ({metal.planes.shape[0]} along axis {metal.axis}) do not fit "
            f"labels of shape {lab.shape}"
        )
    inside = np.isin(lab, (BRAIN, CSF))
    box = _box(inside)
    out: dict[str, VentricleMeasure] = {}
    if box is None:
        for name in ("A", "B"):
            out[name] = VentricleMeasure(name, None, note="no brain in the scan")
        return out
    lab_c, tw_c = lab[box], tw[box]
    shift = np.eye(4)
    shift[:3, 3] = [s.start for s in box]
    sub = Volume(lab_c, np.asarray(labels.affine, float) @ shift)
    spacing = labels.spacing_mm
    cav = cavity_masks(lab_c, tw_c)
    for name, value in (("A", 1), ("B", 2)):
        other = cav[3 - value]
        junction = cav[value] & morph.dilate_mm(other, 1.01 * max(spacing), spacing)
        # depth under this twin's own cavity surface: the twin boundary counts as a
        # surface, so the CSF sheet between two brains at the junction is not deep
        wall = wall_cavity(cav[value], lab_c, tw_c, value, spacing, params)
        depth = morph.distance_mm(wall, spacing)
        vent = ventricle_mask(lab_c, tw_c, value, depth, spacing, params)
        streaked = False
        share = 0.0
        if metal is not None:
            ax = metal.axis
            planes = metal.planes[box[ax]]
            reach = vent if vent.any() else cav[value]
            others = tuple(a for a in range(3) if a != ax)
            streaked = bool(np.any(reach.any(axis=others) & planes))
            per = np.count_nonzero(cav[value], axis=others)
            total = int(per.sum())
            if total and metal.unread is not None:
                share = float(per[metal.unread[box[ax]]].sum()) / total
        out[name] = measure_twin(
            name,
            vent,
            cav[value],
            junction,
            sub,
            frames.get(name),
            params,
            streaks=streaked,
            metal_share=share,
        )
        logger.debug("ventricles %s: %s", name, out[name])
    return out


def _box(mask: np.ndarray) -> tuple[slice, ...] | None:
    if not mask.any():
        return None
    sl = []
    for ax in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != ax)))
        sl.append(slice(max(int(hit[0]) - 1, 0), min(int(hit[-1]) + 2, mask.shape[ax])))
    return tuple(sl)
