"""Schedule outputs: ``schedule.csv``, ``schedule.ics``, ``gantt.svg``, ``gantt.html`` and
``runsheets.html`` (printable, one page per person and per table).

Rendering is pure (text in, text out); :func:`write_outputs` writes atomically. Rows of
a twin's team are coloured with the case colours (purple / orange by default) *and*
labelled in text (``A`` / ``B`` / ``joint``) because colour alone is not accessible.
No patient data appear anywhere: only task names, role codes and times.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from twinsep.io.atomic import atomic_write_text
from twinsep.labels import DEFAULT_COLOUR_A, DEFAULT_COLOUR_B, hex_to_rgb
from twinsep.readout import hours_text
from twinsep.schedule.montecarlo import MonteCarloResult
from twinsep.schedule.result import (
    CoverShift,
    Handover,
    Schedule,
    ScheduledTask,
    on_duty,
    relay_after,
)

logger = logging.getLogger(__name__)

JOINT_COLOUR = "#5F6B7A"
"""Neutral slate for work on both twins at once (the joint table)."""
HANDOVER_COLOUR = "#2B2B2B"


@dataclass(frozen=True)
class ExportParams:
    """Presentation settings of the outputs.

    Attributes
    ----------
    colour_a, colour_b : str
        Code colours of twin A and twin B (``#RRGGBB``; per case in ``plan.json``).
    start : datetime
        Nominal start of the operation (local time, no time zone) used for clock times
        and the calendar. The default is a fixed nominal day so that outputs are
        reproducible; set the real date for a real calendar.
    case_id : str
        Short non-identifying case code used in calendar UIDs.
    lead_days : tuple of int
        Days before the separation operation on which each earlier (preparatory)
        operation takes place, in the order the operations are given; an operation
        without an entry is put ``default_gap_days`` before the next one. The separation
        operation is on ``start``'s day; clock times stay relative to each operation's
        own day (``D1 07:30``).
    default_gap_days : int
        Days between consecutive operations when ``lead_days`` has no entry (so that no
        two operations ever share a calendar day).
    px_per_min : float
        Horizontal scale of the Gantt chart, pixels per minute.
    dated : bool
        ``start`` is the real separation day (``--separation-date``), not the nominal
        one: the run sheets and the Gantt chart name each operation's date (the day
        ``D1`` stands for), as ``schedule.ics`` dates its events.
    """

    colour_a: str = DEFAULT_COLOUR_A
    colour_b: str = DEFAULT_COLOUR_B
    start: datetime = datetime(2000, 1, 3, 7, 30)
    case_id: str = "case"
    px_per_min: float = 0.6
    lead_days: tuple[int, ...] = ()
    default_gap_days: int = 7
    dated: bool = False


def operation_day_words(days_before: int, params: ExportParams) -> str:
    """``"D1 is 2026-12-21"`` for an operation ``days_before`` the separation when the
    outputs are dated (``params.dated``), else ""."""
    if not params.dated:
        return ""
    return f"D1 is {(params.start - timedelta(days=int(days_before))).date().isoformat()}"


def days_before_separation(n_operations: int, params: ExportParams) -> list[int]:
    """Days before the separation day of each of ``n_operations`` (the last one is the
    separation operation, 0). Earlier operations take ``params.lead_days`` in order;
    each is at least ``params.default_gap_days`` before the next, so that the calendar
    keeps their order and never puts two operations on one day.
    """
    out = [0] * n_operations
    for i in range(n_operations - 2, -1, -1):
        lead = params.lead_days[i] if i < len(params.lead_days) else 0
        out[i] = max(int(lead), out[i + 1] + int(params.default_gap_days))
    return out


def twin_label(twin: str) -> str:
    """Text label of a twin code: ``"A"``, ``"B"`` or ``"joint"``."""
    return twin if twin in ("A", "B") else "joint"


def twin_colour(twin: str, params: ExportParams) -> str:
    """Colour of a twin code (joint work in neutral slate)."""
    return {"A": params.colour_a, "B": params.colour_b}.get(twin, JOINT_COLOUR)


def _text_colour(fill: str) -> str:
    r, g, b = hex_to_rgb(fill)
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#000000" if lum > 140 else "#FFFFFF"


def clock(minute: int, params: ExportParams) -> str:
    """``"D1 07:30"`` style clock time of a minute offset (day 1 = start day)."""
    t = params.start + timedelta(minutes=int(minute))
    day = (t.date() - params.start.date()).days + 1
    return f"D{day} {t:%H:%M}"


def _hours(minutes: float) -> str:
    # one format for a day's length in every output ("22.4 h", twinsep.readout): the
    # Gantt wrote "22 h 23 min" until 2026-11-28, the run sheets, report and CLI 22.4 h
    return hours_text(minutes)


# ----------------------------------------------------------------------------
# CSV
# ----------------------------------------------------------------------------
CSV_COLUMNS = (
    "operation",
    "kind",
    "task",
    "twin",
    "label",
    "colour",
    "table",
    "room",
    "start_min",
    "end_min",
    "duration_min",
    "start_clock",
    "end_clock",
    "min_duration_min",
    "likely_duration_min",
    "max_duration_min",
    "people",
    "roles",
    "equipment",
    "days_before_separation",
)


def cover_label(shift: CoverShift) -> str:
    """``"anaesthetist in charge of twin A: AN-A1"``."""
    return f"{shift.skill} in charge of twin {shift.twin}: {shift.person}"


def render_csv(schedules: Sequence[Schedule], params: ExportParams = ExportParams()) -> str:
    """CSV text: one row per task, per continuous-role shift (kind ``in charge``: the
    anaesthetist in charge of a twin, from induction to transfer out) and per hand-over
    of every schedule given.

    The last schedule is the separation operation; ``days_before_separation`` dates each
    row's operation (:func:`days_before_separation`), clocks are per operation.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    before = days_before_separation(len(schedules), params)
    for sch, days in zip(schedules, before, strict=True):
        for t in sch.tasks:
            w.writerow(
                [
                    sch.operation,
                    "task",
                    t.name,
                    t.twin,
                    twin_label(t.twin),
                    twin_colour(t.twin, params),
                    t.table or "",
                    t.room or "",
                    t.start_min,
                    t.end_min,
                    t.duration_min,
                    clock(t.start_min, params),
                    clock(t.end_min, params),
                    t.duration_range_min[0],
                    t.duration_range_min[1],
                    t.duration_range_min[2],
                    "; ".join(a.person for a in t.people),
                    "; ".join(f"{a.person}={a.role}" for a in t.people),
                    # "microscope x2", as the run sheets' "microscope ×2" (was "microscopex2")
                    "; ".join(f"{k} x{n}" for k, n in t.equipment),
                    days,
                ]
            )
        for c in sch.cover:
            w.writerow(
                [
                    sch.operation,
                    "in charge",
                    cover_label(c),
                    c.twin,
                    twin_label(c.twin),
                    twin_colour(c.twin, params),
                    "",
                    "",
                    c.start_min,
                    c.end_min,
                    c.end_min - c.start_min,
                    clock(c.start_min, params),
                    clock(c.end_min, params),
                    "",
                    "",
                    "",
                    c.person,
                    f"{c.person}={c.skill}@{c.twin} in charge",
                    "",
                    days,
                ]
            )
        for h in sch.handovers:
            w.writerow(
                [
                    sch.operation,
                    "handover",
                    f"hand-over {h.skill}: {h.from_person} -> {h.to_person or 'written note'}",
                    "",
                    "hand-over",
                    HANDOVER_COLOUR,
                    "",
                    "",
                    h.start_min,
                    h.end_min,
                    h.end_min - h.start_min,
                    clock(h.start_min, params),
                    clock(h.end_min, params),
                    "",
                    "",
                    "",
                    "; ".join(p for p in (h.from_person, h.to_person) if p),
                    f"{h.from_person}=from" + (f"; {h.to_person}=to" if h.to_person else ""),
                    "",
                    days,
                ]
            )
    return buf.getvalue()


