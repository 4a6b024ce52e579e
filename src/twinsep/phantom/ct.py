"""CT appearance of the phantom: Hounsfield values, point-spread function, noise.

The scene renderer mixes these values by each tissue's partial-volume fraction; the
maker then blurs with the scanner PSF and adds Gaussian noise from the seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class CtParams:
    """Hounsfield values (HU) and imaging settings of the synthetic CT.

    Sources: standard CT attenuation tables (air -1000, fat -100..-80, muscle 40-50,
    CSF 0-15, grey matter 35-40, white matter 25-30, unenhanced blood 40-60, iodinated
    venous phase 250-400); infant calvaria is less mineralised than adult cortical bone
    (about 700-1500 HU, lower still in partial volume); plastic/carbon table tops read
    -200..200 HU.
    """

    air_hu: float = -1000.0
    """Air outside the body and in the oral space, HU."""
    fat_hu: float = -90.0
    """Subcutaneous fat, HU."""
    fat_depth_mm: tuple[float, float] = (1.5, 3.0)
    """Depth range of the subcutaneous fat below the skin, mm."""
    soft_hu: float = 45.0
    """Skin, muscle and other soft tissue, HU."""
    membrane_hu: float = 40.0
    """Fibrous tissue filling sutures and the fontanelle, HU."""
    eye_hu: float = 15.0
    """Vitreous of the eye globes, HU."""
    vault_bone_hu: float = 1100.0
    """Infant vault bone (outer/inner table and diploe together), HU."""
    base_bone_hu: float = 1300.0
    """Skull-base bone (denser than the vault), HU."""
    face_bone_hu: float = 900.0
    """Facial bones (orbits, maxilla, mandible), HU."""
    spine_bone_hu: float = 800.0
    """Infant cervical vertebrae (partly cartilaginous), HU."""
    csf_hu: float = 5.0
    """CSF and the dural layer, HU."""
    grey_hu: float = 36.0
    """Cortical grey matter, HU."""
    white_hu: float = 27.0
    """White matter (the brain deeper than ``HeadParams.white_matter_depth_mm``), HU."""
    contrast_vessel_hu: tuple[float, float] = (250.0, 400.0)
    """Range from which a phantom's contrast-filled vessel value is drawn, HU."""
    plain_vessel_hu: tuple[float, float] = (40.0, 60.0)
    """Range of unenhanced blood (no contrast), HU."""
    table_hu: float = 120.0
    """Patient table / head holder plastic, HU."""
    table_thickness_mm: float = 10.0
    """Table plate thickness, mm."""
    table_gap_mm: float = 4.0
    """Gap between the lowest skin point and the table top (a thin pad of air), mm."""
    psf_fwhm_mm: float = 1.5
    """Gaussian point-spread FWHM applied after partial-volume mixing, mm (soft-tissue
    head kernels are about 1-1.5 mm)."""
    noise_hu: float = 10.0
    """Default Gaussian noise sigma, HU (infant head CT: about 5-15 HU in the brain)."""
    dura_mm: float = 1.5
    """Thickness of the dural layer separating the two brains in total forms, mm."""


def apply_psf(hu: np.ndarray, spacing_mm: tuple[float, float, float], fwhm_mm: float) -> np.ndarray:
    """Blur a float HU array with an isotropic Gaussian PSF given in world mm.

    The sigma per voxel axis is ``fwhm / 2.355 / spacing``; exact for orthogonal voxel
    axes in any orientation (a Gaussian is rotation invariant).
    """
    if fwhm_mm <= 0:
        return hu
    sigma = [fwhm_mm / 2.3548 / s for s in spacing_mm]
    return ndimage.gaussian_filter(hu, sigma=sigma, mode="nearest", truncate=3.0)


def add_noise(hu: np.ndarray, sigma_hu: float, rng: np.random.Generator) -> np.ndarray:
    """Add white Gaussian noise (sigma in HU) drawn from ``rng``; returns a new array."""
    if sigma_hu <= 0:
        return hu.copy()
    return hu + rng.normal(0.0, sigma_hu, size=hu.shape).astype(np.float32)


def to_int16_hu(hu: np.ndarray) -> np.ndarray:
    """Round and clip to the int16 range of a CT series (-1024 .. 3071 HU)."""
    return np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
