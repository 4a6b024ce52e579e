"""Overrun risk: Monte Carlo over task durations, re-timing the optimised order.

The optimised schedule fixes an *order*: precedences, the table split, each person's
sequence of tasks, and the sequence on every equipment unit and table field (units are
assigned to tasks by a sweep over the planned start times). Each sample draws every
task's duration from its (min, most likely, max) as a triangular or PERT distribution
and starts each task as soon as everything before it in that order has ended (so
tasks may also start earlier than planned), but never before the planned arrival of
any of its people (the start of their planned duty: nobody is called in earlier than
the schedule says; until 2026-11-28 (session 26) a first task could start before its people
arrived, and their sampled duty was longer than the verifier's even with fixed
durations). All samples are computed together as
arrays: one vector operation per task.

Reported: P50/P90 of the makespan, of each person's on-duty hours (first start to last
end plus hand-over tail, shifts in charge of a twin and hand-overs given or received
included, as the verifier counts them: :mod:`twinsep.schedule.sampled_duty`) and the
chance of exceeding their limit, the planned critical path (zero float with most-likely
durations), each task's criticality index (share of samples in which it lies on the
critical path) and the overrun drivers (tasks whose duration correlates most with the
makespan).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from twinsep.errors import ConfigError
from twinsep.schedule.problem import Problem
from twinsep.schedule.result import Schedule
from twinsep.schedule.sampled_duty import duty_spans, task_release

logger = logging.getLogger(__name__)

Distribution = Literal["triangular", "pert"]
DISTRIBUTIONS: tuple[str, ...] = ("triangular", "pert")


@dataclass(frozen=True)
class MonteCarloParams:
    """Monte Carlo settings.

    Attributes
    ----------
    n_samples : int
        Number of sampled operations; 10,000 gives P90 to about ±1 % (binomial
        standard error of a 90 % quantile ≈ sqrt(0.09/n)).
    distribution : {"triangular", "pert"}
        Shape between min, most likely and max. Triangular is the conservative
        default (heavier tails than PERT for the same three numbers).
    seed : int
        Seed of ``numpy.random.default_rng``.
    n_drivers : int
        How many overrun drivers to report.
    """

    n_samples: int = 10_000
    distribution: Distribution = "triangular"
    seed: int = 0
    n_drivers: int = 5


@dataclass(frozen=True)
class Driver:
    """A task that drives overrun: duration-makespan correlation and criticality."""

    task: str
    correlation: float
    criticality: float


@dataclass(frozen=True)
class MonteCarloResult:
    """Risk summary of one schedule (minutes and hours as the names say)."""

    n_samples: int
    distribution: str
    seed: int
    planned_makespan_min: int
    makespan_mean_min: float
    makespan_p50_min: float
    makespan_p90_min: float
    p_overrun: float
    duty_p50_h: dict[str, float]
    duty_p90_h: dict[str, float]
    p_over_limit: dict[str, float]
    critical_path: tuple[str, ...]
    criticality: dict[str, float]
    drivers: tuple[Driver, ...]


def sample_durations(
    ranges_min: npt.ArrayLike,
    n_samples: int,
    *,
    distribution: Distribution = "triangular",
    rng: np.random.Generator,
) -> npt.NDArray[np.float64]:
    """Sample task durations.

    Parameters
    ----------
    ranges_min : array_like, shape (n_tasks, 3)
        (min, most likely, max) minutes per task.
    n_samples : int
    distribution : {"triangular", "pert"}
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (n_samples, n_tasks)
        Durations in minutes.
    """
    if distribution not in DISTRIBUTIONS:
        raise ConfigError("distribution", f"{distribution!r} is not one of {DISTRIBUTIONS}")
    r = np.asarray(ranges_min, dtype=np.float64).reshape(-1, 3)
    lo, mode, hi = r[:, 0], r[:, 1], r[:, 2]
    width = hi - lo
    safe = np.where(width > 0, width, 1.0)
    u = rng.random((n_samples, len(r)))
    if distribution == "triangular":
        c = (mode - lo) / safe
        left = u < c
        x = np.where(left, np.sqrt(u * c), 1.0 - np.sqrt((1.0 - u) * (1.0 - c)))
    else:
        a = 1.0 + 4.0 * (mode - lo) / safe
        b = 1.0 + 4.0 * (hi - mode) / safe
        x = rng.beta(a, b, size=(n_samples, len(r)))
    out: npt.NDArray[np.float64] = lo + x * width
    return out


def order_edges(problem: Problem, schedule: Schedule) -> list[list[int]]:
    """Predecessors of each task in the schedule's order (see module docstring)."""
    index = {t.name: i for i, t in enumerate(problem.tasks)}
    start = np.zeros(problem.n_tasks, dtype=np.int64)
    end = np.zeros(problem.n_tasks, dtype=np.int64)
    people: dict[str, list[int]] = defaultdict(list)
    for st in schedule.tasks:
        i = index[st.name]
        start[i], end[i] = st.start_min, st.end_min
        for a in st.people:
            people[a.person].append(i)
    preds: list[set[int]] = [set(p) for p in problem.order_preds()]
    for seq in people.values():
        seq.sort(key=lambda i: (start[i], i))
        for before, after in zip(seq, seq[1:], strict=False):
            preds[after].add(before)
    units: list[tuple[list[int], list[int]]] = []  # (users, amount) per resource
    for key in problem.team.equipment:
        users = [i for i, t in enumerate(problem.tasks) if key in t.equipment]
        units.append((users, [problem.tasks[i].equipment[key] for i in users]))
    for k in range(len(problem.team.tables)):
        users = [i for i in range(problem.n_tasks) if problem.table_of[i] == k]
        units.append((users, [problem.tasks[i].fields for i in users]))
    for users, amounts in units:
        last_on_unit: list[tuple[int, int]] = []  # (free from minute, last task) per unit
        for i, amt in sorted(zip(users, amounts, strict=True), key=lambda x: (start[x[0]], x[0])):
            free = sorted(
                (u for u, (f, _) in enumerate(last_on_unit) if f <= start[i]),
                key=lambda u: -last_on_unit[u][0],
            )
            take = free[:amt]
            while len(take) < amt:  # a new unit (the verified schedule respects capacity)
                last_on_unit.append((0, -1))
                take.append(len(last_on_unit) - 1)
            for u in take:
                prev = last_on_unit[u][1]
                if prev >= 0:
                    preds[i].add(prev)
                last_on_unit[u] = (int(end[i]), i)
    return [sorted(p) for p in preds]


