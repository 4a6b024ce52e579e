"""Relief for every role with a duty limit, and the shortest shift in charge (relief.py).

Session 27: with relays planned for the simulated day only for the anaesthetist in
charge, the scrub nurse of the longer side overran the 12-h limit on 77-93 % of
simulated days and a neurophysiologist on 85 % (vertical-II separation), and a relay in
charge could leave a 91-min shift. Here every role group (skill and team) whose member
overruns on more than ``overrun_max`` of the days gets a planning limit, and no shift in
charge of a relayed role is shorter than ``ReliefParams.min_shift_min``.

The nurse's day: four steps in a row, each (140, 150, 300) min (triangular, mean
196.7), each needing one scrub nurse, 600 min planned: one nurse (615 min with the
15-min hand-over tail, under 720). The sum of four steps is over 705 min in most
samples (mean 787), so that nurse overruns on most simulated days. A perfusionist
whose fixed 705-min task leaves no margin makes the plan indifferent to the nurses'
margins (as the tight people of a real day do), so the plain plan keeps one nurse.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sched_helpers import FAST, person, small_team

from twinsep.schedule import compile_problem, greedy_schedule, solve_schedule, verify_schedule
from twinsep.schedule.assemble import EARLY_CALL_MAX_MIN
from twinsep.schedule.export import render_runsheets_html
from twinsep.schedule.montecarlo import MonteCarloParams, run_monte_carlo, sampled_duties
from twinsep.schedule.problem import PlanningRules
from twinsep.schedule.relief import ReliefParams, solve_with_relief, tightened_duty_limits
from twinsep.schedule.result import on_duty
from twinsep.schedule.stage import relief_words
from twinsep.schedule.team import Cover, Task, Team
from twinsep.schedule.template import default_team, role_prefix

MC = MonteCarloParams(n_samples=4000, seed=0)


def _nurses_day() -> Team:
    tasks = [
        Task(name="bypass", duration_min=705, needs={"perfusionist": 1}),
    ]
    prev: tuple[str, ...] = ()
    for i in range(4):
        tasks.append(
            Task(
                name=f"step {i}",
                duration_min=(140, 150, 300),
                needs={"scrub_nurse": 1},
                after=prev,
            )
        )
        prev = (f"step {i}",)
    people = [person(f"SN-{i}", "scrub_nurse", hours=12, ho=15) for i in (1, 2, 3)]
    people.append(person("PF-1", "perfusionist", hours=12, ho=15))
    return small_team(people, tasks)


def _nurses(sch) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t in sch.tasks:
        for a in t.people:
            if a.role == "scrub_nurse":
                out.setdefault(a.person, []).append(t.name)
    return out


def test_a_scrub_nurse_who_overruns_on_most_days_is_relieved_at_a_step_boundary() -> None:
    team = _nurses_day()
    problem = compile_problem(team)
    plain = solve_schedule(problem, params=FAST)
    (only,) = _nurses(plain)  # one nurse for the 600 planned minutes
    assert run_monte_carlo(problem, plain, params=MC).p_over_limit[only] > 0.5

    relieved = solve_with_relief(problem, solve=FAST, montecarlo=MC)
    sch = relieved.schedule
    rules = relieved.problem.rules()
    assert verify_schedule(sch, team, rules=rules).ok
    assert not relieved.short and not relieved.notes
    # the scrub nurses' group has a planning limit below their own 720 min ...
    limit = rules.duty_limits["scrub_nurse@shared"]
    assert limit < 720 and "perfusionist@shared" not in rules.duty_limits
    # ... every nurse within the limit on >= 90 % of the simulated days (the plan's own
    # risk figures) and the relay at a step's end (a nurse does whole steps)
    nurses = _nurses(sch)
    assert len(nurses) == 2, nurses
    for name in nurses:
        assert relieved.risk.p_over_limit[name] <= 0.10, relieved.risk.p_over_limit
    assert sch.makespan_min == plain.makespan_min  # the relief costs no time here
    # greedy (baseline and warm start) keeps the planning limit and stays valid
    assert verify_schedule(greedy_schedule(relieved.problem), team, rules=rules).ok


def test_the_group_limit_is_the_own_limit_scaled_by_the_sampled_duty() -> None:
    team = _nurses_day()
    problem = compile_problem(team)
    plain = solve_schedule(problem, params=FAST)
    duties = sampled_duties(problem, plain, params=MC)
    (only,) = _nurses(plain)
    planned = verify_schedule(plain, team).duty_min[only]
    q = float(np.quantile(duties[only], 0.9))
    got = tightened_duty_limits(problem, plain, duties, 0.10)
    assert got == {"scrub_nurse@shared": math.floor(planned * 720 / q)}
    # within overrun_max nothing is lowered
    assert tightened_duty_limits(problem, plain, duties, 0.99) == {}


def _two_chains() -> Team:
    """Two chains of four (140, 150, 300)-min steps side by side, one scrub nurse each,
    three nurses: planned, two nurses of 615 min, both over the limit on most days. Their
    planning limit (about 494 min) allows three steps a nurse: the third nurse can take
    the last step of one chain only, the other chain's last step waits for her (+150
    min)."""
    tasks = []
    for chain in "AB":
        prev: tuple[str, ...] = ()
        for i in range(4):
            name = f"{chain} step {i}"
            tasks.append(
                Task(name=name, duration_min=(140, 150, 300), needs={"scrub_nurse": 1}, after=prev)
            )
            prev = (name,)
    people = [person(f"SN-{i}", "scrub_nurse", hours=12, ho=15) for i in (1, 2, 3)]
    return small_team(people, tasks)


def test_relief_never_makes_the_day_longer_than_the_plain_plan_by_more_than_the_margin() -> None:
    """A longer day keeps everyone longer (and, in an operation, the twins on the table):
    planning limits that only a longer day meets count as not met (``Relieved.wanted``:
    the default team grows), and the schedule keeps the plain day with a note."""
    team = _two_chains()
    problem = compile_problem(team)
    plain = solve_schedule(problem, params=FAST)
    assert plain.makespan_min == 600
    relieved = solve_with_relief(problem, solve=FAST, montecarlo=MC)
    assert relieved.schedule.makespan_min <= 600 + ReliefParams().longer_day_max_min
    assert relieved.short and "scrub_nurse@shared" in relieved.wanted_duty
    assert any("without a longer day" in n for n in relieved.notes), relieved.notes
    assert verify_schedule(relieved.schedule, team, rules=relieved.problem.rules()).ok
    # the trade it refuses: limits met by a day two hours longer
    longer = solve_with_relief(
        problem, solve=FAST, montecarlo=MC, params=ReliefParams(longer_day_max_min=10**6)
    )
    assert longer.schedule.makespan_min > 600 + 30
    # with one more nurse the limits are met on the plain day
    more = small_team(
        [*team.people, person("SN-4", "scrub_nurse", hours=12, ho=15)], list(team.tasks)
    )
    grown = solve_with_relief(
        compile_problem(more),
        solve=FAST,
        montecarlo=MC,
        start_duty=relieved.wanted_duty,
        makespan_cap=relieved.plain_makespan_min,
    )
    assert grown.schedule.makespan_min == 600 and not grown.short
    assert max(grown.risk.p_over_limit.values()) <= 0.10


def _relay_day() -> Team:
    """Twin A anaesthetised 720 min (30 + 300 + 300 + 60 + 30, fixed): one relay of the
    anaesthetist in charge is needed (12 h with a 15-min hand-over tail); of the
    milestones only minute 330 leaves both shifts 2 h or longer (630: a 90-min last
    shift; 690: 30 min). The perfusionist's 705-min task takes every margin away."""
    steps = [("induction A", 30), ("step 1", 300), ("step 2", 300), ("step 3", 60)]
    steps.append(("transfer A", 30))
    tasks = [Task(name="bypass", duration_min=705, needs={"perfusionist": 1})]
    prev: tuple[str, ...] = ()
    for name, d in steps:
        tasks.append(
            Task(name=name, duration_min=d, needs={"anaesthetist": 1}, twin="A", after=prev)
        )
        prev = (name,)
    people = [person(f"AN-A{i}", "anaesthetist", team="A", hours=12, ho=15) for i in (1, 2, 3)]
    people.append(person("PF-1", "perfusionist", hours=12, ho=15))
    cover = Cover(skill="anaesthetist", twin="A", **{"from": "induction A", "until": "transfer A"})
    return small_team(people, tasks).model_copy(update={"continuous": (cover,)})


