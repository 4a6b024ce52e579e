"""Greedy list scheduler: the baseline and the warm start of the CP-SAT model.

Serial schedule generation: tasks are taken in order of the longest remaining path
to the end (ties by input order) among those whose predecessors are placed, and each
is started at the earliest event time at which its equipment, table fields and staff
are free and every chosen person's duty (hand-over tail included) stays within their
continuous-work limit. People already on duty are preferred over fresh ones, then the
less busy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule.assemble import make_schedule
from twinsep.schedule.problem import Need, Problem
from twinsep.schedule.result import Schedule

logger = logging.getLogger(__name__)


@dataclass
class _Usage:
    """Intervals booked on a capacity resource."""

    capacity: int
    booked: list[tuple[int, int, int]] = field(default_factory=list)

    def fits(self, s: int, e: int, amount: int) -> bool:
        points = [s] + [b0 for b0, b1, _ in self.booked if s < b0 < e]
        for x in points:
            used = sum(a for b0, b1, a in self.booked if b0 <= x < b1)
            if used + amount > self.capacity:
                return False
        return True


@dataclass
class _Person:
    limit_min: int
    handover_min: int
    busy: list[tuple[int, int]] = field(default_factory=list)
    first: int | None = None
    last_end: int = 0
    worked_min: int = 0

    def can(self, s: int, e: int) -> bool:
        if any(b0 < e and s < b1 for b0, b1 in self.busy):
            return False
        first = s if self.first is None else min(self.first, s)
        return max(self.last_end, e) + self.handover_min - first <= self.limit_min


def _remaining_path(problem: Problem, preds: Sequence[Sequence[int]]) -> np.ndarray:
    succ: list[list[int]] = [[] for _ in range(problem.n_tasks)]
    for t, ps in enumerate(preds):
        for p in ps:
            succ[p].append(t)
    tail = np.zeros(problem.n_tasks, dtype=np.int64)
    for t in reversed(problem.topo):
        tail[t] = problem.duration_min[t] + max((tail[s] for s in succ[t]), default=0)
    return tail


def _staff(
    needs: Sequence[Need], people: list[_Person], s: int, e: int, rule: str
) -> list[tuple[int, str]] | None:
    """Choose people for all needs of a task over [s, e), or None."""
    chosen: list[tuple[int, str]] = []
    used: set[int] = set()
    # scarcest need first, so that multi-skilled people are not wasted
    for need in sorted(needs, key=lambda n: (len(n.candidates) - n.count, n.key)):
        free = [p for p in need.candidates if p not in used and people[p].can(s, e)]
        if len(free) < need.count:
            return None
        if rule == "latest":
            # on-duty people who came latest first: early starters leave on time
            free.sort(key=lambda p: (people[p].first is None, -(people[p].first or 0), p))
        else:
            free.sort(key=lambda p: (people[p].first is None, people[p].worked_min, p))
        for p in free[: need.count]:
            chosen.append((p, need.key))
            used.add(p)
    return chosen


RULES = ("least-worked", "latest")
"""Staff-choice rules tried in turn; among people already on duty, prefer the one who
has worked least, or the one who came on duty latest (fresh people always come last)."""


def greedy_times(problem: Problem) -> tuple[list[int], list[list[tuple[int, str]]]]:
    """Start times and assignments of the shortest greedy list schedule over
    :data:`RULES`.

    Raises
    ------
    InfeasibleScheduleError
        If no rule finds a start for some task (the problem may still be feasible for
        the exact solver); the message names the task of the last rule tried.
    """
    best: tuple[int, list[int], list[list[tuple[int, str]]]] | None = None
    error: InfeasibleScheduleError | None = None
    for rule in RULES:
        try:
            starts, assign = _greedy_pass(problem, rule)
        except InfeasibleScheduleError as exc:
            error = exc
            continue
        ms = max(starts[t] + int(problem.duration_min[t]) for t in range(problem.n_tasks))
        if best is None or ms < best[0]:
            best = (ms, starts, assign)
    if best is None:
        assert error is not None
        raise error
    return best[1], best[2]


def _greedy_pass(problem: Problem, rule: str) -> tuple[list[int], list[list[tuple[int, str]]]]:
    """One serial-generation pass with staff-choice ``rule``.

    Raises
    ------
    InfeasibleScheduleError
        If the greedy rule finds no start for a task (the problem may still be
        feasible for the exact solver).
    """
    team = problem.team
    preds = problem.order_preds()
    tail = _remaining_path(problem, preds)
    equipment = {k: _Usage(v) for k, v in team.equipment.items()}
    tables = [_Usage(tb.fields) for tb in team.tables]
    people = [_Person(p.max_continuous_min, p.handover_min) for p in team.people]
    n = problem.n_tasks
    starts = [-1] * n
    assign: list[list[tuple[int, str]]] = [[] for _ in range(n)]
    placed: set[int] = set()
    ends_seen: set[int] = {0}
    horizon = int(problem.duration_min.sum()) * 2 + max(p.limit_min for p in people)
    while len(placed) < n:
        ready = [t for t in range(n) if t not in placed and all(p in placed for p in preds[t])]
        t = min(ready, key=lambda i: (-int(tail[i]), i))
        task = problem.tasks[t]
        d = int(problem.duration_min[t])
        est = max((starts[p] + int(problem.duration_min[p]) for p in preds[t]), default=0)
        done = False
        for s in sorted(x for x in ends_seen | {est} if x >= est):
            if s > horizon:
                break
            e = s + d
            if not all(equipment[k].fits(s, e, a) for k, a in task.equipment.items()):
                continue
            tb = problem.table_of[t]
            if tb is not None and not tables[tb].fits(s, e, task.fields):
                continue
            staff = _staff(problem.needs[t], people, s, e, rule)
            if staff is None:
                continue
            for k, a in task.equipment.items():
                equipment[k].booked.append((s, e, a))
            if tb is not None:
                tables[tb].booked.append((s, e, task.fields))
            for p, _ in staff:
                pp = people[p]
                pp.busy.append((s, e))
                pp.first = s if pp.first is None else min(pp.first, s)
                pp.last_end = max(pp.last_end, e)
                pp.worked_min += d
            starts[t] = s
            assign[t] = staff
            placed.add(t)
            ends_seen.add(e)
            done = True
            break
        if not done:
            raise InfeasibleScheduleError(
                f"greedy scheduler found no start for task {task.name!r} within the "
                "work-hour limits"
            )
    return starts, assign


def greedy_schedule(problem: Problem, *, operation: str = "separation") -> Schedule:
    """The greedy list schedule as a :class:`Schedule` (status ``"heuristic"``)."""
    t0 = time.perf_counter()
    starts, assign = greedy_times(problem)
    return make_schedule(
        problem,
        starts,
        assign,
        operation=operation,
        lower_bound_min=problem.critical_path_bound_min(),
        method="greedy",
        status="heuristic",
        solve_s=time.perf_counter() - t0,
    )
