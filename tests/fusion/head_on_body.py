"""A generated head on its body, in the head's own frame (test fixture).

Shared by ``test_axes_body_in_scan`` and ``test_axes_side_trunk``: world-mm shapes, no
``twinsep.phantom`` code.
"""

from __future__ import annotations

import numpy as np


def head_on_body(loc: np.ndarray, shoulders_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Labels 0-4 at points given in the head's frame, and their distance from its centre.

    Parameters
    ----------
    loc : (n, 3) float
        Points (mm) in the head's frame: x lateral, y toward the face, z toward the
        vertex, the head centre at the origin.
    shoulders_mm : float
        How far below the centre the trunk starts (the arms 10 mm lower).

    Returns
    -------
    labels : (n,) int
        Brain (3) within 45 mm, CSF (4) to 48, bone (2) to 52, scalp (1) to 58; nose,
        chin and ears (1); a neck 17 mm in radius, 4 mm behind the centre, from 15 mm
        below it; the trunk (60 x 38 mm half-widths, 4 mm behind) from ``shoulders_mm``
        below; two arms (16 mm radius, 75 mm to either side) from 10 mm lower; 0 outside.
    rr : (n,) float
        Distance (mm) from the head centre.
    """
    rr = np.linalg.norm(loc, axis=1)
    soft = rr <= 58.0
    soft |= (np.hypot(loc[:, 0], loc[:, 1] + 4.0) <= 17.0) & (loc[:, 2] <= -15.0)
    soft |= np.linalg.norm((loc - [0, 36.0, -12.0]) / [7.0, 10.0, 9.0], axis=1) <= 1
    soft |= np.linalg.norm((loc - [0, 26.0, -38.0]) / [16.0, 12.0, 9.0], axis=1) <= 1
    for side in (-1.0, 1.0):
        soft |= np.linalg.norm((loc - [side * 40.0, -2.0, -6.0]) / [5.0, 8.0, 12.0], axis=1) <= 1
        arm = np.hypot(loc[:, 0] - side * 75.0, loc[:, 1]) <= 16.0
        soft |= arm & (loc[:, 2] <= -shoulders_mm - 10.0)
    trunk = np.hypot(loc[:, 0] / 60.0, (loc[:, 1] + 4.0) / 38.0) <= 1.0
    soft |= trunk & (loc[:, 2] <= -shoulders_mm)
    lab = np.where(soft, 1, 0)
    lab = np.where(rr <= 52.0, 2, lab)
    lab = np.where(rr <= 48.0, 4, lab)
    return np.where(rr <= 45.0, 3, lab), rr