def test_no_shift_in_charge_shorter_than_the_minimum() -> None:
    team = _relay_day()
    problem = compile_problem(team)
    # without the minimum the relay falls where the leaver's limit does (a 30-min shift)
    loose = solve_with_relief(
        problem, solve=FAST, montecarlo=MC, params=ReliefParams(min_shift_min=0)
    )
    assert min(c.end_min - c.start_min for c in loose.schedule.cover) < 120
    short = verify_schedule(loose.schedule, team, rules=PlanningRules(min_shift_min=120))
    assert any(v.startswith("shortest shift:") for v in short.violations)

    relieved = solve_with_relief(problem, solve=FAST, montecarlo=MC)
    sch = relieved.schedule
    assert relieved.problem.min_shift_min == 120 and not relieved.notes
    assert verify_schedule(sch, team, rules=relieved.problem.rules()).ok
    assert [(c.start_min, c.end_min) for c in sch.cover] == [(0, 330), (330, 720)]
    assert sch.makespan_min == loose.schedule.makespan_min
    # greedy (baseline and warm start) does not look for the minimum; it stays valid
    assert verify_schedule(greedy_schedule(relieved.problem), team).ok


def test_without_any_schedule_keeping_the_minimum_the_day_is_planned_with_a_note() -> None:
    team = _relay_day()
    problem = compile_problem(team)
    # 710 min: longer than anyone may hold the twin (705 with the tail), and a relay
    # is needed: no schedule keeps it, and none is made longer to try
    relieved = solve_with_relief(
        problem, solve=FAST, montecarlo=MC, params=ReliefParams(min_shift_min=710)
    )
    assert relieved.problem.min_shift_min == 0  # the rule is not claimed
    assert any("710 min or more" in n for n in relieved.notes), relieved.notes
    assert relieved.schedule.makespan_min == 720
    assert verify_schedule(relieved.schedule, team, rules=relieved.problem.rules()).ok


