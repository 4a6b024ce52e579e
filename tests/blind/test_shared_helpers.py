"""The helpers the blind layers share (blind.score metrics, phantom3 painters and streaks),
each against values worked out by hand on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from blind.phantom3 import M, _far_outside, _first_wins, clip_hu, metal_streaks
from blind.score import agreement, dice_labels, label_shares, scan_warnings, vessel_keep


def test_dice_labels_plain_ct_leaves_vessels_out() -> None:
    t = np.array([1, 1, 2, 5, 5, 0], dtype=np.uint8)
    p = np.array([1, 2, 2, 5, 1, 0], dtype=np.uint8)
    scored = dice_labels(t, p, vessel_keep(t, True), True)
    # soft: t {0,1}, p {0,4}: 2*1/(2+2); bone: t {2}, p {1,2}: 2*1/3; vessel: 2*1/(2+1)
    assert scored["soft"] == pytest.approx(0.5)
    assert scored["bone"] == pytest.approx(2 / 3)
    assert scored["vessel"] == pytest.approx(2 / 3)
    assert scored["brain"] is None and scored["csf"] is None
    plain = dice_labels(t, p, vessel_keep(t, False), False)
    # the true vessel voxels (3, 4) leave every Dice: soft is t {0,1}, p {0}
    assert plain["soft"] == pytest.approx(2 / 3)
    assert plain["vessel"] is None


def test_agreement_and_shares() -> None:
    t = np.array([1, 1, 1, 2, 2, 2, 2], dtype=np.uint8)
    p = np.array([1, 2, 1, 2, 2, 0, 2], dtype=np.uint8)
    m = np.array([1, 1, 1, 1, 1, 1, 0], dtype=bool)
    assert agreement(p, t, m) == pytest.approx(4 / 6)
    assert agreement(p, t, m, 3) == 0.667
    assert agreement(p, t, np.zeros(7, dtype=bool)) is None
    shares = label_shares(p, m)
    assert shares == {"0": 0.1667, "1": 0.3333, "2": 0.5, "3": 0.0, "4": 0.0, "5": 0.0}
    assert label_shares(p, np.zeros(7, dtype=bool)) == {}


def test_scan_warnings_drops_stage_advice() -> None:
    w = ["models: print at 0.2 mm", "metal in the scan", "schedule: x", "reconstruct: y", 3]
    assert scan_warnings(w) == ["metal in the scan", "3"]


def test_first_wins_and_far_outside() -> None:
    mat, put = _first_wins(4)
    put(np.array([True, True, False, False]), "skin")
    put(np.array([False, True, True, False]), "fat")
    assert mat.tolist() == [M["skin"], M["skin"], M["fat"], -1]
    val = np.array([1.0, 2.0])
    assert _far_outside(val, None, 2) is val
    out = _far_outside(val, np.array([0, 3]), 4)
    assert out[0] == 1.0 and out[3] == 2.0 and out[1] == out[2] == 1.0e4


def test_metal_streaks_one_piece() -> None:
    # a 21 x 21 x 3 grid of 1 mm voxels, one metal voxel at the centre of the middle slice
    ii, jj, kk = np.meshgrid(np.arange(21.0), np.arange(21.0), np.arange(3.0), indexing="ij")
    world = np.stack([ii - 10, jj - 10, kk * 5.0], -1).reshape(-1, 3)
    hu = np.zeros((21, 21, 3))
    metal = np.zeros(hu.shape, dtype=bool)
    metal[10, 10, 1] = True
    assert metal_streaks(hu, np.zeros_like(metal), world, 150.0) is hu
    out = metal_streaks(hu, metal, world, 150.0)
    # only the middle slice (|dz| = 5 mm > the piece's 0 mm + 2 mm) and r > 4 mm change
    assert not out[:, :, 0].any() and not out[:, :, 2].any()
    assert not out[8:13, 8:13, 1].any()
    # (x, y) = (6, 0) mm: angle 0 turned by -0.3 rad (piece 1)
    th = -0.3
    pattern = np.cos(th) ** 40 - 0.6 * np.sin(th) ** 40
    assert out[16, 10, 1] == pytest.approx(-150.0 * pattern * 10.0 / 16.0)
    assert clip_hu(np.array([10.0, 4000.0]), 3071.0).tolist() == [10.0, 3071.0]
    h = np.array([4000.0])
    assert clip_hu(h, None) is h