# ----------------------------------------------------------------------------
# ICS (RFC 5545)
# ----------------------------------------------------------------------------
def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 char."""
    out: list[str] = []
    cur = ""
    limit = 75
    for ch in line:
        if len((cur + ch).encode("utf-8")) > limit:
            out.append(cur)
            cur = " " + ch
            limit = 75
        else:
            cur += ch
    out.append(cur)
    return out


def render_ics(schedules: Sequence[Schedule], params: ExportParams = ExportParams()) -> str:
    """iCalendar text with one event per task and per shift in charge of a twin (the
    anaesthetist in charge, continuously; floating local times, stable UIDs).

    The last schedule is the separation operation, on ``params.start``'s day; each
    earlier one is on its own day before it (:func:`days_before_separation`).
    """
    stamp = params.start.strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//twinsep//operating-room schedule//EN",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:twinsep OR schedule",
    ]
    before = days_before_separation(len(schedules), params)
    for sch, days in zip(schedules, before, strict=True):
        day0 = params.start - timedelta(days=days)
        for t in sch.tasks:
            uid_src = f"{params.case_id}|{sch.operation}|{t.name}".encode()
            uid = hashlib.sha256(uid_src).hexdigest()[:32]
            s = day0 + timedelta(minutes=t.start_min)
            e = day0 + timedelta(minutes=t.end_min)
            desc = (
                f"Twin: {twin_label(t.twin)}\nTable: {t.table or '-'}\n"
                f"People: {', '.join(f'{a.person} ({role_words(a.role)})' for a in t.people)}\n"
                f"Equipment: {', '.join(f'{k} x{n}' for k, n in t.equipment) or '-'}"
            )
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}@twinsep",
                f"DTSTAMP:{stamp}",
                f"DTSTART:{s:%Y%m%dT%H%M%S}",
                f"DTEND:{e:%Y%m%dT%H%M%S}",
                f"SUMMARY:{_ics_escape(f'[{twin_label(t.twin)}] {t.name}')}",
                f"LOCATION:{_ics_escape(t.room or '')}",
                f"CATEGORIES:{_ics_escape(sch.operation)},{_ics_escape(twin_label(t.twin))}",
                *_ics_colour(t.twin, params),
                f"DESCRIPTION:{_ics_escape(desc)}",
                "END:VEVENT",
            ]
        for c in sch.cover:
            lines += _ics_shift(sch, c, day0, stamp, params)
    lines.append("END:VCALENDAR")
    folded: list[str] = []
    for line in lines:
        folded.extend(_fold(line))
    return "\r\n".join(folded) + "\r\n"


def in_charge_duty(c: CoverShift) -> str:
    """What a shift in charge of a twin asks, in words: the person fills the twin's
    ``skill`` need of every task meanwhile and is given no other task. (It said "no
    other task meanwhile" above the tasks of the twin that the person does in charge.)"""
    return f"twin {c.twin}'s {role_words(c.skill)} in each of its tasks meanwhile, no other work"


def role_words(role: str) -> str:
    """A role or skill code as the people on the sheets read it: ``"circulating_nurse"``
    -> ``"circulating nurse"``, ``"anaesthetist@A"`` -> ``"anaesthetist for twin A"``.

    The run sheets, the Gantt chart's details and the calendar's events are read by the
    OR team; ``schedule.csv`` and ``plan.json`` keep the codes of ``team.yaml``. Until
    2026-11-28 the sheets wrote "CN-A1 (circulating_nurse)" and "anaesthetist@A".
    """
    skill, _, twin = role.partition("@")
    words = skill.replace("_", " ")
    return f"{words} for twin {twin}" if twin else words


def table_heading(table: str) -> str:
    """A table's run-sheet heading: ``"table A"`` as it is, ``"joint"`` -> ``"joint
    table"`` (it was "table table A")."""
    return table if "table" in table.lower() else f"{table} table"


def _ics_shift(
    sch: Schedule, c: CoverShift, day0: datetime, stamp: str, params: ExportParams
) -> list[str]:
    """The event of one shift in charge of a twin (a continuous role): who is in charge
    from when to when, from whom they take it over and to whom they hand it."""
    uid_src = f"{params.case_id}|{sch.operation}|{cover_label(c)}|{c.start_min}".encode()
    uid = hashlib.sha256(uid_src).hexdigest()[:32]
    s = day0 + timedelta(minutes=c.start_min)
    e = day0 + timedelta(minutes=c.end_min)
    label = f"in charge of twin {c.twin}"
    takes = [
        h.from_person
        for h in sch.handovers
        if h.after_task == label and h.to_person == c.person and h.start_min == c.start_min
    ]
    hands = [
        h.to_person
        for h in sch.handovers
        if h.after_task == label and h.from_person == c.person and h.start_min == c.end_min
    ]
    desc = (
        f"Twin: {twin_label(c.twin)}\nIn charge: {c.person} ({role_words(c.skill)}), continuously: "
        f"{in_charge_duty(c)}\n"
        + (f"Takes over from: {', '.join(takes)}" if takes else "First in charge")
        + "\n"
        + (
            f"Hands over to: {', '.join(p or 'written note' for p in hands)}"
            if hands
            else "Last in charge"
        )
    )
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}@twinsep",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{s:%Y%m%dT%H%M%S}",
        f"DTEND:{e:%Y%m%dT%H%M%S}",
        f"SUMMARY:{_ics_escape(f'[{twin_label(c.twin)}] {cover_label(c)}')}",
        f"CATEGORIES:{_ics_escape(sch.operation)},{_ics_escape(twin_label(c.twin))},in charge",
        *_ics_colour(c.twin, params),
        f"DESCRIPTION:{_ics_escape(desc)}",
        "END:VEVENT",
    ]


