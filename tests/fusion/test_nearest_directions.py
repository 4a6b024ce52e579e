"""Binning unit vectors on the direction lattice in blocks of rows
(``fusion.axes.nearest_directions``, ``row_blocks``).

The skin's voxel normals (75 k on the 512x512x400 CT) were binned with one
``argmax(normals @ dirs.T)`` over a 0.36 GB matrix; the blocks must give the same bins,
bit for bit, or the body-cut plane (and every plan file after it) could move. numpy
multiplies a one-row matrix with BLAS's matrix-vector routine, whose dot products round
differently from the matrix-matrix one, so no block may hold a single row.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.fusion import axes
from twinsep.fusion.axes import fibonacci_directions, nearest_directions, row_blocks


def _units(n: int, seed: int) -> np.ndarray:
    g = np.random.default_rng(seed).normal(size=(n, 3))
    return g / np.linalg.norm(g, axis=1, keepdims=True)


def _voxel_normals(n: int, seed: int) -> np.ndarray:
    """Unit sums of random subsets of the 26 neighbour directions on an oblique,
    anisotropic grid: the few-hundred distinct values a skin's voxel normals take."""
    rng = np.random.default_rng(seed)
    offs = np.array(
        [
            (i, j, k)
            for i in (-1, 0, 1)
            for j in (-1, 0, 1)
            for k in (-1, 0, 1)
            if (i, j, k) != (0, 0, 0)
        ],
        dtype=float,
    )
    hits = rng.random((n, 26)) < 0.2
    g = hits.astype(float) @ (offs / np.linalg.norm(offs, axis=1, keepdims=True))
    g = g[np.linalg.norm(g, axis=1) > 0]
    m = np.array([[0.9, 0.1, 0.0], [-0.1, 0.8, 0.2], [0.0, -0.3, 2.5]])
    gw = g @ m
    return gw / np.linalg.norm(gw, axis=1, keepdims=True)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 511, 512, 513, 514, 1024, 1025, 1537])
def test_row_blocks_cover_in_order_and_never_leave_one_row(n: int) -> None:
    blocks = row_blocks(n, 512)
    if n == 0:
        assert blocks == []
        return
    assert blocks[0][0] == 0 and blocks[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
    sizes = [hi - lo for lo, hi in blocks]
    assert all(1 <= s <= 513 for s in sizes)
    assert n == 1 or min(sizes) >= 2


def test_blocks_give_the_whole_products_bits() -> None:
    # 513 rows in blocks of 512: a lone last row would be a matrix-vector product
    u = _units(513, 1)
    d = fibonacci_directions(600).T
    whole = u @ d
    blocks = np.concatenate([u[lo:hi] @ d for lo, hi in row_blocks(len(u), 512)])
    assert blocks.tobytes() == whole.tobytes()


def test_a_lone_row_would_not() -> None:
    # the reason for the rule above: one row alone rounds differently (if this BLAS
    # ever stops doing so, the rule costs nothing and this test says so)
    u = _units(200, 2)
    d = fibonacci_directions(600).T
    whole = u @ d
    alone = np.concatenate([u[i : i + 1] @ d for i in range(len(u))])
    if alone.tobytes() == whole.tobytes():
        pytest.skip("this BLAS rounds a one-row product as the whole one")
    assert alone.tobytes() != whole.tobytes()


@pytest.mark.parametrize("n", [1, 2, 700, 1025, 5000])
@pytest.mark.parametrize("lattice", [600, 37])
def test_bins_equal_the_whole_argmax(n: int, lattice: int, monkeypatch: pytest.MonkeyPatch) -> None:
    dirs = fibonacci_directions(lattice)
    for units in (_units(n, n), _voxel_normals(n + 40, n)[:n]):
        want = np.argmax(units @ dirs.T, axis=1)
        assert np.array_equal(nearest_directions(units, dirs), want)
        # small blocks too (every block boundary, many remainders)
        monkeypatch.setattr(axes, "_BIN_ROWS", 7)
        assert np.array_equal(nearest_directions(units, dirs), want)
        monkeypatch.setattr(axes, "_BIN_ROWS", 512)


def test_strided_rows_as_the_footprint_samples_them() -> None:
    # the extracranial footprint bins every step-th unit vector (a strided view)
    units = _units(4001, 5)[::3]
    dirs = fibonacci_directions(600)
    assert np.array_equal(nearest_directions(units, dirs), np.argmax(units @ dirs.T, axis=1))
