"""MR alone: the CSF/grey level that splits the cranial cavity, read from the cavity's
own three-class mixture when its lowest class is the CSF (``segment.mr._cavity_csf_grey``).

The level is half-way between the CSF the brain encloses and the grey matter. Read from
the brain core's darker class, the grey carried the deep grey nuclei and the grey/white
partial volume on the blind MR phantom (513-542 for its grey 470), the level lay 25-40
above the true midpoint and voxels mostly grey matter at the cortex's edge were CSF
(``tests/blind/test_blind_mr.py``: MR-alone CSF on the 2 mm T1 0.782, now 0.815; truth
brain called CSF 2.8 k -> 0.5 k voxels). Here
the rule on generated values: the blind phantom's classes, Colin27's (whose lowest
class is partial volume, 64 for a CSF of 30), a cavity without a CSF class, and a middle
class brighter than the core's grey.
"""

from __future__ import annotations

import numpy as np

from twinsep.segment.mr import _cavity_csf_grey
from twinsep.segment.params import MRParams


def _values(classes: list[tuple[float, float, float]], n: int = 60_000) -> np.ndarray:
    """``n`` values from a mixture of (mean, sigma, weight) classes (seeded)."""
    rng = np.random.default_rng(3)
    parts = [rng.normal(m, s, int(round(w * n))) for m, s, w in classes]
    return np.concatenate(parts).astype(np.float32)


CSF_BLIND = np.random.default_rng(4).normal(148.0, 12.0, 4000)
CSF_COLIN = np.random.default_rng(5).normal(30.0, 4.0, 4000)


def test_blind_phantom_classes_give_the_true_midpoint() -> None:
    """CSF 150 (16 %), grey 470 (32 %), white 650 (52 %): the cavity's middle class is the
    grey, the level (148 + 470) / 2 = 309 instead of the core's 334 (its grey 520)."""
    cavity = _values([(150.0, 15.0, 0.16), (470.0, 25.0, 0.32), (650.0, 20.0, 0.52)])
    level, doubt = _cavity_csf_grey(cavity, CSF_BLIND, 334.0, MRParams())
    assert doubt is None
    assert abs(level - 309.0) <= 4.0, level


def test_partial_volume_lowest_class_keeps_the_core_level() -> None:
    """Colin27's cavity (measured classes 63.6 / 90.2 / 111.9, weights 0.24 / 0.54 / 0.23;
    enclosed CSF 30.3): the lowest class lies nearer the grey than the CSF, so it is
    partial volume, not CSF, and the level stays (a middle class of 90 would have moved
    it to 60)."""
    cavity = _values([(64.0, 10.0, 0.24), (90.0, 8.0, 0.54), (112.0, 4.0, 0.23)])
    assert _cavity_csf_grey(cavity, CSF_COLIN, 59.1, MRParams()) == (59.1, None)


def test_cavity_without_csf_keeps_the_core_level() -> None:
    """Grey and white matter only (a cavity with too little CSF for a class): the
    mixture's lowest class is grey matter, and grey must not set the CSF level."""
    cavity = _values([(470.0, 25.0, 0.45), (650.0, 20.0, 0.55)])
    assert _cavity_csf_grey(cavity, CSF_BLIND, 309.0, MRParams()) == (309.0, None)


def test_level_only_moves_down() -> None:
    """A middle class brighter than the core's grey (here 560 against 470) is not taken:
    the level stays the core's."""
    cavity = _values([(150.0, 15.0, 0.16), (560.0, 25.0, 0.32), (700.0, 20.0, 0.52)])
    assert _cavity_csf_grey(cavity, CSF_BLIND, 309.0, MRParams()) == (309.0, None)
