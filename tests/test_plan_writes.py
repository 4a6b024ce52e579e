"""Deferred writes of the plan runner (``StageContext.defer_write``, issue 10).

A stage's large files and the cache entries are written on one background thread while
the next stages run. What must hold: the writes run in the order deferred (a later
file of the same name wins), all are on disk before ``plan.json`` and the published
folder, an error in one fails the plan without publishing it, and a bad input found
later still leaves no trace.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from twinsep.errors import InputError
from twinsep.plan import PlanOptions, Stage, StageContext, defer_write, run_plan, wait_written


@dataclass(frozen=True)
class _Info:
    sha256: str = "ab" * 32

    def model_dump(self, mode: str = "json") -> dict[str, Any]:
        return {"path": "ct.nii.gz", "sha256": self.sha256, "modality": "CT"}


@dataclass(frozen=True)
class _Scan:
    info: _Info


@pytest.fixture()
def options(tmp_path: Path) -> PlanOptions:
    return PlanOptions(scan_path=tmp_path / "ct.nii.gz")


def _slow_write(path: Path, text: str, log: list[str]) -> None:
    time.sleep(0.2)  # slower than the stages: the plan must wait for it
    path.write_text(text)
    log.append(f"{path.name}={text} on {threading.current_thread().name}")


def _stages(log: list[str], fail: str | None = None) -> list[Stage]:
    def make(name: str, text: str) -> Stage:
        def run(ctx: StageContext) -> str:
            if fail == name:
                raise InputError("ct.nii.gz", "found bad by a later stage")
            return text

        def write(result: str, ctx: StageContext, out: Path) -> dict[str, Any]:
            defer_write(ctx, lambda: _slow_write(out / "map.txt", result, log))
            log.append(f"{name} written")
            return {name: result}

        return Stage(name=name, run=run, write=write)

    return [make("first", "one"), make("second", "two")]


def test_deferred_writes_are_done_in_order_before_the_plan_is_published(
    tmp_path: Path, options: PlanOptions
) -> None:
    log: list[str] = []
    out = tmp_path / "plan"
    run_plan(options, out, stages=_stages(log), scan=_Scan(_Info()))
    # the stages went on before the files were there, and the files came in order
    assert log.index("second written") < log.index(next(x for x in log if x.startswith("map")))
    files = [x for x in log if x.startswith("map")]
    assert [x.split(" on ")[0] for x in files] == ["map.txt=one", "map.txt=two"]
    assert all("twinsep-write" in x for x in files)  # on the writer thread
    assert (out / "map.txt").read_text() == "two"  # the later write of the same file wins
    assert (out / "plan.json").is_file()


def test_a_failed_deferred_write_fails_the_plan(tmp_path: Path, options: PlanOptions) -> None:
    def bad_write(result: str, ctx: StageContext, out: Path) -> dict[str, Any]:
        def boom() -> None:
            raise OSError("disk full")

        defer_write(ctx, boom)
        return {}

    stage = Stage(name="only", run=lambda ctx: "x", write=bad_write)
    out = tmp_path / "plan"
    with pytest.raises(OSError, match="disk full"):
        run_plan(options, out, stages=[stage], scan=_Scan(_Info()))
    assert not out.exists()  # never published


def test_bad_input_found_later_leaves_no_trace(tmp_path: Path, options: PlanOptions) -> None:
    log: list[str] = []
    out = tmp_path / "plan"
    with pytest.raises(InputError):
        run_plan(options, out, stages=_stages(log, fail="second"), scan=_Scan(_Info()))
    # the first stage's deferred write ended before the work folder was removed
    assert any(x.startswith("map.txt=one") for x in log)
    assert not out.exists() and not any(tmp_path.glob(".plan*"))


def test_without_a_writer_the_write_happens_now(tmp_path: Path, options: PlanOptions) -> None:
    ctx = StageContext(options)
    log: list[str] = []
    ctx.defer_write(lambda: _slow_write(tmp_path / "now.txt", "x", log))
    assert (tmp_path / "now.txt").read_text() == "x" and len(log) == 1


def test_a_later_stage_waits_for_the_file_it_reads(tmp_path: Path, options: PlanOptions) -> None:
    log: list[str] = []
    seen: list[str] = []

    def first_write(result: str, ctx: StageContext, out: Path) -> dict[str, Any]:
        defer_write(ctx, lambda: _slow_write(out / "figure.svg", "drawn", log), name="figure.svg")
        return {}

    def second_write(result: str, ctx: StageContext, out: Path) -> dict[str, Any]:
        wait_written(ctx, "figure.svg")
        seen.append((out / "figure.svg").read_text())  # there, and whole
        wait_written(ctx, "never-deferred.svg")  # nothing to wait for
        return {}

    stages = [
        Stage(name="first", run=lambda ctx: "a", write=first_write),
        Stage(name="second", run=lambda ctx: "b", write=second_write),
    ]
    run_plan(options, tmp_path / "plan", stages=stages, scan=_Scan(_Info()))
    assert seen == ["drawn"]
