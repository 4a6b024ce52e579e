"""The ``report`` stage: figures (cached) and ``report.html`` (re-rendered every run)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.plan import Stage, StageContext, wait_written
from twinsep.report import figures as fg
from twinsep.report.pdf import html_to_pdf
from twinsep.report.render import TISSUE_HEX, render_report, tissue_words

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportParams:
    """Parameters of the report stage."""

    figures: fg.FigureParams = field(default_factory=fg.FigureParams)


@dataclass(frozen=True)
class ReportFigures:
    """Figures drawn from the volumes (PNG bytes by name)."""

    png: dict[str, bytes]


def _twins_volume(ctx: StageContext) -> Any:
    if ctx.has("separate"):
        return ctx.result("separate").twins
    return ctx.result("twins").twins


def _bridge_centre_mm(ctx: StageContext, grid: fg.RasGrid) -> list[float]:
    """Centre of the planned cut (or of the twin boundary) in world mm."""
    cut = grid.arrays.get("cut")
    if cut is not None and cut.any():
        idx = np.argwhere(cut > 0).mean(axis=0)
    else:
        tw = grid.arrays["twins"]
        a = tw == 1
        touching = (
            a & (np.roll(tw, 1, 0) == 2)
            | a & (np.roll(tw, 1, 1) == 2)
            | a & (np.roll(tw, 1, 2) == 2)
        )
        idx = (
            np.argwhere(touching).mean(axis=0)
            if touching.any()
            else np.argwhere(tw > 0).mean(axis=0)
        )
    return [float(v) for v in grid.origin_mm + idx * grid.spacing_mm]


def run(ctx: StageContext) -> ReportFigures:
    """Draw the volume figures (3-view renders, bridge slices, stages)."""
    # the skin plan is drawn with matplotlib on the plan's writer thread: not at the
    # same time as these figures (matplotlib's settings are process-global)
    wait_written(ctx, "skin_plan.svg")
    params: ReportParams = ctx.params
    labels = ctx.result("segment").labels
    twins = _twins_volume(ctx)
    vols = {"labels": labels, "twins": twins}
    order = {}
    try:
        vols["ct"] = ctx.scan.volume
        order["ct"] = 1
    except Exception as exc:  # the CT is optional for figures (e.g. re-run from cache)
        logger.info("report figures without CT background (%s)", exc)
    n_stages = 0
    if ctx.has("separate"):
        sep = ctx.result("separate")
        vols["cut"] = sep.cut
        n_stages = max([int(s.number) for s in sep.stages] + [int(sep.cut.array.max())])
    ctx.progress(0.1, "resampling")
    grid = fg.resample_to_ras(
        vols, spacing_mm=max(params.figures.grid_mm, min(labels.spacing_mm)), order=order
    )
    ca, cb = ctx.options.colour_a, ctx.options.colour_b
    png: dict[str, bytes] = {}
    ctx.progress(0.3, "renders")
    png["three_view_skin"] = fg.three_view_figure(
        grid, structure="skin", colour_a=ca, colour_b=cb, params=params.figures
    )
    png["three_view_bone"] = fg.three_view_figure(
        grid, structure="bone", colour_a=ca, colour_b=cb, params=params.figures
    )
    ctx.progress(0.6, "slices")
    png["slices"] = fg.slices_figure(
        grid, _bridge_centre_mm(ctx, grid), colour_a=ca, colour_b=cb, params=params.figures
    )
    if "cut" in grid.arrays and grid.arrays["cut"].any():
        png["stages"] = fg.stages_figure(
            grid, n_stages=max(n_stages, 1), colour_a=ca, colour_b=cb, params=params.figures
        )
    return ReportFigures(png=png)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write(result: ReportFigures, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
    """Render ``report.html`` (and ``report.pdf`` with ``--pdf``) from the plan so far."""
    wait_written(ctx, "skin_plan.svg")  # read below (deferred by reconstruct)
    params: ReportParams = ctx.params
    plan = ctx.plan_so_far()
    figs = dict(result.png)
    sep = plan.get("separation") or {}
    if sep.get("area_mm2"):
        figs["cut_area"] = fg.bar_figure(
            {tissue_words(k): v for k, v in sep["area_mm2"].items()},
            title="Cut area by tissue",
            unit="mm²",
            colours={tissue_words(k): v for k, v in TISSUE_HEX.items()},
            params=params.figures,
        )
    expanders = (plan.get("skin") or {}).get("expanders") or []
    if expanders:
        figs["fill_calendar"] = fg.fill_calendar_figure(
            expanders,
            colour_a=ctx.options.colour_a,
            colour_b=ctx.options.colour_b,
            params=params.figures,
        )
    gantt = out_dir / "gantt.svg"
    skin = out_dir / "skin_plan.svg"
    html = render_report(
        plan,
        figs,
        gantt_svg=gantt.read_text("utf-8") if gantt.is_file() else None,
        skin_svg=skin.read_text("utf-8") if skin.is_file() else None,
    )
    _write_text_atomic(out_dir / "report.html", html)
    section: dict[str, Any] = {"file": "report.html", "pdf": None}
    if ctx.options.pdf:
        try:
            html_to_pdf(out_dir / "report.html", out_dir / "report.pdf")
            section["pdf"] = "report.pdf"
        except (RuntimeError, OSError) as exc:
            ctx.warn(f"report.pdf not written: {exc}")
    return {"report": section}


def stage(params: ReportParams | None = None) -> Stage:
    """The report stage (runs last)."""
    return Stage(
        name="report",
        run=run,
        write=write,
        depends=("segment", "twins", "separate"),
        uses=("colour_a", "colour_b"),
        params=params or ReportParams(),
    )
