"""Every benchmark module imports the way ``make bench`` (benchmarks/run_all.py) loads it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def _run_all():
    spec = importlib.util.spec_from_file_location("twinsep_run_all", BENCH_DIR / "run_all.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("path", sorted(BENCH_DIR.glob("bench_*.py")), ids=lambda p: p.stem)
def test_benchmark_module_loads_and_has_run(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module that fails to import (e.g. a dataclass in a module loaded by path without
    registering it) would stop ``make bench`` at that benchmark.

    ``make bench`` runs ``python benchmarks/run_all.py``, so ``benchmarks/`` is first on
    ``sys.path`` (bench_blind imports ``run_all`` by name); the test puts it there too,
    rather than relying on an earlier test having done so."""
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    mod = _run_all().load_benchmark(path)
    assert callable(getattr(mod, "run", None)), f"{path.name} has no run(out_dir)"
