"""Greedy list scheduler: the baseline and the warm start of the CP-SAT model.

Serial schedule generation: tasks are taken in order of the longest remaining path
to the end (ties by input order) among those whose predecessors are placed, and each
is started at the earliest event time at which its equipment, table fields and staff
are free and every chosen person's duty (hand-over tail included) stays within their
continuous-work limit. People already on duty are preferred over fresh ones, then the
less busy.

Continuous roles (a twin's anaesthetist from induction to transfer out): the opening
task's filler who is free from then on takes charge; whoever is in charge fills the
role's need of every task of the twin meanwhile and is given nothing else; when their
duty limit (the role's planning limit when it is lower, ``CoverSpec.duty_limit_min``)
would be passed, a qualified person free from then on takes over (a relay) at the
latest minute the leaver can stay, or at the task's start. Each person's limit is their
own or their role group's planning limit when lower (``Problem.duty_limits``). The
greedy does not look for the shortest shift in charge (``Problem.min_shift_min``): the
relief loop claims that rule only for a schedule that keeps it.
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
    left: int | None = None
    """Relayed out of a continuous role at this minute: no work after it."""
    charge: list[list[int | None]] = field(default_factory=list)
    """``[role, start, end]`` of each relay segment held (end None while open)."""

    def can(self, s: int, e: int) -> bool:
        if any(b0 < e and s < b1 for b0, b1 in self.busy):
            return False
        if self.left is not None and e > self.left:
            return False
        first = s if self.first is None else min(self.first, s)
        return max(self.last_end, e) + self.handover_min - first <= self.limit_min

    def charged(self, s: int, e: int) -> set[int]:
        """Roles this person is in charge of at some minute of [s, e)."""
        out: set[int] = set()
        for c, a, b in self.charge:
            assert c is not None and a is not None
            if a < e and (b is None or s < b):
                out.add(c)
        return out

    def free_from(self, r: int) -> bool:
        """No booking, charge or departure at or after minute ``r``."""
        return (
            all(b1 <= r for _, b1 in self.busy)
            and self.left is None
            and all(b is not None and b <= r for _, _, b in self.charge)
        )


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
    needs: Sequence[Need],
    people: list[_Person],
    s: int,
    e: int,
    rule: str,
    forced: dict[str, list[int]] | None = None,
    serves: dict[int, str] | None = None,
) -> list[tuple[int, str]] | None:
    """Choose people for all needs of a task over [s, e), or None.

    ``forced``: need key -> people in charge of a continuous role who must fill it;
    ``serves``: role -> the task's need key the person in charge of it may fill (a
    person in charge fills nothing else).
    """
    forced = forced or {}
    serves = serves or {}
    chosen: list[tuple[int, str]] = []
    used: set[int] = set()
    for key, ps in forced.items():
        for p in ps:
            if p in used or not people[p].can(s, e):
                return None
            if any(serves.get(c) != key for c in people[p].charged(s, e)):
                return None
            chosen.append((p, key))
            used.add(p)

    def allowed(p: int, key: str) -> bool:
        return all(serves.get(c) == key for c in people[p].charged(s, e))

    # scarcest need first, so that multi-skilled people are not wasted
    for need in sorted(needs, key=lambda n: (len(n.candidates) - n.count, n.key)):
        done = sum(1 for _, k in chosen if k == need.key)
        free = [
            p
            for p in need.candidates
            if p not in used and people[p].can(s, e) and allowed(p, need.key)
        ]
        if len(free) < need.count - done:
            return None
        if rule == "latest":
            # on-duty people who came latest first: early starters leave on time
            free.sort(key=lambda p: (people[p].first is None, -(people[p].first or 0), p))
        else:
            free.sort(key=lambda p: (people[p].first is None, people[p].worked_min, p))
        for p in free[: max(0, need.count - done)]:
            chosen.append((p, need.key))
            used.add(p)
    return chosen


#: (role, person, start, end) of each relay segment of the continuous roles
CoverTable = list[tuple[int, int, int, int]]


@dataclass
class _Relay:
    """A change of the person in charge of role ``c``: ``p`` hands over to ``q`` at ``r``."""

    c: int
    p: int
    q: int
    r: int


def _in_charge(
    problem: Problem, people: list[_Person], t: int, s: int, e: int
) -> tuple[dict[str, list[int]], list[_Relay]] | None:
    """People in charge who must fill task ``t``'s needs over [s, e) and the relays
    needed for that, or None when no relay makes it possible."""
    forced: dict[str, list[int]] = {}
    relays: list[_Relay] = []
    for c, cv in enumerate(problem.covers):
        key = cv.serves(t)
        if key is None:
            continue
        holders = []
        for p, pp in enumerate(people):
            for cc, a, b in pp.charge:
                assert a is not None
                if cc == c and a < e and (b is None or s < b):
                    holders.append((p, a, b))
        open_seg = next((h for h in holders if h[2] is None), None)
        if open_seg is not None:
            p, a, _ = open_seg
            pp = people[p]
            first = a if pp.first is None else min(pp.first, a)
            if max(pp.last_end, e) + pp.handover_min - first > pp.limit_min:
                r = min(s, first + pp.limit_min - pp.handover_min)
                if r <= a or r < pp.last_end:
                    return None
                q = _successor(problem, people, c, p, r, e)
                if q is None:
                    return None
                relays.append(_Relay(c, p, q, r))
                holders = [h for h in holders if h is not open_seg]
                if r < e:
                    holders.append((q, r, None))
                if r > s:
                    holders.append((p, a, r))
        forced.setdefault(key, []).extend(sorted({h[0] for h in holders}))
    return forced, relays


def _successor(
    problem: Problem, people: list[_Person], c: int, p: int, r: int, e: int
) -> int | None:
    """A qualified person free from minute ``r`` on who can be on duty until ``e``."""
    best: tuple[tuple[int, int], int] | None = None
    for q in problem.covers[c].candidates:
        qq = people[q]
        if q == p or not qq.free_from(r):
            continue
        first = r if qq.first is None else min(qq.first, r)
        if max(qq.last_end, e) + qq.handover_min - first > _held(problem, c, qq.limit_min):
            continue
        rank = (0 if qq.first is None else 1, q)  # fresh people first: a whole duty ahead
        if best is None or rank < best[0]:
            best = (rank, q)
    return None if best is None else best[1]


def _held(problem: Problem, c: int, limit_min: int) -> int:
    """Duty limit of someone with limit ``limit_min`` while in charge of role ``c``."""
    cap = problem.covers[c].duty_limit_min
    return limit_min if cap is None else min(limit_min, cap)


RULES = ("least-worked", "latest")
"""Staff-choice rules tried in turn; among people already on duty, prefer the one who
has worked least, or the one who came on duty latest (fresh people always come last)."""


def greedy_times(
    problem: Problem,
) -> tuple[list[int], list[list[tuple[int, str]]], CoverTable]:
    """Start times and assignments of the shortest greedy list schedule over
    :data:`RULES`.

    Raises
    ------
    InfeasibleScheduleError
        If no rule finds a start for some task (the problem may still be feasible for
        the exact solver); the message names the task of the last rule tried.
    """
    best: tuple[int, list[int], list[list[tuple[int, str]]], CoverTable] | None = None
    error: InfeasibleScheduleError | None = None
    for rule in RULES:
        try:
            starts, assign, cover = _greedy_pass(problem, rule)
        except InfeasibleScheduleError as exc:
            error = exc
            continue
        ms = max(starts[t] + int(problem.duration_min[t]) for t in range(problem.n_tasks))
        if best is None or ms < best[0]:
            best = (ms, starts, assign, cover)
    if best is None:
        assert error is not None
        raise error
    return best[1], best[2], best[3]


def _greedy_pass(
    problem: Problem, rule: str
) -> tuple[list[int], list[list[tuple[int, str]]], CoverTable]:
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
    people = [_Person(problem.limit_min(i), p.handover_min) for i, p in enumerate(team.people)]
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
            charge = _in_charge(problem, people, t, s, e)
            if charge is None:
                continue
            forced, relays = charge
            serves = {
                c: k for c, cv in enumerate(problem.covers) if (k := cv.serves(t)) is not None
            }
            saved = [
                (pp.left, [list(x) for x in pp.charge], pp.first, pp.last_end, pp.limit_min)
                for pp in people
            ]
            _apply_relays(problem, people, relays)
            staff = _staff(problem.needs[t], people, s, e, rule, forced, serves)
            opened = None if staff is None else _open_covers(problem, people, t, s, staff)
            if staff is None or opened is None:
                for pp, (left, ch, first, last_end, lim) in zip(people, saved, strict=True):
                    pp.left, pp.charge, pp.first, pp.last_end = left, ch, first, last_end
                    pp.limit_min = lim
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
            _close_covers(problem, people, t, e)
            starts[t] = s
            assign[t] = staff
            placed.add(t)
            ends_seen.add(e)
            ends_seen.update(rl.r for rl in relays)
            done = True
            break
        if not done:
            raise InfeasibleScheduleError(
                f"greedy scheduler found no start for task {task.name!r} within the "
                "work-hour limits"
            )
    cover: CoverTable = []
    for p, pp in enumerate(people):
        for role, a0, b0 in pp.charge:
            assert role is not None and a0 is not None and b0 is not None
            cover.append((role, p, a0, b0))
    return starts, assign, sorted(cover, key=lambda x: (x[0], x[2]))


def _apply_relays(problem: Problem, people: list[_Person], relays: Sequence[_Relay]) -> None:
    for rl in relays:
        pp, qq = people[rl.p], people[rl.q]
        for seg in pp.charge:
            if seg[0] == rl.c and seg[2] is None:
                seg[2] = rl.r
        pp.left = rl.r
        pp.last_end = max(pp.last_end, rl.r)
        qq.charge.append([rl.c, rl.r, None])
        qq.first = rl.r if qq.first is None else min(qq.first, rl.r)
        qq.limit_min = _held(problem, rl.c, qq.limit_min)


def _open_covers(
    problem: Problem, people: list[_Person], t: int, s: int, staff: list[tuple[int, str]]
) -> bool | None:
    """Put someone in charge of every role that task ``t`` opens (True), or None when
    nobody of the task's staff (or else of the role's people) is free from ``s`` on."""
    for c, cv in enumerate(problem.covers):
        if cv.first != t:
            continue
        key = cv.serves(t)
        mine = [p for p, k in staff if k == key] if key is not None else []
        pool = mine or [p for p in cv.candidates if p not in {q for q, _ in staff}]
        pick = next(
            (
                p
                for p in pool
                if p in cv.candidates
                and all(b1 <= s for _, b1 in people[p].busy)
                and people[p].left is None
                and not people[p].charged(s, s + 10**9)
            ),
            None,
        )
        if pick is None:
            return None
        pp = people[pick]
        pp.charge.append([c, s, None])
        pp.first = s if pp.first is None else min(pp.first, s)
        pp.limit_min = _held(problem, c, pp.limit_min)
    return True


def _close_covers(problem: Problem, people: list[_Person], t: int, e: int) -> None:
    """End every role that task ``t`` closes at its end ``e``."""
    for c, cv in enumerate(problem.covers):
        if cv.last != t:
            continue
        for pp in people:
            kept = []
            for seg in pp.charge:
                assert seg[1] is not None
                if seg[0] == c and seg[1] >= e:
                    continue
                if seg[0] == c and (seg[2] is None or seg[2] > e):
                    seg[2] = e
                    pp.last_end = max(pp.last_end, e)
                kept.append(seg)
            pp.charge = kept


def greedy_schedule(problem: Problem, *, operation: str = "separation") -> Schedule:
    """The greedy list schedule as a :class:`Schedule` (status ``"heuristic"``)."""
    t0 = time.perf_counter()
    starts, assign, cover = greedy_times(problem)
    return make_schedule(
        problem,
        starts,
        assign,
        cover=cover,
        operation=operation,
        lower_bound_min=problem.critical_path_bound_min(),
        method="greedy",
        status="heuristic",
        solve_s=time.perf_counter() - t0,
    )
