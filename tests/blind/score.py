"""Score a twinsep plan folder against a phantom3 truth folder, as an outside evaluator.

Reads only the plan folder's public outputs (``labels.nii.gz``, ``twins.nii.gz``,
``plan.json``) and the truth written by ``phantom3.write_case`` (``labels.nii.gz``,
``twins.nii.gz``, ``truth.json``).

Metrics
-------
* ``dice``: Dice per label 1-5 (soft, bone, brain, CSF, vessel). On a plain CT
  (``truth["vessel_voxels_scored"]`` False) the true vessel voxels are left out of every
  Dice and the vessel Dice is None; ``vessel_ml_plain`` is then what twinsep still
  labelled vessel.
* ``twin_acc_15mm``: issue 4's twin accuracy - the share of true tissue voxels whose
  twin twinsep got right, counting voxels more than 15 mm (world) from the true A/B
  boundary (phantom3's bisecting plane). ``twin_acc_all``: every tissue voxel.
  It counts a true tissue voxel that twinsep labels air (owner 0) as wrong, so it holds a
  segmentation term; :func:`twin_split` parts the misses: ``twin_far_air_15mm`` (share of
  those voxels labelled air: mostly the skin's half-filled voxels) and
  ``twin_acc_owned_15mm`` (the ownership alone: the share right among those twinsep
  labels tissue).
* ``twin_a_ok``: twinsep's twin A is the DESIGN-rule twin A (majority of its voxels;
  False when the plan has no twin A).
* ``type_ok``, ``axis_angle_err_deg``, ``rotation_err_deg`` (vertical unions only),
  ``completeness_ok``, ``shared_sinus_ok``: the fusion analysis against the construction.
* ``contrast_ok``: the contrast call matches; on plain CT ``contrast_warned`` says whether
  a warning mentions contrast.
* ``warnings``: plan.json's warnings, verbatim.

Empty cases
-----------
A ratio with nothing to count is None, never NaN (and never a division by zero): a Dice
whose two masks are both empty (a label in neither the truth nor the plan), a twin
accuracy over no true tissue (``twin_acc_15mm`` / ``twin_acc_all``; the plan's own
tissue does not enter its denominator), a share of an empty mask, and a ``voxel_limit``
of a truth without bone (or without CSF). ``twin_a_ok`` is False when the plan has no
twin A.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

LABEL_NAMES = {1: "soft", 2: "bone", 3: "brain", 4: "csf", 5: "vessel"}
BAND_MM = 15.0


def _load(path: Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float64]]:
    import nibabel as nib

    img = nib.load(str(path))
    return np.asarray(img.dataobj).astype(np.uint8), np.asarray(img.affine, dtype=np.float64)


def dice(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float | None:
    """Dice coefficient of two masks (None when both are empty)."""
    s = int(a.sum()) + int(b.sum())
    if s == 0:
        return None
    return 2.0 * int((a & b).sum()) / s


def load_codes(path: Path) -> npt.NDArray[np.int16]:
    """A truth volume of material codes (``materials.nii.gz``) as int16."""
    import nibabel as nib

    return np.asarray(nib.load(str(path)).dataobj).astype(np.int16)


def voxel_ml(affine: npt.NDArray[np.float64]) -> float:
    """Volume of one voxel (mL) of a grid with this affine."""
    return float(abs(np.linalg.det(affine[:3, :3]))) / 1000.0


def vessel_keep(t_lab: npt.NDArray[np.uint8], vessel_scored: bool) -> npt.NDArray[np.bool_]:
    """The voxels a Dice counts: all, or on a plain CT all but the true vessel voxels."""
    return np.ones(t_lab.shape, dtype=bool) if vessel_scored else t_lab != 5


def dice_labels(
    t_lab: npt.NDArray[np.uint8],
    p_lab: npt.NDArray[np.uint8],
    keep: npt.NDArray[np.bool_],
    vessel_scored: bool,
) -> dict[str, float | None]:
    """Dice per label 1-5 (``LABEL_NAMES``) over ``keep``; the vessel's is None on a plain
    CT (``vessel_scored`` False)."""
    d: dict[str, float | None] = {}
    for k, name in LABEL_NAMES.items():
        if k == 5 and not vessel_scored:
            d[name] = None
            continue
        d[name] = dice((t_lab == k) & keep, (p_lab == k) & keep)
    return d


def agreement(
    p_tw: npt.NDArray[np.uint8],
    t_tw: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.bool_],
    digits: int | None = None,
) -> float | None:
    """Share of ``mask`` where the plan's twin is the true one (None for an empty mask),
    rounded to ``digits`` when given."""
    if not mask.any():
        return None
    v = float((p_tw[mask] == t_tw[mask]).mean())
    return v if digits is None else round(v, digits)


def label_shares(pred: npt.NDArray[np.uint8], mask: npt.NDArray[np.bool_]) -> dict[str, float]:
    """Share of ``mask``'s voxels given each label 0-5 (4 decimals; {} for an empty mask)."""
    n = int(mask.sum())
    if n == 0:
        return {}
    v = pred[mask]
    return {str(k): round(float((v == k).sum()) / n, 4) for k in range(6)}


