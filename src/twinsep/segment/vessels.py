"""Contrast detection and a Hessian tubularity test for vessels and sinuses.

A bright voxel is taken as contrast-filled blood only if the image around it is a
bright *tube or blob* at some scale: both larger Hessian eigenvalues negative and of
comparable size (Frangi et al., MICCAI 1998, ratio ``R_A``). The partial-volume rim of a
bone plate is plate-like (one large eigenvalue) or convex-outward (a positive one), so
it fails the test and stays bone.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment.morph import Spacing


def tubular_mask(
    image: np.ndarray,
    candidates: np.ndarray,
    spacing_mm: Spacing,
    sigmas_mm: tuple[float, ...],
    ratio_min: float,
) -> np.ndarray:
    """Which candidate voxels are bright tubes or blobs at one of the scales.

    Parameters
    ----------
    image : (I, J, K) ndarray
        Intensities (float32), bright vessels on a darker background.
    candidates : (I, J, K) ndarray of bool
        Voxels to test (the Hessian is evaluated only there).
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    sigmas_mm : tuple of float
        Gaussian scales (mm).
    ratio_min : float
        Minimum ``|lambda2| / |lambda3|`` (eigenvalues sorted by magnitude).

    Returns
    -------
    ndarray of bool
        True at candidates that pass at any scale.
    """
    out = np.zeros(image.shape, bool)
    idx = np.argwhere(candidates)
    if idx.size == 0:
        return out
    lo = idx.min(axis=0)
    hi = idx.max(axis=0) + 1
    passed = np.zeros(len(idx), bool)
    sp = np.asarray(spacing_mm, float)
    for sigma in sigmas_mm:
        # Work on a grid whose voxel is at most sigma/2: larger scales are computed on a
        # block-averaged image (cheap), smaller ones at full resolution.
        f = np.maximum(1, np.floor(sigma / (2.0 * sp))).astype(int)
        margin = np.ceil(4 * sigma / sp).astype(int) + f
        a0 = np.maximum(lo - margin, 0)
        a1 = np.minimum(hi + margin, image.shape)
        sub = image[a0[0] : a1[0], a0[1] : a1[1], a0[2] : a1[2]].astype(np.float32)
        if (f > 1).any():
            pads = [(0, (-n) % k) for n, k in zip(sub.shape, f, strict=True)]
            sub = np.pad(sub, pads, mode="edge")
            s = sub.shape
            sub = sub.reshape(s[0] // f[0], f[0], s[1] // f[1], f[1], s[2] // f[2], f[2]).mean(
                axis=(1, 3, 5)
            )
        csp = sp * f
        g = ndi.gaussian_filter(sub, sigma=sigma / csp, mode="nearest")
        # Hessian by central differences at the candidate voxels only (mm^-2 units).
        p = (idx - a0) // f
        p = np.clip(p, 1, np.array(g.shape) - 2)
        h = np.empty((len(p), 3, 3), np.float32)
        c = g[p[:, 0], p[:, 1], p[:, 2]]
        unit = np.eye(3, dtype=int)
        for a in range(3):
            ea = unit[a]
            fp = g[tuple((p + ea).T)]
            fm = g[tuple((p - ea).T)]
            h[:, a, a] = (fp - 2 * c + fm) / csp[a] ** 2
            for b in range(a + 1, 3):
                eb = unit[b]
                v = (
                    g[tuple((p + ea + eb).T)]
                    - g[tuple((p + ea - eb).T)]
                    - g[tuple((p - ea + eb).T)]
                    + g[tuple((p - ea - eb).T)]
                ) / (4 * csp[a] * csp[b])
                h[:, a, b] = v
                h[:, b, a] = v
        ev = np.linalg.eigvalsh(h)
        order = np.argsort(np.abs(ev), axis=1)
        ev = np.take_along_axis(ev, order, axis=1)
        l2, l3 = ev[:, 1], ev[:, 2]
        ra = np.abs(l2) / np.maximum(np.abs(l3), 1e-9)
        passed |= (l2 < 0) & (l3 < 0) & (ra >= ratio_min)
    out[tuple(idx[passed].T)] = True
    return out


def contrast_fraction(
    enhanced: np.ndarray,
    space: np.ndarray,
    dense_bone: np.ndarray,
    spacing_mm: Spacing,
    away_mm: float = 1.0,
) -> float:
    """Fraction of ``space`` taken by ``enhanced`` voxels at least ``away_mm`` from
    dense bone (so partial volume of the skull does not count as contrast)."""
    from twinsep.segment.morph import dilate_mm

    n = int(space.sum())
    if n == 0:
        return 0.0
    near_bone = dilate_mm(dense_bone, away_mm, spacing_mm) if dense_bone.any() else dense_bone
    return float((enhanced & space & ~near_bone).sum()) / n
