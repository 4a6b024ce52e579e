"""Turn start times and assignments into a :class:`Schedule`, with hand-overs.

Hand-over model
---------------
Every person's continuous duty runs from the start of their first task to the end of
their last task **plus their hand-over minutes** (the solver and the greedy scheduler
reserve that tail, so ``last end + handover_min - first start <= max_continuous_h``).
When a person leaves while work needing the skill of their last task continues (tasks
they could have done start later), a hand-over row is inserted in that tail,
``[last end, last end + handover_min)``, to the qualified person who does the next such
task and whose own duty, stretched back to the hand-over, still fits their limit (their
planning limit when lower: ``Problem.duty_limits``, ``CoverSpec.duty_limit_min``)
and who is on duty by then or would wait at most :data:`EARLY_CALL_MAX_MIN` after the
hand-over for their own work. If nobody can (the next such task starts hours later,
after a fresh person arrives), the row is a *written hand-over note* (``to_person``
None) in the leaver's tail.

Continuous roles (a twin's anaesthetist from induction to transfer out) are relays of
:class:`CoverShift` rows; each change of the person in charge is a hand-over from the
leaver to the successor at the change, in the leaver's tail, and the leaver's duty ends
there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from twinsep.schedule.problem import Problem, qualifies
from twinsep.schedule.result import Assignment, CoverShift, Handover, Schedule, ScheduledTask
from twinsep.schedule.team import split_need

logger = logging.getLogger(__name__)

#: Longest wait, minutes, between a verbal hand-over and the receiver's own first work,
#: when the receiver is called in early for it (2026-11-28, session 27): until then a
#: receiver was called in as early as their duty limit allowed, idle for hours (the
#: vertical-II separation: a shared circulating nurse on duty 7 h before her first
#: task to be briefed at minute 952; the default template: a scrub nurse 3 h early), and
#: the idle hours counted as duty, on the plan and on every simulated day. A verbal
#: hand-over is worth an hour's wait, not a shift's: beyond it the leaver writes a note.
EARLY_CALL_MAX_MIN = 60

#: task index -> list of (person index, need key)
AssignmentTable = Sequence[Sequence[tuple[int, str]]]
#: (continuous role index, person index, start, end) of each relay segment
CoverTable = Sequence[tuple[int, int, int, int]]


def cover_rows(
    problem: Problem, starts: Sequence[int], cover: CoverTable
) -> tuple[list[CoverShift], list[Handover]]:
    """The relay segments as :class:`CoverShift` rows (a person's consecutive
    segments merged) and a hand-over at every change of the person in charge."""
    shifts: list[CoverShift] = []
    handovers: list[Handover] = []
    for c, cv in enumerate(problem.covers):
        segs = sorted((a, b, p) for cc, p, a, b in cover if cc == c and b > a)
        merged: list[list[int]] = []
        for a, b, p in segs:
            if merged and merged[-1][2] == p and merged[-1][1] == a:
                merged[-1][1] = b
            else:
                merged.append([a, b, p])
        skill, twin = cv.cover.skill, cv.cover.twin
        for a, b, p in merged:
            shifts.append(
                CoverShift(
                    twin=twin, skill=skill, person=problem.people[p].name, start_min=a, end_min=b
                )
            )
        for (_a, r, p), (_a2, _b2, q) in zip(merged, merged[1:], strict=False):
            nxt = sorted(
                (starts[t], problem.tasks[t].name) for t, _ in cv.serving if starts[t] >= r
            )
            handovers.append(
                Handover(
                    from_person=problem.people[p].name,
                    to_person=problem.people[q].name,
                    skill=skill,
                    start_min=r,
                    end_min=r + problem.people[p].handover_min,
                    after_task=f"in charge of twin {twin}",
                    next_task=nxt[0][1] if nxt else f"in charge of twin {twin}",
                )
            )
    shifts.sort(key=lambda s: (s.twin, s.skill, s.start_min))
    return shifts, handovers


def duty_windows(
    problem: Problem, starts: Sequence[int], assign: AssignmentTable, cover: CoverTable = ()
) -> dict[int, tuple[int, int]]:
    """Duty window ``(start, end)`` of every person who works, tail included (minutes)."""
    out: dict[int, tuple[int, int]] = {}
    for _c, p, a, b in cover:
        h = problem.people[p].handover_min
        if p in out:
            out[p] = (min(out[p][0], a), max(out[p][1], b + h))
        else:
            out[p] = (a, b + h)
    dur = problem.duration_min
    for t, rows in enumerate(assign):
        for p, _ in rows:
            h = problem.people[p].handover_min
            s, e = starts[t], starts[t] + int(dur[t]) + h
            if p in out:
                out[p] = (min(out[p][0], s), max(out[p][1], e))
            else:
                out[p] = (s, e)
    return out


def derive_handovers(
    problem: Problem,
    starts: Sequence[int],
    assign: AssignmentTable,
    cover: CoverTable = (),
    relayed: Sequence[str] = (),
) -> tuple[list[Handover], list[str]]:
    """Hand-overs implied by a schedule (see module docstring) and warnings; people in
    ``relayed`` (relayed out of a continuous role) already have theirs."""
    people = problem.people
    tasks = problem.tasks
    dur = problem.duration_min
    windows = dict(duty_windows(problem, starts, assign, cover))
    # the receiver's planning limit (their role group's, or their role's in charge,
    # when lower than their own): a hand-over never stretches a duty past it
    limits = {q: problem.limit_min(q) for q in range(len(people))}
    for c, q, _a, _b in cover:
        limits[q] = min(limits[q], problem.covers[c].limit_of(people[q]))
    last: dict[int, int] = {}
    for t, rows in enumerate(assign):
        for p, _ in rows:
            if p not in last or starts[t] + dur[t] > starts[last[p]] + dur[last[p]]:
                last[p] = t
    handovers: list[Handover] = []
    warnings: list[str] = []
    order = sorted(last, key=lambda p: (starts[last[p]] + int(dur[last[p]]), people[p].name))
    for p in order:
        if people[p].name in relayed:
            continue
        t_last = last[p]
        end = starts[t_last] + int(dur[t_last])
        key = next(k for q, k in assign[t_last] if q == p)
        skill, _ = split_need(key)
        later = sorted(
            (
                t
                for t in range(problem.n_tasks)
                if starts[t] >= end
                and any(
                    split_need(k)[0] == skill
                    and qualifies(people[p], tasks[t], skill, split_need(k)[1])
                    for k in tasks[t].needs
                )
            ),
            key=lambda t: (starts[t], t),
        )
        if not later:
            continue
        h0, h1 = end, end + people[p].handover_min
        chosen: int | None = None
        next_task = later[0]
        for t in later:
            for q, k in assign[t]:
                k_skill, k_pin = split_need(k)
                if q == p or k_skill != skill or not qualifies(people[p], tasks[t], skill, k_pin):
                    continue
                w0, w1 = windows[q]
                early = w0 - h1  # minutes the receiver would wait before their own work
                if max(w1, h1) - min(w0, h0) <= limits[q] and early <= EARLY_CALL_MAX_MIN:
                    chosen, next_task = q, t
                    break
            if chosen is not None:
                break
        if chosen is None:
            logger.debug(
                "%s (%s) leaves at minute %d; nobody doing the next %s task %r is on duty "
                "then: written hand-over note",
                people[p].name,
                skill,
                end,
                skill,
                tasks[later[0]].name,
            )
        else:
            w0, w1 = windows[chosen]
            windows[chosen] = (min(w0, h0), max(w1, h1))
        handovers.append(
            Handover(
                from_person=people[p].name,
                to_person=None if chosen is None else people[chosen].name,
                skill=skill,
                start_min=h0,
                end_min=h1,
                after_task=tasks[t_last].name,
                next_task=tasks[next_task].name,
            )
        )
    handovers.sort(key=lambda h: (h.start_min, h.from_person))
    return handovers, warnings


def make_schedule(
    problem: Problem,
    starts: Sequence[int],
    assign: AssignmentTable,
    *,
    operation: str,
    lower_bound_min: int,
    method: str,
    status: str,
    solve_s: float,
    makespan_s: float | None = None,
    warnings: Sequence[str] = (),
    search_end: Sequence[str] = (),
    cover: CoverTable | None = None,
) -> Schedule:
    """Assemble the :class:`Schedule` (tasks in start order, continuous roles' relays,
    hand-overs derived)."""
    team = problem.team
    rows: list[ScheduledTask] = []
    for t, task in enumerate(problem.tasks):
        table = task.table
        room = team.table(table).room if table is not None else None
        rows.append(
            ScheduledTask(
                name=task.name,
                start_min=int(starts[t]),
                end_min=int(starts[t]) + int(problem.duration_min[t]),
                twin=task.twin,
                table=table,
                room=room,
                people=tuple(
                    Assignment(person=team.people[p].name, role=k)
                    for p, k in sorted(assign[t], key=lambda pk: (pk[1], team.people[pk[0]].name))
                ),
                equipment=tuple(sorted(task.equipment.items())),
                phase=task.phase,
                duration_range_min=task.duration_min,
                separation=task.separation,
            )
        )
    order = sorted(range(len(rows)), key=lambda t: (rows[t].start_min, problem.topo.index(t)))
    shifts, relays = cover_rows(problem, starts, cover or ())
    handovers, hw = derive_handovers(
        problem, starts, assign, cover or (), relayed=[h.from_person for h in relays]
    )
    handovers = sorted(handovers + relays, key=lambda h: (h.start_min, h.from_person))
    makespan = max((r.end_min for r in rows), default=0)
    return Schedule(
        operation=operation,
        tasks=tuple(rows[t] for t in order),
        handovers=tuple(handovers),
        makespan_min=int(makespan),
        lower_bound_min=int(min(lower_bound_min, makespan)),
        method=method,
        status=status,
        solve_s=round(float(solve_s), 3),
        makespan_s=round(float(solve_s if makespan_s is None else makespan_s), 3),
        warnings=tuple(list(warnings) + hw),
        search_end=tuple(search_end),
        cover=tuple(shifts),
        min_booking_min=int(problem.min_booking_min) if method == "cp-sat" else 0,
    )
