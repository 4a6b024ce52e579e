"""The blind benchmarks name the code that planned: ``TWINSEP_BLIND_SRC`` is the twinsep
the CLI subprocess runs (CT and MR scorers alike), and bench_blind_mr's rows carry
``run_all.code_state`` (its rows are re-run a few at a time and merged).

A stand-in ``twinsep`` package in a temporary ``src`` answers the CLI call at once, so no
plan is run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from blind import mr_score, score

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
FAKE_CLI = (
    "import sys\n"
    "def main() -> int:\n"
    "    print('stand-in twinsep: ' + ' '.join(sys.argv[1:]), file=sys.stderr)\n"
    "    return 2\n"
)


@pytest.fixture
def fake_src(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "src" / "twinsep"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text(FAKE_CLI)
    monkeypatch.setenv("TWINSEP_BLIND_SRC", str(pkg.parent))
    monkeypatch.setenv("TWINSEP_BLIND_COMMIT", "abc1234")
    return pkg.parent


def _bench_mr() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_blind_mr", BENCH / "bench_blind_mr.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules["bench_blind_mr"] = mod  # dataclasses look their module up by name
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
    return mod


def test_both_scorers_plan_with_the_snapshot(fake_src: Path, tmp_path: Path) -> None:
    proc, _ = score.run_plan(tmp_path / "ct.nii.gz", tmp_path / "plan-ct")
    assert proc.returncode == 2 and "stand-in twinsep: plan" in proc.stderr
    run = mr_score.run_plan(tmp_path / "mr.nii.gz", tmp_path / "plan-mr")
    assert run.exit_code == 2
    assert run.stderr_tail.startswith("stand-in twinsep: --quiet plan")


def test_mr_rows_carry_the_commit(
    fake_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _bench_mr()
    facts = {
        "fusion_type": "vertical",
        "axis_angle_deg": 180.0,
        "axis_angle_nominal_deg": 180.0,
        "twist_deg": 30.0,
        "rotation_across_axes_deg": 30.0,
    }
    monkeypatch.setattr(
        bench,
        "make_mr_case",
        lambda *a, **k: SimpleNamespace(truth=facts, mr_labels=None, mr_twins=None),
    )
    monkeypatch.setattr(bench, "write_case", lambda case, folder: {"mr": folder / "mr.nii.gz"})
    row, _ = bench.run_case(bench.CASES[0], tmp_path)
    assert row["code"] == {"commit": "abc1234", "src": str(fake_src), "uncommitted_src": []}
    assert row["score"]["exit_code"] == 2  # the stand-in answered, not the real twinsep
    md = bench._markdown([row])
    assert md.splitlines()[0] == "twinsep at abc1234 (git archive snapshot)"
    # merged rows of several runs: each commit names its rows; older rows say so
    old = {**row, "name": "older", "code": None}
    other = {**row, "name": "other", "code": {**row["code"], "commit": "def5678"}}
    first = bench._markdown([row, old, other]).splitlines()[0]
    assert first == (
        "twinsep at abc1234 (git archive snapshot): mr-vertical; not recorded: older; "
        "def5678 (git archive snapshot): other"
    )
