"""Bone of ``segment_ct`` on a generated skull of known thickness and blur (issue 4).

The head is built here, independently of ``twinsep.phantom``: a spherical skull of
thickness ``bone_mm`` around a brain under a 2 mm CSF layer, a 4 mm scalp, and air; the
CT is rendered with 2x2x2 supersampling (partial volume) on a rotated, anisotropic grid
(no array axis is "up"), blurred by a Gaussian PSF of the given FWHM and given seeded
white noise. The truth is the tissue at each voxel centre. A shell of radius r and
thickness T holds 4/3 pi ((r + T)^3 - r^3) of bone, so the mean thickness measured from
a mask is its volume over the mid-surface area 4 pi (r + T/2)^2, within T^2 / (12 r^2)
(relative) of T.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from grids import supersampled
from seg_metrics import dice
from twinsep import labels as L
from twinsep.segment import segment_ct
from twinsep.volume import Volume

HU = {"air": -1000.0, "soft": 45.0, "membrane": 40.0, "csf": 8.0, "brain": 35.0}
INNER_MM = 42.0  # radius of the inner table (a newborn cranium, ~310 mL)
CSF_MM = 2.0
SCALP_MM = 4.0


def _rotation(seed: int) -> np.ndarray:
    """A seeded proper rotation (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _head(
    *,
    bone_mm: float,
    bone_hu: float,
    spacing: tuple[float, float, float],
    fwhm_mm: float,
    noise_hu: float,
    suture_mm: float = 0.0,
    seed: int = 0,
) -> tuple[Volume, np.ndarray, np.ndarray]:
    """(CT, truth labels at voxel centres, centres' local coordinates (..., 3) mm).

    A suture of width ``suture_mm`` (membrane) cuts the upper half of the skull along
    the local plane x = 0.
    """
    outer = INNER_MM + bone_mm + SCALP_MM
    shape = tuple(int(np.ceil(2 * (outer + 4.0) / s)) for s in spacing)
    rot = _rotation(seed)
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag(spacing)
    centre = np.array([10.0, -20.0, 35.0])
    affine[:3, 3] = centre - affine[:3, :3] @ ((np.array(shape) - 1) / 2.0)

    def tissue(ijk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        world = ijk @ affine[:3, :3].T + affine[:3, 3]
        local = (world - centre) @ rot  # head frame: rotation undone
        r = np.linalg.norm(local, axis=-1)
        in_suture = (np.abs(local[..., 0]) < suture_mm / 2.0) & (local[..., 2] > 0)
        hu = np.full(r.shape, HU["air"])
        lab = np.zeros(r.shape, np.uint8)
        for lim, val, code in (
            (outer, HU["soft"], L.SOFT_TISSUE),
            (INNER_MM + bone_mm, bone_hu, L.BONE),
            (INNER_MM, HU["csf"], L.CSF),
            (INNER_MM - CSF_MM, HU["brain"], L.BRAIN),
        ):
            hu = np.where(r < lim, val, hu)
            lab = np.where(r < lim, code, lab)
        gap = in_suture & (lab == L.BONE)
        hu = np.where(gap, HU["membrane"], hu)
        lab = np.where(gap, L.SOFT_TISSUE, lab)
        return hu, lab.astype(np.uint8)

    hu, truth, ijk = supersampled(tissue, shape)
    if fwhm_mm > 0:
        hu = ndi.gaussian_filter(hu, [fwhm_mm / 2.3548 / s for s in spacing], mode="nearest")
    hu = hu + np.random.default_rng(seed).normal(0.0, noise_hu, size=shape)
    local = (ijk @ affine[:3, :3].T + affine[:3, 3] - centre) @ rot
    ct = Volume(np.round(hu).astype(np.int16), affine, {"source": "generated skull"})
    return ct, truth, local


def _thickness_mm(mask: np.ndarray, spacing: tuple[float, float, float], bone_mm: float) -> float:
    """Mean thickness (mm) of a shell mask: its volume over the shell's mid-surface area."""
    vol = float(mask.sum()) * float(np.prod(spacing))
    return vol / (4.0 * np.pi * (INNER_MM + bone_mm / 2.0) ** 2)


@pytest.mark.parametrize(
    ("bone_mm", "bone_hu", "spacing", "fwhm_mm", "noise_hu", "min_dice", "max_err_mm"),
    [
        # adult-like thick plate on a fine anisotropic grid (measured 0.990, -0.06 mm)
        (4.0, 1200.0, (0.9, 1.0, 1.1), 1.2, 15.0, 0.98, 0.15),
        # infant vault, 2.5 mm, on a ~1.4 mm grid (0.967, +0.17 mm; the edge on the
        # smoothed image gave 0.958, +0.22 mm)
        (2.5, 1000.0, (1.3, 1.4, 1.5), 1.5, 10.0, 0.96, 0.2),
        # weakly mineralised newborn plate, 2 mm under a 1.5 mm PSF, noisy (0.962,
        # +0.13 mm; on the smoothed image 0.897, +0.46 mm)
        (2.0, 600.0, (1.0, 1.0, 1.2), 1.5, 20.0, 0.94, 0.25),
    ],
)
def test_plate_dice_and_thickness(
    bone_mm: float,
    bone_hu: float,
    spacing: tuple[float, float, float],
    fwhm_mm: float,
    noise_hu: float,
    min_dice: float,
    max_err_mm: float,
) -> None:
    ct, truth, _ = _head(
        bone_mm=bone_mm, bone_hu=bone_hu, spacing=spacing, fwhm_mm=fwhm_mm, noise_hu=noise_hu
    )
    before = ct.array.copy()
    bone = segment_ct(ct, contrast=False).labels.array == L.BONE
    assert np.array_equal(ct.array, before)  # input untouched
    d = dice(bone, truth == L.BONE)
    t = _thickness_mm(bone, spacing, bone_mm)
    assert d >= min_dice, f"bone Dice {d:.3f} < {min_dice}"
    assert abs(t - bone_mm) <= max_err_mm, f"thickness {t:.2f} mm, truth {bone_mm} mm"


def test_suture_stays_open() -> None:
    """A 3 mm suture through a 2.5 mm plate at ~1 mm voxels is not bridged by bone.

    Contrast is forced off in these tests: they measure the bone rule, and a plate of
    600-1000 HU lies partly in the contrast band that the vessel rule examines.
    """
    spacing = (1.0, 1.1, 0.9)
    ct, truth, local = _head(
        bone_mm=2.5, bone_hu=1000.0, spacing=spacing, fwhm_mm=1.2, noise_hu=10.0, suture_mm=3.0
    )
    bone = segment_ct(ct, contrast=False).labels.array == L.BONE
    r = np.linalg.norm(local, axis=-1)
    in_plate = (r > INNER_MM) & (r < INNER_MM + 2.5) & (local[..., 2] > 10.0)
    mid = in_plate & (np.abs(local[..., 0]) < 0.75)  # the suture's middle
    assert mid.sum() > 50
    assert bone[mid].mean() < 0.02, f"{bone[mid].mean():.3f} of the suture's middle is bone"
    beside = in_plate & (np.abs(local[..., 0]) > 3.0)  # plate 1.5 mm beyond the edges
    assert bone[beside].mean() > 0.9
    assert dice(bone, truth == L.BONE) >= 0.9


@pytest.mark.xfail(
    strict=True,
    reason="a plate thinner than the blur is labelled to its half-maximum width (issue 4; "
    "docs/segmentation.md, 'Thin dense bone at coarse voxels')",
)
def test_thin_dense_plate_at_coarse_voxels() -> None:
    """A 1.5 mm plate of 1500 HU at 2.4-2.8 mm voxels under a 2 mm PSF (the probe's vault).

    The truth is the voxel centre inside the plate. Measured at cf9ebb3: bone Dice 0.803
    and 2.12 mm thick (the truth mask itself reads 1.43 mm on this grid): the local
    half-maximum of a plate thinner than the blur lies outside it. The best single HU
    threshold, told the truth, reaches 0.860 and 1.63 mm, so the bounds below are
    within reach of a rule that knows the plate's thickness; no rule from the image
    alone was found that meets them without thinning the other phantoms' bone (strict
    xfail: a fix shows up as an unexpected pass).
    """
    spacing = (2.4, 2.6, 2.8)
    ct, truth, _ = _head(bone_mm=1.5, bone_hu=1500.0, spacing=spacing, fwhm_mm=2.0, noise_hu=10.0)
    bone = segment_ct(ct, contrast=False).labels.array == L.BONE
    d = dice(bone, truth == L.BONE)
    t = _thickness_mm(bone, spacing, 1.5)
    assert d >= 0.84 and abs(t - 1.5) <= 0.3, f"bone Dice {d:.3f}, thickness {t:.2f} mm"
