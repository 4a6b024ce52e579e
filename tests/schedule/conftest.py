"""Shared fixture of the schedule tests: one solved default plan (reused)."""

from __future__ import annotations

import pytest
from sched_helpers import FAST, sep_stages

from twinsep.schedule import compile_problem, default_team, separation_tasks, solve_schedule


@pytest.fixture(scope="session")
def default_two_stage():
    """(team, problem, schedule) of the default template with two division stages."""
    team = default_team().with_tasks(separation_tasks(sep_stages(2)))
    problem = compile_problem(team)
    return team, problem, solve_schedule(problem, params=FAST)
