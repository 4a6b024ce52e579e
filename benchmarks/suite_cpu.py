"""CPU and wall time of every test of a pytest run, and a per-module summary.

The host is shared: at load 12-17 a test's wall time was 6-8 times the CPU it used, so
the wall times of one run do not rank the modules of another. CPU seconds do: this
plugin records, per test, the wall time and the CPU time of the pytest process and of
every child it waited for (the plans that tests run as subprocesses, and theirs).

Record (``make test``'s pytest line, the plugin added; one file per xdist worker)::

    SUITE_CPU_OUT=/tmp/suite PYTHONPATH=benchmarks OPENBLAS_NUM_THREADS=1 \\
        .venv/bin/pytest -q -p no:cacheprovider -p suite_cpu -n 2 --dist loadscope tests

Summarise::

    .venv/bin/python benchmarks/suite_cpu.py /tmp/suite [top]

A test's CPU includes its share of module fixtures (the first test that asks for one
pays for it) and not the collection.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Time one test (set-up, call and tear-down) and append it to the worker's file."""
    out = os.environ.get("SUITE_CPU_OUT")
    t0, c0 = time.time(), _cpu_s()
    yield
    if not out:
        return
    t1, c1 = time.time(), _cpu_s()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    row = {"id": item.nodeid, "worker": worker, "t0": t0, "t1": t1, "cpu_s": c1 - c0}
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(Path(out) / f"{worker}.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")


@dataclass
class ModuleTime:
    """One test module's totals in a recorded run."""

    module: str
    worker: str
    tests: int
    wall_s: float
    cpu_s: float
    start_s: float
    end_s: float


def summarise(folder: Path) -> tuple[list[ModuleTime], dict[str, Any]]:
    """Per-module totals (largest CPU first) and the run's totals of a recorded folder.

    Parameters
    ----------
    folder : Path
        The ``SUITE_CPU_OUT`` folder of one run.

    Returns
    -------
    modules : list of ModuleTime
        Start and end in seconds from the run's first test.
    totals : dict
        ``wall_s`` (first start to last end), and per worker ``cpu_s``, ``busy_s`` (the sum
        of its tests' wall times) and ``end_s``.
    """
    rows = [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.open()]
    if not rows:
        raise ValueError(f"{folder}: no recorded tests")
    start = min(r["t0"] for r in rows)
    mods: dict[str, ModuleTime] = {}
    for r in sorted(rows, key=lambda r: r["t0"]):
        name = r["id"].split("::", 1)[0]
        m = mods.setdefault(
            name, ModuleTime(name, r["worker"], 0, 0.0, 0.0, r["t0"] - start, r["t1"] - start)
        )
        m.tests += 1
        m.wall_s += r["t1"] - r["t0"]
        m.cpu_s += r["cpu_s"]
        m.end_s = max(m.end_s, r["t1"] - start)
    workers: dict[str, dict[str, float]] = {}
    for m in mods.values():
        w = workers.setdefault(m.worker, {"cpu_s": 0.0, "busy_s": 0.0, "end_s": 0.0})
        w["cpu_s"] += m.cpu_s
        w["busy_s"] += m.wall_s
        w["end_s"] = max(w["end_s"], m.end_s)
    totals = {"wall_s": max(r["t1"] for r in rows) - start, "tests": len(rows), "workers": workers}
    return sorted(mods.values(), key=lambda m: -m.cpu_s), totals


def main(argv: list[str]) -> int:
    """Print the summary of the folder ``argv[0]`` (the ``argv[1]`` largest modules)."""
    if not argv:
        print(__doc__)
        return 2
    mods, totals = summarise(Path(argv[0]))
    top = int(argv[1]) if len(argv) > 1 else 30
    print(f"{totals['tests']} tests, wall {totals['wall_s']:.0f} s")
    for name, w in sorted(totals["workers"].items()):
        print(
            f"  {name}: CPU {w['cpu_s']:.0f} s, busy {w['busy_s']:.0f} s, last test ended at "
            f"{w['end_s']:.0f} s"
        )
    print("   CPU s   wall s  tests worker  start    end  module")
    for m in mods[:top]:
        print(
            f"{m.cpu_s:8.1f} {m.wall_s:8.1f} {m.tests:6d} {m.worker:>6} {m.start_s:6.0f} "
            f"{m.end_s:6.0f}  {m.module}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
