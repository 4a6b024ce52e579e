"""Tests of the case report: figures in world orientation, numbers equal plan.json."""

from __future__ import annotations

import html.parser
import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from twinsep.report import figures as fg
from twinsep.report.render import get_path, render_report
from twinsep.volume import Volume

PURPLE = "#7B3FA0"
ORANGE = "#F28C28"


def _plan() -> dict[str, Any]:
    return {
        "schema": "twinsep.plan/1",
        "version": "0.1.0",
        "created": "2026-11-25T00:00:00+00:00",
        "input": {
            "path": "ct.nii.gz",
            "sha256": "ab" * 32,
            "modality": "CT",
            "shape": [96, 96, 80],
            "spacing_mm": [1.0, 1.0, 1.25],
            "affine": np.eye(4).tolist(),
            "deidentified": True,
            "format": "nifti",
            "orientation": "RAS",
        },
        "options": {"seed": 0, "case": None},
        "colours": {"A": PURPLE, "B": ORANGE},
        "twins": {
            t: {
                "colour": "purple" if t == "A" else "orange",
                "hex": h,
                "volume_ml": 812.345 + i,
                "tissue_ml": {
                    "soft_tissue": 200.1,
                    "bone": 80.2,
                    "brain": 500.3,
                    "csf": 30.4,
                    "vessel": 1.5,
                },
            }
            for i, (t, h) in enumerate((("A", PURPLE), ("B", ORANGE)))
        },
        "fusion": {
            "classification": {"oconnell": "II", "stone_goodrich": "TV"},
            "type": "vertical",
            "completeness": "total",
            "completeness_evidence": "inferred from brain contact without contrast",
            "rotation_deg": 163.24,
            "axis_angle_deg": 171.9,
            "bridge_area_mm2": 4321.7,
            "bridge_length_mm": 23.4,
            "bridge_centroid_mm": [1.0, 2.0, 3.0],
        },
        "shared": {
            "shared_sinus": True,
            "sinus_ml": 2.37,
            "shared_bone_ml": 14.2,
            "brain_contact_area_mm2": 512.0,
            "notes": ["circular sinus crosses"],
        },
        "separation": {
            "area_mm2": {
                "soft_tissue": 2100.4,
                "bone": 900.2,
                "brain": 0.0,
                "csf": 10.0,
                "vessel": 35.9,
            },
            "vessel_crossings": [
                {
                    "position_mm": [1.0, 2.0, 3.0],
                    "diameter_mm": 4.2,
                    "drains_toward": "A",
                    "stage": 1,
                }
            ],
            "stages": [
                {
                    "number": 1,
                    "name": "sinus 1",
                    "structures": ["sinus"],
                    "rationale": "smaller first",
                    "area_mm2": 20.5,
                },
                {
                    "number": 2,
                    "name": "final",
                    "structures": ["rest"],
                    "rationale": "rest",
                    "area_mm2": 3026.0,
                },
            ],
            "risk_score": 3.75,
        },
        "skin": {
            "defect_area_mm2": {"A": 4100.0, "B": 4200.0},
            "shortfall_mm2": {"A": 0.0, "B": 512.5},
            "expanders": [
                {
                    "twin": "A",
                    "shape": "rectangular",
                    "base_mm": [80, 40],
                    "volume_ml": 250.0,
                    "gain_mm2": 5000.0,
                    "position_mm": [0, 10, 20],
                    "fills": [
                        {"week": 1, "add_ml": 25, "total_ml": 25},
                        {"week": 2, "add_ml": 25, "total_ml": 50},
                    ],
                }
            ],
        },
        "bone": {"defect_area_mm2": {"A": 3000.0, "B": 3100.0}, "templates": []},
        "schedule": {
            "makespan_min": 1234.0,
            "p50_min": 1300.5,
            "p90_min": 1500.25,
            "tables": 3,
            "tasks": [],
        },
        "warnings": ["segment: no contrast <script>alert(1)</script>"],
        "parameters": {"segment": {"bone_hu": 300}},
        "timings_s": {"segment": 1.5},
        "peak_rss_mb": {"segment": 400.0},
    }


class _Spans(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, str, str]] = []
        self._open: list[tuple[str, str]] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "span" and "data-key" in a:
            self._open = [(a["data-key"] or "", a.get("data-value") or "")]
            self._text = ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._open is not None:
            key, value = self._open[0]
            self.items.append((key, value, self._text))
            self._open = None


