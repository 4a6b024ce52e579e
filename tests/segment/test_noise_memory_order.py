"""The noise level read in the array's memory order (``histogram._median_abs_diff``).

A loaded NIfTI is Fortran-ordered; the CT statistics read every 6th slice of it. The
differences at each lag are now gathered in memory order, which must not change a bit
of the result: the same pairs, so the same median. Truth is the C-ordered copy of the
same values (the gather the code made before), on anisotropically correlated noise so
that a swapped axis would show in the correlation lengths.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment.histogram import _median_abs_diff, memory_order, noise_level


def _ct(dtype: type) -> np.ndarray:
    rng = np.random.default_rng(7)
    n = ndi.gaussian_filter(rng.normal(size=(40, 36, 30)), (0.4, 1.2, 2.0), mode="wrap")
    body = np.zeros(n.shape, bool)
    body[3:-4, 5:-2, 2:-6] = True
    a = np.where(body, 40.0 + 25.0 * n / n.std(), -1000.0)
    return np.rint(a).astype(dtype) if dtype is np.int16 else a.astype(dtype)


def _layouts(c: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "fortran": np.asfortranarray(c),
        "fortran, every 3rd slice": np.asfortranarray(np.concatenate([c, c], axis=2))[:, :, ::3],
        "flipped": c[::-1, :, ::-1],
        "axes swapped": np.ascontiguousarray(c.transpose(2, 0, 1)).transpose(1, 2, 0),
    }


def test_memory_order() -> None:
    c = np.zeros((4, 5, 6))
    assert memory_order(c) == (0, 1, 2)
    assert memory_order(np.asfortranarray(c)) == (2, 1, 0)
    assert memory_order(c[::-1, :, ::2]) == (0, 1, 2)
    assert memory_order(np.ascontiguousarray(c.transpose(2, 0, 1)).transpose(1, 2, 0)) == (2, 0, 1)


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_same_pairs_same_median_in_any_layout(dtype: type) -> None:
    c = _ct(dtype)
    for name, a in _layouts(c).items():
        ref = np.ascontiguousarray(a)  # the same values, gathered in C order
        mask = (ref > -500) & (np.abs(ref - 40) < 150)
        mask_a = mask.copy(order="F") if name.startswith("fortran") else mask
        for axis in range(3):
            for lag in (1, 2, 5):
                want = _median_abs_diff(ref, mask, axis, lag)
                assert want is not None
                assert _median_abs_diff(a, mask_a, axis, lag) == want, (name, axis, lag)
        assert noise_level(a, mask_a) == noise_level(ref, mask), name


def test_the_layouts_differ_in_order() -> None:
    # the check above is a real one: the gather orders of the layouts differ
    c = _ct(np.float32)
    a = _layouts(c)["fortran"]
    both = np.ones(a.shape, bool)
    assert not np.array_equal(a[both], a.transpose(2, 1, 0)[both.transpose(2, 1, 0)])
