"""A synthetic CT derived from a tissue label map (to run the CT pipeline on real shapes).

The CT value of each voxel is the typical attenuation of its tissue class (below),
optionally modulated by a per-voxel texture (e.g. fat in the scalp, grey vs white
matter taken from a real T1 MR), blurred by a Gaussian point-spread function and given
white Gaussian noise. The numbers are textbook values for infant/adult head CT:
air -1000, fat -90, scalp/muscle 45, brain 25-40 (grey > white), CSF 8, cortical bone
800-1500 (thinner, less mineralised bone lower), contrast blood 200-350 HU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L


@dataclass(frozen=True)
class SynthCTParams:
    """Attenuation of each class (HU) and the imaging model."""

    air_hu: float = -1000.0
    """Air (HU)."""
    soft_hu: float = 45.0
    """Scalp, muscle (HU)."""
    fat_hu: float = -90.0
    """Subcutaneous fat (HU), used where the texture says fat."""
    bone_hu: float = 1100.0
    """Cortical skull (HU); partial volume after blurring lowers thin bone."""
    brain_hu: float = 33.0
    """Brain parenchyma (HU), mean of grey (~38) and white (~28) matter."""
    csf_hu: float = 8.0
    """CSF (HU)."""
    vessel_contrast_hu: float = 280.0
    """Venous blood with iodinated contrast (HU)."""
    vessel_plain_hu: float = 50.0
    """Blood without contrast (HU)."""
    table_hu: float = 180.0
    """Patient table / head holder (carbon fibre composite, HU)."""
    psf_sigma_mm: float = 0.6
    """Gaussian point-spread function of the scanner (mm); ~0.5-0.7 mm for head CT."""


def labels_to_ct(
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    rng: np.random.Generator,
    noise_hu: float = 15.0,
    contrast: bool = True,
    texture: np.ndarray | None = None,
    table: np.ndarray | None = None,
    params: SynthCTParams = SynthCTParams(),
) -> np.ndarray:
    """Synthesise a CT (int16 HU) from tissue labels.

    Parameters
    ----------
    labels : (I, J, K) uint8
        Labels 0..5.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    rng : numpy.random.Generator
        Noise generator.
    noise_hu : float
        Noise sigma (HU) added after blurring.
    contrast : bool
        Vessels enhanced (``vessel_contrast_hu``) or not.
    texture : (I, J, K) float, optional
        Value in [-1, 1] per voxel: in soft tissue -1 means fat, 0 soft; in brain, +1
        grey-like, -1 white-like (±5 HU).
    table : (I, J, K) bool, optional
        Table / head holder voxels (label 0 in the truth).

    Returns
    -------
    ndarray of int16
    """
    p = params
    lut = np.array(
        [
            p.air_hu,
            p.soft_hu,
            p.bone_hu,
            p.brain_hu,
            p.csf_hu,
            p.vessel_contrast_hu if contrast else p.vessel_plain_hu,
        ],
        np.float32,
    )
    hu = lut[labels]
    if texture is not None:
        t = texture.astype(np.float32)
        soft = labels == L.SOFT_TISSUE
        fat_w = np.clip(-t, 0, 1)
        hu[soft] = (p.soft_hu * (1 - fat_w) + p.fat_hu * fat_w)[soft]
        brain = labels == L.BRAIN
        hu[brain] += 5.0 * np.clip(t, -1, 1)[brain]
    if table is not None:
        hu[table & (labels == 0)] = p.table_hu
    sig = [p.psf_sigma_mm / s for s in spacing_mm]
    hu = ndi.gaussian_filter(hu, sigma=sig, mode="nearest")
    if noise_hu > 0:
        hu += rng.normal(0.0, noise_hu, size=hu.shape).astype(np.float32)
    return np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
