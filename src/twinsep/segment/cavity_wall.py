"""What the cranial cavity's wall rules read: a thin plate's partial volume and fat.

Under a thin infant skull base on thick slices the bone mask keeps only the plate's
core, and the cavity went on through the rest of the plate into the fat and muscle
under it (``segment.cavity``, step 6; docs/segmentation.md, "The infant cranial cavity
at the skull base"). Two kinds of voxel therefore do not carry the cavity at its wall:

* **Plate partial volume** (:func:`plate_partial`): non-bone voxels above the bone
  floor within the half-maximum window of bone, on grids whose slices are thicker than
  their pixels (:func:`has_slabs`). Contrast blood beside bone (a sinus in its groove)
  reads in the same range; the voxels the vessel rule read as blood are therefore no
  plate (``blood``).
* **Fat** (:func:`fat_voxels`): the smoothed CT well under water. A sharp (bone)
  reconstruction kernel puts an undershoot of 100-300 HU beside every bone edge
  (``segment.kernel``): CSF beside the inner table then reads as fat. The undershoot is
  measured from the CT itself (the edge response across the inner table); where it is
  deeper than a CSF layer can make, fat is read on a copy of the CT through the
  kernel's fitted inverse, as the brain/CSF rule reads it.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from twinsep.segment import filters, morph
from twinsep.segment.cavity import Cavity, apply_wall_rules
from twinsep.segment.kernel import SharpKernel, detect_sharp_kernel
from twinsep.segment.params import SegmentParams

logger = logging.getLogger(__name__)


def plate_partial(
    sm: np.ndarray,
    bone: np.ndarray,
    within: np.ndarray,
    t_lo: float,
    spacing: morph.Spacing,
    halfmax_mm: float,
) -> np.ndarray:
    """Non-bone voxels whose smoothed CT reaches the bone floor ``t_lo`` within the
    half-maximum window of bone (``halfmax_mm`` per axis, as ``segment.ct._bone_mask``
    reads the local peak): the part of a plate that the half-maximum edge left out.

    A plate of thickness ``t`` crossing a slab of thickness ``s`` at a shallow angle
    spreads over the slab with ``t / s`` of its value or less, and within the window of
    the plate's own core (or of the dense petrous bone) those voxels fall under half
    the local peak: a 1.4 mm, 1000 HU infant skull base on 2.5 mm slices reads
    300-900 HU there and had holes 2-3 voxels wide.

    Parameters
    ----------
    sm : (I, J, K) ndarray
        Smoothed CT (HU).
    bone, within : (I, J, K) ndarray of bool
        Bone mask; the voxels that may be plate (the body).
    t_lo : float
        Bone floor (HU).
    spacing : (3,) tuple of float
        Voxel size (mm).
    halfmax_mm : float
        Half-width (mm) of the window of bone.

    Returns
    -------
    (I, J, K) ndarray of bool
    """
    cand = within & ~bone
    cand &= sm >= t_lo
    out = np.zeros(bone.shape, bool)
    half = [max(1, int(round(halfmax_mm / s))) for s in spacing]
    box = morph._bounding_box(cand, half)
    if box is None:
        return out
    near = ndimage.maximum_filter(bone[box], size=[2 * h + 1 for h in half], mode="constant")
    out[box] = cand[box] & near
    return out


def has_slabs(spacing: morph.Spacing) -> bool:
    """Whether the grid's voxels are thicker along one axis than along another (slices
    thicker than the in-plane pixels), the grid on which a thin plate lies along a slab.

    The plate rule (:func:`plate_partial`) is for a plate spread along a slab thicker
    than itself. On an isotropic grid as coarse as the half-maximum window it read the
    partial volume of the bone ring round the foramen magnum as a plate and cut the
    spinal canal's CSF off the cavity (bench phantom vertical-I at 128, 2.34 mm, 30 HU:
    37 truth CSF voxels, CSF Dice 0.8017 -> 0.7993); an isotropic grid fine enough to
    resolve an infant plate has no slab to spread it.
    """
    s = [float(v) for v in spacing]
    return max(s) - min(s) > 1e-6 * max(s)


def fat_level_hu(soft_hu: float, noise_hu: float, params: SegmentParams) -> float:
    """The smoothed CT under which a voxel reads as fat (HU): under the soft-tissue peak
    by ``cavity_fat_below_soft_hu``, and by ``cavity_fat_noise_k`` noise sigmas of the
    smoothed CT (``noise_hu``) under water (``cavity_water_below_soft_hu``)."""
    return soft_hu - max(
        params.cavity_fat_below_soft_hu,
        params.cavity_water_below_soft_hu + params.cavity_fat_noise_k * noise_hu,
    )


def wall_image(
    raw: np.ndarray,
    sm: np.ndarray,
    bone: np.ndarray,
    cavity: np.ndarray,
    spacing: morph.Spacing,
    params: SegmentParams,
) -> tuple[np.ndarray, SharpKernel | None]:
    """The smoothed CT that the wall rules read, and the sharp kernel undone in it.

    Without a sharp kernel (``segment.kernel.detect_sharp_kernel`` on ``bone`` and
    ``cavity``: an undershoot beside the inner table deeper than a CSF layer can make)
    this is ``sm`` itself. With one, the cavity's box (grown by the smoothing's reach)
    holds ``raw`` through the kernel's fitted inverse, smoothed as ``sm`` was
    (``params.smooth_sigma_mm``): the undershoot beside every bone edge, which made CSF
    read as fat and the rim of a plate read under the bone floor, is undone there.

    Parameters
    ----------
    raw, sm : (I, J, K) ndarray
        CT (HU) and its smoothed copy.
    bone, cavity : (I, J, K) ndarray of bool
        Bone and the cranial cavity (blood left out).
    spacing : (3,) tuple of float
        Voxel size (mm).
    params : SegmentParams

    Returns
    -------
    ((I, J, K) ndarray, SharpKernel or None)
        ``sm`` (the same object) and None when no kernel is seen.
    """
    kern = detect_sharp_kernel(
        raw,
        sm,
        bone,
        cavity,
        spacing,
        csf_max_contrast_hu=params.csf_max_contrast_hu,
        params=params.kernel,
    )
    if kern is None:
        return sm, None
    sigma_vx = [params.smooth_sigma_mm / s for s in spacing]
    reach = [int(np.ceil(4.0 * s)) + 1 for s in sigma_vx]
    box = morph._bounding_box(cavity, reach)
    if box is None:
        return sm, None
    # the inverse filter reads the CT around the box by its own reach (SharpKernel.soften)
    soft = kern.soften(raw, spacing, within=cavity)[box]
    out = np.array(sm, dtype=np.float32)
    out[box] = filters.gaussian_filter(soft, sigma_vx, mode="nearest")
    logger.debug(
        "cavity wall read through the inverse of a sharp kernel (gain %.2f, %.2f mm)",
        kern.gain,
        kern.sigma_mm,
    )
    return out, kern


def walled_cavity(
    cav: Cavity,
    *,
    raw: np.ndarray,
    sm: np.ndarray,
    bone: np.ndarray,
    body_filled: np.ndarray,
    blood: np.ndarray | None,
    spacing: morph.Spacing,
    t_lo: float,
    soft_hu: float,
    noise_hu: float,
    params: SegmentParams,
) -> np.ndarray:
    """The cranial cavity with the wall rules of ``segment.cavity`` (step 6) applied.

    Parameters
    ----------
    cav : Cavity
        The cavity found on ``bone`` and ``body_filled`` (``find_cranial_cavity``).
    raw, sm : (I, J, K) ndarray
        CT (HU) and its smoothed copy (``params.smooth_sigma_mm``).
    bone, body_filled : (I, J, K) ndarray of bool
        As given to ``find_cranial_cavity``.
    blood : (I, J, K) ndarray of bool, optional
        Voxels the vessel rule read as contrast blood: never plate.
    spacing : (3,) tuple of float
        Voxel size (mm).
    t_lo : float
        Bone floor (HU).
    soft_hu, noise_hu : float
        Soft-tissue peak and the smoothed CT's noise sigma (HU).
    params : SegmentParams
        ``cavity_plate_partial``, ``cavity_fat_below_soft_hu`` (0: no fat rule) and the
        fat level's settings, ``bone_halfmax_mm``, ``smooth_sigma_mm``, ``kernel``.

    Returns
    -------
    (I, J, K) ndarray of bool
        A subset of ``cav.mask`` (``cav.mask`` itself when both rules are off).
    """
    if not params.cavity_plate_partial and params.cavity_fat_below_soft_hu <= 0:
        return cav.mask
    inner = cav.mask if blood is None else cav.mask & ~blood
    img, _kern = wall_image(raw, sm, bone, inner, spacing, params)
    del inner
    plate = None
    if params.cavity_plate_partial and has_slabs(spacing):
        plate = plate_partial(img, bone, body_filled, t_lo, spacing, params.bone_halfmax_mm)
        if blood is not None:
            plate &= ~blood
    fat = None
    if params.cavity_fat_below_soft_hu > 0:
        fat = body_filled & (img < fat_level_hu(soft_hu, noise_hu, params))
    del img
    return apply_wall_rules(cav, bone, body_filled, spacing, plate=plate, fat=fat, params=params)
