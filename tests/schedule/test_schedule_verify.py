"""The verifier itself: a good schedule passes, each kind of broken schedule is caught."""

from __future__ import annotations

from dataclasses import replace

from twinsep.schedule import verify_schedule
from twinsep.schedule.result import Assignment, Handover


def _with_task(sch, name, **changes):
    tasks = tuple(replace(t, **changes) if t.name == name else t for t in sch.tasks)
    return replace(sch, tasks=tasks)


def _shift(sch, name, minutes):
    t = sch.task(name)
    return _with_task(sch, name, start_min=t.start_min + minutes, end_min=t.end_min + minutes)


def test_good_schedule_passes(default_two_stage):
    team, _, sch = default_two_stage
    check = verify_schedule(sch, team)
    assert check.ok and check.violations == ()


def test_precedence_violation(default_two_stage):
    team, _, sch = default_two_stage
    bad = _shift(sch, "craniotomy A side", -60)
    msgs = verify_schedule(bad, team).violations
    assert any(m.startswith("precedence: 'craniotomy A side'") for m in msgs), msgs


def test_duration_changed(default_two_stage):
    team, _, sch = default_two_stage
    t = sch.task("dural opening")
    bad = _with_task(sch, "dural opening", end_min=t.end_min - 10)
    assert any("lasts" in m for m in verify_schedule(bad, team).violations)


def test_double_booking_and_unqualified_person(default_two_stage):
    team, _, sch = default_two_stage
    a = sch.task("scalp flaps A side")
    b = sch.task("scalp flaps B side")
    assert a.start_min < b.end_min and b.start_min < a.end_min  # they run in parallel
    intruder = a.people[0].person
    people = (Assignment(intruder, "plastic_surgeon"), *b.people[1:])
    msgs = verify_schedule(_with_task(sch, b.name, people=people), team).violations
    assert any("at once" in m for m in msgs), msgs
    assert any("not qualified" in m for m in msgs), msgs  # team A person on twin B's task


def test_understaffed(default_two_stage):
    team, _, sch = default_two_stage
    t = sch.task("dural opening")
    msgs = verify_schedule(_with_task(sch, t.name, people=t.people[1:]), team).violations
    assert any("dural opening' needs" in m for m in msgs), msgs


def test_equipment_capacity(default_two_stage):
    team, _, sch = default_two_stage
    # move 'haemostasis and dural repair B' (1 microscope) into stage 1's division (2 microscopes)
    div = next(t for t in sch.tasks if t.name.startswith("stage 1 division"))
    rep = sch.task("haemostasis and dural repair B")
    bad = _shift(sch, rep.name, div.start_min - rep.start_min)
    msgs = verify_schedule(bad, team).violations
    assert any(m.startswith("equipment: 3 microscope") for m in msgs), msgs
    assert any(m.startswith("table split") for m in msgs), msgs


def test_table_fields(default_two_stage):
    team, _, sch = default_two_stage
    a = sch.task("cranioplasty A")
    rep = sch.task("haemostasis and dural repair A")
    bad = _shift(sch, a.name, rep.start_min - a.start_min)
    msgs = verify_schedule(bad, team).violations
    assert any(m.startswith("table 'table A': 2 fields") for m in msgs), msgs


def test_work_hour_limit(default_two_stage):
    team, _, sch = default_two_stage
    # the first person of the first task also does the last task of the day
    first = sch.tasks[0]
    last = max(sch.tasks, key=lambda t: t.end_min)
    who = first.people[0]
    people = (Assignment(who.person, last.people[0].role), *last.people[1:])
    msgs = verify_schedule(_with_task(sch, last.name, people=people), team).violations
    assert any(m.startswith(f"work-hour limit: {who.person}") for m in msgs), msgs


def test_handover_counts_towards_duty(default_two_stage):
    team, _, sch = default_two_stage
    # a hand-over received 11.5 h before someone's first task breaks their 12 h limit
    late = max(sch.tasks, key=lambda t: t.start_min)
    who = late.people[0].person
    ho = Handover("NS-A1", who, "x", late.start_min - 690, late.start_min - 675, "a", "b")
    bad = replace(sch, handovers=(*sch.handovers, ho))
    msgs = verify_schedule(bad, team).violations
    assert any(m.startswith(f"work-hour limit: {who}") for m in msgs), msgs


def test_missing_task_and_wrong_makespan(default_two_stage):
    team, _, sch = default_two_stage
    bad = replace(sch, tasks=sch.tasks[1:], makespan_min=sch.makespan_min + 5)
    msgs = verify_schedule(bad, team).violations
    assert any("is not scheduled" in m for m in msgs)
    assert any(m.startswith("makespan says") for m in msgs)
