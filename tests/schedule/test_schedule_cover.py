"""An anaesthetised twin is never without its anaesthetist (continuous roles).

Each twin's anaesthesia runs from the start of its induction to the end of its transfer
out; at every minute of that window one anaesthetist of the twin's team (or shared) is
in charge of it, in relays with explicit hand-overs, and does nothing else meanwhile.
The coverage is recomputed here from the schedule's rows alone, minute by minute.
"""

from __future__ import annotations

import dataclasses

import pytest
from sched_helpers import FAST, sep_stages

from twinsep.errors import ConfigError
from twinsep.schedule import (
    compile_problem,
    default_team,
    greedy_schedule,
    separation_tasks,
    solve_schedule,
    verify_schedule,
)
from twinsep.schedule.result import Schedule
from twinsep.schedule.team import Team, parse_team, team_to_yaml
from twinsep.schedule.template import (
    StageInput,
    anaesthesia_covers,
    division_operation_tasks,
    preparatory_tasks,
)


def _uncovered(schedule: Schedule, team: Team, twin: str) -> list[int]:
    """Minutes from the start of twin's induction to the end of its transfer out at
    which no anaesthetist of its team (or shared) is with it: in charge of it (a
    ``cover`` row) or in one of its tasks, and in no task but as its anaesthetist."""
    first = schedule.task(f"induction and lines {twin}").start_min
    last = max(
        t.end_min for t in schedule.tasks if t.phase == "transfer" and t.twin in (twin, "both")
    )
    shifts = [s for s in getattr(schedule, "cover", ()) if s.twin == twin]
    own_roles = {"anaesthetist", f"anaesthetist@{twin}"}
    out = []
    for m in range(first, last):
        covered = False
        for p in team.people:
            if "anaesthetist" not in p.skills or p.team not in (twin, "shared"):
                continue
            roles = {
                (t.twin, a.role)
                for t in schedule.tasks
                if t.start_min <= m < t.end_min
                for a in t.people
                if a.person == p.name
            }
            with_twin = all(tw in (twin, "both") and r in own_roles for tw, r in roles)
            charge = any(s.person == p.name and s.start_min <= m < s.end_min for s in shifts)
            if with_twin and (charge or roles):
                covered = True
                break
        if not covered:
            out.append(m)
    return out


def test_default_day_keeps_each_twin_anaesthetised_with_its_anaesthetist(default_two_stage):
    team, _problem, sch = default_two_stage
    assert verify_schedule(sch, team).ok
    for twin in ("A", "B"):
        assert _uncovered(sch, team, twin) == [], f"twin {twin} left without anaesthetist"
        shifts = [s for s in sch.cover if s.twin == twin]
        # the window is longer than one 12-hour duty: relays, each with its hand-over
        assert len(shifts) >= 2
        for one, two in zip(shifts, shifts[1:], strict=False):
            assert one.end_min == two.start_min
            assert any(
                h.from_person == one.person
                and h.to_person == two.person
                and h.start_min == one.end_min
                for h in sch.handovers
            )
        assert all(team.person(s.person).team in (twin, "shared") for s in shifts)


def test_verify_rejects_a_twin_left_without_its_anaesthetist(default_two_stage):
    team, _problem, sch = default_two_stage
    bare = dataclasses.replace(sch, cover=())
    msgs = verify_schedule(bare, team).violations
    # the cover opens at the briefing before the induction (its anaesthetist attends it)
    briefing = sch.task("team briefing and time-out").start_min
    transfer = sch.task("dressing and transfer to ICU A").end_min
    assert (
        f"twin A is without its anaesthetist in charge from minute {briefing} to {transfer}" in msgs
    )
    # a 10-minute gap between two relays is named with its minutes
    a_shifts = [s for s in sch.cover if s.twin == "A"]
    cut = dataclasses.replace(a_shifts[0], end_min=a_shifts[0].end_min - 10)
    gap = dataclasses.replace(sch, cover=tuple(cut if s == a_shifts[0] else s for s in sch.cover))
    msgs = verify_schedule(gap, team).violations
    end = a_shifts[0].end_min
    assert f"twin A is without its anaesthetist in charge from minute {end - 10} to {end}" in msgs


