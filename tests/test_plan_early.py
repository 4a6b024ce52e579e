"""``Stage.early`` in the plan runner: a stage's job starts right after the stage it
waits for, only when the stage is not cached, is handed to its ``run``, and is stopped
when the plan ends without taking it (issue 10: the min-cut overlaps the fusion)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from twinsep.plan import PlanOptions, Stage, StageContext, run_plan


@dataclass(frozen=True)
class _Info:
    sha256: str = "ef" * 32

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return {"path": "ct.nii.gz", "sha256": self.sha256, "modality": "CT"}


@dataclass(frozen=True)
class _Scan:
    info: _Info


class _Job:
    def __init__(self, log: list[str], value: float) -> None:
        self.log = log
        self.value = value
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        self.log.append("cancel")


class _Pipeline:
    def __init__(self) -> None:
        self.log: list[str] = []
        self.jobs: list[_Job] = []
        self.fail_in: str | None = None
        self.prepare: Any = None
        self.prepared: list[_Job] = []
        self.early_after = "first"

    def early(self, ctx: StageContext) -> _Job:
        # started with the results of the stage it waits for
        job = _Job(self.log, ctx.result("first")["value"] * 10)
        self.jobs.append(job)
        self.log.append("early")
        return job

    def stages(self) -> list[Stage]:
        def make(name: str, deps: tuple[str, ...], **kw: Any) -> Stage:
            def run(ctx: StageContext) -> dict[str, float]:
                self.log.append(name)
                if self.fail_in == name:
                    raise RuntimeError(f"boom in {name}")
                job = ctx.early_jobs.pop(name, None)
                if job is not None:
                    self.log.append(f"{name} took the job")
                    return {"value": job.value}
                return {"value": 1.0 + sum(ctx.result(d)["value"] for d in deps)}

            def write(result: dict[str, float], ctx: StageContext, out: Path) -> dict[str, Any]:
                return {name: dict(result)}

            return Stage(name=name, run=run, write=write, depends=deps, **kw)

        return [
            make("first", ()),
            make("second", ("first",)),
            make(
                "third",
                ("second",),
                early=self.early,
                early_after=self.early_after,
                prepare=self.prepare,
                prepare_after="first" if self.prepare is not None else "",
            ),
        ]


@pytest.fixture()
def options(tmp_path: Path) -> PlanOptions:
    return PlanOptions(scan_path=tmp_path / "ct.nii.gz")


def test_early_job_starts_after_its_stage_and_is_taken(
    tmp_path: Path, options: PlanOptions
) -> None:
    p = _Pipeline()
    run = run_plan(options, tmp_path / "plan", stages=p.stages(), scan=_Scan(_Info()))
    assert p.log == ["first", "early", "second", "third", "third took the job"]
    assert run.plan["third"]["value"] == 10.0  # from the job (1.0 from "first" x 10)
    assert not p.jobs[0].cancelled


def test_no_early_job_for_a_cached_stage(tmp_path: Path, options: PlanOptions) -> None:
    p = _Pipeline()
    out = tmp_path / "plan"
    run_plan(options, out, stages=p.stages(), scan=_Scan(_Info()))
    p.log.clear()
    run = run_plan(options, out, force=True, stages=p.stages(), scan=_Scan(_Info()))
    assert run.cached == ["first", "second", "third"]
    assert p.log == []  # nothing ran, nothing was started


def test_early_job_not_taken_is_cancelled(tmp_path: Path, options: PlanOptions) -> None:
    p = _Pipeline()
    p.fail_in = "second"
    with pytest.raises(RuntimeError, match="boom"):
        run_plan(options, tmp_path / "plan", stages=p.stages(), scan=_Scan(_Info()))
    assert p.log == ["first", "early", "second", "cancel"]
    assert p.jobs[0].cancelled


class _FollowingJob(_Job):
    """A job that wants to hear of the stages finishing after it started."""

    def stage_done(self, name: str, ctx: StageContext) -> None:
        # the stage's result is there when the job hears of it
        self.log.append(f"heard {name} ({ctx.result(name)['value']:g})")


def test_early_job_hears_of_later_stages(tmp_path: Path, options: PlanOptions) -> None:
    p = _Pipeline()

    def early(ctx: StageContext) -> _Job:
        job = _FollowingJob(p.log, ctx.result("first")["value"] * 10)
        p.jobs.append(job)
        p.log.append("early")
        return job

    p.early = early  # type: ignore[method-assign]
    run_plan(options, tmp_path / "plan", stages=p.stages(), scan=_Scan(_Info()))
    # told of "second" (after it started, before "third" takes it), not of "first"
    assert p.log == ["first", "early", "second", "heard second (2)", "third", "third took the job"]


def _with_prepare(p: _Pipeline) -> None:
    """``third`` readies an object after ``first`` that its early hook, after ``second``,
    takes (as the min-cut's spare process, started after ``segment``)."""

    def prepare(ctx: StageContext) -> _Job:
        job = _Job(p.log, ctx.result("first")["value"])
        p.prepared.append(job)
        p.log.append("prepare")
        return job

    def early(ctx: StageContext) -> _Job:
        got = ctx.prepared.pop("third", None)
        p.log.append("early took the prepared" if got is not None else "early, nothing prepared")
        job = _Job(p.log, (got.value if got is not None else 0.0) * 10)
        p.jobs.append(job)
        return job

    p.prepare = prepare
    p.early = early  # type: ignore[method-assign]
    p.early_after = "second"


def test_prepared_object_reaches_the_early_hook(tmp_path: Path, options: PlanOptions) -> None:
    p = _Pipeline()
    _with_prepare(p)
    run = run_plan(options, tmp_path / "plan", stages=p.stages(), scan=_Scan(_Info()))
    assert p.log == [
        "first",
        "prepare",
        "second",
        "early took the prepared",
        "third",
        "third took the job",
    ]
    assert run.plan["third"]["value"] == 10.0  # through the prepared object (1.0 x 10)
    assert not p.prepared[0].cancelled


def test_prepared_object_not_taken_is_cancelled(tmp_path: Path, options: PlanOptions) -> None:
    p = _Pipeline()
    _with_prepare(p)
    p.fail_in = "second"
    with pytest.raises(RuntimeError, match="boom"):
        run_plan(options, tmp_path / "plan", stages=p.stages(), scan=_Scan(_Info()))
    assert p.log == ["first", "prepare", "second", "cancel"]
    assert p.prepared[0].cancelled


def test_nothing_prepared_for_a_cached_stage(tmp_path: Path, options: PlanOptions) -> None:
    p = _Pipeline()
    _with_prepare(p)
    out = tmp_path / "plan"
    run_plan(options, out, stages=p.stages(), scan=_Scan(_Info()))
    p.log.clear()
    run = run_plan(options, out, force=True, stages=p.stages(), scan=_Scan(_Info()))
    assert run.cached == ["first", "second", "third"]
    assert p.log == []
