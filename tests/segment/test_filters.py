"""The threaded separable filters equal scipy.ndimage bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import filters


def _image(dtype, shape=(23, 31, 17)) -> np.ndarray:
    rng = np.random.default_rng(11)
    a = rng.normal(40.0, 300.0, shape)
    a[3:9, 4:20, 2:9] = 1200.0  # a bright block: large steps at the edges
    return a.astype(dtype)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.int16])
@pytest.mark.parametrize("sigma", [(1.3, 0.7, 2.2), (0.0, 1.5, 0.4)])
def test_gaussian_equals_scipy(threads, dtype, sigma):
    a = _image(dtype)
    before = a.copy()
    ref = ndi.gaussian_filter(a.astype(np.float32), sigma=sigma, mode="nearest")
    got = filters.gaussian_filter(a, sigma, threads=threads)
    assert np.array_equal(a, before)  # input untouched
    assert got.dtype == np.float32
    assert np.array_equal(got, ref)  # bit-identical, not approximately equal


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("size", [(5, 3, 9), (1, 7, 1), (1, 1, 1)])
def test_maximum_equals_scipy(threads, size):
    a = _image(np.float32)
    ref = ndi.maximum_filter(a, size=size, mode="nearest")
    got = filters.maximum_filter(a, size, threads=threads)
    assert got.dtype == a.dtype
    assert np.array_equal(got, ref)


def test_bad_arguments_are_refused():
    a = _image(np.float32)
    with pytest.raises(ValueError, match="sigma_vx"):
        filters.gaussian_filter(a, (1.0, 1.0))
    with pytest.raises(ValueError, match="size_vx"):
        filters.maximum_filter(a, (3, 0, 3))


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("size", [(4, 6, 2), (13, 13, 7), (41, 2, 35), (2, 1, 3)])
def test_maximum_by_doubling_equals_scipy(dtype, size):
    # even windows (scipy's off-centre), windows longer than the axis (23, 31, 17),
    # integer and float images, a strided input: the values must be scipy's, bit for bit
    a = _image(np.float64)
    a = np.clip(a, 0, 255) if dtype == np.uint8 else a
    a = a.astype(dtype)[:, ::-1]
    before = a.copy()
    ref = ndi.maximum_filter(a, size=size, mode="nearest")
    for threads in (1, 2):
        got = filters.maximum_filter(a, size, threads=threads)
        assert np.array_equal(a, before)  # input untouched
        assert got.dtype == a.dtype
        assert np.array_equal(got, ref)


def test_maximum_with_nan_is_scipy_s():
    # no order among NaN: scipy's own comparisons decide, as before
    a = _image(np.float32)
    a[5, 7, 3] = np.nan
    a[10:12, 0, 0] = np.nan
    ref = ndi.maximum_filter(a, size=(3, 5, 3), mode="nearest")
    got = filters.maximum_filter(a, (3, 5, 3))
    assert np.array_equal(got, ref, equal_nan=True)
