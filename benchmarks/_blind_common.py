"""What the blind benchmarks (``bench_blind*.py``) share: how a run is chosen, where its
cases are kept, which code plans them, the table cells, and the run loops.

Each blind benchmark renders cases written by an outside engineer (``tests/blind``),
plans each one with ``twinsep plan CT --out DIR`` (a subprocess, as a user would) and
scores the plan from outside. The environment of every blind benchmark:

``TWINSEP_BLIND_CASES``
    Comma-separated case names: only these are run (:func:`selected`).
``TWINSEP_BLIND_KEEP``
    A folder that keeps every case and plan for inspection (else a temporary folder).
``TWINSEP_BLIND_SRC`` / ``TWINSEP_BLIND_COMMIT``
    Plan with another ``src`` folder (a ``git archive`` snapshot of a commit, named by
    ``TWINSEP_BLIND_COMMIT``), since the shared checkout may hold others' uncommitted
    edits: ``blind.score.plan_env`` puts it first on the plan's ``PYTHONPATH`` and
    ``run_all.code_state`` names it in the results.

Importing this module puts ``tests/`` on ``sys.path`` (the cases and scorers live in
``tests/blind``); ``benchmarks/`` is already there when a benchmark runs as a script or
through ``run_all.py``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from run_all import code_state, code_text, write_result  # noqa: E402

from blind.score import plan_and_score  # noqa: E402

DICE_KEYS = ("soft", "bone", "brain", "csf", "vessel")
"""The labels every blind benchmark scores, in table order."""

Row = dict[str, Any]


def delta(a: float | None, b: float | None) -> str:
    """``a - b`` to three decimals with its sign, ``-`` when either is missing."""
    if a is None or b is None:
        return "-"
    return f"{a - b:+.3f}"


def cell(v: object, nd: int = 3) -> str:
    """A table cell: "-" for None, yes / **no** for a flag, ``nd`` decimals for a float."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "**no**"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def exit_row(name: str, row: Mapping[str, Any], empty: int) -> str:
    """A table row for a plan that exited non-zero: the name, the exit code in bold, the
    error line, then ``empty`` empty cells."""
    return f"| {name} | **{row['exit']}** | {row.get('error', '')} |" + " |" * empty


def dice_delta_cells(dice: Mapping[str, float | None], base: Mapping[str, Any]) -> list[str]:
    """One cell per ``DICE_KEYS`` label: the Dice and, in brackets, minus the baseline
    row ``base``'s (``-`` when the baseline did not exit 0); ``-`` for an unscored label."""
    bd = base.get("dice", {}) if base.get("exit") == 0 else {}
    return [
        f"{cell(dice[k])} ({delta(dice[k], bd.get(k))})" if dice[k] is not None else "-"
        for k in DICE_KEYS
    ]


def selected(names: list[str]) -> list[str]:
    """``names`` restricted to ``TWINSEP_BLIND_CASES`` (comma-separated) when it is set."""
    only = os.environ.get("TWINSEP_BLIND_CASES")
    if only:
        names = [n for n in names if n in set(only.split(","))]
    return names


def _shown(row: Mapping[str, Any], hide: tuple[str, ...]) -> str:
    """``row`` as one JSON line without the ``hide`` fields (printed as each row comes)."""
    return json.dumps({k: v for k, v in row.items() if k not in hide})


def run_rows(
    title: str,
    cases: Mapping[str, Any],
    plan_case: Callable[[Any, Path], Row],
    markdown: Callable[[list[Row]], str],
    prefix: str,
) -> dict[str, Any]:
    """Plan and score every case (or ``TWINSEP_BLIND_CASES``); no baseline.

    ``cases``: the layer's cases by name; ``plan_case`` renders, plans and scores one into
    ``<work>``: ``TWINSEP_BLIND_KEEP`` or a temporary folder named with ``prefix``. Each
    row is printed as a JSON line without its warnings as it comes. Returns the run_all
    result dict: ``title``, :func:`run_all.code_state`, the rows and ``markdown(rows)``
    under the commit planned with.
    """
    keep = os.environ.get("TWINSEP_BLIND_KEEP")
    code = code_state()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(keep) if keep else Path(tmp)
        for name in selected(list(cases)):
            row = plan_case(cases[name], work)
            print(_shown(row, ("warnings",)), flush=True)
            rows.append(row)
    return {
        "title": title,
        "code": code,
        "rows": rows,
        "markdown": f"twinsep at {code_text(code)}\n\n" + markdown(rows),
    }


def run_with_baselines(
    title: str,
    cases: Mapping[str, Any],
    bases: Mapping[str, Any],
    plan_case: Callable[[Any, Path], Row],
    markdown: Callable[[list[Row], dict[str, Row]], str],
    prefix: str,
    *,
    baseline_fields: Callable[[Path, str], Row] | None = None,
    hide: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Plan and score every case (or ``TWINSEP_BLIND_CASES``) and, once each, its baseline.

    ``cases``: the layer's cases by name; ``bases``: each one's phantom3 baseline case by
    the same name, planned with ``blind.score.plan_and_score`` into ``<work>/baseline`` and given
    ``baseline_fields(<work>/baseline, baseline name)`` when that is given; ``plan_case``
    plans and scores a case into ``<work>``. ``<work>`` is ``TWINSEP_BLIND_KEEP`` or a
    temporary folder named with ``prefix``. Each row and baseline is printed as a JSON
    line (a baseline without its warnings, a row without the ``hide`` fields) as it
    comes. Returns the run_all result dict: ``title``, :func:`run_all.code_state`, the
    rows (each with its ``baseline`` name), the baselines by name and
    ``markdown(rows, baselines)`` under the commit planned with.
    """
    keep = os.environ.get("TWINSEP_BLIND_KEEP")
    code = code_state()
    rows: list[Row] = []
    baselines: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(keep) if keep else Path(tmp)
        for name in selected(list(cases)):
            base = bases[name]
            if base.name not in baselines:
                b = plan_and_score(base, work / "baseline")
                if baseline_fields is not None:
                    b.update(baseline_fields(work / "baseline", base.name))
                print(_shown(b, ("warnings",)), flush=True)
                baselines[base.name] = b
            row = plan_case(cases[name], work)
            row["baseline"] = base.name
            print(_shown(row, hide), flush=True)
            rows.append(row)
    return {
        "title": title,
        "code": code,
        "rows": rows,
        "baselines": baselines,
        "markdown": f"twinsep at {code_text(code)}\n\n" + markdown(rows, baselines),
    }


def main(name: str, run: Callable[[Path], dict[str, Any]]) -> None:
    """Run a blind benchmark as a script: ``python benchmarks/bench_<name>.py [OUT]``
    writes ``OUT/<name>.json`` and ``.md`` (``OUT`` defaults to ``benchmarks/results``)."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results"
    write_result(out, name, run(out))
