"""Independent verification of a schedule against its team file.

Re-checks, from the :class:`Schedule` alone and the :class:`Team` (never from solver
internals): every task placed once with its planned duration; precedences; each need
filled by the right number of distinct qualified people (skill and team); no person in
two tasks at once; equipment counts and table fields; one joint table until the
separation moment and two after it; every person's continuous duty (first task or
received hand-over to last task plus hand-over tail) within ``max_continuous_h``;
every continuous role (``Team.continuous``: a twin's anaesthetist from induction to
transfer out) held at every minute by a qualified person in charge who does nothing
else meanwhile, is at each task of that twin needing the role, and hands over
explicitly to the next (:func:`cover_violations`). With the planning rules of a
relieved schedule (:class:`~twinsep.schedule.problem.PlanningRules`, from
:mod:`twinsep.schedule.relief`) also: every person's duty within their role group's
planning limit, every holder of a shift in charge within the role's, and no shift in
charge of a relayed role shorter than the minimum (:func:`rule_violations`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from twinsep.schedule.problem import PlanningRules, person_limit_min, qualifies
from twinsep.schedule.result import CoverShift, Schedule, ScheduledTask
from twinsep.schedule.team import Cover, Task, Team, split_need

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


def cover_violations(schedule: Schedule, team: Team, placed: dict[str, ScheduledTask]) -> list[str]:
    """Violations of the continuous roles of ``team`` by ``schedule`` (see module
    docstring): a minute of a twin's window without anyone in charge, an unqualified
    person in charge, the person in charge in another task or absent from a task of
    the twin that needs the role, a relay without its hand-over row."""
    v: list[str] = []
    tasks = {t.name: t for t in team.tasks}
    for c in team.continuous:
        if c.from_task not in placed or c.until_task not in placed:
            continue
        w0, w1 = placed[c.from_task].start_min, placed[c.until_task].end_min
        shifts = sorted(
            (s for s in schedule.cover if s.twin == c.twin and s.skill == c.skill),
            key=lambda s: (s.start_min, s.end_min),
        )
        what = f"twin {c.twin} is without its {c.skill} in charge"
        at = w0
        for sh in shifts:
            if sh.start_min > at and at < w1:
                v.append(f"{what} from minute {at} to {min(sh.start_min, w1)}")
            at = max(at, sh.end_min)
        if at < w1:
            v.append(f"{what} from minute {at} to {w1}")
        for sh in shifts:
            v.extend(_shift_violations(sh, c, team, placed, tasks))
        for one, two in zip(shifts, shifts[1:], strict=False):
            if one.person != two.person and not any(
                h.from_person == one.person
                and h.to_person == two.person
                and h.start_min == one.end_min
                for h in schedule.handovers
            ):
                v.append(
                    f"{c.key}: {one.person} hands twin {c.twin} to {two.person} at minute "
                    f"{one.end_min} without a hand-over row"
                )
    by_person: dict[str, list[CoverShift]] = defaultdict(list)
    for sh in schedule.cover:
        by_person[sh.person].append(sh)
    for person, shs in by_person.items():
        shs.sort(key=lambda s: s.start_min)
        for one, two in zip(shs, shs[1:], strict=False):
            if two.start_min < one.end_min:
                v.append(
                    f"{person} is in charge of twin {one.twin} and twin {two.twin} at once "
                    f"(minute {two.start_min})"
                )
    return v


def _shift_violations(
    sh: CoverShift,
    c: Cover,
    team: Team,
    placed: dict[str, ScheduledTask],
    tasks: dict[str, Task],
) -> list[str]:
    v: list[str] = []
    try:
        person = team.person(sh.person)
    except KeyError:
        return [f"{c.key}: unknown person {sh.person!r} in charge"]
    if c.skill not in person.skills or person.team not in (c.twin, "shared"):
        v.append(
            f"{c.key}: {sh.person} (team {person.team}, skills {list(person.skills)}) "
            f"is not qualified to be in charge of twin {c.twin}"
        )
    for st in placed.values():
        task = tasks.get(st.name)
        if task is None or not (st.start_min < sh.end_min and sh.start_min < st.end_min):
            continue
        key = next((k for k in task.needs if c.serves(task, k)), None)
        roles = {a.role for a in st.people if a.person == sh.person}
        if roles and (key is None or roles != {key}):
            v.append(
                f"{sh.person}, in charge of twin {c.twin} (minute {sh.start_min} to "
                f"{sh.end_min}), is also in {st.name!r} as {', '.join(sorted(roles))}"
            )
        elif key is not None and not roles:
            v.append(
                f"{st.name!r} needs twin {c.twin}'s {c.skill} in charge, {sh.person} "
                f"(minute {sh.start_min} to {sh.end_min}), who is not on it"
            )
    return v


def rule_violations(
    schedule: Schedule, team: Team, rules: PlanningRules, duty: dict[str, int]
) -> list[str]:
    """Violations of the planning rules of a relieved schedule (see module docstring);
    ``duty`` is each person's duty, minutes, as :func:`verify_schedule` counts it."""
    v: list[str] = []
    for name, minutes in sorted(duty.items()):
        try:
            person = team.person(name)
        except KeyError:
            continue
        limit = person_limit_min(person, rules.duty_limits)
        if limit < minutes <= person.max_continuous_min:  # beyond their own: see above
            v.append(
                f"planning limit: {name} is on duty {minutes} min, their role's planning "
                f"limit is {limit} min"
            )
    for who, twin, skill in sorted({(sh.person, sh.twin, sh.skill) for sh in schedule.cover}):
        cap = rules.cover_limits.get(f"{skill}@{twin}")
        if cap is not None and duty.get(who, 0) > cap:
            v.append(
                f"planning limit: {who}, in charge of twin {twin}, is on duty "
                f"{duty[who]} min, the planning limit in charge is {cap} min"
            )
    if rules.min_shift_min > 0:
        roles: dict[tuple[str, str], list[CoverShift]] = defaultdict(list)
        for sh in schedule.cover:
            roles[(sh.twin, sh.skill)].append(sh)
        for (twin, skill), shs in sorted(roles.items()):
            for sh in shs if len(shs) > 1 else ():
                if sh.end_min - sh.start_min < rules.min_shift_min:
                    v.append(
                        f"shortest shift: {sh.person} is in charge of twin {twin} as "
                        f"{skill} for {sh.end_min - sh.start_min} min (minute {sh.start_min} "
                        f"to {sh.end_min}), under the {rules.min_shift_min} min minimum"
                    )
    return v


def verify_schedule(
    schedule: Schedule, team: Team, *, rules: PlanningRules | None = None
) -> Verification:
    """Check ``schedule`` against every constraint of ``team`` (see module docstring).

    Parameters
    ----------
    schedule : Schedule
    team : Team
    rules : PlanningRules, optional
        The planning rules the schedule was made with (``Problem.rules()`` of the
        relieved problem); None checks the team file only.

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
    for sh in schedule.cover:
        try:
            h = team.person(sh.person).handover_min
        except KeyError:
            continue
        w = windows.setdefault(sh.person, [sh.start_min, sh.end_min + h])
        w[0], w[1] = min(w[0], sh.start_min), max(w[1], sh.end_min + h)
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

    v.extend(cover_violations(schedule, team, placed))
    if rules is not None:
        v.extend(rule_violations(schedule, team, rules, duty))

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
