"""The plan stage: stage list in, five files and the plan.json section out."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from sched_helpers import FAST

from twinsep.errors import ConfigError
from twinsep.plan import PlanOptions, StageContext
from twinsep.schedule.montecarlo import MonteCarloParams
from twinsep.schedule.solve import SEARCH_ENDS
from twinsep.schedule.stage import ScheduleParams, make_stage
from twinsep.schedule.team import team_to_yaml
from twinsep.schedule.template import default_team


@dataclass(frozen=True)
class PlannedStage:  # what the separation module provides (docs/CONTRACTS.md)
    number: int
    name: str
    kind: str
    structures: list[str]
    rationale: str
    area_mm2: float


STAGES = [
    PlannedStage(1, "scalp tissue expander insertion", "preparatory", ["scalp"], "cover", 0.0),
    PlannedStage(2, "sinus division 1", "separation", ["shared SSS segment 1"], "staged", 350.0),
    PlannedStage(3, "sinus division 2", "separation", ["shared SSS segment 2"], "staged", 500.0),
]
PARAMS = ScheduleParams(
    solve=FAST, earlier_time_limit_s=60.0, montecarlo=MonteCarloParams(n_samples=2000)
)


def _ctx(team_path: Path | None, colour_a: str = "#7B3FA0") -> StageContext:
    opts = PlanOptions(scan_path=Path("ct.nii.gz"), team_path=team_path, colour_a=colour_a)
    ctx = StageContext(opts, results={"separate": SimpleNamespace(stages=STAGES)})
    ctx.params = PARAMS
    ctx.stage_name = "schedule"
    return ctx


def test_stage_runs_and_writes(tmp_path):
    team_file = tmp_path / "team.yaml"
    team_file.write_text(team_to_yaml(default_team()))
    digest = hashlib.sha256(team_file.read_bytes()).hexdigest()
    stage = make_stage(["segment", "separate"])
    assert stage.depends == ("separate",) and "team_path" in stage.uses
    ctx = _ctx(team_file, colour_a="#112233")
    result = stage.run(ctx)
    out = tmp_path / "plan"
    out.mkdir()
    section = stage.write(result, ctx, out)["schedule"]
    assert hashlib.sha256(team_file.read_bytes()).hexdigest() == digest  # input untouched
    assert {p.name for p in out.iterdir()} == set(section["files"])
    json.dumps(section, allow_nan=False)
    assert section["verified"] is True
    assert 11 * 60 <= section["makespan_min"] <= 30 * 60
    assert section["p90_min"] >= section["p50_min"] > 0
    assert section["colours"]["A"] == "#112233"
    assert any(t["colour"] == "#112233" and t["twin"] == "A" for t in section["tasks"])
    # staged division is staged in time: division 1 is its own operation 8 weeks before
    # the final one (both divisions were in the separation day before)
    assert [
        (o["operation"], o["kind"], o["days_before_separation"])
        for o in section["earlier_operations"]
    ] == [
        ("stage 1: scalp tissue expander insertion", "preparatory", 112),
        ("stage 2: sinus division 1", "division", 56),
    ]
    prep, div = section["earlier_operations"]
    # P50 / P90 of every operation, the preparatory one's too (null until session 29)
    for op in (prep, div):
        assert op["p90_min"] >= op["p50_min"] > 0
    # how each search ended, both phases of every operation (which end: tests of
    # solve.search_end; these tests' 4 s / 2 s wall limits may be reached under load)
    for ends in (section["search_end"], prep["search_end"], div["search_end"]):
        assert set(ends) == {"makespan", "balance"}
        assert {ends["makespan"], ends["balance"]} <= set(SEARCH_ENDS)
    # the division step is named by its stage, as in plan.json and the stage tables
    assert [t["name"] for t in section["tasks"] if " division: " in t["name"]] == [
        "stage 3 division: shared SSS segment 2"
    ]
    assert "#112233" in (out / "gantt.svg").read_text()


def test_stage_without_separation_result_warns():
    opts = PlanOptions(scan_path=Path("ct.nii.gz"))
    ctx = StageContext(opts)
    ctx.params = PARAMS
    result = make_stage([]).run(ctx)
    assert any("no separation stages" in w for w in ctx.warnings)
    assert result.final.makespan_min > 0


def test_bad_team_file_is_config_error(tmp_path):
    team_file = tmp_path / "team.yaml"
    team_file.write_text("people: []\nrooms: [OR]\ntables: []\n")
    with pytest.raises(ConfigError, match=r"team.yaml: line 1, field people"):
        make_stage([]).run(_ctx(team_file))


def test_team_without_twin_tables_is_explained(tmp_path):
    team = default_team()
    team = team.model_copy(update={"tables": team.tables[:1]})
    team_file = tmp_path / "team.yaml"
    team_file.write_text(team_to_yaml(team))
    with pytest.raises(ConfigError, match="needs a table with twin: A"):
        make_stage([]).run(_ctx(team_file))


def test_infeasible_team_is_reported_as_bad_input(tmp_path):
    team = default_team()
    team = team.model_copy(
        update={
            "people": tuple(p for p in team.people if "neurosurgeon" not in p.skills)[:-1]
            + (team.people[0],)
        }
    )  # one neurosurgeon left
    team_file = tmp_path / "team.yaml"
    team_file.write_text(team_to_yaml(team))
    with pytest.raises(ConfigError) as info:
        make_stage([]).run(_ctx(team_file))
    msg = info.value.one_line()
    assert msg.startswith(f"{team_file}: no feasible OR schedule: task ")
    assert "needs 2 neurosurgeons" in msg and "team has 1" in msg


def test_through_the_plan_runner_with_cache_and_team_change(tmp_path):
    from dataclasses import replace

    from twinsep.plan import Stage, run_plan

    calls = []

    def run_separate(ctx):
        calls.append(1)
        return SimpleNamespace(stages=STAGES[1:])

    fake = Stage(name="separate", run=run_separate, write=lambda r, c, o: {})
    stage = replace(make_stage(["separate"]), params=PARAMS)
    info = {"sha256": "0" * 64, "path": "ct.nii.gz"}
    team_file = tmp_path / "team.yaml"
    team_file.write_text(team_to_yaml(default_team()))
    out = tmp_path / "plan"
    opts = PlanOptions(scan_path=Path("ct.nii.gz"), team_path=team_file)
    first = run_plan(opts, out, stages=[fake, stage], input_info=info)
    assert first.computed == ["separate", "schedule"]
    plan = json.loads((out / "plan.json").read_text())
    assert plan["schedule"]["makespan_min"] == first.plan["schedule"]["makespan_min"]
    assert (out / "schedule.ics").is_file() and (out / "runsheets.html").is_file()
    # same inputs: both stages from the cache
    again = run_plan(opts, out, force=True, stages=[fake, stage], input_info=info)
    assert again.cached == ["separate", "schedule"]
    # a slower team (longer hand-overs) changes only the schedule
    slow = default_team()
    slow = slow.model_copy(
        update={"people": tuple(p.model_copy(update={"handover_min": 30}) for p in slow.people)}
    )
    team_file.write_text(team_to_yaml(slow))
    third = run_plan(opts, out, force=True, stages=[fake, stage], input_info=info)
    assert third.cached == ["separate"] and third.computed == ["schedule"]
    hos = third.plan["schedule"]["handovers"]
    assert hos and all(h["end_min"] - h["start_min"] == 30 for h in hos)
    # plan.json names each twin's anaesthetist in charge, relays tiling the anaesthesia
    tasks = {t["name"]: t for t in third.plan["schedule"]["tasks"]}
    for twin in ("A", "B"):
        spans = [
            (c["start_min"], c["end_min"])
            for c in third.plan["schedule"]["in_charge"]
            if c["twin"] == twin and c["skill"] == "anaesthetist"
        ]
        assert spans[0][0] == tasks["team briefing and time-out"]["start_min"]
        assert spans[-1][1] == tasks[f"dressing and transfer to ICU {twin}"]["end_min"]
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_long_operation_enlarges_the_default_team_and_warns():
    from dataclasses import replace

    from sched_helpers import sep_stages

    from twinsep.schedule.stage import plan_schedule
    from twinsep.schedule.template import TemplateParams
    from twinsep.schedule.verify import verify_schedule

    # one 10-hour division step in the final operation (six steps in one day before the
    # divisions became operations of their own): a 27+ h day
    long_division = TemplateParams(
        division_base_min=600, division_cap_min=600, division_spread=(0.9, 1.15)
    )
    params = replace(PARAMS, template=long_division)
    result = plan_schedule(sep_stages(2, area_mm2=2000.0), params=params)
    assert result.final.makespan_min > 27 * 60
    assert len(result.team.people) > len(default_team().people)
    assert any("enlarged by" in n for n in result.notes)
    assert any("longer than any reported single operation" in n for n in result.notes)
    assert verify_schedule(result.final, result.team).ok
