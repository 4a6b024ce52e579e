"""Score a twinsep plan folder against a blind MR phantom's truth.

Everything is read from the plan folder as a user would (``labels.nii.gz``,
``twins.nii.gz``, ``plan.json``): twinsep is a black box run through its CLI
(:func:`run_plan`).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from .mr_phantom import Image, twin_a_rule
from .score import plan_env

#: Label names of DESIGN.md values 1..5.
LABEL_NAMES: tuple[str, ...] = ("soft", "bone", "brain", "csf", "vessel")
#: Twin accuracy is counted only this far (mm) from the true twin boundary.
TWIN_BAND_MM = 15.0


@dataclass(frozen=True)
class PlanRun:
    """One ``twinsep plan`` run: exit code, last stderr line, wall time."""

    exit_code: int
    stderr_tail: str
    wall_s: float
    out_dir: Path


def twinsep_executable() -> Path:
    """The ``twinsep`` script of the running interpreter's environment."""
    return Path(sys.executable).parent / "twinsep"


def run_plan(
    scan: Path, out_dir: Path, *, mr: Path | None = None, timeout_s: float = 600.0
) -> PlanRun:
    """Run ``twinsep plan SCAN [--mr MR] --out OUT --force --quiet`` in a subprocess
    (``blind.score.plan_env``: one BLAS thread, ``TWINSEP_BLIND_SRC`` first on its path)."""
    import time

    cmd = [
        str(twinsep_executable()),
        "--quiet",
        "plan",
        str(scan),
        "--out",
        str(out_dir),
        "--force",
    ]
    if mr is not None:
        cmd += ["--mr", str(mr)]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout_s, check=False, env=plan_env()
    )
    wall = time.perf_counter() - t0
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    return PlanRun(proc.returncode, lines[-1] if lines else "", wall, out_dir)