def test_every_number_on_the_page_equals_plan_json() -> None:
    plan = _plan()
    page = render_report(plan, {})
    parser = _Spans()
    parser.feed(page)
    assert len(parser.items) > 40  # the page really shows the plan's numbers
    keys = {k for k, _, _ in parser.items}
    for needed in (
        "fusion.bridge_area_mm2",
        "schedule.p50_min",
        "schedule.p90_min",
        "separation.area_mm2.vessel",
        "shared.sinus_ml",
        "skin.shortfall_mm2.B",
        "fusion.classification.stone_goodrich",
        "fusion.completeness_evidence",  # a total inferred without contrast says so
        "twins.A.volume_ml",
    ):
        assert needed in keys, needed
    for key, value, text in parser.items:
        truth = get_path(plan, key)
        if truth is None:
            assert value == "" and text == "—"
            continue
        assert value == str(truth), key
        if isinstance(truth, (int, float)) and not isinstance(truth, bool):
            shown = float(text.replace(",", ""))
            # shown rounded to the digits on the page: never further than half a unit
            assert abs(shown - truth) <= 0.5 + 1e-9, (key, text, truth)


def test_report_escapes_text_and_is_self_contained() -> None:
    page = render_report(_plan(), {"slices": b"\x89PNG fake"})
    assert "<script>alert(1)" not in page
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page  # opens offline
    assert PURPLE in page and ORANGE in page and "Twin A" in page and "Twin B" in page


def test_missing_sections_say_not_computed() -> None:
    plan = {
        k: v
        for k, v in _plan().items()
        if k
        in (
            "schema",
            "version",
            "created",
            "input",
            "options",
            "colours",
            "warnings",
            "parameters",
            "timings_s",
            "peak_rss_mb",
        )
    }
    page = render_report(plan, {})
    assert page.count("not computed") >= 3


def _two_heads(affine: np.ndarray) -> tuple[Volume, Volume]:
    """Twin A a ball at world x = +30 mm, twin B at x = -30 mm (2 mm voxels)."""
    shape = (40, 40, 40)
    idx = np.indices(shape).reshape(3, -1).T
    world = idx @ affine[:3, :3].T + affine[:3, 3]
    a = np.linalg.norm(world - [30, 0, 0], axis=1) < 25
    b = np.linalg.norm(world - [-30, 0, 0], axis=1) < 25
    twins = np.zeros(len(idx), np.uint8)
    twins[a] = 1
    twins[b] = 2
    twins = twins.reshape(shape)
    labels = (twins > 0).astype(np.uint8)
    return Volume(labels, affine), Volume(twins, affine)


def _centre_affine(rot: np.ndarray) -> np.ndarray:
    aff = np.eye(4)
    aff[:3, :3] = rot * 2.0
    aff[:3, 3] = -aff[:3, :3] @ np.array([19.5, 19.5, 19.5])
    return aff


@pytest.mark.parametrize(
    "rot", [np.eye(3), np.diag([-1.0, 1.0, -1.0]), np.array([[0.0, 1, 0], [0, 0, 1], [1, 0, 0]])]
)
def test_anterior_render_puts_patient_right_on_viewer_left(rot: np.ndarray) -> None:
    labels, twins = _two_heads(_centre_affine(rot))
    grid = fg.resample_to_ras({"labels": labels, "twins": twins}, spacing_mm=2.0)
    img = fg.depth_render(grid.arrays["twins"], "anterior", {1: PURPLE, 2: ORANGE}, 0.5)
    purple = np.all(np.abs(img - np.array([0x7B, 0x3F, 0xA0]) / 255) < 0.45, axis=2) & (
        img[..., 2] > img[..., 1]
    )
    cols = np.nonzero(purple)[1]
    assert cols.size > 50
    # twin A is at +x (patient's right): in an anterior view it is on the viewer's left
    assert cols.mean() < img.shape[1] / 2


def test_three_view_figure_shows_both_colours() -> None:
    labels, twins = _two_heads(_centre_affine(np.eye(3)))
    grid = fg.resample_to_ras({"labels": labels, "twins": twins}, spacing_mm=2.0)
    png = fg.three_view_figure(
        grid, structure="skin", colour_a=PURPLE, colour_b=ORANGE, params=fg.FigureParams()
    )
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)

    def near(hexc: str) -> int:
        target = np.array([int(hexc[i : i + 2], 16) for i in (1, 3, 5)])
        # lit surfaces are scaled versions of the colour: compare hue via normalised rgb
        norm = rgb / np.maximum(rgb.sum(axis=2, keepdims=True), 1)
        t = target / target.sum()
        return int((np.abs(norm - t).sum(axis=2) < 0.06).sum())

    assert near(PURPLE) > 500 and near(ORANGE) > 500


