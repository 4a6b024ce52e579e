"""The viewer on real pipeline output (fusion, separate, reconstruct, models stages).

The plan is made by :func:`twinsep.plan.run_plan` from a small phantom. Segmentation
and twin assignment are given the phantom's truth (their quality is tested in their
own modules; here what matters is what the later stages write and how the page shows
it): multi-stage plans with preparatory stages, crossings named ``vessel-1`` without a
stage number, implants named ``A/expander_A1``, the CT passed as ``scan_path``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from twinsep.labels import TISSUE_NAMES
from twinsep.viewer import ViewerServer, make_server
from twinsep.viewer.glb import read_glb_meshes
from twinsep.viewer.scene import LodParams
from viewer.test_browser import ARGS, CHROMIUM, VIEWPORT, _canvas, _hue_mask

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZE = 80  # voxels along the longest axis: a few seconds per stage
TEAL = "#12A4A4"


def _truth_stages(phantom: Any) -> list[Any]:
    from twinsep.segment.result import TissueLabels
    from twinsep.stages import pipeline
    from twinsep.twins.result import TwinAssignment

    stages = {s.name: s for s in pipeline()}
    labels, twins = phantom.labels, phantom.twins
    ml = float(labels.voxel_volume_mm3) / 1000.0

    def seg(ctx: Any) -> TissueLabels:
        return TissueLabels(labels=labels, contrast=True, hu_thresholds={})

    def assign(ctx: Any) -> TwinAssignment:
        lab, tw = labels.array, twins.array
        tissue = {
            t: {
                name: float(np.sum((tw == v) & (lab == k)) * ml)
                for k, name in TISSUE_NAMES.items()
                if k > 0
            }
            for t, v in (("A", 1), ("B", 2))
        }
        return TwinAssignment(
            twins=twins,
            a_centroid_mm=tuple(float(c) for c in twins.centroid_mm(tw == 1)),  # type: ignore[arg-type]
            b_centroid_mm=tuple(float(c) for c in twins.centroid_mm(tw == 2)),  # type: ignore[arg-type]
            tissue_ml=tissue,
            volume_ml={t: sum(v.values()) for t, v in tissue.items()},
            rule="phantom truth (viewer test)",
        )

    return [
        dataclasses.replace(stages["segment"], run=seg),
        dataclasses.replace(stages["twins"], run=assign),
        *(stages[n] for n in ("fusion", "separate", "reconstruct", "models")),
    ]


@pytest.fixture(scope="module")
def real_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from twinsep.phantom import make_phantom, write_phantom
    from twinsep.plan import PlanOptions, run_plan

    root = tmp_path_factory.mktemp("realplan")
    ph = make_phantom("vertical-II", size=SIZE, seed=3)
    write_phantom(ph, root / "ph")
    out = root / "plan"
    run_plan(PlanOptions(scan_path=root / "ph" / "ct.nii.gz"), out, stages=_truth_stages(ph))
    return out, root / "ph" / "ct.nii.gz"


@pytest.fixture(scope="module")
def plan_json(real_plan: tuple[Path, Path]) -> dict[str, Any]:
    return json.loads((real_plan[0] / "plan.json").read_text())


@pytest.fixture(scope="module")
def real_server(real_plan: tuple[Path, Path]) -> Iterator[ViewerServer]:
    # a preview budget below the scene's faces: the page goes through the progressive path
    faces = sum(
        len(m.faces) for m in read_glb_meshes((real_plan[0] / "models/scene.glb").read_bytes())
    )
    lod = LodParams(preview_faces=max(faces // 3, 1_000), min_faces_per_mesh=500)
    srv = make_server(real_plan[0], "127.0.0.1", 0, scan_path=real_plan[1], lod_params=lod)
    srv.prepare_in_thread()
    srv.serve_in_thread()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def page(real_server: ViewerServer) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make browser)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with tempfile.TemporaryDirectory() as profile, sync_api.sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=ARGS, headless=True, viewport=VIEWPORT
        )
        p = ctx.new_page()
        p.errors = []
        p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
        p.on("pageerror", lambda e: p.errors.append(str(e)))
        p.goto(real_server.url)
        p.wait_for_selector("body[data-ready='1'], #status.error", timeout=60_000)
        p.wait_for_selector("body[data-refined='1']", timeout=60_000)
        p.wait_for_selector("#slice-img[data-loaded]", timeout=60_000)
        yield p
        ctx.close()


def test_progressive_scene_ends_at_full_detail(page: Any, real_plan: tuple[Path, Path]) -> None:
    assert page.errors == []
    meshes = read_glb_meshes((real_plan[0] / "models/scene.glb").read_bytes())
    # after the preview the page holds every face of the file (desktop budget not reached)
    assert page.evaluate("window.twinsep.faces") == sum(len(m.faces) for m in meshes)
    assert page.evaluate("window.twinsep.lod") == "desktop"
    assert "desktop level of detail" in page.inner_text("#status")


def test_legend_lists_each_twin_structure_with_colour_words(
    page: Any, real_plan: tuple[Path, Path]
) -> None:
    names = {m.name for m in read_glb_meshes((real_plan[0] / "models/scene.glb").read_bytes())}
    twin_parts = sorted(n for n in names if n[:2] in ("A/", "B/"))
    assert sorted(page.evaluate("window.twinsep.parts")) == twin_parts
    legend = page.inner_text("#legend")
    assert "Twin A (purple, #7B3FA0)" in legend and "Twin B (orange, #F28C28)" in legend
    for n in twin_parts:  # one row per twin x structure, in words: 'A CSF', 'expander A1'
        words = " ".join("CSF" if w == "csf" else w for w in n[2:].split("_"))
        named = re.search(r"_[AB]\d*$", n[2:]) is not None
        assert (words if named else f"{n[0]} {words}") in legend
        assert page.locator(f"#toggle-{n[0]}-{n[2:]}").count() == 1


def test_crossings_numbered_and_staged_from_the_plan(page: Any, plan_json: dict[str, Any]) -> None:
    sep = plan_json["separation"]
    shown = page.evaluate("window.twinsep.crossings")
    assert len(shown) == len(sep["vessel_crossings"])
    for c, s in zip(sep["vessel_crossings"], shown, strict=True):
        # the plan names crossings "vessel-N" and lists them in the stage dividing them
        assert s["number"] == int(c["id"].rsplit("-", 1)[1])
        dividing = [
            st["number"]
            for st in sep["stages"]
            if st["kind"] == "separation" and c["id"] in st["structures"]
        ]
        assert s["stage"] == (min(dividing) if dividing else None)
    last = max(st["number"] for st in sep["stages"])
    page.evaluate(f"window.twinsep.setStage({last})")
    assert sorted(page.evaluate("window.twinsep.crossingsDone")) == sorted(
        s["number"] for s in shown if s["stage"] is not None
    )
    page.evaluate("window.twinsep.setStage(0)")
    assert page.evaluate("window.twinsep.crossingsDone") == []


def test_stage_slider_walks_the_real_stages(page: Any, plan_json: dict[str, Any]) -> None:
    stages = plan_json["separation"]["stages"]
    n = max(st["number"] for st in stages)
    assert page.get_attribute("#stage-slider", "max") == str(n)
    page.click("#views button[data-view='default']")
    page.uncheck("#pull-apart")
    teal = {}
    for st in stages:
        page.evaluate(f"window.twinsep.setStage({st['number']})")
        text = page.inner_text("#stage-text")
        assert f"After stage {st['number']} of {n}" in text and st["rationale"][:40] in text
        # in the report's words: the stage's name, what it divides and its cut area as
        # the report writes it; a preparatory stage divides nothing (was "(0 mm²)"), and
        # a stage without named structures was "— : rationale"
        assert f"— {st['name']}: " in text and "— :" not in text, text
        if st["kind"] == "preparatory":
            assert "nothing divided" in text and "(0 mm²)" not in text, text
        else:
            assert f"{st['area_mm2']:,.0f} mm² of cut" in text, text
        teal[st["number"]] = int(_hue_mask(_canvas(page), TEAL, tol_deg=10).sum())
    page.evaluate("window.twinsep.setStage(0)")
    teal[0] = int(_hue_mask(_canvas(page), TEAL, tol_deg=10).sum())
    cutting = [st["number"] for st in stages if st["area_mm2"] > 0]
    first_cut = min(cutting)
    # nothing is divided before the first stage that cuts (preparatory stages cut nothing);
    # the cut lies inside the heads and is drawn through them, so it shows
    assert all(teal[s] < 50 for s in teal if s < first_cut)
    assert teal[first_cut] > 300
    assert teal[n] > teal[first_cut]
    page.evaluate(f"window.twinsep.setStage({n})")
    page.uncheck("#sep-xray")
    hidden = int(_hue_mask(_canvas(page), TEAL, tol_deg=10).sum())
    page.check("#sep-xray")
    page.check("#pull-apart")
    page.evaluate("window.twinsep.setStage(0)")
    assert hidden < teal[n] / 2  # without see-through the heads hide most of the cut


def test_slices_show_the_ct_with_both_twins_at_the_bridge(
    page: Any, plan_json: dict[str, Any]
) -> None:
    text = page.inner_text("#slice-text")
    assert "CT W 2000 / L 400" in text  # the CT given with --scan, not the label fallback
    # the first slice passes through the bridge centre (world z of a vertical fusion)
    centre = plan_json["fusion"]["bridge_centroid_mm"]
    spacing = plan_json["input"]["spacing_mm"]
    z = float(text.split("z (S) = ")[1].split(" mm")[0])
    assert abs(z - centre[2]) <= max(spacing) / 2 + 0.05
    page.select_option("#slice-axis", "coronal")
    page.wait_for_function("() => document.getElementById('slice-img').dataset.axis === 'coronal'")
    arr = np.asarray(Image.open(io.BytesIO(page.locator("#slice-img").screenshot())).convert("RGB"))
    # a coronal cut through the junction of vertical twins shows both heads
    assert _hue_mask(arr, "#7B3FA0", 25).sum() > 200 and _hue_mask(arr, "#F28C28", 25).sum() > 200
    page.select_option("#slice-axis", "axial")


def _distance_to_triangles(p: np.ndarray, verts: np.ndarray, faces: np.ndarray) -> float:
    """Distance from ``p`` to the nearest triangle it projects into (inf if none)."""
    t = verts[faces].astype(np.float64)
    e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    n = np.cross(e1, e2)
    area2 = np.linalg.norm(n, axis=1)
    ok = area2 > 1e-12
    t, e1, e2, n, area2 = t[ok], e1[ok], e2[ok], n[ok], area2[ok]
    n /= area2[:, None]
    d = np.einsum("ij,ij->i", p - t[:, 0], n)
    q = p - d[:, None] * n - t[:, 0]  # projection, relative to the first corner
    # barycentric coordinates of the projection
    d00, d01, d11 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    d20, d21 = (q * e1).sum(1), (q * e2).sum(1)
    den = d00 * d11 - d01 * d01
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    inside = (v >= -1e-4) & (w >= -1e-4) & (v + w <= 1 + 1e-4)
    return float(np.min(np.abs(d[inside]))) if inside.any() else float("inf")


def test_measure_picks_points_on_the_surface(page: Any, real_plan: tuple[Path, Path]) -> None:
    page.click("#views button[data-view='anterior']")
    meshes = read_glb_meshes((real_plan[0] / "models/scene.glb").read_bytes())
    twin = [m for m in meshes if m.name[:2] in ("A/", "B/")]
    offsets = np.cumsum([0] + [len(m.vertices) for m in twin])
    verts = np.concatenate([m.vertices for m in twin])
    faces = np.concatenate(
        [np.asarray(m.faces, np.int64) + o for m, o in zip(twin, offsets, strict=False)]
    )
    page.click("#measure-btn")
    box = page.locator("#view canvas").bounding_box()
    for fy in (0.35, 0.65):  # two points on the vertical axis of the picture: both heads
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * fy)
    page.click("#measure-btn")
    m = page.evaluate("window.twinsep.lastMeasure")
    a, b = np.asarray(m["a"]), np.asarray(m["b"])
    assert m["distance_mm"] == pytest.approx(float(np.linalg.norm(a - b)), abs=1e-6)
    for p in (a, b):
        # a picked point lies on a drawn twin surface (float32 positions: 0.01 mm)
        assert _distance_to_triangles(p, verts, faces) < 0.01
    assert m["distance_mm"] > 20  # two distinct points, not the same pixel twice