def dice(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> float | None:
    """Dice coefficient of two masks (None when both are empty, as ``blind.score.dice``)."""
    s = int(a.sum()) + int(b.sum())
    return None if s == 0 else 2.0 * int(np.sum(a & b)) / s


def twin_band(
    twins: NDArray[np.uint8], spacing_mm: NDArray[np.float64], band_mm: float
) -> NDArray[np.bool_]:
    """Voxels within ``band_mm`` (mm) of the other twin's voxels (the true boundary zone)."""
    near = np.zeros(twins.shape, dtype=bool)
    for t, other in ((1, 2), (2, 1)):
        dist = ndimage.distance_transform_edt(twins != other, sampling=spacing_mm)
        near |= (twins == t) & (dist <= band_mm)
    return near


@dataclass(frozen=True)
class Score:
    """What one plan got right and wrong against the truth.

    Attributes
    ----------
    exit_code : int
        twinsep's exit code (0 ok, 2 refused, 1 crash); the other fields are empty or
        None when it is not 0.
    dice : dict
        Dice per label name (soft, bone, brain, csf, vessel) on the output grid; None
        for a label in neither the truth nor the plan.
    twin_accuracy : float or None
        Share of truth tissue voxels more than 15 mm from the true twin boundary that
        carry the right twin (A/B as twinsep numbers them; a swapped A is near 0); None
        when there is no such voxel. No field is NaN: a row is strict JSON.
    twin_a_right : bool | None
        twinsep's twin 1 is the truth's twin A (DESIGN rule in the output grid's world).
    fusion_type, fusion_type_truth : str | None
    axis_angle_deg, rotation_deg : float | None
        As plan.json reports them (truth in ``truth``).
    registration : dict | None
        plan.json's MR registration figures (``mattes_mi``; plan.json reports no
        transform), the registration warnings, and the ceiling a perfect registration
        would allow: Dice of the true MR labels resampled onto the output grid by the
        true transform (nearest neighbour; ``ceiling_brain``, ``ceiling_csf``).
    contrast : bool | None
        Whether twinsep called the scan contrast-enhanced (``segmentation.contrast``).
    brain_centroid_error_mm : list of float or None
        Per truth twin (A, B): distance between the centroids of twinsep's and the
        truth's brain within that twin, mm (a registration shift shows here); None where
        either holds no brain.
    warnings : list of str
    """

    exit_code: int
    stderr_tail: str = ""
    dice: dict[str, float | None] = field(default_factory=dict)
    twin_accuracy: float | None = None
    twin_a_right: bool | None = None
    fusion_type: str | None = None
    fusion_type_truth: str | None = None
    completeness: str | None = None
    axis_angle_deg: float | None = None
    rotation_deg: float | None = None
    registration: dict[str, Any] | None = None
    contrast: bool | None = None
    brain_centroid_error_mm: list[float | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    wall_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return asdict(self)


def _load(path: Path) -> tuple[NDArray[Any], NDArray[np.float64]]:
    import nibabel as nib

    img: Any = nib.load(str(path))
    return np.asarray(img.dataobj), np.asarray(img.affine, dtype=np.float64)


def score_plan(
    run: PlanRun,
    labels_truth: Image,
    twins_truth: Image,
    truth: dict[str, Any],
    *,
    mr_labels_truth: Image | None = None,
) -> Score:
    """Score ``run``'s plan folder against truth maps on the plan's output grid.

    Parameters
    ----------
    run : PlanRun
    labels_truth, twins_truth : Image
        Truth on the grid twinsep writes (the MR grid for MR alone, the CT grid with a
        CT); twins 1 = A by DESIGN's rule.
    truth : dict
        The case's truth record (``MrCase.truth``).
    mr_labels_truth : Image, optional
        For a CT + MR plan: the truth on the MR grid as the MR file stores it, for the
        registration ceiling.

    Raises
    ------
    ValueError
        When the plan's maps are not on the truth's grid (shape or affine).
    """
    if run.exit_code != 0:
        return Score(exit_code=run.exit_code, stderr_tail=run.stderr_tail, wall_s=run.wall_s)
    out = run.out_dir
    labels, aff = _load(out / "labels.nii.gz")
    twins, aff_t = _load(out / "twins.nii.gz")
    if labels.shape != labels_truth.array.shape or not np.allclose(
        aff, labels_truth.affine, atol=1e-3
    ):
        raise ValueError(
            f"{out}: labels.nii.gz is {labels.shape} on {aff.tolist()}, the truth "
            f"{labels_truth.array.shape} on {labels_truth.affine.tolist()}"
        )
    plan = json.loads((out / "plan.json").read_text())
    lt = labels_truth.array
    scores = {name: dice(labels == v, lt == v) for v, name in enumerate(LABEL_NAMES, start=1)}
    spacing = np.sqrt(np.sum(aff[:3, :3] ** 2, axis=0))
    tt = twins_truth.array
    scored = (tt > 0) & ~twin_band(tt, spacing, TWIN_BAND_MM)
    acc = float(np.mean(twins[scored] == tt[scored])) if scored.any() else None
    a_right: bool | None = None
    if (twins == 1).any() and (twins == 2).any():
        a_right = twin_a_rule(twins.astype(np.uint8), aff) == 1 and (acc or 0.0) > 0.5
    fusion = plan.get("fusion", {})
    reg = _registration_record(plan, truth, labels_truth, mr_labels_truth)
    cents: list[float | None] = []
    for t in (1, 2):
        a = np.argwhere((lt == 3) & (tt == t))
        b = np.argwhere((labels == 3) & (tt == t))
        if len(a) and len(b):
            cents.append(float(np.linalg.norm(aff[:3, :3] @ (a.mean(axis=0) - b.mean(axis=0)))))
        else:
            cents.append(None)
    return Score(
        exit_code=0,
        dice=scores,
        twin_accuracy=acc,
        twin_a_right=a_right,
        fusion_type=fusion.get("type"),
        fusion_type_truth=truth.get("fusion_type"),
        completeness=fusion.get("completeness"),
        axis_angle_deg=fusion.get("axis_angle_deg"),
        rotation_deg=fusion.get("rotation_deg"),
        registration=reg,
        contrast=plan.get("segmentation", {}).get("contrast"),
        brain_centroid_error_mm=cents,
        warnings=list(plan.get("warnings", [])),
        wall_s=run.wall_s,
    )


def _registration_record(
    plan: dict[str, Any],
    truth: dict[str, Any],
    labels_truth: Image,
    mr_labels_truth: Image | None,
) -> dict[str, Any] | None:
    """What plan.json says about the MR registration, and the perfect-registration ceiling."""
    seg = plan.get("segmentation", {})
    mi = seg.get("registration_mattes_mi") if isinstance(seg, dict) else None
    if mi is None and mr_labels_truth is None:
        return None
    words = ("regist", "mutual information", "--mr", "the mr ")
    rec: dict[str, Any] = {
        "mattes_mi": mi,
        "modality": seg.get("modality") if isinstance(seg, dict) else None,
        "warnings": [w for w in plan.get("warnings", []) if any(k in w.lower() for k in words)],
    }
    if mr_labels_truth is not None:
        true = np.asarray(truth["mr_file_to_ct"], dtype=float)
        res = resample_labels(mr_labels_truth, labels_truth, true)
        rec["ceiling_brain"] = dice(res == 3, labels_truth.array == 3)
        rec["ceiling_csf"] = dice(res == 4, labels_truth.array == 4)
        rec["ceiling_vessel"] = dice(res == 5, labels_truth.array == 5)
    return rec


def resample_labels(
    source: Image, target: Image, source_to_target: NDArray[np.float64]
) -> NDArray[np.uint8]:
    """Labels of ``source`` on ``target``'s grid (nearest neighbour).

    ``source_to_target`` maps the source's world (mm) to the target's world (mm).
    """
    m = np.linalg.inv(source.affine) @ np.linalg.inv(source_to_target) @ target.affine
    out = ndimage.affine_transform(
        source.array, m[:3, :3], m[:3, 3], output_shape=target.array.shape, order=0
    )
    return np.asarray(out, dtype=np.uint8)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a markdown table (``-`` for None/NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"
