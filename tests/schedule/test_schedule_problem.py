"""Pre-checks: infeasible and cyclic inputs give errors that name the constraint."""

from __future__ import annotations

import pytest
from sched_helpers import FAST, person, small_team

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule import compile_problem, solve_schedule
from twinsep.schedule.team import Task


def T(name, dur=60, needs=None, **kw):  # noqa: N802 - short task constructor
    return Task(name=name, duration_min=dur, needs=needs or {}, **kw)


def test_cycle_is_listed():
    tasks = [
        T("a", after=("c",)),
        T("b", after=("a",)),
        T("c", after=("b",)),
        T("d"),
    ]
    with pytest.raises(InfeasibleScheduleError) as info:
        compile_problem(small_team([person("N1", "neurosurgeon")], tasks))
    msg = str(info.value)
    assert "cycle" in msg
    for name in ("'a'", "'b'", "'c'"):
        assert name in msg
    assert "'d'" not in msg


def test_skill_shortfall_names_task_skill_and_count():
    tasks = [T("sinus division 2", needs={"neurosurgeon": 2})]
    with pytest.raises(InfeasibleScheduleError) as info:
        compile_problem(small_team([person("N1", "neurosurgeon")], tasks))
    assert str(info.value) == "task 'sinus division 2' needs 2 neurosurgeons, team has 1"


def test_team_scope_counts_only_own_team_and_shared():
    # twin A's task cannot use team B's anaesthetist
    tasks = [T("induction A", needs={"anaesthetist": 2}, twin="A")]
    team = small_team(
        [person("AN-A1", "anaesthetist", "A"), person("AN-B1", "anaesthetist", "B")], tasks
    )
    with pytest.raises(
        InfeasibleScheduleError, match="needs 2 anaesthetists of team A or shared, team has 1"
    ):
        compile_problem(team)


def test_equipment_and_table_shortfall():
    with pytest.raises(InfeasibleScheduleError, match="needs 3 microscope, equipment has 2"):
        compile_problem(
            small_team(
                [person("N1", "neurosurgeon")],
                [T("x", equipment={"microscope": 3})],
                {"microscope": 2},
            )
        )
    with pytest.raises(InfeasibleScheduleError, match="2 surgical fields of table 'table A'"):
        compile_problem(
            small_team([person("N1", "neurosurgeon")], [T("x", table="table A", fields=2)])
        )


def test_task_longer_than_every_work_limit():
    tasks = [T("marathon", dur=600, needs={"neurosurgeon": 1})]
    team = small_team([person("N1", "neurosurgeon", hours=8)], tasks)
    with pytest.raises(InfeasibleScheduleError, match="lasts 600 min; only 0 of 1 neurosurgeons"):
        compile_problem(team)


def test_table_split_order_is_checked():
    tasks = [
        T("separation moment", table="joint", separation=True),
        T("late joint work", table="joint", after=("separation moment",)),
    ]
    with pytest.raises(InfeasibleScheduleError, match="joint table but comes after the separation"):
        compile_problem(small_team([person("N1", "neurosurgeon")], tasks))
    tasks = [
        T("early A work", table="table A"),
        T("separation moment", table="joint", separation=True, after=("early A work",)),
    ]
    with pytest.raises(InfeasibleScheduleError, match="twin table but must finish before"):
        compile_problem(small_team([person("N1", "neurosurgeon")], tasks))


def test_work_limits_that_cannot_be_met_are_named():
    # five hours of consecutive work, one surgeon allowed 2 h: every task alone fits,
    # the chain does not; the solver proves it and the message names the work limits.
    tasks = [
        T(f"step {i}", needs={"neurosurgeon": 1}, after=(f"step {i - 1}",) if i else ())
        for i in range(5)
    ]
    team = small_team([person("N1", "neurosurgeon", hours=2)], tasks)
    with pytest.raises(InfeasibleScheduleError, match="continuous-work limits cannot be met"):
        solve_schedule(compile_problem(team), params=FAST)
