"""The Hessian tube test of the vessel rule.

The tube test (:func:`tubular_mask`): a bright voxel is taken as contrast-filled blood
only if the image around it is a bright *tube or blob* at some scale: both larger
Hessian eigenvalues negative and of comparable size (Frangi et al., MICCAI 1998, ratio
``R_A``). The partial-volume rim of a bone plate is plate-like (one large eigenvalue)
or convex-outward (a positive one), so it fails the test and stays bone.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment.morph import Spacing
from twinsep.segment.vessels.grid import _block_mean


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
        Voxels to test (the Hessian is evaluated only there, and the Gaussian only on
        the candidates' bounding box grown by four sigmas).
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
        f = np.where(np.array(sub.shape) >= f, f, 1)  # a thin slab keeps its voxels
        if (f > 1).any():
            sub = _block_mean(sub, (int(f[0]), int(f[1]), int(f[2])))
        csp = sp * f
        g = ndi.gaussian_filter(sub, sigma=sigma / csp, mode="nearest")
        # Hessian by central differences at the candidate voxels only (mm^-2 units); the
        # edge-padded border gives every voxel its neighbours, also on a thin slab.
        p = np.minimum((idx - a0) // f, np.array(g.shape) - 1) + 1
        g = np.pad(g, 1, mode="edge")
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
