"""How each CP-SAT search ended, and that the wall-clock limit does not shape the schedule.

The schedule must not depend on the machine's load: with one worker and a fixed seed,
CP-SAT's result is a function of the model and the *deterministic* budget, as long as
the wall-clock limit (a backstop) is not reached. At load 18 on 2 cores the final
operation's balancing phase once stopped at 10 s before its budget and gave another
schedule (2026-11-27); the limit is now 60 s and ``Schedule.search_end`` records which
of proof, deterministic budget or wall clock ended each phase.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from ortools.sat.python import cp_model
from sched_helpers import FAST

from twinsep.schedule import SolveParams, solve_schedule
from twinsep.schedule.solve import SEARCH_ENDS, search_end


@pytest.mark.parametrize(
    ("status", "det", "budget", "expected"),
    [
        (cp_model.OPTIMAL, 0.01, 1.0, "proof"),
        (cp_model.OPTIMAL, 1.0, 1.0, "proof"),  # proved at the last unit: still a proof
        (cp_model.INFEASIBLE, 0.2, 1.0, "proof"),
        (cp_model.FEASIBLE, 0.1, 0.1, "deterministic limit"),
        (cp_model.FEASIBLE, 0.1000001, 0.1, "deterministic limit"),
        (cp_model.FEASIBLE, 0.0768, 0.1, "wall-clock limit"),  # the load-18 run's phase 2
        (cp_model.UNKNOWN, 0.3, 1.0, "wall-clock limit"),
        (cp_model.UNKNOWN, 1.0, 1.0, "deterministic limit"),
    ],
)
def test_search_end_classifies(status, det, budget, expected):
    assert search_end(status, det, budget) == expected
    assert expected in SEARCH_ENDS


def test_defaults_keep_the_wall_clock_a_far_backstop():
    # the separation day's default budget: every plan solve ended by proof or budget in
    # <= 0.5 s idle; the wall limit must leave ~100x that even for the balancing phase
    p = SolveParams()
    assert p.num_workers == 1
    assert p.time_limit_s * p.balance_fraction >= 10.0
    assert p.time_limit_s * (1 - p.balance_fraction) >= 10.0


def test_wall_limit_does_not_change_a_budget_ended_schedule(default_two_stage):
    """Two wall limits 100x apart, the same deterministic budgets: the same schedule,
    and both phases recorded as ended by proof or by the budget (not the clock)."""
    _team, problem, _ = default_two_stage
    params = replace(FAST, balance_deterministic_s=0.02)
    a = solve_schedule(problem, params=replace(params, time_limit_s=30.0))
    b = solve_schedule(problem, params=replace(params, time_limit_s=3000.0))
    assert len(a.search_end) == 2
    assert set(a.search_end) <= {"proof", "deterministic limit"}
    assert a.search_end == b.search_end
    # the balancing phase cannot be proved in 0.02 units on this model: the budget ends it
    assert a.search_end[1] == "deterministic limit"
    assert [(t.name, t.start_min, t.people) for t in a.tasks] == [
        (t.name, t.start_min, t.people) for t in b.tasks
    ]
    assert a.handovers == b.handovers
    assert not any("wall-clock" in w for w in a.warnings)


def test_wall_limit_reached_is_recorded_and_warned(default_two_stage):
    """A budget far beyond a 0.5 s wall limit: the clock ends the search, and says so."""
    team, problem, _ = default_two_stage
    sch = solve_schedule(
        problem,
        params=SolveParams(time_limit_s=0.5, deterministic_s=1e4, balance_deterministic_s=1e4),
    )
    # phase 2 (the balancing) is not provable in well under a second on this model; on a
    # very busy machine phase 1 may find nothing and the greedy schedule is used instead
    assert sch.search_end[-1] == "wall-clock limit"
    if sch.method == "cp-sat":
        assert len(sch.search_end) == 2
        assert any("wall-clock limit (0.5 s)" in w for w in sch.warnings)
