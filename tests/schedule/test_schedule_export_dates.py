"""The calendar is dated from ``--separation-date`` when it is given (UXA, session 28:
schedule.ics was dated 1999-10-25 .. 2000-01-04 for a separation planned on 2027-03-01)."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from twinsep.errors import ConfigError
from twinsep.schedule.export import ExportParams, render_ics
from twinsep.schedule.stage import export_params

RESULT = SimpleNamespace(earlier_days=(112, 56), stages=())


def _options(date: str | None) -> SimpleNamespace:
    return SimpleNamespace(colour_a="#7B3FA0", colour_b="#F28C28", separation_date=date)


def _starts(text: str) -> list[datetime]:
    return [
        datetime.strptime(line.split(":", 1)[1].strip(), "%Y%m%dT%H%M%S")
        for line in text.splitlines()
        if line.startswith("DTSTART:")
    ]


def test_separation_date_dates_the_calendar(default_two_stage):
    _, _, sch = default_two_stage
    params = export_params(RESULT, _options("2027-03-01"))
    assert params.start == datetime(2027, 3, 1, 7, 30)
    assert params.lead_days == (112, 56)
    assert params.dated  # the run sheets and the Gantt chart name each day's date
    starts = _starts(render_ics([sch, sch, sch], params))
    # the separation operation on the day given, the earlier ones 112 and 56 days before
    day = datetime(2027, 3, 1, 7, 30) + timedelta(minutes=min(t.start_min for t in sch.tasks))
    for before in (0, 56, 112):
        assert day - timedelta(days=before) in starts
    assert min(starts) >= datetime(2027, 3, 1) - timedelta(days=112)
    assert max(starts) < datetime(2027, 3, 3)


def test_without_a_date_the_nominal_day_keeps_outputs_reproducible():
    assert export_params(RESULT, _options(None)).start == ExportParams().start
    assert not export_params(RESULT, _options(None)).dated


def test_bad_date_is_a_config_error():
    with pytest.raises(ConfigError, match="--separation-date"):
        export_params(RESULT, _options("2027-02-30"))