def _ics_colour(twin: str, params: ExportParams) -> list[str]:
    """The event's ``COLOR`` line, or none.

    RFC 7986 ``COLOR`` takes a CSS3 colour name, not a hex code (the code colour is in
    the CSV/SVG). The default code colours are purple and orange by name; a case's own
    colours (``--colour-a/-b``) have no name here, so their events carry none rather
    than the defaults' (a CHOP-style green twin A shown purple would swap the codes).
    """
    named = {
        "A": (params.colour_a.upper() == DEFAULT_COLOUR_A.upper(), "purple"),
        "B": (params.colour_b.upper() == DEFAULT_COLOUR_B.upper(), "orange"),
    }
    ok, name = named.get(twin, (True, "slategray"))
    return [f"COLOR:{name}"] if ok else []


# ----------------------------------------------------------------------------
# Gantt (SVG and interactive HTML)
# ----------------------------------------------------------------------------
_TABLE_ORDER = {"joint": 0}


def _gantt_rows(schedule: Schedule) -> list[ScheduledTask]:
    def key(t: ScheduledTask) -> tuple[int, str, int]:
        table = t.table or ""
        return (0 if table == "joint" else 1 if table else 2, table, t.start_min)

    return sorted(schedule.tasks, key=key)


def render_gantt_svg(
    schedule: Schedule,
    params: ExportParams = ExportParams(),
    *,
    title: str = "",
    interactive: bool = False,
) -> str:
    """SVG Gantt chart: one row per task (grouped by table) and per hand-over."""
    label_w, row_h, top = 360, 20, 54
    scale = params.px_per_min
    span = max(schedule.makespan_min, 60)
    width = int(label_w + span * scale + 40)
    rows = _gantt_rows(schedule)
    roles = sorted({(c.skill, c.twin) for c in schedule.cover})
    n_rows = len(rows) + len(schedule.handovers) + 2 + (len(roles) + 1 if roles else 0)
    height = top + n_rows * row_h + 40
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="11" role="img" aria-label="{esc(title or schedule.operation)} Gantt chart">',
        f"<title>{esc(title or 'Operating-room schedule: ' + schedule.operation)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#FFFFFF"/>',
        f'<text x="8" y="18" font-size="14" font-weight="bold">'
        f"{esc(title or 'Operating-room schedule: ' + schedule.operation)} — "
        f"{_hours(schedule.makespan_min)}</text>",
    ]
    # legend
    lx = 8
    for code, name in (("A", "twin A"), ("B", "twin B"), ("both", "joint (both twins)")):
        out.append(
            f'<rect x="{lx}" y="26" width="14" height="10" fill="{twin_colour(code, params)}"/>'
            f'<text x="{lx + 18}" y="35">{twin_label(code)}: {esc(name)}</text>'
        )
        lx += 150
    # hour grid: "HH:MM" under each line; a new day is named once, above its first
    # tick ("D2 00:30" on every tick after midnight overlapped its neighbours at
    # 36 px an hour)
    day_seen = "D1"
    for hour in range(0, span // 60 + 2):
        x = label_w + hour * 60 * scale
        day, _, hhmm = clock(hour * 60, params).partition(" ")
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 30}" '
            'stroke="#DDDDDD" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" fill="#555555">'
            f"{esc(hhmm)}</text>"
        )
        if day != day_seen:
            day_seen = day
            out.append(
                f'<text x="{x:.1f}" y="{top - 20}" text-anchor="middle" fill="#555555" '
                f'font-weight="bold">day {esc(day[1:])}</text>'
            )
    y = top
    current_table: str | None = "\0"
    for t in rows:
        if t.table != current_table:
            current_table = t.table
            out.append(
                f'<text x="8" y="{y + 14}" font-weight="bold" fill="#333333">'
                f"{esc(table_heading(t.table) if t.table else 'no table')}</text>"
            )
            y += row_h
        fill = twin_colour(t.twin, params)
        x = label_w + t.start_min * scale
        w = max(2.0, t.duration_min * scale)
        label = twin_label(t.twin)
        people = ", ".join(f"{a.person} ({role_words(a.role)})" for a in t.people)
        tip = (
            f"[{label}] {t.name}: {clock(t.start_min, params)}–{clock(t.end_min, params)} "
            f"({t.duration_min} min; range {t.duration_range_min[0]:g}–"
            f"{t.duration_range_min[2]:g}); {people}"
        )
        attrs = (
            f' class="task" data-twin="{label}" data-people="{esc(";".join(t.person_names))}"'
            if interactive
            else ""
        )
        out.append(
            f"<g{attrs}><title>{esc(tip)}</title>"
            f'<text x="8" y="{y + 14}">[{label}] {esc(t.name[:52])}</text>'
            f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" rx="2" '
            f'fill="{fill}" stroke="#333333" stroke-width="0.5"/>'
            + (
                f'<text x="{x + 3:.1f}" y="{y + 14}" fill="{_text_colour(fill)}" '
                f'font-size="9">{label}</text>'
                if w >= 28
                else ""
            )
            + "</g>"
        )
        y += row_h
    if roles:
        out.append(
            f'<text x="8" y="{y + 14}" font-weight="bold" fill="#333333">'
            "in charge, continuously (relays)</text>"
        )
        y += row_h
    for skill, twin in roles:
        label = twin_label(twin)
        fill = twin_colour(twin, params)
        out.append(
            f'<text x="8" y="{y + 14}">[{label}] {esc(role_words(skill))} in charge of twin '
            f"{twin}</text>"
        )
        for c in (c for c in schedule.cover if (c.skill, c.twin) == (skill, twin)):
            x = label_w + c.start_min * scale
            w = max(2.0, (c.end_min - c.start_min) * scale)
            tip = (
                f"[{label}] {cover_label(c)}, {clock(c.start_min, params)}–"
                f"{clock(c.end_min, params)} ({c.end_min - c.start_min} min)"
            )
            attrs = (
                f' class="task" data-twin="{label}" data-people="{esc(c.person)}"'
                if interactive
                else ""
            )
            out.append(
                f"<g{attrs}><title>{esc(tip)}</title>"
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" rx="6" '
                f'fill="{fill}" stroke="#333333" stroke-width="0.5"/>'
                + (
                    f'<text x="{x + 3:.1f}" y="{y + 14}" fill="{_text_colour(fill)}" '
                    f'font-size="9">{esc(c.person)}</text>'
                    if w >= 40
                    else ""
                )
                + "</g>"
            )
        y += row_h
    if schedule.handovers:
        out.append(f'<text x="8" y="{y + 14}" font-weight="bold" fill="#333333">hand-overs</text>')
        y += row_h
    for h in schedule.handovers:
        x = label_w + h.start_min * scale
        w = max(3.0, (h.end_min - h.start_min) * scale)
        to = h.to_person or "written note"
        tip = (
            f"hand-over ({role_words(h.skill)}) {h.from_person} → {to} at "
            f"{clock(h.start_min, params)}"
        )
        attrs = (
            f' class="task" data-twin="hand-over" '
            f'data-people="{esc(";".join(p for p in (h.from_person, h.to_person) if p))}"'
            if interactive
            else ""
        )
        out.append(
            f"<g{attrs}><title>{esc(tip)}</title>"
            f'<text x="8" y="{y + 14}">hand-over {esc(h.from_person)} → {esc(to)}</text>'
            f'<rect x="{x:.1f}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" '
            f'fill="{HANDOVER_COLOUR}"/></g>'
        )
        y += row_h
    out.append("</svg>")
    return "\n".join(out) + "\n"


