"""Tests of the plan runner: cache keys, resume, atomic plan folder, plan.json."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twinsep.errors import InputError, OutputError
from twinsep.plan import (
    SCHEMA,
    PlanOptions,
    Stage,
    StageContext,
    read_plan,
    rerun_plan,
    run_plan,
    unrecorded_name,
    work_dir_for,
)


@dataclass(frozen=True)
class _Info:
    sha256: str = "ab" * 32
    path: str = "/secret/SMITH_JOHN/ct.nii.gz"

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "modality": "CT",
            "shape": [4, 4, 4],
            "spacing_mm": [1.0, 1.0, 1.0],
            "affine": np.eye(4).tolist(),
            "deidentified": True,
            "warnings": ["scan: guessed modality"],
        }


@dataclass(frozen=True)
class _Scan:
    info: _Info


@dataclass(frozen=True)
class _Params:
    factor: float = 2.0


class _Recorder:
    """Counts how often each stage really ran; can fail once on demand."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.fail_in: str | None = None

    def stages(self, params: _Params = _Params()) -> list[Stage]:
        def make(name: str, deps: tuple[str, ...], uses: tuple[str, ...] = ()) -> Stage:
            def run(ctx: StageContext) -> dict[str, float]:
                self.calls[name] = self.calls.get(name, 0) + 1
                if self.fail_in == name:
                    raise RuntimeError(f"boom in {name}")
                base = sum(ctx.result(d)["value"] for d in deps) if deps else 1.0
                ctx.warn(f"{name} assumed something")
                return {"value": base * ctx.params.factor}

            def write(result: dict[str, float], ctx: StageContext, out: Path) -> dict[str, Any]:
                (out / f"{name}.txt").write_text(str(result["value"]))
                return {name: {"value": result["value"]}}

            return Stage(name=name, run=run, write=write, depends=deps, uses=uses, params=params)

        return [
            make("first", ()),
            make("second", ("first",)),
            make("third", ("second",), ("team_path",)),
        ]


@pytest.fixture()
def options(tmp_path: Path) -> PlanOptions:
    return PlanOptions(scan_path=tmp_path / "ct.nii.gz")


def test_plan_folder_contents_and_values(tmp_path: Path, options: PlanOptions) -> None:
    rec = _Recorder()
    out = tmp_path / "plan"
    run = run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))
    plan = read_plan(out)
    assert plan["schema"] == SCHEMA
    # values chain through the stages: 1*2 -> *2 -> *2
    assert plan["first"]["value"] == 2.0 and plan["third"]["value"] == 8.0
    assert (out / "third.txt").read_text() == "8.0"
    assert run.computed == ["first", "second", "third"]
    assert set(plan["timings_s"]) == {"first", "second", "third"}
    assert all(v > 0 for v in plan["peak_rss_mb"].values())
    # warnings from the scan and from every stage, each once, in order
    assert plan["warnings"][0] == "scan: guessed modality"
    assert "second: second assumed something" in plan["warnings"]
    assert plan["parameters"]["first"] == {"factor": 2.0}
    # no trace of the work folder once published
    assert not work_dir_for(out).exists()


def test_patient_path_not_in_plan_by_default(tmp_path: Path, options: PlanOptions) -> None:
    out = tmp_path / "plan"
    run_plan(options, out, stages=_Recorder().stages(), scan=_Scan(_Info()))
    text = (out / "plan.json").read_text()
    assert "SMITH" not in text and "/secret" not in text


def test_cache_reuse_and_invalidation(tmp_path: Path, options: PlanOptions) -> None:
    rec = _Recorder()
    out = tmp_path / "plan"
    run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))
    run = run_plan(options, out, force=True, stages=rec.stages(), scan=_Scan(_Info()))
    assert run.cached == ["first", "second", "third"] and rec.calls == {
        "first": 1,
        "second": 1,
        "third": 1,
    }
    # a changed parameter recomputes everything downstream of it (here all stages)
    run = run_plan(options, out, force=True, stages=rec.stages(_Params(3.0)), scan=_Scan(_Info()))
    assert run.computed == ["first", "second", "third"]
    assert read_plan(out)["third"]["value"] == 27.0
    # a changed scan checksum recomputes everything
    run = run_plan(
        options,
        out,
        force=True,
        stages=rec.stages(_Params(3.0)),
        scan=_Scan(_Info(sha256="cd" * 32)),
    )
    assert run.computed == ["first", "second", "third"]


