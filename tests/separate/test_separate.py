"""Min-cut separation, its proof, vessel crossings and the staged plan on hand-made cases."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from twinsep.anaesthesia.bleeding import SinusFacts, stage_bleeding
from twinsep.errors import ConfigError
from twinsep.fusion import analyse_fusion
from twinsep.readout import vessel_width_text
from twinsep.separate import plan_separation
from twinsep.separate.mincut import min_cut_twins, verify_separation
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parents[1] / "fusion"))
from handmade_pairs import make_pair  # noqa: E402


def _dumbbell(sinus_half_len_mm: float | None, spacing=(1.0, 1.2, 0.9)):
    """Two blocks joined by a cylinder along world x; optional sinus tube along the bridge.

    The twins' boundary is the plane x = 0 (the cheapest plane); a tube of radius 2.5 mm
    along x from -L to +L crosses it. Returns labels, twins, affine, bridge radius.
    """
    shape = (70, 50, 56)
    aff = np.diag([*spacing, 1.0])
    aff[:3, 3] = -aff[:3, :3] @ ((np.array(shape) - 1) / 2.0)
    xyz = np.indices(shape).reshape(3, -1).T @ aff[:3, :3].T + aff[:3, 3]
    x, y, z = xyz.T
    lab = np.zeros(xyz.shape[0], np.uint8)
    r_bridge = 14.0
    blocks = (np.abs(x) >= 20) & (np.abs(x) <= 33) & (np.abs(y) <= 25) & (np.abs(z) <= 22)
    bridge = (np.abs(x) < 20) & (np.hypot(y, z) <= r_bridge)
    lab[blocks | bridge] = 1
    if sinus_half_len_mm is not None:
        tube = (np.hypot(y - 4.0, z) <= 2.5) & (np.abs(x) <= sinus_half_len_mm)
        lab[tube] = 5
    tw = np.where(lab > 0, np.where(x < 0, 1, 2), 0).astype(np.uint8)
    sh = shape
    return lab.reshape(sh), tw.reshape(sh), aff, r_bridge


def test_cut_goes_around_a_sinus_when_a_vessel_free_cut_exists() -> None:
    # The plane x = 0 crosses a short sinus (x in [-6, 6] mm); a plane at x = 8 mm
    # has the same area and no vessel: the min-cut must take it.
    lab, tw, aff, r = _dumbbell(6.0)
    labels, twins = Volume(lab, aff), Volume(tw, aff)
    res = min_cut_twins(labels, twins)
    check = verify_separation(res.twins)
    sinus = lab == 5
    owners = np.unique(res.twins[sinus])
    assert owners.size == 1  # the whole sinus stays with one twin: not divided
    assert (
        not (check.kerf & sinus & (res.twins == 1)).any()
        or not (check.kerf & sinus & (res.twins == 2)).any()
    )
    # the plane cut would have crossed it: the original boundary holds sinus on both sides
    assert np.unique(tw[sinus]).size == 2


def test_unavoidable_vessel_is_reported_with_diameter() -> None:
    # A sinus along the whole bridge cannot be avoided: one crossing, 5 mm across.
    p = make_pair(sinus="sagittal", spacing=(1.9, 1.9, 1.9), shape=(110, 110, 110))
    labels, twins = Volume(p.labels, p.affine), Volume(p.twins, p.affine)
    fusion = analyse_fusion(labels, twins)
    plan = plan_separation(labels, twins, fusion)
    assert len(plan.vessel_crossings) == 1
    c = plan.vessel_crossings[0]
    # tube radius 3.5 mm -> 7 mm; one voxel (1.9 mm) of tolerance
    assert c.diameter_mm == pytest.approx(7.0, abs=1.9)
    assert np.linalg.norm(np.asarray(c.position_mm) - 6.0 * _e1(p.bridge_axis)) < 4.0
    assert any("cut divides 1 vessel" in w for w in plan.warnings)
    assert plan.area_mm2_by_tissue["vessel"] > 0
    # one width for the vessel in every sentence (whole mm, twinsep.readout): the warning
    # said "7 mm" and the bleeding flag "6.8 mm wide" (the report's table 6.8) before
    width = vessel_width_text(c.diameter_mm)
    assert any(f"{c.id} ({width} at " in w for w in plan.warnings), plan.warnings
    final = [s for s in plan.stages if s.kind == "separation"][-1]
    if len(plan.stages) > 1 and c.id in final.structures:
        assert f"{c.id} ({width}, " in final.rationale, final.rationale
    flags = stage_bleeding(plan.stages, plan.vessel_crossings, SinusFacts(), large_vessel_mm=3.0)
    said = [r for f in flags for r in f.reasons if c.id in r]
    assert said and all(f"{c.id}, {width} wide" in r for r in said), said


def _e1(v: np.ndarray) -> np.ndarray:
    helper = np.eye(3)[int(np.argmin(np.abs(v)))]
    e1 = np.cross(v, helper)
    return e1 / np.linalg.norm(e1)


def test_plan_proves_separation_and_areas_add_up() -> None:
    p = make_pair(sinus="ring")
    labels, twins = Volume(p.labels, p.affine), Volume(p.twins, p.affine)
    before = hashlib.sha256(p.labels.tobytes() + p.twins.tobytes()).hexdigest()
    fusion = analyse_fusion(labels, twins)
    plan = plan_separation(labels, twins, fusion)
    assert hashlib.sha256(p.labels.tobytes() + p.twins.tobytes()).hexdigest() == before
    assert plan.check["separated"] and plan.check["connectivity"] == 26
    assert plan.check["pieces_a"] == 1 and plan.check["pieces_b"] == 1
    # cut area: the bridge disc (pi r^2) plus at most a detour; never below the disc
    disc = np.pi * p.bridge_radius_mm**2
    assert 0.95 * disc <= plan.area_mm2 <= 1.6 * disc
    assert sum(plan.area_mm2_by_tissue.values()) == pytest.approx(plan.area_mm2, rel=0.01)
    seps = [s for s in plan.stages if s.kind == "separation"]
    assert sum(s.area_mm2 for s in seps) == pytest.approx(plan.area_mm2, rel=0.01)
    # every cut voxel carries a separation stage number
    numbers = set(np.unique(plan.cut.array)) - {0}
    assert numbers <= {s.number for s in seps} and numbers
    assert plan.twins.array[(p.twins > 0)].min() >= 1  # every body voxel keeps a twin


def test_n_stages_and_stage_file(tmp_path: Path) -> None:
    p = make_pair(sinus="sagittal", spacing=(1.9, 1.9, 1.9), shape=(110, 110, 110))
    labels, twins = Volume(p.labels, p.affine), Volume(p.twins, p.affine)
    fusion = analyse_fusion(labels, twins)
    plan3 = plan_separation(labels, twins, fusion, n_stages=3)
    assert sum(s.kind == "separation" for s in plan3.stages) == 3
    assert plan3.stages[-1].kind == "separation"
    assert "vessel-1" in plan3.stages[-1].structures  # the only (dominant) sinus last
    good = tmp_path / "stages.yaml"
    good.write_text(
        "stages:\n"
        "  - {name: Expanders, kind: preparatory, action: tissue_expander}\n"
        "  - {name: Sinus first, kind: separation, structures: [vessel-1]}\n"
        "  - {name: The rest, kind: separation}\n"
    )
    user = plan_separation(labels, twins, fusion, stages_path=good)
    assert [s.name for s in user.stages] == ["Expanders", "Sinus first", "The rest"]
    assert user.stage_file and "vessel-1" in user.stages[1].structures
    assert user.stages[1].area_mm2 > 0 and user.stages[2].area_mm2 > 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "stages:\n"
        "  - {name: One, kind: separation, structures: [vessel-1]}\n"
        "  - {name: Two, kind: separation, structures: [vessel-1]}\n"
    )
    with pytest.raises(ConfigError, match=r"stage 2 'Two': vessel-1 is already divided"):
        plan_separation(labels, twins, fusion, stages_path=bad)
    bad.write_text("stages:\n  - {name: X, kind: separation, structures: [vessel-9]}\n")
    with pytest.raises(ConfigError, match=r"stage 1 'X': unknown structure 'vessel-9'"):
        plan_separation(labels, twins, fusion, stages_path=bad)
    bad.write_text(
        "stages:\n  - {name: Cut, kind: separation}\n"
        "  - {name: Late, kind: preparatory, action: tissue_expander}\n"
    )
    with pytest.raises(ConfigError, match=r"stage 2 'Late'.*after the final separation"):
        plan_separation(labels, twins, fusion, stages_path=bad)
    bad.write_text("stages:\n  - {name: Odd, kind: surgery}\n")
    with pytest.raises(ConfigError) as err:
        plan_separation(labels, twins, fusion, stages_path=bad)
    assert "\n" not in err.value.one_line() and "Odd" in err.value.one_line()


def test_partial_fusion_is_one_stage_and_crosses_no_vessel() -> None:
    p = make_pair(sinus="separate")
    labels, twins = Volume(p.labels, p.affine), Volume(p.twins, p.affine)
    fusion = analyse_fusion(labels, twins)
    plan = plan_separation(labels, twins, fusion)
    assert plan.vessel_crossings == []
    assert sum(s.kind == "separation" for s in plan.stages) == 1
    assert plan.area_mm2_by_tissue["vessel"] == 0.0


def test_coarse_to_fine_matches_the_direct_cut() -> None:
    # Forcing the coarse-to-fine path (tiny node budget) must still avoid the short sinus
    # and give a cut whose area is within 15 % of the direct solve.
    from twinsep.separate import CutParams

    lab, tw, aff, _ = _dumbbell(6.0)
    labels, twins = Volume(lab, aff), Volume(tw, aff)
    direct = min_cut_twins(labels, twins)
    coarse = min_cut_twins(labels, twins, params=CutParams(max_fine_nodes=5_000))
    sinus = lab == 5
    assert np.unique(coarse.twins[sinus]).size == 1
    from twinsep.fusion import interface_area_mm2

    a_direct = interface_area_mm2(direct.twins == 1, direct.twins == 2, aff)
    a_coarse = interface_area_mm2(coarse.twins == 1, coarse.twins == 2, aff)
    assert a_coarse == pytest.approx(a_direct, rel=0.15)
    assert verify_separation(coarse.twins).separated


def test_last_stage_names_the_widest_segment_not_a_dominant_drainage() -> None:
    """The stage text does not call a crossing 'the dominant drainage' (a drainage share
    is not measured): one crossing is 'the only', several 'the widest'."""
    from twinsep.separate.crossings import VesselCrossing
    from twinsep.separate.staging import StagingFacts, propose_stages

    facts = StagingFacts(
        total=True,
        vertical=True,
        bridge_area_mm2=4000.0,
        bridge_length_mm=20.0,
        brain_contact_area_mm2=0.0,
    )

    def crossing(i: int, d: float) -> VesselCrossing:
        return VesselCrossing(f"vessel-{i}", (0.0, 0.0, float(i)), d, 1.0, 1.0, "A")

    one = propose_stages(facts, [crossing(1, 1.9)], n_stages=2)
    assert "(2 mm, the only venous segment the cut divides)" in one[-1].rationale
    two = propose_stages(facts, [crossing(1, 2.0), crossing(2, 6.0)], n_stages=2)
    assert "vessel-2 (6 mm, the widest venous segment the cut divides)" in two[-1].rationale
    assert all("dominant drainage" not in s.rationale for s in one + two)
