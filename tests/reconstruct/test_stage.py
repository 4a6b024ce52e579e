"""The reconstruct stage: plan.json sections, meshes handed to models, options, order."""

from __future__ import annotations

import colorsys
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh

from twinsep.errors import InputError
from twinsep.plan import PlanOptions, StageContext
from twinsep.reconstruct.stage import build_stage, model_file
from twinsep.volume import Volume

from .synthetic import head_frames, two_heads

_COLOURS = {"A": "#7B3FA0", "B": "#F28C28"}


@dataclass(frozen=True)
class _Seg:
    labels: Volume


@dataclass(frozen=True)
class _Sep:
    twins: Volume


@dataclass(frozen=True)
class _Frame:
    axis: np.ndarray
    face_dir: np.ndarray
    face_strength: float


@dataclass(frozen=True)
class _Fusion:
    frames: dict


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    labels, twins, _ = two_heads(half_distance_mm=50.0, spacing_mm=(2.5, 2.5, 2.5))
    # the fusion result as the stage reads it: per-twin axis, face direction, strength
    fusion = _Fusion({k: _Frame(f.axis, f.face_dir, 0.6) for k, f in head_frames().items()})
    ctx = StageContext(
        PlanOptions(scan_path=Path("scan.nii.gz"), separation_date="2027-06-01"),
        results={
            "segment": _Seg(labels),
            "twins": _Sep(twins),
            "fusion": fusion,
            "separate": _Sep(twins),
        },
    )
    stage = build_stage()
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


def test_meshes_handed_to_models_not_written(ran) -> None:
    from twinsep.models.stage import reconstruct_meshes

    result, sections, out, _ = ran
    # one owner per file: the models stage writes the meshes, reconstruct does not
    assert not list(out.rglob("*.stl"))
    entries = sections["skin"]["expanders"] + sections["bone"]["templates"]
    keys = {e["mesh"] for e in entries if e["mesh"]}
    assert keys == set(result.meshes) and "A/expander_A1" in keys and "B/cranioplasty_B" in keys
    # the file names are the ones the models stage gives the meshes it picks up
    handed = {m.name: m for m in reconstruct_meshes(result, colours=_COLOURS)}
    assert set(handed) == keys
    for e in entries:
        if e["mesh"]:
            assert e["file"] == model_file(e["mesh"]) == f"models/{e['mesh'].replace('/', '_')}.stl"
            assert handed[e["mesh"]].structure in ("expander", "template")
    for m in result.meshes.values():
        assert trimesh.Trimesh(m.vertices, m.faces, process=True).is_watertight
        # in world mm, near the heads (centres at +-50 mm, radius 60 mm)
        assert np.abs(m.vertices).max() < 130.0


def test_implant_meshes_in_their_twins_colours(ran) -> None:
    from twinsep.labels import hex_to_rgb, shade
    from twinsep.models.stage import reconstruct_meshes

    result, _, _, _ = ran
    handed = reconstruct_meshes(result, colours=_COLOURS)
    assert {m.twin for m in handed} == {"A", "B"}
    for m in handed:
        # scene.glb's material: a shade of the twin's code colour (DESIGN: every output
        # that shows a twin uses its colour), as the viewer draws it; it was one teal
        # for every expander and one beige for every template
        factor = 0.7 if m.structure == "expander" else 1.75
        assert m.colour == shade(_COLOURS[m.twin], factor), m.name
        hue = colorsys.rgb_to_hsv(*(c / 255 for c in hex_to_rgb(m.colour)))[0]
        own = colorsys.rgb_to_hsv(*(c / 255 for c in hex_to_rgb(_COLOURS[m.twin])))[0]
        assert abs(hue - own) < 0.02, m.name


def test_new_expanders_say_where_they_go_as_the_skin_map_shows_them(ran) -> None:
    from twinsep.reconstruct.figure import map_coords_deg

    result, sections, _, _ = ran
    expanders = sections["skin"]["expanders"]
    assert expanders
    for e in expanders:
        # the words agree with the map the plastic surgeon reads (skin_plan.svg): azimuth
        # 0 = face, +90 = the twin's right, elevation above the head's equator
        az, el = map_coords_deg(result.defects[e["twin"]], np.array([e["position_mm"]]))[0]
        words = e["position"]
        if el > 53.2:  # within 37 deg of the vertex
            assert words == "vertex", (az, el, words)
            continue
        region = words.split()[-1]
        if abs(az) < 59.8:
            assert region == "frontal", (az, el, words)
        elif abs(az) > 120.2:
            assert region == "occipital", (az, el, words)
        elif abs(az) > 60.2 and abs(az) < 119.8:
            assert region in ("parietal", "temporal"), (az, el, words)
        side = np.sin(np.radians(az)) * np.cos(np.radians(el))
        if side > 0.27:
            assert words.startswith("right "), (az, el, words)
        elif side < -0.27:
            assert words.startswith("left "), (az, el, words)


def test_stage_reads_fusion_and_the_date_option() -> None:
    stage = build_stage()
    assert "fusion" in stage.depends and "separation_date" in stage.uses


