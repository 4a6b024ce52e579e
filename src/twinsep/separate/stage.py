"""The ``separate`` plan stage: separation surface, staged plan and their files."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from twinsep.child import Spare
from twinsep.plan import Stage, StageContext
from twinsep.separate.early import EarlyCut, spare_cut_process, start_cut
from twinsep.separate.mincut import kept_boundary
from twinsep.separate.moved import corrected_twins_section
from twinsep.separate.params import SeparateParams
from twinsep.separate.plan import SeparationPlan, plan_separation
from twinsep.separate.staging import stages_to_yaml

STAGES_YAML = "stages.yaml"


def _prepare(ctx: StageContext) -> Spare | None:
    """``Stage.prepare``: start the min-cut's child process once ``segment`` has its
    result, so that it has imported its modules when the twins are known."""
    if ctx.options.segmentation_path is not None and ctx.edited.twins is not None:
        return None  # the user's twin boundary is the cut: no min-cut to start
    return spare_cut_process(ctx.result("segment").labels)


def _early(ctx: StageContext, *, params: SeparateParams) -> EarlyCut | None:
    """``Stage.early``: start the min-cut (it needs only the labels and the twins) in a
    child process once the ``twins`` stage has its result (:mod:`twinsep.separate.early`)."""
    spare = getattr(ctx, "prepared", {}).pop("separate", None)
    if getattr(ctx.result("twins"), "given", None) is not None:
        return None
    return start_cut(
        ctx.result("segment").labels,
        ctx.result("twins").twins,
        params=params.cut,
        spare=spare if isinstance(spare, Spare) else None,
    )


def _run(ctx: StageContext) -> SeparationPlan:
    labels = ctx.result("segment").labels
    twins = ctx.result("twins").twins
    fusion = ctx.result("fusion")
    params = ctx.params if isinstance(ctx.params, SeparateParams) else SeparateParams()
    ctx.progress(0.1, "computing the separation surface")
    early = getattr(ctx, "early_jobs", {}).pop("separate", None)
    cut = None
    given = getattr(ctx.result("twins"), "given", None)
    if given is not None:
        # the user's twin map says where the twins part: its boundary is the cut, which
        # the min-cut would move (and undo an edit that gave bridge tissue to a twin)
        if isinstance(early, EarlyCut):
            early.cancel()
        early = None
        cut = kept_boundary(given, band_mm=params.cut.band_mm)
    if isinstance(early, EarlyCut):
        if early.params == params.cut:
            cut = early.result(labels, twins)
        else:
            early.cancel()
    result = plan_separation(
        labels,
        twins,
        fusion,
        n_stages=ctx.options.n_stages,
        stages_path=ctx.options.stages_path,
        params=params,
        cut=cut,
    )
    for w in result.warnings:
        ctx.warn(w)
    return result


def separation_section(result: SeparationPlan) -> dict[str, Any]:
    """The ``separation`` section of ``plan.json``."""
    return {
        "area_mm2": dict(result.area_mm2_by_tissue),
        "total_area_mm2": result.area_mm2,
        "vessel_crossings": [c.to_json() for c in result.vessel_crossings],
        "stages": [s.to_json() for s in result.stages],
        "risk_score": result.risk_score,
        "stage_file": result.stage_file,
        # the twin the cut leaves the shared sinus to when it divides no labelled vessel
        "shared_sinus_left_to": result.sinus_left_to,
        # the fusion's shared sinus in each twin after the cut, mL (null without one)
        "shared_sinus_ml": None if result.sinus_share is None else result.sinus_share.to_json(),
        # what the cut does with it: "none", "edge" (one twin keeps nearly all), "divided"
        "shared_sinus_division": result.sinus_division,
        # tissue the surface moved between the twins (the twins section is after it)
        "moved_ml": None
        if result.moved is None
        else {
            "A_to_B": round(result.moved.a_to_b_ml, 3),
            "B_to_A": round(result.moved.b_to_a_ml, 3),
        },
        "check": dict(result.check),
        # graph size only: solver wall times vary run to run and plan.json is deterministic
        # (stage times are in timings_s)
        "graph": {k: v for k, v in result.graph.items() if not k.endswith("_s")},
    }


def _write(result: SeparationPlan, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
    from twinsep.io import atomic_write_text, save_volume
    from twinsep.plan import defer_write

    # The two label maps are serialised and gzipped on the plan's writer thread while
    # the next stages run (numpy copies and zlib release the GIL); the twins stage's
    # twins.nii.gz, deferred before, is written first and replaced by this one.
    for vol, path in (
        (result.cut, out_dir / "separation.nii.gz"),
        (result.twins, out_dir / "twins.nii.gz"),
    ):
        defer_write(ctx, functools.partial(save_volume, vol, path))
    atomic_write_text(out_dir / STAGES_YAML, stages_to_yaml(result.stages))
    sections: dict[str, Any] = {"separation": separation_section(result)}
    # the per-twin volumes describe twins.nii.gz, i.e. the map after the cut
    twins_section = getattr(ctx, "sections", {}).get("twins")
    if twins_section and result.moved is not None:
        sections["twins"] = corrected_twins_section(twins_section, result.moved.net_ml)
    return sections


def build_stage(params: SeparateParams | None = None) -> Stage:
    """The ``separate`` stage (depends on ``segment``, ``twins`` and ``fusion``; its
    min-cut starts early, after ``twins``)."""
    params = params or SeparateParams()
    return Stage(
        name="separate",
        run=_run,
        write=_write,
        depends=("segment", "twins", "fusion"),
        uses=("n_stages", "stages_path"),
        params=params,
        early=functools.partial(_early, params=params),
        early_after="twins",
        prepare=_prepare,
        prepare_after="segment",
    )


STAGE = build_stage()
