"""Generated T1 heads with known truth, for the MR-alone segmentation (``segment.mr``).

One head on a cubic grid (96^3 at 1.5 mm by default), tissue values averaged over
``sub``^3 points per voxel (partial volume), an optional smooth bias field, Rician
noise. From outside in: skin, fat (or none), a 4 mm skull (outer table, marrow, inner
table), the subarachnoid CSF layer (``csf_mm`` thick), the cortex (``cortex_mm``, thicker
where the folds reach in, with CSF sulci from the surface), white matter, two deep grey
nuclei and two ventricles. Labels: 1 soft tissue, 2 bone, 3 brain, 4 CSF.

Contrasts: a myelinated T1 (grey 470 < white 640, the blind MR phantom's levels) or a
newborn's (:data:`INFANT`: unmyelinated white matter 380 *darker* than grey 520).

:data:`DESIGNS` are the 21 designs of docs/segmentation.md ("MR alone: a dark/bright
level that does not collapse", helper MR2's generator, here in the repository) and the
wide extra-axial CSF layers of an infant (benign enlargement of the subarachnoid spaces,
4-10 mm): ``csf3``, ``csf5``, ``csf8``; and newborn white matter darker than
:data:`INFANT`'s (``inf wm250``, ``inf wm200``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Newborn T1 levels: white matter darker than grey (before myelination).
INFANT = {"wm": 380.0, "gm": 520.0}


@dataclass(frozen=True)
class T1Design:
    """One generated head. Lengths in mm, T1 values in arbitrary units."""

    cortex_mm: float = 3.0
    csf_mm: float = 3.0  # the subarachnoid layer under the inner table
    vent_mm: float = 10.0  # radius of each ventricle
    wm: float = 640.0
    gm: float = 470.0
    csf: float = 140.0
    fat: float | None = 950.0  # None: skin lies on the bone
    skin: float = 420.0
    bone: float = 30.0
    marrow: float = 330.0
    noise: float = 0.03  # Rician sigma as a share of max(wm, gm)
    bias: float = 0.0  # log bias across the head (exp(+-bias/2))
    deep: bool = True  # deep grey nuclei
    sp: float = 1.5
    n: int = 96
    seed: int = 0
    axes: tuple[float, float, float] = (1.0, 1.0, 1.0)  # ellipsoidal scaling
    fold_mm: float = 0.0  # extra cortex depth at the folds' crests
    sulcus_mm: float = 0.0  # CSF sulci depth from the brain's surface
    folds: float = 7.0  # angular frequency of folds and sulci


def _tissue(d: T1Design, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T1 value, label) at points ``p`` (..., 3) in mm."""
    c = np.full(3, d.n * d.sp / 2.0, np.float32)
    q = (p - c) / np.asarray(d.axes, np.float32)
    r = np.linalg.norm(q, axis=-1)
    r_csf = 54.0  # the inner table's inner edge
    r_brain = r_csf - d.csf_mm
    shells = [(64.0, d.skin, 1)]
    if d.fat is not None:
        shells.append((62.0, d.fat, 1))
    shells += [(59.0, d.bone, 2), (57.5, d.marrow, 2), (55.5, d.bone, 2), (r_csf, d.csf, 4)]
    val = np.zeros(r.shape, np.float32)
    lab = np.zeros(r.shape, np.uint8)
    for radius, v, code in shells:
        inside = r < radius
        val[inside], lab[inside] = v, code
    theta = np.arctan2(np.hypot(q[..., 0], q[..., 1]), q[..., 2])
    phi = np.arctan2(q[..., 1], q[..., 0])
    wave = 0.5 + 0.5 * np.cos(d.folds * theta) * np.cos(d.folds * phi)
    depth = r_brain - r
    sulcus = d.sulcus_mm * np.clip((wave - 0.6) / 0.3, 0.0, 1.0)
    grey = depth >= sulcus
    white = depth >= d.cortex_mm + d.fold_mm * np.clip((wave - 0.3) / 0.4, 0.0, 1.0) + sulcus
    val[grey], lab[grey] = d.gm, 3
    val[white], lab[white] = d.wm, 3
    if d.deep:
        nuclei = 0.5 * (d.gm + d.wm) if d.gm < d.wm else d.gm
        for dx in (-16.0, 16.0):
            e = (q - np.array([dx, 0.0, -8.0], np.float32)) / np.array([7.0, 10.0, 6.0])
            inside = np.linalg.norm(e, axis=-1) < 1.0
            val[inside], lab[inside] = nuclei, 3
    for dx in (-14.0, 14.0):
        inside = np.linalg.norm(q - np.array([dx, 0.0, 8.0], np.float32), axis=-1) < d.vent_mm
        val[inside], lab[inside] = d.csf, 4
    return val, lab


