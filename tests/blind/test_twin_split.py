"""The blind scorer's twin accuracy parted into tissue labelled air and ownership
(``blind.score.twin_split``), on a hand-made truth and plan of known counts."""

from __future__ import annotations

import numpy as np
import pytest

from blind.score import twin_split


def test_air_and_ownership_are_counted_apart() -> None:
    # 100 true tissue voxels: 60 of twin A, 40 of twin B
    t_tw = np.array([1] * 60 + [2] * 40, np.uint8)
    p_lab = np.ones(100, np.uint8)
    p_tw = t_tw.copy()
    p_lab[:5] = 0  # 5 of A's voxels labelled air by the plan (no owner) ...
    p_tw[:5] = 0
    p_tw[60:62] = 1  # ... 2 of B's given to A ...
    p_tw[62] = 0  # ... and one tissue voxel left without an owner
    scored = np.ones(100, bool)
    air, owned = twin_split(t_tw, p_tw, p_lab, scored)
    assert air == 5 / 100
    assert owned == (95 - 3) / 95
    # the twin accuracy is the two parts together
    acc = float((p_tw == t_tw).mean())
    assert acc == 0.92
    assert (1 - air) * owned == pytest.approx(acc, abs=1e-12)


def test_nothing_to_count() -> None:
    z = np.zeros(4, np.uint8)
    assert twin_split(z, z, z, np.zeros(4, bool)) == (None, None)
    # every scored voxel labelled air: no ownership to judge
    assert twin_split(z + 1, z, z, np.ones(4, bool)) == (1.0, None)
