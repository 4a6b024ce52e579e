"""The ``blood`` section of a real plan (the session's vertical-II plan, ``vertical_ii_plan``):
"not given" as planned, the figures after ``twinsep report DIR --weight-kg ...`` (a
re-run from the plan's cache: only the ``blood`` stage is computed), the report card."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from twinsep.plan import rerun_plan


def test_plan_without_inputs_says_not_given(vertical_ii_plan: tuple[Path, Path]) -> None:
    _, out = vertical_ii_plan
    plan = json.loads((out / "plan.json").read_text())
    blood = plan["blood"]
    assert blood["inputs"] == "not given"
    assert all(blood["twins"][t]["ebv_ml"] is None for t in ("A", "B"))
    # one flag per stage of the separation plan, in its order
    numbers = [s["number"] for s in plan["separation"]["stages"]]
    assert [s["number"] for s in blood["stages"]] == numbers
    assert plan["options"]["weight_kg"] is None and "blood" in plan["parameters"]
    page = (out / "report.html").read_text()
    assert 'id="card-blood"' in page and "not a transfusion protocol" in page


@pytest.fixture(scope="module")
def rerun(vertical_ii_plan: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the plan re-run with each twin's weight, age and haematocrit."""
    _, out = vertical_ii_plan
    copy = tmp_path_factory.mktemp("blood") / "plan"
    shutil.copytree(out, copy)
    run = rerun_plan(copy, weight_kg=(8.2, 7.9), age_months=(10.0, 10.0), hct_pct=(35.0, 33.0))
    assert run.computed == ["blood"], run.computed  # nothing else recomputed
    return copy


def test_rerun_with_inputs_writes_the_figures(rerun: Path) -> None:
    plan = json.loads((rerun / "plan.json").read_text())
    a, b = plan["blood"]["twins"]["A"], plan["blood"]["twins"]["B"]
    # 8.2 kg x 75 mL/kg (infant band 70-80); Gross 615 x 10 / 30; 7.9 x 75; 592.5 x 8 / 29
    assert (a["ebv_ml"], a["ebv_ml_range"], a["mabl_ml"]) == (615.0, [574.0, 656.0], 205.0)
    assert (b["ebv_ml"], b["mabl_ml"]) == (592.0, round(592.5 * 8 / 29))
    assert plan["blood"]["inputs"] == "given"
    assert plan["options"]["weight_kg"] == [8.2, 7.9]  # recorded for the next re-run
    page = (rerun / "report.html").read_text()
    assert 'data-key="blood.twins.A.mabl_ml" data-value="205.0"' in page
    line = plan["blood"]["runsheet"]["A"]
    assert line.startswith("Twin A blood: estimated blood volume 615 mL (574-656 mL")


def test_each_days_run_sheets_carry_that_days_blood_line(rerun: Path) -> None:
    """Under each twin's "anaesthetist in charge" heading of every operation's run sheets,
    the blood line of that operation's own stage (plan.json ``blood.runsheet_operations``).
    Until 2026-11-28 every day's sheets carried the plan-wide line, so the expander
    insertion's and the distraction's named the separation's high-risk stage."""
    plan = json.loads((rerun / "plan.json").read_text())
    sheets = (rerun / "runsheets.html").read_text()
    lines = {o["stage"]: o for o in plan["blood"]["runsheet_operations"]}
    earlier = [o["stage"] for o in plan["schedule"]["earlier_operations"]]
    final = [s["number"] for s in plan["separation"]["stages"] if s["kind"] == "separation"][-1]
    # the page: one part per operation, each opening with its heading, in calendar order
    parts = sheets.split('<h1 class="op">')[1:]
    assert len(parts) == len(earlier) + 1 >= 2
    risk = {s["number"]: s["bleeding_risk"] for s in plan["blood"]["stages"]}
    for part, stage in zip(parts, [*earlier, final], strict=True):
        shown = re.findall(r'<p class="blood">(.*?)</p>', part)
        want = [html.escape(lines[stage][t]) for t in ("A", "B")]
        assert sorted(shown) == sorted(want), (stage, shown)
        said = f"This operation (stage {stage}): bleeding risk {risk[stage]}: "
        assert all(said in s for s in shown), (said, shown)
    # this plan's first operation inserts the expanders: scalp only
    assert lines[earlier[0]]["A"].count("bleeding risk low: scalp only") == 1


def test_a_second_rerun_keeps_the_inputs(rerun: Path) -> None:
    """``twinsep schedule DIR`` without the options keeps the recorded ones."""
    run = rerun_plan(rerun)
    assert run.computed == []
    assert run.plan["blood"]["twins"]["B"]["ebv_ml"] == 592.0
