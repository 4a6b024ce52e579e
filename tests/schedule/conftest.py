"""Shared fixture of the schedule tests: one solved default plan (reused)."""

from __future__ import annotations

import pytest
from sched_helpers import FAST, sep_stages

from twinsep.schedule import compile_problem, default_team, separation_tasks, solve_schedule
from twinsep.schedule.template import anaesthesia_covers


@pytest.fixture(scope="session")
def default_two_stage():
    """(team, problem, schedule) of the default template with two division stages, each
    twin's anaesthetist continuous from induction to transfer out (as the stage plans)."""
    tasks = separation_tasks(sep_stages(2))
    team = default_team().with_tasks(tasks, anaesthesia_covers(tasks))
    problem = compile_problem(team)
    return team, problem, solve_schedule(problem, params=FAST)
