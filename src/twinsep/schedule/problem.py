"""Compile a :class:`~twinsep.schedule.team.Team` into index form and pre-check it.

The pre-checks explain infeasibility in words before any solver runs: cycles in the
predecessors (the cycle is listed), a need that the team cannot staff ("task 'division
2' needs 2 neurosurgeons, team has 1"), equipment and table shortages, tasks longer than
anyone's work limit and tasks on the wrong side of the separation moment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule.team import Cover, Person, Task, Team, split_need
from twinsep.words import counted

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Need:
    """One staffing need of a task: ``count`` people with ``skill`` from ``candidates``."""

    key: str
    skill: str
    count: int
    candidates: tuple[int, ...]


@dataclass(frozen=True)
class CoverSpec:
    """A continuous role in index form (see :class:`~twinsep.schedule.team.Cover`).

    Attributes
    ----------
    cover : Cover
    first, last : int
        The task whose start opens the cover and the task whose end closes it.
    candidates : tuple of int
        People who may be in charge (the skill, of the twin's team or shared).
    serving : tuple of (int, str)
        (task, need key) of every need the person in charge fills while overlapping
        the task.
    duty_limit_min : int or None
        Planning limit on the whole duty (hand-over tail included) of anyone holding a
        shift in charge of this role, below their own ``max_continuous_h`` so that the
        shift stays within that limit when steps run long (set by
        :mod:`twinsep.schedule.relief` from the Monte Carlo); None: their own limit.
    """

    cover: Cover
    first: int
    last: int
    candidates: tuple[int, ...]
    serving: tuple[tuple[int, str], ...]
    duty_limit_min: int | None = None

    def serves(self, task: int) -> str | None:
        """The need key of ``task`` that the person in charge fills, or None."""
        return next((k for t, k in self.serving if t == task), None)

    def limit_of(self, person: Person) -> int:
        """Duty limit of ``person`` while holding a shift of this role, minutes."""
        own = person.max_continuous_min
        return own if self.duty_limit_min is None else min(own, self.duty_limit_min)


def group_key(skill: str, team: str) -> str:
    """Name of a role group: people with ``skill`` of ``team`` (A, B or shared),
    written as a need key (``"scrub_nurse@A"``, ``"neurophysiologist@shared"``)."""
    return f"{skill}@{team}"


def person_limit_min(person: Person, duty_limits: Mapping[str, int]) -> int:
    """Duty limit of ``person`` under the role groups' planning limits ``duty_limits``
    (the lowest of their own limit and those of the groups of each of their skills)."""
    own = person.max_continuous_min
    groups = (duty_limits.get(group_key(s, person.team)) for s in person.skills)
    return min([own, *(g for g in groups if g is not None)])


@dataclass(frozen=True)
class PlanningRules:
    """Rules a relieved schedule keeps beyond the team file (see :class:`Problem`).

    Attributes
    ----------
    duty_limits : dict
        Role group (:func:`group_key`) -> planning limit on each member's duty, minutes.
    cover_limits : dict
        Continuous role (``Cover.key``, ``"anaesthetist@A"``) -> planning limit on the
        duty of each person holding a shift in charge of it, minutes.
    min_shift_min : int
        Shortest shift in charge of a relayed continuous role, minutes (0: none).
    """

    duty_limits: dict[str, int] = field(default_factory=dict)
    cover_limits: dict[str, int] = field(default_factory=dict)
    min_shift_min: int = 0


@dataclass(frozen=True)
class Problem:
    """A team and its tasks in index form (what the schedulers read).

    Attributes
    ----------
    team : Team
    duration_min : ndarray of int, shape (n_tasks,)
        Planning durations (most likely, whole minutes).
    preds : tuple of tuple of int
        Predecessor indices of each task.
    needs : tuple of tuple of Need
        Staffing needs of each task.
    topo : tuple of int
        A topological order of the tasks.
    separation : int or None
        Index of the separation-moment task.
    joint_tasks, split_tasks : tuple of int
        Tasks on the joint table (must end before the separation moment) and on the
        twin tables (must start after it).
    table_of : tuple of (int or None)
        Table index of each task.
    covers : tuple of CoverSpec
        Continuous roles (a twin's anaesthetist from induction to transfer out).
    duty_limits : mapping
        Planning limits on the whole duty (hand-over tail included) of every person of
        a role group, by :func:`group_key` (``"scrub_nurse@A"``, ``"neurophysiologist@
        shared"``), minutes, below their own ``max_continuous_h`` so that their duty
        stays within that limit when steps run long (set by
        :mod:`twinsep.schedule.relief` from the Monte Carlo); empty: their own limits.
    min_shift_min : int
        Shortest shift in charge of a continuous role that is relayed, minutes (0: no
        rule; :attr:`twinsep.schedule.relief.ReliefParams.min_shift_min`).
    min_booking_min : int
        Shortest booking, minutes: the solver calls in as few people as it can for a
        duty shorter than this (at the shortest day and the fewest relays, before the
        margin; 0: not searched). Not a rule: a step that only a person off duty can do
        still gets them (the run sheets say so). Set by :mod:`twinsep.schedule.relief`
        to ``ReliefParams.min_shift_min``.
    """

    team: Team
    duration_min: npt.NDArray[np.int64]
    preds: tuple[tuple[int, ...], ...]
    needs: tuple[tuple[Need, ...], ...]
    topo: tuple[int, ...]
    separation: int | None
    joint_tasks: tuple[int, ...]
    split_tasks: tuple[int, ...]
    table_of: tuple[int | None, ...]
    covers: tuple[CoverSpec, ...] = ()
    duty_limits: Mapping[str, int] = field(default_factory=dict)
    min_shift_min: int = 0
    min_booking_min: int = 0

    def limit_min(self, p: int) -> int:
        """Planning limit on the whole duty of person ``p`` (index), minutes: their own
        ``max_continuous_min`` or their role group's planning limit when lower."""
        return person_limit_min(self.people[p], self.duty_limits)

    def rules(self) -> PlanningRules:
        """The planning limits and the shortest shift in charge, by name (what
        :func:`twinsep.schedule.verify.verify_schedule` checks besides the team)."""
        return PlanningRules(
            duty_limits=dict(self.duty_limits),
            cover_limits={
                cv.cover.key: cv.duty_limit_min
                for cv in self.covers
                if cv.duty_limit_min is not None
            },
            min_shift_min=self.min_shift_min,
        )

    @property
    def tasks(self) -> tuple[Task, ...]:
        return self.team.tasks

    @property
    def people(self) -> tuple[Person, ...]:
        return self.team.people

    @property
    def n_tasks(self) -> int:
        return len(self.team.tasks)

    def succs(self) -> list[list[int]]:
        """Successor lists."""
        out: list[list[int]] = [[] for _ in range(self.n_tasks)]
        for t, ps in enumerate(self.preds):
            for p in ps:
                out[p].append(t)
        return out

    def order_preds(self) -> tuple[tuple[int, ...], ...]:
        """Predecessors plus the table-split edges (joint-table task -> separation
        moment -> twin-table task): every order constraint a schedule must respect."""
        if self.separation is None:
            return self.preds
        extra: list[set[int]] = [set(p) for p in self.preds]
        for t in self.joint_tasks:
            extra[self.separation].add(t)
        for t in self.split_tasks:
            extra[t].add(self.separation)
        return tuple(tuple(sorted(s)) for s in extra)

    def critical_path_bound_min(self) -> int:
        """Longest path through the order constraints (a lower bound on the makespan)."""
        preds = self.order_preds()
        return int(longest_path(self.duration_min, preds, _topo(preds)).max(initial=0))


def longest_path(
    duration_min: npt.NDArray[np.int64], preds: Sequence[Sequence[int]], topo: Sequence[int]
) -> npt.NDArray[np.int64]:
    """Earliest end of every task with unlimited resources (minutes)."""
    end = np.zeros(len(duration_min), dtype=np.int64)
    for t in topo:
        start = max((int(end[p]) for p in preds[t]), default=0)
        end[t] = start + int(duration_min[t])
    return end


def qualifies(person: Person, task: Task, skill: str, pin: str | None) -> bool:
    """May ``person`` fill a ``skill`` need (pinned to team ``pin``) of ``task``?"""
    if skill not in person.skills:
        return False
    scope = pin if pin is not None else (task.twin if task.twin in ("A", "B") else None)
    return scope is None or person.team in (scope, "shared")


def find_cycle(preds: Sequence[Sequence[int]]) -> list[int] | None:
    """A cycle of the predecessor graph as task indices (first == last), or None."""
    n = len(preds)
    colour = [0] * n  # 0 new, 1 on stack, 2 done
    parent = [-1] * n
    for root in range(n):
        if colour[root]:
            continue
        stack = [(root, iter(preds[root]))]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
                continue
            if colour[nxt] == 1:
                cycle = [nxt]
                cur = node
                while cur != nxt:
                    cycle.append(cur)
                    cur = parent[cur]
                cycle.append(nxt)
                # preds edges point backwards in time: reverse for "a -> b" reading
                return cycle
            if colour[nxt] == 0:
                colour[nxt] = 1
                parent[nxt] = node
                stack.append((nxt, iter(preds[nxt])))
    return None


def _topo(preds: Sequence[Sequence[int]]) -> list[int]:
    n = len(preds)
    indeg = [len(set(p)) for p in preds]
    succ: list[list[int]] = [[] for _ in range(n)]
    for t, ps in enumerate(preds):
        for p in set(ps):
            succ[p].append(t)
    ready = [t for t in range(n) if indeg[t] == 0]
    out: list[int] = []
    while ready:
        t = ready.pop(0)
        out.append(t)
        for s in succ[t]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    return out


def compile_problem(team: Team) -> Problem:
    """Index form of ``team`` with its tasks, after the feasibility pre-checks.

    Raises
    ------
    InfeasibleScheduleError
        With a message naming the constraint that cannot be met.
    """
    tasks = team.tasks
    if not tasks:
        raise InfeasibleScheduleError("no tasks to schedule")
    index = {t.name: i for i, t in enumerate(tasks)}
    preds = tuple(tuple(sorted({index[p] for p in t.after})) for t in tasks)
    cycle = find_cycle(preds)
    if cycle is not None:
        names = " -> ".join(repr(tasks[i].name) for i in reversed(cycle))
        raise InfeasibleScheduleError(f"the task predecessors form a cycle: {names}")
    topo = tuple(_topo(preds))
    durations = np.array([t.planned_min for t in tasks], dtype=np.int64)

    needs: list[tuple[Need, ...]] = []
    for i, t in enumerate(tasks):
        row: list[Need] = []
        for key, count in sorted(t.needs.items()):
            skill, pin = split_need(key)
            qualified = [j for j, p in enumerate(team.people) if qualifies(p, t, skill, pin)]
            if len(qualified) < count:
                scope = f" of team {pin or t.twin} or shared" if (pin or t.twin != "both") else ""
                raise InfeasibleScheduleError(
                    f"task {t.name!r} needs {counted(count, skill)}{scope}, "
                    f"team has {len(qualified)}"
                )
            fits = [
                j
                for j in qualified
                if durations[i] + team.people[j].handover_min <= team.people[j].max_continuous_min
            ]
            if len(fits) < count:
                raise InfeasibleScheduleError(
                    f"task {t.name!r} lasts {durations[i]} min; only {len(fits)} of "
                    f"{len(qualified)} {skill}s may work that long continuously "
                    f"(max_continuous_h plus handover_min), it needs {count}"
                )
            row.append(Need(key=key, skill=skill, count=count, candidates=tuple(fits)))
        # one person fills one need per task: the needs together must be coverable
        all_cands = {j for n in row for j in n.candidates}
        total = sum(n.count for n in row)
        if len(all_cands) < total:
            raise InfeasibleScheduleError(
                f"task {t.name!r} needs {total} different people, only {len(all_cands)} "
                "people have any of its skills"
            )
        needs.append(tuple(row))
        for key, count in t.equipment.items():
            have = team.equipment.get(key, 0)
            if count > have:
                raise InfeasibleScheduleError(
                    f"task {t.name!r} needs {count} {key}, equipment has {have}"
                )

    tables = {tb.name: k for k, tb in enumerate(team.tables)}
    table_of: list[int | None] = []
    for t in tasks:
        if t.table is None:
            table_of.append(None)
            continue
        tb = team.tables[tables[t.table]]
        if t.fields > tb.fields:
            raise InfeasibleScheduleError(
                f"task {t.name!r} needs {t.fields} surgical fields of table {tb.name!r}, "
                f"which has {tb.fields}"
            )
        table_of.append(tables[t.table])

    sep = next((i for i, t in enumerate(tasks) if t.separation), None)
    joint: list[int] = []
    split: list[int] = []
    if sep is not None:
        for i in range(len(tasks)):
            if i == sep or table_of[i] is None:
                continue
            tw = team.tables[table_of[i]]  # type: ignore[index]
            (joint if tw.twin == "joint" else split).append(i)
        _check_split_order(tasks, preds, topo, sep, joint, split)
    return Problem(
        team=team,
        duration_min=durations,
        preds=preds,
        needs=tuple(needs),
        topo=topo,
        separation=sep,
        joint_tasks=tuple(joint),
        split_tasks=tuple(split),
        table_of=tuple(table_of),
        covers=tuple(_compile_cover(team, c, index, preds) for c in team.continuous),
    )


def _compile_cover(
    team: Team, cover: Cover, index: dict[str, int], preds: Sequence[Sequence[int]]
) -> CoverSpec:
    """Index form of one continuous role, after its pre-checks."""
    first, last = index[cover.from_task], index[cover.until_task]
    ancestors: set[int] = set()
    stack = [last]
    while stack:
        t = stack.pop()
        if t not in ancestors:
            ancestors.add(t)
            stack.extend(preds[t])
    if first not in ancestors:
        raise InfeasibleScheduleError(
            f"continuous {cover.key}: task {cover.until_task!r} does not come after "
            f"{cover.from_task!r}"
        )
    probe = Task(name="probe", duration_min=(1, 1, 1), twin=cover.twin)
    candidates = tuple(
        j for j, p in enumerate(team.people) if qualifies(p, probe, cover.skill, cover.twin)
    )
    if not candidates:
        raise InfeasibleScheduleError(
            f"continuous {cover.key}: nobody of team {cover.twin} or shared is a {cover.skill}"
        )
    serving: list[tuple[int, str]] = []
    for t, task in enumerate(team.tasks):
        keys = [k for k in sorted(task.needs) if cover.serves(task, k)]
        if len(keys) > 1:
            raise InfeasibleScheduleError(
                f"continuous {cover.key}: task {task.name!r} has two needs for it "
                f"({', '.join(keys)}); merge them"
            )
        if keys:
            serving.append((t, keys[0]))
    return CoverSpec(
        cover=cover, first=first, last=last, candidates=candidates, serving=tuple(serving)
    )


def _check_split_order(
    tasks: Sequence[Task],
    preds: Sequence[Sequence[int]],
    topo: Sequence[int],
    sep: int,
    joint: Sequence[int],
    split: Sequence[int],
) -> None:
    """A joint-table task after the separation, or a twin-table task before it, is
    impossible: one table exists until the separation moment, two after it."""
    after_sep = {sep}
    for t in topo:
        if any(p in after_sep for p in preds[t]):
            after_sep.add(t)
    before_sep: set[int] = set()
    stack = list(preds[sep])
    while stack:
        p = stack.pop()
        if p not in before_sep:
            before_sep.add(p)
            stack.extend(preds[p])
    for t in joint:
        if t in after_sep:
            raise InfeasibleScheduleError(
                f"task {tasks[t].name!r} is on the joint table but comes after the "
                f"separation moment {tasks[sep].name!r}; after it there are two tables"
            )
    for t in split:
        if t in before_sep:
            raise InfeasibleScheduleError(
                f"task {tasks[t].name!r} is on a twin table but must finish before the "
                f"separation moment {tasks[sep].name!r}; until then there is one table"
            )
