"""Score a twinsep plan of a shapes case (``tests/blind/shapes.py``), as an outside evaluator.

``blind.score.score_plan`` (Dice per label, twin accuracy beyond 15 mm of the true
boundary plane, twin A by DESIGN's rule, fusion type, axis angle, face rotation on
vertical unions, completeness, shared sinus, contrast call, warnings), plus what unequal
and deformed heads may cost:

* ``twin_acc_small`` / ``twin_acc_big``: twin accuracy (beyond 15 mm of the plane) among
  the true tissue of the smaller / the bigger twin;
  ``small_to_big_ml``: true tissue of the smaller twin that the plan gave to the bigger
  one (every voxel, the band included), ``big_to_small_ml`` the reverse.
* ``rotation_err_any_deg``: face rotation error on every union (the scorer's
  ``rotation_err_deg`` is for vertical unions only; on angular unions the plan's
  ``rotation_deg`` is reported but the Stone & Goodrich scheme does not rate it).
* ``twins_ml``: per twin (A/B of the truth), the plan's ``volume_ml`` and its tissue sum
  against the truth's tissue volume; the plan's twin is matched by voxel overlap (its
  twin 1 may be the truth's B when the rule went wrong).
* ``size_warned``, ``hydro_warned``, ``shape_warned``: a warning mentions unequal size /
  volume, hydrocephalus / ventricles, or the head shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from blind.phantom3 import write_case
from blind.score import (
    BAND_MM,
    _load,
    agreement,
    plan_row,
    plane_distance_mm,
    score_plan,
    timed,
    voxel_ml,
)
from blind.shapes import ShapesCase, make_shapes


def _has(warnings: list[str], words: tuple[str, ...]) -> bool:
    return any(any(w in s.lower() for w in words) for s in warnings)


def score_shapes(plan_dir: Path, truth_dir: Path) -> dict[str, Any]:
    """``score_plan`` plus the size / shape fields (module docstring)."""
    out = score_plan(plan_dir, truth_dir)
    if out.get("grid_mismatch"):
        return out
    truth = json.loads((truth_dir / "truth.json").read_text())
    plan = json.loads((plan_dir / "plan.json").read_text())
    t_lab, t_aff = _load(truth_dir / "labels.nii.gz")
    t_tw, _ = _load(truth_dir / "twins.nii.gz")
    p_tw, _ = _load(plan_dir / "twins.nii.gz")
    vox_ml = voxel_ml(t_aff)
    sh = truth["shapes"]
    small = 1 if sh["smaller_twin"] == "A" else 2
    big = 3 - small
    tissue = t_lab > 0
    far = tissue & (np.abs(plane_distance_mm(t_lab.shape, t_aff, truth)) > BAND_MM)
    for key, t in (("twin_acc_small", small), ("twin_acc_big", big)):
        out[key] = agreement(p_tw, t_tw, far & (t_tw == t), 5)
    out["small_to_big_ml"] = round(float(((t_tw == small) & (p_tw == big)).sum()) * vox_ml, 2)
    out["big_to_small_ml"] = round(float(((t_tw == big) & (p_tw == small)).sum()) * vox_ml, 2)
    out["unowned_tissue_ml"] = round(float((tissue & (p_tw == 0)).sum()) * vox_ml, 2)
    fu = plan.get("fusion", {})
    rot = fu.get("rotation_deg")
    out["rotation_err_any_deg"] = (
        None if rot is None else round(abs(float(rot) - float(truth["rotation_deg"])), 1)
    )
    twins_plan = plan.get("twins", {}) or {}
    tw: dict[str, Any] = {}
    for tname, t in (("A", 1), ("B", 2)):
        m = t_tw == t
        # the plan's twin holding most of this true twin
        counts = [int((m & (p_tw == k)).sum()) for k in (1, 2)]
        pk = "AB"[int(np.argmax(counts))]
        pt = twins_plan.get(pk, {}) or {}
        tml = pt.get("tissue_ml") or {}
        tw[tname] = {
            "plan_twin": pk,
            "truth_tissue_ml": sh["twins"][tname]["tissue_ml"],
            "plan_volume_ml": pt.get("volume_ml"),
            "plan_tissue_sum_ml": (
                round(float(sum(v for v in tml.values() if v is not None)), 2) if tml else None
            ),
            "truth_csf_ml": sh["twins"][tname]["csf_ml"],
            "plan_csf_ml": tml.get("csf"),
            "head": sh["twins"][tname]["head"],
            "cephalic_index": sh["twins"][tname]["cephalic_index"],
        }
    out["twins_ml"] = tw
    out["smaller_twin"] = sh["smaller_twin"]
    out["tissue_ratio_small_to_big"] = sh["tissue_ratio_small_to_big"]
    w = out["warnings"]
    out["size_warned"] = _has(w, ("smaller", "unequal", "discordan", "volume", "size"))
    out["hydro_warned"] = _has(w, ("hydroceph", "ventric", "ventriculomeg"))
    out["shape_warned"] = _has(w, ("shape", "plagio", "asymmetr", "deform"))
    out["fusion_plan"] = {
        k: fu.get(k)
        for k in (
            "type",
            "completeness",
            "rotation_deg",
            "axis_angle_deg",
            "bridge_area_mm2",
            "classification",
        )
    }
    return out


def plan_and_score_shapes(case: ShapesCase, work: Path) -> dict[str, Any]:
    """Render a shapes case, plan it with ``twinsep plan`` (a subprocess) and score it.

    Writes ``work/<name>/truth`` and ``work/<name>/plan`` (``TWINSEP_BLIND_SRC``: see
    ``blind.score.run_plan``). A flat row: grid, timing, exit code (and the error line
    when not 0), then ``score_shapes``' fields.
    """
    ph, gen_s = timed(make_shapes, case)
    write_case(ph, work / case.name / "truth")
    t = ph.truth
    after = {
        "axis_angle_truth_deg": t["axis_angle_deg"],
        "rotation_truth_deg": t["rotation_deg"],
        "cross_plane_voxels": t["cross_plane_voxels"],
    }
    return plan_row(work / case.name, t, gen_s, {"contrast": t["contrast"]}, after, score_shapes)
