"""Independent verification of a schedule against its team file.

Re-checks, from the :class:`Schedule` alone and the :class:`Team` (never from solver
internals): every task placed once with its planned duration; precedences; each need
filled by the right number of distinct qualified people (skill and team); no person in
two tasks at once; equipment counts and table fields; one joint table until the
separation moment and two after it; every person's continuous duty (first task or
received hand-over to last task plus hand-over tail) within ``max_continuous_h``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from twinsep.schedule.problem import qualifies
from twinsep.schedule.result import Schedule, ScheduledTask
from twinsep.schedule.team import Team, split_need

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verification:
    """Outcome of :func:`verify_schedule`: ``ok`` and one sentence per violation."""

    ok: bool
    violations: tuple[str, ...]
    duty_min: dict[str, int]


def _peak(intervals: Iterable[tuple[int, int, int]]) -> tuple[int, int]:
    """Maximum summed amount of half-open intervals and the minute where it occurs."""
    events: list[tuple[int, int]] = []
    for s, e, a in intervals:
        if e > s:
            events.append((s, a))
            events.append((e, -a))
    events.sort(key=lambda x: (x[0], x[1]))  # ends (negative) before starts at a tie
    cur = best = 0
    at = 0
    for x, a in events:
        cur += a
        if cur > best:
            best, at = cur, x
    return best, at


def verify_schedule(schedule: Schedule, team: Team) -> Verification:
    """Check ``schedule`` against every constraint of ``team`` (see module docstring).

    Returns
    -------
    Verification
        ``ok`` is True only when no violation was found.
    """
    v: list[str] = []
    tasks = {t.name: t for t in team.tasks}
    placed: dict[str, ScheduledTask] = {}
    for st in schedule.tasks:
        if st.name in placed:
            v.append(f"task {st.name!r} is scheduled twice")
        placed[st.name] = st
    for name in tasks:
        if name not in placed:
            v.append(f"task {name!r} is not scheduled")
    for name, st in placed.items():
        if name not in tasks:
            v.append(f"scheduled task {name!r} is not in the team file")
            continue
        task = tasks[name]
        if st.start_min < 0:
            v.append(f"task {name!r} starts before minute 0 ({st.start_min})")
        if st.duration_min != task.planned_min:
            v.append(f"task {name!r} lasts {st.duration_min} min, planned {task.planned_min} min")
        for pred in task.after:
            if pred in placed and st.start_min < placed[pred].end_min:
                v.append(
                    f"precedence: {name!r} starts at {st.start_min} before {pred!r} "
                    f"ends at {placed[pred].end_min}"
                )
        # staffing
        people = [a.person for a in st.people]
        if len(set(people)) != len(people):
            v.append(f"task {name!r}: a person fills two needs at once")
        for key, count in task.needs.items():
            skill, pin = split_need(key)
            fill = [a.person for a in st.people if a.role == key]
            if len(fill) != count:
                v.append(f"task {name!r} needs {count} {key}, has {len(fill)}")
            for person_name in fill:
                try:
                    person = team.person(person_name)
                except KeyError:
                    v.append(f"task {name!r}: unknown person {person_name!r}")
                    continue
                if not qualifies(person, task, skill, pin):
                    v.append(
                        f"task {name!r}: {person_name} (team {person.team}, skills "
                        f"{list(person.skills)}) is not qualified for {key}"
                    )
        for a in st.people:
            if a.role not in task.needs:
                v.append(f"task {name!r}: {a.person} fills role {a.role!r} it does not need")

    # people: no overlap; continuous duty
    by_person: dict[str, list[ScheduledTask]] = defaultdict(list)
    for st in placed.values():
        for a in st.people:
            by_person[a.person].append(st)
    windows: dict[str, list[int]] = {}
    for person_name, sts in by_person.items():
        sts.sort(key=lambda s: s.start_min)
        for one, two in zip(sts, sts[1:], strict=False):
            if two.start_min < one.end_min:
                v.append(
                    f"{person_name} is in {one.name!r} and {two.name!r} at once "
                    f"(minute {two.start_min})"
                )
        try:
            h = team.person(person_name).handover_min
        except KeyError:
            continue
        windows[person_name] = [min(s.start_min for s in sts), max(s.end_min for s in sts) + h]
    for ho in schedule.handovers:
        for who in (ho.from_person, ho.to_person):
            if who is None:
                continue
            w = windows.setdefault(who, [ho.start_min, ho.end_min])
            w[0], w[1] = min(w[0], ho.start_min), max(w[1], ho.end_min)
        if ho.from_person in by_person:
            last_end = max(s.end_min for s in by_person[ho.from_person])
            if ho.start_min < last_end:
                v.append(
                    f"hand-over by {ho.from_person} at {ho.start_min} starts before their "
                    f"last task ends ({last_end})"
                )
    duty: dict[str, int] = {}
    for person_name, (w0, w1) in windows.items():
        duty[person_name] = w1 - w0
        try:
            limit = team.person(person_name).max_continuous_min
        except KeyError:
            v.append(f"unknown person {person_name!r} in the schedule")
            continue
        if w1 - w0 > limit:
            v.append(
                f"work-hour limit: {person_name} is on duty {w1 - w0} min "
                f"(minute {w0} to {w1}), limit {limit} min"
            )

    # equipment and tables
    for key, cap in team.equipment.items():
        peak, at = _peak(
            (st.start_min, st.end_min, tasks[st.name].equipment.get(key, 0))
            for st in placed.values()
            if st.name in tasks
        )
        if peak > cap:
            v.append(f"equipment: {peak} {key} in use at minute {at}, only {cap}")
    for tb in team.tables:
        peak, at = _peak(
            (st.start_min, st.end_min, tasks[st.name].fields)
            for st in placed.values()
            if st.name in tasks and tasks[st.name].table == tb.name
        )
        if peak > tb.fields:
            v.append(f"table {tb.name!r}: {peak} fields in use at minute {at}, only {tb.fields}")
    sep = next((t for t in team.tasks if t.separation), None)
    if sep is not None and sep.name in placed:
        s0, s1 = placed[sep.name].start_min, placed[sep.name].end_min
        for st in placed.values():
            tk = tasks.get(st.name)
            if tk is None or tk.table is None or tk.separation:
                continue
            kind = team.table(tk.table).twin
            if kind == "joint" and st.end_min > s0:
                v.append(
                    f"table split: {st.name!r} is on the joint table until {st.end_min}, "
                    f"after the separation moment starts ({s0})"
                )
            if kind != "joint" and st.start_min < s1:
                v.append(
                    f"table split: {st.name!r} starts on table {tk.table!r} at "
                    f"{st.start_min}, before the separation moment ends ({s1})"
                )
    makespan = max((st.end_min for st in placed.values()), default=0)
    if schedule.makespan_min != makespan:
        v.append(f"makespan says {schedule.makespan_min} min, last task ends at {makespan}")
    if v:
        logger.debug("schedule %r: %d violations", schedule.operation, len(v))
    return Verification(ok=not v, violations=tuple(v), duty_min=duty)
