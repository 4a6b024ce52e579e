"""Shapes blind phantom: twinsep on unequal and deformed heads and unusual junction sites,
each case against a regular-shape phantom3 baseline.

The shapes layer (``tests/blind/shapes.py``) is added to phantom3 by an outside engineer
who did not read twinsep's code: one twin smaller (75-85 % of the other's head length),
one hydrocephalic and macrocephalic, deformational plagiocephaly (a parallelogram head
with one occiput flattened), scapho- and brachycephaly, lateral (parietal) and
temporoparietal junctions, frontal unions with the faces turned toward each other, axis
angles of 85-100 deg, heads spun 90 / 180 deg about the junction, and one twin's vertex on
the other's parietal region. Each case is rendered, planned with ``twinsep plan CT --out
DIR`` (a subprocess, as a user would) and scored by ``tests/blind/shapes_score.py``.
The alternative in the same run is the baseline: a regular-shape phantom3 case of the
same CT and grid (the same union for the shape cases; the at120 occipital or vertical
union the earlier blind benchmarks hold for the unusual sites), planned by the same code.

Environment (cases to run, kept plans, a snapshot's ``src``): see ``_blind_common.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _blind_common import DICE_KEYS, cell, dice_delta_cells, exit_row, main, run_with_baselines

from blind.shapes_cases import baseline_cases, shapes_cases
from blind.shapes_score import plan_and_score_shapes


def _flag(v: object) -> str:
    return "-" if v is None else ("yes" if v else "no")


def markdown(rows: list[dict[str, Any]], baselines: dict[str, dict[str, Any]]) -> str:
    """The plan against the truth per case and its baseline, then the twins' sizes."""
    lines = [
        "Dice per label (on plain CT the true vessels left out); (delta) = minus the "
        "regular-shape baseline (same CT and grid, same code); twin acc counts tissue more "
        "than 15 mm from the true boundary plane; axis / rotation: truth / plan (rotation "
        "error scored on vertical unions; on angular ones shown, not rated).",
        "",
        "| case | exit | soft (delta) | bone (delta) | brain (delta) | CSF (delta) | vessel "
        "(delta) | twin acc (base) | A ok | type truth/plan (base) | complete (base) | "
        "shared sinus (base) | axis deg truth/plan | rot deg truth/plan (base err) | plan s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        b = baselines.get(r["baseline"], {})
        if r["exit"] != 0:
            lines.append(exit_row(r["name"], r, 12))
            continue
        cells = dice_delta_cells(r["dice"], b)
        type_cell = f"{r['type_truth']}/{r['type_plan']}"
        if not r["type_ok"]:
            type_cell = f"**{type_cell}**"
        lines.append(
            f"| {r['name']} | 0 | "
            + " | ".join(cells)
            + f" | {cell(r['twin_acc_15mm'], 4)} ({cell(b.get('twin_acc_15mm'), 4)}) | "
            f"{cell(r['twin_a_ok'])} | {type_cell} ({b.get('type_plan', '-')}) | "
            f"{r['completeness_plan']} ({b.get('completeness_plan', '-')}) | "
            f"{r['shared_sinus_plan']} ({b.get('shared_sinus_plan', '-')}) | "
            f"{cell(r['axis_angle_truth_deg'], 1)}/{cell(r['axis_angle_plan_deg'], 1)} | "
            f"{cell(r['rotation_truth_deg'], 1)}/{cell(r['rotation_plan_deg'], 1)} "
            f"({cell(b.get('rotation_err_deg'), 1)}) | {r['plan_s']} |"
        )
    lines += [
        "",
        "The twins: which is smaller, twin accuracy in each, tissue moved between them, "
        "volumes (plan volume_ml of the plan twin matched by overlap / truth tissue mL), "
        "CSF (plan / truth mL), cephalic index, and whether a warning spoke of size, "
        "hydrocephalus or shape:",
        "",
        "| case | small twin (ratio) | twin acc small / big | small->big mL | big->small mL "
        "| A mL plan/truth | B mL plan/truth | A CSF plan/truth | B CSF plan/truth | CI A/B "
        "| O'Connell / S&G | warned size/hydro/shape |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["exit"] != 0:
            continue
        tw = r["twins_ml"]

        def vol(t: str, key: str, tkey: str, tw: dict[str, Any] = tw) -> str:
            return f"{cell(tw[t][key], 1)}/{cell(tw[t][tkey], 1)}"

        cls = (r.get("fusion_plan") or {}).get("classification") or {}
        lines.append(
            f"| {r['name']} | {r['smaller_twin']} ({cell(r['tissue_ratio_small_to_big'], 2)}) | "
            f"{cell(r['twin_acc_small'], 4)} / {cell(r['twin_acc_big'], 4)} | "
            f"{cell(r['small_to_big_ml'], 1)} | {cell(r['big_to_small_ml'], 1)} | "
            f"{vol('A', 'plan_volume_ml', 'truth_tissue_ml')} | "
            f"{vol('B', 'plan_volume_ml', 'truth_tissue_ml')} | "
            f"{vol('A', 'plan_csf_ml', 'truth_csf_ml')} | "
            f"{vol('B', 'plan_csf_ml', 'truth_csf_ml')} | "
            f"{cell(tw['A']['cephalic_index'], 2)}/{cell(tw['B']['cephalic_index'], 2)} | "
            f"{cls.get('oconnell', '-')} / {cls.get('stone_goodrich', '-')} | "
            f"{_flag(r['size_warned'])}/{_flag(r['hydro_warned'])}/{_flag(r['shape_warned'])} |"
        )
    lines += ["", "Baselines (regular-shape phantom3):", ""]
    lines.append(
        "| baseline | exit | soft | bone | brain | CSF | vessel | twin acc | A ok | type "
        "truth/plan | complete | shared sinus | axis deg truth/plan | rot err | plan s |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, b in baselines.items():
        if b["exit"] != 0:
            lines.append(exit_row(name, b, 12))
            continue
        d = b["dice"]
        lines.append(
            f"| {name} | 0 | "
            + " | ".join(cell(d[k]) for k in DICE_KEYS)
            + f" | {cell(b['twin_acc_15mm'], 4)} | {cell(b['twin_a_ok'])} | "
            f"{b['type_truth']}/{b['type_plan']} | {b['completeness_plan']} | "
            f"{b['shared_sinus_plan']} | {cell(b['axis_angle_truth_deg'], 1)}/"
            f"{cell(b['axis_angle_plan_deg'], 1)} | {cell(b['rotation_err_deg'], 1)} | "
            f"{b['plan_s']} |"
        )
    return "\n".join(lines)


def run(out_dir: Path) -> dict[str, Any]:
    """Run every case (or ``TWINSEP_BLIND_CASES``) and its baseline; the run_all dict."""
    del out_dir
    return run_with_baselines(
        "Shapes blind phantom (unequal, deformed heads; unusual junction sites) through the CLI",
        shapes_cases(),
        baseline_cases(),
        plan_and_score_shapes,
        markdown,
        "twinsep-shapes-",
    )


if __name__ == "__main__":
    main("blind_shapes", run)
