"""Whether a voxel grid is sheared (a gantry-tilted stack kept with its tilt).

Every distance in twinsep (distance transforms, depth maps, block grids) is measured
along the array axes with the column lengths of the affine, which is exact only for
orthogonal axes. :func:`check_orthogonal` refuses a sheared grid where such code starts
(segmentation, twin assignment); ``twinsep.io.shear.orthogonal_grid`` resamples one at
load. Pure geometry on the affine: no image I/O, so the stages import it directly.
"""

from __future__ import annotations

import math

import numpy as np

from twinsep.errors import ScanError
from twinsep.volume import spacing_from_affine

__all__ = ["check_orthogonal", "orthogonal_axes", "shear_drift_mm"]


def _frame(m: np.ndarray) -> tuple[int, int, int]:
    """Columns (a, b, c): a, b span the slice planes, c is the stack axis.

    The planes are spanned by the most orthogonal pair of columns. A gantry tilt leaves
    two pairs orthogonal (the row axis is perpendicular to both others); the stack is
    then the longer column, so that the in-plane shifts are interpolated between the
    finer voxels and slices are never mixed.
    """
    norms = np.linalg.norm(m, axis=0)
    cols = m / norms
    pairs = ((0, 1, 2), (0, 2, 1), (1, 2, 0))
    return min(
        pairs,
        key=lambda p: (round(abs(float(cols[:, p[0]] @ cols[:, p[1]])), 6), -float(norms[p[2]])),
    )


def orthogonal_axes(m: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int], float, float]:
    """The orthogonal voxel axes for ``m`` (columns in the array's axis order).

    Returns the new 3x3 axes, the column roles (a, b, c), the tilt angle (deg) and the
    in-plane length of the slice step (mm per slice).
    """
    a, b, c = _frame(m)
    ea = m[:, a] / np.linalg.norm(m[:, a])
    vb = m[:, b] - (m[:, b] @ ea) * ea
    eb = vb / np.linalg.norm(vb)
    n = np.cross(ea, eb)
    along = float(m[:, c] @ n)
    if along < 0:
        n, along = -n, -along
    side = float(np.linalg.norm(m[:, c] - along * n))
    tilt = math.degrees(math.atan2(side, along))
    out = np.empty((3, 3))
    out[:, a] = ea * np.linalg.norm(m[:, a])
    out[:, b] = eb * np.linalg.norm(m[:, b])
    out[:, c] = n * along
    return out, (a, b, c), tilt, side


def shear_drift_mm(affine: np.ndarray, shape: tuple[int, int, int]) -> float:
    """Sideways drift (mm) of the slice positions of a grid over its whole stack.

    Zero for orthogonal axes. For a gantry-tilted stack this is ``(n - 1)`` slices times
    the in-plane length of one slice step.
    """
    m = np.asarray(affine, dtype=np.float64)[:3, :3]
    _, (_, _, c), _, side = orthogonal_axes(m)
    return side * max(shape[c] - 1, 0)


def check_orthogonal(
    affine: np.ndarray,
    shape: tuple[int, int, int],
    source: str,
    *,
    max_fraction_of_voxel: float = 0.5,
) -> None:
    """Refuse a sheared grid in code that measures along the array axes.

    Parameters
    ----------
    affine : (4, 4) ndarray
        Voxel-to-world matrix.
    shape : (3,) tuple of int
        Array shape.
    source : str
        Name of the input, for the message.
    max_fraction_of_voxel : float
        Largest sideways drift of the slices over the stack, as a fraction of the
        smallest voxel size, that is accepted (the half pixel of
        ``LoadParams.tilt_max_fraction_of_pixel``).

    Raises
    ------
    ScanError
        One line naming ``source``, the tilt and the drift, and how to correct it.
    """
    a = np.asarray(affine, dtype=np.float64)
    drift = shear_drift_mm(a, shape)
    if drift <= max_fraction_of_voxel * min(spacing_from_affine(a)):
        return
    _, _, tilt, _ = orthogonal_axes(a[:3, :3])
    raise ScanError(
        source,
        f"the voxel grid is sheared (gantry tilt of about {tilt:.1f}°, slices drift "
        f"{drift:.1f} mm over the stack) and distances are measured along orthogonal voxel "
        "axes; load it with twinsep.io.load_scan, which corrects the tilt, or resample it "
        "with twinsep.io.shear.orthogonal_grid",
    )
