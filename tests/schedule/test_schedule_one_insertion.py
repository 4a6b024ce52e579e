"""One expander-insertion date in every output (session 29).

Before, the schedule dated the expander operation by the stage order (vertical-II: 105
days before the separation, a week before the cranial distraction) while plan.json's
``skin`` section, its fills' due dates and the report counted from the fills' own 70
days: two dates for one event, and the report said "move these dates". The schedule's
day is now the plan's; the fills' count stays as the latest insertion they allow.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sched_helpers import FAST

from twinsep.report.render import expander_dates_note, expander_stage_note
from twinsep.schedule.insertion import skin_on_schedule
from twinsep.schedule.montecarlo import MonteCarloParams
from twinsep.schedule.relief import ReliefParams
from twinsep.schedule.stage import ScheduleParams, make_stage, plan_schedule
from twinsep.schedule.template import StageInput

SEPARATION = date(2027, 3, 1)
#: the distraction 84 days before the one division, so that the stage order moves the
#: expanders (own lead: fills to day 63 + 7 rest = 70) to 84 + 7 = 91 days before; no
#: relief rounds (the dates do not depend on them: a few seconds)
PARAMS = ScheduleParams(
    solve=FAST,
    distraction_lead_days=84,
    montecarlo=MonteCarloParams(n_samples=500),
    relief=ReliefParams(rounds=0),
)
STAGES = [
    StageInput(
        number=1,
        name="Scalp tissue expander insertion",
        kind="preparatory",
        action="tissue_expander",
    ),
    StageInput(
        number=2, name="Cranial distraction", kind="preparatory", action="cranial_distraction"
    ),
    StageInput(
        number=3,
        name="Final separation",
        kind="separation",
        structures=("remaining bridge",),
        area_mm2=2500.0,
    ),
]
FILL_DAYS = [0, 7, 14, 21, 28, 35, 42, 49, 56, 63]


def _skin(own_days: int = 70) -> dict[str, Any]:
    """The reconstruct stage's ``skin`` section with --separation-date: one expander per
    twin, ten weekly fills, dated from the fills' own count."""
    insertion = SEPARATION - timedelta(days=own_days)
    return {
        "defect_area_mm2": {"A": 5000.0, "B": 5000.0},
        "expanders": [
            {
                "twin": t,
                "label": f"{t}1",
                "volume_ml": 400.0,
                "fills": [
                    {
                        "day": d,
                        "week": d / 7,
                        "add_ml": 40.0,
                        "total_ml": 40.0 * (i + 1),
                        "due": (insertion + timedelta(days=d)).isoformat(),
                    }
                    for i, d in enumerate(FILL_DAYS)
                ],
            }
            for t in "AB"
        ],
        "twins": {},
        "expansion_weeks": 9.0,
        "insertion_days_before_separation": own_days,
        "separation_date": SEPARATION.isoformat(),
        "insertion_date": insertion.isoformat(),
        "shortfall_mm2": {"A": 0.0, "B": 0.0},
        "messages": [],
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    """The stage's result and the plan.json sections and files it writes."""
    result = plan_schedule(STAGES, params=PARAMS, expander_days=70)
    out = tmp_path_factory.mktemp("one_insertion")
    ctx = SimpleNamespace(
        options=SimpleNamespace(
            colour_a="#7B3FA0",
            colour_b="#F28C28",
            case="case",
            separation_date=SEPARATION.isoformat(),
        ),
        params=PARAMS,
        sections={"skin": _skin()},
    )
    sections = make_stage(["separate", "reconstruct"]).write(result, ctx, out)
    return result, sections, out


def test_every_output_gives_the_schedules_insertion_day(written) -> None:
    result, sections, out = written
    days = 91  # the stage order: a week before the distraction's 84
    insertion = SEPARATION - timedelta(days=days)
    ops = sections["schedule"]["earlier_operations"]
    assert [(o["stage"], o["days_before_separation"]) for o in ops] == [(1, days), (2, 84)]
    # plan.json skin: the same day and date, the fills counted from it; the fills' own
    # count kept as the latest insertion they allow (before: 70 and 2026-12-21)
    skin = sections["skin"]
    assert skin["insertion_days_before_separation"] == days
    assert skin["latest_insertion_days_before_separation"] == 70
    assert skin["insertion_date"] == insertion.isoformat() == "2026-11-30"
    for e in skin["expanders"]:
        assert [f["due"] for f in e["fills"]] == [
            (insertion + timedelta(days=d)).isoformat() for d in FILL_DAYS
        ]
    # the last fill 28 days before the separation (the expanders held full 21 days more)
    assert skin["expanders"][0]["fills"][-1]["due"] == "2027-02-01"
    # schedule.csv: every row of the expander operation on that day
    rows = list(csv.DictReader(io.StringIO((out / "schedule.csv").read_text())))
    mine = {r["days_before_separation"] for r in rows if r["operation"].startswith("stage 1:")}
    assert mine == {str(days)}
    # schedule.ics: the expander operation's events on that date
    ics = (out / "schedule.ics").read_bytes().decode().replace("\r\n ", "")
    events = [e for e in ics.split("BEGIN:VEVENT")[1:] if "CATEGORIES:stage 1: Scalp" in e]
    assert events and all(f"DTSTART:{insertion:%Y%m%d}" in e for e in events)
    # gantt.html's table of earlier operations; the run sheets' first line (UXA, fabc7f7)
    gantt = (out / "gantt.html").read_text()
    row = gantt[gantt.index("<td>stage 1: Scalp tissue expander insertion</td>") :]
    assert row.split("</tr>")[0].split("</td>")[1] == f"<td>{days}"
    sheets = (out / "runsheets.html").read_text()
    assert f"D1 is 2026-11-30 ({days} days before the separation). Planned D1" in sheets
    # the report: the same date and day, no "move these dates"; the fills' latest day
    plan = {
        "skin": skin,
        "schedule": sections["schedule"],
        "separation": {"stages": [{"number": 1, "name": STAGES[0].name, "kind": "preparatory"}]},
    }
    note = expander_dates_note(plan)
    assert note.startswith(
        "Dated from the separation on 2027-03-01 (--separation-date): the new expanders go "
        "in on 2026-11-30 (91 days before, the day of the expanders' operation in the "
        "schedule; the fills alone allow up to 70 days before), the last fill is due on "
        "2027-02-01"
    ), note
    assert "move these dates" not in note
    stage_note = expander_stage_note(plan, plan["separation"]["stages"][0])
    assert "inserted 91 days before the separation operation, the last fill 28 days" in stage_note
    # the warning says the dates follow the operation (it said: move them)
    (order,) = [n for n in result.notes if n.startswith("stage 1 (")]
    assert "dated 91 days before the separation" in order and "own lead is 70 days" in order
    assert "the skin plan's insertion and fill dates follow this day" in order


def test_skin_is_left_as_counted_without_an_expander_operation() -> None:
    # no expander stage in the schedule: the fills' count is the plan's day and the latest
    skin = skin_on_schedule(_skin(), None)
    assert skin is not None
    assert (
        skin["insertion_days_before_separation"]
        == skin["latest_insertion_days_before_separation"]
        == 70
    )
    assert skin["insertion_date"] == _skin()["insertion_date"]
    assert skin["expanders"] == _skin()["expanders"]
    # no new expanders: nothing to date
    assert skin_on_schedule({**_skin(), "insertion_days_before_separation": None}, 91) is None
    assert skin_on_schedule(None, 91) is None
    # dated twice (a re-run): the fills' own count is kept
    again = skin_on_schedule(skin_on_schedule(_skin(), 91), 98)
    assert again is not None and again["latest_insertion_days_before_separation"] == 70
    assert again["insertion_date"] == (SEPARATION - timedelta(days=98)).isoformat()
    # without --separation-date: the days only
    undated = {**_skin(), "separation_date": None, "insertion_date": None}
    for e in undated["expanders"]:
        for f in e["fills"]:
            del f["due"]
    plain = skin_on_schedule(undated, 91)
    assert plain is not None and plain["insertion_date"] is None
    assert plain["insertion_days_before_separation"] == 91
    assert all("due" not in f for e in plain["expanders"] for f in e["fills"])
