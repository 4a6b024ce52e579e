"""The ``twins`` stage: labels -> ``twins.nii.gz`` and the ``twins`` section of plan.json."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from twinsep.twins.assign import assign_twins
from twinsep.twins.params import TwinParams
from twinsep.twins.result import TwinAssignment

#: Plain names of the default code colours (text label beside the colour).
_COLOUR_NAMES = {"#7B3FA0": "purple", "#F28C28": "orange"}


def _run(ctx: Any) -> TwinAssignment:
    seg = ctx.result("segment")
    labels = seg.labels
    from twinsep.plan import scan_display_name

    info = getattr(ctx, "input_info", None) or {}
    src = scan_display_name(
        ctx.options.scan_path,
        names_patient=bool(info.get("path_names_patient")),
        keep_phi=ctx.options.keep_phi,
    )
    labels = type(labels)(labels.array, labels.affine, {**labels.meta, "source": src})
    ctx.progress(0.1, "finding the two heads")
    result = assign_twins(labels, twin_a_mm=ctx.options.twin_a_mm, params=ctx.params)
    for w in result.warnings:
        ctx.warn(w)
    return result


def _write(result: TwinAssignment, ctx: Any, out_dir: Path) -> dict[str, Any]:
    from twinsep.io import save_volume
    from twinsep.plan import defer_write

    # on the plan's writer thread, while the next stages run
    defer_write(ctx, functools.partial(save_volume, result.twins, out_dir / "twins.nii.gz"))
    o = ctx.options
    twins: dict[str, Any] = {}
    for name, hex_colour, centroid in (
        ("A", o.colour_a, result.a_centroid_mm),
        ("B", o.colour_b, result.b_centroid_mm),
    ):
        twins[name] = {
            "colour": _COLOUR_NAMES.get(hex_colour.upper(), hex_colour.upper()),
            "hex": hex_colour,
            "label": f"twin {name}",
            "volume_ml": result.volume_ml[name],
            "tissue_ml": result.tissue_ml[name],
            "centroid_mm": [round(v, 2) for v in centroid],
        }
    # DESIGN.md fixes ``twins`` as {A, B}; how A was chosen goes in its own section
    return {"twins": twins, "twin_assignment": {"rule": result.rule}}


def build_stage() -> Any:
    """The ``twins`` :class:`twinsep.plan.Stage`."""
    from twinsep.plan import Stage

    return Stage(
        name="twins",
        run=_run,
        write=_write,
        depends=("segment",),
        uses=("twin_a_mm",),
        params=TwinParams(),
    )