def scan_warnings(warnings: list[Any]) -> list[str]:
    """plan.json warnings about the scan: the reconstruct, models and schedule stages'
    advice (not about the scan's contents) left out."""
    return [
        str(w) for w in warnings if not str(w).startswith(("reconstruct:", "models:", "schedule:"))
    ]


def plane_distance_mm(
    shape: tuple[int, ...], affine: npt.NDArray[np.float64], truth: dict[str, Any]
) -> npt.NDArray[np.float64]:
    """Signed world distance (mm) of every voxel centre from the true twin boundary plane."""
    n = np.asarray(truth["plane_normal_a_to_b"], dtype=np.float64)
    p0 = np.asarray(truth["plane_point_mm"], dtype=np.float64)
    # the plane distance is affine in the voxel index: n . (M ijk + t - p0)
    coef = affine[:3, :3].T @ n
    off = float(n @ (affine[:3, 3] - p0))
    i, j, k = (np.arange(s, dtype=np.float64) for s in shape)
    return (
        coef[0] * i[:, None, None] + coef[1] * j[None, :, None] + coef[2] * k[None, None, :] + off
    )


def _angle_diff(a: float, b: float) -> float:
    return abs(float(a) - float(b))


def voxel_limits(truth_dir: Path) -> dict[str, float | None]:
    """Best Dice any rule on a voxel's own CT value can reach on this phantom.

    ``bone``: the best threshold (HU > t, t in 50..790 step 10) among true tissue voxels;
    ``csf``: the best HU interval (lo in -60..18 step 2, hi up to 40) among true brain and
    CSF voxels. Both are given the true tissue (or intracranial) mask, so they are upper
    bounds for a voxel-wise rule, not for a rule that uses shape or neighbours. A limit is
    None when the truth holds no voxel of that label (a Dice of nothing against nothing).
    """
    import nibabel as nib

    ct = np.asarray(nib.load(str(truth_dir / "ct.nii.gz")).dataobj, dtype=np.float32)
    lab, _ = _load(truth_dir / "labels.nii.gz")
    tissue = lab > 0
    v, bone = ct[tissue], lab[tissue] == 2
    nb = int(bone.sum())
    # no true bone (CSF): every rule's Dice is of nothing against nothing, the limit None
    best_bone: float | None = None
    for t in range(50, 800, 10) if nb else ():
        m = v > t
        d = 2.0 * int((bone & m).sum()) / (nb + int(m.sum()))
        best_bone = d if best_bone is None else max(best_bone, d)
    ic = (lab == 3) | (lab == 4)
    hist_csf, edges = np.histogram(ct[ic & (lab == 4)], bins=np.arange(-60, 41))
    hist_all, _ = np.histogram(ct[ic], bins=edges)
    ncsf = int((lab == 4).sum())
    c_csf, c_all = (
        np.concatenate([[0], np.cumsum(hist_csf)]),
        np.concatenate([[0], np.cumsum(hist_all)]),
    )
    best_csf: float | None = None
    for lo in range(0, 80, 2) if ncsf else ():
        for hi in range(lo + 1, len(edges)):
            tp, sel = c_csf[hi] - c_csf[lo], c_all[hi] - c_all[lo]
            d = 2.0 * float(tp) / (ncsf + float(sel))
            best_csf = d if best_csf is None else max(best_csf, d)
    return {
        "bone": None if best_bone is None else round(best_bone, 4),
        "csf": None if best_csf is None else round(best_csf, 4),
    }


