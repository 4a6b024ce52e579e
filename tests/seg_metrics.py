"""Overlap metrics shared by the segmentation tests."""

from __future__ import annotations

import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (0 when both are empty)."""
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def far_from_boundary(
    truth_twins: np.ndarray,
    pred_twins: np.ndarray,
    spacing_mm: tuple[float, float, float],
    band_mm: float = 15.0,
) -> np.ndarray:
    """Voxels owned in both maps and more than ``band_mm`` from the true twin boundary.

    The issue-4 twin-assignment score counts only these: the boundary inside the bridge
    is decided later by the separation surface.
    """
    from twinsep.segment import morph

    a, b = truth_twins == 1, truth_twins == 2
    d = np.where(a, morph.distance_to_mm(b, spacing_mm), morph.distance_to_mm(a, spacing_mm))
    out: np.ndarray = (truth_twins > 0) & (pred_twins > 0) & (d > band_mm)
    return out
