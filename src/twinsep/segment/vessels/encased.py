"""Cancellous bone inside a cortex is no vessel (:func:`bone_encased`): the rule for
vessel pieces outside the cranial cavity (infant vertebral bodies, the mandible's
marrow) whose value lies in the band of enhanced blood.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.vessels.grid import _dilate_faces

logger = logging.getLogger(__name__)


def bone_encased(
    pieces: np.ndarray,
    sm: np.ndarray,
    bone: np.ndarray,
    *,
    soft_hu: float,
    noise_hu: float,
    shell_fraction: float,
    shell_share: float,
    wall_fraction: float,
    min_interior: int,
) -> np.ndarray:
    """Pieces of ``pieces`` that are cancellous bone inside a cortex, not blood.

    Blood in a lumen is one fluid: its value is highest inside and falls through the
    partial volume of its edge to the tissue around. Cancellous bone (infant vertebral
    bodies and the mandible's marrow at 150-400 HU, in the band of enhanced blood) is
    walled by cortex, which is brighter than the marrow. So a piece (26-connected) is
    bone when either

    * at least ``shell_share`` of its border layer (voxels with a face neighbour outside
      it; at least three voxels) is brighter than its interior (voxels whose six face
      neighbours are in it; at least ``min_interior``) can be: above the interior's
      median by ``shell_fraction`` of its excess over soft tissue and by three noise
      sigmas. That is a cortex thinner than a voxel, blurred into the piece: a
      vertebral body of 300 HU inside a 700 HU cortex read 300 HU inside and 400-450 HU
      at part of its edge on 2.9 mm voxels; a vessel's border reads less than its
      inside, and above that margin only by noise (0.13 %), or
    * at least ``wall_fraction`` of the voxels just outside it (face neighbours) are in
      ``bone`` (dense bone and its partial-volume rim): a resolved cortex all around.
      A vessel beside a plate or through a foramen is walled by bone on one side or
      for a short stretch.

    Parameters
    ----------
    pieces : ndarray of bool
        Candidate vessel voxels.
    sm : ndarray
        Smoothed CT (HU).
    bone : ndarray of bool
        Voxels that are bone or hold it (the bone core, its rim, anything brighter than
        blood can be).
    soft_hu : float
        Soft-tissue peak (HU).
    noise_hu : float
        Noise sigma (HU) of ``sm`` (0 on a work grid of block means).
    shell_fraction : float
        Margin of the border over the interior, as a share of the interior's
        enhancement (``VesselParams.ext_shell_fraction``).
    shell_share : float
        Share of the border above that margin that makes a piece bone
        (``VesselParams.ext_shell_share``).
    wall_fraction : float
        Share of the outside neighbours in ``bone`` that makes a piece encased
        (``VesselParams.ext_encased_wall_fraction``; above 1 turns the test off).
    min_interior : int
        Fewest interior voxels for the border test (fewer: the piece is too thin to
        have an inside, and only the wall test applies).

    Returns
    -------
    ndarray of bool
        The voxels of the pieces found to be bone.
    """
    lab, sizes = morph.component_sizes(pieces)
    n = sizes.size + 1
    if n == 1:
        return np.zeros_like(pieces)
    faces = ndi.generate_binary_structure(3, 1)
    # interior: all six face neighbours in the piece (nothing beyond the array)
    inner = ndi.binary_erosion(pieces, structure=faces, border_value=0)
    border = pieces & ~inner
    drop = np.zeros(n, bool)
    li, lb = lab[inner], lab[border]
    vi, vb = sm[inner], sm[border]
    count_i = np.bincount(li, minlength=n)
    for i in np.flatnonzero(count_i >= max(min_interior, 1)):
        mid = float(np.median(vi[li == i]))
        top = mid + max(shell_fraction * (mid - soft_hu), _SHELL_NOISE_K * max(noise_hu, 0.0))
        shell = vb[lb == i] > top
        drop[i] = int(shell.sum()) >= max(_SHELL_MIN_VX, shell_share * shell.size)
    if wall_fraction <= 1.0:
        ring = _dilate_faces(pieces) & ~pieces
        # the piece each outside voxel borders (the largest label among its faces; its
        # own label is 0)
        near = ndi.maximum_filter(lab, footprint=faces, mode="constant", cval=0)
        lr = near[ring]
        wall_n = np.bincount(lr, minlength=n)
        wall_b = np.bincount(lr[bone[ring]], minlength=n)
        drop |= (wall_n > 0) & (wall_b >= wall_fraction * wall_n)
    drop[0] = False
    if drop[1:].any():
        logger.debug(
            "vessel candidates in soft tissue: %d of %d pieces (%d voxels) encased in bone "
            "(a brighter shell or a bone wall): cancellous bone, not blood",
            int(drop.sum()), n - 1, int(sizes[drop[1:]].sum()),
        )  # fmt: skip
    out: np.ndarray = drop[lab]
    return out


_SHELL_NOISE_K = 3.0
"""Noise sigmas above a piece's interior median that a border voxel must exceed to count
as cortex in :func:`bone_encased` (one-sided 3 sigma: 0.13 % of a vessel's border)."""


_SHELL_MIN_VX = 3
"""Fewest cortex voxels on a piece's border for :func:`bone_encased` to call it bone."""
