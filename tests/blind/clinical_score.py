"""Score a twinsep plan of a ``clinical`` phantom from outside: Dice without the don't-care
objects, and what became of each object.

Reads the plan folder's public outputs and the truth written by
``clinical.write_clinical`` (``labels``, ``twins``, ``materials``, ``truth.json``).

Metrics (beyond ``blind.score.score_plan``'s, whose Dice is kept as ``dice_all``)
--------------------------------------------------------------------------------------
* ``dice``: Dice per label 1-5 leaving out the don't-care voxels (expander saline and
  shell, ports, shunt, tube walls, electrodes) and, on plain CT, the true vessel voxels.
* ``objects[group]``: voxel-centre count of each object group and the share of it that
  twinsep labelled 0-5 (``share``), plus ``twin_ok`` (share of its voxels labelled
  tissue whose twin is the true one).
* headline shares: ``saline_brain_csf`` (expander saline called brain or CSF),
  ``saline_bone_vessel``, ``shell_bone_vessel``, ``port_metal_bone_vessel``,
  ``metal_halo_bone_vessel_ml`` (voxels next to any metal that are not bone in truth but
  were called bone or vessel, mL), ``shunt_bone_vessel``, ``et_wall_bad`` (tube wall
  called bone, vessel, brain or CSF), ``et_lumen_tissue`` (tube air called tissue),
  ``ventricle_csf_recall`` and ``ventricle_csf_dice`` (Dice of CSF inside the enlarged
  ventricles grown by two voxels), ``scalp_cover_soft``, ``defect_soft``.
* ``warned_objects``: a plan.json warning names a device, a metal or a fluid collection.
* ``ventricles``: plan.json's ``ventricles`` section (per twin), verbatim.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from blind.score import (
    _load,
    agreement,
    dice,
    dice_labels,
    label_shares,
    load_codes,
    plan_row,
    scan_warnings,
    score_plan,
    timed,
    vessel_keep,
    voxel_ml,
)

WARN_WORDS = (
    "metal",
    "existing expander",
    "saline",
    "implant",
    "foreign",
    "device",
    "shunt",
    "tube",
    "catheter",
    "artefact",
    "artifact",
    "streak",
    "hydroceph",
    "ventric",
)


def score_clinical(plan_dir: Path, truth_dir: Path) -> dict[str, Any]:
    """Compare a plan folder with its clinical truth; a JSON-ready dict (module doc)."""
    out = score_plan(plan_dir, truth_dir)
    if out.get("grid_mismatch"):
        return out
    out["dice_all"] = out.pop("dice")
    truth = json.loads((truth_dir / "truth.json").read_text())
    clin = truth["clinical"]
    t_lab, t_aff = _load(truth_dir / "labels.nii.gz")
    t_tw, _ = _load(truth_dir / "twins.nii.gz")
    mat = load_codes(truth_dir / "materials.nii.gz")
    p_lab, _ = _load(plan_dir / "labels.nii.gz")
    p_tw, _ = _load(plan_dir / "twins.nii.gz")
    vox_ml = voxel_ml(t_aff)
    dont_care = np.isin(mat, clin["dont_care_codes"])
    scored = bool(truth["vessel_voxels_scored"])
    out["dice"] = dice_labels(t_lab, p_lab, ~dont_care & vessel_keep(t_lab, scored), scored)
    objects: dict[str, Any] = {}
    masks: dict[str, npt.NDArray[np.bool_]] = {}
    for g, info in clin["groups"].items():
        m = np.isin(mat, info["codes"])
        if not m.any():
            continue
        masks[g] = m
        called = m & (p_lab > 0) & (t_tw > 0)
        objects[g] = {
            "voxels": int(m.sum()),
            "ml": round(float(m.sum()) * vox_ml, 3),
            "share": label_shares(p_lab, m),
            "twin_ok": agreement(p_tw, t_tw, called, 4),
        }
    out["objects"] = objects

    def frac(g: str, labels: tuple[int, ...]) -> float | None:
        if g not in masks:
            return None
        return round(float(np.isin(p_lab[masks[g]], labels).mean()), 4)

    out["saline_brain_csf"] = frac("expander_saline", (3, 4))
    out["saline_bone_vessel"] = frac("expander_saline", (2, 5))
    out["saline_tissue"] = frac("expander_saline", (1, 2, 3, 4, 5))
    out["shell_bone_vessel"] = frac("expander_shell", (2, 5))
    out["port_metal_bone_vessel"] = frac("port_metal", (2, 5))
    metal = np.isin(mat, clin["metal_codes"])
    if metal.any():
        halo = ndimage.binary_dilation(metal, iterations=2) & ~metal & (t_lab != 2)
        bad = halo & np.isin(p_lab, (2, 5))
        out["metal_halo_bone_vessel_ml"] = round(float(bad.sum()) * vox_ml, 3)
    else:
        out["metal_halo_bone_vessel_ml"] = None
    out["shunt_bone_vessel"] = frac("shunt", (2, 5))
    out["shunt_brain_csf"] = frac("shunt", (3, 4))
    out["et_wall_bad"] = frac("et_wall", (2, 3, 4, 5))
    out["et_lumen_tissue"] = frac("et_lumen", (1, 2, 3, 4, 5))
    out["ng_bad"] = frac("ng_tube", (2, 3, 4, 5))
    out["scalp_cover_soft"] = frac("scalp_cover", (1,))
    out["defect_soft"] = frac("defect_fill", (1,))
    out["defect_bone"] = frac("defect_fill", (2,))
    out["burr_soft"] = frac("burr_fill", (1,))
    out["electrode_bone_vessel"] = frac("electrode", (2, 5))
    if "ventricle" in masks:
        v = masks["ventricle"]
        out["ventricle_csf_recall"] = frac("ventricle", (4,))
        out["ventricle_brain"] = frac("ventricle", (3,))
        region = ndimage.binary_dilation(v, iterations=2) & np.isin(t_lab, (3, 4))
        out["ventricle_csf_dice"] = dice((t_lab == 4) & region, (p_lab == 4) & region)
    else:
        out["ventricle_csf_recall"] = out["ventricle_brain"] = out["ventricle_csf_dice"] = None
    # tissue volumes of the plan against the truth (the expanders make the scalp big)
    # the reconstruct, models and schedule stages' advice is not about the scan's contents
    warnings = scan_warnings(out.get("warnings", []))
    found = [w for w in warnings if any(k in w.lower() for k in WARN_WORDS)]
    out["warned_objects"] = bool(found)
    out["object_warnings"] = found
    out["metal_warned"] = any("metal" in w.lower() for w in warnings)
    plan = json.loads((plan_dir / "plan.json").read_text())
    out["ventricles"] = plan.get("ventricles")
    soft_true = {}
    for twin, code in (("A", 1), ("B", 2)):
        m = (t_tw == code) & (t_lab == 1)
        soft_true[twin] = {
            "without_objects_ml": round(float((m & ~dont_care).sum()) * vox_ml, 1),
            "with_objects_ml": round(float(m.sum()) * vox_ml, 1),
            "plan_ml": (plan.get("twins", {}).get(twin, {}).get("tissue_ml", {}) or {}).get(
                "soft_tissue"
            ),
        }
    out["soft_tissue_ml"] = soft_true
    return out


def plan_and_score_clinical(case: Any, work: Path) -> dict[str, Any]:
    """Render a ``ClinicalCase``, plan it with ``twinsep plan`` (subprocess), score it.

    Writes ``work/<name>/truth`` and ``work/<name>/plan``; ``TWINSEP_BLIND_SRC`` is put
    first on the plan's ``PYTHONPATH`` (as in ``blind.score.plan_and_score``). A flat row:
    grid, timing, exit code (and the error line when not 0), then ``score_clinical``.
    """
    from blind.clinical import make_clinical, write_clinical

    (ph, _ov), gen_s = timed(make_clinical, case)
    write_clinical(ph, work / case.name / "truth")
    t = ph.truth
    after = {
        "cross_plane_voxels": t["cross_plane_voxels"],
        "objects_truth": t["clinical"]["objects"],  # type: ignore[index]
    }
    return plan_row(work / case.name, t, gen_s, {"contrast": t["contrast"]}, after, score_clinical)