def _retime(
    dur: npt.NDArray[np.float64],
    preds: Sequence[Sequence[int]],
    order: Sequence[int],
    release: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sampled starts and ends: each task as soon as its predecessors in the order have
    ended, never before its ``release`` minute; ``binding`` is the predecessor that
    decided the start (-1 where the release did)."""
    n, t_count = dur.shape
    start = np.zeros((n, t_count))
    binding = np.full((n, t_count), -1, dtype=np.int64)
    end = np.zeros((n, t_count))
    for t in order:
        ps = preds[t]
        start[:, t] = release[t]
        if ps:
            pe = end[:, ps]
            arg = np.argmax(pe, axis=1)
            last = pe[np.arange(n), arg]
            bound = last >= release[t]
            start[:, t] = np.where(bound, last, release[t])
            binding[:, t] = np.where(bound, np.asarray(ps)[arg], -1)
        end[:, t] = start[:, t] + dur[:, t]
    return start, end, binding


@dataclass(frozen=True)
class _Sampled:
    """Sampled durations and re-timed starts and ends of one schedule's tasks."""

    names: list[str]
    preds: list[list[int]]
    order: list[int]
    release: npt.NDArray[np.float64]
    dur: npt.NDArray[np.float64]
    start: npt.NDArray[np.float64]
    end: npt.NDArray[np.float64]
    binding: npt.NDArray[np.int64]


def _sample(problem: Problem, schedule: Schedule, params: MonteCarloParams) -> _Sampled:
    if params.n_samples < 2:
        raise ConfigError("n_samples", f"needs at least 2 samples, got {params.n_samples}")
    rng = np.random.default_rng(params.seed)
    names = [t.name for t in problem.tasks]
    preds = order_edges(problem, schedule)
    planned = {st.name: st.start_min for st in schedule.tasks}
    order = sorted(range(problem.n_tasks), key=lambda i: (planned[names[i]], i))
    ranges = np.array([t.duration_min for t in problem.tasks], dtype=np.float64)
    dur = sample_durations(ranges, params.n_samples, distribution=params.distribution, rng=rng)
    release = task_release(problem, schedule)
    start, end, binding = _retime(dur, preds, order, release)
    return _Sampled(names, preds, order, release, dur, start, end, binding)


def _duties(
    problem: Problem, schedule: Schedule, s: _Sampled
) -> dict[str, npt.NDArray[np.float64]]:
    """Each person's sampled on-duty minutes (latest end minus earliest start of the
    pieces of :func:`~twinsep.schedule.sampled_duty.duty_spans`), by name."""
    out: dict[str, npt.NDArray[np.float64]] = {}
    for person, pieces in sorted(duty_spans(problem, schedule, s.start, s.end).items()):
        lo = np.min([a for a, _ in pieces], axis=0)
        out[person] = np.max([b for _, b in pieces], axis=0) - lo
    return out


def sampled_duties(
    problem: Problem,
    schedule: Schedule,
    *,
    params: MonteCarloParams = MonteCarloParams(),
) -> dict[str, npt.NDArray[np.float64]]:
    """Each person's on-duty minutes in every sampled operation (the samples of
    :func:`run_monte_carlo` with the same ``params``).

    Returns
    -------
    dict
        Person name -> ndarray, shape (n_samples,).
    """
    return _duties(problem, schedule, _sample(problem, schedule, params))


def run_monte_carlo(
    problem: Problem,
    schedule: Schedule,
    *,
    params: MonteCarloParams = MonteCarloParams(),
) -> MonteCarloResult:
    """Monte Carlo overrun risk of ``schedule`` (see module docstring).

    Parameters
    ----------
    problem : Problem
        The problem the schedule solves.
    schedule : Schedule
        Its optimised order is kept.
    params : MonteCarloParams

    Returns
    -------
    MonteCarloResult
    """
    return simulate(problem, schedule, params=params)[0]


def simulate(
    problem: Problem,
    schedule: Schedule,
    *,
    params: MonteCarloParams = MonteCarloParams(),
) -> tuple[MonteCarloResult, dict[str, npt.NDArray[np.float64]]]:
    """:func:`run_monte_carlo`'s result and :func:`sampled_duties`' per-sample duties
    (minutes, by person) from one set of samples, for a caller that needs both."""
    sm = _sample(problem, schedule, params)
    names, preds, order, release = sm.names, sm.preds, sm.order, sm.release
    dur, end, binding = sm.dur, sm.end, sm.binding
    makespan = end.max(axis=1)
    last = end.argmax(axis=1)
    n = params.n_samples
    crit = np.zeros_like(dur, dtype=bool)
    crit[np.arange(n), last] = True
    for t in reversed(order):
        rows = np.nonzero(crit[:, t] & (binding[:, t] >= 0))[0]
        crit[rows, binding[rows, t]] = True
    criticality = crit.mean(axis=0)

    # planned critical path: zero float with most-likely durations
    d0 = problem.duration_min.astype(np.float64)[None, :]
    _, e0, _ = _retime(d0, preds, order, release)
    ms0 = float(e0.max())
    succ: list[list[int]] = [[] for _ in names]
    for t, ps in enumerate(preds):
        for p in ps:
            succ[p].append(t)
    latest_end = np.full(len(names), ms0)
    for t in reversed(order):
        if succ[t]:
            latest_end[t] = min(latest_end[s] - d0[0, s] for s in succ[t])
    float_min = latest_end - e0[0]
    critical_path = tuple(names[t] for t in order if abs(float_min[t]) < 1e-6)

    # on-duty hours per person, built as the verifier builds them
    duty50: dict[str, float] = {}
    duty90: dict[str, float] = {}
    over: dict[str, float] = {}
    duties = _duties(problem, schedule, sm)
    for person, span in duties.items():
        pp = problem.team.person(person)
        q50, q90 = np.percentile(span, [50, 90])
        duty50[person] = round(float(q50) / 60.0, 2)
        duty90[person] = round(float(q90) / 60.0, 2)
        over[person] = round(float(np.mean(span > pp.max_continuous_min)), 4)

    # drivers: correlation of each task's duration with the makespan
    dc = dur - dur.mean(axis=0)
    mc = makespan - makespan.mean()
    denom = np.sqrt((dc**2).sum(axis=0) * (mc**2).sum())
    corr = np.divide(
        (dc * mc[:, None]).sum(axis=0), denom, out=np.zeros(len(names)), where=denom > 0
    )
    top = np.argsort(-corr, kind="stable")[: params.n_drivers]
    drivers = tuple(
        Driver(
            task=names[t],
            correlation=round(float(corr[t]), 3),
            criticality=round(float(criticality[t]), 3),
        )
        for t in top
        if corr[t] > 0
    )
    p50, p90 = np.percentile(makespan, [50, 90])
    logger.debug("monte carlo: %d samples, P50 %.0f min, P90 %.0f min", n, p50, p90)
    result = MonteCarloResult(
        n_samples=n,
        distribution=params.distribution,
        seed=params.seed,
        planned_makespan_min=schedule.makespan_min,
        makespan_mean_min=round(float(makespan.mean()), 2),
        makespan_p50_min=round(float(p50), 2),
        makespan_p90_min=round(float(p90), 2),
        p_overrun=round(float(np.mean(makespan > schedule.makespan_min)), 4),
        duty_p50_h=duty50,
        duty_p90_h=duty90,
        p_over_limit=over,
        critical_path=critical_path,
        criticality={nm: round(float(c), 4) for nm, c in zip(names, criticality, strict=True)},
        drivers=drivers,
    )
    return result, duties
