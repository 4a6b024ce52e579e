"""Fusion analysis: bridge geometry, twin frames, classification and shared inventory.

Public entry point: :func:`analyse_fusion`. Classification rules (Stone & Goodrich,
Brain 2006; O'Connell 1976):

* long-axis angle < 140 deg: angular, else vertical;
* a significant shared dural venous sinus: total, else partial -> PA / PV / TA / TV;
* total vertical: axial face rotation < 40 deg type I, >= 140 deg type II, else III;
* angular: the fusion site (frontal, parietal, occipital, vertex) of each twin.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twinsep.errors import AnatomyError
from twinsep.fusion.axes import TwinFrame, angle_deg, axial_rotation_deg, twin_frame
from twinsep.fusion.completeness import CompletenessCall, call_completeness
from twinsep.fusion.params import OUT_OF_SCOPE_MODES, FusionParams
from twinsep.fusion.scope import ScopeReading, scope_message, skin_layer
from twinsep.fusion.shared import SharedInventory, shared_inventory
from twinsep.fusion.surface import InterfaceMesh, interface_mesh
from twinsep.labels import TWIN_A, TWIN_B, VESSEL
from twinsep.layout import to_canonical
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

#: Above this many voxels per twin the frames are computed on a strided grid.
FRAME_MAX_VOXELS = 3_000_000


@dataclass(frozen=True)
class Bridge:
    """The twin boundary inside the body (the bridge).

    Attributes
    ----------
    area_mm2 : float
        Area of the A/B boundary inside the body, mm^2.
    centroid_mm : (3,) ndarray
        Area-weighted centroid of the boundary, mm.
    axis : (3,) ndarray
        Unit normal of the boundary, pointing from twin A into twin B.
    length_mm : float
        Span along ``axis`` of the body cross-sections around the junction that widen
        away from it and stay within ``bridge_waist_factor`` times the narrowest one
        (stopping at each head's widest section), mm.
    """

    area_mm2: float
    centroid_mm: np.ndarray
    axis: np.ndarray
    length_mm: float


@dataclass(frozen=True)
class FusionAnalysis:
    """Result of the ``fusion`` stage (see ``docs/separation.md``).

    Attributes
    ----------
    type : str
        ``"vertical"`` or ``"angular"``.
    completeness : str
        ``"partial"`` or ``"total"``.
    stone_goodrich : str
        ``"PA"``, ``"PV"``, ``"TA"`` or ``"TV"``.
    oconnell : str or None
        ``"I"``, ``"II"``, ``"III"`` for total vertical, else None.
    site : str
        ``"vertex"`` for vertical fusions; for angular ones the site on each twin
        (``"frontal"``, ``"parietal"``, ``"occipital"``, ``"vertex"``), one word when
        both agree, else ``"frontal-occipital"`` style (A's site first).
    site_by_twin : dict
        ``{"A": site, "B": site}``.
    axis_angle_deg : float
        Angle between the two long axes (neck to vertex), deg.
    rotation_deg : float or None
        Axial rotation between the faces about the shared axis, deg (0..180); None
        when a twin's face direction is unknown (a head with no face, skull base or
        neck, oriented toward the junction: ``TwinFrame.from_anatomy`` False).
    frames : dict
        ``{"A": TwinFrame, "B": TwinFrame}``.
    bridge : Bridge
    interface : InterfaceMesh
        The boundary triangles (world mm).
    shared : SharedInventory
    in_scope : bool
        False when the fusion reaches the face or skull base beyond one voxel layer of
        skin's doubt (:mod:`twinsep.fusion.scope`; only with ``out_of_scope="warn"``;
        otherwise an AnatomyError is raised). A doubtful reading keeps it True and
        adds a warning.
    warnings : list of str
    completeness_evidence : str
        What ``completeness`` rests on: ``"shared sinus"`` (a shared sinus was found:
        total), ``"no shared sinus"`` (the venous sinuses are visible and none is
        shared: partial) or, when the scan shows no venous sinuses (a CT without
        contrast), the inference from the cranial cavities
        (:mod:`twinsep.fusion.completeness`): ``"inferred from brain contact without
        contrast"`` (total), ``"inferred from separate cranial cavities without
        contrast"`` (partial) or ``"undetermined without contrast: total assumed"``.
    completeness_cue : CompletenessCall or None
        The cue behind it (brain-contact and open shares of the bridge) and its rule.
    scope : dict
        ``{"A": ScopeReading, "B": ScopeReading}``: each twin's elevation of the fusion
        from its vertex, as segmented and (near the limit) with one voxel layer of skin
        added and taken off.
    """

    type: str
    completeness: str
    stone_goodrich: str
    oconnell: str | None
    site: str
    site_by_twin: dict[str, str]
    axis_angle_deg: float
    rotation_deg: float | None
    frames: dict[str, TwinFrame]
    bridge: Bridge
    interface: InterfaceMesh
    shared: SharedInventory
    in_scope: bool = True
    warnings: list[str] = field(default_factory=list)
    completeness_evidence: str = "no shared sinus"
    completeness_cue: CompletenessCall | None = None
    scope: dict[str, ScopeReading] = field(default_factory=dict)

    def evidence(self) -> dict[str, Any]:
        """JSON-ready evidence behind each number (world mm, unit vectors)."""

        def r(v: np.ndarray, n: int = 2) -> list[float]:
            return [round(float(x), n) for x in v]

        return {
            "twins": {
                k: {
                    "brain_centre_mm": r(f.brain_centre_mm),
                    "long_axis": r(f.axis, 4),
                    "face_dir": r(f.face_dir, 4),
                    "face_evidence_strength": round(f.face_strength, 3),
                    "axis_evidence_strength": round(f.axis_strength, 3),
                    "neck_mm": r(f.neck_mm),
                    "vertex_mm": r(f.vertex_mm),
                    "neck_evidence_ml": round(f.neck_ml, 2),
                    "face_evidence_ml": round(f.face_ml, 2),
                    "site": self.site_by_twin[k],
                    "axis_from": "anatomy" if f.from_anatomy else "junction (assumed)",
                }
                for k, f in self.frames.items()
            },
            "bridge_axis": r(self.bridge.axis, 4),
            **(
                {
                    "scope": {
                        "out_of_scope_deg": self.scope["A"].limit_deg,
                        **{k: v.to_json() for k, v in self.scope.items()},
                    }
                }
                if self.scope
                else {}
            ),
            "sinus_kind": self.shared.sinus_kind,
            "sinus_coverage_deg": round(self.shared.sinus_coverage_deg, 1),
            **(
                {"completeness": self.completeness_cue.to_json()}
                if self.completeness_cue is not None
                else {}
            ),
            "rules": {
                "angular_if_axis_angle_below_deg": 140.0,
                "total_if_shared_sinus": True,
                "without_contrast": "inferred from the cranial cavities (completeness)",
                "oconnell_deg": {"I": "< 40", "III": "40-140", "II": ">= 140"},
            },
        }


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def frame_steps(
    spacing_mm: tuple[float, float, float], n_vox: int, max_voxels: int = FRAME_MAX_VOXELS
) -> tuple[int, int, int]:
    """Strides (voxels, per array axis) of the grid the twins' frames are computed on.

    A twin of ``n_vox`` voxels is kept whole up to ``max_voxels``; above, each axis is
    strided to the finest spacing ``h`` (mm) at which ``n_vox / prod(steps)`` fits, every
    axis taking the largest step whose spacing is at most ``h`` (at least 1). Steps are
    chosen in mm, not voxels: one step for all axes turned 0.4 x 0.4 x 1.5 mm voxels into
    0.8 x 0.8 x 3 mm and tilted the real-CT twins' axes by 1.4 / 2.8 deg (union 162.5 for
    165.8 at 1 x 1 x 1.5 mm; the steps are now 3, 3, 1: 1.2 x 1.2 x 1.5 mm, 165.6; at
    0.4 x 0.4 x 3 mm real-ct-angular was read vertical). Isotropic grids keep the one
    step ``ceil((n_vox / max_voxels) ** (1/3))`` they had. The frames may hold more voxels
    than with one step (up to ``max_voxels`` as before): 1.7 M for 0.85 M per twin at
    0.4 x 0.4 x 3 mm.

    Parameters
    ----------
    spacing_mm : (3,) floats
        Voxel size along each array axis (mm).
    n_vox : int
        Voxels of the larger twin.
    max_voxels : int
        Most voxels per twin on the frames' grid.

    Returns
    -------
    (3,) ints
        Step along each array axis (>= 1).
    """
    sp = np.asarray(spacing_mm, dtype=float)
    if n_vox <= max_voxels:
        return (1, 1, 1)
    # candidate coarsest spacings: whole multiples of each axis' spacing, finest first
    top = int(np.ceil((n_vox / max_voxels) ** (1.0 / 3.0) * sp.max() / sp.min())) + 1
    for h in np.unique(np.outer(np.arange(1, top + 1), sp)):
        steps = np.maximum(1, np.floor(h / sp + 1e-9).astype(int))
        if n_vox <= max_voxels * int(np.prod(steps)):
            return (int(steps[0]), int(steps[1]), int(steps[2]))
    return (top, top, top)  # not reached: h = top * max(sp) fits


def _strided(
    vol: Volume, steps: tuple[int, int, int], anchor_mm: np.ndarray | None = None
) -> Volume:
    """Every ``steps``-th voxel of ``vol`` (steps per array axis), on the canonical
    layout (:func:`twinsep.layout.to_canonical`; ``vol`` itself when it is canonical and
    not strided). The kept voxels are then the same whichever way the scan was stored,
    and so are the frames' point samples in raster order: counted from the array's first
    voxel, a reversed axis kept other voxels, and the real CT's face read 0.6 deg apart
    between two storages of one scan; unstrided, the footprint's and the mirror plane's
    samples moved a 64-voxel phantom's axis 0.2 deg (docs/orientation.md, "Whole plan
    in 16 storages"). With ``anchor_mm`` (a world point) the kept voxels are those whose
    index along each axis is that of the voxel holding the anchor modulo the step, not
    those from the canonical array's first voxel: a scan stored turned 90 deg has
    another canonical array (the same one turned), whose first voxel is the other end of
    an axis (the real CT turned 90 deg about z read its axes 0.36 deg apart)."""
    canon, lay = to_canonical(vol, copy=False)
    if steps == (1, 1, 1):
        return (
            canon
            if lay.identity
            else Volume(np.ascontiguousarray(canon.array), canon.affine, dict(vol.meta))
        )
    st = tuple(steps[a] for a in lay.axes)
    phase = np.zeros(3, dtype=np.int64)
    if anchor_mm is not None:
        inv = np.linalg.inv(canon.affine)
        at = inv[:3, :3] @ np.asarray(anchor_mm, dtype=np.float64) + inv[:3, 3]
        phase = np.floor(at + 0.5).astype(np.int64) % np.asarray(st, dtype=np.int64)
    aff = canon.affine.copy()
    aff[:3, 3] = canon.affine[:3, :3] @ phase.astype(float) + canon.affine[:3, 3]
    aff[:3, :3] = aff[:3, :3] * np.asarray(st, dtype=float)[None, :]
    sub = canon.array[phase[0] :: st[0], phase[1] :: st[1], phase[2] :: st[2]]
    return Volume(np.ascontiguousarray(sub), aff, dict(vol.meta))


def _bridge_length_mm(
    body_pts_mm: np.ndarray,
    voxel_mm3: float,
    centre: np.ndarray,
    axis: np.ndarray,
    slab_mm: float,
    factor: float,
) -> float:
    """Span along ``axis`` of the cross-sections near the bridge that stay narrow."""
    t = (body_pts_mm - centre) @ axis
    max_t = float(np.abs(t).max())
    edges = np.arange(-max_t - slab_mm, max_t + slab_mm, slab_mm) + slab_mm / 2
    counts, _ = np.histogram(t, bins=edges)
    area = counts * voxel_mm3 / slab_mm
    mids = 0.5 * (edges[:-1] + edges[1:])
    i0 = int(np.argmin(np.abs(mids)))
    lo_win = max(0, i0 - 3)
    narrow_i = lo_win + int(np.argmin(area[lo_win : i0 + 4]))
    narrow = float(area[narrow_i])
    if narrow <= 0:
        return 0.0
    # Walk outward while the section stays narrow and keeps widening: a head's widest
    # section ends the bridge even when the whole head is no wider than the junction.
    lo = hi = narrow_i
    while lo - 1 >= 0 and area[lo] <= area[lo - 1] <= factor * narrow:
        lo -= 1
    while hi + 1 < area.size and area[hi] <= area[hi + 1] <= factor * narrow:
        hi += 1
    return float((hi - lo + 1) * slab_mm)


def _site(frame: TwinFrame, bridge_centre: np.ndarray, params: FusionParams) -> tuple[str, float]:
    v = _unit(bridge_centre - frame.brain_centre_mm)
    elevation = angle_deg(v, frame.axis)
    if elevation <= params.vertex_site_deg:
        return "vertex", elevation
    perp = v - np.dot(v, frame.axis) * frame.axis
    az = angle_deg(perp, frame.face_dir)
    if az <= params.frontal_site_deg:
        return "frontal", elevation
    if az >= 180.0 - params.frontal_site_deg:
        return "occipital", elevation
    return "parietal", elevation


def _scope_readings(
    lab_s: Volume,
    tw_s: Volume,
    elevations: dict[str, float | None],
    centroid: np.ndarray,
    params: FusionParams,
) -> dict[str, ScopeReading]:
    """Each twin's elevation as segmented and, when it lies within
    ``params.out_of_scope_check_deg`` of ``params.out_of_scope_deg`` or beyond (or its
    axis was assumed: None), with one voxel layer of skin added and taken off on the
    frames' grid (:func:`twinsep.fusion.scope.skin_layer`; a frame that then cannot be
    found reads None). The extra frames run two at a time in worker threads; they are
    pure functions, so the readings do not depend on the order they finish in."""
    limit = params.out_of_scope_deg
    value = {"A": TWIN_A, "B": TWIN_B}

    def reread(k: str, add: bool) -> float | None:
        lab, tw = skin_layer(lab_s.array, tw_s.array, value[k], add=add)
        try:
            f = twin_frame(lab_s.with_array(lab), tw_s.with_array(tw), value[k], params=params)
        except AnatomyError as exc:
            logger.info("scope: twin %s's frame with the skin %s: %s", k, add, exc)
            return None
        return _site(f, centroid, params)[1] if f.from_anatomy else None

    near = [
        k for k, e in elevations.items() if e is None or e > limit - params.out_of_scope_check_deg
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {(k, add): pool.submit(reread, k, add) for k in near for add in (True, False)}
        more = {key: job.result() for key, job in jobs.items()}
    return {
        k: ScopeReading(
            twin=k,
            elevations_deg=(e,) + ((more[(k, True)], more[(k, False)]) if k in near else ()),
            limit_deg=limit,
            doubt_deg=params.out_of_scope_doubt_deg,
            check_deg=params.out_of_scope_check_deg,
        )
        for k, e in elevations.items()
    }


def analyse_fusion(
    labels: Volume,
    twins: Volume,
    *,
    contrast: bool | None = None,
    bone_from_mr: bool = False,
    params: FusionParams = FusionParams(),
    exclude: np.ndarray | None = None,
) -> FusionAnalysis:
    """Classify the craniopagus fusion and inventory what the twins share.

    Parameters
    ----------
    labels : Volume
        Tissue labels (uint8 0..5, DESIGN.md).
    twins : Volume
        Twin ownership (uint8 0/1/2) on the same grid.
    contrast : bool, optional
        Whether the scans show the venous sinuses (a contrast CT, ``TissueLabels.contrast``,
        or an MR venogram). False, or fewer than ``params.venous_evidence_min_ml`` of
        labelled vessels, means they are not visible: the completeness is then inferred
        from the cranial cavities (brain contact across the bridge; the safer reading,
        total, when the cue is undecided) with a warning saying so
        (:func:`twinsep.fusion.completeness.call_completeness`). None: judged from the
        labels only.
    bone_from_mr : bool
        The labels were segmented from an MR alone (no CT): their bone is a T1's dark
        band, so separate cranial cavities are not inferred from it (total assumed,
        with a warning; :func:`twinsep.fusion.completeness.call_completeness`).
    params : FusionParams
        Thresholds (deg, mm, mL), see :class:`FusionParams`.
    exclude : ndarray of bool, optional
        Voxels (same grid) that are not the twins' anatomy: scalp tissue expanders
        already in place and the scalp stretched over them
        (:func:`twinsep.segment.implants.expander_cover_mask`). They are left out of
        each twin's frame (long axis, face), of the bridge length and of the shared
        bone's head fits; the boundary between the twins and the rest of the shared
        inventory keep them. A balloon on a flank
        pulled the extracranial mass cue sideways: blind clinical vt0-c15-exp read
        axis 104.8 deg (angular) for 169 without them.

    Returns
    -------
    FusionAnalysis

    Raises
    ------
    AnatomyError
        The twins do not touch, a twin cannot be oriented, or (with
        ``params.out_of_scope == "error"``) the fusion reaches the face or skull base
        as segmented and with one voxel layer of skin added or taken off
        (:mod:`twinsep.fusion.scope`); nearer the limit the plan is made with a warning.
    ValueError
        The two volumes are not on the same grid, or a parameter is invalid.
    """
    if not labels.same_grid(twins):
        raise ValueError("labels and twins are not on the same grid")
    if params.out_of_scope not in OUT_OF_SCOPE_MODES:
        raise ValueError(
            f"out_of_scope={params.out_of_scope!r} is not one of {', '.join(OUT_OF_SCOPE_MODES)}"
        )
    warnings: list[str] = []
    src = str(labels.meta.get("source") or twins.meta.get("source") or "labels")  # scan name
    tw = twins.array
    a = tw == TWIN_A
    b = tw == TWIN_B
    if not a.any() or not b.any():
        raise AnatomyError(src, "twin map holds only one twin; nothing to separate")
    n_vox = max(int(np.count_nonzero(a)), int(np.count_nonzero(b)))
    steps = frame_steps(labels.spacing_mm, n_vox, FRAME_MAX_VOXELS)
    anchor = None
    if steps != (1, 1, 1):
        # the strided grid holds the voxel at the twins' centroid, whatever the storage
        anchor = labels.centroid_mm(a | b)
    lab_s = _strided(labels, steps, anchor)
    tw_s = _strided(twins, steps, anchor)
    if exclude is not None and exclude.any():
        if exclude.shape != labels.shape:
            raise ValueError("exclude is not on the labels' grid")
        ex_s = _strided(labels.with_array(exclude), steps, anchor).array
        lab_s = lab_s.with_array(np.where(ex_s, 0, lab_s.array).astype(lab_s.array.dtype))
        tw_s = tw_s.with_array(np.where(ex_s, 0, tw_s.array).astype(tw_s.array.dtype))
    # The two frames need only the strided grids: each runs in a worker thread (their
    # numpy/edt loops release the GIL) while the boundary mesh is built here. They are
    # pure functions, so the results do not depend on which finishes first; errors of
    # the mesh are raised before those of the frames, as when run one after the other.
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = {
            k: pool.submit(twin_frame, lab_s, tw_s, v, params=params)
            for k, v in (("A", TWIN_A), ("B", TWIN_B))
        }
        mesh = interface_mesh(a, b, labels.affine, smooth_sigma_vx=params.smooth_sigma_vx)
        if mesh.area_mm2 <= 0:
            raise AnatomyError(
                src, "the two twins do not touch (no shared boundary): not conjoined"
            )
        w = mesh.areas_mm2
        centroid = (mesh.centroids_mm * w[:, None]).sum(axis=0) / w.sum()
        ca = labels.centroid_mm(a)
        cb = labels.centroid_mm(b)
        del a, b
        # Bridge normal: area-weighted triangle normals, oriented from A into B.
        tri = mesh.vertices_mm[mesh.faces]
        normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        # marching cubes winds every triangle the same way relative to side A, so the
        # sum of the triangle normals is the mean normal up to one global sign
        axis = _unit(normals.sum(axis=0))
        if np.linalg.norm(axis) == 0 or np.dot(axis, cb - ca) == 0:
            axis = _unit(cb - ca)
        if np.dot(axis, cb - ca) < 0:
            axis = -axis
        frames = {k: job.result() for k, job in jobs.items()}
    body_idx = np.argwhere(tw_s.array > 0)
    body_pts = lab_s.world_coords(body_idx)
    slab = 2.0 * max(lab_s.spacing_mm)
    length = _bridge_length_mm(
        body_pts, lab_s.voxel_volume_mm3, centroid, axis, slab, params.bridge_waist_factor
    )
    bridge = Bridge(area_mm2=mesh.area_mm2, centroid_mm=centroid, axis=axis, length_mm=length)

    axis_angle = angle_deg(frames["A"].axis, frames["B"].axis)
    faceless = [k for k, f in frames.items() if not f.from_anatomy]
    rotation = None if faceless else axial_rotation_deg(frames["A"], frames["B"])
    ftype = "angular" if axis_angle < params.angular_below_deg else "vertical"
    if abs(axis_angle - params.angular_below_deg) < 10.0:
        warnings.append(
            f"long-axis angle {axis_angle:.0f}° is within 10° of the "
            f"{params.angular_below_deg:g}° angular/vertical limit: the type is borderline"
        )
    for f in frames.values():
        # what the axis detector doubted (cues that disagree, no neck, little face, ...)
        # reaches the plan; each note already names its twin
        warnings.extend(f.notes)

    # Scope: a calvarial union only, read three ways near the limit (fusion.scope)
    sites: dict[str, str] = {}
    elevations: dict[str, float | None] = {}
    for k, f in frames.items():
        sites[k], elevation = _site(f, centroid, params)
        elevations[k] = elevation if f.from_anatomy else None
    scope = _scope_readings(lab_s, tw_s, elevations, centroid, params)
    in_scope = True
    for reading in scope.values():
        verdict = reading.verdict
        if verdict == "in":
            continue
        msg = scope_message(reading)
        if verdict == "doubtful":
            warnings.append(msg)
            continue
        in_scope = False
        if params.out_of_scope == "error":
            raise AnatomyError(src, msg)
        warnings.append("OUT OF SCOPE: " + msg)

    shared = shared_inventory(
        labels,
        twins,
        mesh,
        centroid,
        axis,
        frames=frames,
        params=params,
        exclude=exclude if exclude is not None and exclude.any() else None,
    )
    vessel_ml = float(np.count_nonzero(labels.array == VESSEL)) * labels.voxel_volume_mm3 / 1e3
    venous_visible = contrast is not False and vessel_ml >= params.venous_evidence_min_ml
    # the inventory counts each twin's own brain only (shared.main_brain_labels)
    call = call_completeness(
        shared,
        mesh.area_mm2,
        venous_visible=venous_visible,
        vessel_ml=vessel_ml,
        contrast=contrast,
        params=params,
        bone_from_mr=bone_from_mr,
    )
    completeness, evidence = call.completeness, call.evidence
    warnings.extend(call.warnings)
    sg = ("T" if completeness == "total" else "P") + ("V" if ftype == "vertical" else "A")
    oconnell: str | None = None
    if rotation is None:
        warnings.append(
            f"twin{'s' if len(faceless) > 1 else ''} {' and '.join(faceless)} "
            f"{'shows' if len(faceless) == 1 else 'show'} no "
            "face: the axial face rotation is "
            "unknown (reported as null)"
            + (" and the O'Connell type was not determined" if sg == "TV" else "")
        )
    elif sg == "TV":
        if rotation < params.oconnell_type_i_below_deg:
            oconnell = "I"
        elif rotation >= params.oconnell_type_ii_from_deg:
            oconnell = "II"
        else:
            oconnell = "III"
        for limit in (params.oconnell_type_i_below_deg, params.oconnell_type_ii_from_deg):
            if abs(rotation - limit) < 10.0:
                warnings.append(
                    f"face rotation {rotation:.0f}° is within 10° of the O'Connell limit "
                    f"{limit:g}°: the O'Connell type is borderline"
                )
    if ftype == "vertical":
        site = "vertex"
    else:
        site = sites["A"] if sites["A"] == sites["B"] else f"{sites['A']}-{sites['B']}"
    logger.info(
        "fusion: %s %s (%s), axis angle %.1f deg, rotation %s deg, bridge %.0f mm2",
        completeness,
        ftype,
        sg,
        axis_angle,
        "unknown" if rotation is None else f"{rotation:.1f}",
        bridge.area_mm2,
    )
    return FusionAnalysis(
        type=ftype,
        completeness=completeness,
        stone_goodrich=sg,
        oconnell=oconnell,
        site=site,
        site_by_twin=sites,
        axis_angle_deg=axis_angle,
        rotation_deg=rotation,
        frames=frames,
        bridge=bridge,
        interface=mesh,
        shared=shared,
        in_scope=in_scope,
        warnings=warnings,
        completeness_evidence=evidence,
        completeness_cue=call,
        scope=scope,
    )
