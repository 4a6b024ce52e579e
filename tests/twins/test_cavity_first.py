"""Cavity-first growth: the fronts divide the cranial cavity, then the coverings follow it.

Regression for issue 4: on the angular-frontal phantom at 3.25 mm and 30 HU noise
(seed 0) one head core reached 13 mm past the true boundary and its front took
twin B's face and neck (about 520 voxels, 99.27-99.28 % right outside the 15 mm band).
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.graph import MCP_Geometric

from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.segment import morph, segment_ct
from twinsep.twins import assign_twins
from twinsep.twins.assign import _grow

BAND_MM = 15.0


def _two_front_owner(cost, seed_a, seed_b, csp) -> np.ndarray:
    """Reference: two separate fronts, each voxel to the earlier arrival (1 on ties)."""
    arrival = []
    for seed in (seed_a, seed_b):
        mcp = MCP_Geometric(cost, sampling=csp, fully_connected=True)
        cum, _ = mcp.find_costs([tuple(p) for p in np.argwhere(seed).tolist()])
        arrival.append(cum)
    ta, tb = arrival
    out = np.zeros(cost.shape, np.uint8)
    out[np.isfinite(ta) & (ta <= tb)] = 1
    out[np.isfinite(tb) & (tb < ta)] = 2
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_front_traceback_equals_two_fronts(seed):
    """The single front labelled through its traceback gives the owners of two fronts."""
    rng = np.random.default_rng(seed)
    shape = (23, 19, 17)
    cost = rng.uniform(0.5, 4.0, shape)
    cost[rng.random(shape) < 0.15] = np.inf  # air pockets, impassable
    cost[:, :, 8] = np.where(rng.random(shape[:2]) < 0.7, np.inf, cost[:, :, 8])  # a leaky wall
    seed_a = np.zeros(shape, bool)
    seed_b = np.zeros(shape, bool)
    seed_a[2:6, 3:8, 2:5] = True  # solid blocks: the rim-only start must match them
    seed_b[15:20, 10:15, 12:16] = True
    csp = (1.0, 1.3, 2.1)
    got = _grow(cost, seed_a, seed_b, csp)
    ref = _two_front_owner(cost, seed_a, seed_b, csp)
    # random real costs make exact ties improbable: every voxel must agree
    assert (got == ref).all(), int((got != ref).sum())
    assert (got[seed_a] == 1).all() and (got[seed_b] == 2).all()
    assert (got[np.isinf(cost) & ~(seed_a | seed_b)] == 0).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_noisy_angular_frontal_faces_stay_with_their_heads(seed):
    """Issue 4 row: angular-frontal, 96 voxels (3.25 mm), 30 HU, seeds 0 and 1."""
    ph = make_phantom("angular-frontal", size=96, seed=seed, noise_hu=30.0)
    seg = segment_ct(ph.ct)
    res = assign_twins(seg.labels)
    truth = ph.twins.array
    pred = res.twins.array
    sp = ph.ct.spacing_mm
    a, b = truth == 1, truth == 2
    d = np.where(a, morph.distance_to_mm(b, sp), morph.distance_to_mm(a, sp))
    far = (truth > 0) & (pred > 0) & (d > BAND_MM)
    acc = float((pred[far] == truth[far]).mean())
    # issue 4 target; seed 0 scored 0.99271 before the fix
    assert acc >= 0.995, acc
    # the coverings (scalp, face, neck, skull) on their own: before the fix 517 soft
    # tissue and bone voxels of twin B's face went to A (0.986 of them right)
    cover = far & np.isin(ph.labels.array, (L.SOFT_TISSUE, L.BONE))
    acc_cover = float((pred[cover] == truth[cover]).mean())
    assert acc_cover >= 0.995, acc_cover
