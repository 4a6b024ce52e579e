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
from twinsep.labels import CSF, TWIN_A, TWIN_B, VESSEL
from twinsep.separate import SeparationPlan, plan_separation
from twinsep.separate.crossings import edge_link, sinus_owner, vessel_crossings
from twinsep.separate.mincut import verify_separation
from twinsep.separate.stage import separation_section
from twinsep.separate.staging import StagingFacts, propose_stages
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


def _dumbbell_with_short_sinus() -> tuple[Volume, Volume]:
    """Two blocks joined by a bridge of soft tissue along x, a sinus tube (radius 2.5 mm)
    from x = -6 to +6 mm across the twins' boundary x = 0, 1 mm voxels.

    The plane x = 8 mm has the same area and no vessel, so the min-cut leaves the tube
    wholly to one twin (``test_separate``'s dumbbell)."""
    shape = (70, 50, 56)
    aff = np.diag([1.0, 1.0, 1.0, 1.0])
    aff[:3, 3] = -((np.array(shape) - 1) / 2.0)
    x, y, z = (
        np.indices(shape).reshape(3, -1).astype(float) - ((np.array(shape) - 1) / 2.0)[:, None]
    )
    lab = np.zeros(x.shape, np.uint8)
    blocks = (np.abs(x) >= 20) & (np.abs(x) <= 33) & (np.abs(y) <= 25) & (np.abs(z) <= 22)
    lab[blocks | ((np.abs(x) < 20) & (np.hypot(y, z) <= 14.0))] = 1
    lab[(np.hypot(y - 4.0, z) <= 2.5) & (np.abs(x) <= 6.0)] = VESSEL
    tw = np.where(lab > 0, np.where(x < 0, TWIN_A, TWIN_B), 0).astype(np.uint8)
    return Volume(lab.reshape(shape), aff), Volume(tw.reshape(shape), aff)


def _fusion(shared: bool) -> FusionAnalysis:
    """What plan_separation reads of a fusion analysis: a total union of the dumbbell,
    with the tube as its shared sinus crossing the boundary at (0, 4, 0) mm or not."""
    crossings = [SinusCrossing(position_mm=(0.0, 4.0, 0.0), area_mm2=19.6)] if shared else []
    ns = SimpleNamespace(
        completeness="total",
        type="vertical",
        bridge=SimpleNamespace(
            area_mm2=615.8, length_mm=40.0, centroid_mm=np.zeros(3), axis=np.array([1.0, 0, 0])
        ),
        shared=SimpleNamespace(
            shared_sinus=shared, sinus_crossings=crossings, brain_contact_area_mm2=0.0
        ),
    )
    return cast(FusionAnalysis, ns)


@pytest.fixture(scope="module")
def dumbbell_plans() -> dict[bool, SeparationPlan]:
    labels, twins = _dumbbell_with_short_sinus()
    return {s: plan_separation(labels, twins, _fusion(s)) for s in (True, False)}


def test_a_shared_sinus_left_to_one_twin_is_said_in_the_final_stage(
    dumbbell_plans: dict[bool, SeparationPlan],
) -> None:
    plan = dumbbell_plans[True]
    labels, _ = _dumbbell_with_short_sinus()
    sinus = labels.array == VESSEL
    owners = np.unique(plan.twins.array[sinus])
    assert owners.size == 1 and plan.vessel_crossings == []  # the cut ran beside the tube
    owner = "A" if owners[0] == TWIN_A else "B"
    final = [s for s in plan.stages if s.kind == "separation"][-1]
    assert f"leaves it to twin {owner}" in final.rationale
    assert "venogram" in final.rationale
    hits = [w for w in plan.warnings if "shared sinus crosses the twins' boundary" in w]
    assert len(hits) == 1 and f"to twin {owner}" in hits[0] and "(at 0, 4, 0 mm)" in hits[0]
    # plan.json's separation.shared_sinus_left_to: the report's summary names the twin
    assert plan.sinus_left_to == owner and separation_section(plan)["shared_sinus_left_to"] == owner
    # no shared sinus seen by the fusion: nothing said
    other = dumbbell_plans[False]
    assert not any("shared sinus crosses" in w for w in other.warnings)
    assert not any("leaves it to twin" in s.rationale for s in other.stages)
    assert other.sinus_left_to is None


def test_sinus_owner_reads_the_vessel_voxels_near_the_points() -> None:
    lab = np.zeros((20, 20, 20), np.uint8)
    tw = np.ones_like(lab)
    tw[10:] = TWIN_B
    lab[8:13, 10, 10] = VESSEL  # 2 voxels in A (i 8, 9), 3 in B (i 10..12)
    labels = Volume(lab, np.diag([2.0, 2.0, 2.0, 1.0]))
    assert sinus_owner(labels, tw, [(20.0, 20.0, 20.0)], 5.0) == "B"
    # within 2.5 mm of i = 9: i 8, 9 (A) and 10 (B)
    assert sinus_owner(labels, tw, [(18.0, 20.0, 20.0)], 2.5) == "A"
    assert sinus_owner(labels, tw, [(0.0, 0.0, 0.0)], 5.0) is None
