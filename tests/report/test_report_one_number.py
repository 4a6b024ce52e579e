"""One quantity, one way of writing it, in every output a user reads (session 29).

Found on CLI plans of the built-in demo, ``real-ct-vertical`` and the real CT written as
DICOM with a patient name (docs/DECISIONS.md, "One number, one way"); each test fails on
the report before that read-through. Synthetic plan documents, no plan run.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from test_report_read_through import _staged_plan, _table, _text

from twinsep import cli
from twinsep.report.render import render_report, shared_sinus_words


def test_a_vessel_reads_in_whole_mm_in_the_table_and_on_the_card() -> None:
    """Before: vertical-II's vessel-1 read "2 mm" in the warnings and the stage text,
    "1.9" in the crossings table and "1.9 mm across" on the shared-sinus card."""
    plan = _staged_plan()  # vessel-1 1.9 mm, vessel-2 3.1 mm
    page = render_report(plan, {})
    rows = _table(page, "crossings")
    assert "diameter (mm)" in rows[0]
    assert " 2 " in rows[1] and "1.9" not in rows[1], rows[1]
    assert " 3 " in rows[2] and "3.1" not in rows[2], rows[2]
    # the measured value stays in data-value for a reader who checks plan.json
    assert 'data-key="separation.vessel_crossings.0.diameter_mm" data-value="1.9"' in page
    _, card = shared_sinus_words(plan)
    assert "the widest 3 mm across" in card, card
    assert "whole millimetres" in _text(page[page.index('id="crossings-note"') :])[:400]


def test_the_cli_names_every_operation_day(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the summary said "operation: planned 23.5 h ..." for the separation alone;
    vertical-II's staged division, a day of 19.2 h (P90 25.3 h) 56 days before it, and
    its expander and distraction days were in the report only."""
    s = {
        "makespan_min": 1411,
        "p50_min": 1662.0,
        "p90_min": 1825.0,
        "earlier_operations": [
            {
                "operation": "stage 1: Scalp tissue expander insertion",
                "stage": 1,
                "days_before_separation": 105,
                "makespan_min": 320,
                "p50_min": None,
                "p90_min": None,
            },
            {
                "operation": "stage 3: Staged division 1",
                "stage": 3,
                "days_before_separation": 56,
                "makespan_min": 1150,
                "p50_min": 1361.51,
                "p90_min": 1517.91,
            },
        ],
    }
    run = SimpleNamespace(plan={"schedule": s}, out_dir=tmp_path, computed=[], cached=[])
    buf = io.StringIO()
    monkeypatch.setattr(cli, "out_console", Console(file=buf, width=300))
    cli._print_plan(run)
    out = buf.getvalue()
    assert "operation: planned 23.5 h (most-likely steps), P50 27.7 h, P90 30.4 h" in out
    assert (
        "earlier operations, each on its own day: stage 1: Scalp tissue expander insertion "
        "planned 5.3 h, 105 days before; stage 3: Staged division 1 planned 19.2 h, P50 "
        "22.7 h, P90 25.3 h, 56 days before" in out
    ), out
    # with --separation-date, the days as schedule.ics dates them
    run.plan["options"] = {"separation_date": "2027-03-01"}
    buf.seek(0)
    buf.truncate()
    cli._print_plan(run)
    out = buf.getvalue()
    assert "operation on 2027-03-01: planned 23.5 h (most-likely steps)" in out, out
    assert "planned 5.3 h, 105 days before: 2026-11-16; stage 3" in out, out
    assert "56 days before: 2027-01-04" in out, out


def test_an_angle_and_an_area_read_alike_on_the_card_and_in_the_tables() -> None:
    """Before: the summary card said "axial rotation 31°, long-axis angle 167°" and the
    fusion table 30.9° and 166.7° (the real CT); vertical-II's card "brain contact 6,660
    mm²" and its finding "in contact ... over 6660 mm²". The twins' axes are known to a
    degree or more (the blind benches' axis errors in README), so whole degrees."""
    plan = _staged_plan()
    plan["shared"]["notes"] = ["brains of the two twins in contact over 6660 mm²"]
    page = render_report(plan, {})
    for key in ("fusion.rotation_deg", "fusion.axis_angle_deg"):
        shown = re.findall(rf'data-key="{key}"[^>]*>([^<]*)</span>', page)
        assert len(shown) == 2 and len(set(shown)) == 1, (key, shown)
    assert "in contact over 6,660 mm²" in _text(page)


def test_the_choreography_dates_each_operation_as_the_calendar_does() -> None:
    """Before: with --separation-date, schedule.ics put the expander insertion on
    2026-12-21 and the page said "70 days before the separation (nominal)" only."""
    plan = _staged_plan()
    plan["options"] = {"separation_date": "2027-03-01"}
    plan["schedule"]["earlier_operations"] = [
        {
            "operation": "stage 1: Scalp tissue expander insertion",
            "stage": 1,
            "days_before_separation": 70,
            "makespan_min": 320,
        }
    ]
    text = _text(render_report(plan, {}).split('<section id="schedule"')[1])[:900]
    assert "The separation operation is on 2027-03-01 (--separation-date)" in text, text
    assert "70 days before the separation (nominal): 2026-12-21, planned 320 min" in text, text
    del plan["options"]
    text = _text(render_report(plan, {}).split('<section id="schedule"')[1])[:900]
    assert "separation operation is on" not in text
    assert "70 days before the separation (nominal), planned 320 min" in text, text


def test_the_cli_says_the_veins_are_not_seen_as_the_card_does() -> None:
    """Before: on the real CT (no contrast) the card said "bleeding risk high in no stage
    / the scan shows no veins" and the CLI summary nothing of either."""
    unseen = {"twins": {}, "high_risk_stages": [], "vessels_visible": False}
    assert cli._blood_lines(unseen) == [
        "bleeding risk high in no stage, but the scan shows no veins (a CT without "
        "contrast): which vessels each cut divides is not known"
    ]
    assert cli._blood_lines({**unseen, "vessels_visible": True}) == []
    assert cli._blood_lines({**unseen, "high_risk_stages": [2]}) == [
        "bleeding risk high in stage 2"
    ]
