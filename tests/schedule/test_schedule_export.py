"""Outputs parse with standard tools and carry colours and text labels."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import timedelta

from twinsep.schedule.export import (
    ExportParams,
    cover_label,
    render_csv,
    render_gantt_html,
    render_gantt_svg,
    render_ics,
    render_runsheets_html,
    write_outputs,
)

A, B = "#7B3FA0", "#F28C28"


def test_csv_rows_colours_labels(default_two_stage):
    _, _, sch = default_two_stage
    rows = list(csv.DictReader(io.StringIO(render_csv([sch]))))
    assert len(rows) == len(sch.tasks) + len(sch.cover) + len(sch.handovers)
    # each twin's anaesthetist in charge: rows tiling briefing start to transfer end
    for twin, colour in (("A", A), ("B", B)):
        charge = [r for r in rows if r["kind"] == "in charge" and r["twin"] == twin]
        assert [(r["colour"], r["label"]) for r in charge] == [(colour, twin)] * len(charge)
        spans = sorted((int(r["start_min"]), int(r["end_min"])) for r in charge)
        # from the briefing before the induction, which the one in charge attends
        assert spans[0][0] == sch.task("team briefing and time-out").start_min
        assert spans[-1][1] == sch.task(f"dressing and transfer to ICU {twin}").end_min
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert {r["people"] for r in charge} == {c.person for c in sch.cover if c.twin == twin}
    tasks = [r for r in rows if r["kind"] == "task"]
    for r in tasks:
        expected = {"A": (A, "A"), "B": (B, "B"), "both": ("#5F6B7A", "joint")}[r["twin"]]
        assert (r["colour"], r["label"]) == expected
        assert int(r["end_min"]) - int(r["start_min"]) == int(r["duration_min"]) > 0
    assert {r["label"] for r in tasks} == {"A", "B", "joint"}
    first = min(tasks, key=lambda r: int(r["start_min"]))
    assert first["start_clock"] == "D1 07:30"
    custom = render_csv([sch], ExportParams(colour_a="#00AA00", colour_b="#AA00AA"))
    assert "#00AA00" in custom and A not in custom


def _unfold(text: str) -> list[str]:
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    lines: list[str] = []
    for raw in text.split("\r\n"):
        assert len(raw.encode("utf-8")) <= 75
        if raw.startswith(" "):
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def test_ics_is_valid_and_stable(default_two_stage):
    _, _, sch = default_two_stage
    text = render_ics([sch])
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(x.startswith("PRODID:") for x in lines)
    events: list[dict[str, str]] = []
    for line in lines:
        if line == "BEGIN:VEVENT":
            events.append({})
        elif events and ":" in line and line != "END:VEVENT":
            k, v = line.split(":", 1)
            events[-1][k] = v
    # one event per task and per shift in charge of a twin (the anaesthetist in charge)
    assert sch.cover and len(events) == len(sch.tasks) + len(sch.cover)
    for c in sch.cover:
        ev = next(e for e in events if e["SUMMARY"] == f"[{c.twin}] {cover_label(c)}")
        s, e = (ExportParams().start + timedelta(minutes=m) for m in (c.start_min, c.end_min))
        assert (ev["DTSTART"], ev["DTEND"]) == (f"{s:%Y%m%dT%H%M%S}", f"{e:%Y%m%dT%H%M%S}")
        assert "in charge" in ev["CATEGORIES"]
        relayed = [
            h for h in sch.handovers if h.from_person == c.person and h.start_min == c.end_min
        ]
        if relayed:
            assert f"Hands over to: {relayed[0].to_person}" in ev["DESCRIPTION"]
    for ev in events:
        for key in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert key in ev
        assert ev["DTSTART"] < ev["DTEND"]
    assert len({ev["UID"] for ev in events}) == len(events)
    assert text == render_ics([sch])  # deterministic UIDs and stamps
    assert any(ev["SUMMARY"].startswith("[A] ") for ev in events)
    assert any(ev["SUMMARY"].startswith("[B] ") for ev in events)


def test_svg_parses_with_colours_labels_and_positions(default_two_stage):
    _, _, sch = default_two_stage
    params = ExportParams()
    root = ET.fromstring(render_gantt_svg(sch, params))
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(f"{ns}rect") if r.get("rx") == "2"]
    assert len(bars) == len(sch.tasks)
    fills = {r.get("fill") for r in bars}
    assert {A, B} <= fills
    texts = "".join(t.text or "" for t in root.iter(f"{ns}text"))
    for label in ("[A]", "[B]", "[joint]", "hand-over"):
        assert label in texts
    # bar geometry: x = label column + start * px_per_min, width = duration * px_per_min
    xs = sorted(float(r.get("x")) for r in bars)
    assert abs(xs[0] - (360 + sch.tasks[0].start_min * params.px_per_min)) < 0.11
    widths = sorted(float(r.get("width")) for r in bars)
    longest = max(t.duration_min for t in sch.tasks)
    assert abs(widths[-1] - longest * params.px_per_min) < 0.11
    # the anaesthetist in charge of each twin: one bar per relay, in the twin's colour
    charge = [r for r in root.iter(f"{ns}rect") if r.get("rx") == "6"]
    assert len(charge) == len(sch.cover)
    for r, c in zip(charge, sorted(sch.cover, key=lambda c: (c.twin, c.start_min)), strict=True):
        assert r.get("fill") == (A if c.twin == "A" else B)
        assert abs(float(r.get("x")) - (360 + c.start_min * params.px_per_min)) < 0.11
        assert abs(float(r.get("width")) - (c.end_min - c.start_min) * params.px_per_min) < 0.11
    assert "anaesthetist in charge of twin A" in texts


def test_html_pages_are_self_contained(default_two_stage):
    team, _, sch = default_two_stage
    page = render_gantt_html(sch)
    assert (
        "<svg" in page
        and "<script>" in page
        and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    )
    sheets = render_runsheets_html(sch, teams={p.name: p.team for p in team.people})
    for name in {a.person for t in sch.tasks for a in t.people}:
        assert f"<h2>{name} — team" in sheets
    assert "hand over" in sheets and "receive hand-over" in sheets
    for c in sch.cover:
        assert f"<h2>{c.person} — team" in sheets
    for twin in ("A", "B"):
        assert f"twin {twin}: anaesthetist in charge, continuously" in sheets
        assert f"<b>in charge of twin {twin}</b>" in sheets
    assert A in sheets and B in sheets


def test_write_outputs_atomic(default_two_stage, tmp_path):
    _, _, sch = default_two_stage
    paths = write_outputs(tmp_path, sch)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["gantt.html", "gantt.svg", "runsheets.html", "schedule.csv", "schedule.ics"]
    assert sorted(p.name for p in paths) == names


def test_day_two_ticks_and_duty_heading(default_two_stage):
    team, _, sch = default_two_stage
    assert sch.makespan_min > 17 * 60  # from 07:30 the day runs past midnight
    svg = render_gantt_svg(sch)
    assert ">07:30<" in svg and ">00:30<" in svg
    # the day is named once above its first tick: "D2 00:30", "D2 01:30", ... on every
    # tick after midnight overlapped their neighbours (36 px an hour)
    assert svg.count(">day 2<") == 1 and ">D2 " not in svg
    ho = {p.name: p.handover_min for p in team.people}
    sheets = render_runsheets_html(sch, handover_min=ho)
    who = sch.tasks[0].people[0].person
    mine = [t for t in sch.tasks if who in t.person_names]
    received = [h for h in sch.handovers if h.to_person == who]
    first = min([t.start_min for t in mine] + [h.start_min for h in received])
    last = max([max(t.end_min for t in mine) + ho[who]] + [h.end_min for h in received])
    params = ExportParams()
    from twinsep.schedule.export import clock

    assert f"on duty {clock(first, params)} to {clock(last, params)} (hand-over included)" in sheets


def test_run_sheet_rows_are_in_time_order(default_two_stage):
    import re

    _, _, sch = default_two_stage
    sheets = render_runsheets_html(sch)
    for section in sheets.split("<section")[1:]:
        times = re.findall(r"<tr><td>D(\d) (\d\d):(\d\d)</td>", section)
        minutes = [int(d) * 1440 + int(h) * 60 + int(m) for d, h, m in times]
        assert minutes == sorted(minutes)
