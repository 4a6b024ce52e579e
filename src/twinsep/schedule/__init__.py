"""Operating-room choreography: team file, template, CP-SAT schedule, risk, outputs.

Modules: ``team`` (team.yaml), ``template`` (default team and tasks from the plan's
stages), ``problem`` (index form and pre-checks), ``greedy`` (list scheduler),
``solve`` (CP-SAT), ``verify`` (independent checks), ``montecarlo`` (overrun risk),
``export`` (CSV, ICS, SVG/HTML Gantt, run sheets), ``stage`` (the plan stage).
"""

from __future__ import annotations

from twinsep.schedule.greedy import greedy_schedule
from twinsep.schedule.problem import Problem, compile_problem
from twinsep.schedule.result import Assignment, Handover, Schedule, ScheduledTask
from twinsep.schedule.solve import SolveParams, solve_schedule
from twinsep.schedule.team import Person, Table, Task, Team, load_team, parse_team
from twinsep.schedule.template import (
    StageInput,
    TemplateParams,
    TwinDefectInput,
    default_team,
    division_operation_tasks,
    preparatory_tasks,
    separation_tasks,
)
from twinsep.schedule.verify import Verification, verify_schedule

__all__ = [
    "Assignment",
    "Handover",
    "Person",
    "Problem",
    "Schedule",
    "ScheduledTask",
    "SolveParams",
    "StageInput",
    "Table",
    "Task",
    "Team",
    "TemplateParams",
    "TwinDefectInput",
    "Verification",
    "compile_problem",
    "default_team",
    "division_operation_tasks",
    "greedy_schedule",
    "load_team",
    "parse_team",
    "preparatory_tasks",
    "separation_tasks",
    "solve_schedule",
    "verify_schedule",
]
