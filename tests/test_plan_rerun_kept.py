"""``twinsep report/schedule DIR`` after twinsep changed (docs/DECISIONS.md, "A re-run
after twinsep changed"): the plan's results are kept, not recomputed (which needs the
scan), with a warning saying the plan mixes two versions; ``--scan`` recomputes all.

The pipeline is three stand-in stages (the first reads the scan); a change of twinsep's
code is a changed :func:`twinsep.plan.code_digest`, which every cache key holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from twinsep.errors import InputError
from twinsep.plan import PlanOptions, Stage, StageContext, read_plan, rerun_plan, run_plan
from twinsep.report.render import warning_groups


@dataclass(frozen=True)
class _Info:
    """What :func:`run_plan` reads of a loaded scan's info."""

    path: str = "/data/ct.nii.gz"
    sha: str = "ab" * 32

    @property
    def sha256(self) -> str:
        return self.sha

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha}


@dataclass(frozen=True)
class _Scan:
    info: _Info


class _Pipeline:
    """first (reads the scan) -> second -> third (reads the team file); each result is
    its input plus the version of the code that computed it."""

    def __init__(self) -> None:
        self.code = "v1"
        self.calls: list[str] = []

    def stages(self) -> list[Stage]:
        def make(name: str, deps: tuple[str, ...], uses: tuple[str, ...] = ()) -> Stage:
            def run(ctx: StageContext) -> dict[str, Any]:
                self.calls.append(name)
                if name == "first":
                    ctx.scan  # noqa: B018 - a stage that needs the scan
                made = [*(m for d in deps for m in ctx.result(d)["made"]), f"{name}@{self.code}"]
                ctx.warn(f"{name} assumed something")
                return {"made": made}

            def write(result: dict[str, Any], ctx: StageContext, out: Path) -> dict[str, Any]:
                return {name: result}

            return Stage(name=name, run=run, write=write, depends=deps, uses=uses)

        return [
            make("first", ()),
            make("second", ("first",)),
            make("third", ("second",), ("team_path",)),
        ]


@pytest.fixture()
def made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, _Pipeline]:
    """A plan made by code v1; then twinsep 'is updated' to v2 and the scan is gone."""
    pipe = _Pipeline()
    out = tmp_path / "plan"
    run_plan(
        PlanOptions(scan_path=tmp_path / "ct.nii.gz"),
        out,
        stages=pipe.stages(),
        scan=_Scan(_Info()),
    )
    monkeypatch.setattr("twinsep.plan._pipeline", pipe.stages)
    monkeypatch.setattr("twinsep.plan_cache.code_digest", lambda: "f" * 64)
    pipe.code = "v2"
    pipe.calls.clear()
    monkeypatch.chdir(tmp_path)  # where the scan's recorded name is not
    return out, pipe


def test_report_after_an_update_keeps_the_results_without_the_scan(
    made: tuple[Path, _Pipeline],
) -> None:
    out, pipe = made
    run = rerun_plan(out)
    assert run.kept == ["first", "second", "third"] and run.computed == [] and pipe.calls == []
    plan = read_plan(out)
    assert plan["third"]["made"] == ["first@v1", "second@v1", "third@v1"]
    assert plan["cache"]["kept"]["stages"] == ["first", "second", "third"]
    kept = [w for w in plan["warnings"] if w.startswith("re-run: ")]
    assert len(kept) == 1 and "the results of first, second, third are those of" in kept[0]
    assert "mixes two versions" in kept[0] and "--scan SCAN" in kept[0]
    # the stages' own warnings come with their kept results, once
    assert plan["warnings"].count("second: second assumed something") == 1
    # a second re-run says it once again, not twice
    rerun_plan(out)
    assert sum(w.startswith("re-run: ") for w in read_plan(out)["warnings"]) == 1
    # the report shows it first, under its own heading
    title, texts = warning_groups(read_plan(out)["warnings"])[0]
    assert title == "Results kept from the twinsep that made this plan"
    rest = kept[0].removeprefix("re-run: ")
    assert texts == [rest[0].upper() + rest[1:]]


def test_a_new_team_recomputes_the_schedule_from_the_kept_results(
    made: tuple[Path, _Pipeline], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, pipe = made
    team = tmp_path / "team.yaml"
    team.write_text("people: []\n")
    run = rerun_plan(out, team_path=team)
    assert run.kept == ["first", "second"] and run.computed == ["third"]
    assert read_plan(out)["third"]["made"] == ["first@v1", "second@v1", "third@v2"]
    # given the scan, the whole plan is recomputed by this twinsep: the third stage made
    # from kept results is not taken for one made from this twinsep's own
    (tmp_path / "ct.nii.gz").write_bytes(b"")
    monkeypatch.setattr("twinsep.io.load_scan", lambda path, **kw: _Scan(_Info()))
    run = rerun_plan(out, scan_path=tmp_path / "ct.nii.gz")
    assert run.computed == ["first", "second", "third"] and run.kept == []
    plan = read_plan(out)
    assert plan["third"]["made"] == ["first@v2", "second@v2", "third@v2"]
    assert "kept" not in plan["cache"] and not any(
        w.startswith("re-run: ") for w in plan["warnings"]
    )


def test_results_that_cannot_be_used_ask_for_the_scan(
    made: tuple[Path, _Pipeline], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kept result this twinsep cannot use (its class changed) is a one-line exit 2
    asking for the scan, and the plan is left as it was."""
    out, pipe = made
    before = (out / "plan.json").read_bytes()
    stages = pipe.stages()

    def changed(ctx: StageContext) -> None:
        ctx.result("second")["field_added_since"]  # noqa: B018

    stages[2] = Stage(
        name="third",
        run=changed,
        write=lambda r, c, o: {},
        depends=("second",),
        uses=("team_path",),
    )
    monkeypatch.setattr("twinsep.plan._pipeline", lambda: stages)
    team = tmp_path / "team.yaml"
    team.write_text("people: []\n")
    with pytest.raises(InputError) as err:
        rerun_plan(out, team_path=team)
    line = err.value.one_line()
    assert "stage third cannot use the results of first, second" in line and "--scan" in line
    assert (out / "plan.json").read_bytes() == before


def test_a_recompute_without_the_scan_names_the_scan_as_given(
    made: tuple[Path, _Pipeline],
) -> None:
    """With no result to keep (a deleted cache) the scan is needed: the message names
    the option that gives it, not a path inside the plan folder (the plan records no
    input file's name without --keep-phi)."""
    out, _ = made
    for p in (out / ".cache").glob("*.pkl"):
        p.unlink()
    with pytest.raises(InputError) as err:
        rerun_plan(out)
    line = err.value.one_line()
    assert line.startswith("--scan: stage first must be recomputed and needs the scan"), line
    assert "recorded only with --keep-phi" in line
    assert "--scan" in line and "\n" not in line


def test_a_rerun_refuses_a_scan_other_than_the_plans(
    made: tuple[Path, _Pipeline], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--scan`` given to a re-run must be the plan's scan: a stage recomputed from
    another one would be filed under the plan's checksum (cache keys, plan.json)."""
    out, _ = made
    before = (out / "plan.json").read_bytes()
    other = tmp_path / "other.nii.gz"
    other.write_bytes(b"")
    monkeypatch.setattr("twinsep.io.load_scan", lambda path, **kw: _Scan(_Info(sha="cd" * 32)))
    with pytest.raises(InputError) as err:
        rerun_plan(out, scan_path=other)
    line = err.value.one_line()
    assert line.startswith(f"{other}: is not the scan this plan was made from"), line
    assert (out / "plan.json").read_bytes() == before
