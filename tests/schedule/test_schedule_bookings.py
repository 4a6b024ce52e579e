"""Nobody booked for less than the shortest shift where someone on duty can take the work.

Session 28. The balancing's *margin* level (the largest smallest margin anyone keeps to
their work limit) ranked above *fewer people*, so a big team's work was spread thin: a
circulating nurse booked for 0.9 h so that a colleague's duty stayed at 8.6 h, far from
12 (vertical-II). A level before the margin now books as few people as possible for less
than ``ReliefParams.min_shift_min`` (120 min); the run sheets list those that remain.

The hand-made day (worked out by hand): three scrub-nurse steps in a row, ``open`` 300
min, ``check`` 60 min, ``close`` 300 min (fixed times), three nurses with a 12-h limit
and a 15-min hand-over, and a 45-min navigation registration beside ``check`` that only
the one navigation engineer can do. Makespan 660 min either way.

* margin first (as before): three nurses, duties 315, 75 and 315 min, smallest margin
  720 - 315 = 405 min; the nurse of ``check`` is booked for 75 min;
* fewest short bookings first: the ``check`` goes to the nurse of ``open`` or of
  ``close`` (duties 375 and 315 min, margin 345): two nurses, nobody under 120 min but
  the navigation engineer (45 + 15 = 60 min), whom nobody on duty can replace.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sched_helpers import FAST, person, small_team

from twinsep.schedule import compile_problem, verify_schedule
from twinsep.schedule.montecarlo import MonteCarloParams
from twinsep.schedule.relief import ReliefParams, solve_with_relief
from twinsep.schedule.result import on_duty
from twinsep.schedule.team import Task, Team

MC = MonteCarloParams(n_samples=500, seed=0)
HANDOVER = {f"SN-{i}": 15 for i in (1, 2, 3)} | {"IE-1": 15}


def _day() -> Team:
    tasks = [
        Task(name="open", duration_min=300, needs={"scrub_nurse": 1}),
        Task(name="check", duration_min=60, needs={"scrub_nurse": 1}, after=("open",)),
        Task(name="close", duration_min=300, needs={"scrub_nurse": 1}, after=("check",)),
        Task(
            name="registration", duration_min=45, needs={"navigation_engineer": 1}, after=("open",)
        ),
    ]
    people = [person(f"SN-{i}", "scrub_nurse", hours=12, ho=15) for i in (1, 2, 3)]
    people.append(person("IE-1", "navigation_engineer", hours=12, ho=15))
    return small_team(people, tasks)


def _nurse_duties(schedule: Any) -> list[int]:
    duty = on_duty(schedule, HANDOVER)
    return sorted(b - a for p, (a, b) in duty.items() if p.startswith("SN"))


def test_the_short_step_goes_to_a_nurse_already_on_duty() -> None:
    team = _day()
    relieved = solve_with_relief(compile_problem(team), solve=FAST, montecarlo=MC)
    sch = relieved.schedule
    assert sch.makespan_min == 660
    assert verify_schedule(sch, team, rules=relieved.problem.rules()).ok
    # two nurses, 375 and 315 min (the check with the open or with the close)
    assert _nurse_duties(sch) == [315, 375]
    # the only booking under 2 h is the one nobody on duty can take
    duty = on_duty(sch, HANDOVER)
    assert {p for p, (a, b) in duty.items() if b - a < 120} == {"IE-1"}
    assert duty["IE-1"][1] - duty["IE-1"][0] == 60


def test_without_a_shortest_booking_the_margin_spreads_the_work() -> None:
    """``min_shift_min`` 0: the margin decides, as before session 28 (the known answer
    above: three nurses, the check alone for 75 min)."""
    relieved = solve_with_relief(
        compile_problem(_day()),
        solve=FAST,
        montecarlo=MC,
        params=ReliefParams(min_shift_min=0),
    )
    assert _nurse_duties(relieved.schedule) == [75, 315, 315]
    assert relieved.schedule.min_booking_min == 0


def test_the_run_sheet_says_who_is_booked_for_under_two_hours_and_why() -> None:
    from twinsep.schedule.export import render_runsheets_html, short_bookings

    relieved = solve_with_relief(compile_problem(_day()), solve=FAST, montecarlo=MC)
    sch = relieved.schedule
    assert sch.min_booking_min == 120
    assert short_bookings(sch, HANDOVER) == [("IE-1", 300, 360, ["registration"])]
    page = render_runsheets_html(sch, handover_min=HANDOVER)
    assert "Booked for under 2 h (1): IE-1 1.0 h (registration)" in page
    assert "nobody on duty was found for these steps" in page
    # a schedule searched without the minimum claims nothing
    plain = solve_with_relief(
        compile_problem(_day()), solve=FAST, montecarlo=MC, params=ReliefParams(min_shift_min=0)
    )
    assert short_bookings(plain.schedule, HANDOVER) == []
    assert "Booked for under" not in render_runsheets_html(plain.schedule, handover_min=HANDOVER)


def test_the_run_sheets_open_with_the_planned_end_and_the_p50_and_p90_end() -> None:
    from twinsep.schedule.export import day_length_line, render_runsheets_html

    relieved = solve_with_relief(compile_problem(_day()), solve=FAST, montecarlo=MC)
    sch = relieved.schedule
    risk: Any = SimpleNamespace(makespan_p50_min=700.0, makespan_p90_min=760.0)
    line = day_length_line(sch, risk)
    # start 07:30: planned end 660 min later, P50 700 min, P90 760 min
    assert line.startswith("Planned D1 07:30 to D1 18:30 (11.0 h) with each step's most likely")
    assert "expect the end about D1 19:10 (11.7 h, P50)" in line
    assert "by D1 20:10 (12.7 h, P90) on 9 days in 10" in line
    # without a simulated day, the plan alone
    assert day_length_line(sch, None).endswith("the order of work and the clock times below.")
    page = render_runsheets_html(sch, handover_min=HANDOVER, risk=risk)
    assert page.count('<p class="day">') == 1 and "D1 19:10 (11.7 h, P50)" in page
