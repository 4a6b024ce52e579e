"""Metal artefacts by forward projection and filtered back-projection (test helper).

A second, physically different generator from ``tests/realism/stressors.metal_implant``
(which draws straight lines through the metal's centre): each axial (``[i, j]``) slice
that holds metal is forward-projected (``skimage.transform.radon``: parallel-beam line
integrals of the attenuation), the rays through metal are corrupted as a scanner
corrupts them, and the slice is reconstructed by filtered back-projection
(``skimage.transform.iradon``, ramp filter). Only the *difference* between the corrupted
and the exact sinogram is reconstructed and added to the CT, so slices keep their own
anatomy, blur and noise and only the artefact is new.

Corruption of a ray with metal line integral ``p_m`` (dimensionless, ``mu * length``):

* beam hardening: the metal part is measured as ``p_sat (1 - exp(-p_m / p_sat))``
  (a polychromatic beam hardens in the metal and sees less attenuation than the
  monochromatic ``p_m``; the deficit grows with ``p_m``, most on rays through two pieces);
* photon starvation: ``counts ~ Poisson(n0 exp(-p))`` on every ray, ``p = -log(counts /
  n0)`` (at least one count): rays through metal keep few photons and get large noise.

The result has dark bands between metal pieces and bright/dark streaks of random sign
along rays through the metal, fading with distance as the back-projection spreads them -
not the fixed 16 alternating lines of the stressor.
"""

from __future__ import annotations

import numpy as np
from skimage.transform import iradon, radon

MU_WATER_PER_MM = 0.019
"""Linear attenuation of water (1/mm) at ~70 keV effective energy (NIST XCOM: 0.193 /cm)."""


def fbp_metal(
    ct: np.ndarray,
    metal: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    metal_hu: float = 3071.0,
    metal_mu_per_mm: float = 0.45,
    p_sat: float = 2.0,
    n0_photons: float = 2.0e5,
    n_angles: int = 360,
) -> tuple[np.ndarray, np.ndarray]:
    """CT with metal and its FBP artefact; also the artefact alone (HU).

    Parameters
    ----------
    ct : ndarray, shape (I, J, K)
        Clean CT (HU); not modified. In-plane voxels must be square.
    metal : ndarray of bool, shape (I, J, K)
        Metal voxels.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    rng : numpy.random.Generator
        Photon noise.
    metal_hu : float
        Stored value of metal voxels (HU; 12-bit clipped steel reads 3071).
    metal_mu_per_mm : float
        Attenuation of the metal (1/mm): titanium ~0.45-0.6 /mm, steel ~1.5 /mm at 70 keV.
    p_sat : float
        Saturation of the measured metal line integral (beam hardening), dimensionless.
    n0_photons : float
        Unattenuated photons per ray.
    n_angles : int
        Projection angles over 180 degrees.

    Returns
    -------
    (ndarray int16, ndarray float32)
        The CT with metal and artefact (clipped to -1024..3071), and the artefact (HU).
    """
    sp = float(spacing_mm[0])
    if abs(spacing_mm[1] - sp) > 1e-6 * sp:
        raise ValueError("fbp_metal needs square in-plane voxels")
    out = ct.astype(np.float32).copy()
    art = np.zeros(ct.shape, np.float32)
    theta = np.arange(n_angles) * (180.0 / n_angles)
    ni, nj = ct.shape[:2]
    n = max(ni, nj)
    for k in np.flatnonzero(metal.any(axis=(0, 1))):
        mu = np.zeros((n, n), np.float64)
        mu[:ni, :nj] = np.clip(MU_WATER_PER_MM * (1.0 + ct[:, :, k] / 1000.0), 0, None) * sp
        m = np.zeros((n, n), np.float64)
        m[:ni, :nj] = metal[:, :, k] * metal_mu_per_mm * sp
        p_tissue = radon(mu, theta, circle=False)
        p_metal = radon(m, theta, circle=False)
        p_exact = p_tissue + p_metal
        p_bh = p_tissue + p_sat * (1.0 - np.exp(-p_metal / p_sat))
        counts = np.maximum(rng.poisson(n0_photons * np.exp(-p_bh)), 1)
        p_meas = -np.log(counts / n0_photons)
        # the exact sinogram's own photon noise on rays without metal is the scan's
        # noise (already in ct): reconstruct only what the metal rays add
        err = np.where(p_metal > 0, p_meas - p_exact, 0.0)
        rec = iradon(err, theta, filter_name="ramp", circle=False, output_size=n)
        d_hu = (rec[:ni, :nj] / sp / MU_WATER_PER_MM * 1000.0).astype(np.float32)
        art[:, :, k] = d_hu
        out[:, :, k] += d_hu
    out[metal] = metal_hu
    return np.clip(np.rint(out), -1024, 3071).astype(np.int16), art
