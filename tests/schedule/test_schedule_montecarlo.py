"""Monte Carlo risk against analytic results."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sched_helpers import FAST, person, small_team

from twinsep.errors import ConfigError
from twinsep.schedule import compile_problem, solve_schedule
from twinsep.schedule.assemble import make_schedule
from twinsep.schedule.montecarlo import (
    MonteCarloParams,
    MonteCarloResult,
    run_monte_carlo,
    sample_durations,
)
from twinsep.schedule.result import Schedule
from twinsep.schedule.sampled_duty import shift_times
from twinsep.schedule.team import Cover, Task, Team
from twinsep.schedule.verify import verify_schedule


def _tri_quantile(a: float, c: float, b: float, u: float) -> float:
    """Inverse CDF of the triangular distribution (min a, mode c, max b)."""
    if u < (c - a) / (b - a):
        return a + np.sqrt(u * (b - a) * (c - a))
    return b - np.sqrt((1 - u) * (b - a) * (b - c))


def _chain(ranges, people=1):
    tasks = [
        Task(
            name=f"t{i}",
            duration_min=r,
            needs={"neurosurgeon": 1},
            after=(f"t{i - 1}",) if i else (),
        )
        for i, r in enumerate(ranges)
    ]
    team = small_team([person(f"N{i}", "neurosurgeon", hours=48) for i in range(people)], tasks)
    problem = compile_problem(team)
    return problem, solve_schedule(problem, params=FAST)


def _fixed_durations_mc(team: Team, sch: Schedule) -> MonteCarloResult:
    """The Monte Carlo of ``sch`` with every duration fixed at its planned value."""
    fixed = team.with_tasks(
        [t.model_copy(update={"duration_min": (t.planned_min,) * 3}) for t in team.tasks],
        team.continuous,
    )
    return run_monte_carlo(compile_problem(fixed), sch, params=MonteCarloParams(n_samples=10))


def test_single_triangular_task_quantiles_match_inverse_cdf():
    a, c, b = 60.0, 90.0, 240.0
    problem, sch = _chain([(a, c, b)])
    mc = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=20_000, seed=3))
    # quantile standard error is about sqrt(p(1-p)/n)/pdf ~ 0.6 min here; 1.5 min is ~3 SE
    assert mc.makespan_p50_min == pytest.approx(_tri_quantile(a, c, b, 0.5), abs=1.5)
    assert mc.makespan_p90_min == pytest.approx(_tri_quantile(a, c, b, 0.9), abs=2.5)
    assert mc.makespan_mean_min == pytest.approx((a + b + c) / 3, abs=1.0)


def test_chain_mean_is_sum_of_means_and_p90_is_near_normal():
    rng = np.random.default_rng(7)
    lo = rng.uniform(20, 60, 30)
    mode = lo + rng.uniform(0, 40, 30)
    hi = mode + rng.uniform(10, 120, 30)
    ranges = [tuple(map(float, r)) for r in np.stack([lo, mode, hi], 1).round(1)]
    problem, sch = _chain(ranges)
    n = 10_000
    mc = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=n, seed=1))
    r = np.array(ranges)
    a, c, b = r[:, 0], r[:, 1], r[:, 2]
    mean = ((a + b + c) / 3).sum()
    var = ((a**2 + b**2 + c**2 - a * b - a * c - b * c) / 18).sum()
    sd = np.sqrt(var)
    assert abs(mc.makespan_mean_min - mean) < 4 * sd / np.sqrt(n)  # 4 standard errors
    # 30 independent terms: central limit; P90 within 0.1 sd of mean + 1.2816 sd
    assert abs(mc.makespan_p90_min - (mean + 1.2816 * sd)) < 0.1 * sd
    assert abs(mc.makespan_p50_min - mean) < 0.1 * sd
    # every task of a single chain is always critical
    assert all(v == 1.0 for v in mc.criticality.values())
    assert mc.critical_path == tuple(f"t{i}" for i in range(30))


def test_pert_mean():
    a, m, b = 30.0, 45.0, 120.0
    rng = np.random.default_rng(0)
    x = sample_durations([[a, m, b]], 40_000, distribution="pert", rng=rng)[:, 0]
    sd = (b - a) / 6  # PERT approximation is enough for the tolerance
    assert abs(x.mean() - (a + 4 * m + b) / 6) < 4 * sd / np.sqrt(len(x))
    assert x.min() >= a and x.max() <= b


def test_fixed_durations_reproduce_the_optimal_makespan(default_two_stage):
    _, problem, sch = default_two_stage
    mc = _fixed_durations_mc(problem.team, sch)
    assert mc.makespan_p50_min == sch.makespan_min == mc.makespan_p90_min
    # every person's duty as planned, the anaesthetists' shifts in charge of a twin
    # included (verify's duty windows: tasks, shifts and hand-overs)
    duty = verify_schedule(sch, problem.team).duty_min
    in_charge = {c.person for c in sch.cover}
    assert in_charge and in_charge <= set(mc.duty_p50_h)
    for who in in_charge:
        assert mc.duty_p50_h[who] == mc.duty_p90_h[who] == round(duty[who] / 60, 2), who


def test_dominant_chain_is_critical_and_drives_overrun():
    tasks = [
        Task(name="long 1", duration_min=(100, 120, 200), needs={"neurosurgeon": 1}),
        Task(
            name="long 2",
            duration_min=(100, 120, 200),
            needs={"neurosurgeon": 1},
            after=("long 1",),
        ),
        Task(name="short", duration_min=(10, 20, 30), needs={"anaesthetist": 1}),
    ]
    team = small_team([person("N1", "neurosurgeon"), person("A1", "anaesthetist")], tasks)
    problem = compile_problem(team)
    sch = solve_schedule(problem, params=FAST)
    mc = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=5000))
    assert mc.criticality["long 1"] == 1.0 and mc.criticality["short"] == 0.0
    assert {d.task for d in mc.drivers} == {"long 1", "long 2"}
    # makespan = sum of two independent triangulars: correlation of each ~ 1/sqrt(2)
    assert all(abs(d.correlation - 2**-0.5) < 0.03 for d in mc.drivers)
    assert mc.p_overrun > 0.5  # most-likely planning is optimistic for right-skewed tasks


def test_seeded_and_fast(default_two_stage):
    _, problem, sch = default_two_stage
    t0 = time.process_time()
    one = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=10_000, seed=5))
    cpu_s = time.process_time() - t0
    assert cpu_s < 2.0  # issue 8 target: 10,000 samples in <= 2 s
    two = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=10_000, seed=5))
    assert one == two
    other = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=10_000, seed=6))
    assert other.makespan_p50_min != one.makespan_p50_min
    assert one.makespan_p90_min > one.makespan_p50_min > sch.makespan_min * 0.9
    assert set(one.duty_p90_h) == {a.person for t in sch.tasks for a in t.people}


def test_bad_parameters():
    with pytest.raises(ConfigError, match="distribution"):
        sample_durations([[1, 2, 3]], 10, distribution="uniform", rng=np.random.default_rng())  # type: ignore[arg-type]


def _relays_without_tasks():
    """A hand-built verified schedule whose twin-A anaesthetist is relayed four times
    while the surgeons work (AN-2 and AN-3 hold no task of the role: AN-2 200-350,
    AN-3 350-450), and whose second neurosurgeon receives a hand-over (300-315) before
    their first task (330)."""
    chain = [
        ("induction A", 60, {"anaesthetist": 1}, "A"),
        ("surgery 1", 240, {"neurosurgeon": 1}, "both"),
        ("imaging", 30, {"radiographer": 1}, "both"),
        ("surgery 2", 270, {"neurosurgeon": 1}, "both"),
        ("transfer A", 60, {"anaesthetist": 1}, "A"),
    ]
    tasks = [
        Task(
            name=nm,
            duration_min=(0.8 * d, d, 1.5 * d),
            needs=needs,
            twin=twin,  # type: ignore[arg-type]
            after=(chain[i - 1][0],) if i else (),
        )
        for i, (nm, d, needs, twin) in enumerate(chain)
    ]
    people = [person(f"AN-{i}", "anaesthetist", team="A", ho=15) for i in range(1, 5)]
    people += [person(f"NS-{i}", "neurosurgeon", ho=15) for i in (1, 2)]
    people += [person("RG-1", "radiographer", ho=15)]
    cover = Cover(skill="anaesthetist", twin="A", **{"from": "induction A", "until": "transfer A"})
    team = small_team(people, []).with_tasks(tasks, (cover,))
    problem = compile_problem(team)
    who = {p.name: i for i, p in enumerate(team.people)}
    sch = make_schedule(
        problem,
        [0, 60, 300, 330, 600],
        [
            [(who["AN-1"], "anaesthetist")],
            [(who["NS-1"], "neurosurgeon")],
            [(who["RG-1"], "radiographer")],
            [(who["NS-2"], "neurosurgeon")],
            [(who["AN-4"], "anaesthetist")],
        ],
        cover=[
            (0, who["AN-1"], 0, 200),
            (0, who["AN-2"], 200, 350),
            (0, who["AN-3"], 350, 450),
            (0, who["AN-4"], 450, 660),
        ],
        operation="separation",
        lower_bound_min=660,
        method="hand-built",
        status="heuristic",
        solve_s=0.0,
    )
    return team, problem, sch


def test_fixed_durations_reproduce_every_duty_with_relays_holding_no_task():
    team, problem, sch = _relays_without_tasks()
    check = verify_schedule(sch, team)
    assert check.ok, check.violations
    # the verifier: AN-2 200-350 and AN-3 350-450 plus their 15 min tails; NS-2 from
    # the hand-over it receives at 300 to 600 + 15
    assert check.duty_min["AN-2"] == 165 and check.duty_min["AN-3"] == 115
    assert check.duty_min["NS-2"] == 315
    mc = _fixed_durations_mc(team, sch)
    assert mc.makespan_p50_min == sch.makespan_min == mc.makespan_p90_min
    assert set(mc.duty_p50_h) == set(check.duty_min)
    for who, minutes in check.duty_min.items():
        assert mc.duty_p50_h[who] == mc.duty_p90_h[who] == round(minutes / 60, 2), who


def test_sampled_relays_without_tasks_follow_their_neighbours():
    _, problem, sch = _relays_without_tasks()
    rng = np.random.default_rng(4)
    ranges = np.array([t.duration_min for t in problem.tasks])
    dur = sample_durations(ranges, 2000, rng=rng)
    start = np.concatenate([np.zeros((2000, 1)), np.cumsum(dur, axis=1)[:, :-1]], axis=1)
    end = start + dur
    times = shift_times(problem, sch, problem.covers[0], start, end)
    assert [sh.person for sh, _, _ in times] == ["AN-1", "AN-2", "AN-3", "AN-4"]
    (_, a1, b1), (_, a2, b2), (_, a3, b3), (_, a4, b4) = times
    # the window moves with induction and transfer; AN-1 hands over 140 min after the
    # end of induction, AN-4 takes over 150 min before transfer starts
    assert np.array_equal(a1, start[:, 0]) and np.array_equal(b4, end[:, 4])
    assert np.array_equal(b1, end[:, 0] + 140) and np.array_equal(a4, start[:, 4] - 150)
    # no gap and no overlap in the chain of relays; AN-3 150 min after AN-2 unless the
    # successor's start comes first
    assert np.array_equal(a2, b1) and np.array_equal(a3, b2) and np.array_equal(a4, b3)
    assert np.array_equal(a3, np.minimum(a2 + 150, a4))
    assert (b2 >= a2).all() and (b3 >= a3).all()


def test_nobody_starts_before_their_planned_arrival():
    # NS-2 is called for minute 90 although surgery 1 ends at 60 (a solver may place a
    # first task late to shorten a duty): a sampled day never starts their work earlier
    tasks = [
        Task(name="surgery 1", duration_min=(40, 60, 120), needs={"neurosurgeon@A": 1}),
        Task(
            name="surgery 2",
            duration_min=(40, 60, 120),
            needs={"neurosurgeon@B": 1},
            after=("surgery 1",),
        ),
    ]
    team = small_team(
        [person("NS-1", "neurosurgeon", team="A"), person("NS-2", "neurosurgeon", team="B")],
        tasks,
    )
    problem = compile_problem(team)
    sch = make_schedule(
        problem,
        [0, 90],
        [[(0, "neurosurgeon@A")], [(1, "neurosurgeon@B")]],
        operation="separation",
        lower_bound_min=120,
        method="hand-built",
        status="heuristic",
        solve_s=0.0,
    )
    check = verify_schedule(sch, team)
    assert check.ok, check.violations
    mc = _fixed_durations_mc(team, sch)
    # before: surgery 2 at 60 and the day 120 min long with every duration as planned
    assert mc.makespan_p50_min == 150 == sch.makespan_min
    assert (
        mc.duty_p50_h
        == {"NS-1": 1.0, "NS-2": 1.0}
        == {k: round(v / 60, 2) for k, v in check.duty_min.items()}
    )
    # sampled: surgery 2 starts at max(90, end of surgery 1), so the day overruns 150 min
    # with P(max(90, d1) + d2 > 150) for d1, d2 ~ triangular(40, 60, 120) (0.780 by
    # quadrature; 0.428 if surgery 2 could start at d1); SE 0.003 at 20,000 samples
    x = np.linspace(40.0, 120.0, 160_001)
    cdf = _tri_cdf(x)
    expected = np.trapezoid(np.gradient(cdf, x) * (1.0 - _tri_cdf(150.0 - np.maximum(90.0, x))), x)
    assert expected == pytest.approx(0.7795, abs=1e-3)
    mc = run_monte_carlo(problem, sch, params=MonteCarloParams(n_samples=20_000, seed=2))
    assert mc.p_overrun == pytest.approx(expected, abs=0.015)


def _tri_cdf(x: np.ndarray, a: float = 40.0, c: float = 60.0, b: float = 120.0) -> np.ndarray:
    """CDF of the triangular distribution (min a, mode c, max b)."""
    x = np.clip(x, a, b)
    return np.where(
        x <= c, (x - a) ** 2 / ((b - a) * (c - a)), 1 - (b - x) ** 2 / ((b - a) * (b - c))
    )
