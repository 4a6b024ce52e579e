"""The ``twins`` stage: labels -> ``twins.nii.gz`` and the ``twins`` section of plan.json."""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path
from typing import Any

from twinsep.errors import InputError
from twinsep.segment.implants import (
    ExistingExpander,
    ImplantParams,
    find_expanders,
    saline_ml,
)
from twinsep.twins.assign import agree_with, assign_twins
from twinsep.twins.body import HeadBody, split_head_body
from twinsep.twins.params import BodyParams, TwinParams
from twinsep.twins.result import TwinAssignment

logger = logging.getLogger(__name__)

#: Plain names of the default code colours (text label beside the colour).
_COLOUR_NAMES = {"#7B3FA0": "purple", "#F28C28": "orange"}


def expander_warning(expanders: tuple[ExistingExpander, ...]) -> str | None:
    """One plain sentence naming the existing expanders per twin, or None."""
    if not expanders:
        return None
    parts = []
    for twin in ("A", "B"):
        own = [e for e in expanders if e.twin == twin]
        if not own:
            continue
        sizes = ", ".join(f"{e.volume_ml:.0f}" for e in own)
        ports = sum(e.port_mm is not None for e in own)
        parts.append(
            f"twin {twin} {len(own)} ({sizes} mL; {ports} with a metal port found near it)"
        )
    total = saline_ml(expanders)
    return (
        f"existing expanders: the CT shows {len(expanders)} saline-filled scalp tissue "
        f"expander{'s' if len(expanders) != 1 else ''} already in place - {'; '.join(parts)}. "
        "Their fill "
        f"(A {total['A']:.0f} mL, B {total['B']:.0f} mL) stays soft tissue in "
        "labels.nii.gz but is left out of the twins' soft-tissue volumes and of the "
        "fusion analysis; check their number and position against the record"
    )


def body_warning(heads: dict[str, HeadBody]) -> str | None:
    """One plain sentence when the scan holds a twin's body below the neck, or None."""
    parts = []
    for t, h in sorted(heads.items()):
        if h.body_ml <= 0 or h.shoulder_mm is None:
            continue
        part = (
            f"twin {t}'s body {h.body_ml:.0f} mL, below the top of its shoulders "
            f"{h.shoulder_mm:.0f} mm from its brain's centre along the neck"
        )
        if h.shoulders_cut:
            part += (
                " (the scan ends at its shoulders: the level was read on slabs the scan's "
                "edge cuts, so its head volume may still hold some of the upper chest)"
            )
        if h.limb_ml > 0:
            part += (
                f", {h.limb_ml:.0f} mL of it above that level hanging from the body, not "
                "the head (a raised arm)"
            )
        parts.append(part)
    if not parts:
        return None
    return (
        "the scan holds the bodies below the necks (shoulders, chest): "
        + "; ".join(parts)
        + ". Each twin's whole volume and tissues count its body; its head volume and "
        "tissues count the head and neck above the shoulders only, without a limb raised "
        "above them (both are in the report's summary and twins table)"
    )


def _run(ctx: Any) -> TwinAssignment:
    seg = ctx.result("segment")
    labels = seg.labels
    from twinsep.plan import records_names, scan_display_name

    info = getattr(ctx, "input_info", None) or {}
    src = scan_display_name(
        ctx.options.scan_path,
        names_patient=bool(info.get("path_names_patient")),
        keep_phi=records_names(ctx.options),
    )
    labels = type(labels)(labels.array, labels.affine, {**labels.meta, "source": src})
    ctx.progress(0.1, "finding the two heads")
    result = assign_twins(labels, twin_a_mm=ctx.options.twin_a_mm, params=ctx.params)
    edited = ctx.edited if ctx.options.segmentation_path is not None else None
    if edited is not None and edited.twins is not None:
        # the user's twin map: the cut (separate stage), and which twin is A
        where = (
            f"the Slicer segmentation {edited.files[0].name}"
            if edited.kind == "slicer"
            else f"the twin map {edited.files[-1].name}"
        )
        result = agree_with(
            result,
            labels.with_array(edited.twins, kind="twins"),
            rule=f"supplied by the user: twin A and twin B as in {where}",
        )
    for w in result.warnings:
        ctx.warn(w)
    ctx.progress(0.6, "telling the heads from the bodies")
    body_params = getattr(ctx.params, "body", None) or BodyParams()
    heads = split_head_body(labels, result.twins, body_params)
    result = dataclasses.replace(result, heads=heads)
    warning = body_warning(heads)
    if warning is not None:
        ctx.warn(warning)
    try:
        scan = ctx.scan
    except InputError:
        # only the labels are at hand (a stage run on its own, a plan folder without
        # its scan): the CT's HU are needed to tell saline from tissue
        ctx.warn(
            "existing expanders were not looked for: the scan is not available "
            "(the CT's values are needed)"
        )
        return result
    if getattr(scan.info, "modality", "CT") != "MR" and scan.volume.shape == labels.shape:
        ctx.progress(0.7, "looking for tissue expanders already in place")
        implants = getattr(ctx.params, "implants", None) or ImplantParams()
        found = find_expanders(scan.volume, labels, result.twins, params=implants)
        warning = expander_warning(found)
        if warning is not None:
            ctx.warn(warning)
        result = dataclasses.replace(result, expanders=found)
    return result


