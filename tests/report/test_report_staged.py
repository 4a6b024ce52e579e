"""The report's words about staged division and expansion agree with the plan's numbers.

Before: the summary said that the schedule puts all division steps in one operation
(true then, contradicting the stage rationales' weeks between divisions), and the
expander stage's "why" said "filled weekly for about 10-14 weeks ... grow skin to close
both heads" on vertical-II 128, whose fills ran 9 weeks and whose twin A was 7,739 mm²
short.
"""

from __future__ import annotations

from typing import Any

from test_report import _plan
from test_report_read_through import _staged_plan, _table, _text

from twinsep.report.render import division_operations_note, expander_stage_note, render_report


def _vertical_ii_like() -> dict[str, Any]:
    """Vertical-II 128's skin and staging numbers (from a CLI plan of 6418815)."""
    plan = _staged_plan()
    plan["separation"]["stages"][0]["action"] = "tissue_expander"
    plan["skin"]["expanders"][0]["fills"] = [
        {"day": d, "week": round(d / 7, 1), "add_ml": 10.0, "total_ml": 10.0 * (i + 1)}
        for i, d in enumerate([0, 7, 14, 21, 28, 35, 42, 49, 56, 63])
    ]
    plan["skin"]["twins"] = {
        "A": {
            "defect_area_mm2": 12489.0,
            "realised_gain_mm2": 4750.0,
            "shortfall_mm2": 7739.0,
            "covered": False,
        },
        "B": {
            "defect_area_mm2": 4200.0,
            "realised_gain_mm2": 5880.0,
            "shortfall_mm2": 0.0,
            "covered": True,
        },
    }
    plan["schedule"]["earlier_operations"] = [
        {
            "operation": "stage 1: Scalp tissue expander insertion",
            "stage": 1,
            "kind": "preparatory",
            "days_before_separation": 70,
            "makespan_min": 320,
        },
        {
            "operation": "stage 2: Staged division 1",
            "stage": 2,
            "kind": "division",
            "days_before_separation": 56,
            "makespan_min": 1005,
            "p50_min": 1186.17,
            "p90_min": 1284.99,
        },
    ]
    return plan


def test_the_summary_says_each_earlier_division_is_an_operation_of_its_own() -> None:
    plan = _vertical_ii_like()
    page = render_report(plan, {})
    summary = _text(page[page.index('<section id="summary">') : page.index("</section>")])
    assert "all division steps in one operation" not in summary
    # named by stage number, as the stage table, the calendar and the Gantt name them
    assert (
        "2 division steps (the division of stage 2 is an operation of its own, 56 days before "
        "the separation; the last, stage 3, is in the separation operation)" in summary
    )
    # two earlier divisions
    plan["schedule"]["earlier_operations"].append(
        {"operation": "stage 3: x", "stage": 3, "kind": "division", "days_before_separation": 7}
    )
    plan["separation"]["stages"].append({"number": 4, "kind": "separation"})
    assert division_operations_note(plan) == (
        "the divisions of stages 2 and 3 are operations of their own, 56, 7 days before the "
        "separation; the last, stage 4, is in the separation operation"
    )


def test_a_plan_scheduled_before_keeps_the_one_operation_sentence() -> None:
    # its earlier operations have no kind: all its division steps were in one operation
    assert division_operations_note(_staged_plan()) == (
        "the schedule places all division steps in one operation"
    )
    # one division step: nothing to say
    assert division_operations_note(_plan()) == ""


def test_the_expander_stage_says_the_plans_fills_days_and_shortfall() -> None:
    plan = _vertical_ii_like()
    stage = plan["separation"]["stages"][0]
    note = expander_stage_note(plan, stage)
    assert "then weekly from day 7 to day 63 (week 9), up to 10 fills each" in note
    assert "inserted 70 days before the separation operation, the last fill 7 days" in note
    assert "twin A 4,750 mm² of skin gain counted for a 12,489 mm² defect: short by 7,739" in note
    assert "twin B 5,880 mm² of skin gain counted for a 4,200 mm² defect: covered" in note
    row = _table(render_report(plan, {}), "stages")[1]
    assert "week 9" in row and "short by 7,739 mm²" in row
    # a division stage gets no skin note
    assert expander_stage_note(plan, plan["separation"]["stages"][1]) == ""


def test_an_earlier_division_operation_shows_its_p50_and_p90() -> None:
    page = render_report(_vertical_ii_like(), {})
    text = _text(page[page.index('id="earlier-operations"') :])[:400]
    assert "stage 2: Staged division 1, 56 days before the separation (nominal), planned" in text
    assert "1,005 min (16.8 h), P50 1,186 min (19.8 h), P90 1,285 min (21.4 h)." in text
    # a preparatory operation has none
    assert "planned 320 min (5.3 h);" in text