_HTML_STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:16px;color:#222}
h1{font-size:18px} .note{color:#555;font-size:12px;max-width:70em}
#controls{margin:8px 0} #controls input{width:16em}
.dim{opacity:.15} table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}
#detail{margin:8px 0;padding:6px;border:1px solid #ccc;min-height:1.4em;font-size:12px}
.chart{overflow-x:auto;border:1px solid #eee}
"""

_HTML_SCRIPT = """
(function(){
  var groups = Array.prototype.slice.call(document.querySelectorAll('g.task'));
  var box = document.getElementById('who'), twin = document.getElementById('twin');
  var detail = document.getElementById('detail');
  function apply(){
    var q = box.value.trim().toLowerCase(), tw = twin.value;
    groups.forEach(function(g){
      var ok = (!q || g.getAttribute('data-people').toLowerCase().indexOf(q) >= 0) &&
               (!tw || g.getAttribute('data-twin') === tw);
      g.setAttribute('class', ok ? 'task' : 'task dim');
    });
  }
  box.addEventListener('input', apply); twin.addEventListener('change', apply);
  groups.forEach(function(g){
    g.addEventListener('click', function(){
      detail.textContent = g.querySelector('title').textContent;
    });
  });
})();
"""


def render_gantt_html(
    schedule: Schedule,
    params: ExportParams = ExportParams(),
    *,
    risk: MonteCarloResult | None = None,
    others: Sequence[Schedule] = (),
    others_risk: Sequence[MonteCarloResult | None] = (),
) -> str:
    """Self-contained interactive Gantt page (filter by person or twin; click a bar).

    ``others`` are the earlier operations (listed in a table with their days before the
    separation, then each one's chart), ``others_risk`` their P50/P90 where simulated
    (division operations).
    """
    esc = html.escape
    svg = render_gantt_svg(schedule, params, interactive=True)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>twinsep OR schedule — {esc(schedule.operation)}</title>",
        f"<style>{_HTML_STYLE}</style></head><body>",
        f"<h1>Operating-room schedule — {esc(schedule.operation)}"
        f"{esc(f' ({operation_day_words(0, params)})' if params.dated else '')}</h1>",
        f'<p class="note">Planned {_hours(schedule.makespan_min)} with most-likely durations '
        f"({esc(schedule.method)}, {esc(schedule.status)}; lower bound "
        f"{_hours(schedule.lower_bound_min)}). Rows: twin A <b>[A]</b>, twin B <b>[B]</b>, "
        "both twins <b>[joint]</b>. A planning aid, not a medical device.</p>",
    ]
    if risk is not None:
        drivers = ", ".join(f"{esc(d.task)} (r={d.correlation:.2f})" for d in risk.drivers)
        parts.append(
            f'<p class="note">Risk ({risk.n_samples} {esc(risk.distribution)} samples): '
            f"P50 {_hours(risk.makespan_p50_min)}, P90 {_hours(risk.makespan_p90_min)}; "
            f"overrun drivers: {drivers}.</p>"
        )
    parts += [
        '<div id="controls"><label>Person: <input id="who" placeholder="e.g. AN-A1"></label> '
        '<label>Twin: <select id="twin"><option value="">all</option>'
        '<option value="A">A</option><option value="B">B</option>'
        '<option value="joint">joint</option><option value="hand-over">hand-overs</option>'
        "</select></label></div>",
        '<div id="detail">Click a bar for details.</div>',
        f'<div class="chart">{svg}</div>',
    ]
    if others:
        parts.append(
            "<h2>Earlier operations</h2><table><tr><th>operation</th>"
            "<th>days before the separation</th><th>planned</th><th>tasks</th>"
            "<th>people</th><th>P50</th><th>P90</th></tr>"
        )
        before = days_before_separation(len(others) + 1, params)
        risks = [*others_risk, *([None] * len(others))][: len(others)]
        for o, days, r in zip(others, before, risks, strict=False):
            n_people = len({a.person for t in o.tasks for a in t.people})
            p50 = _hours(r.makespan_p50_min) if r is not None else "—"
            p90 = _hours(r.makespan_p90_min) if r is not None else "—"
            parts.append(
                f"<tr><td>{esc(o.operation)}</td><td>{days}</td><td>{_hours(o.makespan_min)}</td>"
                f"<td>{len(o.tasks)}</td><td>{n_people}</td><td>{p50}</td><td>{p90}</td></tr>"
            )
        parts.append("</table>")
        # each earlier day's own chart (the filter and details above work on every chart);
        # until 2026-11-28 the earlier operations were this table only
        for o, days in zip(others, before, strict=False):
            dated = operation_day_words(days, params)
            parts.append(f"<h2>{esc(o.operation)}{esc(f' ({dated})' if dated else '')}</h2>")
            parts.append(
                f'<div class="chart">{render_gantt_svg(o, params, interactive=True)}</div>'
            )
    parts.append(f"<script>{_HTML_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


# ----------------------------------------------------------------------------
# run sheets
# ----------------------------------------------------------------------------
_SHEET_STYLE = """
body{font-family:Helvetica,Arial,sans-serif;margin:12px;color:#111;font-size:12px}
section{page-break-after:always;margin-bottom:24px}
h1.op{font-size:19px;margin:6px 0 10px;padding:6px 8px;background:#eee}
h2{font-size:16px;margin:4px 0;padding:4px 8px;border-left:10px solid var(--c)}
table{border-collapse:collapse;width:100%} td,th{border:1px solid #999;padding:3px 5px;
text-align:left;vertical-align:top} th{background:#eee}
.tag{display:inline-block;padding:0 4px;border-radius:3px;color:#fff;font-weight:bold}
p.day{font-size:14px;margin:4px 0 10px} p.short{margin:6px 0}
@media print{section{page-break-after:always}}
"""


def render_runsheets_html(
    schedule: Schedule,
    params: ExportParams = ExportParams(),
    *,
    teams: dict[str, str] | None = None,
    handover_min: dict[str, int] | None = None,
    earlier: Sequence[Schedule] = (),
    blood: Mapping[str, str] | None = None,
    risk: MonteCarloResult | None = None,
    earlier_risk: Sequence[MonteCarloResult | None] = (),
    earlier_blood: Sequence[Mapping[str, str] | None] = (),
) -> str:
    """Printable run sheets: one section per person and one per table.

    Parameters
    ----------
    schedule : Schedule
        The separation operation.
    params : ExportParams
    teams : dict, optional
        Person name -> team code (``A``, ``B``, ``shared``) for the heading colour.
    handover_min : dict, optional
        Person name -> hand-over minutes (the end of duty includes them).
    earlier : sequence of Schedule
        The earlier operations, each on its own day (expanders, distraction, division
        operations), in calendar order: each gets its own part of the page, under a
        heading naming it, before the separation's (until 2026-11-28 the page held the
        separation alone, and a staged division's 20-hour day had no run sheet).
    blood : mapping, optional
        Twin (``A``, ``B``) -> the blood line of its anaesthetists on the separation's
        day (plan.json ``blood.runsheet_operations``: blood volume, allowable loss, this
        operation's bleeding risk), shown under each "anaesthetist in charge" heading of
        that twin.
    earlier_blood : sequence of mapping, optional
        The same for each earlier operation (aligned with ``earlier``; None or missing:
        no line). Until 2026-11-28 ``blood`` was shown on every day's sheets, so the
        expander insertion's named the separation's high-risk stage.
    risk, earlier_risk : MonteCarloResult, optional
        The simulated day of the separation and of each earlier operation (None where
        not simulated): each operation's sheets open with its planned end and the end
        to expect (P50) and to plan for (P90), :func:`day_length_line`.
    """
    esc = html.escape
    ops = [*earlier, schedule]
    risks = [*list(earlier_risk)[: len(earlier)], *([None] * len(earlier))][: len(earlier)]
    risks.append(risk)
    bloods = [*list(earlier_blood)[: len(earlier)], *([None] * len(earlier))][: len(earlier)]
    bloods.append(blood)
    title = (
        esc(schedule.operation) if not earlier else f"{len(ops)} operations, each on its own day"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>twinsep run sheets — {title}</title>",
        f"<style>{_SHEET_STYLE}</style></head><body>",
    ]
    before = days_before_separation(len(ops), params)
    for op, op_risk, op_blood, days in zip(ops, risks, bloods, before, strict=True):
        if earlier and op is not schedule:
            head = f"{op.operation} — an earlier operation, on its own day"
            parts.append(f'<h1 class="op">{esc(head)}</h1>')
        elif earlier:
            named = "" if op.operation.lower() == "separation" else f" ({op.operation})"
            parts.append(f'<h1 class="op">{esc("The separation operation" + named)}</h1>')
        when = ""
        if params.dated:  # the day each sheet is for (its clocks say D1, D2 ...)
            what = f"{days} days before the separation" if days else "the separation's day"
            when = f"{operation_day_words(days, params)} ({what}). "
        parts.append(f'<p class="day">{esc(when + day_length_line(op, op_risk, params))}</p>')
        parts.extend(
            _runsheet_sections(op, params, teams or {}, handover_min or {}, op_blood or {})
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def day_length_line(
    schedule: Schedule, risk: MonteCarloResult | None, params: ExportParams = ExportParams()
) -> str:
    """The day's length as the team reads it on the run sheets: the planned start and
    end (most-likely step times, which set the order of work and the clocks) and, when
    simulated, the end to expect (P50) and the end by which 9 days in 10 are over (P90).

    Step times are right-skewed, so the planned end is earlier than on most real days
    (vertical-II: planned 23.6 h, P50 27.7 h, P90 30.4 h); the clocks stay the most
    likely day's, and relays are milestones ("hands over after step X").

    Parameters
    ----------
    schedule : Schedule
    risk : MonteCarloResult or None
        The operation's Monte Carlo (None: not simulated).
    params : ExportParams
    """
    end = schedule.makespan_min
    text = (
        f"Planned {clock(0, params)} to {clock(end, params)} ({end / 60:.1f} h) with each "
        "step's most likely time: the order of work and the clock times below."
    )
    if risk is None:
        return text
    p50, p90 = risk.makespan_p50_min, risk.makespan_p90_min
    return text + (
        f" Steps run long more often than short: expect the end about "
        f"{clock(round(p50), params)} ({p50 / 60:.1f} h, P50), and by "
        f"{clock(round(p90), params)} ({p90 / 60:.1f} h, P90) on 9 days in 10; hand-overs "
        "follow the steps, not the clock."
    )


def short_bookings(
    schedule: Schedule, handover_min: Mapping[str, int]
) -> list[tuple[str, int, int, list[str]]]:
    """People on duty for less than the schedule's shortest booking
    (``Schedule.min_booking_min``; none when it is 0): ``(person, on, off, steps)``
    in order of arrival, ``steps`` the names of their tasks (and shifts in charge).

    The solver books as few of them as it can at the schedule's length and relays
    (the "bookings" level of :func:`~twinsep.schedule.solve.solve_schedule`): each
    remaining one is a step
    that nobody already on duty could take (the scalp flaps' plastic surgeons, the
    navigation registration, an induction's second anaesthetist).
    """
    shortest = int(getattr(schedule, "min_booking_min", 0) or 0)
    if shortest <= 0:
        return []
    duty = on_duty(schedule, handover_min)
    out = []
    for person, (on, off) in sorted(duty.items(), key=lambda kv: (kv[1][0], kv[0])):
        if off - on >= shortest:
            continue
        steps = [t.name for t in schedule.tasks if person in t.person_names]
        steps += [f"in charge of twin {c.twin}" for c in schedule.cover if c.person == person]
        out.append((person, on, off, steps))
    return out


def _runsheet_sections(
    schedule: Schedule,
    params: ExportParams,
    teams: dict[str, str],
    handover_min: dict[str, int],
    blood: Mapping[str, str] | None = None,
) -> list[str]:
    """The run-sheet sections of one operation: per person, per twin in charge, per table
    (``blood``: twin -> the anaesthetists' blood line, :func:`render_runsheets_html`)."""
    esc = html.escape
    by_person: dict[str, list[tuple[ScheduledTask, str]]] = defaultdict(list)
    for t in schedule.tasks:
        for a in t.people:
            by_person[a.person].append((t, a.role))
    gives: dict[str, list[Handover]] = defaultdict(list)
    gets: dict[str, list[Handover]] = defaultdict(list)
    for h in schedule.handovers:
        gives[h.from_person].append(h)
        if h.to_person:
            gets[h.to_person].append(h)
    charge: dict[str, list[CoverShift]] = defaultdict(list)
    for c in schedule.cover:
        charge[c.person].append(c)

    def tag(twin: str) -> str:
        fill = twin_colour(twin, params)
        return (
            f'<span class="tag" style="background:{fill};color:{_text_colour(fill)}">'
            f"{twin_label(twin)}</span>"
        )

    parts: list[str] = []
    for person in sorted(set(by_person) | set(charge)):
        team = teams.get(person, "shared")
        colour = twin_colour(team if team in ("A", "B") else "both", params)
        rows = sorted(by_person.get(person, []), key=lambda x: x[0].start_min)
        mine = charge.get(person, [])
        first = min(
            [t.start_min for t, _ in rows]
            + [c.start_min for c in mine]
            + [h.start_min for h in gets.get(person, [])]
        )
        last = max([t.end_min for t, _ in rows] + [c.end_min for c in mine]) + int(
            handover_min.get(person, 0)
        )
        last = max([last] + [h.end_min for h in gets.get(person, [])])
        parts.append(
            f'<section style="--c:{colour}"><h2>{esc(person)} — team '
            f"{esc(team if team in ('A', 'B') else 'shared')} — on duty "
            f"{clock(first, params)} to {clock(last, params)} (hand-over included)</h2>"
            "<table><tr><th>from</th><th>to</th><th>twin</th><th>what</th><th>role</th>"
            "<th>where</th><th>with whom</th></tr>"
        )
        lines: list[tuple[int, int, str]] = []  # (start, order, row) sorted by time
        for t, role in rows:
            others = ", ".join(a.person for a in t.people if a.person != person)
            where = f"{t.table or '-'} / {t.room or '-'}"
            lines.append(
                (
                    t.start_min,
                    1,
                    f"<tr><td>{clock(t.start_min, params)}</td>"
                    f"<td>{clock(t.end_min, params)}</td>"
                    f"<td>{tag(t.twin)}</td><td>{esc(t.name)}</td><td>{esc(role_words(role))}</td>"
                    f"<td>{esc(where)}</td><td>{esc(others)}</td></tr>",
                )
            )
        for c in mine:
            lines.append(
                (
                    c.start_min,
                    0,
                    f"<tr><td>{clock(c.start_min, params)}</td>"
                    f"<td>{clock(c.end_min, params)}</td>"
                    f"<td>{tag(c.twin)}</td><td><b>in charge of twin {esc(c.twin)}</b> "
                    f"({esc(role_words(c.skill))}, continuously: {esc(in_charge_duty(c))})</td>"
                    f"<td>{esc(role_words(f'{c.skill}@{c.twin}'))}</td><td>-</td><td>-</td></tr>",
                )
            )
        for h in gets.get(person, []):
            lines.append(
                (
                    h.start_min,
                    0,
                    f"<tr><td>{clock(h.start_min, params)}</td>"
                    f"<td>{clock(h.end_min, params)}</td>"
                    f"<td>-</td><td>receive hand-over ({esc(role_words(h.skill))})</td>"
                    "<td>-</td><td>-</td>"
                    f"<td>from {esc(h.from_person)}</td></tr>",
                )
            )
        for h in gives.get(person, []):
            to = h.to_person or "written note for the next team"
            lines.append(
                (
                    h.start_min,
                    2,
                    f"<tr><td>{clock(h.start_min, params)}</td>"
                    f"<td>{clock(h.end_min, params)}</td>"
                    f"<td>-</td><td>hand over ({esc(role_words(h.skill))}), next: "
                    f"{esc(h.next_task)}</td>"
                    f"<td>-</td><td>-</td><td>to {esc(to)}</td></tr>",
                )
            )
        parts.extend(row for _, _, row in sorted(lines, key=lambda x: (x[0], x[1])))
        parts.append("</table></section>")
    for skill, twin in sorted({(c.skill, c.twin) for c in schedule.cover}, key=lambda k: k[1]):
        line = (blood or {}).get(twin) if skill.startswith("anaesthetist") else None
        note = f'<p class="blood">{esc(line)}</p>' if line else ""
        parts.append(
            f'<section style="--c:{twin_colour(twin, params)}"><h2>twin {esc(twin)}: '
            f"{esc(role_words(skill))} in charge, continuously</h2>{note}<table><tr><th>from</th>"
            "<th>to</th>"
            "<th>twin</th><th>in charge</th><th>hands over to</th>"
            "<th>hands over after (on the day, whatever the clock)</th></tr>"
        )
        shifts = sorted(
            (c for c in schedule.cover if (c.skill, c.twin) == (skill, twin)),
            key=lambda c: c.start_min,
        )
        for k, c in enumerate(shifts):
            nxt = shifts[k + 1].person if k + 1 < len(shifts) else "-"
            # the relay as a milestone: the step after which it falls (result.relay_after)
            step = (relay_after(schedule, shifts[k + 1]) if k + 1 < len(shifts) else None) or "-"
            parts.append(
                f"<tr><td>{clock(c.start_min, params)}</td><td>{clock(c.end_min, params)}</td>"
                f"<td>{tag(twin)}</td><td>{esc(c.person)}</td><td>{esc(nxt)}</td>"
                f"<td>{esc(step)}</td></tr>"
            )
        parts.append("</table></section>")
    tables = sorted({t.table for t in schedule.tasks if t.table}, key=lambda s: (s != "joint", s))
    for table in tables:
        rows_t = sorted((t for t in schedule.tasks if t.table == table), key=lambda t: t.start_min)
        parts.append(
            f'<section style="--c:#555"><h2>{esc(table_heading(table))} '
            f"({esc(rows_t[0].room or '-')})</h2><table><tr><th>from</th><th>to</th>"
            "<th>twin</th><th>what</th><th>who</th><th>equipment</th></tr>"
        )
        for t in rows_t:
            who = ", ".join(f"{a.person} ({role_words(a.role)})" for a in t.people)
            eq = ", ".join(f"{k} ×{n}" for k, n in t.equipment) or "-"
            parts.append(
                f"<tr><td>{clock(t.start_min, params)}</td><td>{clock(t.end_min, params)}</td>"
                f"<td>{tag(t.twin)}</td><td>{esc(t.name)}</td><td>{esc(who)}</td>"
                f"<td>{esc(eq)}</td></tr>"
            )
        parts.append("</table></section>")
    parts.extend(_roster_section(schedule, params, teams, handover_min))
    return parts


def _worked_for(schedule: Schedule) -> dict[str, set[str]]:
    """Person -> the twins their work of one operation is for: a need pinned to a twin
    (``anaesthetist@A``) is that twin's, any other need is its task's twin (``A``, ``B``
    or ``both``: the joint work on both twins at once), a shift in charge its twin's."""
    out: dict[str, set[str]] = defaultdict(set)
    for t in schedule.tasks:
        for a in t.people:
            pin = a.role.partition("@")[2]
            out[a.person].add(pin if pin in ("A", "B") else t.twin)
    for c in schedule.cover:
        out[c.person].add(c.twin)
    return out


def roster_team(team: str, worked_for: set[str]) -> str:
    """The team column of the staff roster: ``"shared"`` for a person of no twin's team;
    for a twin's team, ``"both twins"`` when their work that day is joint work on both
    twins (the expanders of both twins as one task) or for each twin, otherwise their team
    (``A`` / ``B``). Until session 27 the expanders' surgeons and nurses of team A were
    listed as team A only.

    Parameters
    ----------
    team : str
        The person's team code (``A``, ``B``, anything else is shared).
    worked_for : set of str
        The twins their work is for (:func:`_worked_for`: ``A``, ``B``, ``both``).
    """
    if team not in ("A", "B"):
        return "shared"
    if worked_for and (worked_for <= {"both"} or {"A", "B"} <= worked_for):
        return "both twins"
    return team


def _roster_section(
    schedule: Schedule,
    params: ExportParams,
    teams: Mapping[str, str],
    handover_min: Mapping[str, int],
) -> list[str]:
    """The staff of one operation by role and team, each with their duty (as the OR
    nursing lead books them): how many people of each role work that day, and who, in
    order of arrival, on duty from when to when (hand-over included), one person a row,
    then the day's total (by team)."""
    esc = html.escape
    duty = on_duty(schedule, handover_min)
    worked = _worked_for(schedule)
    role: dict[str, str] = {}
    for t in schedule.tasks:
        for a in t.people:
            role.setdefault(a.person, a.role.split("@")[0])
    for c in schedule.cover:
        role[c.person] = c.skill  # whoever is in charge of a twin is booked for that
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for person in sorted(duty, key=lambda p: (duty[p][0], p)):
        team = roster_team(teams.get(person, "shared"), worked.get(person, set()))
        groups[(role.get(person, "-"), team)].append(person)
    nowrap = ' style="white-space:nowrap"'
    parts = [
        '<section style="--c:#333"><h2>staff by role and team (for the OR nursing lead)'
        '</h2><table class="roster"><tr><th>role</th><th>team</th><th>people</th>'
        "<th>who, in order of arrival</th><th>on duty from</th><th>to</th>"
        "<th>hours (hand-over included)</th></tr>"
    ]
    by_team: dict[str, int] = defaultdict(int)
    for (skill, team), people in sorted(groups.items()):
        by_team[team] += len(people)
        for k, p in enumerate(people):
            head = (
                f'<td rowspan="{len(people)}">{esc(role_words(skill))}</td>'
                f'<td rowspan="{len(people)}">{esc(team)}</td>'
                f'<td rowspan="{len(people)}">{len(people)}</td>'
                if k == 0
                else ""
            )
            on, off = duty[p]
            parts.append(
                f"<tr>{head}<td{nowrap}>{esc(p)}</td><td{nowrap}>{clock(on, params)}</td>"
                f"<td{nowrap}>{clock(off, params)}</td><td>{(off - on) / 60:.1f} h</td></tr>"
            )
    split = ", ".join(
        f"{by_team[t]} {'team ' + t if t in ('A', 'B') else t}"
        for t in ("A", "B", "both twins", "shared")
        if by_team.get(t)
    )
    parts.append(
        f'<tr class="total"><th colspan="2">total on duty that day</th><th>{len(duty)}</th>'
        f'<th colspan="4">{esc(split)}</th></tr>'
    )
    parts.append("</table>")
    short = short_bookings(schedule, handover_min)
    if short:
        hours = f"{schedule.min_booking_min / 60:g} h"
        who = "; ".join(
            f"{p} {(off - on) / 60:.1f} h ({', '.join(steps)})" for p, on, off, steps in short
        )
        parts.append(
            f'<p class="short">Booked for under {hours} ({len(short)}): {esc(who)}. The '
            f"schedule books nobody for under {hours} where it finds someone already on duty "
            "to take the work at this length of day, with these relays and within everyone's "
            "limits: nobody on duty was found for these steps.</p>"
        )
    parts.append("</section>")
    return parts


def write_outputs(
    out_dir: Path,
    schedule: Schedule,
    *,
    params: ExportParams = ExportParams(),
    risk: MonteCarloResult | None = None,
    earlier: Sequence[Schedule] = (),
    teams: dict[str, str] | None = None,
    handover_min: dict[str, int] | None = None,
    earlier_risk: Sequence[MonteCarloResult | None] = (),
    blood: Mapping[str, str] | None = None,
    earlier_day_risk: Sequence[MonteCarloResult | None] | None = None,
    earlier_blood: Sequence[Mapping[str, str] | None] = (),
) -> list[Path]:
    """Write the five schedule files into ``out_dir`` atomically; return their paths
    (``blood``, ``earlier_blood``: the anaesthetists' lines of the separation's and of
    each earlier operation's run sheets, :func:`render_runsheets_html`;
    ``earlier_day_risk``: every earlier operation's simulated day for the run sheets'
    first line, ``earlier_risk`` when None)."""
    out_dir = Path(out_dir)
    all_ops = [*earlier, schedule]
    files = {
        "schedule.csv": render_csv(all_ops, params),
        "schedule.ics": render_ics(all_ops, params),
        "gantt.svg": render_gantt_svg(schedule, params),
        "gantt.html": render_gantt_html(
            schedule, params, risk=risk, others=earlier, others_risk=earlier_risk
        ),
        "runsheets.html": render_runsheets_html(
            schedule,
            params,
            teams=teams,
            handover_min=handover_min,
            earlier=earlier,
            blood=blood,
            risk=risk,
            earlier_risk=earlier_risk if earlier_day_risk is None else earlier_day_risk,
            earlier_blood=earlier_blood,
        ),
    }
    paths = []
    for name, text in files.items():
        paths.append(atomic_write_text(out_dir / name, text))
    logger.debug("wrote %s", ", ".join(files))
    return paths


def schedule_json(
    schedule: Schedule, params: ExportParams = ExportParams()
) -> list[dict[str, object]]:
    """JSON-ready task list for ``plan.json`` (units in key names)."""
    out: list[dict[str, object]] = []
    for t in schedule.tasks:
        out.append(
            {
                "name": t.name,
                "twin": twin_label(t.twin),
                "colour": twin_colour(t.twin, params),
                "table": t.table,
                "room": t.room,
                "start_min": t.start_min,
                "end_min": t.end_min,
                "duration_range_min": list(t.duration_range_min),
                "people": [{"person": a.person, "role": a.role} for a in t.people],
                "equipment": dict(t.equipment),
            }
        )
    json.dumps(out)  # JSON-ready by construction; fail here rather than in plan.json
    return out
