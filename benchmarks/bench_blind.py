"""Blind phantom benchmark: twinsep run through its CLI on phantom3 cases, scored from outside.

The phantom (``tests/blind/phantom3.py``) was written without reading twinsep's code;
each case is rendered, written as NIfTI, planned with ``twinsep plan CT --out DIR``
(a subprocess, as a user would) and scored by ``tests/blind/score.py``: Dice per label,
twin accuracy beyond 15 mm of the true boundary, twin A rule, fusion type and axis angle,
completeness, contrast call. The alternative in the same run is the truth itself (no
other planner exists); seconds are wall time on a shared host.

``TWINSEP_BLIND_CASES`` (comma-separated names) restricts the run; ``TWINSEP_BLIND_KEEP``
(a folder) keeps every case and plan there for inspection; ``TWINSEP_BLIND_SRC`` plans
with another ``src`` (a ``git archive`` snapshot of a commit, named by
``TWINSEP_BLIND_COMMIT``), since the shared checkout may hold others' uncommitted edits.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

_TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))

from run_all import code_state, code_text  # noqa: E402

from blind.cases import blind_cases  # noqa: E402
from blind.score import plan_and_score  # noqa: E402


def run_case(name: str, work: Path) -> dict[str, Any]:
    """Render, plan (CLI) and score one case of ``blind_cases()``; a flat row."""
    return plan_and_score(blind_cases()[name], work)


DICE_KEYS = ("soft", "bone", "brain", "csf", "vessel")
"""The labels every blind benchmark scores, in table order."""


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


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results table (one row per case)."""
    head = (
        "| case | voxel mm | exit | soft | bone (limit) | brain | CSF (limit) | vessel | "
        "twin acc >15 mm | "
        "A ok | type (truth/plan) | axis deg (truth/plan) | rot deg (truth/plan) | "
        "complete (truth/plan) | contrast ok | plan s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        "Truth is the tissue at each voxel centre; twin truth is the bisecting plane of the "
        "union; 'vessel -' = plain CT (true vessel voxels left out of every Dice); twin acc "
        "counts tissue voxels more than 15 mm from that plane; axis = angle between the "
        "neck-to-vertex axes (180 = in line); rot = face rotation about the junction axis; "
        "(limit) = the best Dice of a rule on the voxel's own HU given the true tissue "
        "(bone: a threshold) or brain+CSF (CSF: an interval) mask (blind.score.voxel_limits).",
        "",
        head,
    ]
    for r in rows:
        sp = "x".join(f"{v:g}" for v in r["spacing_mm"])
        if r["exit"] != 0:
            lines.append(
                f"| {r['name']} | {sp} | **{r['exit']}** | {r.get('error', '')} |" + " |" * 12
            )
            continue
        d = r["dice"]
        lim = r.get("voxel_limit", {})
        lines.append(
            f"| {r['name']} | {sp} | 0 | {cell(d['soft'])} | {cell(d['bone'])} ({cell(lim.get('bone'))}) "
            f"| {cell(d['brain'])} | {cell(d['csf'])} ({cell(lim.get('csf'))}) | {cell(d['vessel'])} | "
            f"{cell(r['twin_acc_15mm'], 4)} | "
            f"{cell(r['twin_a_ok'])} | {r['type_truth']}/{r['type_plan']} | "
            f"{cell(r['axis_angle_truth_deg'], 1)}/{cell(r['axis_angle_plan_deg'], 1)} | "
            f"{cell(r['rotation_truth_deg'], 1)}/{cell(r['rotation_plan_deg'], 1)} | "
            f"{r['completeness_truth']}/{r['completeness_plan']} | {cell(r['contrast_ok'])} | "
            f"{r['plan_s']} |"
        )
    return "\n".join(lines)


def selected(names: list[str]) -> list[str]:
    """``names`` restricted to ``TWINSEP_BLIND_CASES`` (comma-separated) when it is set."""
    only = os.environ.get("TWINSEP_BLIND_CASES")
    if only:
        names = [n for n in names if n in set(only.split(","))]
    return names


def run_with_baselines(
    title: str,
    cases: Mapping[str, Any],
    bases: Mapping[str, Any],
    plan_case: Callable[[Any, Path], dict[str, Any]],
    markdown: Callable[[list[dict[str, Any]], dict[str, dict[str, Any]]], str],
    prefix: str,
    *,
    baseline_fields: Callable[[Path, str], dict[str, Any]] | None = None,
    hide: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Plan and score every case (or ``TWINSEP_BLIND_CASES``) and, once each, its baseline.

    ``cases``: the layer's cases by name; ``bases``: each one's phantom3 baseline case by
    the same name, planned with :func:`plan_and_score` into ``<work>/baseline`` and given
    ``baseline_fields(<work>/baseline, baseline name)`` when that is given; ``plan_case``
    plans and scores a case into ``<work>``. ``<work>`` is ``TWINSEP_BLIND_KEEP`` or a
    temporary folder named with ``prefix``. Each row and baseline is printed as a JSON
    line (a baseline without its warnings, a row without the ``hide`` fields) as it
    comes. Returns the run_all result dict: ``title``, :func:`code_state`, the rows (each
    with its ``baseline`` name), the baselines by name and ``markdown(rows, baselines)``
    under the commit planned with.
    """
    keep = os.environ.get("TWINSEP_BLIND_KEEP")
    code = code_state()
    rows: list[dict[str, Any]] = []
    baselines: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        work = Path(keep) if keep else Path(tmp)
        for name in selected(list(cases)):
            base = bases[name]
            if base.name not in baselines:
                b = plan_and_score(base, work / "baseline")
                if baseline_fields is not None:
                    b.update(baseline_fields(work / "baseline", base.name))
                print(json.dumps({k: v for k, v in b.items() if k != "warnings"}), flush=True)
                baselines[base.name] = b
            row = plan_case(cases[name], work)
            row["baseline"] = base.name
            print(json.dumps({k: v for k, v in row.items() if k not in hide}), flush=True)
            rows.append(row)
    return {
        "title": title,
        "code": code,
        "rows": rows,
        "baselines": baselines,
        "markdown": f"twinsep at {code_text(code)}\n\n" + markdown(rows, baselines),
    }


def run(out_dir: Path) -> dict[str, Any]:
    """Run every case (or ``TWINSEP_BLIND_CASES``); the run_all result dict."""
    names = selected(list(blind_cases()))
    keep = os.environ.get("TWINSEP_BLIND_KEEP")
    code = code_state()
    rows = []
    with tempfile.TemporaryDirectory(prefix="twinsep-blind-") as tmp:
        work = Path(keep) if keep else Path(tmp)
        for name in names:
            row = run_case(name, work)
            print(json.dumps({k: v for k, v in row.items() if k != "warnings"}), flush=True)
            rows.append(row)
    return {
        "title": "Blind phantom (phantom3) through the CLI",
        "code": code,
        "rows": rows,
        "markdown": f"twinsep at {code_text(code)}\n\n" + markdown(rows),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run_all import write_result

    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results")
    write_result(out, "blind", run(out))
