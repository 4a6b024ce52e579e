"""Hole filling slice by slice equals scipy's ``binary_fill_holes`` with a planar cross."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import morph


def _scipy_slices(mask: np.ndarray, axis: int) -> np.ndarray:
    st = np.expand_dims(ndi.generate_binary_structure(2, 1), axis)
    return np.asarray(ndi.binary_fill_holes(mask, structure=st), bool)


def _rings(shape=(23, 31, 19)) -> np.ndarray:
    """Closed tubes along each axis (their slices across it hold a hole), one cut open,
    one touching the grid's edge, plus random specks."""
    i, j, k = np.indices(shape)
    m = np.zeros(shape, bool)
    r = np.hypot(j - 10, k - 9)
    m |= (r <= 6.5) & (r > 3.5) & (i > 2) & (i < 19)  # a tube along axis 0
    r = np.hypot(i - 15, k - 5)
    m |= (r <= 4.2) & (r > 2.0) & (j > 4)  # along axis 1, reaching the far face
    m[15, :, 5:8] &= np.arange(shape[1])[:, None] % 7 != 0  # cut open in some slices
    r = np.hypot(i - 5, j - 24)
    m |= (r <= 5.5) & (r > 2.5)  # along axis 2, the whole way, near an edge
    rng = np.random.default_rng(3)
    m |= rng.random(shape) > 0.97
    return m


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("case", ["rings", "blobs", "edge", "thin"])
def test_fill_holes_in_slices_matches_scipy(axis, case):
    rng = np.random.default_rng(axis)
    if case == "rings":
        m = _rings()
    elif case == "blobs":
        noise = ndi.gaussian_filter(rng.standard_normal((30, 26, 34)), 1.5)
        m = noise > np.percentile(noise, 60)  # a sponge: holes in many slices
    elif case == "edge":
        m = _rings()
        m[:, :, 0] = True  # a wall on one face: the slices across it close there
        m[:, 0, :] = True
    else:
        # axes of 1-3 voxels (cc3d needs a border there) and a mask in a few slices
        m = np.zeros((3, 17, 2), bool) if axis != 2 else np.zeros((12, 3, 9), bool)
        m[..., :] = rng.random(m.shape) > 0.45
    want = _scipy_slices(m, axis)
    got = morph.fill_holes_in_slices(m, axis)
    assert got.dtype == bool and got.shape == m.shape
    assert np.array_equal(got, want), int((got != want).sum())
    # the test must be able to see a difference: these masks have holes to fill
    if case in ("rings", "blobs", "edge"):
        assert (want & ~m).any()


def test_fill_holes_in_slices_empty_and_bad_axis():
    assert not morph.fill_holes_in_slices(np.zeros((5, 6, 7), bool), 1).any()
    with pytest.raises(ValueError):
        morph.fill_holes_in_slices(np.zeros((5, 6, 7), bool), 3)