def twin_split(
    t_tw: npt.NDArray[np.uint8],
    p_tw: npt.NDArray[np.uint8],
    p_lab: npt.NDArray[np.uint8],
    scored: npt.NDArray[np.bool_],
) -> tuple[float | None, float | None]:
    """The two parts of a twin accuracy over the true tissue voxels ``scored``.

    Returns ``(air, owned)``: the share of ``scored`` that the plan labels air (no
    owner: a segmentation miss, not an ownership one), and the share of the rest (the
    voxels the plan labels tissue) whose owner is the true twin (an unowned tissue
    voxel counts as wrong). ``None`` where there is nothing to count.
    """
    n = int(scored.sum())
    if n == 0:
        return None, None
    labelled = scored & (p_lab > 0)
    m = int(labelled.sum())
    air = (n - m) / n
    owned = float((p_tw[labelled] == t_tw[labelled]).mean()) if m else None
    return air, owned


def score_plan(plan_dir: Path, truth_dir: Path) -> dict[str, Any]:
    """Compare one plan folder with its phantom3 truth; a JSON-ready dict (see module doc)."""
    truth = json.loads((truth_dir / "truth.json").read_text())
    plan = json.loads((plan_dir / "plan.json").read_text())
    t_lab, t_aff = _load(truth_dir / "labels.nii.gz")
    t_tw, _ = _load(truth_dir / "twins.nii.gz")
    p_lab, p_aff = _load(plan_dir / "labels.nii.gz")
    p_tw, _ = _load(plan_dir / "twins.nii.gz")
    out: dict[str, Any] = {"name": truth["name"]}
    if p_lab.shape != t_lab.shape or not np.allclose(p_aff, t_aff, atol=1e-3):
        out["grid_mismatch"] = True
        return out
    vox_ml = voxel_ml(t_aff)
    scored = bool(truth["vessel_voxels_scored"])
    out["dice"] = dice_labels(t_lab, p_lab, vessel_keep(t_lab, scored), scored)
    out["voxel_limit"] = voxel_limits(truth_dir)
    if not scored:
        out["vessel_ml_plain"] = round(float((p_lab == 5).sum()) * vox_ml, 2)
    # twins
    tissue = t_lab > 0
    dist = plane_distance_mm(t_lab.shape, t_aff, truth)
    far = tissue & (np.abs(dist) > BAND_MM)
    out["twin_acc_15mm"] = agreement(p_tw, t_tw, far)
    out["twin_far_air_15mm"], out["twin_acc_owned_15mm"] = twin_split(t_tw, p_tw, p_lab, far)
    out["twin_acc_all"] = agreement(p_tw, t_tw, tissue)
    pa = p_tw == 1
    out["twin_a_ok"] = bool(pa.any() and (t_tw[pa] == 1).mean() > 0.5)
    # fusion
    fu = plan.get("fusion", {})
    out["type_truth"] = truth["type"]
    out["type_plan"] = fu.get("type")
    out["type_ok"] = fu.get("type") == truth["type"]
    out["axis_angle_truth_deg"] = truth["axis_angle_deg"]
    out["axis_angle_plan_deg"] = fu.get("axis_angle_deg")
    out["axis_angle_err_deg"] = (
        None
        if fu.get("axis_angle_deg") is None
        else round(_angle_diff(fu["axis_angle_deg"], truth["axis_angle_deg"]), 1)
    )
    out["rotation_truth_deg"] = truth["rotation_deg"]
    out["rotation_plan_deg"] = fu.get("rotation_deg")
    if truth["type"] == "vertical" and fu.get("rotation_deg") is not None:
        out["rotation_err_deg"] = round(_angle_diff(fu["rotation_deg"], truth["rotation_deg"]), 1)
    else:
        out["rotation_err_deg"] = None
    out["completeness_truth"] = truth["completeness"]
    out["completeness_plan"] = fu.get("completeness")
    out["completeness_ok"] = fu.get("completeness") == truth["completeness"]
    sh = plan.get("shared", {})
    out["shared_sinus_plan"] = sh.get("shared_sinus")
    out["shared_sinus_ok"] = sh.get("shared_sinus") == truth["shared_sinus"]
    # contrast
    seg = plan.get("segmentation", {})
    warnings = [str(w) for w in plan.get("warnings", [])]
    out["contrast_truth"] = truth["contrast"]
    out["contrast_plan"] = seg.get("contrast")
    out["contrast_ok"] = seg.get("contrast") == truth["contrast"]
    out["contrast_warned"] = any("contrast" in w.lower() for w in warnings)
    out["warnings"] = warnings
    return out