# -- expanders already in place -------------------------------------------------------
def _with_existing(plan: dict[str, Any]) -> dict[str, Any]:
    """``plan`` whose twin A carries two expanders (one with a port), twin B none."""
    plan["existing_expanders"] = {
        "count": 2,
        "fill_ml": {"A": 258.3, "B": 0.0},
        "items": [
            {
                "twin": "A",
                "volume_ml": 174.4,
                "centroid_mm": [60.0, 1.0, 2.0],
                "height_mm": 28.0,
                "port_mm": [70.0, 20.0, 2.0],
                "port_distance_mm": 18.2,
            },
            {
                "twin": "A",
                "volume_ml": 83.9,
                "centroid_mm": [-60.0, 1.0, 2.0],
                "height_mm": 20.0,
                "port_mm": None,
                "port_distance_mm": None,
            },
        ],
    }
    none = {
        "count": 0,
        "fill_ml": 0.0,
        "expanded_scalp_mm2": 0.0,
        "dome_mm2": 0.0,
        "base_mm2": 0.0,
        "realised_gain_mm2": 0.0,
        "items": [],
    }
    plan["skin"]["twins"] = {
        "A": {
            "required_gain_mm2": 7668.0,
            "existing_expanders": {
                "count": 2,
                "fill_ml": 258.3,
                "expanded_scalp_mm2": 23929.0,
                "dome_mm2": 21728.0,
                "base_mm2": 5086.0,
                "realised_gain_mm2": 4160.0,
                "items": [
                    {
                        "volume_ml": 174.4,
                        "centroid_mm": [60.0, 1.0, 2.0],
                        "port": True,
                        "dome_mm2": 13676.0,
                        "base_mm2": 2557.0,
                        "realised_gain_mm2": 2780.0,
                        "position": "right temporal",
                    },
                    {
                        "volume_ml": 83.9,
                        "centroid_mm": [-60.0, 1.0, 2.0],
                        "port": False,
                        "dome_mm2": 8052.0,
                        "base_mm2": 2529.0,
                        "realised_gain_mm2": 1381.0,
                        "position": "left parietal",
                    },
                ],
            },
        },
        "B": {"required_gain_mm2": 7700.0, "existing_expanders": none},
    }
    return plan


def _section(page: str) -> str:
    """The text of the 'Expanders already in place' part of the page."""
    start = page.index("Expanders already in place")
    return page[start : page.index("<h3>Tissue expanders</h3>", start)]


def test_existing_expanders_have_their_own_section() -> None:
    plan = _with_existing(_plan())
    page = render_report(plan, {})
    part = _section(page)
    # one row per expander of twin A, none of twin B
    assert part.count("<tr>") == 3
    for words in ("right temporal", "left parietal", "found", "not found"):
        assert words in part
    assert "Twin B</span>" not in part
    # scalp grown = dome - base (13676 - 2557 = 11119 mm2), counted = the gain; in mm2
    # as the defects and gains elsewhere on the page (was cm2: 111.2 beside 7,668 mm2)
    assert "11,119" in part and "2,780" in part and "5,523" in part and "1,381" in part
    # how the skin plan used it: the scalp over them, the gain counted, the need, the
    # one new expander of twin A in the plan
    assert "23,929 mm²" in part and "4,160 mm²" in part and "7,668 mm²" in part
    assert "cm²" not in part
    assert "1 new expander planned for the rest" in part
    # every number with a data-key is the plan's
    parser = _Spans()
    parser.feed(part)
    keys = {k for k, _, _ in parser.items}
    assert "skin.twins.A.existing_expanders.items.1.volume_ml" in keys
    for key, value, _text in parser.items:
        assert value == str(get_path(plan, key)), key


def test_existing_expanders_without_a_skin_plan_are_listed_from_the_twins_stage() -> None:
    plan = _with_existing(_plan())
    del plan["skin"]["twins"]
    part = _section(render_report(plan, {}))
    assert part.count("<tr>") == 3
    assert "60.0, 1.0, 2.0 mm (RAS)" in part
    assert part.count(">not computed<") == 4 and "the skin plan was not computed" in part
    assert "found" in part and "not found" in part


def test_no_expanders_found_says_so_and_no_twins_stage_shows_nothing() -> None:
    plan = _plan()
    plan["existing_expanders"] = {"count": 0, "fill_ml": {"A": 0.0, "B": 0.0}, "items": []}
    page = render_report(plan, {})
    assert "Expanders already in place" in page and "None found in the CT" in page
    assert 'id="existing-expanders"' not in page
    page = render_report(_plan(), {})  # a plan without the twins stage's section
    assert "Expanders already in place" not in page


def test_a_plan_from_before_the_per_expander_items_still_renders() -> None:
    # skin.twins.X.existing_expanders without "items" (plans written before 2026-11-27):
    # the rows come from the twins stage (a dict's own .items must not be taken for it)
    plan = _with_existing(_plan())
    for twin in ("A", "B"):
        del plan["skin"]["twins"][twin]["existing_expanders"]["items"]
    part = _section(render_report(plan, {}))
    assert part.count("<tr>") == 3 and "60.0, 1.0, 2.0 mm (RAS)" in part
    assert "Twin A: the scalp over its 2 expanders (23,929 mm²)" in part