def test_changed_code_recomputes_everything(
    tmp_path: Path, options: PlanOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an updated twinsep (same version string, other source) must not reuse results that
    # the older code computed, also with --force, which keeps the cache
    import twinsep.plan_cache as plan_mod  # stage_key reads code_digest there

    rec = _Recorder()
    out = tmp_path / "plan"
    run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))
    monkeypatch.setattr(plan_mod, "code_digest", lambda: "0" * 64)
    run = run_plan(options, out, force=True, stages=rec.stages(), scan=_Scan(_Info()))
    assert run.computed == ["first", "second", "third"]
    run = run_plan(options, out, force=True, stages=rec.stages(), scan=_Scan(_Info()))
    assert run.cached == ["first", "second", "third"]


def test_code_digest_reads_the_package_source() -> None:
    from twinsep.plan import code_digest

    d = code_digest()
    assert len(d) == 64 and d == code_digest()
    root = Path(__file__).resolve().parents[1] / "src" / "twinsep"
    if root.is_dir():  # the source tree (an installed wheel has no src/ beside the tests)
        h = hashlib.sha256()
        for p in sorted(root.rglob("*.py")):
            h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
        assert h.hexdigest() == d


def test_option_change_only_reruns_stages_that_use_it(tmp_path: Path, options: PlanOptions) -> None:
    rec = _Recorder()
    out = tmp_path / "plan"
    run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))
    team = tmp_path / "team.yaml"
    team.write_text("people: []\n")
    opts2 = PlanOptions(scan_path=options.scan_path, team_path=team)
    run = run_plan(opts2, out, force=True, stages=rec.stages(), scan=_Scan(_Info()))
    assert run.cached == ["first", "second"] and run.computed == ["third"]


def test_crash_leaves_no_plan_and_resumes(tmp_path: Path, options: PlanOptions) -> None:
    rec = _Recorder()
    rec.fail_in = "third"
    out = tmp_path / "plan"
    with pytest.raises(RuntimeError, match="boom"):
        run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))
    assert not out.exists(), "a failed run must not leave a plan folder"
    assert work_dir_for(out).exists(), "the work folder keeps the cache for resuming"
    rec.fail_in = None
    run = run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))
    assert run.cached == ["first", "second"] and run.computed == ["third"]
    assert rec.calls == {"first": 1, "second": 1, "third": 2}


def test_input_error_in_stage_removes_everything(tmp_path: Path, options: PlanOptions) -> None:
    def bad(ctx: StageContext) -> None:
        raise InputError("ct.nii.gz", "only one head")

    stage = Stage(name="bad", run=bad, write=lambda r, c, o: {})
    out = tmp_path / "plan"
    with pytest.raises(InputError):
        run_plan(options, out, stages=[stage], scan=_Scan(_Info()))
    assert not out.exists() and not work_dir_for(out).exists()


def test_existing_plan_needs_force(tmp_path: Path, options: PlanOptions) -> None:
    out = tmp_path / "plan"
    run_plan(options, out, stages=_Recorder().stages(), scan=_Scan(_Info()))
    with pytest.raises(OutputError, match="--force"):
        run_plan(options, out, stages=_Recorder().stages(), scan=_Scan(_Info()))
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a twinsep plan"):
        run_plan(options, other, stages=_Recorder().stages(), scan=_Scan(_Info()))
    assert (other / "notes.txt").read_text() == "mine"


