"""Infant blind phantom benchmark: twinsep on infant brains (0-24 months) through its CLI.

The cases (``tests/blind/infant_cases.py``) are phantom3 pairs whose brains an outside
engineer re-made by age (``tests/blind/infant.py``: unmyelinated white matter 14-28 HU,
grey 28-40 HU, CSF 2-10 HU, myelination central and posterior first, widened extra-axial
CSF on some cases, thin skull, open sutures and fontanelle, 0.6-1.0 mm in-plane voxels,
1.25-2.5 mm slices, 10-30 HU noise). Each case is rendered, planned with
``twinsep plan CT --out DIR`` (a subprocess, as a user would) and scored by
``tests/blind/infant_score.py``: Dice per label (white matter counted as brain), twin
accuracy beyond 15 mm of the true boundary plane, twin A, fusion type, and the share of
each infant material given each label (unmyelinated white matter called CSF is the silent
wrong answer looked for). The alternative in the same run is the truth itself.

Environment (cases to run, kept plans, a snapshot's ``src``): see ``_blind_common.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _blind_common import DICE_KEYS, cell, main, run_rows

from blind.infant_cases import infant_cases
from blind.infant_score import plan_and_score_infant


def markdown(rows: list[dict[str, Any]]) -> str:
    """Two tables: the plan against the truth per case, then the infant materials."""
    lines = [
        "Truth is the tissue at each voxel centre (every white-matter voxel is brain); "
        "'vessel -' = plain CT (true vessel voxels left out of every Dice); twin acc counts "
        "tissue voxels more than 15 mm from the true boundary plane; HU = the case's plain-CT "
        "grey / unmyelinated white / CSF.",
        "",
        "| case | age mo | HU g/wu/csf | voxel mm | exit | soft | bone | brain | CSF | vessel | "
        "twin acc >15 mm | A ok | type (truth/plan) | plan s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sp = "x".join(f"{v:g}" for v in r["spacing_mm"])
        hu = r["hu_plain"]
        head = (
            f"| {r['name']} | {r['age_months']:g} | "
            f"{hu['grey']:g}/{hu['white_unmyel']:g}/{hu['csf']:g} | {sp} |"
        )
        if r["exit"] != 0:
            lines.append(f"{head} **{r['exit']}** | {r.get('error', '')} |" + " |" * 8)
            continue
        d = r["dice"]
        lines.append(
            f"{head} 0 | "
            + " | ".join(cell(d[k]) for k in DICE_KEYS)
            + f" | {cell(r['twin_acc_15mm'], 4)} | {cell(r['twin_a_ok'])} | "
            f"{r['type_truth']}/{r['type_plan']} | {r['plan_s']} |"
        )
    lines += [
        "",
        "Share of each infant material's voxel centres given a label by twinsep; brain and "
        "CSF volumes (mL) of the truth and the plan:",
        "",
        "| case | unmyel. white -> CSF | myel. white -> CSF | cortex -> CSF | extra-axial CSF "
        "-> CSF / brain | inner CSF -> CSF | brain mL truth/plan (err %) | CSF mL truth/plan |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["exit"] != 0 or "shares" not in r:
            continue
        lines.append(
            f"| {r['name']} | {cell(r['wm_unmyel_csf'])} | {cell(r['wm_myel_csf'])} | "
            f"{cell(r['grey_csf'])} | {cell(r['csf_extra_csf'])} / {cell(r['csf_extra_brain'])} | "
            f"{cell(r['csf_inner_csf'])} | {cell(r['brain_ml_truth'], 1)}/"
            f"{cell(r['brain_ml_plan'], 1)} ({cell(r['brain_ml_err_pct'], 1)}) | "
            f"{cell(r['csf_ml_truth'], 1)}/{cell(r['csf_ml_plan'], 1)} |"
        )
    return "\n".join(lines)


def run(out_dir: Path) -> dict[str, Any]:
    """Run every case (or ``TWINSEP_BLIND_CASES``); the run_all result dict."""
    del out_dir
    return run_rows(
        "Infant blind phantom (phantom3 + infant brains, 0-24 months) through the CLI",
        infant_cases(),
        plan_and_score_infant,
        markdown,
        "twinsep-infant-",
    )


if __name__ == "__main__":
    main("blind_infant", run)
