"""The report read as its users would (walkthrough of real-CT and clinical-phantom plans).

Each test fails on the template before that walkthrough: the surgeon asked which bone
each division operation cuts and how much vessel lies on each side of a crossing; the
plastic surgeon where the new expanders go.
"""

from __future__ import annotations

import re
from typing import Any

from test_report_read_through import _staged_plan, _table, _text

from twinsep.report.render import (
    crossing_number,
    division_stages,
    equipment_at_once,
    group_digits,
    render_report,
    sinus_kind_words,
)


def _two_divisions() -> dict[str, Any]:
    """The staged plan with what each division stage cuts by tissue, as plan.json has it
    (the two stages' areas add up to the plan's, tissue by tissue)."""
    plan = _staged_plan()
    total = plan["separation"]["area_mm2"]
    first = {k: round(0.4 * v, 1) for k, v in total.items()}
    plan["separation"]["stages"][1]["area_mm2_by_tissue"] = first
    plan["separation"]["stages"][2]["area_mm2_by_tissue"] = {
        k: round(v - first[k], 1) for k, v in total.items()
    }
    return plan


def test_each_division_stage_says_what_it_cuts_on_the_first_page() -> None:
    plan = _two_divisions()
    page = render_report(plan, {})
    rows = _table(page, "cut-area")
    # before: one column, the whole plan's area; which bone falls in which operation was
    # only in plan.json (separation.stages[].area_mm2_by_tissue)
    assert rows[0] == "tissue all stages (mm²) stage 2 (mm²) stage 3 (mm²)", rows[0]
    total = plan["separation"]["area_mm2"]["bone"]
    by_stage = [plan["separation"]["stages"][i]["area_mm2_by_tissue"]["bone"] for i in (1, 2)]
    bone = next(r for r in rows if r.startswith("bone "))
    assert bone.split()[1:] == [f"{v:,.0f}" for v in (total, *by_stage)], bone
    key = 'data-key="separation.stages.1.area_mm2_by_tissue.bone"'
    assert f'{key} data-value="{by_stage[0]}"' in page
    # the summary comes before the page break of The twins: on the first page(s)
    assert page.index('id="cut-area"') < page.index('id="twins"')


def test_one_division_stage_keeps_one_column() -> None:
    plan = _staged_plan()
    plan["separation"]["stages"][2]["area_mm2_by_tissue"] = dict(plan["separation"]["area_mm2"])
    assert division_stages(plan) == []
    rows = _table(render_report(plan, {}), "cut-area")
    assert rows[0] == "tissue area (mm²)"


def test_crossings_give_the_vessel_on_each_side_and_the_stages_numbers() -> None:
    plan = _staged_plan()
    for c, (a, b) in zip(
        plan["separation"]["vessel_crossings"], ((0.39, 0.81), (2.5, 0.04)), strict=True
    ):
        c.update(volume_a_ml=a, volume_b_ml=b, drains_toward="A" if a >= b else "B")
    # listed out of order: the number is the one the stages and the viewer use
    plan["separation"]["vessel_crossings"].reverse()
    rows = _table(render_report(plan, {}), "crossings")
    # before: no mL, and '#' was the row's place (vessel-2 shown as 1)
    assert "twin A side (mL)" in rows[0] and "twin B side (mL)" in rows[0]
    # the width in whole mm, as every output writes it (twinsep.readout): 3.1 and 1.9 mm
    assert rows[1].startswith("2 4.0, 5.0, 6.0 3 2.50 0.04 A 2"), rows[1]
    assert rows[2].startswith("1 1.0, 2.0, 3.0 2 0.39 0.81 B 3"), rows[2]
    assert crossing_number({"id": "vessel-07"}, 5) == "7"
    assert crossing_number({"number": 4, "id": "vessel-1"}, 1) == "4"
    assert crossing_number({}, 3) == "3"


def test_the_summary_says_where_the_new_expanders_go() -> None:
    plan = _staged_plan()
    first = plan["skin"]["expanders"][0]
    first["position"] = "right parietal"
    second = dict(first, volume_ml=47.4, position="vertex", label="A2")
    plan["skin"]["expanders"].append(second)
    page = render_report(plan, {})
    summary = _text(page[page.index('<section id="summary">') : page.index("</section>")])
    # before: "twin A 2 (250 + 47 mL)": how much, not where
    assert "New tissue expanders: twin A 2 (250 mL right parietal, 47 mL vertex); twin B none." in (
        summary
    ), summary
    rows = _table(page, "expanders")
    assert "where on the head" in rows[0]
    assert " right parietal " in rows[1] and " vertex " in rows[2]


