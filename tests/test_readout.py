"""One rule per quantity a person reads (``twinsep.readout``): a vessel's width in whole
millimetres, halves up; a day's length in hours to one decimal."""

from __future__ import annotations

import pytest

from twinsep.readout import hours_text, vessel_width_mm, vessel_width_text


@pytest.mark.parametrize(
    ("diameter_mm", "text"),
    [
        (1.9, "2 mm"),  # vertical-II's vessel-1: "2 mm" in the warnings, 1.9 in the table
        (2.5, "3 mm"),  # halves up (round() and f"{2.5:.0f}" give 2)
        (2.49, "2 mm"),
        (3.5, "4 mm"),  # round() would give 4 here and 2 above: not one rule
        (0.6, "1 mm"),
        (0.49, "under 1 mm"),  # not "0 mm"
        (12.4, "12 mm"),
    ],
)
def test_vessel_width_whole_mm_halves_up(diameter_mm: float, text: str) -> None:
    assert vessel_width_text(diameter_mm) == text
    assert vessel_width_mm(diameter_mm) == (int(text.split()[0]) if text[0].isdigit() else 0)


@pytest.mark.parametrize(
    ("minutes", "text"), [(1343, "22.4 h"), (320, "5.3 h"), (60, "1.0 h"), (1361.51, "22.7 h")]
)
def test_hours_to_one_decimal(minutes: float, text: str) -> None:
    # 1343 min read "22 h 23 min" in gantt.html and 22.4 h everywhere else
    assert hours_text(minutes) == text
