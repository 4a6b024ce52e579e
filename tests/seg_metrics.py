"""Overlap metrics shared by the segmentation tests."""

from __future__ import annotations

import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (0 when both are empty)."""
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))


def tissue_dice(truth_labels: np.ndarray, pred_labels: np.ndarray) -> dict[str, float]:
    """Dice per tissue label (``twinsep.labels.TISSUE_NAMES``) of two label maps."""
    from twinsep import labels as L

    return {n: dice(truth_labels == v, pred_labels == v) for v, n in L.TISSUE_NAMES.items()}


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


def twin_scores(
    truth_twins: np.ndarray, pred_twins: np.ndarray, spacing_mm: tuple[float, float, float]
) -> tuple[float, float]:
    """Issue-4 twin scores outside the 15 mm band: the share of voxels given to the right
    twin, and the share of the true twin A's voxels labelled A (the DESIGN A/B rule)."""
    m = far_from_boundary(truth_twins, pred_twins, spacing_mm)
    acc = float((pred_twins[m] == truth_twins[m]).mean())
    a_kept = float((pred_twins[m & (truth_twins == 1)] == 1).mean())
    return acc, a_kept
