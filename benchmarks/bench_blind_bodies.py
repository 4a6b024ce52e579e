"""Bodies blind phantom: twinsep on a longer planning CT that holds the twins' necks,
shoulders, chests and arms, each case against the same phantom3 case without bodies.

The bodies (``tests/blind/bodies.py``) are added to phantom3 cases by an outside engineer
who did not read twinsep's code; each case is rendered, planned with ``twinsep plan CT
--out DIR`` (a subprocess, as a user would) and scored by ``tests/blind/bodies_score.py``
(Dice in the head part and in the body, what became of the heart, lungs, ribs, arms and
ECG leads, per-twin volumes, warnings). The alternative in the same run is the baseline:
the same phantom3 case without bodies, planned by the same code; the deltas are what the
bodies cost.

Environment (cases to run, kept plans, a snapshot's ``src``): see ``_blind_common.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _blind_common import DICE_KEYS, cell, dice_delta_cells, exit_row, main, run_with_baselines

from blind.bodies_cases import baseline_cases, bodies_cases
from blind.bodies_score import plan_and_score_bodies


def _plan_twins(work: Path, name: str) -> dict[str, Any]:
    """plan.json's per-twin volumes of a kept baseline plan (empty when not kept)."""
    p = work / name / "plan" / "plan.json"
    if not p.exists():
        return {}
    plan = json.loads(p.read_text())
    return {
        t: {"volume_ml": v.get("volume_ml"), "tissue_ml": v.get("tissue_ml")}
        for t, v in (plan.get("twins") or {}).items()
    }


def markdown(rows: list[dict[str, Any]], baselines: dict[str, dict[str, Any]]) -> str:
    """The plan against the truth per case (head part vs baseline), then the bodies."""
    lines = [
        "Head-part Dice (the part a case without bodies holds; ECG leads left out; on plain "
        "CT the true vessels left out); (delta) = minus the same phantom3 case without "
        "bodies (baseline, same code); twin acc counts head-part tissue more than 15 mm "
        "from the true boundary plane; its misses are parted into that tissue labelled air "
        "(no owner: the skin's half-filled voxels, a segmentation term) and the ownership "
        "of the tissue twinsep labels (owned).",
        "",
        "| case | exit | soft (delta) | bone (delta) | brain (delta) | CSF (delta) | vessel "
        "(delta) | twin acc head (base) | of it air (base) | owned (base) | twin acc body "
        "| A ok | type (base) | complete (base) | shared sinus (base) | rotation err (base) "
        "| contrast ok | plan s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b = baselines.get(r["baseline"], {})
        if r["exit"] != 0:
            lines.append(exit_row(r["name"], r, 15))
            continue
        cells = dice_delta_cells(r["dice_head"], b)
        lines.append(
            f"| {r['name']} | 0 | "
            + " | ".join(cells)
            + f" | {cell(r['twin_acc_head_15mm'], 4)} ({cell(b.get('twin_acc_15mm'), 4)}) | "
            f"{cell(r.get('twin_head_far_air_15mm'), 4)} "
            f"({cell(b.get('twin_far_air_15mm'), 4)}) | "
            f"{cell(r.get('twin_acc_head_owned_15mm'), 5)} "
            f"({cell(b.get('twin_acc_owned_15mm'), 5)}) | "
            f"{cell(r['twin_acc_body'], 4)} | {cell(r['twin_a_ok'])} | "
            f"{r['type_plan']} ({b.get('type_plan', '-')}) | "
            f"{r['completeness_plan']} ({b.get('completeness_plan', '-')}) | "
            f"{r['shared_sinus_plan']} ({b.get('shared_sinus_plan', '-')}) | "
            f"{cell(r['rotation_err_deg'], 1)} ({cell(b.get('rotation_err_deg'), 1)}) | "
            f"{cell(r['contrast_ok'])} | {r['plan_s']} |"
        )
    lines += [
        "",
        "What became of the bodies (share of each group's voxel centres given label 0-5):",
        "",
        "| case | heart blood -> vessel / soft / bone | lungs -> tissue | ribs etc. -> bone | "
        "arm bones -> bone | ECG -> bone/vessel | body tissue labelled mL | body tissue "
        "unowned mL | arm beyond plane mL (own twin) | twin A mL plan head / truth head; plan "
        "/ truth head+body | twin B mL ditto | body warnings |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["exit"] != 0:
            continue
        g = r["groups"]

        def sh(name: str, labs: tuple[int, ...], g: dict[str, Any] = g) -> str:
            if name not in g:
                return "-"
            return cell(sum(g[name]["share"].get(str(k), 0.0) for k in labs))

        tw = r["twins_ml"]

        def vol(t: str, tw: dict[str, Any] = tw) -> str:
            return (
                f"{cell(tw[t].get('plan_head_volume_ml'), 1)} / {cell(tw[t]['truth_head_ml'], 1)}; "
                f"{cell(tw[t]['plan_volume_ml'], 1)} / {cell(tw[t]['truth_head_body_ml'], 1)}"
            )

        lines.append(
            f"| {r['name']} | {sh('heart_blood', (5,))} / {sh('heart_blood', (1,))} / "
            f"{sh('heart_blood', (2,))} | {sh('lung', (1, 2, 3, 4, 5))} | "
            f"{sh('rib_clavicle_scapula', (2,))} | {sh('arm_bone', (2,))} | "
            f"{sh('ecg', (2, 5))} | {cell(r['body_labelled_tissue_ml'], 1)} | "
            f"{cell(r['body_unowned_ml'], 1)} | {cell(r['arm_beyond_plane_ml'], 1)} "
            f"({cell(r['arm_beyond_plane_ok'])}) | {vol('A')} | {vol('B')} | "
            f"{'; '.join(w[:110] for w in r['body_warnings']) or 'none'} |"
        )
    lines += ["", "Baselines (phantom3 without bodies):", ""]
    lines.append(
        "| baseline | exit | soft | bone | brain | CSF | vessel | twin acc | type | complete "
        "| shared sinus | twin A/B mL (plan) | plan s |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, b in baselines.items():
        if b["exit"] != 0:
            lines.append(exit_row(name, b, 10))
            continue
        d = b["dice"]
        pt = b.get("plan_twins", {})
        lines.append(
            f"| {name} | 0 | "
            + " | ".join(cell(d[k]) for k in DICE_KEYS)
            + f" | {cell(b['twin_acc_15mm'], 4)} | {b['type_truth']}/{b['type_plan']} | "
            f"{b['completeness_plan']} | {b['shared_sinus_plan']} | "
            f"{cell(pt.get('A', {}).get('volume_ml'), 1)}/"
            f"{cell(pt.get('B', {}).get('volume_ml'), 1)} | {b['plan_s']} |"
        )
    return "\n".join(lines)


def run(out_dir: Path) -> dict[str, Any]:
    """Run every case (or ``TWINSEP_BLIND_CASES``) and its baseline; the run_all dict."""
    del out_dir
    return run_with_baselines(
        "Bodies blind phantom (phantom3 + necks, chests, arms, ECG) through the CLI",
        bodies_cases(),
        baseline_cases(),
        plan_and_score_bodies,
        markdown,
        "twinsep-bodies-",
        baseline_fields=lambda d, n: {"plan_twins": _plan_twins(d, n)},
    )


if __name__ == "__main__":
    main("blind_bodies", run)
