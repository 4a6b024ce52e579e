"""Score a twinsep plan of an ``infant`` phantom from outside.

Reads the plan folder's public outputs and the truth written by ``infant.write_infant``
(``labels``, ``twins``, ``materials``, ``truth.json``). Everything of
``blind.score.score_plan`` is kept (Dice per label with every white-matter voxel counted
as brain, twin accuracy beyond 15 mm of the true boundary plane, twin A, fusion type,
contrast); added:

* ``shares``: per infant material (``white_unmyel``, ``white_myel``, ``grey``,
  ``deep_grey``, ``cerebellum``, ``csf_extra``, ``csf_inner``), the share of its voxel
  centres that twinsep labelled 0-5.
* headline numbers: ``wm_unmyel_csf`` (unmyelinated white matter called CSF: the silent
  wrong answer this family looks for), ``wm_myel_csf``, ``grey_csf``, ``csf_extra_csf``
  (extra-axial CSF recall), ``csf_extra_brain`` (extra-axial CSF called brain),
  ``csf_inner_csf`` (ventricles, sulci, fissure, cisterns recall).
* ``brain_ml_truth`` / ``brain_ml_plan`` and ``csf_ml_truth`` / ``csf_ml_plan``
  (intracranial volumes a planner reads off the labels) and ``brain_ml_err_pct``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blind.infant import CODE, InfantCase, make_infant, write_infant
from blind.score import _load, label_shares, load_codes, plan_row, score_plan, timed, voxel_ml


def score_infant(plan_dir: Path, truth_dir: Path) -> dict[str, Any]:
    """``score_plan``'s fields plus the infant material shares and volumes (module doc)."""
    out = score_plan(plan_dir, truth_dir)
    if out.get("grid_mismatch"):
        return out
    mats = load_codes(truth_dir / "materials.nii.gz")
    p_lab, p_aff = _load(plan_dir / "labels.nii.gz")
    t_lab, _ = _load(truth_dir / "labels.nii.gz")
    shares = {name: label_shares(p_lab, mats == code) for name, code in CODE.items()}
    out["shares"] = shares

    def share(name: str, label: int) -> float | None:
        s = shares[name]
        return s.get(str(label)) if s else None

    out["wm_unmyel_csf"] = share("white_unmyel", 4)
    out["wm_myel_csf"] = share("white_myel", 4)
    out["grey_csf"] = share("grey", 4)
    out["csf_extra_csf"] = share("csf_extra", 4)
    out["csf_extra_brain"] = share("csf_extra", 3)
    out["csf_inner_csf"] = share("csf_inner", 4)
    ml = voxel_ml(p_aff)
    out["brain_ml_truth"] = round(float((t_lab == 3).sum()) * ml, 1)
    out["brain_ml_plan"] = round(float((p_lab == 3).sum()) * ml, 1)
    out["csf_ml_truth"] = round(float((t_lab == 4).sum()) * ml, 1)
    out["csf_ml_plan"] = round(float((p_lab == 4).sum()) * ml, 1)
    out["brain_ml_err_pct"] = (
        round(100.0 * (out["brain_ml_plan"] / out["brain_ml_truth"] - 1.0), 1)
        if out["brain_ml_truth"] > 0
        else None
    )
    return out


def plan_and_score_infant(case: InfantCase, work: Path) -> dict[str, Any]:
    """Render ``case``, plan it with ``twinsep plan`` (a subprocess) and score it.

    Writes ``work/<name>/truth`` and ``work/<name>/plan``; returns a flat row (grid,
    timing, exit code, then :func:`score_infant`'s fields).
    """
    ph, gen_s = timed(make_infant, case)
    write_infant(ph, work / case.name / "truth")
    t = ph.truth
    inf = t["infant"]
    assert isinstance(inf, dict)
    before = {
        "orientation": t["orientation"],
        "contrast": t["contrast"],
        "noise_hu": case.base.ct.noise_hu,
        "age_months": case.infant.age_months,
        "hu_plain": inf["hu_plain"],
        "extra_csf_mm": case.infant.extra_csf_mm,
    }
    after = {"cross_plane_voxels": t["cross_plane_voxels"]}
    return plan_row(work / case.name, t, gen_s, before, after, score_infant)
