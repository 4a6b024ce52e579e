"""Separation plan: min-cut surface, verification, vessel crossings, stages, risk."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import cc3d
import edt
import numpy as np

from twinsep.fusion.analysis import FusionAnalysis
from twinsep.fusion.surface import InterfaceMesh, interface_mesh
from twinsep.labels import BONE, BRAIN, CSF, SOFT_TISSUE, TISSUE_NAMES, TWIN_A, TWIN_B, VESSEL
from twinsep.readout import vessel_width_text
from twinsep.segment.morph import label_components
from twinsep.separate.boxes import grow, slices
from twinsep.separate.crossings import (
    SinusShare,
    VesselCrossing,
    shared_sinus_mask,
    sinus_share_ml,
    vessel_crossings,
)
from twinsep.separate.mincut import CutResult, SeparationCheck, min_cut_twins, verify_separation
from twinsep.separate.moved import MovedTissue, moved_tissue_ml
from twinsep.separate.packing import PackedVolume, pack_volume, unpack_volume
from twinsep.separate.params import SeparateParams
from twinsep.separate.risk import risk_score
from twinsep.separate.staging import (
    PlannedStage,
    StagingFacts,
    load_stage_file,
    propose_stages,
    sinus_edge_words,
    sinus_off_cut_words,
)
from twinsep.volume import Volume
from twinsep.words import counted

logger = logging.getLogger(__name__)

#: Tissues from dearest to cheapest; a piece of cut whose two sides differ counts as the
#: cheaper one.
_PRIORITY = (VESSEL, BRAIN, BONE, CSF, SOFT_TISSUE)

#: Keys of the cut area by tissue (mm^2): the five tissues, with brain split into
#: ``brain`` (cut through one twin's parenchyma) and ``brain_interface`` (divided along
#: the contact between the two twins' brains, i.e. between brain voxels that the
#: ``twins`` stage gave to different twins).
AREA_KEYS: tuple[str, ...] = (
    "soft_tissue",
    "bone",
    "brain",
    "brain_interface",
    "csf",
    "vessel",
)


def _triangle_tissue(mesh: InterfaceMesh, lab: np.ndarray, tw_in: np.ndarray) -> np.ndarray:
    """Area key (``AREA_KEYS``) of each cut triangle.

    A triangle counts as the tissue on both of its sides, or the cheaper one when they
    differ (a cut along a sinus wall does not divide the sinus); brain on both sides is
    ``brain_interface`` when the input twins of its two voxels differ (the cut runs
    along the brains' contact), else ``brain``.
    """
    la = lab[tuple(mesh.side_a_ijk.T)]
    lb = lab[tuple(mesh.side_b_ijk.T)]
    la = np.where(la == 0, lb, la)
    lb = np.where(lb == 0, la, lb)
    code = np.zeros(la.shape, np.uint8)
    for t in _PRIORITY:
        code[(la == t) | (lb == t)] = t
    code[code == 0] = SOFT_TISSUE
    names = np.asarray([TISSUE_NAMES.get(int(v), "soft_tissue") for v in range(6)], dtype=object)
    out = names[code]
    ta = tw_in[tuple(mesh.side_a_ijk.T)]
    tb = tw_in[tuple(mesh.side_b_ijk.T)]
    along = (code == BRAIN) & (ta > 0) & (tb > 0) & (ta != tb)
    out[along] = "brain_interface"
    return out


@dataclass(frozen=True)
class SeparationPlan:
    """Result of the ``separate`` stage.

    Attributes
    ----------
    twins : Volume
        Refined twin labels (uint8 0/1/2) after the min-cut.
    cut : Volume
        uint8: stage number on voxels of the cut, 0 elsewhere.
    area_mm2_by_tissue : dict
        Cut area per tissue name (``soft_tissue``, ``bone``, ``brain``, ``csf``,
        ``vessel``), mm^2.
    vessel_crossings : list of VesselCrossing
    stages : list of PlannedStage
    risk_score : float
        Relative score (docs/separation.md).
    area_mm2 : float
        Total cut area, mm^2.
    check : dict
        Proof of separation: ``separated``, pieces per twin, main-piece fractions.
    graph : dict
        ``n_nodes``, ``n_edges``, ``band_mm``, ``build_s``, ``solve_s``, ``moved_vx``.
    stage_file : bool
        True when the stages come from the user's stage file.
    warnings : list of str
    moved : MovedTissue or None
        What the cut moved between the twins, from the ``twins`` stage's map to
        ``twins`` (:func:`twinsep.separate.moved.moved_tissue_ml`).
    sinus_left_to : {"A", "B"} or None
        The twin to which the cut leaves the fusion's shared sinus when it runs along the
        sinus and divides no labelled vessel (the warning and the final stage's rationale
        say so in words); None otherwise: the cut divides a vessel, or the sinus's
        pieces lie in both twins (``sinus_share`` gives each twin's part).
    sinus_share : SinusShare or None
        The fusion's shared sinus (its vessel components) in each twin after the cut, mL
        (``plan.json`` ``separation.shared_sinus_ml``); None without a shared sinus.
    sinus_division : {"none", "edge", "divided"} or None
        What the cut does with the shared sinus (``plan.json``
        ``separation.shared_sinus_division``): divides no component of it, divides it
        only at its edge (``SinusShare.edge_only`` under ``StagingParams.sinus_edge_*``:
        one twin keeps nearly all of it), or divides it; None without a shared sinus.
    """

    twins: Volume
    cut: Volume
    area_mm2_by_tissue: dict[str, float]
    vessel_crossings: list[VesselCrossing]
    stages: list[PlannedStage]
    risk_score: float
    area_mm2: float
    check: dict[str, Any] = field(default_factory=dict)
    graph: dict[str, Any] = field(default_factory=dict)
    stage_file: bool = False
    warnings: list[str] = field(default_factory=list)
    moved: MovedTissue | None = None
    sinus_left_to: str | None = None
    sinus_share: SinusShare | None = None
    sinus_division: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled with the two label maps run-length coded (the stage cache: 210 MB of
        whole-grid arrays on a 512x512x400 scan become a few MB; lossless)."""
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["twins"] = pack_volume(self.twins)
        state["cut"] = pack_volume(self.cut)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            if isinstance(value, PackedVolume):
                value = unpack_volume(value)
            object.__setattr__(self, name, value)


def _azimuth(
    points: np.ndarray, centre: np.ndarray, axis: np.ndarray, zero: np.ndarray | None = None
) -> np.ndarray:
    """Azimuth (deg, 0-360) of ``points`` about ``axis`` through ``centre``, counted from
    ``zero`` (a direction of the anatomy, e.g. twin A's face) projected across the axis;
    without one, or one along the axis, from a world axis across it (then the sectors
    turn with the scan's world frame)."""
    e1 = np.zeros(3)
    if zero is not None:
        e1 = np.asarray(zero, dtype=np.float64) - float(np.dot(zero, axis)) * axis
    if np.linalg.norm(e1) < 0.1:
        e1 = np.cross(axis, np.eye(3)[int(np.argmin(np.abs(axis)))])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    rel = points - centre
    return np.degrees(np.arctan2(rel @ e2, rel @ e1)) % 360.0


def _circ_mean(deg: list[float]) -> float:
    r = np.radians(deg)
    return float(np.degrees(np.arctan2(np.sin(r).sum(), np.cos(r).sum())) % 360.0)


def _anchors(groups: list[list[float]]) -> list[float]:
    """One azimuth per separation stage: mean of its vessels, gaps filled evenly."""
    fixed = {i: _circ_mean(g) for i, g in enumerate(groups) if g}
    free = [i for i, g in enumerate(groups) if not g]
    if not fixed:
        return [360.0 * i / len(groups) for i in range(len(groups))]
    out = dict(fixed)
    for i in free:
        taken = sorted(out.values())
        gaps = [
            ((taken[(j + 1) % len(taken)] - taken[j]) % 360.0 or 360.0, taken[j])
            for j in range(len(taken))
        ]
        width, start = max(gaps)
        out[i] = (start + width / 2.0) % 360.0
    return [out[i] for i in range(len(groups))]


def _assign_stages(
    labels: Volume,
    kerf: np.ndarray,
    stages: list[PlannedStage],
    crossings: list[VesselCrossing],
    centre: np.ndarray,
    axis: np.ndarray,
    cuff_mm: float,
    kerf_box: tuple[slice, slice, slice],
    zero: np.ndarray | None = None,
) -> np.ndarray:
    """Stage number of every kerf voxel (0 elsewhere).

    ``kerf_box`` holds every kerf voxel (``SeparationCheck.kerf_box``); ``zero`` is the
    direction from which the sectors' azimuths are counted (:func:`_azimuth`).

    Rule (docs/separation.md): a separation stage that names venous segments divides
    their voxels on the cut and the kerf within ``cuff_mm`` of them (nearest segment
    wins); the final stage divides everything else, except that separation stages
    naming no vessel (staged divisions) share the remaining non-vessel kerf with the
    final stage by azimuth sectors around the bridge axis.
    """
    cut = np.zeros(kerf.shape, np.uint8)
    seps = [s for s in stages if s.kind == "separation"]
    k_lo = np.asarray([s.start for s in kerf_box], dtype=np.int64)
    k_hi = np.asarray([s.stop for s in kerf_box], dtype=np.int64)
    if np.any(k_hi <= k_lo) or not seps or not kerf[kerf_box].any():
        return cut
    final = seps[-1]
    if len(seps) == 1:
        view = cut[kerf_box]
        view[kerf[kerf_box]] = final.number
        return cut
    lab = labels.array
    stage_of = {x: s.number for s in seps for x in s.structures}
    # work in the kerf's bounding box (plus the cuff)
    spacing = np.asarray(labels.spacing_mm)
    margin = np.ceil(cuff_mm / spacing).astype(int) + 1
    lo = np.maximum(k_lo - margin, 0)
    hi = np.minimum(k_hi + margin, kerf.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    k_box = kerf[box]
    st = np.zeros(k_box.shape, np.uint8)
    # -- venous-division stages: the segment on the cut and its cuff ----------------------
    on_cut = k_box & (lab[box] == VESSEL)
    comps, n = label_components(on_cut, 26)
    seed_stage = np.zeros(n + 1, np.uint8)
    if n and crossings:
        # each segment's voxels found inside its own bounding box (raster order kept)
        bbs = cc3d.statistics(comps)["bounding_boxes"]
        cents = np.stack(
            [
                labels.world_coords(
                    np.argwhere(comps[bbs[c]] == c) + lo + [b.start for b in bbs[c]]
                ).mean(axis=0)
                for c in range(1, n + 1)
            ]
        )
        for c in crossings:
            number = stage_of.get(c.id, final.number)
            j = int(np.argmin(np.linalg.norm(cents - np.asarray(c.position_mm), axis=1)))
            if number != final.number:
                seed_stage[j + 1] = number
    best = np.full(k_box.shape, np.inf, np.float32)
    for number in sorted({int(v) for v in seed_stage if v}):
        seeds = np.isin(comps, np.flatnonzero(seed_stage == number))
        d = edt.edt(~seeds, anisotropy=tuple(spacing), black_border=False, parallel=2)
        take = k_box & (d <= cuff_mm) & (d < best)
        st[take] = number
        best = np.where(take, d, best)
    # -- the rest: final stage, or sectors shared with staged divisions -------------------
    rest = k_box & (st == 0)
    empty = [s for s in seps[:-1] if not any(x in stage_of for x in s.structures)]
    if empty and rest.any():
        cross_pos = {c.id: np.asarray(c.position_mm) for c in crossings}
        share = empty + [final]
        groups = [
            [
                float(_azimuth(cross_pos[x][None], centre, axis, zero)[0])
                for x in s.structures
                if x in cross_pos
            ]
            for s in share
        ]
        anchors = np.asarray(_anchors(groups))
        ridx = np.argwhere(rest)
        phi = _azimuth(labels.world_coords(ridx + lo), centre, axis, zero)
        diff = np.abs((phi[:, None] - anchors[None, :] + 180.0) % 360.0 - 180.0)
        numbers = np.asarray([s.number for s in share], dtype=np.uint8)
        k_of = numbers[np.argmin(diff, axis=1)]
        # vessel voxels left on the cut (the final stage's segments, vessels the cut only
        # grazes) stay with the final stage: staged divisions divide no vessel
        k_of[lab[box][rest] == VESSEL] = final.number
        st[rest] = k_of
    else:
        st[rest] = final.number
    cut[box] = st
    return cut


def _section_diameters(
    mesh: InterfaceMesh, vessel_faces: np.ndarray, crossings: list[VesselCrossing]
) -> list[VesselCrossing]:
    """Diameter of each crossing from its section on the cut: ``2 sqrt(area / pi)``.

    More faithful than the distance-map estimate for vessels a few voxels wide; the
    distance-map value is kept when no section triangle is found.
    """
    if not crossings or not vessel_faces.any():
        return crossings
    cent = mesh.centroids_mm[vessel_faces]
    areas = mesh.areas_mm2[vessel_faces]
    pos = np.asarray([c.position_mm for c in crossings])
    owner = np.argmin(np.linalg.norm(cent[:, None, :] - pos[None], axis=2), axis=1)
    section = np.bincount(owner, weights=areas, minlength=len(crossings))
    out = [
        replace(c, diameter_mm=float(2.0 * np.sqrt(a / np.pi))) if a > 0 else c
        for c, a in zip(crossings, section, strict=True)
    ]
    order = sorted(range(len(out)), key=lambda i: (out[i].diameter_mm, out[i].position_mm))
    return [replace(out[i], id=f"vessel-{k}") for k, i in enumerate(order, start=1)]


#: Voxels added around the kerf box before meshing the cut: ``interface_mesh`` works on
#: the contact's bounding box grown by ``ceil(3 sigma) + 3`` = 6 voxels (sigma 1 voxel),
#: so with 8 the crop never trims its region.
_MESH_CROP_VX = 8


def _cut_mesh(
    refined: np.ndarray, affine: np.ndarray, kerf_box: tuple[slice, slice, slice]
) -> InterfaceMesh:
    """The cut surface (:func:`interface_mesh` of the refined twins), meshed on the kerf
    box grown by ``_MESH_CROP_VX`` instead of the whole grid.

    Same triangles as on the whole grid; world coordinates go through the crop's affine
    (the translation folded in), which can differ from the whole-grid result in the
    last bits (about 1e-14 mm). Voxel indices are returned on the whole grid.
    """
    lo = np.asarray([s.start for s in kerf_box], dtype=np.int64)
    hi = np.asarray([s.stop for s in kerf_box], dtype=np.int64)
    if np.any(hi <= lo):  # no kerf: nothing touches
        return interface_mesh(refined == TWIN_A, refined == TWIN_B, affine)
    lo, hi = grow((lo, hi), _MESH_CROP_VX, refined.shape)
    crop = refined[slices(lo, hi)]
    aff = np.asarray(affine, dtype=np.float64).copy()
    aff[:3, 3] = aff[:3, :3] @ lo + aff[:3, 3]
    mesh = interface_mesh(crop == TWIN_A, crop == TWIN_B, aff)
    return replace(mesh, side_a_ijk=mesh.side_a_ijk + lo, side_b_ijk=mesh.side_b_ijk + lo)


def _sector_zero(fusion: FusionAnalysis) -> np.ndarray | None:
    """Twin A's face direction, from which the staged divisions' sectors are counted
    (None when A's frame is not from anatomy): a direction of the heads, not of the
    scan's world axes, so that the same scan stored rotated gets the same sectors (a
    30 deg oblique affine moved 258 of 2950 kerf voxels to another stage on a phantom;
    docs/orientation.md, "Whole plan in 16 storages")."""
    frames = getattr(fusion, "frames", None)  # a stand-in analysis may have none
    frame = frames.get("A") if isinstance(frames, dict) else None
    if frame is None or not frame.from_anatomy:
        return None
    return np.asarray(frame.face_dir, dtype=np.float64)


def _sinus_share(labels: Volume, refined: np.ndarray, fusion: FusionAnalysis) -> SinusShare | None:
    """The fusion's shared sinus in each twin after the cut (None without one).

    Measured on the sinus's own voxels: every vessel component the fusion counted as the
    shared sinus (``shared.sinus_seeds_mm``), a ring, a straight sinus or several pieces.
    The min-cut, whose faces next to a vessel are dear, may run along the sinus instead
    of through it and leave it wholly to one twin: on the `twinsep.phantom` totals at
    2.4-3.3 mm (docs/separation.md, "The cut meets the sinus along a voxel edge") it did
    so in 14 of 73 plans. Until 2026-11-27 the twin was read around the fusion's crossing
    points, which for a ring is its empty centre (docs/separation.md, "Who keeps a shared
    sinus the cut does not divide").
    """
    if not fusion.shared.shared_sinus:
        return None
    return sinus_share_ml(labels, refined, list(fusion.shared.sinus_seeds_mm))


def plan_separation(
    labels: Volume,
    twins: Volume,
    fusion: FusionAnalysis,
    *,
    n_stages: int | None = None,
    stages_path: Path | None = None,
    params: SeparateParams = SeparateParams(),
    cut: CutResult | None = None,
) -> SeparationPlan:
    """Cut surface, its verification, vessel crossings, the stages and the risk score.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5.
    twins : Volume
        Twin labels 0/1/2 from the ``twins`` stage (not modified).
    fusion : FusionAnalysis
        Result of the ``fusion`` stage (bridge axis, classification, brain contact).
    n_stages : int, optional
        Fix the number of separation stages (``PlanOptions.n_stages``).
    stages_path : Path, optional
        User-edited stage file (``PlanOptions.stages_path``); takes precedence.
    params : SeparateParams
    cut : CutResult, optional
        ``min_cut_twins(labels, twins, params=params.cut)`` when already computed (the
        plan starts it early in a child process: :mod:`twinsep.separate.early`).

    Returns
    -------
    SeparationPlan

    Raises
    ------
    ConfigError
        The stage file is impossible (the message names the stage).
    SeparationError
        The cut cannot be computed or verified.
    """
    warnings: list[str] = []
    cut_res = cut if cut is not None else min_cut_twins(labels, twins, params=params.cut)
    if cut_res.band_mm < params.cut.band_mm:
        warnings.append(
            f"the band in which the cut may move was narrowed from {params.cut.band_mm:g} to "
            f"{cut_res.band_mm:.1f} mm to stay within {params.cut.max_nodes} graph nodes"
        )
    refined = cut_res.twins
    check: SeparationCheck = verify_separation(refined)
    for name, frac in (("A", check.main_fraction_a), ("B", check.main_fraction_b)):
        if frac < 0.99:
            warnings.append(
                f"after the cut twin {name} is in several pieces; its largest holds "
                f"{100 * frac:.1f} % of its voxels (check the segmentation)"
            )
    sinus = (
        shared_sinus_mask(labels, list(fusion.shared.sinus_seeds_mm))
        if fusion.shared.shared_sinus
        else None
    )
    crossings = vessel_crossings(labels, refined, check.kerf, kerf_box=check.kerf_box, sinus=sinus)
    # Cut surface (marching cubes, world mm): areas by tissue and by stage, vessel sections.
    mesh = _cut_mesh(refined, labels.affine, check.kerf_box)
    lab = labels.array
    la = lab[tuple(mesh.side_a_ijk.T)]
    lb = lab[tuple(mesh.side_b_ijk.T)]
    crossings = _section_diameters(mesh, (la == VESSEL) & (lb == VESSEL), crossings)
    share = _sinus_share(labels, refined, fusion)
    # the shared sinus that the cut divides nowhere (it runs along or between its pieces)
    off_cut = share if share is not None and not crossings and share.a_ml + share.b_ml > 0 else None
    sp = params.staging
    edge = share is not None and share.edge_only(
        max_share=sp.sinus_edge_max_share, max_ml=sp.sinus_edge_max_ml
    )
    division = None if share is None else "edge" if edge else "divided" if share.divided else "none"
    facts = StagingFacts(
        total=fusion.completeness == "total",
        vertical=fusion.type == "vertical",
        bridge_area_mm2=fusion.bridge.area_mm2,
        bridge_length_mm=fusion.bridge.length_mm,
        brain_contact_area_mm2=fusion.shared.brain_contact_area_mm2,
        sinus_unseen=fusion.completeness == "total" and not fusion.shared.shared_sinus,
        sinus_off_cut=off_cut.owner if off_cut is not None else None,
        sinus_off_cut_ml=(off_cut.a_ml, off_cut.b_ml) if off_cut is not None else None,
        sinus_edge_ml=(share.a_ml, share.b_ml) if share is not None and edge else None,
    )
    if stages_path is not None:
        stages = load_stage_file(stages_path, crossings)
        n_sep = sum(s.kind == "separation" for s in stages)
        if n_stages is not None and n_stages != n_sep:
            warnings.append(
                f"--stages {n_stages} ignored: the stage file has "
                f"{counted(n_sep, 'separation stage')}"
            )
    else:
        stages = propose_stages(facts, crossings, n_stages=n_stages, params=params.staging)
    cut_arr = _assign_stages(
        labels,
        check.kerf,
        stages,
        crossings,
        fusion.bridge.centroid_mm,
        fusion.bridge.axis,
        params.staging.venous_cuff_mm,
        check.kerf_box,
        _sector_zero(fusion),
    )
    tissue = _triangle_tissue(mesh, lab, twins.array)
    area_by_tissue = {
        name: round(float(mesh.areas_mm2[tissue == name].sum()), 1) for name in AREA_KEYS
    }
    # Stage of each cut triangle: the earlier stage of its two voxels (the rehearsal
    # removes a stage's voxels, which divides every contact they take part in).
    sa = cut_arr[tuple(mesh.side_a_ijk.T)].astype(np.int32)
    sb = cut_arr[tuple(mesh.side_b_ijk.T)].astype(np.int32)
    st = np.where((sa > 0) & (sb > 0), np.minimum(sa, sb), np.maximum(sa, sb))
    seps = [s for s in stages if s.kind == "separation"]
    if seps:
        st[st == 0] = seps[-1].number
    new_stages = []
    for s in stages:
        if s.kind != "separation":
            new_stages.append(replace(s, area_mm2=0.0, area_mm2_by_tissue={}))
            continue
        on = st == s.number
        by_t = {name: float(mesh.areas_mm2[on & (tissue == name)].sum()) for name in AREA_KEYS}
        new_stages.append(
            replace(s, area_mm2=round(float(mesh.areas_mm2[on].sum()), 1), area_mm2_by_tissue=by_t)
        )
    stages = new_stages
    if crossings:
        listed = "; ".join(
            f"{c.id} ({vessel_width_text(c.diameter_mm)} at "
            + ", ".join(f"{v:.0f}" for v in c.position_mm)
            + f" mm, drains toward {c.drains_toward})"
            for c in crossings
        )
        vessels = f"{len(crossings)} vessel{'s' if len(crossings) != 1 else ''}"
        if cut_res.n_nodes == 0:
            # a kept boundary (the user's twin map, mincut.kept_boundary): nothing searched
            warnings.append(f"the user's boundary between the twins divides {vessels}: {listed}")
        else:
            warnings.append(
                f"no vessel-free surface separates the twins within {cut_res.band_mm:.0f} mm "
                f"of the bridge: the cut divides {vessels}: {listed}"
            )
    if facts.sinus_off_cut_ml is not None:
        where = "; ".join(
            ", ".join(f"{v:.0f}" for v in c.position_mm) for c in fusion.shared.sinus_crossings
        )
        warnings.append(
            f"the shared sinus crosses the twins' boundary (at {where} mm) but the cut divides "
            f"no labelled vessel: {sinus_off_cut_words(facts.sinus_off_cut_ml)}; on coarse "
            "voxels the lumen is often broken in the labels (its edges read as CSF) and the "
            "cut may pass through the real sinus there: check on a venogram where the cut "
            "meets it"
        )
    if facts.sinus_edge_ml is not None:
        on = [c.id for c in crossings if c.on_sinus]
        keeper = "A" if facts.sinus_edge_ml[0] >= facts.sinus_edge_ml[1] else "B"
        warnings.append(
            f"{sinus_edge_words(facts.sinus_edge_ml)}"
            + (f" ({', '.join(on)})" if on else "")
            + f": twin {keeper} keeps the sinus (the other twin's "
            f"part is at most {100 * sp.sinus_edge_max_share:g} % of the sinus and "
            f"{sp.sinus_edge_max_ml:g} mL, a tributary's volume); on coarse voxels the "
            "lumen is often broken in the labels and the real sinus may reach farther: "
            "check on a venogram where the cut meets it"
        )
    if area_by_tissue["brain"] > 0:
        warnings.append(
            f"the cut passes through {area_by_tissue['brain']:.0f} mm² of one twin's brain: "
            "no plane of dura, CSF or bone, and no contact with the other twin's brain, "
            "offered a cheaper way there"
        )
    if area_by_tissue["brain_interface"] > 0:
        warnings.append(
            f"the brains touch with no dural plane visible in the labels: the cut follows "
            f"the contact between the two brains (the twin assignment's boundary) over "
            f"{area_by_tissue['brain_interface']:.0f} mm²; check that plane on the images"
        )
    if fusion.completeness == "total" and len(seps) == 1:
        warnings.append(
            "a total craniopagus separated in one stage: staged venous division had lower "
            "mortality in the published series (Stone & Goodrich 2006)"
        )
    risk = risk_score(area_by_tissue, crossings, stages, params=params.risk)
    moved = moved_tissue_ml(labels.array, twins.array, refined, labels.voxel_volume_mm3)
    return SeparationPlan(
        moved=moved,
        sinus_left_to=facts.sinus_off_cut,
        sinus_share=share,
        sinus_division=division,
        twins=twins.with_array(refined),
        cut=labels.with_array(cut_arr),
        area_mm2_by_tissue=area_by_tissue,
        vessel_crossings=crossings,
        stages=stages,
        risk_score=risk,
        area_mm2=round(mesh.area_mm2, 1),
        check={
            "separated": check.separated,
            "connectivity": 26,
            "pieces_a": check.pieces_a,
            "pieces_b": check.pieces_b,
            "main_fraction_a": round(check.main_fraction_a, 4),
            "main_fraction_b": round(check.main_fraction_b, 4),
            "cut_voxels": int(np.count_nonzero(check.kerf[check.kerf_box])),
        },
        graph={
            "n_nodes": cut_res.n_nodes,
            "n_edges": cut_res.n_edges,
            "band_mm": round(cut_res.band_mm, 2),
            "build_s": round(cut_res.build_s, 3),
            "solve_s": round(cut_res.solve_s, 3),
            "moved_vx": cut_res.moved_vx,
        },
        stage_file=stages_path is not None,
        warnings=warnings,
    )
