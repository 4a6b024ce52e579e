"""The ``fusion`` plan stage: classification and shared inventory from labels + twins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twinsep.fusion.analysis import FusionAnalysis, analyse_fusion
from twinsep.fusion.params import FusionParams
from twinsep.plan import Stage, StageContext


def _run(ctx: StageContext) -> FusionAnalysis:
    seg = ctx.result("segment")
    twins = ctx.result("twins").twins
    params = ctx.params if isinstance(ctx.params, FusionParams) else FusionParams()
    ctx.progress(0.1, "classifying the fusion")
    # Venous sinuses are visible with a contrast CT, or in an MR (venogram) given with
    # --mr, whose vessels the segment stage adds to the labels.
    venous = bool(getattr(seg, "contrast", False)) or ctx.options.mr_path is not None
    # scalp expanders already in place (found by the twins stage) are not anatomy
    from twinsep.segment.implants import expander_cover_mask

    expanders = getattr(ctx.result("twins"), "expanders", ())
    exclude = expander_cover_mask(expanders, seg.labels) if expanders else None
    # an MR alone shows bone only as a dark band: no partial inferred from it
    bone_from_mr = getattr(seg, "modality", "CT") == "MR"
    result = analyse_fusion(
        seg.labels,
        twins,
        contrast=venous,
        params=params,
        exclude=exclude,
        bone_from_mr=bone_from_mr,
    )
    for w in result.warnings:
        ctx.warn(w)
    return result


def fusion_sections(result: FusionAnalysis) -> dict[str, Any]:
    """The ``fusion`` and ``shared`` sections of ``plan.json`` (units in key names)."""
    sh = result.shared
    return {
        "fusion": {
            "classification": {
                "oconnell": result.oconnell,
                "stone_goodrich": result.stone_goodrich,
            },
            "type": result.type,
            "completeness": result.completeness,
            "completeness_evidence": result.completeness_evidence,
            "site": result.site,
            "rotation_deg": None if result.rotation_deg is None else round(result.rotation_deg, 1),
            "axis_angle_deg": round(result.axis_angle_deg, 1),
            "bridge_area_mm2": round(result.bridge.area_mm2, 1),
            "bridge_length_mm": round(result.bridge.length_mm, 1),
            "bridge_centroid_mm": [round(float(v), 2) for v in result.bridge.centroid_mm],
            "in_scope": result.in_scope,
            "evidence": result.evidence(),
        },
        "shared": {
            "shared_sinus": sh.shared_sinus,
            "sinus_ml": round(sh.sinus_ml, 2),
            "sinus_kind": sh.sinus_kind,
            "sinus_crossings": [
                {
                    "position_mm": [round(v, 1) for v in c.position_mm],
                    "area_mm2": round(c.area_mm2, 1),
                }
                for c in sh.sinus_crossings
            ],
            "shared_bone_ml": round(sh.shared_bone_ml, 2),
            "brain_contact_area_mm2": round(sh.brain_contact_area_mm2, 1),
            "brain_shared": sh.brain_shared,
            "csf_contact_area_mm2": round(sh.csf_contact_area_mm2, 1),
            "csf_communication": sh.csf_communication,
            "notes": list(sh.notes),
        },
    }


def _write(result: FusionAnalysis, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
    return fusion_sections(result)


def build_stage(params: FusionParams | None = None) -> Stage:
    """The ``fusion`` stage (depends on ``segment`` and ``twins``)."""
    return Stage(
        name="fusion",
        run=_run,
        write=_write,
        depends=("segment", "twins"),
        uses=("mr_path",),
        params=params or FusionParams(),
    )


STAGE = build_stage()
