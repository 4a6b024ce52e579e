"""The ``export`` stage: Slicer segmentation, colour tables and DICOM-SEG."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinsep.interop.dicomseg import (
    EmptySegmentationError,
    SourceGoneError,
    SourceUnusableError,
    find_sources,
    write_dicom_seg,
)
from twinsep.interop.slicer import colour_tables, write_seg_nrrd
from twinsep.io import atomic_write_bytes, atomic_write_text
from twinsep.plan import Stage, StageContext, defer_write

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    """Nothing to compute: the files are written from the label maps in ``write``."""

    dicom_input: bool


def run(ctx: StageContext) -> ExportResult:
    """Record whether the input was DICOM (a classic series or one multi-frame file; then
    a DICOM-SEG is written)."""
    return ExportResult(dicom_input=ctx.input_info.get("format") == "dicom")


def _final_twins(ctx: StageContext) -> Any:
    return ctx.result("separate").twins if ctx.has("separate") else ctx.result("twins").twins


def write(result: ExportResult, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
    """Write ``twins.seg.nrrd``, ``labels.ctbl``, ``twins.ctbl`` and ``seg.dcm`` (DICOM)."""
    labels = ctx.result("segment").labels
    twins = _final_twins(ctx)
    ca, cb = ctx.options.colour_a, ctx.options.colour_b
    files = ["twins.seg.nrrd"]
    # on the plan's writer thread while the report is made (the report does not read it)
    defer_write(
        ctx,
        functools.partial(
            write_seg_nrrd, labels, twins, out_dir / "twins.seg.nrrd", colour_a=ca, colour_b=cb
        ),
    )
    for name, text in colour_tables(ca, cb).items():
        atomic_write_text(out_dir / name, text)
        files.append(name)
    if result.dicom_input:
        try:
            sources = find_sources(
                Path(ctx.options.scan_path), ctx.input_info.get("series_uid_hash")
            )
            write_dicom_seg(
                labels,
                twins,
                sources,
                out_dir / "seg.dcm",
                colour_a=ca,
                colour_b=cb,
                keep_phi=ctx.options.keep_phi,
            )
        except SourceGoneError as exc:
            # (a context made outside run_plan, e.g. for a stage's write alone, has none)
            previous = getattr(ctx, "previous_file", None)
            kept = None if previous is None else previous("seg.dcm")
            if kept is None:
                ctx.warn(f"seg.dcm not written: {exc}")
            else:
                # a re-run without the source DICOM: the plan's seg.dcm was written from
                # the same labels, twins, source and colours (same cache key): kept
                atomic_write_bytes(out_dir / "seg.dcm", kept.read_bytes())
                files.append("seg.dcm")
        except SourceUnusableError as exc:
            ctx.warn(f"seg.dcm not written: the source DICOM cannot be referenced: {exc}")
        except EmptySegmentationError as exc:
            ctx.warn(f"seg.dcm not written: {exc}")
        else:
            files.append("seg.dcm")
    return {"exports": {"files": files}}


def stage() -> Stage:
    """The export stage (after the separation, so it holds the refined twins)."""
    return Stage(
        name="export",
        run=run,
        write=write,
        depends=("segment", "twins", "separate"),
        uses=("scan", "colour_a", "colour_b", "keep_phi"),
    )
