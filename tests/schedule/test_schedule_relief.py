"""Relays of a twin's anaesthetist planned for the simulated day (relief.py).

The schedule is optimised with most-likely step times; step times are right-skewed, so
the simulated day is longer. A shift in charge that fits the work limit with the planned
durations can pass it on most simulated days (default template with two divisions: the
anaesthetist in charge over the limit on 67 % of them); its relief is then an unplanned
hand-over of an anaesthetised infant. The relays are planned so that each shift in
charge stays within the limit on 90 % of simulated days (``ReliefParams.overrun_max``).

The small day below: twin A anaesthetised from induction (30 min) through four steps
of most likely 150 min to transfer out (30 min): 660 min, plus a 15-min hand-over tail
675 <= 720 min (12 h): one anaesthetist with the planned durations. With steps of
(140, 150, 300) min (triangular) the window's mean is 30 + 4 x 196.7 + 30 = 847 min,
far over the limit; with steps of (145, 150, 160) its largest possible value is
30 + 640 + 30 = 700 min (+ 15 = 715 <= 720): never over.
"""

from __future__ import annotations

import numpy as np
from sched_helpers import FAST, person, small_team, twin_a_day

from twinsep.schedule import compile_problem, greedy_schedule, solve_schedule, verify_schedule
from twinsep.schedule.export import render_runsheets_html
from twinsep.schedule.montecarlo import MonteCarloParams, run_monte_carlo, sampled_duties
from twinsep.schedule.relief import ReliefParams, solve_with_relief, tightened_limits
from twinsep.schedule.result import relay_after
from twinsep.schedule.team import Cover, Task, Team

MC = MonteCarloParams(n_samples=4000, seed=0)


def _day(step: tuple[float, float, float]) -> Team:
    return twin_a_day(step)


def _holders(sch) -> list[str]:
    return [c.person for c in sch.cover if c.twin == "A"]


def test_a_shift_that_fits_only_with_planned_durations_gets_a_planned_relay() -> None:
    team = _day((140, 150, 300))
    problem = compile_problem(team)
    # the plan at most-likely durations: one anaesthetist for 660 min (675 with the
    # hand-over tail), over the limit on most simulated days (mean window 847 min)
    plain = solve_schedule(problem, params=FAST)
    assert plain.makespan_min == 660 and len(_holders(plain)) == 1
    (only,) = _holders(plain)
    assert run_monte_carlo(problem, plain, params=MC).p_over_limit[only] > 0.5

    relieved = solve_with_relief(problem, solve=FAST, montecarlo=MC)
    sch = relieved.schedule
    assert verify_schedule(sch, team).ok  # the team's own limits, hand-overs and cover
    assert sch.makespan_min == 660  # the relay costs no time here
    holders = _holders(sch)
    assert len(holders) == 2, sch.cover  # one planned relay, not more
    assert not relieved.short and not relieved.notes
    # every anaesthetist in charge within the limit on >= 90 % of simulated days, by
    # the plan's own risk figures (the same samples)
    for name in holders:
        assert relieved.risk.p_over_limit[name] <= 0.10, (name, relieved.risk.p_over_limit)
    # the planning limit is below the 720-min limit and the relay falls at a step's end
    (limit,) = {cv.duty_limit_min for cv in relieved.problem.covers}
    assert limit is not None and limit < 720
    relay = sch.cover[0].end_min
    assert relay in {t.end_min for t in sch.tasks if t.name.startswith("step")}
    # said as a milestone (plan.json in_charge[].takes_over_after): the step that ends there
    first, second = sorted(sch.cover, key=lambda c: c.start_min)
    assert relay_after(sch, first) is None
    (step,) = [t.name for t in sch.tasks if t.name.startswith("step") and t.end_min == relay]
    assert relay_after(sch, second) == step
    # and on the run sheets' section of the twin: hands over to whom, after which step
    sheets = render_runsheets_html(sch)
    assert "hands over after (on the day, whatever the clock)" in sheets
    assert f"<td>{first.person}</td><td>{second.person}</td><td>{step}</td>" in sheets
    # greedy (the alternative and the warm start) keeps the planning limit and stays valid
    greedy = greedy_schedule(relieved.problem)
    assert verify_schedule(greedy, team).ok
    assert len(_holders(greedy)) == 2


def test_a_shift_that_fits_at_the_p90_keeps_one_anaesthetist() -> None:
    team = _day((145, 150, 160))
    problem = compile_problem(team)
    relieved = solve_with_relief(problem, solve=FAST, montecarlo=MC)
    sch = relieved.schedule
    assert verify_schedule(sch, team).ok
    (only,) = _holders(sch)
    assert relieved.risk.p_over_limit[only] == 0.0  # 715 min at most: never over
    assert all(cv.duty_limit_min is None for cv in relieved.problem.covers)
    # the same schedule as without the relief loop
    assert sch.cover == solve_schedule(problem, params=FAST).cover


def test_the_planning_limit_is_the_limit_scaled_by_the_sampled_duty() -> None:
    """planned duty x limit / (sampled duty at the 1 - overrun_max quantile), rounded
    down; no limit while the share over the limit is within overrun_max."""
    team = _day((140, 150, 300))
    problem = compile_problem(team)
    plain = solve_schedule(problem, params=FAST)
    duties = sampled_duties(problem, plain, params=MC)
    (only,) = _holders(plain)
    q90 = float(np.quantile(duties[only], 0.9))
    assert tightened_limits(problem, plain, duties, 0.10) == {0: int(675 * 720 // q90)}
    # accepting every overrun asks for no planning limit
    assert tightened_limits(problem, plain, duties, 1.0) == {}
    # rounds 0: the plan at most-likely durations, as before the relief loop
    before = solve_with_relief(problem, solve=FAST, montecarlo=MC, params=ReliefParams(rounds=0))
    assert before.schedule.cover == plain.cover


def test_the_planning_limit_stops_at_the_longest_step_of_the_person_in_charge() -> None:
    """A relay never falls inside a step that needs only the person in charge (a venous
    division is not handed over half-way): a 600-min step (range 560-1200) passes the
    limit on most days whoever holds it, and the limit stops at 600 + 15 min instead of
    asking for a schedule that no team has (the loop's solves without a schedule cost
    seconds each on the phantom plans)."""
    tasks = [Task(name="induction A", duration_min=30, needs={"anaesthetist": 1}, twin="A")]
    tasks.append(
        Task(
            name="division",
            duration_min=(560, 600, 1200),
            needs={"anaesthetist": 1, "neurosurgeon": 1},
            twin="A",
            after=("induction A",),
        )
    )
    tasks.append(
        Task(
            name="transfer A",
            duration_min=30,
            needs={"anaesthetist": 1},
            twin="A",
            after=("division",),
        )
    )
    people = [person(f"AN-A{i}", "anaesthetist", team="A", hours=12, ho=15) for i in (1, 2, 3)]
    people += [person("NS-1", "neurosurgeon", hours=24, ho=15)]
    cover = Cover(skill="anaesthetist", twin="A", **{"from": "induction A", "until": "transfer A"})
    team = small_team(people, tasks).model_copy(update={"continuous": (cover,)})
    problem = compile_problem(team)
    relieved = solve_with_relief(problem, solve=FAST, montecarlo=MC)
    assert not relieved.short and verify_schedule(relieved.schedule, team).ok
    (limit,) = {cv.duty_limit_min for cv in relieved.problem.covers}
    assert limit == 600 + 15
    assert relieved.schedule.makespan_min == 660
