"""The plan read as its users read it (session 28): the report and the CLI summary say
the same quantity as the run sheets and plan.json, and no sentence contradicts another.

Found on CLI plans of the built-in demo, ``real-ct-vertical`` and the real CT written as
DICOM with a patient name (docs/DECISIONS.md, "Report wording"); each test fails on the
report and CLI before that read-through. Synthetic plan documents, no plan run.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from test_report_read_through import _staged_plan, _table, _text

from twinsep import cli
from twinsep.report.render import expander_stage_note, render_report


def _fills(total_ml: float) -> list[dict[str, Any]]:
    """Ten weekly fills from day 0 to day 63 reaching ``total_ml``."""
    days = [0, 7, 14, 21, 28, 35, 42, 49, 56, 63]
    return [
        {"day": d, "week": d / 7, "add_ml": total_ml / 10, "total_ml": total_ml * (i + 1) / 10}
        for i, d in enumerate(days)
    ]


def _skin_plan() -> dict[str, Any]:
    """The d = 45 mm two-sphere union of tests/reconstruct (test_fill_short_of_the_rule_
    is_said, its numbers at 74b5194) as twin B, beside a twin A like real-ct-vertical's:
    B's counted gain covers its defect with the full over-expansion, but its 280 mL are
    5.94 mL per cm² of its 4,715 mm² defect, under the 7 mL per cm² rule."""
    plan = _staged_plan()
    plan["separation"]["stages"][0]["action"] = "tissue_expander"
    plan["parameters"]["reconstruct"] = {"expanders": {"fill_ml_per_cm2": 7.0}}
    a1 = {"twin": "A", "label": "A1", "code": "R80x160", "nominal_ml": 500.0, "volume_ml": 498.1}
    a2 = {"twin": "A", "label": "A2", "code": "O70", "nominal_ml": 80.0, "volume_ml": 79.8}
    b = [
        {"twin": "B", "label": f"B{i + 1}", "code": c, "nominal_ml": v, "volume_ml": v}
        for i, (c, v) in enumerate((("R60x100", 180.0), ("R40x60", 50.0), ("R40x60", 50.0)))
    ]
    for e, pos in zip(
        [a1, a2, *b], ["occipital", "right frontal", "occipital", "vertex", "left"], strict=True
    ):
        e.update(shape="rectangular", base_mm=[60, 100], gain_mm2=1.0, position=pos)
        e["fills"] = _fills(e["volume_ml"])
    plan["skin"] = {
        "defect_area_mm2": {"A": 5655.0, "B": 4715.0},
        "shortfall_mm2": {"A": 0.0, "B": 0.0},
        "expanders": [a1, a2, *b],
        "twins": {
            "A": {
                "defect_area_mm2": 5655.0,
                "required_gain_mm2": 7917.0,
                "realised_gain_mm2": 7917.0,
                "shortfall_mm2": 0.0,
                "fill_ml_per_cm2": 10.22,
                "covered": True,
            },
            "B": {
                "defect_area_mm2": 4715.0,
                "required_gain_mm2": 6601.0,
                "realised_gain_mm2": 6815.0,
                "shortfall_mm2": 0.0,
                "fill_ml_per_cm2": 5.94,
                "covered": True,
            },
        },
    }
    return plan


def _summary(page: str) -> str:
    return _text(page[page.index('<section id="summary">') : page.index("</section>")])


def test_a_cover_filled_under_the_rule_is_not_said_covered_alone() -> None:
    """Before: "Twin B: covered, 6,815 mm² of skin gain counted for its 4,715 mm² defect."
    and no word of the fill, while plan.json's message said 5.9 mL per cm², under the 7
    (Aya 2014); no twin's fill per cm² was on the page at all."""
    plan = _skin_plan()
    page = render_report(plan, {})
    summary = _summary(page)
    assert (
        "Twin B: covered by the counted gain, but not by the fill , 6,815 mm² of skin gain "
        "counted for its 4,715 mm² defect; its new expanders are filled to 280 mL, 5.9 mL per "
        "cm² of defect: under the 7 mL per cm² below which scalp expansions needed revision "
        "more often (Aya et al. 2014) ." in summary
    ), summary
    # 578 mL over 56.55 cm²: 10.2, above the rule, said as such
    assert (
        "Twin A: covered, 7,917 mm² of skin gain counted for its 5,655 mm² defect; its new "
        "expanders are filled to 578 mL, 10.2 mL per cm² of defect (at least 7 asked, Aya et "
        "al. 2014)." in summary
    ), summary
    # the expander stage's "why" says the same
    note = expander_stage_note(plan, plan["separation"]["stages"][0])
    assert (
        "twin B 6,815 mm² of skin gain counted for a 4,715 mm² defect: covered by the gain, "
        "but filled to only 5.9 mL per cm² of defect, under the 7 mL per cm²" in note
    ), note
    assert "twin A 7,917 mm² of skin gain counted for a 5,655 mm² defect: covered;" in note
    # a fill that rounds to the rule keeps the digit that shows it under
    plan["skin"]["twins"]["B"]["fill_ml_per_cm2"] = 6.97
    assert "6.97 mL per cm² of defect: under the 7 mL" in _summary(render_report(plan, {}))
    # a plan without the rule recorded (an older plan) judges nothing
    del plan["parameters"]["reconstruct"]
    summary = _summary(render_report(plan, {}))
    assert "Twin B: covered, 6,815" in summary and "under the" not in summary


