"""Run-sheet words read by the OR nursing lead (walkthrough of the real-CT demo plans)."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import re

from twinsep.schedule.export import (
    render_csv,
    render_gantt_html,
    render_gantt_svg,
    render_ics,
    render_runsheets_html,
    table_heading,
    write_outputs,
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


def test_every_operation_day_has_its_run_sheets(default_two_stage, tmp_path):
    team, _, sch = default_two_stage
    # an earlier operation of its own day (a staged division, as the stage makes one)
    early = dataclasses.replace(sch, operation="stage 3: Staged division 1")
    teams = {p.name: p.team for p in team.people}
    sheets = render_runsheets_html(sch, teams=teams, earlier=[early])
    heads = re.findall(r'<h1 class="op">([^<]+)</h1>', sheets)
    # before: the page held the separation's sheets alone (no earlier day)
    assert heads == [
        "stage 3: Staged division 1 — an earlier operation, on its own day",
        "The separation operation",
    ]
    one = render_runsheets_html(sch, teams=teams)
    assert '<h1 class="op">' not in one
    first = next(p for p in sorted(teams) if f"<h2>{p} — team" in one)
    parts = sheets.split('<h1 class="op">')
    assert f"<h2>{first} — team" in parts[1] and f"<h2>{first} — team" in parts[2]
    # each part is one operation's whole set of sheets (the same schedule twice here)
    assert parts[2].count("<section") == one.count("<section")
    write_outputs(tmp_path, sch, earlier=[early], teams=teams)
    written = (tmp_path / "runsheets.html").read_text(encoding="utf-8")
    assert "stage 3: Staged division 1 — an earlier operation" in written


def test_every_operation_day_has_its_gantt_chart(default_two_stage):
    _, _, sch = default_two_stage
    early = dataclasses.replace(sch, operation="stage 3: Staged division 1")
    page = render_gantt_html(sch, others=[early])
    # before: the separation's chart and a table of the earlier operations' lengths
    assert page.count("<svg") == 2
    assert "<h2>stage 3: Staged division 1</h2>" in page
    one = render_gantt_html(sch)
    assert page.count('class="task"') == 2 * one.count('class="task"')
