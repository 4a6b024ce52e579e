"""Clinical blind phantom: twinsep on the planning CT as it arrives (expanders, ports, shunt,
hydrocephalus, tubes, size discordance), each case against the same anatomy without them.

The objects (``tests/blind/clinical.py``) are added to phantom3 cases by an outside
engineer who did not read twinsep's code; each case is rendered, planned with
``twinsep plan CT --out DIR`` (a subprocess, as a user would) and scored by
``tests/blind/clinical_score.py`` (Dice without the don't-care objects, per-object label
shares). The alternative in the same run is the baseline: the same phantom3 case without
the objects, planned by the same code (``blind.score.plan_and_score``); the deltas are what
the objects cost.

Environment (cases to run, kept plans, a snapshot's ``src``): see ``_blind_common.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _blind_common import DICE_KEYS, cell, dice_delta_cells, exit_row, main, run_with_baselines

from blind.clinical_cases import baseline_cases, clinical_cases
from blind.clinical_score import plan_and_score_clinical


def markdown(rows: list[dict[str, Any]], baselines: dict[str, dict[str, Any]]) -> str:
    """Two tables: the plan against the truth per case, then the per-object checks."""
    lines = [
        "Dice leaves out the don't-care objects (expander saline/shell, ports, shunt, tube "
        "walls, electrodes) and, on plain CT, the true vessels; (delta) = minus the same "
        "phantom3 case without the objects (baseline, same code); twin acc counts tissue "
        "voxels more than 15 mm from the true boundary plane.",
        "",
        "| case | exit | soft (delta) | bone (delta) | brain (delta) | CSF (delta) | vessel "
        "(delta) | twin acc >15 mm (base) | A ok | type truth/plan (base) | contrast ok | "
        "warns objects | plan s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b = baselines.get(r["baseline"], {})
        if r["exit"] != 0:
            lines.append(exit_row(r["name"], r, 10))
            continue
        cells = dice_delta_cells(r["dice"], b)
        lines.append(
            f"| {r['name']} | 0 | "
            + " | ".join(cells)
            + f" | {cell(r['twin_acc_15mm'], 4)} ({cell(b.get('twin_acc_15mm'), 4)}) | "
            f"{cell(r['twin_a_ok'])} | {r['type_truth']}/{r['type_plan']} "
            f"({b.get('type_plan', '-')}) | {cell(r['contrast_ok'])} | "
            f"{cell(r['warned_objects'])} | {r['plan_s']} |"
        )
    lines += [
        "",
        "Per object (share of the object's voxel centres given each label by twinsep):",
        "",
        "| case | saline -> brain/CSF | saline -> bone/vessel | shell -> bone/vessel | "
        "port metal -> bone/vessel | metal halo bone/vessel mL | shunt -> bone/vessel | "
        "shunt -> brain/CSF | ET wall -> bone/vessel/brain/CSF | ET air -> tissue | "
        "NG -> bone/vessel/brain/CSF | ventricle CSF recall / Dice | scalp over expander "
        "-> soft | defect -> soft/bone |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["exit"] != 0:
            continue
        lines.append(
            f"| {r['name']} | {cell(r['saline_brain_csf'])} | {cell(r['saline_bone_vessel'])} | "
            f"{cell(r['shell_bone_vessel'])} | {cell(r['port_metal_bone_vessel'])} | "
            f"{cell(r['metal_halo_bone_vessel_ml'], 1)} | {cell(r['shunt_bone_vessel'])} | "
            f"{cell(r['shunt_brain_csf'])} | {cell(r['et_wall_bad'])} | "
            f"{cell(r['et_lumen_tissue'])} | {cell(r['ng_bad'])} | "
            f"{cell(r['ventricle_csf_recall'])} / {cell(r['ventricle_csf_dice'])} | "
            f"{cell(r['scalp_cover_soft'])} | {cell(r['defect_soft'])}/{cell(r['defect_bone'])} |"
        )
    lines += ["", "Baselines (phantom3 without the objects):", ""]
    lines.append(
        "| baseline | exit | soft | bone | brain | CSF | vessel | twin acc | type | plan s |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    for name, b in baselines.items():
        if b["exit"] != 0:
            lines.append(exit_row(name, b, 7))
            continue
        d = b["dice"]
        lines.append(
            f"| {name} | 0 | "
            + " | ".join(cell(d[k]) for k in DICE_KEYS)
            + f" | {cell(b['twin_acc_15mm'], 4)} | {b['type_truth']}/{b['type_plan']} | "
            f"{b['plan_s']} |"
        )
    return "\n".join(lines)


def run(out_dir: Path) -> dict[str, Any]:
    """Run every case (or ``TWINSEP_BLIND_CASES``) and its baseline; the run_all dict."""
    del out_dir
    return run_with_baselines(
        "Clinical blind phantom (phantom3 + expanders, shunt, tubes) through the CLI",
        clinical_cases(),
        baseline_cases(),
        plan_and_score_clinical,
        markdown,
        "twinsep-clinical-",
        hide=("warnings", "objects_truth"),
    )


if __name__ == "__main__":
    main("blind_clinical", run)