def make_head(d: T1Design, sub: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(T1, truth labels) of design ``d``: float32 and uint8 arrays of shape (n, n, n),
    voxel (i, j, k) centred at ((i, j, k) + 0.5) * sp mm."""
    n, sp = d.n, d.sp
    fine = (np.indices((n * sub,) * 3, dtype=np.float32) + 0.5) * (sp / sub)
    val, _ = _tissue(d, np.moveaxis(fine, 0, -1))
    img = val.reshape(n, sub, n, sub, n, sub).mean(axis=(1, 3, 5))
    centre = np.moveaxis((np.indices((n,) * 3, dtype=np.float32) + 0.5) * sp, 0, -1)
    _, lab = _tissue(d, centre)
    if d.bias:
        x = (centre[..., 0] + 0.5 * centre[..., 2]) / (1.5 * n * sp) - 0.5
        img = img * np.exp(d.bias * x)
    rng = np.random.default_rng(d.seed)
    s = d.noise * max(d.wm, d.gm)
    noisy = np.hypot(img + rng.normal(0.0, s, img.shape), rng.normal(0.0, s, img.shape))
    return noisy.astype(np.float32), lab


def affine(d: T1Design) -> np.ndarray:
    """The design's voxel-to-world matrix (RAS mm, axis-aligned)."""
    return np.diag([d.sp, d.sp, d.sp, 1.0])


DESIGNS: dict[str, T1Design] = {
    "c3f0": T1Design(cortex_mm=3.0),
    "c2f0": T1Design(cortex_mm=2.0),
    "c4f0": T1Design(cortex_mm=4.0),
    "c5f0": T1Design(cortex_mm=5.0),
    "c2f6": T1Design(cortex_mm=2.0, fold_mm=6, sulcus_mm=3),
    "c3f6": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3),
    "c3f12": T1Design(cortex_mm=3.0, fold_mm=12, sulcus_mm=6),
    "c5f12": T1Design(cortex_mm=5.0, fold_mm=12, sulcus_mm=6),
    "c3f0 csf1.5": T1Design(cortex_mm=3.0, csf_mm=1.5, vent_mm=6.0),
    "c3f0 csf5": T1Design(cortex_mm=3.0, csf_mm=5.0, vent_mm=13.0),
    "c3f0 nofat": T1Design(cortex_mm=3.0, fat=None),
    "c3f0 bias": T1Design(cortex_mm=3.0, bias=0.6),
    "c3f0 noise6": T1Design(cortex_mm=3.0, noise=0.06),
    "c3f0 ellip": T1Design(cortex_mm=3.0, axes=(0.9, 1.0, 0.85)),
    "c2f0 nofat bias": T1Design(cortex_mm=2.0, fat=None, bias=0.5),
    "inf c3f0": T1Design(cortex_mm=3.0, **INFANT),
    "inf c2f0": T1Design(cortex_mm=2.0, **INFANT),
    "inf c5f12": T1Design(cortex_mm=5.0, fold_mm=12, sulcus_mm=6, **INFANT),
    "inf c3f6 nofat": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, fat=None, **INFANT),
    "inf c3f0 csf1.5 noise6": T1Design(
        cortex_mm=3.0, csf_mm=1.5, vent_mm=6.0, noise=0.06, **INFANT
    ),
    "c4f6": T1Design(cortex_mm=4.0, fold_mm=6, sulcus_mm=3),
    # wide extra-axial CSF (benign enlargement of the subarachnoid spaces), folded cortex
    "csf3": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, csf_mm=3.0),
    "csf5": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, csf_mm=5.0),
    "csf8": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, csf_mm=8.0),
    "inf csf5": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, csf_mm=5.0, **INFANT),
    "inf csf8": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, csf_mm=8.0, **INFANT),
    # newborn white matter darker still: 250, and 200 (nearly as dark as CSF, 140)
    "inf wm250": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, wm=250.0, gm=520.0),
    "inf wm200": T1Design(cortex_mm=3.0, fold_mm=6, sulcus_mm=3, wm=200.0, gm=520.0),
}
