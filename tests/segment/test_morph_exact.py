"""The fast binary morphology equals plain scipy on random masks (anisotropic, borders)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import morph


def _blobs(seed: int, shape=(40, 33, 27)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = ndi.gaussian_filter(rng.standard_normal(shape), 2.0)
    m = noise > np.percentile(noise, 93)
    m[0, rng.integers(shape[1]), rng.integers(shape[2])] = True  # touches the border
    return m


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("radius_mm", [0.9, 2.5, 6.0])
def test_dilate_matches_scipy(seed, radius_mm):
    sp = (0.8, 1.3, 2.1)
    m = _blobs(seed)
    ref = ndi.distance_transform_edt(~m, sampling=sp) <= radius_mm
    got = morph.dilate_mm(m, radius_mm, sp)
    assert got.dtype == bool and got.shape == m.shape
    assert np.array_equal(got, ref), int((got != ref).sum())


def test_dilate_small_mask_in_large_volume_and_empty():
    sp = (1.0, 1.0, 1.0)
    m = np.zeros((60, 50, 40), bool)
    m[30, 25, 20] = True
    got = morph.dilate_mm(m, 3.0, sp)
    # a ball of radius 3 voxels: 123 lattice points within distance 3
    assert int(got.sum()) == 123
    assert not morph.dilate_mm(np.zeros((5, 5, 5), bool), 2.0, sp).any()


def test_block_mean_counts_fractions():
    m = np.zeros((4, 6, 3), bool)
    m[:2, :3, :] = True
    out = morph.block_mean(m, (2, 3, 3))
    assert out.dtype == np.float32
    assert out.tolist() == [[[1.0], [0.0]], [[0.0], [0.0]]]
    m[0, 3, 0] = True
    assert morph.block_mean(m, (2, 3, 3))[0, 1, 0] == pytest.approx(1 / 18)
