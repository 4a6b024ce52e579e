"""Tissue moved by the separation surface, and the corrected per-twin volumes."""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.separate.moved import corrected_twins_section, moved_tissue_ml


def _maps() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 10x4x4 bar: brain in x < 5, bone beyond; the boundary moves from x = 5 to x = 3
    (two slabs of brain go from A to B) and one bone voxel goes from B to A."""
    lab = np.full((10, 4, 4), L.BRAIN, np.uint8)
    lab[5:] = L.BONE
    lab[:, 0, 0] = L.BACKGROUND
    before = np.where(np.arange(10)[:, None, None] < 5, L.TWIN_A, L.TWIN_B).astype(np.uint8)
    before = np.broadcast_to(before, lab.shape).copy()
    before[lab == L.BACKGROUND] = 0
    after = before.copy()
    after[3:5][lab[3:5] > 0] = L.TWIN_B
    after[7, 2, 2] = L.TWIN_A
    return lab, before, after


def test_moved_tissue_counts_each_transfer() -> None:
    lab, before, after = _maps()
    m = moved_tissue_ml(lab, before, after, voxel_mm3=8.0)
    brain_moved = 2 * 15 * 8.0 / 1000.0  # two slabs of 16 voxels minus the empty corner
    assert m.a_to_b_ml == pytest.approx(brain_moved)
    assert m.b_to_a_ml == pytest.approx(8.0 / 1000.0)
    assert m.net_ml["A"]["brain"] == pytest.approx(-brain_moved)
    assert m.net_ml["B"]["brain"] == pytest.approx(brain_moved)
    assert m.net_ml["A"]["bone"] == pytest.approx(0.008)
    assert m.net_ml["B"]["bone"] == pytest.approx(-0.008)
    assert m.net_ml["A"]["csf"] == 0.0
    # the corrected totals are the after-map's own counts
    section = {
        n: {
            "hex": "#000000",
            "volume_ml": float(np.count_nonzero(before == t)) * 0.008,
            "tissue_ml": {
                tn: float(np.count_nonzero((before == t) & (lab == v))) * 0.008
                for v, tn in L.TISSUE_NAMES.items()
            },
        }
        for t, n in L.TWIN_NAMES.items()
    }
    out = corrected_twins_section(section, m.net_ml)
    for t, n in L.TWIN_NAMES.items():
        assert out[n]["hex"] == "#000000"
        assert out[n]["volume_ml"] == pytest.approx(np.count_nonzero(after == t) * 0.008)
        for v, tn in L.TISSUE_NAMES.items():
            want = np.count_nonzero((after == t) & (lab == v)) * 0.008
            assert out[n]["tissue_ml"][tn] == pytest.approx(want, abs=1e-3)
    assert section["A"]["volume_ml"] == pytest.approx(80 * 0.008 - 5 * 0.008), "input kept"


def test_grids_must_agree() -> None:
    lab, before, after = _maps()
    with pytest.raises(ValueError, match="grids differ"):
        moved_tissue_ml(lab, before[:5], after, voxel_mm3=1.0)
