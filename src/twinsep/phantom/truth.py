"""The ground truth written beside every phantom (``truth.json``) and its geometry helpers."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

Vec3 = tuple[float, float, float]

#: Plain-words definitions of the truth quantities (copied into truth.json).
DEFINITIONS: dict[str, str] = {
    "twins": "A is the twin whose centroid (world mm) has the smaller coordinate along the "
    "world axis on which the two centroids differ most (DESIGN.md).",
    "rotation_deg": "angle between the two facial directions projected onto the plane "
    "perpendicular to the junction axis (bridge_normal), 0..180 deg.",
    "axis_angle_deg": "angle between the twins' long axes, each the unit vector from its "
    "vertex point to its neck point; 180 deg when the long axes are collinear.",
    "bridge_area_mm2": "area of the twin boundary inside the body: the junction plane "
    "(bridge_normal through bridge_centre_mm) where it lies inside the skin, integrated on "
    "a 0.4 mm grid in the plane (independent of the voxel grid).",
    "brain_contact_area_mm2": "area of the junction plane with brain on both sides "
    "(a dural layer, CSF label, lies between them).",
    "shared_bone_ml": "bone-labelled voxels inside the bridge region (body voxels that are "
    "inside both heads' scalp surfaces, or inside neither: the fused waist), times the "
    "voxel volume.",
    "tissue_ml": "truth-label voxel counts of each twin times the voxel volume.",
    "vertex_mm": "top of the skull's outer table on the head's long axis (it may lie "
    "inside the bridge).",
    "neck_mm": "centre of the neck cross-section 85 mm (times scale) below the cranium centre.",
    "face_dir": "unit vector from the head's centre toward its face (world).",
    "thin_layer_mm": "minimum thickness given to orbit walls, suture gaps and the dura "
    "between the brains in the truth labels so they stay closed (or open) on this grid: "
    "1.05 x the largest voxel size. The vault bone is widened only to 1.05 x the voxel's "
    "extent along the bone's normal. The CT shows their true (thinner) size with partial "
    "volume.",
    "shared_sinus": "true for total forms: a dural venous sinus crosses the junction "
    "plane (sinus_kind circular: a ring around the junction; superior_sagittal: each "
    "twin's SSS continues into the other's).",
}


class TwinTruth(BaseModel):
    """Per-twin truth (world RAS millimetres, millilitres)."""

    model_config = ConfigDict(frozen=True)

    volume_ml: float
    tissue_ml: dict[str, float]
    centroid_mm: Vec3
    vertex_mm: Vec3
    neck_mm: Vec3
    long_axis: Vec3
    face_dir: Vec3
    right_dir: Vec3
    head_centre_mm: Vec3
    fontanelle_mm: Vec3
    scale: float


class PhantomTruth(BaseModel):
    """Everything known exactly about one phantom (``truth.json``)."""

    model_config = ConfigDict(frozen=True)

    format: Literal["twinsep.phantom-truth/1"] = "twinsep.phantom-truth/1"
    kind: str
    description: str
    type: Literal["vertical", "angular"]
    completeness: Literal["partial", "total"]
    oconnell: Literal["I", "II", "III"] | None
    site: Literal["vertex", "frontal", "parietal", "occipital"]
    rotation_deg: float
    axis_angle_deg: float
    shared_sinus: bool
    sinus_kind: Literal["superior_sagittal", "circular", "separate"]
    bridge_area_mm2: float
    bridge_centre_mm: Vec3
    bridge_normal: Vec3
    brain_contact_area_mm2: float
    shared_bone_ml: float
    twins: dict[str, TwinTruth]
    seed: int
    size: int
    shape: tuple[int, int, int]
    spacing_mm: Vec3
    affine: list[list[float]]
    orientation: str
    noise_hu: float
    contrast: bool
    vessel_hu: float
    table: bool
    psf_fwhm_mm: float
    thin_layer_mm: float
    definitions: dict[str, str] = DEFINITIONS


def vec3(v: npt.ArrayLike) -> Vec3:
    """A length-3 array as a tuple of rounded floats (JSON-friendly, 1e-4 mm)."""
    a = np.asarray(v, dtype=np.float64).reshape(3)
    return (round(float(a[0]), 4), round(float(a[1]), 4), round(float(a[2]), 4))


def angle_deg(u: npt.ArrayLike, v: npt.ArrayLike) -> float:
    """Angle between two vectors, degrees in [0, 180]."""
    a = np.asarray(u, dtype=np.float64)
    b = np.asarray(v, dtype=np.float64)
    c = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def rotation_about_deg(u: npt.ArrayLike, v: npt.ArrayLike, axis: npt.ArrayLike) -> float:
    """Angle (0..180 deg) between ``u`` and ``v`` projected onto the plane normal to ``axis``."""
    n = np.asarray(axis, dtype=np.float64)
    n = n / np.linalg.norm(n)
    a = np.asarray(u, dtype=np.float64)
    b = np.asarray(v, dtype=np.float64)
    return angle_deg(a - (a @ n) * n, b - (b @ n) * n)


def oconnell_type(rotation_deg: float) -> Literal["I", "II", "III"]:
    """O'Connell type of a total vertical craniopagus: I < 40, III 40-140, II >= 140 deg."""
    if rotation_deg < 40.0:
        return "I"
    if rotation_deg < 140.0:
        return "III"
    return "II"
