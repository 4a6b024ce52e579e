"""Preparatory operations get their own calendar days, weeks before the separation.

Before, ``schedule.ics`` put the expander insertion, the distraction and the separation
all on the nominal day 2000-01-03 from 07:30, the same people in three operations at
once, and the CSV could not tell their days apart.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sched_helpers import FAST

from twinsep.schedule import compile_problem, default_team, solve_schedule
from twinsep.schedule.export import (
    ExportParams,
    days_before_separation,
    render_csv,
    render_gantt_html,
    render_ics,
)
from twinsep.schedule.result import Schedule
from twinsep.schedule.stage import ScheduleParams, earlier_lead_days, long_day_note
from twinsep.schedule.template import StageInput, preparatory_tasks, stage_inputs

_EXPANDER = StageInput(
    number=1,
    name="Scalp tissue expander insertion",
    kind="preparatory",
    structures=("scalp",),
    action="tissue_expander",
)
_DISTRACTION = StageInput(
    number=2,
    name="Cranial distraction",
    kind="preparatory",
    structures=("calvaria",),
    rationale="Gradual distraction (about 1 mm a day for a month)",
    action="cranial_distraction",
)


@pytest.fixture(scope="module")
def expander_operation() -> Schedule:
    """The expander insertion as the schedule stage solves it (default team)."""
    team = default_team().with_tasks(preparatory_tasks(_EXPANDER))
    return solve_schedule(compile_problem(team), params=FAST, operation="stage 1: expanders")


def _event_dates(ics: str, operation: str) -> set[date]:
    """DTSTART dates of the events whose CATEGORIES start with this operation."""
    text = ics.replace("\r\n ", "")
    out = set()
    for ev in text.split("BEGIN:VEVENT")[1:]:
        cat = re.search(r"CATEGORIES:(.*)", ev)
        start = re.search(r"DTSTART:(\d{8})", ev)
        assert cat and start
        if cat.group(1).startswith(operation):
            s = start.group(1)
            out.add(date(int(s[:4]), int(s[4:6]), int(s[6:])))
    return out


def test_days_before_separation_keep_the_order_and_a_week_apart() -> None:
    assert days_before_separation(3, ExportParams(lead_days=(112, 42))) == [112, 42, 0]
    # a later stage with the longer lead: the earlier stage moves a week before it
    assert days_before_separation(3, ExportParams(lead_days=(42, 112))) == [119, 112, 0]
    assert days_before_separation(3, ExportParams()) == [14, 7, 0]  # never one day
    assert days_before_separation(1, ExportParams(lead_days=(30,))) == [0]


def test_lead_days_follow_each_preparatory_action() -> None:
    params = ScheduleParams()
    sep = StageInput(number=3, name="Final separation", kind="separation")
    assert earlier_lead_days([_EXPANDER, _DISTRACTION, sep], params) == (112, 42)
    occl = StageInput(number=1, name="endovascular occlusion of the SSS", kind="preparatory")
    assert earlier_lead_days(stage_inputs([occl]), params) == (28,)


def test_the_calendar_puts_each_operation_on_its_own_day(
    default_two_stage, expander_operation
) -> None:
    _, _, final = default_two_stage
    params = ExportParams(lead_days=(112,))
    ics = render_ics([expander_operation, final], params)
    sep_days = _event_dates(ics, "separation")
    exp_days = _event_dates(ics, "stage 1: expanders")
    day0 = params.start.date()
    assert min(sep_days) == day0
    # the expander operation is 16 weeks earlier (it was on the separation day)
    assert exp_days == {day0 - timedelta(days=112)}
    rows = list(csv.DictReader(io.StringIO(render_csv([expander_operation, final], params))))
    by_op = {(r["operation"], r["days_before_separation"]) for r in rows}
    assert by_op == {("stage 1: expanders", "112"), ("separation", "0")}
    page = render_gantt_html(final, params, others=[expander_operation])
    assert "<th>days before the separation</th>" in page and "<td>112</td>" in page


def test_case_colours_are_not_named_with_the_default_colours(default_two_stage) -> None:
    _, _, final = default_two_stage
    default = render_ics([final])
    assert "COLOR:purple" in default and "COLOR:orange" in default
    # a green / purple team (CHOP): twin B's purple must not be called twin A's colour
    chop = render_ics([final], ExportParams(colour_a="#00A651", colour_b="#7B3FA0"))
    assert "COLOR:purple" not in chop and "COLOR:orange" not in chop
    assert "COLOR:slategray" in chop  # joint work keeps its neutral name


def test_a_day_whose_p50_exceeds_the_longest_reported_operation_is_warned() -> None:
    # vertical-II 128: planned 1435 min, P50 1677 min, P90 1800 min (no warning before)
    note = long_day_note(1435, 1677.41, 1800.5, longest_reported_h=27.0)
    assert note is not None
    assert "planned at 23.9 h" in note and "28.0 h (P50) to 30.0 h (P90)" in note
    # real-ct-vertical: planned 1165, P50 1377 min (23.0 h): no warning
    assert long_day_note(1165, 1377.05, 1480.12, longest_reported_h=27.0) is None
    # a most-likely day alone over the limit still warns
    assert long_day_note(1700, 1690, 1800, longest_reported_h=27.0) is not None
