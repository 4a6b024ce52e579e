"""The sure sides of the min-cut from one full max-flow and one on the undecided nodes:
exactly the sets two full max-flows give (twin A as the source, then twin B), in either
order, and the integer capacity unit keeps every sum inside 64 bits."""

from __future__ import annotations

import maxflow
import numpy as np
import pytest

import twinsep.separate.mincut as mincut
from twinsep.separate.mincut import _CAPACITY_BITS, _capacity_unit, _sure_sides, _units

SHAPE = (12, 8, 9)
#: x-layers of edges (between x and x + 1) that cost 1: four equally cheap flat cuts
LEVEL = range(4, 8)


def _grid_graph(seed: int):
    """A 6-connected grid, twin A linked on the first x-face and twin B on the last,
    with a few random links to either twin near those faces; edges across the ``LEVEL``
    x-layers cost 1, every other edge 2 or 3, so the four flat cuts there are equally
    cheap and the nodes between them are ties."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(SHAPE))
    ids = np.arange(n).reshape(SHAPE)
    heads, tails, caps = [], [], []
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(0, -1)
        hi[ax] = slice(1, None)
        heads.append(ids[tuple(lo)].ravel())
        tails.append(ids[tuple(hi)].ravel())
        c = rng.integers(2, 4, size=ids[tuple(lo)].shape).astype(np.int64)
        if ax == 0:
            c[LEVEL.start : LEVEL.stop] = 1
        caps.append(c.ravel())
    i, j, cap = np.concatenate(heads), np.concatenate(tails), np.concatenate(caps)
    to_a = np.zeros(n, np.int64)
    to_b = np.zeros(n, np.int64)
    to_a[ids[0].ravel()] = 4
    to_b[ids[-1].ravel()] = 4
    near_a = rng.choice(ids[1:3].ravel(), size=6, replace=False)
    near_b = rng.choice(ids[-3:-1].ravel(), size=6, replace=False)
    to_a[near_a] += rng.integers(1, 4, size=6)
    to_b[near_b] += rng.integers(1, 4, size=6)
    return n, (i, j, cap), to_a, to_b


def _full(n, edges, source_w, sink_w):
    """One max-flow on the whole graph: (flow, sink side of the smallest sink side)."""
    g = maxflow.Graph[int](n, edges[0].size)
    g.add_nodes(n)
    g.add_edges(edges[0], edges[1], edges[2], edges[2])
    g.add_grid_tedges(np.arange(n), source_w, sink_w)
    flow = g.maxflow()
    return flow, np.asarray(g.get_grid_segments(np.arange(n)), bool)


@pytest.mark.parametrize("seed", range(6))
def test_one_full_and_one_restricted_flow_give_the_exact_sure_sides(seed: int) -> None:
    n, edges, to_a, to_b = _grid_graph(seed)
    flow, b_ref = _full(n, edges, to_a, to_b)
    flow_b, a_ref = _full(n, edges, to_b, to_a)
    assert flow == flow_b
    ties = ~a_ref & ~b_ref
    # the nodes between the level flat cuts, and only they, are ties
    x = np.indices(SHAPE)[0].ravel()
    np.testing.assert_array_equal(ties, (x > LEVEL.start) & (x <= LEVEL.stop - 1))
    for a_first in (True, False):
        a_sure, b_sure, got = _sure_sides(n, edges, to_a, to_b, a_first=a_first)
        assert got == flow
        np.testing.assert_array_equal(a_sure, a_ref)
        np.testing.assert_array_equal(b_sure, b_ref)


def test_second_flow_runs_on_the_undecided_nodes_only(monkeypatch) -> None:
    n, edges, to_a, to_b = _grid_graph(0)
    sizes: list[int] = []
    real = mincut._max_flow

    def counting(m, e, s, t):
        sizes.append(m)
        return real(m, e, s, t)

    monkeypatch.setattr(mincut, "_max_flow", counting)
    a_sure, b_sure, _ = _sure_sides(n, edges, to_a, to_b, a_first=True)
    # the first flow sees every node, the second only those not sure for B
    assert sizes == [n, n - int(b_sure.sum())]
    assert b_sure.sum() > n // 4  # a real saving on this case


def test_capacity_unit_keeps_sums_in_64_bits_and_ignores_the_names() -> None:
    rng = np.random.default_rng(3)
    cap = rng.uniform(0.01, 2000.0, size=5000)
    to_a = rng.uniform(0.0, 50.0, size=1200)
    to_b = rng.uniform(0.0, 50.0, size=1200)
    unit = _capacity_unit(cap, to_a, to_b)
    assert np.log2(unit) == np.round(np.log2(unit))  # a power of two: exact scaling
    assert unit == _capacity_unit(cap, to_b, to_a)
    total = 2 * int(_units(cap, unit).sum()) + int(_units(to_a, unit).sum())
    total += int(_units(to_b, unit).sum())
    # within the budget (plus half a unit per capacity) and not needlessly coarse
    assert 2**59 <= total <= 2**_CAPACITY_BITS + (2 * cap.size + 2 * to_a.size) // 2
    assert total < 2**62
    # each capacity within half a unit of its real value
    assert np.abs(_units(cap, unit) * unit - cap).max() <= unit / 2
    assert _capacity_unit(np.zeros(3), np.zeros(2), np.zeros(2)) == 1.0
