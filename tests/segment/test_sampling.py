"""sample_values draws the same values whatever the memory layout of the grid."""

from __future__ import annotations

import numpy as np

from twinsep.segment.histogram import sample_values


def test_sample_values_same_for_fortran_and_strided_grids():
    a = np.arange(40 * 30 * 20, dtype=np.int16).reshape(40, 30, 20)  # value = C index
    for view in (np.asfortranarray(a), a[:, ::-1].copy()[:, ::-1], a):
        got = sample_values(view, 500, np.random.default_rng(4))
        want = a.ravel()[np.sort(np.random.default_rng(4).choice(a.size, 500, replace=False))]
        assert np.array_equal(got, want)
    # values are the C-order positions: strictly increasing, as drawn and sorted
    assert np.all(np.diff(sample_values(np.asfortranarray(a), 500, np.random.default_rng(4))) > 0)
    # a small grid is returned whole
    assert sample_values(a[:2, :2, :2], 500, np.random.default_rng(0)).size == 8
