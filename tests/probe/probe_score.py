"""Score a twinsep plan folder against a probe truth, reading only the plan's public outputs.

``labels.nii.gz``, ``twins.nii.gz``, ``plan.json`` and the folder's files are read;
the truth is held in memory (labels 0-5, owners 0/1/2 and its RAS affine). The plan's
grid may store the same voxels in another order (a DICOM input is stored as its series):
its arrays are mapped onto the truth grid voxel by voxel through the two affines.

Metrics: Dice per label (on a plain CT the true vessel voxels leave every Dice, the
vessel Dice is None); twin accuracy over true tissue voxels more than 15 mm (world) from
the other twin's tissue, a voxel labelled air counted wrong (``twin_acc_owned_15mm``:
among those the plan labels tissue, the ownership alone); twin A by DESIGN.md's rule
(the plan's twin 1 is, by majority, the truth's rule-A head); fusion type and axis angle.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage as ndi

from phi_bytes import all_bytes
from probe.probe_phantom import twin_a_by_rule

NAMES = {1: "soft", 2: "bone", 3: "brain", 4: "csf", 5: "vessel"}
BAND_MM = 15.0


def load_on(
    path: Path, affine: npt.NDArray[np.float64], shape: tuple[int, ...]
) -> npt.NDArray[np.uint8]:
    """The NIfTI at ``path`` resampled (nearest; exact for a reordered storage of the same
    voxels) onto the grid ``affine`` / ``shape``; 255 where it has no voxel."""
    import nibabel as nib

    img = nib.load(str(path))
    arr = np.asarray(img.dataobj).astype(np.uint8)
    m = np.linalg.inv(img.affine) @ affine
    idx = np.indices(shape).reshape(3, -1)
    src = m[:3, :3] @ idx + m[:3, 3:4]
    r = np.rint(src).astype(np.int64)
    ok = np.all((r >= 0) & (r < np.asarray(arr.shape)[:, None]), axis=0)
    out = np.full(idx.shape[1], 255, np.uint8)
    out[ok] = arr[r[0, ok], r[1, ok], r[2, ok]]
    return out.reshape(shape)


def dice(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float | None:
    """Dice of two masks; None when both are empty."""
    s = int(a.sum()) + int(b.sum())
    return None if s == 0 else 2.0 * int(np.logical_and(a, b).sum()) / s


def far_from_boundary(
    owner: npt.NDArray[np.uint8], affine: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Tissue voxels more than ``BAND_MM`` (world) from the other twin's tissue."""
    sp = np.linalg.norm(affine[:3, :3], axis=0)
    d_to_b = ndi.distance_transform_edt(owner != 2, sampling=sp)
    d_to_a = ndi.distance_transform_edt(owner != 1, sampling=sp)
    return ((owner == 1) & (d_to_b > BAND_MM)) | ((owner == 2) & (d_to_a > BAND_MM))


def score(
    plan: Path,
    labels: npt.NDArray[np.uint8] | None,
    owner: npt.NDArray[np.uint8],
    affine: npt.NDArray[np.float64],
    *,
    contrast: bool = True,
) -> dict[str, Any]:
    """Dice per label (None without ``labels``), twin accuracy beyond 15 mm, twin A and
    the plan's fusion type / axis angle, for the plan folder ``plan``."""
    out: dict[str, Any] = {}
    twins = load_on(plan / "twins.nii.gz", affine, owner.shape)
    if labels is not None:
        pred = load_on(plan / "labels.nii.gz", affine, owner.shape)
        keep = np.ones(labels.shape, bool) if contrast else labels != 5
        out["dice"] = {
            n: (dice((labels == k) & keep, (pred == k) & keep) if (contrast or k != 5) else None)
            for k, n in NAMES.items()
        }
    # the truth's owners as A (1) and B (2) by DESIGN.md's rule: a plan that names the
    # wrong twin A scores its twin accuracy near 0 and twin_a_ok False
    rule_a = twin_a_by_rule(owner, affine)
    ab = owner if rule_a == 1 else np.array([0, 2, 1], np.uint8)[owner]
    far = far_from_boundary(ab, affine)
    out["twin_acc_15mm"] = float((twins[far] == ab[far]).mean()) if far.any() else None
    # the ownership alone: among those voxels that the plan labels tissue
    owned = far & (twins > 0) & (twins < 3)
    out["twin_acc_owned_15mm"] = float((twins[owned] == ab[owned]).mean()) if owned.any() else None
    pred_a = twins == 1
    out["twin_a_ok"] = (
        bool(pred_a.any()) and int(np.bincount(ab[pred_a], minlength=3)[1:].argmax()) == 0
    )
    pj = json.loads((plan / "plan.json").read_text())
    fusion = pj.get("fusion", {})
    out["type"] = fusion.get("type")
    out["axis_deg"] = fusion.get("axis_angle_deg")
    out["rotation_deg"] = fusion.get("rotation_deg")
    out["completeness"] = fusion.get("completeness")
    out["warnings"] = pj.get("warnings", [])
    out["report"] = (plan / "report.html").exists()
    return out


def stable_digest(plan: Path) -> dict[str, str]:
    """sha256 of labels.nii.gz, twins.nii.gz and plan.json without its run-time fields
    (``created``, ``timings_s``, ``peak_rss_mb``, ``cache``), at any depth."""

    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {
                k: strip(v)
                for k, v in x.items()
                if k not in ("created", "timings_s", "peak_rss_mb", "cache")
            }
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    out = {
        f: hashlib.sha256((plan / f).read_bytes()).hexdigest()[:16]
        for f in ("labels.nii.gz", "twins.nii.gz")
    }
    pj = strip(json.loads((plan / "plan.json").read_text()))
    out["plan.json"] = hashlib.sha256(json.dumps(pj, sort_keys=True).encode()).hexdigest()[:16]
    return out


def files_holding(folder: Path, needles: list[str]) -> list[str]:
    """Files under ``folder`` whose bytes, or any compressed stream in them (gzip members,
    zip members and their names, PDF / PNG streams: ``phi_bytes.all_bytes``), hold any of
    ``needles``."""
    hits = []
    for f in sorted(folder.rglob("*")):
        if f.is_file() and any(n.encode() in all_bytes(f) for n in needles):
            hits.append(str(f.relative_to(folder)))
    return hits
