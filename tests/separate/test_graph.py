"""The band-only min-cut graph against a graph built over the whole crop (the old way),
solved in full with each twin as the source: the split of tied voxels is a minimum cut
and does not depend on which twin is called A."""

from __future__ import annotations

import maxflow
import numpy as np
import pytest
from scipy import ndimage

from twinsep.separate.mincut import _capacity_unit, _solve, _Stats
from twinsep.separate.params import CutParams


def _whole_crop_reference(cost, tw, band, spacing, params, dist, iface, iface_tw):
    """Min-cut over every voxel pair of the crop, one pass per axis, solved twice in full
    (twin A as the source, then twin B) with the capacities in whole units of
    ``_capacity_unit``, as the module does, so that the sure sides are exact: (voxels on
    A's side of every minimum cut, on B's side of every minimum cut, flow in units x
    unit, flow of the real-valued graph, cost of a labelling over the same faces)."""
    body = tw > 0
    reach = float(dist[band].max())
    ramp = (1.0 + params.stay_near * np.minimum(dist, reach) / max(reach, 1e-6)).astype(np.float32)
    vessel = cost >= np.float32(params.costs.vessel)
    cost = cost * ramp
    n = int(band.sum())
    ids = np.full(band.shape, -1, dtype=np.int64)
    ids[band] = np.arange(n)
    fixed = {t: body & ~band & (tw == t) for t in (1, 2)}
    term = {1: np.zeros(n), 2: np.zeros(n)}
    faces = []
    pairs = []
    for ax in range(3):
        face = float(np.prod(np.delete(spacing, ax)))
        p = tuple(slice(0, -1) if d == ax else slice(None) for d in range(3))
        q = tuple(slice(1, None) if d == ax else slice(None) for d in range(3))
        both = body[p] & body[q]
        w = face * np.minimum(cost[p], cost[q]).astype(np.float64)
        v = both & (vessel[p] | vessel[q])
        w[v] = face * 0.5 * (cost[p][v] + cost[q][v])
        al = both & iface[p] & iface[q] & (iface_tw[p] != iface_tw[q])
        w[al] = face * float(params.costs.brain_interface) * 0.5 * (ramp[p][al] + ramp[q][al])
        inner = both & band[p] & band[q]
        pairs.append((ids[p][inner], ids[q][inner], w[inner]))
        faces.append((p, q, both & (band[p] | band[q]), w))
        for s_, o_ in ((p, q), (q, p)):
            for t in (1, 2):
                m = both & band[s_] & fixed[t][o_]
                np.add.at(term[t], ids[s_][m], w[m])
    i, j, w = (np.concatenate(x) for x in zip(*pairs, strict=True))
    unit = _capacity_unit(w, term[1], term[2])

    def graph(kind, scale):
        g = maxflow.Graph[kind](n, i.size)
        g.add_nodes(n)
        g.add_edges(i, j, scale(w), scale(w))
        return g

    g_real = graph(float, lambda x: x)
    g_real.add_grid_tedges(np.arange(n), term[1], term[2])
    flow_real = g_real.maxflow()
    whole = lambda x: np.rint(x / unit).astype(np.int64)  # noqa: E731
    g = graph(int, whole)
    g2 = g.copy()
    g.add_grid_tedges(np.arange(n), whole(term[1]), whole(term[2]))
    flow = g.maxflow() * unit
    b_sure = np.zeros(band.shape, bool)
    b_sure[band] = g.get_grid_segments(np.arange(n))  # free nodes go to the source, A
    g2.add_grid_tedges(np.arange(n), whole(term[2]), whole(term[1]))  # B as the source
    g2.maxflow()
    a_sure = np.zeros(band.shape, bool)
    a_sure[band] = g2.get_grid_segments(np.arange(n))

    def labelling_cost(lab):
        return sum(float(w[m & (lab[p] != lab[q])].sum()) for p, q, m, w in faces)

    return a_sure, b_sure, flow, flow_real, labelling_cost


def _case(seed: int):
    """Random tissue, a wavy twin boundary, vessels, brain contact, a loose band piece."""
    rng = np.random.default_rng(seed)
    shape = (26, 22, 30)
    i = np.indices(shape)
    lab = rng.choice(np.array([1, 2, 3, 4], np.uint8), size=shape, p=[0.4, 0.2, 0.3, 0.1])
    lab = ndimage.median_filter(lab, size=3)  # tissue patches, not salt and pepper
    lab[(np.hypot(i[0] - 13, i[1] - 11) < 2.5)] = 5  # a vessel through the boundary
    lab[:, :2] = 0  # air: no edges
    wave = 15 + 3 * np.sin(i[0] / 4.0) + 2 * np.cos(i[1] / 3.0)
    tw = np.where(lab > 0, np.where(i[2] < wave, 1, 2), 0).astype(np.uint8)
    tw[2:4, 5:8, 13:17] = 0  # a hole
    spacing = np.array([0.9, 1.1, 0.7])
    boundary = (tw == 1) & ndimage.binary_dilation(tw == 2) | (tw == 2) & ndimage.binary_dilation(
        tw == 1
    )
    dist = ndimage.distance_transform_edt(~boundary, sampling=spacing).astype(np.float32)
    band = (tw > 0) & (dist <= 4.0)
    band[20:23, 18:21, 0:3] = True  # an island far from both twins' fixed voxels
    tw[20:23, 18:21, 0:3] = 1
    costs = np.asarray(CutParams().costs.by_label(), np.float32)[lab]
    iface = (lab == 3) & boundary
    return costs, tw, band, spacing, dist, iface


def _swap(tw):
    out = tw.copy()
    out[tw == 1] = 2
    out[tw == 2] = 1
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 6])
def test_band_graph_gives_a_minimum_cut_blind_to_the_names(seed: int) -> None:
    cost, tw, band, spacing, dist, iface = _case(seed)
    params = CutParams()
    stats = _Stats()
    got = _solve(cost, tw, band, spacing, params, stats, dist, iface, tw)
    a_sure, b_sure, flow, flow_real, labelling_cost = _whole_crop_reference(
        cost, tw, band, spacing, params, dist, iface, tw
    )
    island = np.zeros_like(band)
    island[20:23, 18:21, 0:3] = True
    decided = band & ~island
    # every voxel that all minimum cuts put on one side is there
    assert (got[decided & a_sure] == 1).all()
    assert (got[decided & b_sure] == 2).all()
    # the tied voxels are split, and the split is itself a minimum cut
    assert stats.flow == flow  # same graph, same whole-unit capacities: same flow
    # whole units move a cut of ~4e3 faces by < 1e-12 of its cost; one face more or less
    # would be ~2e-5
    assert flow == pytest.approx(flow_real, rel=1e-12)
    assert labelling_cost(got) == pytest.approx(flow_real, rel=1e-12)
    # naming the twins the other way round gives the same cut
    swapped = _solve(cost, _swap(tw), band, spacing, params, _Stats(), dist, iface, _swap(tw))
    np.testing.assert_array_equal(_swap(swapped), got)
    assert stats.n_nodes == int(band.sum())
    # the cut moved something and kept the loose island
    assert (got != tw).any()
    assert (got[20:23, 18:21, 0:3] == 1).all()


def test_empty_band_changes_nothing() -> None:
    cost, tw, _, spacing, dist, iface = _case(0)
    band = np.zeros_like(tw, dtype=bool)
    out = _solve(cost, tw, band, spacing, CutParams(), _Stats(), dist, iface, tw)
    np.testing.assert_array_equal(out, tw)
