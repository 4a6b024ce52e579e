"""The schedule's CPU without another schedule (session 29).

A relief round whose tighter limits leave no schedule only needs to know that there is
none: it no longer asks CP-SAT why (the relaxed-limits solve of
``solve._explain_infeasible``; vertical-II: 2 of 39 searches). A first solve without a
schedule still says why, which the stage reports as bad input. Hints are written to the
model in one go, in the order ``CpModel.add_hint`` would have appended them.
"""

from __future__ import annotations

import pytest
from ortools.sat.python import cp_model
from sched_helpers import FAST, twin_a_day

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule import compile_problem, solve_schedule
from twinsep.schedule import solve as solve_mod
from twinsep.schedule.montecarlo import MonteCarloParams
from twinsep.schedule.relief import solve_with_relief
from twinsep.schedule.team import Team

MC = MonteCarloParams(n_samples=1000, seed=0)


def _day(hours: float) -> Team:
    """Twin A anaesthetised through four steps of (140, 150, 300) min: 660 min planned
    (675 with the hand-over), a mean of 847 min simulated; one anaesthetist, no relay."""
    return twin_a_day((140, 150, 300), anaesthetists=1, hours=hours)


@pytest.fixture
def explained(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The operations whose missing schedule CP-SAT was asked to explain."""
    calls: list[str] = []
    real = solve_mod._explain_infeasible

    def counted(problem, params):  # type: ignore[no-untyped-def]
        calls.append(problem.team.tasks[0].name)
        return real(problem, params)

    monkeypatch.setattr(solve_mod, "_explain_infeasible", counted)
    return calls


def test_a_relief_round_without_a_schedule_is_not_explained(explained: list[str]) -> None:
    # 12 h: the plan fits (675 min), the simulated day asks for a relay nobody can take
    relieved = solve_with_relief(compile_problem(_day(12.0)), solve=FAST, montecarlo=MC)
    assert relieved.short and "cannot keep everyone within the work limit" in relieved.notes[0]
    assert relieved.schedule.makespan_min == 660
    assert explained == []  # before session 29: one more CP-SAT solve, its text dropped


def test_a_first_solve_without_a_schedule_still_says_why(explained: list[str]) -> None:
    problem = compile_problem(_day(10.0))  # 675 min of duty for a 600-min limit
    with pytest.raises(InfeasibleScheduleError, match="continuous-work limits cannot be met"):
        solve_with_relief(problem, solve=FAST, montecarlo=MC)
    assert explained == ["induction A"]
    with pytest.raises(InfeasibleScheduleError, match="not explained"):
        solve_schedule(problem, params=FAST, explain=False)
    assert explained == ["induction A"]


def test_hints_in_one_go_are_those_of_add_hint() -> None:
    one, bulk = cp_model.CpModel(), cp_model.CpModel()
    pairs = []
    for m in (one, bulk):
        a, b = m.new_bool_var("a"), m.new_bool_var("b")
        x = m.new_int_var(0, 100, "x")
        pairs.append([(a, 1), (~b, 1), (x, 42), (~a, 0), (b, True)])
    for var, value in pairs[0]:
        one.add_hint(var, value)
    solve_mod._add_hints(bulk, pairs[1])
    got, want = bulk.model_proto.solution_hint, one.model_proto.solution_hint
    assert list(got.vars) == list(want.vars) and list(got.values) == list(want.values)
    assert list(want.vars) == [0, 1, 2, 0, 1] and list(want.values) == [1, 0, 42, 1, 1]
