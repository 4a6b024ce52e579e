"""The report's blood card and section: units, the sources' ranges, 'not a transfusion
protocol', every number equal to plan.json; and the CLI's refusals of bad blood inputs."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from twinsep.anaesthesia.blood import BloodParams
from twinsep.anaesthesia.stage import blood_plan, blood_section
from twinsep.cli import app
from twinsep.plan_options import PlanOptions
from twinsep.report.render import get_path, render_report


def _plan(**blood: Any) -> dict[str, Any]:
    options = PlanOptions(scan_path=Path("ct.nii.gz"), **blood)
    return {
        "schema": "twinsep.plan/1",
        "version": "0.1.0",
        "created": "2026-11-28T00:00:00+00:00",
        "input": {"sha256": "ab" * 32},
        "colours": {"A": "#7B3FA0", "B": "#F28C28"},
        "timings_s": {},
        "peak_rss_mb": {},
        "parameters": {},
        "blood": blood_section(blood_plan(options, None, None), BloodParams()),
    }


def _card(page: str) -> str:
    start = page.index('id="card-blood"')
    return page[start : page.index("</div>\n</div>", start)]


_NUM = re.compile(r'data-key="(blood\.[^"]+)" data-value="([^"]*)"')


def test_card_and_section_show_the_plan_numbers_with_units_and_ranges() -> None:
    plan = _plan(weight_kg=(8.0, 7.0), age_months=(10.0, 2.0), hct_pct=(35.0, 33.0))
    page = render_report(plan, {})
    card = _card(page)
    text = html.unescape(re.sub(r"<[^>]+>", "", card)).replace("\xa0", " ")
    # twin A: 8 kg x 70-80 mL/kg; Gross 600 x 10 / 30 = 200; range 160-215 over band and forms
    assert "twin A: blood volume 600 mL (560–640 mL), allowable loss 200 mL (160–215 mL)" in text
    assert "to Hct 25 %" in text
    assert "Estimate, not a transfusion protocol" in text
    section = html.unescape(page[page.index('<section id="blood">') :])
    assert "80–105" in section  # twin B's band at 2 months: the sources' range, mL/kg
    assert "young infant (1 to 3 months)" in section and "Hb 12" in section
    assert "20–25 %" in section and "Gross 1983" in section
    keys = dict(_NUM.findall(page))
    assert keys, "no blood number carries its plan.json key"
    for key, value in keys.items():
        assert str(get_path(plan, key)) == value, key


def test_not_given_is_said_and_no_number_is_shown() -> None:
    page = render_report(_plan(), {})
    card = _card(page)
    assert card.count(">not given<") == 2 and "--weight-kg, --age-months, --hct" in card
    assert "mL" not in re.sub(r"<[^>]+>", "", card)
    table = page[
        page.index('id="blood-twins"') : page.index("</table>", page.index('id="blood-twins"'))
    ]
    assert table.count("not given") == 10  # weight, age, EBV, Hct, MABL of each twin


runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--weight-kg", "8"], "--weight-kg: needs one value per twin, A,B"),
        (["--weight-kg", "8,7,6"], "--weight-kg: needs one value per twin"),
        (["--weight-kg", "-8,7"], "--weight-kg: twin A's value -8 kg is outside 0.4-150 kg"),
        (["--weight-kg", "8,900"], "--weight-kg: twin B's value 900 kg is outside"),
        (["--weight-kg", "8,nan"], "--weight-kg: twin B's value nan kg"),
        (["--weight-kg", "eight,7"], "--weight-kg: 'eight,7' is not numbers A,B"),
        (["--age-months", "10,-1"], "--age-months: twin B's value -1 months is outside"),
        (["--hct", "0.35,0.33"], "give percent, e.g. 35, not 0.35"),
        (["--hct-min", "60"], "--hct-min: 60 % is outside 10-45 %"),
    ],
)
def test_plan_refuses_bad_blood_inputs_in_one_line(
    tmp_path: Path, args: list[str], words: str
) -> None:
    out = tmp_path / "plan"
    result = runner.invoke(app, ["plan", str(tmp_path / "ct.nii.gz"), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert not out.exists() and not any(tmp_path.iterdir())


def test_report_rerun_refuses_bad_blood_input_before_reading_the_plan(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path), "--hct", "35;x"])
    assert result.exit_code == 2 and "--hct: '35;x' is not numbers A,B" in result.stderr


def test_cli_summary_lines_name_each_twin_and_not_a_protocol() -> None:
    from twinsep.cli import _blood_lines

    given = _plan(weight_kg=(8.0, 7.0), age_months=(10.0, 10.0), hct_pct=(35.0, 33.0))
    assert _blood_lines(given["blood"]) == [
        "blood, twin A: estimated volume 600 mL, allowable loss 200 mL to Hct 25 % "
        "(estimate, not a transfusion protocol)",
        # 7 kg x 75 = 525 mL; 525 x 8 / 29 = 144.8
        "blood, twin B: estimated volume 525 mL, allowable loss 145 mL to Hct 25 % "
        "(estimate, not a transfusion protocol)",
    ]
    assert _blood_lines(_plan()["blood"]) == []  # nothing given: nothing printed
    assert _blood_lines({"twins": {}, "high_risk_stages": [3, 4]}) == [
        "bleeding risk high in stages 3, 4"
    ]
