"""The ``ventricles`` plan stage: ventricle size per twin (after ``separate``).

Writes the ``plan.json`` section ``ventricles`` = ``{A: {...}, B: {...}}`` (per twin:
``volume_ml``, ``evans_index``, ``fohr``, the widths in mm, ``enlarged``, ``note``; see
:class:`twinsep.ventricles.measure.VentricleMeasure`) and warns when a twin's ventricles
are enlarged, or when metal hides them on the CT (not measurable).

The twins are those of the ``separate`` stage's map, refined by the separation surface
and written as ``twins.nii.gz`` (the map the viewer, the models and the report show), so
that measuring ``labels.nii.gz`` with ``twins.nii.gz`` gives the plan's numbers. The
``twins`` stage's map, before the cut, differs from it in the bridge: where the twin
boundary runs through a twin's enlarged ventricles, that twin's ventricular CSF differs
between the two maps (12.8 of 51 mL in ``tests/ventricles/test_stage_twin_map.py``;
docs/segmentation.md, "Ventricles measured on the written twin map").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinsep.plan import Stage, StageContext
from twinsep.ventricles.measure import VentricleMeasure, VentricleParams, measure_ventricles


@dataclass(frozen=True)
class VentricleResult:
    """The stage's result: one :class:`VentricleMeasure` per twin (``"A"``, ``"B"``)."""

    measures: dict[str, VentricleMeasure]


def enlarged_warning(m: VentricleMeasure, params: VentricleParams) -> str | None:
    """The plan warning for a twin whose ventricles are enlarged (None otherwise)."""
    if not m.enlarged:
        return None
    found = []
    for name, value, limit in (
        ("frontal and occipital horn ratio", m.fohr, params.fohr_limit),
        ("Evans' index", m.evans_index, params.evans_limit),
    ):
        if value is not None:
            rel = f"> {limit:.2f}" if value > limit else f"limit {limit:.2f}"
            found.append(f"{name} {value:.2f} ({rel})")
    if m.volume_ml is not None:
        over = m.volume_ml > params.volume_limit_ml
        rel = f" (> {params.volume_limit_ml:.0f} mL)" if over else ""
        found.append(f"ventricular CSF {m.volume_ml:.0f} mL{rel}")
    if found and m.evans_index is None and m.fohr is None:
        found.append("Evans' index and FOHR not measured")
    what = ", ".join(found) if found else m.note
    return (
        f"twin {m.twin}'s ventricles are enlarged: {what}: hydrocephalus (shunted or not), "
        "to be known by the neurosurgeon and the anaesthetist before the operation"
    )


def hidden_warning(m: VentricleMeasure) -> str | None:
    """The plan warning for a twin whose ventricles metal made not measurable (None
    otherwise): the team must learn the ventricle size from another study."""
    if m.metal_hidden_fraction is None:
        return None
    return (
        f"twin {m.twin}'s ventricle size is not known: {100 * m.metal_hidden_fraction:.0f} % "
        "of the brain lies in CT slices where metal (ports, a valve, electrodes) and its "
        "streaks hide CSF, so hydrocephalus is neither seen nor excluded; measure the "
        "ventricles on another study (MR if the implants allow it, or ultrasound) before "
        "the operation"
    )


def _run(ctx: StageContext) -> VentricleResult:
    params = ctx.params if isinstance(ctx.params, VentricleParams) else VentricleParams()
    seg = ctx.result("segment")
    labels = seg.labels
    # the map written as twins.nii.gz (after the cut), not the twins stage's
    twins = ctx.result("separate").twins
    frames = getattr(ctx.result("fusion"), "frames", {}) or {}
    ctx.progress(0.1, "measuring the ventricles")
    # the slices where the segment stage found streaking metal (on the label grid)
    measures = measure_ventricles(labels, twins, frames, params=params, metal=seg.metal)
    for m in measures.values():
        for text in (enlarged_warning(m, params), hidden_warning(m)):
            if text:
                ctx.warn(text)
    return VentricleResult(measures=measures)


def _write(result: VentricleResult, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
    return {"ventricles": {k: m.to_json() for k, m in sorted(result.measures.items())}}


def build_stage(params: VentricleParams | None = None) -> Stage:
    """The ``ventricles`` stage (depends on ``segment``, ``fusion`` for the head frames
    and ``separate`` for the twin map after the cut)."""
    return Stage(
        name="ventricles",
        run=_run,
        write=_write,
        depends=("segment", "fusion", "separate"),
        params=params or VentricleParams(),
    )