def expanders_section(expanders: tuple[ExistingExpander, ...]) -> dict[str, Any]:
    """The ``existing_expanders`` section of ``plan.json`` (docs/CONTRACTS.md)."""
    return {
        "count": len(expanders),
        "fill_ml": {k: round(v, 1) for k, v in saline_ml(expanders).items()},
        "items": [
            {
                "twin": e.twin,
                "volume_ml": e.volume_ml,
                "centroid_mm": list(e.centroid_mm),
                "height_mm": e.height_mm,
                "port_mm": None if e.port_mm is None else list(e.port_mm),
                "port_distance_mm": e.port_distance_mm,
            }
            for e in expanders
        ],
    }


def _write(result: TwinAssignment, ctx: Any, out_dir: Path) -> dict[str, Any]:
    from twinsep.io import save_volume
    from twinsep.plan import defer_write

    # on the plan's writer thread, while the next stages run
    defer_write(ctx, functools.partial(save_volume, result.twins, out_dir / "twins.nii.gz"))
    o = ctx.options
    twins: dict[str, Any] = {}
    fill = saline_ml(result.expanders)
    for name, hex_colour, centroid in (
        ("A", o.colour_a, result.a_centroid_mm),
        ("B", o.colour_b, result.b_centroid_mm),
    ):
        twins[name] = {
            "colour": _COLOUR_NAMES.get(hex_colour.upper(), hex_colour.upper()),
            "hex": hex_colour,
            "label": f"twin {name}",
            "volume_ml": round(result.volume_ml[name] - fill[name], 3),
            "tissue_ml": _without_fill(result.tissue_ml[name], fill[name]),
            "expander_fill_ml": round(fill[name], 1),
            **_head_keys(result.heads.get(name), fill[name]),
            "centroid_mm": [round(v, 2) for v in centroid],
        }
    # DESIGN.md fixes ``twins`` as {A, B}; how A was chosen goes in its own section
    return {
        "twins": twins,
        "twin_assignment": {"rule": result.rule},
        "existing_expanders": expanders_section(result.expanders),
    }


def _head_keys(head: HeadBody | None, fill_ml: float) -> dict[str, Any]:
    """A twin's ``head_volume_ml``, ``head_tissue_ml`` and ``body_volume_ml`` (the head
    and neck above the shoulders, and what lies below them; docs/CONTRACTS.md)."""
    if head is None:
        return {}
    return {
        "head_volume_ml": round(max(head.head_ml - fill_ml, 0.0), 3),
        "head_tissue_ml": _without_fill(head.head_tissue_ml, fill_ml),
        "body_volume_ml": round(head.body_ml, 3),
    }


def _without_fill(tissue_ml: dict[str, float], fill_ml: float) -> dict[str, float]:
    """``tissue_ml`` with the expanders' fill taken out of the soft tissue."""
    out = dict(tissue_ml)
    if fill_ml:
        out["soft_tissue"] = round(max(out.get("soft_tissue", 0.0) - fill_ml, 0.0), 3)
    return out


def build_stage() -> Any:
    """The ``twins`` :class:`twinsep.plan.Stage`."""
    from twinsep.plan import Stage

    return Stage(
        name="twins",
        run=_run,
        write=_write,
        depends=("segment",),
        uses=("twin_a_mm", "segmentation_path", "twin_map_path"),
        params=TwinParams(),
    )
