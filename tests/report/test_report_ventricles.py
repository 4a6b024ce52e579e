"""The report's ventricle row per twin (plan.json ``ventricles``, twinsep.ventricles)."""

from __future__ import annotations

from typing import Any

from twinsep.report.render import render_report


def _plan() -> dict[str, Any]:
    return {
        "schema": "twinsep.plan/1",
        "version": "0.1.0",
        "created": "2026-11-27T00:00:00+00:00",
        "input": {"path": "ct.nii.gz", "sha256": "cd" * 32, "modality": "CT"},
        "options": {},
        "colours": {"A": "#7B3FA0", "B": "#F28C28"},
        "ventricles": {
            "A": {
                "volume_ml": 40.96,
                "evans_index": 0.469,
                "fohr": 0.468,
                "enlarged": True,
                "note": "",
            },
            "B": {
                "volume_ml": None,
                "evans_index": None,
                "fohr": None,
                "enlarged": False,
                "note": "no CSF body wider than 15 mm deep in the brain",
            },
        },
        "warnings": [],
        "parameters": {},
        "timings_s": {},
        "peak_rss_mb": {},
    }


def test_ventricle_rows_show_the_plan_numbers_and_what_was_not_measured() -> None:
    page = render_report(_plan(), {})
    table = page[page.index('<table id="ventricles">') :]
    table = table[: table.index("</table>")]
    rows = table.split("<tr>")[2:]
    assert len(rows) == 2 and "Twin A" in rows[0] and "Twin B" in rows[1]
    # A: the numbers as plan.json has them, rounded on the page, and "enlarged"
    assert 'data-key="ventricles.A.fohr" data-value="0.468"' in rows[0]
    assert ">0.47<" in rows[0] and ">0.47<" in rows[0].split("fohr")[1]
    assert ">41<" in rows[0] and "<b>enlarged</b>" in rows[0]
    # B: no number is invented for what was not measured; the reason is shown
    assert rows[1].count(">—<") == 3
    assert "not enlarged" in rows[1] and "wider than 15 mm" in rows[1]


def test_no_ventricle_section_no_table() -> None:
    plan = _plan()
    del plan["ventricles"]
    assert 'id="ventricles"' not in render_report(plan, {})
