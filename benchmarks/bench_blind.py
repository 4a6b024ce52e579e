"""Blind phantom benchmark: twinsep run through its CLI on phantom3 cases, scored from outside.

The phantom (``tests/blind/phantom3.py``) was written without reading twinsep's code;
each case is rendered, written as NIfTI, planned with ``twinsep plan CT --out DIR``
(a subprocess, as a user would) and scored by ``tests/blind/score.py``: Dice per label,
twin accuracy beyond 15 mm of the true boundary, twin A rule, fusion type and axis angle,
completeness, contrast call. The alternative in the same run is the truth itself (no
other planner exists); seconds are wall time on a shared host.

Environment (cases to run, kept plans, a snapshot's ``src``): see ``_blind_common.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _blind_common import cell, main, run_rows

from blind.cases import blind_cases
from blind.score import plan_and_score


def run_case(name: str, work: Path) -> dict[str, Any]:
    """Render, plan (CLI) and score one case of ``blind_cases()``; a flat row."""
    return plan_and_score(blind_cases()[name], work)


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


def run(out_dir: Path) -> dict[str, Any]:
    """Run every case (or ``TWINSEP_BLIND_CASES``); the run_all result dict."""
    del out_dir
    return run_rows(
        "Blind phantom (phantom3) through the CLI",
        blind_cases(),
        plan_and_score,
        markdown,
        "twinsep-blind-",
    )


if __name__ == "__main__":
    main("blind", run)
