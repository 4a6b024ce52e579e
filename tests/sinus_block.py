"""The sinus rule on a hand-built block: the thresholds a CT with soft tissue at
``soft_hu`` would get, shared by the vessel tests that build their own geometry."""

from __future__ import annotations

import numpy as np

from twinsep.segment.params import VesselParams
from twinsep.segment.vessels import SinusResult, sinus_mask


def sinus_on_block(
    sm: np.ndarray,
    cavity: np.ndarray,
    body: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    soft_hu: float,
    params: VesselParams | None = None,
    noise_hu: float = 0.0,
) -> SinusResult:
    """Run :func:`sinus_mask` on a smoothed block.

    Bright (bone) is ``sm >= soft + 110 HU``; the contrast band starts 90 HU above
    soft tissue, blood ends 440 HU above it and dense bone starts 600 HU above it
    (the levels ``segment_ct`` derives for a typical contrast CT). The cranial cavity
    handed to the rule is ``cavity`` less the bright voxels.
    """
    bright = sm >= soft_hu + 110.0
    return sinus_mask(
        sm,
        cavity & ~bright,
        bright,
        spacing_mm,
        t_contrast_hu=soft_hu + 90.0,
        t_vessel_max_hu=soft_hu + 440.0,
        t_dense_hu=soft_hu + 600.0,
        soft_hu=soft_hu,
        params=VesselParams() if params is None else params,
        noise_hu=noise_hu,
        body=body,
    )
