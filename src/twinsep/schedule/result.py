"""Result types of the schedule: tasks with times and people, hand-overs, the schedule."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Assignment:
    """``person`` fills the need ``role`` (a need key such as ``anaesthetist@A``)."""

    person: str
    role: str


@dataclass(frozen=True)
class ScheduledTask:
    """A task placed in time (minutes from the start of the operation)."""

    name: str
    start_min: int
    end_min: int
    twin: str
    table: str | None
    room: str | None
    people: tuple[Assignment, ...]
    equipment: tuple[tuple[str, int], ...]
    phase: str
    duration_range_min: tuple[float, float, float]
    separation: bool = False

    @property
    def duration_min(self) -> int:
        return self.end_min - self.start_min

    @property
    def person_names(self) -> tuple[str, ...]:
        return tuple(a.person for a in self.people)


@dataclass(frozen=True)
class Handover:
    """``from_person`` briefs ``to_person`` on ``skill`` work in ``[start_min, end_min)``.

    ``to_person`` is None for a written hand-over note: nobody who does the next task
    of that skill can be on duty at the hand-over within their own work limit (the next
    such task starts long after, with people who arrive fresh).
    """

    from_person: str
    to_person: str | None
    skill: str
    start_min: int
    end_min: int
    after_task: str
    next_task: str


@dataclass(frozen=True)
class CoverShift:
    """``person`` is in charge of twin ``twin`` as its ``skill`` over
    ``[start_min, end_min)`` (a continuous role, e.g. the twin's anaesthetist): present
    at every minute, filling that twin's ``skill`` need of every task meanwhile, given
    no other task. Consecutive shifts of one twin are relays with a hand-over."""

    twin: str
    skill: str
    person: str
    start_min: int
    end_min: int


@dataclass(frozen=True)
class Schedule:
    """One operation's schedule.

    Attributes
    ----------
    operation : str
        E.g. ``"separation"`` or ``"stage 1: expander insertion"``.
    tasks : tuple of ScheduledTask
        In start order.
    handovers : tuple of Handover
    makespan_min : int
        End of the last task, minutes.
    lower_bound_min : int
        Best proven lower bound on the makespan (critical path or solver bound).
    method : str
        ``"cp-sat"`` or ``"greedy"``.
    status : str
        ``"optimal"`` (makespan proven optimal), ``"feasible"`` or ``"heuristic"``.
    solve_s : float
        Wall time of the optimisation, seconds.
    makespan_s : float
        Wall time until the makespan phase ended (proof of optimality or limit), s.
    warnings : tuple of str
    search_end : tuple of str
        How each CP-SAT phase's search ended, makespan phase first, then the balancing
        phase when it ran: ``"proof"``, ``"deterministic limit"`` (both independent of
        the machine) or ``"wall-clock limit"`` (the schedule may differ on an idle
        machine); empty for the greedy scheduler alone.
    cover : tuple of CoverShift
        Who is in charge of each twin for every continuous role (the twin's
        anaesthetist from induction to transfer out), in time order per twin.
    min_booking_min : int
        The shortest booking the schedule was searched for (``Problem.
        min_booking_min``; 0: none): anyone on duty for less was the only way found
        to staff their steps, and the run sheets say so.
    """

    operation: str
    tasks: tuple[ScheduledTask, ...]
    handovers: tuple[Handover, ...]
    makespan_min: int
    lower_bound_min: int
    method: str
    status: str
    solve_s: float
    makespan_s: float = 0.0
    warnings: tuple[str, ...] = field(default=())
    search_end: tuple[str, ...] = field(default=())
    cover: tuple[CoverShift, ...] = field(default=())
    min_booking_min: int = 0

    @property
    def gap(self) -> float:
        """Relative gap between makespan and lower bound (0 = proven optimal)."""
        if self.makespan_min <= 0:
            return 0.0
        return (self.makespan_min - self.lower_bound_min) / self.makespan_min

    def task(self, name: str) -> ScheduledTask:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)


def relay_after(schedule: Schedule, shift: CoverShift) -> str | None:
    """The step after which ``shift``'s holder takes over: the last task of the leaving
    holder that ends by the relay (None for a role's first shift, or a leaver without a
    task before it). A relay is a milestone ("hand over after the craniotomy"), not a
    clock time: on the day it moves with that step, as in the Monte Carlo.

    Parameters
    ----------
    schedule : Schedule
    shift : CoverShift
        One of ``schedule.cover``.

    Returns
    -------
    str or None
        Task name.
    """
    before = [
        sh
        for sh in schedule.cover
        if (sh.twin, sh.skill) == (shift.twin, shift.skill) and sh.end_min == shift.start_min
    ]
    if not before:
        return None
    leaver = before[0].person
    done = [
        st
        for st in schedule.tasks
        if st.end_min <= shift.start_min and any(a.person == leaver for a in st.people)
    ]
    return max(done, key=lambda st: (st.end_min, st.start_min)).name if done else None


def on_duty(schedule: Schedule, handover_min: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Each person's duty window ``(start, end)``, minutes, as
    :func:`~twinsep.schedule.verify.verify_schedule` counts it: their tasks (first start
    to last end plus their hand-over minutes, ``handover_min`` by name, 0 when absent),
    their shifts in charge (plus the same tail) and the hand-overs they give or receive."""
    out: dict[str, tuple[int, int]] = {}

    def seen(person: str, a: int, b: int) -> None:
        lo, hi = out.get(person, (a, b))
        out[person] = (min(lo, a), max(hi, b))

    for t in schedule.tasks:
        for a in t.people:
            seen(a.person, t.start_min, t.end_min + int(handover_min.get(a.person, 0)))
    for c in schedule.cover:
        seen(c.person, c.start_min, c.end_min + int(handover_min.get(c.person, 0)))
    for h in schedule.handovers:
        for who in (h.from_person, h.to_person):
            if who is not None:
                seen(who, h.start_min, h.end_min)
    return out
