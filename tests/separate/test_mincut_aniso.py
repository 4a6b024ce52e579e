"""The min-cut's coarse pass on thick-slice grids: blocks about as long in mm per axis.

A dumbbell (two blocks joined by a 14 mm cylinder, a short sinus tube along it) on a
0.4 x 0.4 x 2 mm grid, its bridge along the thick-slice axis, is cut with a node budget
small enough to force the coarse-to-fine path and compared with the direct solve.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.fusion import interface_area_mm2
from twinsep.separate import CutParams
from twinsep.separate.mincut import _coarse_factors, min_cut_twins, verify_separation
from twinsep.volume import Volume


def _dumbbell(spacing: tuple[float, float, float], bridge_axis: int):
    """Labels, twins and affine of the dumbbell; the bridge along array axis
    ``bridge_axis``, the twins' boundary the plane across it at its middle."""
    ext = np.roll(np.array([70.0, 54.0, 50.0]), bridge_axis)
    shape = tuple(int(round(e / s)) for e, s in zip(ext, spacing, strict=True))
    aff = np.diag([*spacing, 1.0])
    aff[:3, 3] = -aff[:3, :3] @ ((np.array(shape) - 1) / 2.0)
    xyz = np.indices(shape).reshape(3, -1).T @ aff[:3, :3].T + aff[:3, 3]
    x, y, z = np.roll(xyz, -bridge_axis, axis=1).T  # x along the bridge
    lab = np.zeros(xyz.shape[0], np.uint8)
    blocks = (np.abs(x) >= 20) & (np.abs(x) <= 33) & (np.abs(y) <= 25) & (np.abs(z) <= 22)
    lab[blocks | ((np.abs(x) < 20) & (np.hypot(y, z) <= 14.0))] = 1
    lab[(np.hypot(y - 4.0, z) <= 2.5) & (np.abs(x) <= 6.0)] = 5
    tw = np.where(lab > 0, np.where(x < 0, 1, 2), 0).astype(np.uint8)
    return lab.reshape(shape), tw.reshape(shape), aff


def test_a_bridge_along_the_thick_slices_is_cut_as_by_the_direct_solve() -> None:
    # one factor for all axes (3: 1.2 x 1.2 x 6 mm blocks) cut 765 mm2 against 616 mm2
    lab, tw, aff = _dumbbell((0.4, 0.4, 2.0), bridge_axis=2)
    labels, twins = Volume(lab, aff), Volume(tw, aff)
    direct = min_cut_twins(labels, twins)
    coarse = min_cut_twins(labels, twins, params=CutParams(max_fine_nodes=5_000))
    a_direct = interface_area_mm2(direct.twins == 1, direct.twins == 2, aff)
    a_coarse = interface_area_mm2(coarse.twins == 1, coarse.twins == 2, aff)
    assert a_direct == pytest.approx(np.pi * 14.0**2, rel=0.05)
    assert a_coarse == pytest.approx(a_direct, rel=0.03)
    assert np.unique(coarse.twins[lab == 5]).size == 1  # the sinus is not divided
    assert verify_separation(coarse.twins).separated


def test_coarse_blocks_are_about_as_long_in_mm_and_within_the_budget() -> None:
    for spacing in [(0.4, 0.4, 3.0), (2.0, 0.5, 0.5), (0.7, 0.9, 1.6)]:
        sp = np.asarray(spacing)
        for n_full in [310_000, 625_000, 1_800_000]:
            f = _coarse_factors(n_full, 300_000, sp)
            assert n_full / np.prod(f) <= 300_000
            # each side the target length h (or one voxel when that is longer),
            # rounded up by less than a voxel
            h = (n_full / 300_000 * float(np.prod(sp))) ** (1.0 / 3.0)
            sides = np.asarray(f) * sp
            assert np.all(sides >= np.minimum(h, sp) - 1e-9) and np.all(sides < h + sp)
    # isotropic grids keep the one factor ceil((n / cap)^(1/3))
    for n_full in [300_001, 1_800_000, 8 * 300_000, 2_400_001]:
        k = int(np.ceil((n_full / 300_000) ** (1.0 / 3.0)))
        assert _coarse_factors(n_full, 300_000, np.array([0.59, 0.59, 0.59])) == (k, k, k)
