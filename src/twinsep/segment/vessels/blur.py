"""The scan's blur along each array axis, read off the inner table's edge.

A scanner's point spread and a thick slice's profile spread the bone's value into the
voxels beside it; how far differs per axis (a 5 mm slice, a reformatted series). The
pooled profile across the inner table of edges facing along each axis
(:func:`twinsep.segment.kernel.axis_profiles`) is fitted past its peak by a blurred step
``bg + (P - bg) Phi((t0 - d) / w)``; ``w`` (mm) is that axis's edge spread. It includes
the voxel's own footprint and the light smoothing of the CT it is measured on, which is
what the vessel rules read. On the probe union at 2.5 mm, ``w`` reads 1.25 / 1.87 / 2.09
mm for a Gaussian PSF of sigma 1.25 / 1.63 / 2.0 mm (docs/segmentation.md, session 29).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.optimize import least_squares
from scipy.special import ndtr

from twinsep.segment.kernel import axis_profiles
from twinsep.segment.morph import Spacing
from twinsep.segment.params import KernelParams

logger = logging.getLogger(__name__)


def _step(p: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Blurred step ``bg + (top - bg) Phi((t0 - d) / w)``; ``p = (top, bg, t0, w)``."""
    top, bg, t0, w = p
    return np.asarray(bg + (top - bg) * ndtr((t0 - d) / w))


def step_width(depth: np.ndarray, profile: np.ndarray, params: KernelParams) -> float:
    """Width ``w`` (mm) of a blurred step fitted to ``profile`` past its peak.

    The peak is the profile's largest value at depths up to 0.5 mm (the inner table);
    the fit runs from there to the end of the profile, the step's foot bounded to lie
    before the brain plateau (``params.plateau_mm``).
    """
    ipk = int(np.argmax(np.where(depth <= 0.5, profile, -np.inf)))
    sel = depth >= depth[ipk]
    d, m = depth[sel], profile[sel].astype(np.float64)
    plat = (depth >= params.plateau_mm[0]) & (depth <= params.plateau_mm[1])
    bg0 = float(np.mean(profile[plat]))
    top0 = float(m[0])
    p0 = np.array([top0 + 50.0, bg0, d[0] + 0.5, 0.8])
    lo = np.array([bg0, bg0 - 100.0, d[0], 0.05])
    hi = np.array([5000.0, bg0 + 100.0, params.plateau_mm[0], 5.0])
    p0 = np.clip(p0, lo + 1e-6, hi - 1e-6)
    fit = least_squares(lambda p: _step(p, d) - m, p0, bounds=(lo, hi))
    return float(fit.x[3])


def edge_widths(
    sm: np.ndarray,
    bone: np.ndarray,
    cavity: np.ndarray,
    spacing_mm: Spacing,
    params: KernelParams = KernelParams(),
) -> tuple[float, float, float] | None:
    """Edge spread ``w`` (mm) along each array axis, from the inner table of ``sm``.

    An axis with too few edges facing along it (``params.min_edges``) takes the largest
    of the others (the wider spread is the safer guess for how far bone reaches); None
    when no axis has enough.

    Parameters
    ----------
    sm : ndarray, shape (I, J, K)
        Lightly smoothed CT (HU); read for both the profile and its normals.
    bone, cavity : ndarray of bool, shape (I, J, K)
        Bone and cranial cavity.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    params : KernelParams
        Profile depths, pooling and edge counts.

    Returns
    -------
    (float, float, float) or None
    """
    depth, profiles = axis_profiles(sm, sm, bone, cavity, spacing_mm, params)
    got = [None if p is None else step_width(depth, p, params) for p in profiles]
    known = [w for w in got if w is not None]
    if not known:
        logger.debug("blur: too few inner-table edges to measure the edge spread")
        return None
    fill = max(known)
    w = tuple(fill if g is None else g for g in got)
    logger.debug("blur: inner-table edge spread %.2f / %.2f / %.2f mm per axis", *w)
    return (w[0], w[1], w[2])
