"""The fast coarse-grid helpers of twin assignment agree exactly with the plain versions."""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.segment import morph
from twinsep.twins import assign
from twinsep.volume import Volume


def _random_labels(shape: tuple[int, int, int], order: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    lab = rng.integers(0, 6, size=shape).astype(np.uint8)
    return np.asarray(lab, order=order)  # type: ignore[call-overload]


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("f", [(1, 1, 1), (3, 2, 5), (4, 4, 1)])
def test_block_counts_match_block_mean(order: str, f: tuple[int, int, int]) -> None:
    # odd shape: every axis needs edge padding for f > 1
    lab = _random_labels((23, 17, 19), order)
    counts = assign.block_label_counts(lab, f)
    n = int(np.prod(f))
    for value in range(6):
        expected = morph.block_mean(lab == value, f)
        got = assign._fraction(counts[value], n)
        # bit-identical: the coarse cost and the 0.5 thresholds must not move
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    # counts of all labels add up to the block size everywhere
    total = sum(c.astype(np.int64) for c in counts.values())
    assert (total == n).all()


def test_upsample_matches_repeat() -> None:
    rng = np.random.default_rng(3)
    coarse = rng.integers(0, 3, size=(5, 4, 6)).astype(np.uint8)
    shape = (13, 11, 17)
    f = (3, 3, 3)
    got = assign._upsample_u8(coarse, f, shape)
    np.testing.assert_array_equal(got, morph.upsample(coarse, f, shape))
    got *= 0  # a writable result (the caller masks it in place)
    assert coarse.any()


def test_centroid_and_tissue_volumes_match_voxel_lists() -> None:
    rng = np.random.default_rng(11)
    lab = rng.integers(0, 6, size=(20, 14, 9)).astype(np.uint8)
    owner = np.where(lab > 0, rng.integers(1, 3, size=lab.shape), 0).astype(np.uint8)
    aff = np.array(
        [[0.0, 0.8, 0.0, 5.0], [-0.5, 0.0, 0.0, -3.0], [0.0, 0.0, 1.7, 9.0], [0, 0, 0, 1]]
    )
    full = np.zeros((25, 14, 12), np.uint8)
    box = (slice(2, 22), slice(0, 14), slice(3, 12))
    full[box] = owner
    vol = Volume(full, aff, {})
    offset = np.array([2.0, 0.0, 3.0])
    for t in (1, 2):
        got = assign._centroid_mm(vol, owner, t, offset)
        np.testing.assert_allclose(got, vol.centroid_mm(full == t), atol=1e-9)
    per, total = assign._tissue_ml(lab, owner, voxel_mm3=2.0)
    for t, name in ((1, "A"), (2, "B")):
        n_brain = int(np.count_nonzero((owner == t) & (lab == 3)))
        assert per[name]["brain"] == pytest.approx(n_brain * 2.0 / 1000.0, abs=1e-9)
        n_all = int(np.count_nonzero(owner == t))
        assert total[name] == pytest.approx(n_all * 2.0 / 1000.0, abs=2e-3)


def test_one_piece_moves_islands_to_the_surrounding_twin() -> None:
    owner = np.zeros((12, 12, 12), np.uint8)
    owner[:, :, :6] = 1
    owner[:, :, 6:] = 2
    owner[5, 5, 9] = 1  # island of A inside B
    owner[2, 2, 2] = 2  # island of B inside A
    out = assign._one_piece(owner)
    assert out[5, 5, 9] == 2 and out[2, 2, 2] == 1
    assert np.count_nonzero(out != owner) == 2
    assert owner[5, 5, 9] == 1  # input untouched


def test_label_sizes_match_bincount() -> None:
    rng = np.random.default_rng(4)
    lab = rng.integers(0, 9, size=(37, 5, 6)).astype(np.uint32)
    expected = np.bincount(lab.ravel(), minlength=9)[1:]
    # one slab, and slabs of 2 rows of i (the last one shorter)
    for slab in (10**6, 60):
        np.testing.assert_array_equal(assign._label_sizes(lab, 8, slab_voxels=slab), expected)