def test_the_operating_time_card_gives_every_operations_length() -> None:
    plan = _staged_plan()
    plan["schedule"]["earlier_operations"] = [
        {
            "operation": "stage 1: Scalp tissue expander insertion",
            "stage": 1,
            "kind": "preparatory",
            "days_before_separation": 105,
            "makespan_min": 320,
            "p50_min": None,
            "p90_min": None,
        },
        {
            "operation": "stage 2: Staged division 1",
            "stage": 2,
            "kind": "division",
            "days_before_separation": 56,
            "makespan_min": 999,
            "p50_min": 1179.38,
            "p90_min": 1284.41,
        },
    ]
    page = render_report(plan, {})
    start = page.index('id="card-time"')
    card = _text(page[start : page.index("<h3>Cut area by tissue</h3>", start)])
    # before: 'earlier operations under Operating-room choreography' (page 3 or later),
    # while a staged division is a day under anaesthesia of its own (19.7 h here)
    assert (
        "earlier operations, each on its own day: stage 1 320 min (5.3 h) planned; "
        "stage 2 P50 1,179 min (19.7 h)"
    ) in card, card
    assert 'data-key="schedule.earlier_operations.1.p50_min" data-value="1179.38"' in page


def test_the_shared_card_says_which_sinus_is_shared() -> None:
    plan = _staged_plan()
    plan["shared"]["sinus_kind"] = "superior_sagittal"
    page = render_report(plan, {})
    start = page.index('id="shared-sinus"')
    # tags become spaces in _text; the page has none before "," or after "("
    line = re.sub(
        r"\( | (?=,)",
        lambda m: m.group(0).strip(),
        _text(page[start : page.index("</div>", start)]),
    )
    # before: "shared sinus: yes (2.4 mL)": which sinus was on the Fusion page only
    assert "shared sinus: yes, superior sagittal (2.4 mL)" in line, line
    plan["shared"]["sinus_kind"] = "circular"
    assert sinus_kind_words(plan) == "circular (a ring around the union)"
    plan["shared"]["shared_sinus"] = False
    assert sinus_kind_words(plan) == ""


def test_the_operating_time_card_says_what_equipment_the_room_needs() -> None:
    plan = _staged_plan()
    plan["schedule"]["tasks"] = [
        {
            "name": "craniotomy A side",
            "start_min": 100,
            "end_min": 200,
            "equipment": {"craniotome": 1},
        },
        {
            "name": "craniotomy B side",
            "start_min": 150,
            "end_min": 250,
            "equipment": {"craniotome": 1},
        },
        {
            "name": "division",
            "start_min": 250,
            "end_min": 400,
            "equipment": {"microscope": 2, "neuromonitoring": 2},
        },
        # starts when the division ends: its microscope is the division's, not a third
        {
            "name": "dural repair A",
            "start_min": 400,
            "end_min": 500,
            "equipment": {"microscope": 1},
        },
        {
            "name": "navigation registration",
            "start_min": 0,
            "end_min": 30,
            "equipment": {"navigation": 1},
        },
        {"name": "prep", "start_min": 30, "end_min": 60, "equipment": {}},
    ]
    assert equipment_at_once(plan) == [
        ("craniotome", 2),
        ("microscope", 2),
        ("neuromonitoring", 2),
        ("navigation", 1),
    ]
    page = render_report(plan, {})
    start = page.index('id="card-time"')
    card = _text(page[start : page.index("<h3>Cut area by tissue</h3>", start)])
    # before: no equipment anywhere in the report (run sheets and CSV only)
    assert (
        "equipment in use at once, at most: craniotome ×2, microscope ×2, "
        "neuromonitoring ×2, navigation ×1"
    ) in card, card
    plan["schedule"]["tasks"] = []
    assert equipment_at_once(plan) == [] and "equipment-at-once" not in render_report(plan, {})


def test_warnings_group_digits_as_the_tables_do() -> None:
    plan = _staged_plan()
    plan["warnings"] = [
        "reconstruct: twin A already carries 2 expanders (259 mL) under 24134 mm² of scalp; "
        "2 expanders on twin A provide 9836 mm² for a 7025 mm² defect",
        "modality guessed as CT from the value range -1145..3071 (looks like Hounsfield units)",
        "segment: metal outside the skull: 1.67 mL in 6 pieces (largest 0.57 mL at "
        "(70, 0, 1024) mm)",
        "separate: the cut follows the contact between the two brains over 1418.3 mm²",
    ]
    box = _text(render_report(plan, {}).split('id="warnings"')[1].split("</section>")[0])
    # before: "24134 mm²" in the warnings, "24,134" in the tables
    assert "under 24,134 mm² of scalp" in box and "provide 9,836 mm² for a 7,025 mm²" in box
    assert "(259 mL)" in box and "over 1,418.3 mm²" in box
    # a range of HU and coordinates are not quantities of a unit: left as they are
    assert "-1145..3071" in box and "(70, 0, 1024) mm" in box
    assert group_digits("10000 samples, 1504 min") == "10000 samples, 1,504 min"