def twinsep_command() -> list[str]:
    """The installed ``twinsep`` entry point (beside the running interpreter first)."""
    exe = Path(sys.executable).with_name("twinsep")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("twinsep")
    if found is None:
        raise RuntimeError("the twinsep command is not installed in this environment")
    return [found]


def plan_env() -> dict[str, str]:
    """The environment a blind ``twinsep plan`` subprocess runs in: this one, with one BLAS
    thread and ``TWINSEP_BLIND_SRC`` (a ``src`` folder, e.g. of a ``git archive``
    snapshot) first on ``PYTHONPATH``, so that the commit a benchmark names is the code
    that planned."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    src = os.environ.get("TWINSEP_BLIND_SRC")
    if src:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def run_plan(ct_path: Path, plan_dir: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``twinsep plan ct_path --out plan_dir --force`` in a subprocess (:func:`plan_env`).

    Returns the finished process and its wall time in seconds.
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*twinsep_command(), "plan", str(ct_path), "--out", str(plan_dir), "--force"],
        capture_output=True,
        text=True,
        env=plan_env(),
        check=False,
    )
    return proc, time.perf_counter() - t0


def timed(make: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``make(*args)`` and its wall time in seconds."""
    t0 = time.perf_counter()
    result = make(*args)
    return result, time.perf_counter() - t0


def plan_row(
    case_dir: Path,
    truth: Mapping[str, Any],
    gen_s: float,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    score: Callable[[Path, Path], dict[str, Any]],
) -> dict[str, Any]:
    """Plan ``case_dir/truth/ct.nii.gz`` into ``case_dir/plan`` (:func:`run_plan`) and score it.

    Returns a flat row: ``name``, ``shape``, ``spacing_mm`` (of ``truth``), ``before``,
    ``gen_s``, ``plan_s``, ``exit``, ``type_truth``, ``after``; then the error line when
    the exit code is not 0, else ``score(plan_dir, truth_dir)``'s fields.
    """
    truth_dir = case_dir / "truth"
    plan_dir = case_dir / "plan"
    proc, plan_s = run_plan(truth_dir / "ct.nii.gz", plan_dir)
    row: dict[str, Any] = {
        "name": case_dir.name,
        "shape": truth["shape"],
        "spacing_mm": [round(float(v), 2) for v in truth["spacing_mm"]],
        **before,
        "gen_s": round(gen_s, 1),
        "plan_s": round(plan_s, 1),
        "exit": proc.returncode,
        "type_truth": truth["type"],
        **after,
    }
    if proc.returncode != 0:
        row["error"] = (proc.stderr.strip().splitlines() or ["(no message)"])[-1][:300]
        return row
    row.update(score(plan_dir, truth_dir))
    return row


def plan_and_score(case: Any, work: Path) -> dict[str, Any]:
    """Render a phantom3 ``case``, plan it with ``twinsep plan`` (a subprocess) and score it.

    Writes ``work/<name>/truth`` and ``work/<name>/plan``. ``TWINSEP_BLIND_SRC`` (a
    ``src`` folder, e.g. of a ``git archive`` snapshot) is put first on the plan's
    ``PYTHONPATH``, so that a shared checkout's uncommitted edits are not measured. Returns a flat row: grid, timing,
    exit code (and the error line when not 0), then ``score_plan``'s fields.
    """
    from blind.phantom3 import make_case, write_case

    ph, gen_s = timed(make_case, case)
    write_case(ph, work / case.name / "truth")
    t = ph.truth
    before = {
        "orientation": t["orientation"],
        "contrast": t["contrast"],
        "noise_hu": case.ct.noise_hu,
    }
    after = {"cross_plane_voxels": t["cross_plane_voxels"]}
    return plan_row(work / case.name, t, gen_s, before, after, score_plan)
