"""The body's half-filled edge voxels: tissue, not air, when the noise cannot tell.

DESIGN's truth convention is the voxel centre: a voxel whose centre lies in the body is
tissue. A voxel the surface crosses holds a mix of air and the tissue under it, and
one whose centre lies on the surface is half filled: it reads midway between air and
that tissue, the body threshold of ``segment.ct`` (midway between the air and
soft-tissue peaks). Half-filled voxels are therefore decided by the noise, and a
renderer (or scanner) whose partial volume comes in coarse steps makes many voxels
exactly half filled, their centres on either side of the surface. Read at the body
threshold alone, every such voxel whose noise falls below it is air: on the outside
probe's phantoms (2 x 2 x 2 sub-samples per voxel) 5-7 % of the skin's outer layer,
0.5 % of all tissue far from the union (docs/segmentation.md, "The skin's outer
voxels").

A voxel beside the body (face-adjacent to a voxel above the body threshold) whose
smoothed value lies less than ``skin_edge_noise_k`` noise sigmas below the threshold
cannot be told from a half-filled one; it is taken as tissue. This decides ties toward
the body, the side the skin is on (the plastic surgeons close the wound with it): the
edge moves out by at most ``k sigma / (soft - air)`` of a voxel (about 0.02 voxel at
15-20 HU of noise), never by a voxel. Only the one layer beside the body is read, so
the table, head holder and tubes that ``segment.ct._body_mask`` cut off stay off (their
own voxels lie above the threshold, not in this band), and air deeper than one voxel in
sinuses, airway and lungs stays air.

Off by default (``skin_edge_noise_k`` = 0): at k = 1 the outside probe's twin accuracy
rose to 0.9974-0.9990 with soft Dice unchanged, but ``fusion.axes`` then took the
flattened underside of a no-neck head for a scan cut and the plan was refused as out
of scope (session 30; docs/segmentation.md). With k = 0 the band is empty and the
labels are those of the body threshold alone, byte for byte.
"""

from __future__ import annotations

import numpy as np


def half_filled_edge(
    sm: np.ndarray,
    body: np.ndarray,
    *,
    t_body: float,
    noise_hu: float,
    noise_k: float,
) -> np.ndarray:
    """Voxels beside ``body`` whose value cannot be told from a half-filled voxel.

    Parameters
    ----------
    sm : ndarray, shape (I, J, K)
        The smoothed CT (HU) the body threshold is read on.
    body : ndarray of bool, shape (I, J, K)
        The body: voxels above ``t_body`` (less what is not body: table, holder).
    t_body : float
        The body threshold (HU): the value of a half-filled voxel.
    noise_hu : float
        The noise sigma of ``sm`` (HU).
    noise_k : float
        How many noise sigmas below ``t_body`` a voxel may read and still be a tie.

    Returns
    -------
    ndarray of bool, shape (I, J, K)
        Voxels not in ``body``, face-adjacent to it, with
        ``t_body - noise_k * noise_hu < sm <= t_body``.
    """
    lo = t_body - noise_k * max(float(noise_hu), 0.0)
    band = (sm > lo) & (sm <= t_body) & ~body
    if not band.any():
        return band
    # face-adjacent to the body: the band's voxels with a body voxel one step along an axis
    beside = np.zeros_like(band)
    for ax in range(3):
        n = band.shape[ax]
        lo_s = [slice(None)] * 3
        hi_s = [slice(None)] * 3
        lo_s[ax], hi_s[ax] = slice(0, n - 1), slice(1, n)
        beside[tuple(lo_s)] |= body[tuple(hi_s)]
        beside[tuple(hi_s)] |= body[tuple(lo_s)]
    return band & beside
