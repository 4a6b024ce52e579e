"""Staged venous division is staged in time: each division but the last is an operation.

Before, every separation stage was a division step of the one separation day
(vertical-II 128: division 1 and 2 about three hours apart) while the stage rationales
promised time for the twins' own venous drainage to develop between them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sched_helpers import FAST

from twinsep.schedule import compile_problem, default_team, solve_schedule, verify_schedule
from twinsep.schedule.export import (
    ExportParams,
    render_csv,
    render_gantt_html,
    render_gantt_svg,
    render_ics,
)
from twinsep.schedule.montecarlo import MonteCarloParams
from twinsep.schedule.stage import (
    ScheduleParams,
    lead_days,
    operation_days,
    order_notes,
    plan_schedule,
)
from twinsep.schedule.template import (
    StageInput,
    division_duration_min,
    division_operation_tasks,
    separation_tasks,
)

PARAMS = ScheduleParams(
    solve=FAST, earlier_time_limit_s=60.0, montecarlo=MonteCarloParams(n_samples=2000)
)
_EXPANDER = StageInput(
    number=1, name="Scalp tissue expander insertion", kind="preparatory", action="tissue_expander"
)
_DISTRACTION = StageInput(
    number=2, name="Cranial distraction", kind="preparatory", action="cranial_distraction"
)
_OCCLUSION = StageInput(
    number=3,
    name="Endovascular occlusion",
    kind="preparatory",
    structures=("vessel-1",),
    action="endovascular_occlusion",
)


def _divisions(first: int, n: int, areas: tuple[float, ...]) -> list[StageInput]:
    return [
        StageInput(
            number=first + k,
            name=f"Venous division {k + 1}" if k < n - 1 else "Final separation",
            kind="separation",
            structures=(f"vessel-{k + 2}",) + (("remaining bridge",) if k == n - 1 else ()),
            area_mm2=areas[k],
        )
        for k in range(n)
    ]


STAGES = [_EXPANDER, *_divisions(2, 3, (1500.0, 2500.0, 6000.0))]


@pytest.fixture(scope="module")
def staged():
    """The schedule of an expander stage and three division stages (default team)."""
    return plan_schedule(STAGES, params=PARAMS, expander_days=70)


def test_operation_days_follow_the_staging() -> None:
    stages = [_EXPANDER, _DISTRACTION, _OCCLUSION, *_divisions(4, 3, (1.0, 1.0, 1.0))]
    # each operation's own lead: divisions 8 weeks apart; distraction and occlusion
    # before the first division (112 days before the final operation); expander from
    # its fills (70 days)
    own = {1: 70, 2: 112 + 42, 3: 112 + 28, 4: 112, 5: 56}
    assert lead_days(stages, PARAMS, expander_days=70) == own
    # the calendar follows the stage numbers: the expander (stage 1) a week before the
    # distraction (stage 2), which is already before the occlusion (stage 3)
    assert operation_days(stages, PARAMS, expander_days=70) == {**own, 1: 154 + 7}
    # no fills known: the expander's nominal 16 weeks, still before stage 2
    assert operation_days(stages, PARAMS)[1] == 161
    # one separation stage: nothing but the preparatory operations is earlier, and the
    # expander's own 16 weeks are before the distraction's 6
    one = [_EXPANDER, _DISTRACTION, *_divisions(3, 1, (1.0,))]
    assert operation_days(one, PARAMS) == {1: 112, 2: 42}


def test_stage_numbers_follow_the_calendar_on_vertical_ii() -> None:
    """The read-through's vertical-II 128 (expander, distraction, two divisions; fills
    to day 63 + 7): 'stage 2: Cranial distraction' was 98 days before the separation and
    'stage 1: Scalp tissue expander insertion' 70."""
    stages = [_EXPANDER, _DISTRACTION, *_divisions(3, 2, (6233.0, 6134.0))]
    days = operation_days(stages, PARAMS, expander_days=70)
    assert days == {1: 98 + 7, 2: 42 + 56, 3: 56}
    numbers = sorted(days, key=lambda n: -days[n])  # earliest first
    assert numbers == [1, 2, 3]
    # said once, with the fills held: the expanders are full 35 days before the usual
    (note,) = order_notes(stages, PARAMS, expander_days=70)
    assert note.startswith("stage 1 (Scalp tissue expander insertion) is dated 105 days")
    assert "7 days before stage 2" in note and "own lead is 70 days" in note
    assert "the expanders are held full 35 days longer" in note
    # the skin plan's dates (plan.json skin) follow the operation's day (they counted
    # from the 70-day lead until session 29: schedule/insertion.py)
    assert "insertion and fill dates follow this day" in note
    # the division steps are named by their stage, as the stage tables name them
    step = [t.name for t in division_operation_tasks(stages[2]) if " division: " in t.name]
    assert step == ["stage 3 division: vessel-2"]
    final = [t.name for t in separation_tasks(stages[3:]) if " division: " in t.name]
    assert final == ["stage 4 division: vessel-3, remaining bridge"]


def test_each_division_but_the_last_is_its_own_earlier_operation(staged) -> None:
    ops = [(o.operation, d) for o, d in zip(staged.earlier, staged.earlier_days, strict=True)]
    # earliest first, in stage order: the expander (own lead 70 days from its fills)
    # a week before division 1 (it fell between division 1 and 2 before)
    assert ops == [
        ("stage 1: Scalp tissue expander insertion", 119),
        ("stage 2: Venous division 1", 112),
        ("stage 3: Venous division 2", 56),
    ]
    assert [s.number for s in staged.earlier_stages] == [1, 2, 3]
    for op, stage, k, reopen in (
        (staged.earlier[1], STAGES[1], 1, False),
        (staged.earlier[2], STAGES[2], 2, True),
    ):
        names = [t.name for t in op.tasks]
        step = [t for t in op.tasks if " division: " in t.name]
        # one division step, named by its stage, sized by this stage's cut area (not
        # split by tissue: the whole of it) and the vessel it divides (most likely)
        assert [t.name for t in step] == [f"stage {stage.number} division: vessel-{k + 1}"]
        assert step[0].duration_min == round(division_duration_min(stage.area_mm2, vessels=1)[1])
        assert step[0].duration_min == round(90 + 6 * stage.area_mm2 / 100 + 30)
        assert ("re-open scalp flaps A side" in names) is reopen
        assert ("scalp flaps A side" in names) is not reopen
        # the heads stay joined: no separation moment, everything on the joint table
        assert not any(t.separation for t in op.tasks)
        assert {t.table for t in op.tasks if t.table} == {"joint"}
        assert "scalp closure A side" in names and "scalp closure B side" in names
        # staffed by twin: twin A's closure by team A or shared people only
        # the team planned (the default team, with more anaesthetists when the relays
        # of the twins' anaesthetists in charge need them: relief.py)
        people = staged.team.model_copy(update={"tasks": (), "continuous": ()})
        team = {p.name: p.team for p in people.people}
        closure_a = next(t for t in op.tasks if t.name == "scalp closure A side")
        assert {team[a.person] for a in closure_a.people} <= {"A", "shared"}
        # re-checked from the output alone: nobody double-booked, limits, equipment
        tasks = division_operation_tasks(stage, reopen=reopen)
        assert verify_schedule(op, people.with_tasks(tasks)).ok
        assert op.makespan_min >= op.lower_bound_min > 0
    assert staged.verified
    # P50/P90 of each division operation (as long as a separation day), none otherwise
    risks = [r for r in staged.earlier_risk if r is not None]
    assert len(risks) == 2 and staged.earlier_risk[0] is None
    for op, r in zip((staged.earlier[1], staged.earlier[2]), risks, strict=True):
        assert r.makespan_p90_min >= r.makespan_p50_min >= 0.9 * op.makespan_min


def test_the_final_operation_holds_only_the_last_division(staged) -> None:
    final = staged.final
    steps = [t.name for t in final.tasks if " division: " in t.name]
    assert steps == ["stage 4 division: vessel-4, remaining bridge"]
    names = {t.name for t in final.tasks}
    assert "re-open scalp flaps B side" in names and "separation moment" in names
    assert verify_schedule(final, staged.team).ok
    # the three steps in one day took longer (what every plan scheduled before; two
    # relays: the default team cannot cover that day within its duty limits)
    one_day = solve_schedule(
        compile_problem(default_team(relays=2).with_tasks(separation_tasks(STAGES[1:]))),
        params=FAST,
    )
    assert final.makespan_min < one_day.makespan_min
    assert staged.risk.makespan_p90_min >= staged.risk.makespan_p50_min >= final.makespan_min * 0.9


def test_one_separation_stage_is_unchanged() -> None:
    stages = [_EXPANDER, *_divisions(2, 1, (4000.0,))]
    result = plan_schedule(stages, params=PARAMS)
    expected = separation_tasks(stages)
    assert sorted(t.name for t in result.final.tasks) == sorted(t.name for t in expected)
    assert [o.operation for o in result.earlier] == ["stage 1: Scalp tissue expander insertion"]
    assert result.earlier_days == (112,)


def test_calendar_and_csv_date_the_division_operations(staged) -> None:
    params = ExportParams(lead_days=staged.earlier_days)
    ops = [*staged.earlier, staged.final]
    rows = list(csv.DictReader(io.StringIO(render_csv(ops, params))))
    by_op = {(r["operation"], r["days_before_separation"]) for r in rows}
    assert ("stage 3: Venous division 2", "56") in by_op
    assert ("stage 2: Venous division 1", "112") in by_op
    ics = render_ics(ops, params).replace("\r\n ", "")
    day, next_day = ((params.start - timedelta(days=d)).strftime("%Y%m%d") for d in (56, 55))
    events = [e for e in ics.split("BEGIN:VEVENT")[1:] if "CATEGORIES:stage 3: Venous" in e]
    # on its day; tasks after midnight (a 20 h operation) on the next
    assert events and f"DTSTART:{day}" in events[0]
    assert all(f"DTSTART:{day}" in e or f"DTSTART:{next_day}" in e for e in events)
    page = render_gantt_html(
        staged.final, params, others=staged.earlier, others_risk=staged.earlier_risk
    )
    row = page[page.index("<td>stage 3: Venous division 2</td>") :].split("</tr>")[0]
    p50 = staged.earlier_risk[2].makespan_p50_min
    # hours to one decimal, as the run sheets, report and CLI write a day's length (the
    # Gantt wrote "22 h 41 min" until 2026-11-28)
    assert "<td>56</td>" in row and f"<td>{p50 / 60:.1f} h</td>" in row
    assert not re.search(r"\d h \d\d min", page + render_gantt_svg(staged.final, params))


def test_the_stage_dates_the_expanders_from_the_plans_fills() -> None:
    from pathlib import Path
    from types import SimpleNamespace

    from twinsep.plan import PlanOptions, StageContext
    from twinsep.schedule.stage import make_stage

    stage = make_stage(["segment", "separate", "reconstruct", "models"])
    assert stage.depends == ("separate", "reconstruct")
    stages = [_EXPANDER, *_divisions(2, 1, (3000.0,))]
    ctx = StageContext(
        PlanOptions(scan_path=Path("ct.nii.gz")),
        results={
            "separate": SimpleNamespace(stages=stages),
            # last fill on day 63 + 7 rest days (reconstruct's own count)
            "reconstruct": SimpleNamespace(expansion_days=70),
        },
    )
    ctx.params, ctx.stage_name = PARAMS, "schedule"
    result = stage.run(ctx)
    assert result.earlier_days == (70,)  # was the nominal 112 whatever the fills
    # no new expanders (expansion_days 0): the nominal lead
    ctx2 = StageContext(
        PlanOptions(scan_path=Path("ct.nii.gz")),
        results={
            "separate": SimpleNamespace(stages=stages),
            "reconstruct": SimpleNamespace(expansion_days=0),
        },
    )
    ctx2.params, ctx2.stage_name = PARAMS, "schedule"
    assert stage.run(ctx2).earlier_days == (112,)


def test_the_default_team_is_listed_as_the_people_on_duty(staged) -> None:
    """Session 28: the default team listed every role code it was given (vertical-II: 56
    listed, 45 on the day); the OR nursing lead books the people on duty in at least one
    operation, in the team's order, and nobody else."""
    from twinsep.schedule.result import on_duty

    booked = set().union(*(on_duty(s, {}) for s in (*staged.earlier, staged.final)))
    listed = [p.name for p in staged.team.people]
    assert set(listed) == booked
    order = [p.name for p in default_team().people if p.name in booked]
    assert [n for n in listed if n in order] == order  # the team's order kept
    # the interventional radiologist of the default team: no endovascular stage here
    assert "IR-1" in {p.name for p in default_team().people} and "IR-1" not in listed


def test_every_operations_run_sheets_open_with_its_planned_p50_and_p90_end(staged) -> None:
    """The expander day too (its P50 / P90 are not in plan.json, which keeps them for
    the division operations): the team reads each day's length on its sheets."""
    from twinsep.schedule.export import day_length_line, render_runsheets_html

    assert len(staged.earlier_day_risk) == len(staged.earlier) == 3
    assert all(r is not None for r in staged.earlier_day_risk)
    page = render_runsheets_html(
        staged.final, earlier=staged.earlier, risk=staged.risk, earlier_risk=staged.earlier_day_risk
    )
    ops = [*staged.earlier, staged.final]
    risks = [*staged.earlier_day_risk, staged.risk]
    for op, r in zip(ops, risks, strict=True):
        line = day_length_line(op, r)
        assert f"({r.makespan_p50_min / 60:.1f} h, P50)" in line
        assert line.replace("'", "&#x27;") in page
    assert page.count('<p class="day">') == 4
