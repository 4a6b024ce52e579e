"""Relays of every role planned for the day as it runs, not as it is planned.

The schedule is optimised with most-likely step times, but step times are right-skewed
(min / most likely / max, long upper tails), so the simulated day is longer than the
planned one (default template, one division: planned 1099 min, P50 1293, P90 1379). A
relay of a twin's anaesthetist placed where the *planned* duty reaches the work limit
leaves the anaesthetist in charge over that limit on many simulated days (two
divisions: 67 %), and then the relief is an unplanned hand-over of an anaesthetised
infant at whatever moment the limit falls.

:func:`solve_with_relief` plans the relays so that every shift in charge stays within
the limit on all but ``ReliefParams.overrun_max`` of the simulated days: it solves,
simulates (:mod:`twinsep.schedule.montecarlo`, the same samples as the plan's risk
figures), and for each continuous role whose holder exceeds their limit more often,
lowers the role's planning limit (``CoverSpec.duty_limit_min``: the holder's whole duty,
hand-over included) by the ratio of the limit to that holder's sampled duty at the
``1 - overrun_max`` quantile, then solves again; at most ``ReliefParams.rounds`` times.
The limit only falls, so the loop ends; the relays are still as few as the planning
limit allows (phase 2 of :func:`~twinsep.schedule.solve.solve_schedule`). The solver
and the Monte Carlo are seeded, so the same input gives the same schedule.

Every other role with a duty limit is treated the same way (since 2026-11-28, session
27: the scrub nurse of the twin with the longer side overran on 77-93 % of simulated
days, a neurophysiologist on 85 %): for each person who exceeds their limit on more than
``overrun_max`` of the simulated days, their role group (skill and team,
:func:`~twinsep.schedule.problem.group_key`: ``scrub_nurse@A``) gets a planning limit
lowered by the same ratio (``Problem.duty_limits``). Such a person is relieved at a task
boundary, a milestone of the day, by a colleague of the group. People holding a shift in
charge are judged by their role's limit only.

A relay of a continuous role that leaves a short shift in charge (vertical-II: 91 and
120 min) is a hand-over of an anaesthetised infant for little duty: with
``ReliefParams.min_shift_min`` no shift in charge of a relayed role is shorter, and the
hand-over moves to another milestone, never at the cost of a longer day or another
relay (a level of phase 2 of the solver); when no milestone allows it, the schedule
keeps the short shift and a note says so. The same minimum is the shortest booking
(``Problem.min_booking_min``): the solver calls in as few people as it can for less
(session 28), and the run sheets list those that remain.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from twinsep.errors import InfeasibleScheduleError
from twinsep.schedule.montecarlo import (
    MonteCarloParams,
    MonteCarloResult,
    simulate,
)
from twinsep.schedule.problem import Problem, group_key
from twinsep.schedule.result import CoverShift, Schedule
from twinsep.schedule.solve import SolveParams, solve_schedule
from twinsep.schedule.team import Person
from twinsep.schedule.verify import verify_schedule

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReliefParams:
    """When the relays of a continuous role are planned for the simulated day.

    Attributes
    ----------
    overrun_max : float
        Largest share of simulated days on which a person in charge of a twin may exceed
        their work limit: 0.10, i.e. every shift in charge within the limit at the
        sampled P90, the risk level the plan reports for the day (``p90_min``, the
        long-day warning). A decision, not a fit: at the P50 half of the days would need
        an unplanned hand-over of an anaesthetised infant; far beyond the P90 the plan
        would rest on the triangular tails of estimated step times. 0 (or ``rounds`` 0)
        plans relays at the most-likely durations, as before 2026-11-28.
    rounds : int
        Re-solves at most (each one CP-SAT solve of the operation); the planning limit
        only falls, and a round that lowers no limit ends the loop.
    min_shift_min : int
        Shortest shift in charge of a continuous role that is relayed, minutes: 120. A
        decision, not a fit: each relay costs a hand-over of an anaesthetised infant (15
        min of two anaesthetists, the handover_min, and the risk of anaesthesia
        hand-overs: Jones JAMA 2018, Saager 2014), which is worth it for a working
        shift but not for an hour or so between two milestones; 2 h is also the length
        of the longest single steps a relay would otherwise fall beside (a scalp
        closure, 2-2.7 h). 0 lets a relay fall anywhere the limits allow (as before
        2026-11-28). Kept as far as the milestones allow at the shortest day and the
        fewest relays; a schedule that cannot keep it says so in a note.
    longer_day_max_min : int
        How much longer than the plain plan (most-likely durations, the team's own
        limits) the relief may make the planned day, minutes: 30. Planning limits that
        the team can meet only with a longer day (real-ct-vertical with the default
        team: +110 min, angular-frontal +121 min, 2026-11-28) would keep anaesthetised
        twins on the table longer and everyone's duty with them; beyond this margin the
        limits count as not met (:attr:`Relieved.wanted`): the default team then grows,
        a user's team keeps the last limits that did not lengthen the day, with a note.
        30 min leaves room for a hand-over or two that waits for a milestone (the
        tests' phantom: +6 min).
    """

    overrun_max: float = 0.10
    rounds: int = 3
    min_shift_min: int = 120
    longer_day_max_min: int = 30


@dataclass(frozen=True)
class Relieved:
    """The schedule kept, its problem (with the planning limits) and its risk."""

    problem: Problem
    schedule: Schedule
    risk: MonteCarloResult
    notes: tuple[str, ...] = ()
    wanted: dict[int, int] = field(default_factory=dict)
    """The planning limits (role index -> minutes) that the simulated day asked for
    and this team could not meet (empty when met; ``notes`` says so)."""
    wanted_duty: dict[str, int] = field(default_factory=dict)
    """The role groups' planning limits (group key -> minutes) that the simulated day
    asked for and this team could not meet (empty when met)."""
    plain_makespan_min: int | None = None
    """The makespan a longer day is judged by (``makespan_cap``, or the first solve's)."""

    @property
    def short(self) -> bool:
        """True when the team could not meet the planning limits the day asked for."""
        return bool(self.wanted or self.wanted_duty)


def tightened_limits(
    problem: Problem,
    schedule: Schedule,
    duties: dict[str, np.ndarray],
    overrun_max: float,
) -> dict[int, int]:
    """New planning limit of every continuous role whose holder overruns too often.

    Parameters
    ----------
    problem : Problem
    schedule : Schedule
        The planned schedule (its ``cover`` rows name the holders).
    duties : dict
        Sampled on-duty minutes per person (:func:`~twinsep.schedule.montecarlo.
        simulate`).
    overrun_max : float
        Largest share of samples over the limit that is accepted.

    Returns
    -------
    dict
        Role index -> planning limit, minutes (only roles that need a lower one):
        the lowest over the role's holders who exceed their limit in more than
        ``overrun_max`` of the samples of ``planned duty x limit / sampled duty at the
        1 - overrun_max quantile``, rounded down, and below the role's current limit;
        never below :func:`limit_floor` (a role already there is left out).
    """
    planned = verify_schedule(schedule, problem.team).duty_min
    out: dict[int, int] = {}
    for c, cv in enumerate(problem.covers):
        key = (cv.cover.twin, cv.cover.skill)
        floor = limit_floor(problem, c)
        for name in sorted({sh.person for sh in schedule.cover if (sh.twin, sh.skill) == key}):
            span = duties.get(name)
            if span is None or name not in planned:
                continue
            limit = cv.limit_of(problem.team.person(name))
            own = problem.team.person(name).max_continuous_min
            if float(np.mean(span > own)) <= overrun_max:
                continue
            q = float(np.quantile(span, 1.0 - overrun_max))
            new = math.floor(planned[name] * own / q) if q > 0 else limit
            new = max(min(new, limit - 1), floor)
            if new < limit:
                out[c] = min(out.get(c, new), new)
    return out


def tightened_duty_limits(
    problem: Problem,
    schedule: Schedule,
    duties: dict[str, np.ndarray],
    overrun_max: float,
) -> dict[str, int]:
    """New planning limit of every role group with a member who overruns too often.

    As :func:`tightened_limits`, for people who hold no shift in charge: a person over
    their own limit in more than ``overrun_max`` of the samples asks for ``planned duty
    x own limit / sampled duty at the 1 - overrun_max quantile`` (rounded down) for each
    of their skills' groups (:func:`~twinsep.schedule.problem.group_key`), below the
    group's current planning limit and never below :func:`group_floor`.

    Returns
    -------
    dict
        Group key -> planning limit, minutes (only groups that need a lower one).
    """
    planned = verify_schedule(schedule, problem.team).duty_min
    held = {sh.person for sh in schedule.cover}
    index = {p.name: j for j, p in enumerate(problem.people)}
    out: dict[str, int] = {}
    for name in sorted(set(planned) - held):
        span = duties.get(name)
        if span is None or name not in index:
            continue
        person = problem.people[index[name]]
        own = person.max_continuous_min
        if float(np.mean(span > own)) <= overrun_max:
            continue
        q = float(np.quantile(span, 1.0 - overrun_max))
        current = problem.limit_min(index[name])
        new = math.floor(planned[name] * own / q) if q > 0 else current
        for skill in person.skills:
            key = group_key(skill, person.team)
            cut = max(min(new, current - 1), group_floor(problem, key))
            if cut < min(current, problem.duty_limits.get(key, own)):
                out[key] = min(out.get(key, cut), cut)
    return out


def group_floor(problem: Problem, key: str) -> int:
    """Lowest planning limit of role group ``key``, minutes: its members' longest task
    (of any need they qualify for) plus their hand-over, so that a lower limit never
    takes away a task someone of the group could do (0 for a group without tasks)."""
    members = {j for j, p in enumerate(problem.people) if key in person_groups(p)}
    return max(
        (
            int(problem.duration_min[t]) + problem.people[j].handover_min
            for t, needs in enumerate(problem.needs)
            for need in needs
            for j in members.intersection(need.candidates)
        ),
        default=0,
    )


def person_groups(person: Person) -> set[str]:
    """The role groups of ``person`` (one per skill)."""
    return {group_key(s, person.team) for s in person.skills}


def limit_floor(problem: Problem, c: int) -> int:
    """Lowest planning limit of role ``c``, minutes: its longest task that needs the
    person in charge, plus the longest hand-over of its candidates. A relay falls between
    such tasks, never inside one that needs only the person in charge (a venous division
    is not handed over half-way), so a lower limit has no schedule with any team."""
    cv = problem.covers[c]
    longest = max((int(problem.duration_min[t]) for t, _ in cv.serving), default=0)
    return longest + max(problem.people[p].handover_min for p in cv.candidates)


def solve_with_relief(
    problem: Problem,
    *,
    solve: SolveParams = SolveParams(),
    montecarlo: MonteCarloParams = MonteCarloParams(),
    params: ReliefParams = ReliefParams(),
    operation: str = "separation",
    start: Mapping[int, int] | None = None,
    start_duty: Mapping[str, int] | None = None,
    makespan_cap: int | None = None,
    warm: Schedule | None = None,
    explain: bool = True,
) -> Relieved:
    """Optimise one operation with every role relieved for the simulated day.

    Parameters
    ----------
    problem : Problem
    solve : SolveParams
    montecarlo : MonteCarloParams
        The risk simulation (the same samples judge the relays).
    params : ReliefParams
    operation : str
        Label of the operation.
    start : mapping, optional
        Planning limits of the continuous roles (role index -> minutes) to begin with:
        those a smaller team could not meet (:attr:`Relieved.wanted`), for the same
        operation with more people.
    start_duty : mapping, optional
        The same for the role groups (:attr:`Relieved.wanted_duty`).
    makespan_cap : int, optional
        The plain plan's makespan to judge a longer day by (``params.longer_day_max_min``
        beyond it counts as not met): that of a smaller team for the same operation
        (:attr:`Relieved.plain_makespan_min`); None: this team's first solve.
    warm : Schedule, optional
        The same operation's schedule with a smaller team, to start the first solve's
        search from when the greedy scheduler finds none (each later round starts
        from the round before; :func:`~twinsep.schedule.solve.warm_start`).
    explain : bool
        Name the constraint family when the first solve finds no schedule
        (:func:`~twinsep.schedule.solve.solve_schedule`); False when the caller only
        needs to know that there is none. A round with tighter limits never explains
        (the previous round's schedule is kept).

    Returns
    -------
    Relieved
        The last schedule found; ``notes`` says when the team could not keep every
        duty within the limit at the stated share of days, or when the shortest shift
        in charge could not be kept.

    Raises
    ------
    InfeasibleScheduleError
        When the operation has no schedule at all (the first solve, with ``start`` and
        ``start_duty`` when given).
    """
    notes: list[str] = []
    shortest = max(0, int(params.min_shift_min))
    plain = replace(problem, min_shift_min=shortest, min_booking_min=shortest)
    problem = with_limits(plain, start or {}, start_duty)
    schedule = solve_schedule(
        problem, params=solve, operation=operation, warm=warm, explain=explain
    )
    cap = schedule.makespan_min if makespan_cap is None else int(makespan_cap)
    longest = cap + max(0, int(params.longer_day_max_min))
    wanted: dict[int, int] = {}
    wanted_duty: dict[str, int] = {}
    rounds = max(0, params.rounds)
    if schedule.makespan_min > longest:
        # the limits a smaller team asked for make this team's day longer: not met;
        # the plain plan instead
        wanted, wanted_duty = _limits_of(problem)
        notes.append(_longer_note(operation, params, schedule.makespan_min, cap))
        problem = plain
        schedule = solve_schedule(problem, params=solve, operation=operation, warm=warm)
        rounds = 0
    risk: MonteCarloResult | None = None  # of ``schedule``, when simulated
    for _ in range(rounds):
        risk, duties = simulate(problem, schedule, params=montecarlo)
        limits = tightened_limits(problem, schedule, duties, params.overrun_max)
        groups = tightened_duty_limits(problem, schedule, duties, params.overrun_max)
        if not limits and not groups:
            break
        tighter = with_limits(problem, limits, groups)
        logger.debug("%s: planning limits %s, of role groups %s", operation, limits, groups)
        try:
            again = solve_schedule(
                tighter, params=solve, operation=operation, warm=schedule, explain=False
            )
        except InfeasibleScheduleError:
            wanted, wanted_duty = _limits_of(tighter)
            asked = [*(f"{problem.covers[c].cover.key} {m}" for c, m in sorted(limits.items()))]
            asked += [f"{k} {m}" for k, m in sorted(groups.items())]
            notes.append(
                f"{operation}: the team cannot keep everyone within the work limit on "
                f"{1 - params.overrun_max:.0%} of simulated days (no schedule with duties "
                f"planned to {', '.join(asked)} min); the schedule keeps the last planning "
                "limits the team can meet: plan extra relief"
            )
            break
        if again.makespan_min > longest:
            wanted, wanted_duty = _limits_of(tighter)
            notes.append(_longer_note(operation, params, again.makespan_min, cap))
            break
        problem, schedule, risk = tighter, again, None
    if risk is None:
        risk = simulate(problem, schedule, params=montecarlo)[0]
    short = short_shifts(schedule, problem.min_shift_min)
    if short:
        # the milestones leave no other place at this makespan and number of relays:
        # the rule is not claimed for this schedule (verify_schedule checks what is)
        problem = replace(problem, min_shift_min=0)
        notes.append(
            f"{operation}: {short[0].person} is in charge of twin {short[0].twin} for only "
            f"{short[0].end_min - short[0].start_min} min: no hand-over milestone gives every "
            f"shift in charge {params.min_shift_min} min or more without a longer day or "
            "another relay"
        )
    return Relieved(
        problem=problem,
        schedule=schedule,
        risk=risk,
        notes=tuple(notes),
        wanted=wanted,
        wanted_duty=wanted_duty,
        plain_makespan_min=cap,
    )


def _limits_of(problem: Problem) -> tuple[dict[int, int], dict[str, int]]:
    """The planning limits of ``problem``: of its continuous roles and of its groups."""
    covers = {
        c: cv.duty_limit_min for c, cv in enumerate(problem.covers) if cv.duty_limit_min is not None
    }
    return covers, dict(problem.duty_limits)


def _longer_note(operation: str, params: ReliefParams, longer: int, cap: int) -> str:
    """The note for planning limits that only a longer day meets."""
    return (
        f"{operation}: the team cannot keep everyone within the work limit on "
        f"{1 - params.overrun_max:.0%} of simulated days without a longer day (planned "
        f"{longer} min instead of {cap}); the schedule keeps the last planning limits that "
        "do not lengthen it: plan extra relief"
    )


def short_shifts(schedule: Schedule, min_shift_min: int) -> list[CoverShift]:
    """Shifts in charge of relayed roles shorter than ``min_shift_min``, shortest first."""
    roles: dict[tuple[str, str], list[CoverShift]] = {}
    for sh in schedule.cover:
        roles.setdefault((sh.twin, sh.skill), []).append(sh)
    out = [
        sh
        for shs in roles.values()
        if len(shs) > 1
        for sh in shs
        if sh.end_min - sh.start_min < min_shift_min
    ]
    return sorted(out, key=lambda sh: (sh.end_min - sh.start_min, sh.twin, sh.start_min))


def with_limits(
    problem: Problem,
    limits: Mapping[int, int],
    duty: Mapping[str, int] | None = None,
) -> Problem:
    """``problem`` with the planning limits ``limits`` (role index -> minutes) set on
    its continuous roles (the others keep theirs) and the role groups' planning limits
    ``duty`` (group key -> minutes) set on its groups (the others keep theirs)."""
    return replace(
        problem,
        covers=tuple(
            replace(cv, duty_limit_min=int(limits[c])) if c in limits else cv
            for c, cv in enumerate(problem.covers)
        ),
        duty_limits={**problem.duty_limits, **{k: int(m) for k, m in (duty or {}).items()}},
    )
