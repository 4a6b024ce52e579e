"""The anaesthetist in charge of a twin attends the briefing before its induction
(walkthrough of session 27: on the expander day AN-A1 and AN-B1 were booked for the
20-min briefing and a hand-over to AN-A2 / AN-B2, who arrived at the induction and
missed the briefing)."""

from __future__ import annotations

from sched_helpers import FAST

from twinsep.schedule import compile_problem, verify_schedule
from twinsep.schedule.relief import solve_with_relief
from twinsep.schedule.result import on_duty
from twinsep.schedule.stage import fit_template
from twinsep.schedule.template import (
    StageInput,
    anaesthesia_covers,
    default_team,
    preparatory_tasks,
)

BRIEFING = "team briefing and time-out"


def test_the_expander_day_books_no_anaesthetist_for_the_briefing_alone() -> None:
    stage = StageInput(number=1, name="expanders", kind="preparatory", action="tissue_expander")
    team = fit_template(preparatory_tasks(stage), default_team(), source="test")
    relieved = solve_with_relief(compile_problem(team), solve=FAST)
    sch = relieved.schedule
    assert verify_schedule(sch, team, rules=relieved.problem.rules()).ok
    briefing = sch.task(BRIEFING)
    for c in sch.cover:
        # in charge from the briefing, which they attend, to the transfer out
        assert c.start_min == briefing.start_min == 0 and c.end_min == sch.makespan_min
        assert any(a.person == c.person for a in briefing.people), (c, briefing.people)
    # before: four anaesthetists, two of them on duty 35 min (briefing + hand-over)
    duty = on_duty(sch, {p.name: p.handover_min for p in team.people})
    anaesthetists = [p for p in duty if p.startswith("AN-")]
    assert len(anaesthetists) == 2, duty
    assert not [h for h in sch.handovers if h.skill == "anaesthetist"], sch.handovers


def test_the_cover_opens_at_the_briefing_only_when_it_asks_for_the_twin() -> None:
    stage = StageInput(number=1, name="expanders", kind="preparatory", action="tissue_expander")
    tasks = preparatory_tasks(stage)
    assert [c.from_task for c in anaesthesia_covers(tasks)] == [BRIEFING, BRIEFING]
    # a briefing without the twins' anaesthetists: the cover opens at the induction
    bare = [
        t.model_copy(update={"needs": {k: n for k, n in t.needs.items() if "@" not in k}})
        if t.name == BRIEFING
        else t
        for t in tasks
    ]
    assert [c.from_task for c in anaesthesia_covers(bare)] == [
        "induction and lines A",
        "induction and lines B",
    ]
