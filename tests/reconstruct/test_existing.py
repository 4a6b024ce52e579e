"""Expanders already in place in the skin plan (``reconstruct.existing``).

On the synthetic pair (``synthetic.two_heads``: layered spheres, scalp 54-60 mm, 2 mm
grid) twin A gets a pocket: its scalp layer within a cone of ``ALPHA`` about the flank
direction. The skin over it is the cap of the 60 mm sphere of half-angle ``ALPHA`` plus
the reach of a voxel (0.87 x 2 mm, half the voxel's diagonal) over the radius, the
pocket's base the cap of the 54 mm sphere: analytic areas (a dome of known area:
test_existing_dome.py).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial import cKDTree

from twinsep.reconstruct.defects import measure_defects
from twinsep.reconstruct.existing import ExistingSkin, existing_skin
from twinsep.reconstruct.expanders import plan_expanders
from twinsep.reconstruct.stage import reconstruct
from twinsep.segment.implants import ExistingExpander
from twinsep.volume import apply_affine

from .synthetic import R_BONE, R_SCALP, head_frames, two_heads

ALPHA = math.radians(30.0)
HALF_DISTANCE = 50.0


def _cap_mm2(r: float, half_angle: float) -> float:
    return 2.0 * math.pi * r * r * (1.0 - math.cos(half_angle))


@pytest.fixture(scope="module")
def pair():
    labels, twins, _ = two_heads(half_distance_mm=HALF_DISTANCE)
    idx = np.argwhere((twins.array == 1) & (labels.array == 1))
    pts = apply_affine(labels.affine, idx) - np.array([0.0, 0.0, -HALF_DISTANCE])
    r = np.linalg.norm(pts, axis=1)
    inside = pts[:, 0] / np.maximum(r, 1e-9) >= math.cos(ALPHA)  # about +x from A's centre
    sel = idx[inside]
    lo, hi = sel.min(axis=0), sel.max(axis=0) + 1
    mask = np.zeros(tuple(hi - lo), dtype=bool)
    mask[tuple((sel - lo).T)] = True
    pocket = ExistingExpander(
        twin="A",
        volume_ml=round(float(mask.sum()) * 8.0 / 1000.0, 1),
        centroid_mm=(0.0, 0.0, 0.0),
        height_mm=6.0,
        port_mm=None,
        port_distance_mm=None,
        box=tuple((int(a), int(b)) for a, b in zip(lo, hi, strict=True)),  # type: ignore[arg-type]
        mask=mask,
    )
    defects = measure_defects(labels, twins, frames=head_frames())
    return labels, twins, defects, pocket


def test_expanded_scalp_and_base_are_the_caps(pair) -> None:
    labels, _twins, defects, pocket = pair
    ex = existing_skin(defects["A"], (pocket,), labels.affine)
    reach = 0.87 * 2.0
    skin_cap = _cap_mm2(R_SCALP, ALPHA + reach / R_SCALP)
    # the base is the pocket's own underside: the cap of the skull sphere over the cone
    base_cap = _cap_mm2(R_BONE, ALPHA)
    # within 5 % (measured +0.2 %: 3372 / 3366 mm2, and -2.8 %: 2385 / 2453 mm2); a
    # normal taken the wrong way finds nothing, a cone 3 deg wider is 10 % more
    assert ex.expanded_scalp_mm2 == pytest.approx(skin_cap, rel=0.05)
    assert ex.base_mm2 == pytest.approx(base_cap, rel=0.05)
    # the gain is a quarter of the pocket's own surface less its base (the top cap and
    # the cone's side, 6 mm high)
    assert ex.realised_gain_mm2 == pytest.approx(0.25 * (ex.dome_mm2 - ex.base_mm2), rel=1e-9)
    # twin B has none
    assert existing_skin(defects["B"], (pocket,), labels.affine).count == 0


def test_plan_counts_the_grown_scalp_and_places_nothing_over_it(pair) -> None:
    labels, twins, defects, pocket = pair
    before = reconstruct(labels, twins, frames=head_frames())
    after = reconstruct(labels, twins, frames=head_frames(), existing=(pocket,))
    ex = after.existing["A"]
    da, db = before.defects["A"], after.defects["A"]
    # the expanded scalp counts as available (it was available here already, except
    # near the wound); never less than before
    assert db.available_scalp_area_mm2 >= da.available_scalp_area_mm2 - 1e-6
    assert np.all(db.available[ex.occupied & (db.region != 1)])
    # no new expander over the existing one: every footprint point of a new expander
    # lies off the occupied skin
    occ = cKDTree(db.skin.points_mm[ex.occupied])
    for e in after.skin["A"].expanders:
        assert occ.query(e.vertices_mm)[0].min() > 0.0
        assert occ.query(e.centre_mm)[0] > 5.0
    # the grown scalp's gain is counted: the new expanders provide the rest
    p = after.skin["A"]
    new = sum(e.realised_gain_mm2 for e in p.expanders)
    assert p.provided_mm2 == pytest.approx(new + ex.realised_gain_mm2, rel=1e-9)
    assert "already carries 1 expander (" in p.message  # not "1 expander(s)"
    # twin B is planned as before
    assert len(after.skin["B"].expanders) == len(before.skin["B"].expanders)


def test_enough_grown_scalp_needs_no_new_expander(pair) -> None:
    _labels, _twins, defects, _pocket = pair
    d = defects["A"]
    plenty = ExistingSkin(
        twin="A",
        count=2,
        fill_ml=300.0,
        expanded_scalp_mm2=50_000.0,
        base_mm2=10_000.0,
        realised_gain_mm2=10_000.0,
        occupied=np.zeros(len(d.skin.points_mm), dtype=bool),
    )
    plans = plan_expanders({"A": replace(d)}, existing={"A": plenty})
    assert plans["A"].expanders == ()
    assert plans["A"].shortfall_mm2 == 0
    assert plans["A"].provided_mm2 == pytest.approx(10_000.0)
