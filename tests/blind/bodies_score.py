"""Score a twinsep plan of a ``bodies`` phantom from outside: the head part against the
same case without bodies, and what became of the bodies.

Reads the plan folder's public outputs and the truth written by ``bodies.write_bodies``
(``labels``, ``twins``, ``materials``, ``region``, ``truth.json``).

Metrics (beyond ``blind.score.score_plan``'s, whose whole-volume Dice is kept as
``dice_all``)
------------------------------------------------------------------------------------
* ``dice_head``: Dice per label 1-5 over the head-and-neck part (``region`` != 2: what the
  case without bodies holds, plus the background), comparable with the baseline's Dice.
* ``dice_body``: Dice per label over the body part (``region`` == 2), don't-care ECG out.
* ``groups[g]``: share of each body material group given each label 0-5 by twinsep
  (heart blood, myocardium, lungs, airway, ribs/clavicles/scapulae, arm bones, ECG, liver).
* ``twin_acc_head_15mm``: issue 4's twin accuracy (> 15 mm from the true plane) in the head
  part; ``twin_head_far_air_15mm`` / ``twin_acc_head_owned_15mm`` its two parts
  (``blind.score.twin_split``: the share labelled air, the ownership of the rest);
  ``twin_acc_body``: share of the body's tissue voxels given the right twin;
  ``arm_beyond_plane_ml`` / ``arm_beyond_plane_ok``: the raised arm's tissue on the other
  twin's side of the plane and the share of it given its own twin.
* ``twins_ml``: plan.json's per-twin volumes and tissue against the truth's head part and
  head + body.
* ``body_warnings``: plan.json warnings that mention a body part, the scan's extent or
  something outside a head.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from blind.score import (
    _load,
    agreement,
    dice_labels,
    label_shares,
    load_codes,
    plan_row,
    plane_distance_mm,
    scan_warnings,
    score_plan,
    timed,
    twin_split,
    vessel_keep,
    voxel_ml,
)

WARN_WORDS = (
    "body",
    "chest",
    "thorax",
    "torso",
    "trunk",
    "lung",
    "heart",
    "cardiac",
    "aort",
    "arm",
    "shoulder",
    "ecg",
    "electrode",
    "lead",
    "neck",
    "extent",
    "not a head",
    "outside",
    "limb",
)


def score_bodies(plan_dir: Path, truth_dir: Path) -> dict[str, Any]:
    """Compare a plan folder with its bodies truth; a JSON-ready dict (module doc)."""
    out = score_plan(plan_dir, truth_dir)
    if out.get("grid_mismatch"):
        return out
    out["dice_all"] = out.pop("dice")
    truth = json.loads((truth_dir / "truth.json").read_text())
    bod = truth["bodies"]
    plan = json.loads((plan_dir / "plan.json").read_text())
    t_lab, t_aff = _load(truth_dir / "labels.nii.gz")
    t_tw, _ = _load(truth_dir / "twins.nii.gz")
    p_lab, _ = _load(plan_dir / "labels.nii.gz")
    p_tw, _ = _load(plan_dir / "twins.nii.gz")
    mat = load_codes(truth_dir / "materials.nii.gz")
    region, _ = _load(truth_dir / "region.nii.gz")
    vox_ml = voxel_ml(t_aff)
    scored = bool(truth["vessel_voxels_scored"])
    dont_care = np.isin(mat, bod["dont_care_codes"])
    keep_v = vessel_keep(t_lab, scored)
    for key, part in (("dice_head", region != 2), ("dice_body", region == 2)):
        out[key] = dice_labels(t_lab, p_lab, part & ~dont_care & keep_v, scored)
    out["groups"] = {}
    for g, info in bod["groups"].items():
        if "codes" not in info:
            continue
        m = np.isin(mat, info["codes"])
        if m.any():
            out["groups"][g] = {
                "ml": round(float(m.sum()) * vox_ml, 1),
                "share": label_shares(p_lab, m),
            }
    # twins
    dist = plane_distance_mm(t_lab.shape, t_aff, truth)
    tissue = t_lab > 0
    far = tissue & (region == 1) & (np.abs(dist) > 15.0)
    out["twin_acc_head_15mm"] = agreement(p_tw, t_tw, far, 4)
    air, owned = twin_split(t_tw, p_tw, p_lab, far)
    out["twin_head_far_air_15mm"] = None if air is None else round(air, 4)
    out["twin_acc_head_owned_15mm"] = None if owned is None else round(owned, 5)
    body = tissue & (region == 2)
    out["twin_acc_body"] = agreement(p_tw, t_tw, body, 4)
    beyond = body & (((t_tw == 1) & (dist > 0)) | ((t_tw == 2) & (dist < 0)))
    out["arm_beyond_plane_ml"] = round(float(beyond.sum()) * vox_ml, 1)
    out["arm_beyond_plane_ok"] = agreement(p_tw, t_tw, beyond, 4)
    out["body_labelled_tissue_ml"] = round(float(((p_lab > 0) & (region == 2)).sum()) * vox_ml, 1)
    out["body_unowned_ml"] = round(
        float(((p_lab > 0) & (region == 2) & (p_tw == 0)).sum()) * vox_ml, 1
    )
    # per-twin volumes: plan (whole twin, head) against the truth's head part and head + body
    tw: dict[str, Any] = {}
    for twin in ("A", "B"):
        pt = plan.get("twins", {}).get(twin, {}) or {}
        per = bod["per_twin_ml"][twin]
        head = sum(per["head"].values())
        tw[twin] = {
            "plan_volume_ml": pt.get("volume_ml"),
            # the head and neck above the shoulders (plan.json since 32bb052)
            "plan_head_volume_ml": pt.get("head_volume_ml"),
            "plan_tissue_ml": pt.get("tissue_ml"),
            "truth_head_ml": round(head, 1),
            "truth_head_body_ml": round(head + sum(per["body"].values()), 1),
            "truth_head_brain_ml": per["head"]["3"],
        }
    out["twins_ml"] = tw
    warnings = scan_warnings(out.get("warnings", []))
    out["body_warnings"] = [w for w in warnings if any(k in w.lower() for k in WARN_WORDS)]
    fu = plan.get("fusion", {})
    sh = plan.get("shared", {})
    out["fusion_extra"] = {
        k: fu.get(k) for k in ("bridge_area_mm2", "bridge_length_mm", "bridge_centroid_mm")
    }
    out["sinus_ml"] = sh.get("sinus_ml")
    out["shared_notes"] = sh.get("notes")
    return out


def plan_and_score_bodies(case: Any, work: Path) -> dict[str, Any]:
    """Render a ``BodiesCase``, plan it with ``twinsep plan`` (subprocess), score it.

    Writes ``work/<name>/truth`` and ``work/<name>/plan``; ``TWINSEP_BLIND_SRC`` is put
    first on the plan's ``PYTHONPATH`` (as in ``blind.score.plan_and_score``).
    """
    from blind.bodies import make_bodies, write_bodies

    (ph, _ov, region), gen_s = timed(make_bodies, case)
    write_bodies(ph, region, work / case.name / "truth")
    t = ph.truth
    after = {"twin_a_head": t["twin_a_head"], "twin_rule_axis": t["twin_rule_axis"]}
    return plan_row(work / case.name, t, gen_s, {"contrast": t["contrast"]}, after, score_bodies)