def test_face_direction_used_and_regions_reported(ran) -> None:
    _, sections, _, _ = ran
    for name in ("A", "B"):
        t = sections["skin"]["twins"][name]
        assert t["face_direction_used"] is True
        regions = t["scalp_by_region_mm2"]
        assert set(regions) == {"available", "near_wound", "face", "ears", "neck", "off_vault"}
        assert regions["available"] == t["available_scalp_mm2"]
        assert regions["face"] > 0 and regions["ears"] > 0 and regions["neck"] > 0


def test_warnings_state_margins(ran) -> None:
    _, _, _, ctx = ran
    text = " ".join(ctx.warnings)
    assert "complication" in text and "cranioplasty" in text


@pytest.mark.parametrize("text", ["1 June", "2027-13-01", "2027/06/01", ""])
def test_bad_date_is_input_error(text: str) -> None:
    with pytest.raises(InputError, match="--separation-date"):
        PlanOptions(scan_path=Path("scan.nii.gz"), separation_date=text)


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


def test_skin_plan_labels_inside_the_map_and_valves_as_markers(ran) -> None:
    from twinsep.reconstruct.figure import skin_plan_figure

    result, _, _, _ = ran
    fig = skin_plan_figure(result, {"A": "#7B3FA0", "B": "#F28C28"})
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        for t in ax.texts:  # every expander label inside its twin's map
            ext = t.get_window_extent(renderer)
            assert box.x0 - 1 <= ext.x0 and ext.x1 <= box.x1 + 1, t.get_text()
        valves = [ln for ln in ax.lines if ln.get_marker() == "o"]
        assert valves and all(ln.get_linestyle() == "None" for ln in valves)
    assert any("fill valve" in t.get_text() for ax in fig.axes for t in ax.get_legend().texts)


def test_skin_plan_legend_valve_marker_as_drawn(ran) -> None:
    from matplotlib.lines import Line2D

    from twinsep.reconstruct.figure import skin_plan_figure

    result, _, _, _ = ran
    fig = skin_plan_figure(result, {"A": "#7B3FA0", "B": "#F28C28"})
    for ax in fig.axes:
        drawn = [ln.get_markersize() for ln in ax.lines if ln.get_marker() == "o"]
        leg = ax.get_legend()
        keys = dict(zip((t.get_text() for t in leg.texts), leg.legend_handles, strict=True))
        valve = keys["fill valve"]
        assert isinstance(valve, Line2D)
        # the legend shows the valve as it is drawn on the map; the 1-point scalp dots
        # are enlarged in the legend, but a 5x valve covered the legend's own entries
        assert valve.get_markersize() == pytest.approx(drawn[0])
        assert keys["available scalp"].get_sizes()[0] > 1.0


def test_cli_bad_separation_date_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from twinsep.cli import app

    scan = tmp_path / "scan.nii.gz"
    scan.write_bytes(b"not read: the option is checked first")
    out = tmp_path / "plan"
    res = CliRunner().invoke(
        app, ["plan", str(scan), "--out", str(out), "--separation-date", "2027-02-30"]
    )
    assert res.exit_code == 2
    assert "--separation-date" in res.output and "2027-02-30" in res.output
    assert not out.exists()


def test_skin_map_coordinates_follow_the_twin_frame(ran) -> None:
    from twinsep.reconstruct.figure import map_coords_deg

    result, _, _, _ = ran
    d = result.defects["A"]
    axis = d.head_axis / np.linalg.norm(d.head_axis)
    face = d.face_dir
    right = np.cross(face, axis)  # RAS: face x up = the twin's right
    r = 50.0
    pts = d.brain_centre_mm + r * np.stack(
        [face, right, -right, -face, axis, (face + axis) / np.sqrt(2.0)]
    )
    got = map_coords_deg(d, pts)
    expect = [(0, 0), (90, 0), (-90, 0), (180, 0), (None, 90), (0, 45)]
    for (az, el), (e_az, e_el) in zip(got, expect, strict=True):
        assert el == pytest.approx(e_el, abs=1e-6)
        if e_az is not None:
            assert abs((az - e_az + 180.0) % 360.0 - 180.0) < 1e-6


def test_skin_plan_names_the_excluded_regions(ran) -> None:
    _, _, out, _ = ran
    text = (out / "skin_plan.svg").read_text(encoding="utf-8")
    for label in ("available scalp", "face", "ears", "neck", "wound margin", "wound edge"):
        assert label in text, label


def test_skin_plan_svg_is_reproducible(ran) -> None:
    from twinsep.reconstruct.figure import skin_plan_svg

    result, _, out, _ = ran
    colours = {"A": "#7B3FA0", "B": "#F28C28"}
    first = skin_plan_svg(result, colours)
    # same bytes on every run (no time stamp, no random element ids)
    assert skin_plan_svg(result, colours) == first
    assert "<dc:date>" not in first
    assert (out / "skin_plan.svg").read_text(encoding="utf-8") == first
