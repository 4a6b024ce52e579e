"""Random small instances: whatever the schedulers return passes the verifier."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sched_helpers import FAST, person, small_team

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule import compile_problem, greedy_schedule, solve_schedule, verify_schedule
from twinsep.schedule.team import Task

SKILLS = ("neurosurgeon", "anaesthetist", "scrub_nurse")


@st.composite
def instances(draw):
    # one or two people of every skill in every team; limits and hand-overs vary
    people = [
        person(
            f"{skill[:2].upper()}-{team}{k}",
            skill,
            team,
            hours=draw(st.sampled_from([2.0, 3.0, 6.0, 12.0])),
            ho=draw(st.sampled_from([0, 10, 20])),
        )
        for skill in SKILLS
        for team in ("A", "B", "shared")
        for k in range(draw(st.integers(1, 2)))
    ]
    tasks = []
    for i in range(draw(st.integers(1, 8))):
        preds = draw(st.lists(st.integers(0, i - 1), max_size=2, unique=True)) if i else []
        skill = draw(st.sampled_from(SKILLS))
        lo = draw(st.integers(5, 60))
        tasks.append(
            Task(
                name=f"t{i}",
                duration_min=(lo, lo + draw(st.integers(0, 30)), lo + 60),
                needs={skill: draw(st.integers(1, 2))},
                equipment={"microscope": 1} if draw(st.booleans()) else {},
                twin=draw(st.sampled_from(["A", "B", "both"])),
                table=draw(st.sampled_from([None, "joint"])),
                after=tuple(f"t{p}" for p in preds),
            )
        )
    return small_team(people, tasks, {"microscope": draw(st.integers(1, 2))})


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(instances())
def test_greedy_schedules_always_verify(team):
    try:
        problem = compile_problem(team)
        sch = greedy_schedule(problem)
    except InfeasibleScheduleError:
        assume(False)
        return
    check = verify_schedule(sch, team)
    assert check.ok, check.violations
    assert sch.makespan_min >= problem.critical_path_bound_min()


@pytest.mark.parametrize("seed", range(6))
def test_cp_sat_schedules_verify_and_beat_greedy(seed):
    team = _fixed_instance(seed)
    problem = compile_problem(team)
    try:
        greedy = greedy_schedule(problem)
    except InfeasibleScheduleError:
        greedy = None
    sch = solve_schedule(problem, params=FAST)
    assert verify_schedule(sch, team).ok
    if greedy is not None:
        assert sch.makespan_min <= greedy.makespan_min


def _fixed_instance(seed: int):
    """Deterministic small instances (hypothesis' example() is not for tests)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    # every skill in every team: 9 people, skill i % 3, team i // 3
    people = [
        person(f"P{i}", SKILLS[i % 3], ["A", "B", "shared"][i // 3], hours=12.0, ho=10)
        for i in range(9)
    ]
    tasks = []
    for i in range(10):
        preds = sorted({int(p) for p in rng.integers(0, i, 2)}) if i else []
        lo = int(rng.integers(10, 60))
        tasks.append(
            Task(
                name=f"t{i}",
                duration_min=(lo, lo + 10, lo + 40),
                needs={SKILLS[int(rng.integers(0, 3))]: 1},
                equipment={"microscope": 1} if rng.random() < 0.5 else {},
                twin=["A", "B", "both"][int(rng.integers(0, 3))],
                after=tuple(f"t{p}" for p in preds),
            )
        )
    return small_team(people, tasks, {"microscope": 1})
