"""Relays of a continuous role planned for the day as it runs, not as it is planned.

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

Only continuous roles are treated: their relief is a hand-over of an anaesthetised twin
and can fall only between the role's tasks (or inside one needing two), whereas a
person with separate tasks can be replaced at any task boundary.
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
from twinsep.schedule.problem import Problem
from twinsep.schedule.result import Schedule
from twinsep.schedule.solve import SolveParams, solve_schedule
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
    """

    overrun_max: float = 0.10
    rounds: int = 3


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

    @property
    def short(self) -> bool:
        """True when the team could not meet the planning limits the day asked for."""
        return bool(self.wanted)


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
) -> Relieved:
    """Optimise one operation with its continuous roles relayed for the simulated day.

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
        Planning limits (role index -> minutes) to begin with: those a smaller team
        could not meet (:attr:`Relieved.wanted`), for the same operation with more
        people.

    Returns
    -------
    Relieved
        The last schedule found; ``notes`` says when the team could not keep every
        shift in charge within the limit at the stated share of days.

    Raises
    ------
    InfeasibleScheduleError
        When the operation has no schedule at all (the first solve, with ``start``
        when given).
    """
    if start:
        problem = with_limits(problem, start)
    schedule = solve_schedule(problem, params=solve, operation=operation)
    notes: list[str] = []
    wanted: dict[int, int] = {}
    risk: MonteCarloResult | None = None  # of ``schedule``, when simulated
    for _ in range(max(0, params.rounds) if problem.covers else 0):
        risk, duties = simulate(problem, schedule, params=montecarlo)
        limits = tightened_limits(problem, schedule, duties, params.overrun_max)
        if not limits:
            break
        tighter = with_limits(problem, limits)
        logger.debug("%s: planning limits of the roles in charge %s", operation, limits)
        try:
            again = solve_schedule(tighter, params=solve, operation=operation)
        except InfeasibleScheduleError:
            wanted = {
                c: cv.duty_limit_min
                for c, cv in enumerate(tighter.covers)
                if cv.duty_limit_min is not None
            }
            notes.append(
                f"{operation}: the team cannot keep every anaesthetist in charge of a twin "
                f"within the work limit on {1 - params.overrun_max:.0%} of simulated days "
                f"(no schedule with shifts in charge planned to {min(limits.values())} min "
                "of duty); the schedule keeps the last planning limit the team can meet: "
                "plan extra relief"
            )
            break
        problem, schedule, risk = tighter, again, None
    if risk is None:
        risk = simulate(problem, schedule, params=montecarlo)[0]
    return Relieved(
        problem=problem, schedule=schedule, risk=risk, notes=tuple(notes), wanted=wanted
    )


def with_limits(problem: Problem, limits: Mapping[int, int]) -> Problem:
    """``problem`` with the planning limits ``limits`` (role index -> minutes) set on
    its continuous roles (the others keep theirs)."""
    return replace(
        problem,
        covers=tuple(
            replace(cv, duty_limit_min=int(limits[c])) if c in limits else cv
            for c, cv in enumerate(problem.covers)
        ),
    )
