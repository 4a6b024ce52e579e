"""Minimum wall thickness of a printed part, checked and enforced on the label mask.

A region is thinner than ``min_wall_mm`` where no ball of diameter ``min_wall_mm`` that
lies inside the mask covers it, i.e. outside the morphological opening of the mask by
that ball. The opening is computed with two Euclidean distance transforms in mm
(``edt`` honours anisotropic voxels). Thin voxels are thickened by dilating them by
the ball radius, which makes a wall of thickness ``t`` at least ``t + min_wall_mm``
thick there and leaves the rest of the part untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["WallCheck", "thin_voxels", "thicken"]


@dataclass(frozen=True)
class WallCheck:
    """Outcome of the wall-thickness check of one part.

    Parameters
    ----------
    min_wall_mm : float
        The thickness required, mm.
    thin_voxels : int
        Voxels of the input mask thinner than ``min_wall_mm``.
    added_ml : float
        Volume added by thickening, mL.
    thin_voxels_after : int
        Thin voxels left after thickening (0 unless the grid is too coarse to tell).
    """

    min_wall_mm: float
    thin_voxels: int
    added_ml: float
    thin_voxels_after: int


def _edt_mm(mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """Distance (mm) from each True voxel to the nearest False voxel."""
    import edt

    return np.asarray(
        edt.edt(
            np.ascontiguousarray(mask, dtype=np.uint8), anisotropy=spacing_mm, black_border=False
        ),
        dtype=np.float32,
    )


def thin_voxels(
    mask: npt.NDArray[np.bool_], spacing_mm: tuple[float, float, float], min_wall_mm: float
) -> np.ndarray:
    """Voxels of ``mask`` not covered by any inscribed ball of diameter ``min_wall_mm``.

    Parameters
    ----------
    mask : (I, J, K) bool ndarray
        The part (should have a background border of at least ``min_wall_mm``).
    spacing_mm : length-3 tuple of float
        Voxel size along i, j, k, mm.
    min_wall_mm : float
        Required thickness, mm.

    Returns
    -------
    (I, J, K) bool ndarray
    """
    r = 0.5 * float(min_wall_mm)
    if r <= 0 or not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    # The distance transform measures to the nearest background voxel *centre*, half a
    # voxel beyond the object's surface: a ball of radius r fits around voxels whose
    # distance is >= r + half a voxel, and it reaches every voxel whose centre is within
    # r + half a voxel of such a centre (the ball overlaps that voxel's half).
    half_vx = 0.5 * min(spacing_mm)
    depth = _edt_mm(mask, spacing_mm)
    centres = depth >= r + half_vx - 1e-6
    if not centres.any():
        return np.asarray(mask, dtype=bool).copy()
    dist_to_centre = _edt_mm(~centres, spacing_mm)
    covered = dist_to_centre <= r + half_vx + 1e-6
    return np.asarray(mask, dtype=bool) & ~covered


def thicken(
    mask: npt.NDArray[np.bool_],
    spacing_mm: tuple[float, float, float],
    min_wall_mm: float,
) -> tuple[np.ndarray, WallCheck]:
    """Thicken the thin parts of ``mask`` so that every wall is at least ``min_wall_mm``.

    The input is not modified. The caller must leave a background margin of
    ``min_wall_mm`` plus one voxel around the mask so that the dilation fits.

    Returns
    -------
    thick : (I, J, K) bool ndarray
    check : WallCheck
    """
    m = np.asarray(mask, dtype=bool)
    vox_ml = float(np.prod(spacing_mm)) / 1000.0
    thin = thin_voxels(m, spacing_mm, min_wall_mm)
    n_thin = int(thin.sum())
    if n_thin == 0:
        return m.copy(), WallCheck(float(min_wall_mm), 0, 0.0, 0)
    r = 0.5 * float(min_wall_mm) + 0.5 * min(spacing_mm)
    grow = _edt_mm(~thin, spacing_mm) <= r + 1e-6
    thick = m | grow
    after = int(thin_voxels(thick, spacing_mm, min_wall_mm).sum())
    added = float((thick.sum() - m.sum()) * vox_ml)
    logger.debug("thickened %d thin voxels (+%.2f mL, %d left)", n_thin, added, after)
    return thick, WallCheck(float(min_wall_mm), n_thin, added, after)
