"""Each person's sampled duty window in the Monte Carlo, built as the verifier builds it.

:func:`twinsep.schedule.verify.verify_schedule` measures a duty from the planned
schedule: a person's tasks (plus their hand-over tail), their shifts in charge of a
continuous role (plus the tail) and the hand-over rows they give or receive. The Monte
Carlo re-times the tasks; this module moves every other piece with the tasks it hangs
on, keeping its planned distance to them, so that with fixed durations (and a schedule
that re-timing leaves in place) every sampled duty is the verifier's:

* a shift in charge starts at the window's start (its first task's sampled start) or
  at its first task of the role, less the planned distance; it ends at the window's
  end or at its last task of the role, plus the planned distance;
* a shift holding no task of the role (a relay between two others, e.g. while the
  twin's surgeons work without it) follows its neighbours: it starts when its
  predecessor's sampled shift ends and ends when its successor's starts; several such
  shifts in a row keep their planned distances from the first one's start;
* a hand-over row after a task starts at that task's sampled end; a relay's row at the
  leaver's sampled end of the shift; each keeps its planned length.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import numpy.typing as npt

from twinsep.schedule.problem import CoverSpec, Problem
from twinsep.schedule.result import CoverShift, Schedule

Samples = npt.NDArray[np.float64]
#: per person, the sampled (start, end) of each piece of their duty, tails included
Spans = dict[str, list[tuple[Samples, Samples]]]


def shift_times(
    problem: Problem,
    schedule: Schedule,
    spec: CoverSpec,
    start: Samples,
    end: Samples,
) -> list[tuple[CoverShift, Samples, Samples]]:
    """Sampled (start, end) of every shift in charge of one continuous role, in order.

    Parameters
    ----------
    problem : Problem
    schedule : Schedule
        The planned schedule (its ``cover`` rows of this role tile the window).
    spec : CoverSpec
        The role.
    start, end : ndarray, shape (n_samples, n_tasks)
        Sampled task starts and ends (minutes).

    Returns
    -------
    list of (CoverShift, ndarray, ndarray)
        Each planned shift with its sampled start and end (end >= start).
    """
    c = spec.cover
    shifts = sorted(
        (sh for sh in schedule.cover if (sh.twin, sh.skill) == (c.twin, c.skill)),
        key=lambda sh: (sh.start_min, sh.end_min),
    )
    if not shifts:
        return []
    planned = {st.name: st for st in schedule.tasks}
    index = {t.name: i for i, t in enumerate(problem.tasks)}
    w0, w1 = shifts[0].start_min, max(sh.end_min for sh in shifts)
    tasks = [problem.tasks[t].name for t, _ in spec.serving]
    los: list[Samples | None] = []
    his: list[Samples | None] = []
    for sh in shifts:
        inside = [
            nm
            for nm in tasks
            if planned[nm].start_min >= sh.start_min and planned[nm].end_min <= sh.end_min
        ]
        lo: Samples | None = None
        hi: Samples | None = None
        if sh.start_min == w0:
            lo = start[:, spec.first]
        elif inside:
            t0 = min(inside, key=lambda nm: planned[nm].start_min)
            lo = start[:, index[t0]] - (planned[t0].start_min - sh.start_min)
        if sh.end_min == w1:
            hi = end[:, spec.last]
        elif inside:
            t1 = max(inside, key=lambda nm: planned[nm].end_min)
            hi = end[:, index[t1]] + (sh.end_min - planned[t1].end_min)
        los.append(lo)
        his.append(hi)
    # a relay with an anchored side on one neighbour only takes that side
    for k in range(1, len(shifts)):
        if his[k - 1] is None and los[k] is not None:
            his[k - 1] = los[k]
        elif los[k] is None and his[k - 1] is not None:
            los[k] = his[k - 1]
    # several shifts without a task in a row: planned distances from the run's start,
    # never past the next anchored end
    for k in range(1, len(shifts)):
        if los[k] is not None:
            continue
        prev = los[k - 1]
        assert prev is not None  # shift 0 starts the window; later ones filled in order
        stop = next(h for h in his[k:] if h is not None)  # the last shift ends the window
        los[k] = his[k - 1] = np.minimum(
            prev + (shifts[k].start_min - shifts[k - 1].start_min), stop
        )
    out: list[tuple[CoverShift, Samples, Samples]] = []
    for sh, lo, hi in zip(shifts, los, his, strict=True):
        assert lo is not None and hi is not None
        out.append((sh, lo, np.maximum(lo, hi)))
    return out


def planned_arrival(schedule: Schedule) -> dict[str, int]:
    """Minute at which each person's planned duty starts (as the verifier counts it:
    their first task, shift in charge or hand-over received)."""
    out: dict[str, int] = {}

    def seen(person: str, minute: int) -> None:
        out[person] = min(out.get(person, minute), minute)

    for st in schedule.tasks:
        for a in st.people:
            seen(a.person, st.start_min)
    for sh in schedule.cover:
        seen(sh.person, sh.start_min)
    for ho in schedule.handovers:
        for who in (ho.from_person, ho.to_person):
            if who is not None:
                seen(who, ho.start_min)
    return out


def task_release(problem: Problem, schedule: Schedule) -> Samples:
    """Earliest sampled start of each task (problem order): the latest planned arrival
    of its people, 0 for a task without people."""
    arrive = planned_arrival(schedule)
    index = {t.name: i for i, t in enumerate(problem.tasks)}
    out = np.zeros(problem.n_tasks)
    for st in schedule.tasks:
        out[index[st.name]] = max((arrive[a.person] for a in st.people), default=0)
    return out


def duty_spans(problem: Problem, schedule: Schedule, start: Samples, end: Samples) -> Spans:
    """Per person, the sampled pieces of their duty (see module docstring).

    Parameters
    ----------
    problem : Problem
    schedule : Schedule
    start, end : ndarray, shape (n_samples, n_tasks)
        Sampled task starts and ends (minutes).

    Returns
    -------
    dict
        Person name -> list of (start, end) sample arrays: their tasks as one piece
        (first start to last end plus hand-over tail), each shift in charge (plus
        tail) and each hand-over row given or received. The duty of a sample is the
        latest end minus the earliest start.
    """
    index = {t.name: i for i, t in enumerate(problem.tasks)}
    out: Spans = defaultdict(list)
    tasks_of: dict[str, list[int]] = defaultdict(list)
    for st in schedule.tasks:
        for a in st.people:
            tasks_of[a.person].append(index[st.name])
    for person, ts in tasks_of.items():
        h = problem.team.person(person).handover_min
        out[person].append((start[:, ts].min(axis=1), end[:, ts].max(axis=1) + h))
    relay_at: dict[tuple[str, str, int], Samples] = {}
    for spec in problem.covers:
        for sh, lo, hi in shift_times(problem, schedule, spec, start, end):
            h = problem.team.person(sh.person).handover_min
            out[sh.person].append((lo, hi + h))
            relay_at[(sh.person, f"in charge of twin {sh.twin}", sh.end_min)] = hi
    for ho in schedule.handovers:
        if ho.after_task in index:
            s = end[:, index[ho.after_task]] + (ho.start_min - schedule.task(ho.after_task).end_min)
        else:
            found = relay_at.get((ho.from_person, ho.after_task, ho.start_min))
            if found is None:
                continue
            s = found
        for who in (ho.from_person, ho.to_person):
            if who is not None:
                out[who].append((s, s + (ho.end_min - ho.start_min)))
    return out
