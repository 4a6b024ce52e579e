"""tissue_volumes_ml counts every label exactly, slab by slab."""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.segment.ct import tissue_volumes_ml
from twinsep.volume import Volume


@pytest.mark.parametrize("shape", [(7, 9, 11), (5, 400, 1000)])
def test_tissue_volumes_count_each_label(shape):
    # (5, 400, 1000): 0.4 M voxels per plane, so the ~1 M-voxel slabs hold 2 planes and
    # the last slab is partial
    rng = np.random.default_rng(3)
    a = rng.integers(0, 6, size=shape, dtype=np.uint8)
    a[-1, -1, -1] = L.VESSEL  # the very last voxel is counted
    affine = np.diag([0.5, 0.4, 2.0, 1.0])  # 0.4 mm^3 voxels
    before = a.copy()
    got = tissue_volumes_ml(Volume(a, affine, {"kind": "labels"}))
    assert np.array_equal(a, before)
    counts = np.bincount(a.ravel(), minlength=6)
    for val, name in L.TISSUE_NAMES.items():
        assert got[name] == round(float(counts[val]) * 0.4 / 1000.0, 3)
    assert set(got) == set(L.TISSUE_NAMES.values())