def test_verify_rejects_the_anaesthetist_in_charge_given_other_work(default_two_stage):
    team, _problem, sch = default_two_stage
    shift = next(s for s in sch.cover if s.twin == "B")
    # a B task inside the shift staffed by another anaesthetist instead of the one in
    # charge, who must be there
    inside = next(
        t
        for t in sch.tasks
        if t.twin == "B"
        and shift.start_min <= t.start_min
        and t.end_min <= shift.end_min
        and shift.person in t.person_names
    )
    stranger = next(
        p.name
        for p in team.people
        if p.team == "B" and "anaesthetist" in p.skills and p.name not in inside.person_names
    )
    swapped = dataclasses.replace(
        inside,
        people=tuple(
            dataclasses.replace(a, person=stranger) if a.person == shift.person else a
            for a in inside.people
        ),
    )
    bad = dataclasses.replace(sch, tasks=tuple(swapped if t is inside else t for t in sch.tasks))
    msgs = verify_schedule(bad, team).violations
    assert (
        f"{inside.name!r} needs twin B's anaesthetist in charge, {shift.person} (minute "
        f"{shift.start_min} to {shift.end_min}), who is not on it" in msgs
    )
    # the same person also put in charge of the other twin: unqualified, and two twins
    other = dataclasses.replace(shift, twin="A")
    msgs = verify_schedule(dataclasses.replace(sch, cover=(*sch.cover, other)), team).violations
    assert any("is not qualified to be in charge of twin A" in m for m in msgs), msgs
    assert any(f"{shift.person} is in charge of twin" in m for m in msgs), msgs
    # the one in charge of B given a task of twin A
    task_a = next(
        t for t in sch.tasks if t.twin == "A" and shift.start_min <= t.start_min < shift.end_min
    )
    given = dataclasses.replace(
        task_a,
        people=(*task_a.people[:-1], dataclasses.replace(task_a.people[-1], person=shift.person)),
    )
    bad = dataclasses.replace(sch, tasks=tuple(given if t is task_a else t for t in sch.tasks))
    msgs = verify_schedule(bad, team).violations
    assert any(
        m.startswith(f"{shift.person}, in charge of twin B") and repr(task_a.name) in m
        for m in msgs
    ), msgs


def test_verify_rejects_a_relay_without_its_handover(default_two_stage):
    team, _problem, sch = default_two_stage
    a_shifts = [s for s in sch.cover if s.twin == "A"]
    one, two = a_shifts[0], a_shifts[1]
    kept = tuple(
        h for h in sch.handovers if not (h.from_person == one.person and h.to_person == two.person)
    )
    msgs = verify_schedule(dataclasses.replace(sch, handovers=kept), team).violations
    assert any("without a hand-over row" in m for m in msgs), msgs


@pytest.mark.parametrize(
    "tasks",
    [
        separation_tasks(sep_stages(1)),
        division_operation_tasks(sep_stages(2)[0]),
        preparatory_tasks(
            StageInput(number=1, kind="preparatory", name="tissue expander insertion")
        ),
    ],
    ids=["final", "division", "preparatory"],
)
def test_greedy_and_cpsat_cover_every_operation(tasks):
    team = default_team().with_tasks(tasks, anaesthesia_covers(tasks))
    assert {c.twin for c in team.continuous} == {"A", "B"}
    problem = compile_problem(team)
    for sch in (greedy_schedule(problem), solve_schedule(problem, params=FAST)):
        assert verify_schedule(sch, team).ok, verify_schedule(sch, team).violations[:3]
        for twin in ("A", "B"):
            assert _uncovered(sch, team, twin) == []


def test_continuous_section_round_trips_and_names_unknown_tasks():
    tasks = separation_tasks(sep_stages(1))
    team = default_team().with_tasks(tasks, anaesthesia_covers(tasks))
    text = team_to_yaml(team)
    assert parse_team(text).continuous == team.continuous
    bad = text.replace("until: dressing and transfer to ICU B", "until: no such task")
    with pytest.raises(ConfigError, match=r"line \d+, field continuous\[1\]\.until: unknown task"):
        parse_team(bad)


def test_own_tasks_without_continuous_section_are_warned_about():
    from twinsep.schedule.stage import ScheduleParams, plan_schedule

    tasks = separation_tasks(sep_stages(1))
    params = ScheduleParams(solve=FAST)
    bare = plan_schedule(sep_stages(1), default_team().with_tasks(tasks), params=params)
    assert bare.final.cover == ()
    assert any("without a continuous section" in n for n in bare.notes)
    covered = default_team().with_tasks(tasks, anaesthesia_covers(tasks))
    done = plan_schedule(sep_stages(1), covered, params=params)
    assert not any("continuous section" in n for n in done.notes)
    assert {c.twin for c in done.final.cover} == {"A", "B"}