def test_an_expander_reads_as_its_size_and_its_planned_fill() -> None:
    """Before: "twin A 2 (498 mL occipital, 80 mL right frontal)" and one "volume (mL)"
    column of 498 for a 500 mL R80x160 (plan.json nominal_ml 500, volume_ml 498.1, the
    planned fill): no 498 mL expander is sold."""
    page = render_report(_skin_plan(), {})
    assert (
        "New tissue expanders: twin A 2 (500 mL occipital filled to 498 mL, 80 mL right "
        "frontal); twin B 3 (180 mL occipital, 50 mL vertex, 50 mL left)." in _summary(page)
    )
    rows = _table(page, "expanders")
    assert "size, nominal (mL) planned fill (mL)" in rows[0], rows[0]
    assert "A1 R80x160 rectangular 60 × 100 500 498 " in rows[1], rows[1]
    assert 'data-key="skin.expanders.0.nominal_ml" data-value="500.0"' in page


def test_the_planned_day_reads_in_hours_as_on_the_run_sheets_and_the_cli() -> None:
    """Before: "planned 1,234 min (most-likely step times)" on the card and "Planned
    1,234 min ... expect 1,300 min (P50)" under the choreography, while the run sheets
    and the CLI say 20.6 h: the same end read in two units."""
    plan = _staged_plan()
    plan["schedule"]["earlier_operations"] = [
        {"operation": "stage 1: Scalp tissue expander insertion", "stage": 1, "makespan_min": 320},
        {
            "operation": "stage 2: Staged division 1",
            "stage": 2,
            "kind": "division",
            "days_before_separation": 56,
            "makespan_min": 1150,
            "p50_min": 1362.0,
            "p90_min": 1518.0,
        },
    ]
    page = render_report(plan, {})
    assert "planned 1,234 min (20.6 h, most-likely step times)" in _summary(page)
    assert "stage 1 320 min (5.3 h) planned" in _summary(page)
    text = _text(page[page.index('<section id="schedule"') :])
    assert (
        "Planned 1,234 min (20.6 h) with each step's most likely time" in text
        and "expect 1,300 min (21.7 h, P50) and plan for 1,500 min (25.0 h, P90" in text
    ), text[:400]
    assert (
        "Staged division 1, 56 days before the separation (nominal), planned 1,150 min "
        "(19.2 h), P50 1,362 min (22.7 h), P90 1,518 min (25.3 h)." in text
    ), text[:900]


def test_a_plan_given_a_separation_date_shows_the_expanders_dates() -> None:
    """Before: with --separation-date the fills' due dates were in plan.json only; the
    page read as a plan without a date."""
    plan = _skin_plan()
    plan["skin"].update(
        separation_date="2027-03-01",
        insertion_date="2026-12-21",
        insertion_days_before_separation=70,
    )
    for e in plan["skin"]["expanders"]:
        for f, due in zip(e["fills"], ["2026-12-21", "2027-01-04", "2027-02-22"], strict=False):
            f["due"] = due
    plan["schedule"]["earlier_operations"] = [
        {
            "operation": "stage 1: Scalp tissue expander insertion",
            "stage": 1,
            "makespan_min": 320,
            "days_before_separation": 70,
        }
    ]
    page = render_report(plan, {})
    dates = _text(page[page.index('id="expander-dates"') :])[:400]
    assert (
        "Dated from the separation on 2027-03-01 (--separation-date): the new expanders go in "
        "on 2026-12-21 (70 days before), the last fill is due on 2027-02-22" in dates
    ), dates
    assert "move these dates" not in dates
    # a staged plan whose schedule moves the insertion earlier (vertical-II: 105 days)
    plan["schedule"]["earlier_operations"][0]["days_before_separation"] = 105
    dates = _text(render_report(plan, {}).split('id="expander-dates"')[1])[:600]
    assert "(stage 1) 105 days before the separation, not 70: move these dates with it" in dates
    assert 'id="expander-dates"' not in render_report(_skin_plan(), {})


def test_a_template_note_groups_its_digits_as_the_table_beside_it() -> None:
    plan = _staged_plan()
    plan["bone"]["templates"] = [
        {
            "twin": "A",
            "file": "models/A_cranioplasty_A.stl",
            "area_mm2": 11750.0,
            "volume_ml": 36.3,
            "note": "bone defect of twin A (9044 mm²) is larger than 900 mm²",
        }
    ]
    rows = _table(render_report(plan, {}), "templates")
    # before: "(9044 mm²)" beside "11,750"
    assert "(bone defect of twin A (9,044 mm²) is larger than 900 mm²)" in rows[1], rows[1]


@pytest.mark.parametrize(("n", "words"), [(13, "1 more warning in"), (15, "3 more warnings in")])
def test_the_cli_counts_the_warnings_it_leaves_out(
    n: int, words: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: "... and 1 more warnings in plan.json" (the real CT as DICOM, 13 warnings),
    while the report lists every warning under headings."""
    (tmp_path / "report.html").write_text("<html></html>")
    run = SimpleNamespace(
        plan={"warnings": [f"segment: warning {i}" for i in range(n)]},
        out_dir=tmp_path,
        computed=["segment"],
        cached=[],
    )
    buf = io.StringIO()
    monkeypatch.setattr(cli, "out_console", Console(file=buf, width=200))
    cli._print_plan(run)
    assert f"  ... and {words} report.html and plan.json" in buf.getvalue(), buf.getvalue()
