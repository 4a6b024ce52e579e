"""Head models with exact tissue labels: an analytic layered head (tests, benchmark).

The analytic head is an ellipsoid of scalp over a skull shell with a fontanelle (a gap
that must stay a gap), a CSF layer, brain, two ventricles and a superior sagittal
sinus running in the midline under the skull. Sizes are those of an infant
(~1 year: head circumference ~46 cm, skull 2 mm, scalp 4 mm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twinsep import labels as L


@dataclass(frozen=True)
class HeadModel:
    """A single head: labels and an intensity texture on a 1-voxel grid in *head* mm.

    Attributes
    ----------
    labels : (I, J, K) uint8
        Labels 0..5.
    texture : (I, J, K) float32 or None
        Optional texture in [-1, 1] (see :func:`labels_to_ct`).
    mr : (I, J, K) float32 or None
        Optional T1-like intensity.
    affine : (4, 4) ndarray
        Voxel to head mm (RAS: +z toward the vertex, +y toward the face).
    centre_mm : (3,) ndarray
        Centre of the cranial cavity (head mm).
    mask : (I, J, K) bool or None
        The head (what a twin owns); None means ``labels > 0``. A real CT needs it:
        air inside the head (sinuses, airways) is label 0 but part of the head.
    """

    labels: np.ndarray
    texture: np.ndarray | None
    mr: np.ndarray | None
    affine: np.ndarray
    centre_mm: np.ndarray
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class AnalyticHeadParams:
    """Dimensions of the analytic infant head (mm)."""

    radii_mm: tuple[float, float, float] = (62.0, 72.0, 62.0)
    """Outer scalp semi-axes x (ear-ear), y (front-back), z (up) (mm)."""
    scalp_mm: float = 4.0
    """Scalp thickness (mm)."""
    skull_mm: float = 2.5
    """Skull thickness (mm)."""
    csf_mm: float = 2.5
    """Subarachnoid CSF thickness (mm)."""
    fontanelle_radius_mm: float = 9.0
    """Radius of the fontanelle gap in the skull, anterior-superior (mm)."""
    ventricle_radii_mm: tuple[float, float, float] = (5.0, 18.0, 7.0)
    """Semi-axes of each lateral ventricle (mm)."""
    sinus_radius_mm: float = 3.0
    """Radius of the superior sagittal sinus (mm)."""
    neck_cut_mm: float = -57.0
    """The head is cut flat below this height (head mm), just under the skull base
    (inner skull bottom at -55.5 mm), so the cranial cavity stays enclosed."""


def analytic_head(
    spacing_mm: float = 1.0, params: AnalyticHeadParams = AnalyticHeadParams()
) -> HeadModel:
    """Build the analytic head on an isotropic grid of ``spacing_mm``."""
    p = params
    rx, ry, rz = p.radii_mm
    n = [int(np.ceil(2 * r / spacing_mm)) + 6 for r in (rx, ry, rz)]
    ax = [(np.arange(k) - (k - 1) / 2) * spacing_mm for k in n]
    x, y, z = np.meshgrid(*ax, indexing="ij")

    def inside(shrink: float) -> np.ndarray:
        return (x / (rx - shrink)) ** 2 + (y / (ry - shrink)) ** 2 + (z / (rz - shrink)) ** 2 <= 1

    lab = np.zeros(x.shape, np.uint8)
    lab[inside(0)] = L.SOFT_TISSUE
    skull_out = p.scalp_mm
    skull_in = skull_out + p.skull_mm
    brain_in = skull_in + p.csf_mm
    lab[inside(skull_out)] = L.BONE
    ic = inside(skull_in)
    lab[ic] = L.CSF
    lab[inside(brain_in)] = L.BRAIN
    # fontanelle: a disc-shaped gap in the bone (membrane = soft tissue)
    d = np.array([0.0, 0.45, 0.89])
    d = d / np.linalg.norm(d)
    fc = d * np.array([rx, ry, rz]) * 0.92
    gap = ((x - fc[0]) ** 2 + (y - fc[1]) ** 2 + (z - fc[2]) ** 2 <= p.fontanelle_radius_mm**2) & (
        lab == L.BONE
    )
    lab[gap] = L.SOFT_TISSUE
    vx, vy, vz = p.ventricle_radii_mm
    for side in (-1, 1):
        v = ((x - side * 8.0) / vx) ** 2 + ((y + 2.0) / vy) ** 2 + ((z - 8.0) / vz) ** 2 <= 1
        lab[v] = L.CSF
    # superior sagittal sinus: a tube following the inner table in the midline (x = 0)
    ang = np.arctan2(z, y)
    r_in_yz = 1.0 / np.sqrt(
        (np.cos(ang) / (ry - skull_in)) ** 2 + (np.sin(ang) / (rz - skull_in)) ** 2
    )
    rho = np.sqrt(y**2 + z**2)
    ss = (x**2 + (rho - (r_in_yz - p.sinus_radius_mm)) ** 2 <= p.sinus_radius_mm**2) & (z > 5) & ic
    lab[ss] = L.VESSEL
    lab[z < p.neck_cut_mm] = L.BACKGROUND
    rng = np.random.default_rng(0)
    tex = np.zeros(x.shape, np.float32)
    # a subcutaneous fat layer in the outer half of the scalp
    tex[(lab == L.SOFT_TISSUE) & ~inside(p.scalp_mm / 2)] = -0.8
    del rng
    affine = np.diag([spacing_mm, spacing_mm, spacing_mm, 1.0])
    affine[:3, 3] = [a[0] for a in ax]
    return HeadModel(labels=lab, texture=tex, mr=None, affine=affine, centre_mm=np.zeros(3))