def test_the_default_team_grows_by_the_roles_the_day_asks_for() -> None:
    base = default_team()
    grown = default_team(extra={"SN": 1, "NP": 2, "NS-LEAD": 1})
    names = {p.name for p in grown.people} - {p.name for p in base.people}
    assert names == {"SN-A4", "SN-B4", "NP-4", "NP-5", "NS-LEAD-2"}
    assert role_prefix("scrub_nurse", "A") == "SN"
    assert role_prefix("circulating_nurse", "shared") == "NC"
    assert role_prefix("perfusionist", "A") is None
    assert relief_words({}) == "" and relief_words({"NP": 1}) == "1 more neurophysiologist"
    assert relief_words({"SN": 1, "AN": 2, "NP": 1}) == (
        "2 more anaesthetists per twin, 1 more neurophysiologist and 1 more scrub nurse per twin"
    )
    with pytest.raises(ValueError):
        default_team(extra={"XX": 1})


def test_the_run_sheets_list_the_staff_by_role_with_their_duty() -> None:
    """What the OR nursing lead books: per role and team, how many work that day and
    each one's duty, counted as the verifier counts it."""
    for team in (_nurses_day(), _relay_day()):
        relieved = solve_with_relief(compile_problem(team), solve=FAST, montecarlo=MC)
        sch = relieved.schedule
        ho = {p.name: p.handover_min for p in team.people}
        windows = on_duty(sch, ho)
        assert {p: b - a for p, (a, b) in windows.items()} == verify_schedule(sch, team).duty_min
        sheets = render_runsheets_html(
            sch, teams={p.name: p.team for p in team.people}, handover_min=ho
        )
        assert "staff by role and team (for the OR nursing lead)" in sheets
    # the nurses' day: two scrub nurses, in the order they arrive
    sch = solve_with_relief(compile_problem(_nurses_day()), solve=FAST, montecarlo=MC).schedule
    windows = on_duty(sch, {})
    first, second = sorted(_nurses(sch), key=lambda p: windows[p][0])
    sheets = render_runsheets_html(sch)
    assert (
        '<td rowspan="2">scrub nurse</td><td rowspan="2">shared</td><td rowspan="2">2</td>'
        in sheets
    )
    roster = sheets[sheets.index("staff by role and team") :]
    assert roster.index(f">{first}</td>") < roster.index(f">{second}</td>")


def test_nobody_is_called_in_hours_early_to_receive_a_hand_over() -> None:
    """Two steps of a scrub nurse 600 min apart: no nurse does both (735 min with the
    tail), so the first hands over to the second: a written note, not a colleague on
    duty for almost 10 h before her own 60 min (until session 27 the receiver's duty was
    stretched back to the hand-over whenever it fitted her limit, 675 of 720 min here,
    and the idle hours counted as duty)."""
    tasks = [
        Task(name="a", duration_min=60, needs={"scrub_nurse": 1}),
        Task(name="gap", duration_min=600, needs={"neurosurgeon": 1}, after=("a",)),
        Task(name="b", duration_min=60, needs={"scrub_nurse": 1}, after=("gap",)),
    ]
    people = [
        person("SN-1", "scrub_nurse", hours=12, ho=15),
        person("SN-2", "scrub_nurse", hours=12, ho=15),
        person("NS-1", "neurosurgeon", hours=16, ho=15),
    ]
    team = small_team(people, tasks)
    sch = solve_schedule(compile_problem(team), params=FAST)
    (after_a,) = [h for h in sch.handovers if h.after_task == "a"]
    assert after_a.to_person is None  # a written note for whoever does 'b'
    nurse_b = next(a.person for t in sch.tasks if t.name == "b" for a in t.people)
    assert verify_schedule(sch, team).duty_min[nurse_b] == 60 + 15
    # a receiver whose own work starts within the hour is still briefed in person
    short_gap = [
        t.model_copy(update={"duration_min": (30, 30, 30)}) if t.name == "gap" else t for t in tasks
    ]
    # (2-h nurses: neither does both steps, 0-165 min with the tail)
    quick = [
        p.model_copy(update={"max_continuous_h": 2.0}) if p.name.startswith("SN") else p
        for p in people
    ]
    sch = solve_schedule(compile_problem(small_team(quick, short_gap)), params=FAST)
    (after_a,) = [h for h in sch.handovers if h.after_task == "a"]
    nurse_b = next(a.person for t in sch.tasks if t.name == "b" for a in t.people)
    assert after_a.to_person == nurse_b != after_a.from_person
    b_start = next(t.start_min for t in sch.tasks if t.name == "b")
    assert 0 <= b_start - after_a.end_min <= EARLY_CALL_MAX_MIN
