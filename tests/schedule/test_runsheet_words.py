"""Run-sheet words read by the OR nursing lead (walkthrough of the real-CT demo plans)."""

from __future__ import annotations

import csv
import html
import io
import re

from twinsep.schedule.export import (
    render_csv,
    render_gantt_svg,
    render_ics,
    render_runsheets_html,
    table_heading,
)


def test_each_table_is_named_once(default_two_stage):
    _, _, sch = default_two_stage
    sheets = render_runsheets_html(sch)
    headings = re.findall(r'<section style="--c:#555"><h2>([^<(]+) \(', sheets)
    # before: "table joint", "table table A", "table table B"
    assert sorted(h.strip() for h in headings) == ["joint table", "table A", "table B"]
    assert "table table" not in sheets
    assert table_heading("OR table 2") == "OR table 2" and table_heading("left") == "left table"
    # the Gantt chart's group labels too (were "table: joint", "table: table A")
    labels = re.findall(r'font-weight="bold" fill="#333333">([^<]+)</text>', render_gantt_svg(sch))
    assert {"joint table", "table A", "table B"} <= set(labels) and "table: table A" not in labels


def test_in_charge_says_what_the_rows_beside_it_show(default_two_stage):
    _, _, sch = default_two_stage
    sheets = html.unescape(render_runsheets_html(sch))
    assert sch.cover
    for c in sch.cover:
        # before: "continuously: no other task meanwhile", above the rows of the tasks
        # the person does in charge (induction, scalp flaps, dural opening as the
        # twin's anaesthetist)
        words = f"continuously: twin {c.twin}'s {c.skill} in each of its tasks meanwhile"
        assert words in sheets
        meanwhile = [
            (t, a.role)
            for t in sch.tasks
            for a in t.people
            if a.person == c.person and t.start_min < c.end_min and t.end_min > c.start_min
        ]
        assert meanwhile  # the rows that made the old words wrong
        for t, role in meanwhile:
            assert role in (c.skill, f"{c.skill}@{c.twin}"), (t.name, role)
            assert t.twin in (c.twin, "joint", "both"), (t.name, t.twin)
    assert "no other task meanwhile" not in sheets
    assert "no other task meanwhile" not in render_ics([sch]).replace("\r\n ", "")


def test_csv_equipment_reads_as_the_run_sheets(default_two_stage):
    _, _, sch = default_two_stage
    rows = list(csv.DictReader(io.StringIO(render_csv([sch]))))
    by_task = {r["task"]: r["equipment"] for r in rows if r["kind"] == "task"}
    used = [t for t in sch.tasks if t.equipment]
    sheets = render_runsheets_html(sch)
    assert used
    for t in used:
        # before: "microscopex2; neuromonitoringx2" (the count glued to the name)
        assert by_task[t.name] == "; ".join(f"{k} x{n}" for k, n in t.equipment)
        if t.table:  # the run sheets' table sections list the equipment
            assert ", ".join(f"{k} ×{n}" for k, n in t.equipment) in sheets
