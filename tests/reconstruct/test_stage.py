"""The reconstruct stage: plan.json sections, STL files, pipeline order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh

from twinsep.errors import ConfigError
from twinsep.plan import PlanOptions, StageContext
from twinsep.reconstruct.stage import ReconstructParams, build_stage
from twinsep.volume import Volume

from .synthetic import two_heads


@dataclass(frozen=True)
class _Seg:
    labels: Volume


@dataclass(frozen=True)
class _Sep:
    twins: Volume


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    labels, twins, _ = two_heads(spacing_mm=(2.5, 2.5, 2.5))
    ctx = StageContext(
        PlanOptions(scan_path=Path("scan.nii.gz")),
        results={"segment": _Seg(labels), "twins": _Sep(twins), "separate": _Sep(twins)},
    )
    stage = build_stage(ReconstructParams(separation_date="2027-06-01"))
    ctx.stage_name, ctx.params = stage.name, stage.params
    result = stage.run(ctx)
    out = tmp_path_factory.mktemp("plan")
    sections = stage.write(result, ctx, out)
    return result, sections, out, ctx


def test_sections_follow_design(ran) -> None:
    result, sections, _, _ = ran
    json.dumps(sections, allow_nan=False)  # JSON-ready
    skin, bone = sections["skin"], sections["bone"]
    assert set(skin["defect_area_mm2"]) == {"A", "B"}
    for e in skin["expanders"]:
        assert {"twin", "shape", "base_mm", "volume_ml", "gain_mm2", "position_mm", "fills"} <= set(
            e
        )
        assert all({"week", "add_ml", "total_ml", "due"} <= set(f) for f in e["fills"])
        assert e["fills"][-1]["total_ml"] == pytest.approx(e["volume_ml"], abs=0.11)
    assert skin["separation_date"] == "2027-06-01"
    assert skin["insertion_date"] < "2027-06-01"
    assert set(bone["defect_area_mm2"]) == {"A", "B"}
    assert len(bone["templates"]) == 2
    # sections report the same numbers as the result
    assert skin["defect_area_mm2"]["A"] == round(result.skin["A"].defect_area_mm2)


def test_stl_files_written_and_closed(ran) -> None:
    result, sections, out, _ = ran
    files = [e["file"] for e in sections["skin"]["expanders"]] + [
        t["file"] for t in sections["bone"]["templates"]
    ]
    assert "models/cranioplasty_A.stl" in files and "models/expander_A1.stl" in files
    for f in files:
        m = trimesh.load(out / f, force="mesh")
        assert m.is_watertight
    # the meshes handed to the models stage are in world mm, near the heads
    for m in result.meshes.values():
        assert np.abs(m.vertices).max() < 130.0


def test_warnings_state_margins(ran) -> None:
    _, _, _, ctx = ran
    text = " ".join(ctx.warnings)
    assert "complication" in text and "cranioplasty" in text


def test_bad_date_is_config_error() -> None:
    with pytest.raises(ConfigError, match="separation_date"):
        ReconstructParams(separation_date="1 June")


def test_pipeline_order() -> None:
    from twinsep.stages import pipeline

    names = [s.name for s in pipeline()]
    if "separate" in names:
        assert names.index("reconstruct") == names.index("separate") + 1


def test_reconstruct_leaves_inputs_unchanged() -> None:
    import hashlib

    from twinsep.reconstruct.stage import reconstruct

    labels, twins, _ = two_heads(spacing_mm=(3.0, 3.0, 3.0))
    before = [
        hashlib.sha256(v.array.tobytes() + v.affine.tobytes()).hexdigest() for v in (labels, twins)
    ]
    reconstruct(labels, twins)
    after = [
        hashlib.sha256(v.array.tobytes() + v.affine.tobytes()).hexdigest() for v in (labels, twins)
    ]
    assert before == after


def test_skin_plan_figure(ran) -> None:
    import xml.etree.ElementTree as ET

    _, sections, out, _ = ran
    assert sections["skin"]["figure"] == "skin_plan.svg"
    text = (out / "skin_plan.svg").read_text(encoding="utf-8")
    ET.fromstring(text)  # well-formed SVG
    # twin labels as text (not colour alone) and the twin code colour present
    assert "Twin A" in text and "Twin B" in text and "A1" in text
    assert "#7b3fa0" in text.lower()
