"""The run sheets' staff roster as the OR nursing lead reads it (walkthrough of session 27:
no total for the day, entries broken mid-time, "on duty" twice, joint work under team A).
The HTML is parsed; the schedule is made by hand, so every count is known."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from twinsep.schedule.export import render_runsheets_html, roster_team
from twinsep.schedule.result import (
    Assignment,
    CoverShift,
    Handover,
    Schedule,
    ScheduledTask,
    on_duty,
)

CLOCK = re.compile(r"D\d+ \d\d:\d\d")


def _task(name: str, start: int, end: int, twin: str, *people: tuple[str, str]) -> ScheduledTask:
    return ScheduledTask(
        name=name,
        start_min=start,
        end_min=end,
        twin=twin,
        table="joint",
        room="OR-1",
        people=tuple(Assignment(p, r) for p, r in people),
        equipment=(),
        phase="",
        duration_range_min=(end - start, end - start, end - start),
    )


def _expander_day() -> tuple[Schedule, dict[str, str]]:
    """Both twins' expanders as one joint task by team A's surgeons and nurse, a briefing
    with each twin's anaesthetist, twin B's dressing by team B (9 people)."""
    tasks = (
        _task(
            "team briefing",
            0,
            20,
            "both",
            ("AN-A1", "anaesthetist@A"),
            ("AN-B1", "anaesthetist@B"),
            ("CN-A1", "circulating_nurse"),
            ("NS-LEAD", "neurosurgeon"),
        ),
        _task(
            "expanders, both twins",
            110,
            230,
            "both",
            ("AN-A1", "anaesthetist@A"),
            ("AN-B1", "anaesthetist@B"),
            ("PS-A1", "plastic_surgeon"),
            ("PS-A2", "plastic_surgeon"),
            ("SN-A1", "scrub_nurse"),
        ),
        _task("dressing B", 230, 260, "B", ("SN-B1", "scrub_nurse"), ("AN-B2", "anaesthetist")),
        _task("night check B", 900, 960, "B", ("AN-B2", "anaesthetist")),
    )
    cover = (
        CoverShift(twin="B", skill="anaesthetist", person="AN-B2", start_min=230, end_min=960),
    )
    ho = (
        Handover("AN-B1", "AN-B2", "anaesthetist", 230, 245, "expanders, both twins", "dressing B"),
    )
    sch = Schedule(
        operation="stage 1: expanders",
        tasks=tasks,
        handovers=ho,
        makespan_min=960,
        lower_bound_min=960,
        method="cp-sat",
        status="optimal",
        solve_s=0.0,
        cover=cover,
    )
    teams = {p: ("shared" if p == "NS-LEAD" else p.split("-")[1][0]) for p in on_duty(sch, {})}
    return sch, teams


class _Rows(HTMLParser):
    """The roster's rows as lists of cell texts, a ``rowspan`` cell repeated below."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.styles: list[list[str]] = []
        self._cell: list[str] | None = None
        self._spans: dict[int, tuple[int, str]] = {}
        self._span = 1
        self._style = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
            self.styles.append([])
        elif tag in ("td", "th"):
            self._fill()
            self._cell = []
            self._span = int(a.get("rowspan") or 1)
            self._style = a.get("style") or ""

    def _fill(self) -> None:
        row = self.rows[-1]
        while len(row) in self._spans:
            left, text = self._spans[len(row)]
            if left > 1:
                self._spans[len(row)] = (left - 1, text)
            else:
                del self._spans[len(row)]
            row.append(text)
            self.styles[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._span > 1:
                self._spans[len(self.rows[-1])] = (self._span - 1, text)
            self.rows[-1].append(text)
            self.styles[-1].append(self._style)
            self._cell = None
        elif tag == "tr":
            self._fill()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _roster(sheets: str) -> _Rows:
    start = sheets.index("staff by role and team (for the OR nursing lead)")
    parser = _Rows()
    parser.feed(sheets[start : sheets.index("</section>", start)])
    return parser


def test_the_roster_gives_the_day_total() -> None:
    sch, teams = _expander_day()
    rows = _roster(render_runsheets_html(sch, teams=teams)).rows
    total = [r for r in rows if r and r[0].startswith("total")]
    # before: no total; the lead added up the "on duty" column by hand
    assert len(total) == 1, rows
    assert total[0][1] == "9" == str(len(on_duty(sch, {})))
    assert total[0][2] == "1 team A, 3 team B, 4 both twins, 1 shared"
    counts = {(r[0], r[1]): int(r[2]) for r in rows[1:] if not r[0].startswith("total")}
    assert sum(counts.values()) == 9


def test_one_person_a_row_with_whole_clock_times() -> None:
    sch, teams = _expander_day()
    parsed = _roster(render_runsheets_html(sch, teams=teams))
    body = [r for r in parsed.rows[1:] if not r[0].startswith("total")]
    duty = on_duty(sch, {})
    # before: one cell per role ("AN-B1 D1 07:30 - D1 11:50 (4.3 h); AN-B2 ..."), which
    # broke mid-time at 1280 px and on A4
    assert sorted(r[3] for r in body) == sorted(duty)
    header = parsed.rows[0]
    for r, style in zip(body, parsed.styles[1:], strict=False):
        assert CLOCK.fullmatch(r[4]) and CLOCK.fullmatch(r[5]), r
        a, b = duty[r[3]]
        assert r[6] == f"{(b - a) / 60:.1f} h"
        # the name and the clocks never wrap inside
        assert all("nowrap" in style[k] for k in (3, 4, 5)), style
    assert header[4:7] == ["on duty from", "to", "hours (hand-over included)"]


def test_the_count_column_is_called_people() -> None:
    sch, teams = _expander_day()
    header = _roster(render_runsheets_html(sch, teams=teams)).rows[0]
    # before: "on duty" beside "on duty from - to", easily read as one
    assert header[:3] == ["role", "team", "people"]
    assert sum(h.startswith("on duty") for h in header) == 1


def test_joint_work_is_listed_for_both_twins() -> None:
    sch, teams = _expander_day()
    rows = _roster(render_runsheets_html(sch, teams=teams)).rows
    team_of = {r[3]: r[1] for r in rows[1:] if len(r) > 3}
    # before: PS-A1, PS-A2 and SN-A1 of the expanders of both twins were team A only
    assert team_of["PS-A1"] == team_of["PS-A2"] == team_of["SN-A1"] == "both twins"
    # a need pinned to a twin within joint work is that twin's; no team is "shared"
    assert (team_of["AN-A1"], team_of["AN-B1"], team_of["AN-B2"]) == ("A", "B", "B")
    assert team_of["NS-LEAD"] == "shared" and team_of["SN-B1"] == "B"
    assert team_of["CN-A1"] == "both twins"
    assert roster_team("A", {"A", "both"}) == "A"
    assert roster_team("B", {"A", "B"}) == "both twins"
    assert roster_team("shared", {"both"}) == "shared"
    assert roster_team("A", set()) == "A"


def test_roles_read_as_words_on_the_sheets_the_chart_and_the_calendar() -> None:
    """Before (session 29's read-through of the real CT's plan): the sheets read
    "CN-A1 (circulating_nurse)", the role "anaesthetist@A" and "receive hand-over
    (anaesthesia_technician)"; the CSV keeps team.yaml's codes for programs."""
    from twinsep.schedule.export import (
        ExportParams,
        render_csv,
        render_gantt_svg,
        render_ics,
        role_words,
    )

    assert role_words("circulating_nurse") == "circulating nurse"
    assert role_words("anaesthetist@A") == "anaesthetist for twin A"
    assert role_words("neurosurgeon") == "neurosurgeon"
    sch, teams = _expander_day()
    sheets = render_runsheets_html(sch, teams=teams)
    svg = render_gantt_svg(sch, ExportParams())
    ics = render_ics([sch], ExportParams()).replace("\r\n ", "")
    for text in (sheets, svg, ics):
        assert "_nurse" not in text and "_surgeon" not in text and "@A" not in text
    assert "CN-A1 (circulating nurse)" in sheets and "PS-A1 (plastic surgeon)" in sheets
    assert "<td>anaesthetist for twin A</td>" in sheets
    assert "AN-A1 (anaesthetist for twin A)" in svg and "(circulating nurse)" in ics
    assert "CN-A1=circulating_nurse" in render_csv([sch], ExportParams())


def test_a_dated_plan_names_each_days_date_on_its_sheets_and_chart() -> None:
    """Before: with --separation-date, schedule.ics put each operation on its date and
    the run sheets and the Gantt chart said "D1 07:30" with no date (a sheet printed for
    the expander insertion did not say which day it was for)."""
    from dataclasses import replace
    from datetime import datetime

    from twinsep.schedule.export import ExportParams, render_gantt_html

    sch, teams = _expander_day()
    final = replace(sch, operation="separation")
    dated = ExportParams(start=datetime(2027, 3, 1, 7, 30), lead_days=(70,), dated=True)
    sheets = render_runsheets_html(final, dated, teams=teams, earlier=[sch])
    assert "D1 is 2026-12-21 (70 days before the separation). Planned D1 07:30" in sheets
    assert "D1 is 2027-03-01 (the separation&#x27;s day). Planned D1 07:30" in sheets
    page = render_gantt_html(final, dated, others=[sch])
    assert "separation (D1 is 2027-03-01)</h1>" in page
    assert "stage 1: expanders (D1 is 2026-12-21)</h2>" in page
    # the nominal day of an undated plan is not shown as a date
    plain = ExportParams(start=datetime(2027, 3, 1, 7, 30), lead_days=(70,))
    assert "D1 is" not in render_runsheets_html(final, plain, teams=teams, earlier=[sch])
    assert "D1 is" not in render_gantt_html(final, plain, others=[sch])
