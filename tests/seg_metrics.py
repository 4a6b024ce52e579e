"""Overlap metrics shared by the segmentation tests."""

from __future__ import annotations

import numpy as np


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice coefficient of two boolean masks (0 when both are empty)."""
    return float(2 * (a & b).sum() / max(a.sum() + b.sum(), 1))
