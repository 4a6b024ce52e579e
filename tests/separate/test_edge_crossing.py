"""A vessel that crosses the cut along a voxel edge is a divided vessel (separate stage).

angular-frontal 96 seed 0 with contrast, no table (docs/separation.md, "A sinus crossing
along a voxel edge"): the planned sinus is one voxel across where it steps diagonally over
the twins' boundary; the kerf (voxels with a face neighbour in the other twin) held its
twin A voxel only, so ``vessel_crossings`` found no vessel of both twins on the cut and
the staged plan named no sinus, while the fusion called it the shared sinus.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import numpy as np
import pytest

from twinsep.fusion.analysis import FusionAnalysis
from twinsep.fusion.shared import SinusCrossing
from twinsep.labels import CSF, SOFT_TISSUE, TWIN_A, TWIN_B, VESSEL
from twinsep.separate import SeparationPlan, plan_separation
from twinsep.separate.crossings import SinusShare, edge_link, sinus_share_ml, vessel_crossings
from twinsep.separate.mincut import CutResult, verify_separation
from twinsep.separate.stage import separation_section
from twinsep.separate.staging import (
    StagingFacts,
    propose_stages,
    sinus_edge_words,
    sinus_off_cut_words,
)
from twinsep.volume import Volume

SP_MM = 3.0
SHAPE = (24, 24, 24)
#: the ribbon's extent along j (voxels) and its length on each side (voxels along k)
J0, J1 = 8, 16
LEN_A, LEN_B = 8, 9


def _stepped(lumen_b_i: int = 10) -> tuple[Volume, np.ndarray]:
    """Labels and twins of a sinus ribbon one voxel thick stepping over the boundary.

    Twin A is k <= 11, except for i <= 10 where it ends at k <= 10 (a one-voxel notch
    of the boundary). The ribbon runs along k in twin A at i = 11 (k 4..11) and in twin B
    at i = ``lumen_b_i`` (k 12..20): at the boundary (11, j, 11) and (10, j, 12) share an
    edge, no face. Its A voxels at k = 11 touch twin B through a face (the notch), its B
    voxels none: (10, j, 12)'s face neighbours are all twin B.
    """
    lab = np.full(SHAPE, CSF, np.uint8)
    i, _, k = np.indices(SHAPE)
    tw = np.where((k <= 11) & ~((i <= 10) & (k == 11)), TWIN_A, TWIN_B).astype(np.uint8)
    lab[11, J0:J1, 11 - LEN_A + 1 : 12] = VESSEL
    lab[lumen_b_i, J0:J1, 12 : 12 + LEN_B] = VESSEL
    return Volume(lab, np.diag([SP_MM, SP_MM, SP_MM, 1.0])), tw


def test_edge_link_marks_both_sides_of_an_edge_contact_only() -> None:
    a = np.zeros((4, 4, 4), bool)
    b = np.zeros((4, 4, 4), bool)
    a[1, 1, 1] = True
    b[2, 1, 2] = True  # along an edge
    b[3, 3, 3] = True  # far: not linked
    out = edge_link(a, b)
    assert set(map(tuple, np.argwhere(out))) == {(1, 1, 1), (2, 1, 2)}
    c = np.zeros((4, 4, 4), bool)
    c[2, 2, 2] = True  # at a corner
    assert set(map(tuple, np.argwhere(edge_link(a, c)))) == {(1, 1, 1), (2, 2, 2)}
    assert not edge_link(a, np.zeros_like(a)).any()


def test_a_sinus_stepping_over_the_cut_along_an_edge_is_divided() -> None:
    labels, tw = _stepped()
    check = verify_separation(tw)
    lab = labels.array
    on_kerf = (lab == VESSEL) & check.kerf
    # the geometry of the plan: only twin A's lumen voxels lie on the face-kerf
    assert on_kerf[tw == TWIN_A].any() and not on_kerf[tw == TWIN_B].any()
    crossings = vessel_crossings(labels, tw, check.kerf, kerf_box=check.kerf_box)
    assert len(crossings) == 1  # 0 before
    c = crossings[0]
    vx_ml = SP_MM**3 / 1000.0
    width = J1 - J0
    # volumes on each side: the ribbon minus its kerf voxels (A's voxels at k = 11)
    assert c.volume_a_ml == pytest.approx((LEN_A - 1) * width * vx_ml)
    assert c.volume_b_ml == pytest.approx(LEN_B * width * vx_ml)
    assert c.drains_toward == "B"
    # at the step: between i = 10 and 11, k = 11 and 12 (world = index x 3 mm)
    assert 10 * SP_MM <= c.position_mm[0] <= 11 * SP_MM
    assert 11 * SP_MM <= c.position_mm[2] <= 12 * SP_MM
    assert c.position_mm[1] == pytest.approx((J0 + J1 - 1) / 2 * SP_MM)
    # one voxel across: the distance-map diameter is one voxel
    assert c.diameter_mm == pytest.approx(SP_MM)
    # the staged plan of a total union names it in the final operation
    facts = StagingFacts(
        total=True,
        vertical=False,
        bridge_area_mm2=500.0,
        bridge_length_mm=30.0,
        brain_contact_area_mm2=0.0,
    )
    stages = propose_stages(facts, crossings)
    final = [s for s in stages if s.kind == "separation"][-1]
    assert c.id in final.structures
    assert f"{c.id} (3 mm, the only venous segment the cut divides)" in final.rationale


def test_two_lumens_a_voxel_apart_across_the_cut_are_not_a_crossing() -> None:
    # the same, with twin B's lumen one voxel farther (i = 9): the two lumens do not touch
    # (not even at a corner), so the cut divides no vessel
    labels, tw = _stepped(lumen_b_i=9)
    check = verify_separation(tw)
    assert vessel_crossings(labels, tw, check.kerf, kerf_box=check.kerf_box) == []


#: the dumbbell's grid (1 mm voxels, centred on 0)
DB_SHAPE = (70, 50, 56)
#: the ring sinus about the bridge axis x: major radius (mm) beyond the old reach
#: (venous cuff 5 mm + 2 voxels = 7 mm around the crossing's centroid, the ring's centre)
RING_R_MM, RING_r_MM = 11.0, 2.5


def _dumbbell(sinus: str) -> tuple[Volume, Volume]:
    """Two blocks joined by a bridge of soft tissue along x (radius 15 mm), 1 mm voxels,
    the twins' boundary at x = 0, with a shared sinus across that boundary:

    - ``"straight"``: a tube (radius 2.5 mm) along x from -6 to +6 mm at y = 4 mm;
    - ``"ring"``: a circular sinus, a torus about the bridge axis (radius 11 mm, lumen
      2.5 mm) centred on the boundary, as in Stone & Goodrich's total vertical unions.

    Every plane of the bridge has the same area and planes beyond the sinus hold no
    vessel, so the min-cut leaves the sinus wholly to one twin (``test_separate``'s
    dumbbell)."""
    shape = DB_SHAPE
    aff = np.diag([1.0, 1.0, 1.0, 1.0])
    aff[:3, 3] = -((np.array(shape) - 1) / 2.0)
    x, y, z = (
        np.indices(shape).reshape(3, -1).astype(float) - ((np.array(shape) - 1) / 2.0)[:, None]
    )
    lab = np.zeros(x.shape, np.uint8)
    blocks = (np.abs(x) >= 20) & (np.abs(x) <= 33) & (np.abs(y) <= 25) & (np.abs(z) <= 22)
    lab[blocks | ((np.abs(x) < 20) & (np.hypot(y, z) <= 15.0))] = SOFT_TISSUE
    if sinus == "straight":
        lab[(np.hypot(y - 4.0, z) <= 2.5) & (np.abs(x) <= 6.0)] = VESSEL
    else:
        lab[x**2 + (np.hypot(y, z) - RING_R_MM) ** 2 <= RING_r_MM**2] = VESSEL
    tw = np.where(lab > 0, np.where(x < 0, TWIN_A, TWIN_B), 0).astype(np.uint8)
    return Volume(lab.reshape(shape), aff), Volume(tw.reshape(shape), aff)


def _fusion(
    crossing_mm: tuple[float, float, float] | None,
    seeds_mm: list[tuple[float, float, float]] | None = None,
) -> FusionAnalysis:
    """What plan_separation reads of a fusion analysis: a total union of the dumbbell,
    with a shared sinus crossing the boundary at ``crossing_mm`` (None: no shared sinus)
    whose components hold ``seeds_mm``."""
    shared = crossing_mm is not None
    crossings = [SinusCrossing(position_mm=crossing_mm, area_mm2=19.6)] if shared else []
    ns = SimpleNamespace(
        completeness="total",
        type="vertical",
        bridge=SimpleNamespace(
            area_mm2=706.9, length_mm=40.0, centroid_mm=np.zeros(3), axis=np.array([1.0, 0, 0])
        ),
        shared=SimpleNamespace(
            shared_sinus=shared,
            sinus_crossings=crossings,
            sinus_seeds_mm=list(seeds_mm or []),
            brain_contact_area_mm2=0.0,
        ),
    )
    return cast(FusionAnalysis, ns)


#: a voxel centre on each sinus (the fusion's seed): the tube at (0.5, 4.5, 0.5) mm, the
#: ring at (0.5, 10.5, 0.5) mm
SEEDS = {"straight": (0.5, 4.5, 0.5), "ring": (0.5, 10.5, 0.5)}
#: where the fusion puts each crossing: the section's centroid (the ring's: its centre)
CROSSING = {"straight": (0.0, 4.0, 0.0), "ring": (0.0, 0.0, 0.0)}


@pytest.fixture(scope="module")
def dumbbell_plans() -> dict[str, SeparationPlan]:
    plans = {}
    for kind in ("straight", "ring"):
        labels, twins = _dumbbell(kind)
        plans[kind] = plan_separation(labels, twins, _fusion(CROSSING[kind], [SEEDS[kind]]))
    labels, twins = _dumbbell("straight")
    plans["none"] = plan_separation(labels, twins, _fusion(None))
    return plans


@pytest.mark.parametrize("kind", ["straight", "ring"])
def test_a_shared_sinus_left_to_one_twin_is_said_in_the_final_stage(
    dumbbell_plans: dict[str, SeparationPlan], kind: str
) -> None:
    plan = dumbbell_plans[kind]
    labels, twins = _dumbbell(kind)
    sinus = labels.array == VESSEL
    # the fusion's sinus spans both twins before the cut
    assert set(np.unique(twins.array[sinus])) == {TWIN_A, TWIN_B}
    owners = np.unique(plan.twins.array[sinus])
    assert owners.size == 1 and plan.vessel_crossings == []  # the cut ran beside it
    owner = "A" if owners[0] == TWIN_A else "B"
    sinus_ml = np.count_nonzero(sinus) / 1000.0  # 1 mm voxels
    final = [s for s in plan.stages if s.kind == "separation"][-1]
    # the ring: before, no vessel voxel within 7 mm of its centre and no owner said
    assert f"leaves it to twin {owner} (all {sinus_ml:.1f} mL" in final.rationale
    assert "venogram" in final.rationale
    hits = [w for w in plan.warnings if "shared sinus crosses the twins' boundary" in w]
    at = ", ".join(f"{v:.0f}" for v in CROSSING[kind])
    assert len(hits) == 1 and f"to twin {owner} (all" in hits[0] and f"(at {at} mm)" in hits[0]
    # plan.json: the twin, and each twin's share of the sinus measured on its voxels
    assert plan.sinus_left_to == owner
    section = separation_section(plan)
    assert section["shared_sinus_left_to"] == owner
    want = {"A": 0.0, "B": 0.0}
    want[owner] = round(sinus_ml, 2)
    assert section["shared_sinus_ml"] == want


def test_no_shared_sinus_seen_nothing_is_said(dumbbell_plans: dict[str, SeparationPlan]) -> None:
    other = dumbbell_plans["none"]
    assert not any("shared sinus crosses" in w for w in other.warnings)
    assert not any("leaves it to twin" in s.rationale for s in other.stages)
    assert other.sinus_left_to is None and other.sinus_share is None
    assert separation_section(other)["shared_sinus_ml"] is None


def test_sinus_share_counts_the_sinus_components_in_each_twin() -> None:
    # two pieces of a shared sinus (tubes along i) and a vein that is not part of it
    lab = np.zeros((20, 20, 20), np.uint8)
    lab[2:18, 5, 5] = VESSEL  # piece 1: 16 voxels
    lab[2:12, 12, 12] = VESSEL  # piece 2: 10 voxels
    lab[2:18, 16, 3] = VESSEL  # another vein (no seed): not counted
    labels = Volume(lab, np.diag([2.0, 2.0, 2.0, 1.0]))  # 8 uL voxels
    seeds = [(4.0, 10.0, 10.0), (6.0, 24.0, 24.0)]  # voxels (2, 5, 5) and (3, 12, 12)
    vx_ml = 8.0 / 1000
    tw = np.full(lab.shape, TWIN_A, np.uint8)
    # after a cut at j = 10 that divides no vessel: piece 1 in A, piece 2 and the vein in B
    tw[:, 10:, :] = TWIN_B
    share = sinus_share_ml(labels, tw, seeds)
    assert share == SinusShare(a_ml=pytest.approx(16 * vx_ml), b_ml=pytest.approx(10 * vx_ml))
    assert share is not None and share.owner is None  # divided between them
    # the same pieces wholly in one twin
    only_b = sinus_share_ml(labels, np.full(lab.shape, TWIN_B, np.uint8), seeds)
    assert only_b is not None and only_b.owner == "B"
    assert only_b.b_ml == pytest.approx(26 * vx_ml) and only_b.a_ml == 0.0
    # one seed: its component only
    one = sinus_share_ml(labels, tw, seeds[1:])
    assert one is not None and (one.a_ml, one.b_ml) == (0.0, pytest.approx(10 * vx_ml))
    # seeds off the vessels (or off the grid): no sinus
    assert sinus_share_ml(labels, tw, [(0.0, 0.0, 0.0), (500.0, 0.0, 0.0)]) is None


def test_sinus_pieces_left_to_both_twins_are_said_with_both_shares() -> None:
    words = sinus_off_cut_words((5.1234, 3.04))
    assert words == (
        "it runs between the sinus's pieces and leaves 5.1 mL of it to twin A and 3.0 mL to twin B"
    )
    assert sinus_off_cut_words((0.0, 2.26)) == (
        "it runs along the sinus and leaves it to twin B (all 2.3 mL of its labelled lumen)"
    )
    facts = StagingFacts(
        total=True,
        vertical=True,
        bridge_area_mm2=700.0,
        bridge_length_mm=40.0,
        brain_contact_area_mm2=0.0,
        sinus_off_cut_ml=(5.1234, 3.04),
    )
    final = [s for s in propose_stages(facts, []) if s.kind == "separation"][-1]
    assert words in final.rationale and "venogram" in final.rationale


# -- a shared sinus divided only at its tip ------------------------------------------------
# blind at130-occ-c15-fov (docs/separation.md, "A shared sinus divided only at its edge"):
# the cut divided the shared sinus 8.53 / 0.06 mL and the staged plan named a venous
# division after that sliver, as if the shared sinus were divided there.
#: the sinus tube along x (voxel centres -29.5 .. 5.5 mm, 36 slices of 16 voxels) and a
#: thin vein (no seed, 4 voxels a slice) below it
TIP_SEED = (-10.5, 4.5, 0.5)


def _tip_case() -> tuple[Volume, Volume]:
    labels, twins = _dumbbell("straight")
    lab = labels.array.copy()
    lab[lab == VESSEL] = SOFT_TISSUE
    x, y, z = np.meshgrid(
        *[np.arange(n) - (n - 1) / 2.0 for n in DB_SHAPE], indexing="ij", sparse=True
    )
    lab[(np.hypot(y - 4.0, z) <= 2.5) & (x >= -30.0) & (x <= 6.0)] = VESSEL
    lab[(np.hypot(y + 8.0, z) <= 1.5) & (np.abs(x) <= 6.0)] = VESSEL
    return labels.with_array(lab), twins


def _planned_at(plane_x_mm: float) -> SeparationPlan:
    """The tip case with the cut given as the plane x = ``plane_x_mm`` (A below)."""
    labels, twins = _tip_case()
    x = np.arange(DB_SHAPE[0]) - (DB_SHAPE[0] - 1) / 2.0
    tw = twins.array.copy()
    body = tw > 0
    tw[body] = TWIN_A
    tw[(x > plane_x_mm)[:, None, None] & body] = TWIN_B
    cut = CutResult(tw, 15.0, 0, 0, 0.0, 0.0, 0.0, 0)
    return plan_separation(labels, twins, _fusion((0.0, 4.0, 0.0), [TIP_SEED]), cut=cut)


@pytest.fixture(scope="module")
def tip_plans() -> dict[str, SeparationPlan]:
    return {"tip": _planned_at(5.0), "middle": _planned_at(0.0)}


def test_a_sinus_divided_at_its_tip_is_said_to_stay_with_one_twin(
    tip_plans: dict[str, SeparationPlan],
) -> None:
    plan = tip_plans["tip"]
    vx_ml = 1.0 / 1000  # 1 mm voxels
    share = plan.sinus_share
    # 35 slices of the tube in twin A, its last (x = 5.5 mm) in twin B: 2.8 % of it
    assert share is not None
    assert share.a_ml == pytest.approx(35 * 16 * vx_ml) and share.b_ml == pytest.approx(16 * vx_ml)
    assert share.minor_ml == pytest.approx(16 * vx_ml) and share.divided
    # two crossings: the sinus's tip (4.5 mm section) and the thin vein, which is not on it
    on = {c.diameter_mm > 3.0: c.on_sinus for c in plan.vessel_crossings}
    assert on == {True: True, False: False}
    sinus_id = next(c.id for c in plan.vessel_crossings if c.on_sinus)
    assert plan.sinus_division == "edge"
    section = separation_section(plan)
    assert section["shared_sinus_division"] == "edge"
    assert section["shared_sinus_ml"] == {"A": 0.56, "B": 0.02}
    words = "the cut divides the shared sinus only at its edge: twin A keeps 0.6 mL, twin B under 0.1 mL"
    hits = [w for w in plan.warnings if w.startswith(words)]
    assert len(hits) == 1 and f"({sinus_id})" in hits[0] and "twin A keeps the sinus" in hits[0]
    # the stage that divides the sinus's crossing says so, and only that stage
    said = [s for s in plan.stages if "only at its edge" in s.rationale]
    assert len(said) == 1 and sinus_id in said[0].structures
    assert f"({sinus_id}), so twin A keeps the sinus" in said[0].rationale
    assert "does not divide the shared sinus" in said[0].rationale


def test_a_sinus_divided_in_its_middle_is_not_an_edge(tip_plans: dict[str, SeparationPlan]) -> None:
    plan = tip_plans["middle"]
    share = plan.sinus_share
    # 30 slices in A, 6 in B: 17 % of the sinus, over the 5 % of an edge
    assert share is not None and share.minor_ml == pytest.approx(6 * 16 / 1000)
    assert plan.sinus_division == "divided"
    assert not any("only at its edge" in w for w in plan.warnings)
    assert not any("only at its edge" in s.rationale for s in plan.stages)


def test_the_edge_rule_takes_both_the_share_and_the_volume() -> None:
    # a sliver of 0.2 mL: an edge of a 10 mL sinus (2 %), not of a 3 mL one (6.7 %)
    rule = {"max_share": 0.05, "max_ml": 0.25}
    assert SinusShare(9.8, 0.2, 0.2).edge_only(**rule)
    assert not SinusShare(2.8, 0.2, 0.2).edge_only(**rule)
    # 1.0 mL of a 30 mL sinus (3.3 %) is more than a tributary holds: divided
    assert not SinusShare(29.0, 1.0, 1.0).edge_only(**rule)
    # pieces wholly in each twin: not divided at all
    assert not SinusShare(5.0, 0.1, 0.0).edge_only(**rule)
    assert sinus_edge_words((8.53, 0.06)) == (
        "the cut divides the shared sinus only at its edge: twin A keeps 8.5 mL, twin B 0.1 mL"
    )


def test_sinus_share_counts_the_smaller_side_of_each_divided_component() -> None:
    lab = np.zeros((20, 20, 20), np.uint8)
    lab[2:18, 5, 5] = VESSEL  # piece 1: 16 voxels, divided 14 / 2
    lab[2:12, 12, 12] = VESSEL  # piece 2: 10 voxels, wholly in B
    labels = Volume(lab, np.diag([2.0, 2.0, 2.0, 1.0]))  # 8 uL voxels
    tw = np.full(lab.shape, TWIN_B, np.uint8)
    tw[:16, :10, :] = TWIN_A
    share = sinus_share_ml(labels, tw, [(4.0, 10.0, 10.0), (6.0, 24.0, 24.0)])
    assert share is not None
    assert (share.a_ml, share.b_ml) == (pytest.approx(14 * 0.008), pytest.approx(12 * 0.008))
    assert share.minor_ml == pytest.approx(2 * 0.008)  # piece 2's 10 voxels do not count
