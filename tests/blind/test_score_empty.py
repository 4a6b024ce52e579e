"""The blind scorers' empty cases (module doc of ``blind.score``, "Empty cases"; the MR
scorer ``blind.mr_score`` alike): a ratio with nothing to count is None - never NaN, a
RuntimeWarning or a ZeroDivisionError - on hand-made truth and plan folders of a few
voxels."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from blind import mr_score
from blind.mr_phantom import Image
from blind.score import score_plan, voxel_limits

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])


def _truth_json(name: str) -> dict[str, object]:
    return {
        "name": name,
        "vessel_voxels_scored": True,
        # the true twin boundary: the plane x = 8 mm (voxel 4)
        "plane_normal_a_to_b": [1.0, 0.0, 0.0],
        "plane_point_mm": [8.0, 0.0, 0.0],
        "type": "vertical",
        "axis_angle_deg": 180.0,
        "rotation_deg": 0.0,
        "completeness": "complete",
        "shared_sinus": False,
        "contrast": False,
    }


def _write(folder: Path, maps: dict[str, np.ndarray], meta: tuple[str, dict[str, object]]) -> Path:
    folder.mkdir(parents=True)
    for name, arr in maps.items():
        nib.save(nib.Nifti1Image(arr, AFFINE), str(folder / name))
    (folder / meta[0]).write_text(json.dumps(meta[1]))
    return folder


def _case(
    tmp: Path, t_lab: np.ndarray, t_tw: np.ndarray, p_lab: np.ndarray, p_tw: np.ndarray
) -> tuple[Path, Path]:
    ct = np.where(t_lab == 2, 700.0, np.where(t_lab > 0, 40.0, -1000.0)).astype(np.float32)
    truth = _write(
        tmp / "truth",
        {"labels.nii.gz": t_lab, "twins.nii.gz": t_tw, "ct.nii.gz": ct},
        ("truth.json", _truth_json(tmp.name)),
    )
    plan = _write(
        tmp / "plan",
        {"labels.nii.gz": p_lab, "twins.nii.gz": p_tw},
        ("plan.json", {"fusion": {}, "warnings": []}),
    )
    return plan, truth


def test_nothing_to_count_is_none(tmp_path: Path) -> None:
    z = np.zeros((8, 8, 8), np.uint8)
    plan, truth = _case(tmp_path, z, z, z, z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Mean of empty slice"
        out = score_plan(plan, truth)
    assert out["twin_acc_all"] is None
    assert out["twin_acc_15mm"] is None
    assert out["twin_far_air_15mm"] is None and out["twin_acc_owned_15mm"] is None
    assert out["voxel_limit"] == {"bone": None, "csf": None}
    assert all(v is None for v in out["dice"].values())
    assert out["twin_a_ok"] is False
    # the whole row is strict JSON (no NaN)
    json.dumps(out, allow_nan=False)


def test_soft_tissue_only(tmp_path: Path) -> None:
    """A truth of soft tissue alone (no bone, no CSF): the limits of the absent labels are
    None, the twin accuracies are counted over the true tissue whatever the plan holds."""
    t_lab = np.zeros((8, 8, 8), np.uint8)
    t_lab[1:7, 1:7, 1:7] = 1  # 216 voxels
    t_tw = np.where(t_lab > 0, np.where(np.arange(8)[:, None, None] < 4, 1, 2), 0).astype(np.uint8)
    # the plan labels no tissue at all: every true tissue voxel is a miss
    z = np.zeros_like(t_lab)
    plan, truth = _case(tmp_path / "none", t_lab, t_tw, z, z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = score_plan(plan, truth)
    assert out["voxel_limit"] == {"bone": None, "csf": None}
    assert out["twin_acc_all"] == 0.0
    assert out["dice"]["soft"] == 0.0 and out["dice"]["bone"] is None
    assert out["twin_a_ok"] is False
    # a plan right on all but one column of 6 voxels (given to the other twin)
    p_tw = t_tw.copy()
    p_tw[3, 3, 1:7] = 2
    plan, truth = _case(tmp_path / "most", t_lab, t_tw, t_lab, p_tw)
    out = score_plan(plan, truth)
    assert out["twin_acc_all"] == pytest.approx(210 / 216)
    assert out["dice"]["soft"] == 1.0
    assert out["twin_a_ok"] is True
    # beyond 15 mm of x = 8 mm: voxels x = 0 and x >= 24 mm hold no tissue here
    assert out["twin_acc_15mm"] is None


def test_voxel_limits_with_bone(tmp_path: Path) -> None:
    """The limit itself is unchanged where there is something to count: bone at 700 HU,
    soft at 40, a threshold between them separates them exactly."""
    lab = np.zeros((8, 8, 8), np.uint8)
    lab[1:7, 1:7, 1:7] = 1
    lab[2:5, 2:5, 2:5] = 2
    lab[5, 5, 5] = 4
    z = np.zeros_like(lab)
    _, truth = _case(tmp_path, lab, z, z, z)
    lim = voxel_limits(truth)
    assert lim["bone"] == 1.0
    # the one CSF voxel at 40 HU, alone in the brain + CSF mask: an interval holding 40
    assert lim["csf"] == 1.0


def test_mr_scorer_nothing_to_count_is_none(tmp_path: Path) -> None:
    """The MR scorer wrote NaN (blind_mr.json held 4: not strict JSON)."""
    z = np.zeros((8, 8, 8), np.uint8)
    assert mr_score.dice(z > 0, z > 0) is None
    plan = _write(
        tmp_path / "plan",
        {"labels.nii.gz": z, "twins.nii.gz": z},
        ("plan.json", {"fusion": {}, "warnings": []}),
    )
    run = mr_score.PlanRun(0, "", 1.0, plan)
    truth = Image(z, AFFINE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = mr_score.score_plan(run, truth, truth, {"fusion_type": "vertical"})
    assert score.twin_accuracy is None
    assert all(v is None for v in score.dice.values())
    assert score.brain_centroid_error_mm == [None, None]
    json.dumps(score.as_dict(), default=str, allow_nan=False)
    # a refused plan: nothing scored, still strict JSON
    refused = mr_score.Score(exit_code=2)
    json.dumps(refused.as_dict(), default=str, allow_nan=False)
