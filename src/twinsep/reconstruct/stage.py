"""The ``reconstruct`` plan stage: scalp expanders and bone templates for both twins.

Reads the tissue labels (``segment``), the refined twins after the separation
(``separate``; the ``twins`` stage result when ``separate`` did not run), each twin's
anatomical frame (long axis and facial direction) from ``fusion``, and the planned
separation date from the plan options (``--separation-date``). Writes the
``skin_plan.svg`` figure and returns the ``skin`` and ``bone`` sections of
``plan.json``. The expander and cranioplasty meshes are handed over on the result
(:attr:`Reconstruction.meshes`); the ``models`` stage writes them (one owner per file:
``models/A_expander_A1.stl``, ``models/A_cranioplasty_A.stl``, nodes of ``scene.glb``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import ConfigError
from twinsep.layout import to_canonical
from twinsep.reconstruct.bone import BoneParams, TwinBonePlan, plan_bone
from twinsep.reconstruct.defects import (
    AVAILABLE,
    NEAR_WOUND,
    DefectParams,
    HeadFrame,
    TwinDefects,
    measure_defects,
)
from twinsep.reconstruct.existing import ExistingSkin, existing_skin, head_position_words
from twinsep.reconstruct.expanders import (
    ExpanderParams,
    TwinSkinPlan,
    insertion_day_before_separation,
    plan_expanders,
    plan_needs_warning,
)
from twinsep.segment.implants import ExistingExpander
from twinsep.volume import Volume
from twinsep.words import noun

logger = logging.getLogger(__name__)

MODELS_DIR = "models"


def model_file(key: str) -> str:
    """Plan-relative file the ``models`` stage writes for mesh ``key`` ("A/expander_A1")."""
    return f"{MODELS_DIR}/{key.replace('/', '_')}.stl"


@dataclass(frozen=True)
class ReconstructParams:
    """Parameters of the ``reconstruct`` stage.

    Attributes
    ----------
    defects : DefectParams
    expanders : ExpanderParams
    bone : BoneParams

    The planned separation date is a plan option (``PlanOptions.separation_date``,
    ``--separation-date``), not a parameter.
    """

    defects: DefectParams = field(default_factory=DefectParams)
    expanders: ExpanderParams = field(default_factory=ExpanderParams)
    bone: BoneParams = field(default_factory=BoneParams)


def parse_date(text: str, *, name: str = "--separation-date") -> date:
    """``YYYY-MM-DD`` -> date; :class:`ConfigError` naming ``name`` otherwise."""
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ConfigError(
            name, f"{text!r} is not a valid calendar date of the form YYYY-MM-DD"
        ) from None


@dataclass(frozen=True)
class MeshData:
    """A mesh handed to the models stage (world mm).

    Attributes
    ----------
    name : str
        File stem, e.g. ``expander_A1`` or ``cranioplasty_A``.
    twin : str
    vertices : (V, 3) float64
    faces : (F, 3) int64
    """

    name: str
    twin: str
    vertices: np.ndarray
    faces: np.ndarray


@dataclass(frozen=True)
class Reconstruction:
    """Result of the ``reconstruct`` stage.

    Attributes
    ----------
    defects : dict "A"/"B" -> TwinDefects
    skin : dict "A"/"B" -> TwinSkinPlan
    bone : dict "A"/"B" -> TwinBonePlan
    meshes : dict
        ``"A/expander_A1"`` -> :class:`MeshData`, ``"A/cranioplasty_A"`` -> ..., in
        world mm (read by the models stage).
    separation_date : date or None
    existing : dict "A"/"B" -> ExistingSkin
        Scalp over expanders already in place (twins that have some).
    expansion_days : int
        Days from the insertion of the new expanders to the separation: the last fill
        plus ``ExpanderParams.rest_days`` (0 without new expanders). The schedule dates
        the expander operation from it.
    """

    defects: dict[str, TwinDefects]
    skin: dict[str, TwinSkinPlan]
    bone: dict[str, TwinBonePlan]
    meshes: dict[str, MeshData]
    separation_date: date | None = None
    existing: dict[str, ExistingSkin] = field(default_factory=dict)
    expansion_days: int = 0


def reconstruct(
    labels: Volume,
    twins: Volume,
    *,
    frames: dict[str, HeadFrame] | None = None,
    separation_date: date | None = None,
    params: ReconstructParams = ReconstructParams(),
    existing: tuple[ExistingExpander, ...] = (),
) -> Reconstruction:
    """Defects, expander plans and bone templates of both twins.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5.
    twins : Volume
        Twins after separation (0/1/2), same grid.
    frames : dict, optional
        ``{"A": HeadFrame, "B": HeadFrame}``: long axes (neck -> vertex) and facial
        directions, world (from the ``fusion`` stage). Without a facial direction all
        skin below the brow level is kept out of the expander plan.
    separation_date : date, optional
        Planned separation; fills then carry due dates counted back from it.
    params : ReconstructParams
    existing : tuple of ExistingExpander
        Expanders already in the CT (``twins`` stage, on ``labels``' grid): their scalp
        counts as available (unless next to the wound), their realised gain toward
        the defect, and no new expander is placed over them
        (:mod:`twinsep.reconstruct.existing`).

    Returns
    -------
    Reconstruction
    """
    # the surfaces are meshed on one array layout whatever the scan's storage (axis
    # order, reversed axes): marching cubes triangulates by array axes, and the greedy
    # expander placement then answers differently for the same voxels
    defects = measure_defects(
        to_canonical(labels)[0], to_canonical(twins)[0], frames=frames, params=params.defects
    )
    grown: dict[str, ExistingSkin] = {}
    for name, d in list(defects.items()):
        ex = existing_skin(d, existing, labels.affine, efficiency=params.expanders.efficiency.round)
        if not ex.count:
            continue
        grown[name] = ex
        counts = ex.occupied & (d.region != NEAR_WOUND)
        defects[name] = replace(
            d,
            available=d.available | counts,
            region=np.where(counts, AVAILABLE, d.region),
        )
    skin = plan_expanders(
        defects, separation_date=separation_date, params=params.expanders, existing=grown
    )
    bone = {name: plan_bone(d, params=params.bone) for name, d in defects.items()}
    meshes: dict[str, MeshData] = {}
    for name in sorted(skin):
        for e in skin[name].expanders:
            meshes[f"{name}/expander_{e.label}"] = MeshData(
                f"expander_{e.label}", name, e.vertices_mm, e.faces
            )
    for name in sorted(bone):
        b = bone[name]
        if len(b.faces):
            meshes[f"{name}/cranioplasty_{name}"] = MeshData(
                f"cranioplasty_{name}", name, b.vertices_mm, b.faces
            )
    has_new = any(p.expanders for p in skin.values())
    days = insertion_day_before_separation(skin, params.expanders) if has_new else 0
    return Reconstruction(defects, skin, bone, meshes, separation_date, grown, days)


def _r(x: float, nd: int = 1) -> float:
    return round(float(x), nd)


def _vec(v: np.ndarray) -> list[float]:
    return [_r(c, 1) for c in np.asarray(v, dtype=float)]


def sections(result: Reconstruction) -> dict[str, Any]:
    """The ``skin`` and ``bone`` sections of ``plan.json`` (JSON-ready, units in keys).

    ``mesh`` names a mesh of :attr:`Reconstruction.meshes` (a node of ``scene.glb``) and
    ``file`` the STL file the ``models`` stage writes for it.
    """
    expanders: list[dict[str, Any]] = []
    per_twin: dict[str, Any] = {}
    for name in sorted(result.skin):
        p = result.skin[name]
        d = result.defects[name]
        per_twin[name] = {
            "defect_area_mm2": _r(p.defect_area_mm2, 0),
            "required_gain_mm2": _r(p.required_mm2, 0),
            "realised_gain_mm2": _r(p.provided_mm2, 0),
            "capacity_mm2": _r(p.capacity_mm2, 0),
            "shortfall_mm2": _r(p.shortfall_mm2, 0),
            "over_expansion": _r(p.margin, 3),
            "fill_ml_per_cm2": _r(p.fill_ml_per_cm2, 2),
            "realised_gain_if_largest_fails_mm2": _r(p.provided_if_largest_fails_mm2, 0),
            "covered": bool(p.shortfall_mm2 == 0 and p.expanders),
            "available_scalp_mm2": _r(d.available_scalp_area_mm2, 0),
            "scalp_by_region_mm2": {k: _r(v, 0) for k, v in d.region_areas_mm2().items()},
            "face_direction_used": d.face_dir is not None,
            "outline_length_mm": _r(d.scalp_outline_length_mm, 0),
            "outline_mm": [
                _vec(q) for q in d.scalp_outline_mm[:: max(1, len(d.scalp_outline_mm) // 64)]
            ],
            "message": p.message,
        }
        ex = result.existing.get(name)
        per_twin[name]["existing_expanders"] = {
            "count": ex.count if ex else 0,
            "fill_ml": _r(ex.fill_ml) if ex else 0.0,
            "expanded_scalp_mm2": _r(ex.expanded_scalp_mm2, 0) if ex else 0.0,
            "dome_mm2": _r(ex.dome_mm2, 0) if ex else 0.0,
            "base_mm2": _r(ex.base_mm2, 0) if ex else 0.0,
            "realised_gain_mm2": _r(ex.realised_gain_mm2, 0) if ex else 0.0,
            "items": [
                {
                    "volume_ml": _r(g.volume_ml),
                    "centroid_mm": [_r(c) for c in g.centroid_mm],
                    "port": g.port,
                    "position": g.position,
                    "dome_mm2": _r(g.dome_mm2, 0),
                    "base_mm2": _r(g.base_mm2, 0),
                    "realised_gain_mm2": _r(g.realised_gain_mm2, 0),
                }
                for g in (ex.items if ex else ())
            ],
        }
        for e in p.expanders:
            expanders.append(
                {
                    "twin": name,
                    "label": e.label,
                    "code": e.code,
                    "custom": e.custom,
                    "shape": e.base.shape,
                    "model": e.base.rectangular_model if e.base.shape == "rectangular" else None,
                    "base_mm": [_r(e.base.width_mm), _r(e.base.length_mm)],
                    "base_area_mm2": _r(e.base.base_area_mm2, 0),
                    "nominal_ml": _r(e.nominal_ml),
                    "volume_ml": _r(e.target_ml),
                    "gain_mm2": _r(e.geometric_gain_mm2, 0),
                    "realised_gain_mm2": _r(e.realised_gain_mm2, 0),
                    "capacity_mm2": _r(e.capacity_mm2, 0),
                    "position_mm": _vec(e.centre_mm),
                    # where on the head, in the twin's own frame, as the expanders
                    # found in place are described ("right parietal", "vertex")
                    "position": head_position_words(
                        np.asarray(e.centre_mm, dtype=np.float64),
                        centre_mm=d.brain_centre_mm,
                        axis=d.head_axis,
                        face_dir=d.face_dir,
                    ),
                    "normal": [_r(c, 3) for c in e.frame[2]],
                    "valve_mm": _vec(e.valve_mm),
                    "weeks": _r(e.fills[-1].week, 1),
                    "fills": [
                        {
                            "day": f.day,
                            "week": _r(f.week, 1),
                            "add_ml": f.add_ml,
                            "total_ml": f.total_ml,
                            **({"due": f.due.isoformat()} if f.due else {}),
                        }
                        for f in e.fills
                    ],
                    "mesh": f"{name}/expander_{e.label}",
                    "file": model_file(f"{name}/expander_{e.label}"),
                }
            )
    last_day = max(
        (f.day for p in result.skin.values() for e in p.expanders for f in e.fills), default=0
    )
    skin = {
        "defect_area_mm2": {n: _r(result.skin[n].defect_area_mm2, 0) for n in sorted(result.skin)},
        "expanders": expanders,
        "twins": per_twin,
        "expansion_weeks": _r(last_day / 7.0, 1),
        "insertion_days_before_separation": result.expansion_days if expanders else None,
        "separation_date": result.separation_date.isoformat() if result.separation_date else None,
        "insertion_date": None,
        "shortfall_mm2": {n: _r(result.skin[n].shortfall_mm2, 0) for n in sorted(result.skin)},
        "messages": [result.skin[n].message for n in sorted(result.skin)],
    }
    firsts = [e.fills[0].due for p in result.skin.values() for e in p.expanders if e.fills[0].due]
    if firsts:
        skin["insertion_date"] = min(firsts).isoformat()
    templates = []
    for name in sorted(result.bone):
        b = result.bone[name]
        d = result.defects[name]
        templates.append(
            {
                "twin": name,
                "mesh": f"{name}/cranioplasty_{name}" if len(b.faces) else None,
                "file": model_file(f"{name}/cranioplasty_{name}") if len(b.faces) else None,
                "area_mm2": _r(b.missing_area_mm2, 0),
                "volume_ml": _r(b.template_volume_ml, 1),
                "thickness_mm": _r(b.thickness_mm, 1),
                "watertight": b.watertight,
                "fit": {
                    "kind": b.fit.kind,
                    "centre_mm": _vec(b.fit.centre_mm),
                    "radii_mm": _vec(b.fit.radii_mm),
                    "rms_mm": _r(b.fit.rms_mm, 2),
                },
                "exceeds_regrowth": b.exceeds_regrowth,
                "rim_length_mm": _r(d.bone_rim_length_mm, 0),
                "note": b.note,
            }
        )
    bone = {
        "defect_area_mm2": {n: _r(result.bone[n].defect_area_mm2, 0) for n in sorted(result.bone)},
        "dura_exposed_mm2": {
            n: _r(result.defects[n].dura_exposed_area_mm2, 0) for n in sorted(result.defects)
        },
        "templates": templates,
    }
    return {"skin": skin, "bone": bone}


def complication_warning(skin: dict[str, TwinSkinPlan], rate: float) -> str | None:
    """One sentence for both twins: the scalp left if a twin's largest expander is lost.

    Parameters
    ----------
    skin : dict of str to TwinSkinPlan
        Each twin's skin plan (twins without a new expander are left out).
    rate : float
        Expected fraction of expanders with a complication
        (``ExpanderParams.complication_rate``).

    Returns
    -------
    str or None
        None when no twin has a new expander. (It was one warning per twin, each
        repeating the complication rate.)
    """
    parts = [
        # a twin whose one expander is its only scalp gain has no "others" (real-angular,
        # real-ct-angular: "the others provide twin A 0 mm²")
        f"twin {name} nothing (it has no other expander) of the {p.defect_area_mm2:.0f} mm² needed"
        if len(p.expanders) == 1 and p.provided_if_largest_fails_mm2 <= 0
        else f"twin {name} {p.provided_if_largest_fails_mm2:.0f} mm² of the "
        f"{p.defect_area_mm2:.0f} mm² needed"
        for name, p in sorted(skin.items())
        if p.expanders
    ]
    if not parts:
        return None
    return (
        f"about {100 * rate:.0f} % of scalp expanders have a complication; if a twin's "
        f"largest expander is lost, the others provide {'; '.join(parts)}"
    )


def regrowth_warning(bone: dict[str, TwinBonePlan], limit_mm2: float) -> str | None:
    """One sentence for the twins whose bone defect regrowth rarely closes, or None.

    Parameters
    ----------
    bone : dict of str to TwinBonePlan
    limit_mm2 : float
        ``BoneParams.regrowth_limit_mm2``, mm^2.

    Returns
    -------
    str or None
        (It was one warning per twin, each repeating the limit and the advice.)
    """
    over = [
        f"twin {name} {b.defect_area_mm2:.0f} mm²"
        for name, b in sorted(bone.items())
        if b.exceeds_regrowth
    ]
    if not over:
        return None
    which = "each twin" if len(over) > 1 else over[0].rsplit(" ", 2)[0]
    return (
        f"bone defect larger than {limit_mm2:.0f} mm², which bone regrowth in infants "
        f"rarely closes ({', '.join(over)}): plan a cranioplasty for {which}"
    )


def _frames(ctx: Any) -> dict[str, HeadFrame] | None:
    """Each twin's long axis and facial direction from the ``fusion`` result."""
    if not ctx.has("fusion"):
        return None
    out: dict[str, HeadFrame] = {}
    for k, f in (getattr(ctx.result("fusion"), "frames", None) or {}).items():
        axis = getattr(f, "axis", None)
        if axis is None:
            continue
        face = getattr(f, "face_dir", None)
        out[str(k)] = HeadFrame(
            np.asarray(axis, dtype=float),
            None if face is None else np.asarray(face, dtype=float),
            float(getattr(f, "face_strength", 1.0)),
        )
    return out or None


def custom_size_warning(twin: str, labels: list[str]) -> str | None:
    """The warning that expanders of a custom-made size need ordering early.

    Parameters
    ----------
    twin : str
        The twin's name ("A" or "B").
    labels : list of str
        Labels of the twin's custom-size expanders ("A1 R80x160"); empty for none.

    Returns
    -------
    str or None
        One sentence, singular or plural as the count says; None without custom sizes.
    """
    if not labels:
        return None
    one = len(labels) == 1
    return (
        f"{noun(len(labels), 'expander')} {', '.join(labels)} of twin {twin} "
        f"{'is a custom-made size' if one else 'are custom-made sizes'}; "
        f"order {'it' if one else 'them'} early"
    )


def _run(ctx: Any) -> Reconstruction:
    labels = ctx.result("segment").labels
    twins = None
    if ctx.has("separate"):
        twins = getattr(ctx.result("separate"), "twins", None)
    if twins is None:
        twins = ctx.result("twins").twins
        ctx.warn("no separation result: the defects follow the initial twin assignment")
    frames = _frames(ctx)
    text = getattr(ctx.options, "separation_date", None)
    sep_date = parse_date(text) if text else None
    params = ctx.params if isinstance(ctx.params, ReconstructParams) else ReconstructParams()
    ctx.progress(0.1, "defects, expanders and bone templates")
    existing = tuple(getattr(ctx.result("twins"), "expanders", ()) or ())
    result = reconstruct(
        labels,
        twins,
        frames=frames,
        separation_date=sep_date,
        params=params,
        existing=existing,
    )
    dp = params.defects
    for name in sorted(result.skin):
        p = result.skin[name]
        d = result.defects[name]
        if d.face_dir is None:
            ctx.warn(
                f"twin {name}: no reliable facial direction, so all skin below the brow level "
                "(face, ears, temporal and occipital scalp) was kept out of the expander plan"
            )
        if plan_needs_warning(p, params.expanders, existing=name in result.existing):
            ctx.warn(p.message)
        custom = custom_size_warning(name, [e.label for e in p.expanders if e.custom])
        if custom:
            ctx.warn(custom)
    loss = complication_warning(result.skin, params.expanders.complication_rate)
    if loss:
        ctx.warn(loss)
    regrowth = regrowth_warning(result.bone, params.bone.regrowth_limit_mm2)
    if regrowth:
        ctx.warn(regrowth)
    for name in sorted(result.bone):
        b = result.bone[name]
        if b.fit.kind == "none" and not b.exceeds_regrowth:
            ctx.warn(b.note)
        if len(b.faces) and not b.watertight:
            ctx.warn(
                f"cranioplasty template of twin {name} is not watertight; repair before printing"
            )
    ctx.warn(
        f"expanders are planned on the scalp over the cranial vault only: not within "
        f"{dp.bridge_margin_mm:.0f} mm of the wound, not on the face (within "
        f"{dp.face_half_width_deg:.0f}° of the facial direction below {dp.brow_elevation_deg:.0f}° "
        f"elevation from the brain centre), the ears ({dp.ear_radius_deg:.0f}° around each ear) "
        f"or the neck (below {dp.neck_elevation_deg:.0f}°); these regions are approximate, "
        "check the expander sites on the images"
    )
    return result


FIGURE = "skin_plan.svg"


def _write(result: Reconstruction, ctx: Any, out_dir: Path) -> dict[str, Any]:
    from twinsep.io.atomic import atomic_write_text
    from twinsep.plan import defer_write
    from twinsep.reconstruct.figure import skin_plan_svg

    out = sections(result)
    colours = {"A": ctx.options.colour_a, "B": ctx.options.colour_b}

    def figure() -> None:
        atomic_write_text(Path(out_dir) / FIGURE, skin_plan_svg(result, colours))

    # drawn and written on the plan's writer thread (about 1 s of matplotlib on the
    # 512 CT) while the models are made; the report, the only other matplotlib user
    # and the reader of the file, waits for it first (plan.wait_written)
    defer_write(ctx, figure, name=FIGURE)
    out["skin"]["figure"] = FIGURE
    return out


def build_stage(params: ReconstructParams | None = None) -> Any:
    """The ``reconstruct`` stage (after ``separate``)."""
    from twinsep.plan import Stage

    return Stage(
        name="reconstruct",
        run=_run,
        write=_write,
        depends=("segment", "twins", "fusion", "separate"),
        uses=("separation_date",),
        params=params or ReconstructParams(),
    )