def test_rerun_plan_from_cache_without_scan(
    tmp_path: Path, options: PlanOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = _Recorder()
    out = tmp_path / "plan"
    run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))
    monkeypatch.setattr("twinsep.plan._pipeline", lambda: rec.stages())
    team = tmp_path / "team.yaml"
    team.write_text("people: []\n")
    run = rerun_plan(out, team_path=team)
    assert run.cached == ["first", "second"] and run.computed == ["third"]
    assert json.loads((out / "plan.json").read_text())["options"]["team_path"] == "team.yaml"
    # the plan keeps its own copy of the team file: a re-run works after the original moved
    assert (out / "team.yaml").read_text() == "people: []\n"
    team.unlink()
    run = rerun_plan(out)
    assert run.cached == ["first", "second", "third"]


def test_rerun_without_the_scan_names_it(
    tmp_path: Path, options: PlanOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = _Recorder()
    out = tmp_path / "plan"
    run_plan(options, out, stages=rec.stages(), scan=_Scan(_Info()))

    def needs_scan(ctx: StageContext) -> None:
        ctx.scan  # noqa: B018 - the stage reads the scan

    extra = Stage(name="extra", run=needs_scan, write=lambda r, c, o: {})
    monkeypatch.setattr("twinsep.plan._pipeline", lambda: [*rec.stages(), extra])
    with pytest.raises(InputError, match="--scan"):
        rerun_plan(out)
    assert (out / "plan.json").is_file(), "a failed re-run keeps the existing plan"


def test_rerun_without_the_mr_names_it(
    tmp_path: Path, options: PlanOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan made with --mr whose MR is gone: the re-run names --mr (not a bare 'file
    not found'), and takes the MR from --mr; an MR given to a plan made without one is
    refused."""
    rec = _Recorder()
    out = tmp_path / "plan"
    mr = tmp_path / "mr_elsewhere" / "t1.nii.gz"
    mr.parent.mkdir()
    mr.write_bytes(b"")
    monkeypatch.setattr("twinsep.io.load_scan", lambda path, **kw: _Loaded(Path(path)))
    opts = PlanOptions(scan_path=options.scan_path, mr_path=mr)
    run_plan(opts, out, stages=rec.stages(), scan=_Scan(_Info()))
    assert read_plan(out)["options"]["mr_path"] == unrecorded_name("MR")
    mr.rename(mr.with_name("moved.nii.gz"))
    seen: list[Any] = []

    def needs_mr(ctx: StageContext) -> None:
        seen.append(ctx.mr)

    extra = Stage(name="extra", run=needs_mr, write=lambda r, c, o: {})
    monkeypatch.setattr("twinsep.plan._pipeline", lambda: [*rec.stages(), extra])
    with pytest.raises(InputError, match="--mr") as err:
        rerun_plan(out)
    assert "stage extra must be recomputed and needs the MR" in str(err.value)
    assert (out / "plan.json").is_file(), "a failed re-run keeps the existing plan"

    moved = mr.with_name("moved.nii.gz")
    rerun_plan(out, mr_path=moved)
    assert seen and seen[-1].path == moved

    plain = tmp_path / "plain"
    run_plan(options, plain, stages=rec.stages(), scan=_Scan(_Info()))
    with pytest.raises(InputError, match="made without an MR"):
        rerun_plan(plain, mr_path=mr)


@dataclass(frozen=True)
class _LoadedInfo:
    modality: str = "MR"
    sha256: str = "cd" * 32
    path_names_patient: bool = False
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Loaded:
    path: Path
    info: _LoadedInfo = _LoadedInfo()


def test_options_validate_colours() -> None:
    with pytest.raises(InputError, match="colour-a"):
        PlanOptions(scan_path=Path("x"), colour_a="purple")


def test_rss_counts_child_processes() -> None:
    """The plan's memory sampler sums the process tree (stages start child processes)."""
    import subprocess
    import sys
    import time

    from twinsep.plan import _rss_mb

    code = "import numpy as np, sys, time; a = np.ones(150_000_000, np.uint8); print(1, flush=True); time.sleep(30)"
    base = _rss_mb()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "1"
        with_child = _rss_mb()
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.1)
    assert with_child - base >= 140.0, (base, with_child)
    assert _rss_mb() - base < 50.0
