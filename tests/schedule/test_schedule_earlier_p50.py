"""plan.json gives P50 / P90 for every earlier operation, from the numbers its run sheets
and gantt.html print (session 29).

Before, ``schedule.earlier_operations[].p50_min`` / ``p90_min`` were null for the
preparatory operations (expander insertion, distraction) while their run sheets opened
with the simulated P50 and P90 end, and gantt.html showed a dash.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sched_helpers import FAST

from twinsep.schedule import stage as stage_mod
from twinsep.schedule.export import ExportParams, day_length_line, render_gantt_html
from twinsep.schedule.montecarlo import MonteCarloParams
from twinsep.schedule.relief import ReliefParams
from twinsep.schedule.stage import ScheduleParams, plan_schedule, schedule_section
from twinsep.schedule.template import StageInput

PARAMS = ScheduleParams(
    solve=FAST, montecarlo=MonteCarloParams(n_samples=400), relief=ReliefParams(rounds=0)
)
EXPANDER = StageInput(
    number=1, name="Scalp tissue expander insertion", kind="preparatory", action="tissue_expander"
)
DISTRACTION = StageInput(
    number=2, name="Cranial distraction", kind="preparatory", action="cranial_distraction"
)
FINAL = StageInput(
    number=3, name="Final separation", kind="separation", structures=("bridge",), area_mm2=2000.0
)


def _fixed(stage: StageInput) -> list:
    """The expander day's template with every step at its most likely time: a day that
    cannot vary (min = most likely = max)."""
    tasks = ORIGINAL(stage)
    if stage.number != EXPANDER.number:
        return tasks
    return [t.model_copy(update={"duration_min": (t.duration_min[1],) * 3}) for t in tasks]


ORIGINAL = stage_mod.preparatory_tasks


@pytest.fixture(scope="module")
def result():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stage_mod, "preparatory_tasks", _fixed)
        return plan_schedule([EXPANDER, DISTRACTION, FINAL], params=PARAMS, expander_days=70)


def test_a_day_that_cannot_vary_has_p50_and_p90_at_its_planned_end(result) -> None:
    section = schedule_section(result, ExportParams(lead_days=result.earlier_days))
    expander, distraction = section["earlier_operations"]
    assert expander["kind"] == distraction["kind"] == "preparatory"
    # known answer: every step fixed, so every simulated day is the planned one
    assert expander["makespan_min"] > 0
    assert expander["p50_min"] == expander["p90_min"] == expander["makespan_min"]
    # a day whose steps vary: simulated, right-skewed step times (before: null)
    assert distraction["p90_min"] > distraction["p50_min"] > distraction["makespan_min"]


def test_plan_json_gives_the_numbers_the_run_sheets_and_gantt_print(result) -> None:
    params = ExportParams(lead_days=result.earlier_days)
    section = schedule_section(result, params)
    page = render_gantt_html(
        result.final,
        params,
        others=result.earlier,
        others_risk=stage_mod.earlier_day_risks(result),
    )
    for op, risk, row in zip(
        result.earlier, result.earlier_day_risk, section["earlier_operations"], strict=True
    ):
        assert (row["p50_min"], row["p90_min"]) == (risk.makespan_p50_min, risk.makespan_p90_min)
        line = day_length_line(op, risk, params)
        assert f"({row['p50_min'] / 60:.1f} h, P50)" in line
        assert f"({row['p90_min'] / 60:.1f} h, P90)" in line
        gantt_row = page[page.index(f"<td>{op.operation}</td>") :].split("</tr>")[0]
        assert "—" not in gantt_row  # P50 and P90 given for preparatory days too


def test_a_result_cached_before_the_day_risks_keeps_the_division_risks(result) -> None:
    old = SimpleNamespace(**{**vars(result), "earlier_day_risk": ()})
    assert stage_mod.earlier_day_risks(old) == list(result.earlier_risk)  # type: ignore[arg-type]
