"""MR alone: the brain / CSF split half-way between the CSF the brain encloses and the
grey matter (``segment.mr._csf_grey_boundary``).

On an adult T1 the head's darkest class is bone and air, darker than CSF, so its
dark/bright boundary (``t_dark``) read most of the cavity's CSF as brain (Colin27 twins:
``t_dark`` 45, truth CSF median 54; CSF Dice 0.288). Generated values with known levels:
a brain core of grey (80) and white (110) matter, a grown brain that encloses pure CSF
(35) in two ventricles.
"""

from __future__ import annotations

import numpy as np

from twinsep.segment import mr as M
from twinsep.segment.params import MRParams

SP = (1.5, 1.5, 1.5)
GREY, WHITE, CSF, T_DARK = 80.0, 110.0, 35.0, 45.0


def _brain(ventricle_mm: float, csf: float = CSF) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T1, core, grown): a 60 mm ball of grey over white matter with two ventricles of
    radius ``ventricle_mm`` holding ``csf``; Gaussian noise of 3."""
    shape = (60, 60, 60)
    x, y, z = (np.indices(shape).astype(float) - 29.5) * SP[0]
    r = np.sqrt(x**2 + y**2 + z**2)
    img = np.where(r < 30.0, GREY, 0.0)
    img[r < 22.0] = WHITE
    vent = np.zeros(shape, bool)
    for dx in (-10.0, 10.0):
        vent |= np.sqrt((x - dx) ** 2 + y**2 + z**2) < ventricle_mm
    img[vent] = csf
    img = img + np.random.default_rng(0).normal(0.0, 3.0, shape)
    grown = (r < 30.0) & ~vent
    core = (r < 27.0) & ~vent  # the deep brain: white matter and the inner grey
    return img.astype(np.float32), core, grown


def test_level_is_half_way_between_enclosed_csf_and_grey() -> None:
    img, core, grown = _brain(6.0)  # two ventricles of 0.9 mL
    level, vals = M._csf_grey_boundary(img, core, grown, T_DARK, SP, MRParams(csf_level_min_ml=1.0))
    # grey is the darker class of the core's grey and white matter; measured 57.4 for 57.5
    assert abs(level - 0.5 * (CSF + GREY)) <= 2.0
    # the pure CSF it was read from (segment.mr_layer's reference): the ventricles'
    # interiors, CSF 35 with noise 3
    assert vals is not None and abs(float(np.median(vals)) - CSF) <= 1.0


def test_too_little_enclosed_csf_keeps_the_dark_split() -> None:
    img, core, grown = _brain(6.0)
    level, vals = M._csf_grey_boundary(img, core, grown, T_DARK, SP, MRParams(csf_level_min_ml=5.0))
    assert level == T_DARK and vals is None


def test_enclosed_voxels_not_darker_than_grey_keep_the_dark_split() -> None:
    """What the brain encloses is no CSF (a bright nucleus read as a hole): no level."""
    img, core, grown = _brain(8.0, csf=95.0)
    level, vals = M._csf_grey_boundary(img, core, grown, T_DARK, SP, MRParams())
    assert level == T_DARK and vals is None
