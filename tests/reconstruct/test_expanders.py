"""Expander plans: coverage with efficiency, placement rules, schedule, meshes, shortfall."""

from __future__ import annotations

import re
from datetime import date, timedelta

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from twinsep.errors import InputError
from twinsep.reconstruct import expander_geometry as eg
from twinsep.reconstruct.defects import measure_defects
from twinsep.reconstruct.expanders import (
    ExpanderParams,
    expander_mesh,
    plan_expanders,
    plan_needs_warning,
)

from .synthetic import head_frames, two_heads


@pytest.fixture(scope="module")
def vertical():
    # a bridge whose scalp margin leaves room for expanders on the back and the forehead
    labels, twins, _ = two_heads(half_distance_mm=50.0)
    defects = measure_defects(labels, twins, frames=head_frames())
    return defects, plan_expanders(defects, separation_date=date(2027, 3, 1))


def test_expansion_covers_defect_with_efficiency(vertical) -> None:
    defects, plans = vertical
    p = ExpanderParams()
    for name, plan in plans.items():
        assert plan.expanders, plan.message
        # recompute the realised gain from the target volumes alone
        realised = sum(
            p.efficiency.of(e.base.shape) * eg.gain_for_volume_mm2(e.base, e.target_ml)
            for e in plan.expanders
        )
        need = defects[name].scalp_defect_area_mm2
        assert realised == pytest.approx(plan.provided_mm2, rel=1e-9)
        # this case has scalp for the defect: covered, with the full over-expansion if
        # the expanders can hold it, otherwise with all they can hold
        assert plan.shortfall_mm2 == 0
        assert realised >= need * (1 - 1e-6)
        if plan.capacity_mm2 >= need * (1 + p.over_expansion):
            assert realised >= need * (1 + p.over_expansion) * (1 - 1e-6)
        else:
            assert realised == pytest.approx(plan.capacity_mm2, rel=1e-9)
            assert "over-expansion instead of" in plan.message
        # every target fill stays within the expander's nominal volume
        assert all(e.target_ml <= e.nominal_ml * (1 + 1e-9) for e in plan.expanders)
        # margin report: losing the largest expander leaves less than planned
        assert plan.provided_if_largest_fails_mm2 < plan.provided_mm2


def test_expanders_sit_on_available_scalp_apart(vertical) -> None:
    defects, plans = vertical
    p = ExpanderParams()
    for name, plan in plans.items():
        d = defects[name]
        wound = cKDTree(d.wound.points_mm)
        # every expander keeps the wound margin (conforming moves points < 5 mm)
        for e in plan.expanders:
            assert wound.query(e.vertices_mm)[0].min() > 15.0 - 5.0
            # the base centre is on the outer skull, below the skin
            assert cKDTree(d.bone_outer.points_mm).query(e.centre_mm)[0] < 3.0
        for i, e in enumerate(plan.expanders):
            for f in plan.expanders[i + 1 :]:
                gap = cKDTree(e.vertices_mm).query(f.vertices_mm)[0].min()
                assert gap > p.gap_mm / 2, (e.label, f.label)


def test_fill_schedule_rules(vertical) -> None:
    _, plans = vertical
    p = ExpanderParams()
    sep = date(2027, 3, 1)
    last_days = []
    insertions = set()
    for plan in plans.values():
        for e in plan.expanders:
            f = e.fills
            assert f[0].day == 0 and f[0].add_ml <= p.initial_fill_fraction * e.nominal_ml + 0.05
            assert f[1].day == p.first_fill_day
            assert all(b.day - a.day == p.interval_days for a, b in zip(f[1:], f[2:], strict=False))
            assert all(x.add_ml <= p.max_fill_fraction * e.nominal_ml + 0.05 for x in f)
            # whole 0.1 mL fills that add up exactly to the target (to 0.1 mL)
            assert sum(x.add_ml for x in f) == pytest.approx(f[-1].total_ml, abs=1e-9)
            assert f[-1].total_ml == pytest.approx(round(e.target_ml, 1), abs=1e-9)
            insertions.add(f[0].due)
            last_days.append(f[-1].day)
            assert all(x.due == f[0].due + timedelta(days=x.day) for x in f)
    # one insertion operation; the longest schedule ends rest_days before separation
    assert len(insertions) == 1
    assert insertions.pop() + timedelta(days=max(last_days) + p.rest_days) == sep


def test_meshes_are_closed_with_the_target_volume(vertical) -> None:
    _, plans = vertical
    for plan in plans.values():
        for e in plan.expanders:
            m = trimesh.Trimesh(e.vertices_mm, e.faces, process=True)
            assert m.is_watertight
            # conforming to the skull bends the expander: volume within 5 %
            assert m.volume / 1000 == pytest.approx(e.target_ml, rel=0.05)


@pytest.mark.parametrize(
    ("base", "arc"),
    [
        (eg.ExpanderBase("round", 50.0, 50.0), 0.0),
        (eg.ExpanderBase("rectangular", 40.0, 100.0), 0.0),
        (eg.ExpanderBase("rectangular", 40.0, 100.0, rectangular_model="capsule"), 0.0),
        (eg.ExpanderBase("crescent", 40.0, 120.0), 70.0),
    ],
)
def test_local_mesh_matches_formulas(base: eg.ExpanderBase, arc: float) -> None:
    h = 0.8 * base.half_width_mm
    v, f = expander_mesh(base, h, arc_radius_mm=arc, step_mm=1.0)
    m = trimesh.Trimesh(v, f, process=True)
    assert m.is_watertight and m.volume > 0
    # a 1 mm triangulation of the dome: volume and gain within 1.5 %
    assert m.volume / 1000 == pytest.approx(eg.volume_ml(base, h), rel=0.015)
    gain = m.area - 2 * base.base_area_mm2
    assert gain == pytest.approx(eg.gain_mm2(base, h), rel=0.015)


def test_shortfall_message() -> None:
    # a very wide bridge: the defect is large and the remaining scalp small
    labels, twins, _ = two_heads(half_distance_mm=18.0)
    defects = measure_defects(labels, twins, frames=head_frames())
    plans = plan_expanders(defects)
    for name, plan in plans.items():
        need = defects[name].scalp_defect_area_mm2
        m = re.fullmatch(
            rf"scalp of twin {name} can provide (\d+) mm² of the (\d+) mm² needed "
            r"\(short by (\d+) mm²\)",
            plan.message,
        )
        assert m, plan.message
        provide, needed, short = (int(g) for g in m.groups())
        assert needed == round(need)
        assert abs(short - (needed - provide)) <= 1
        assert plan.shortfall_mm2 == pytest.approx(need - plan.capacity_mm2)


def test_deterministic(vertical) -> None:
    defects, plans = vertical
    again = plan_expanders(defects, separation_date=date(2027, 3, 1))
    for name in plans:
        a, b = plans[name], again[name]
        assert [e.label for e in a.expanders] == [e.label for e in b.expanders]
        for x, y in zip(a.expanders, b.expanders, strict=True):
            assert np.array_equal(x.vertices_mm, y.vertices_mm)


def test_no_dates_without_separation_date(vertical) -> None:
    defects, _ = vertical
    plans = plan_expanders(defects)
    assert all(f.due is None for p in plans.values() for e in p.expanders for f in e.fills)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"over_expansion": -0.1}, "over_expansion"),
        ({"shapes": ("oval",)}, "shapes"),
        ({"max_fill_fraction": 0.0}, "max_fill_fraction"),
        ({"rectangular_model": "cube"}, "rectangular_model"),
        ({"max_expanders": 0}, "max_expanders"),
    ],
)
def test_bad_params(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError, match=field):
        ExpanderParams(**kwargs)


def test_valves_off_expanders_and_over_bone(vertical) -> None:
    defects, plans = vertical
    p = ExpanderParams()
    for name, plan in plans.items():
        d = defects[name]
        bone = cKDTree(d.bone_outer.points_mm)
        avail = cKDTree(d.skin.points_mm[d.available])
        for e in plan.expanders:
            assert avail.query(e.valve_mm)[0] < 1e-9  # on available scalp
            assert bone.query(e.valve_mm)[0] <= p.valve_max_depth_mm
            # not on top of any expander: farther from every expander's centre than its
            # half-diagonal (footprints are checked in the planner; this is independent)
            for f in plan.expanders:
                half_diag = 0.5 * np.hypot(f.base.width_mm, f.base.length_mm)
                on_skin = np.linalg.norm(e.valve_mm - f.centre_mm)
                if f.base.shape != "crescent":
                    assert on_skin > 0.5 * f.base.width_mm, (e.label, f.label, half_diag)


def test_catalogue_sizes_are_realistic_and_consistent() -> None:
    from twinsep.reconstruct.catalogue import DEFAULT_CATALOGUE

    codes = [c.code for c in DEFAULT_CATALOGUE]
    assert len(set(codes)) == len(codes)
    for c in DEFAULT_CATALOGUE:
        base = c.base()
        h = eg.height_for_volume_mm(base, c.nominal_ml)
        if base.is_box:
            # a rectangular envelope at its rated volume: 0.4-0.6 of its width high
            assert 0.35 <= h / base.width_mm <= 0.6, c.code
        else:
            # a cap or segment dome, not flatter than 0.8 of a hemisphere, not beyond it
            assert 0.8 <= h / base.half_width_mm <= 1.0, c.code
        if not c.custom:
            # standard paediatric range: bases 4x6 to 8x16 cm, round up to 10 cm
            assert 40.0 <= c.width_mm <= 100.0 and c.length_mm <= 160.0, c.code
            assert 10.0 <= c.nominal_ml <= 500.0, c.code
    assert any(c.custom for c in DEFAULT_CATALOGUE)


def test_catalogue_rejects_a_volume_the_base_cannot_hold() -> None:
    from twinsep.reconstruct.catalogue import CatalogueExpander

    # a 40 mm round expander holds 16.8 mL as a hemisphere; 100 mL would be a tower
    with pytest.raises(InputError, match="O40x.nominal_ml"):
        CatalogueExpander("O40x", "round", 40.0, 40.0, 100.0)
    with pytest.raises(InputError, match="catalogue"):
        ExpanderParams(catalogue=(), shapes=("round",))


def test_plan_uses_catalogue_sizes(vertical) -> None:
    _, plans = vertical
    p = ExpanderParams()
    by_code = {c.code: c for c in p.catalogue}
    for plan in plans.values():
        for e in plan.expanders:
            c = by_code[e.code]
            assert (e.base.shape, e.base.width_mm, e.base.length_mm) == (
                c.shape,
                c.width_mm,
                c.length_mm,
            )
            assert e.nominal_ml == c.nominal_ml and e.custom == c.custom
            assert e.target_ml <= c.nominal_ml + 1e-9


def _sizes(*codes: str):
    from twinsep.reconstruct.catalogue import DEFAULT_CATALOGUE

    return tuple(c for c in DEFAULT_CATALOGUE if c.code in codes)


def test_fewer_larger_expanders_first(vertical) -> None:
    defects, _ = vertical
    # the small sizes alone would need many expanders; the large one is placed first
    params = ExpanderParams(catalogue=_sizes("O40", "O50", "R60x100"))
    plans = plan_expanders(defects, params=params)
    for plan in plans.values():
        assert plan.expanders[0].code == "R60x100", [e.code for e in plan.expanders]


def test_smallest_expander_that_closes_the_gap() -> None:
    # a small defect (half-distance 56 mm, the voxelised cut on the mid-plane): one
    # expander covers it with the margin; the analytic need 1.4 x pi (60^2 - 56^2) =
    # 2041 mm^2 lies between the realised gains of R40x60 (1583) and R50x80 (2470) (the
    # scalp defect read half a working voxel into the twins asked 2503 mm^2: R60x100).
    # The defect, 14.6 cm^2, also asks 7 mL per cm^2 (Aya et al. 2014): 102 mL, more
    # than R50x80's 100 mL, so R60x100 (180 mL) closes it; without the fill rule R50x80.
    labels, twins, _ = two_heads(half_distance_mm=56.0)
    defects = measure_defects(labels, twins, frames=head_frames())
    big_only = plan_expanders(defects, params=ExpanderParams(catalogue=_sizes("R60x100")))
    sizes = _sizes("R40x60", "R50x80", "R60x100")
    off = ExpanderParams(fill_ml_per_cm2=0.0)
    for three, expect in (
        (ExpanderParams(catalogue=sizes), "R60x100"),
        (ExpanderParams(catalogue=sizes, fill_ml_per_cm2=0.0), "R50x80"),
    ):
        plans = plan_expanders(defects, params=three)
        for name, plan in plans.items():
            # the large size fits on its own, so choosing a smaller one is a preference
            assert [e.code for e in big_only[name].expanders] == ["R60x100"]
            required = plan.required_mm2
            assert len(plan.expanders) == 1
            e = plan.expanders[0]
            chosen = p_cap(by_code(three, e.code), three)
            # the plan reports the realised gain at nominal; the placement counted it
            # capped by the fill rule
            assert e.capacity_mm2 == pytest.approx(p_cap(by_code(three, e.code), off))
            assert chosen >= required
            # the smallest size whose capacity covers the need (R40x60 does not)
            smaller = [
                c.code
                for c in three.catalogue
                if required <= p_cap(c, three) < chosen  # a cheaper size would also do
            ]
            assert not smaller, (e.code, smaller)
            assert e.code == expect, (three.fill_ml_per_cm2, e.code)
            # the fill the rule asks, at the target fill
            assert 100 * e.target_ml >= three.fill_ml_per_cm2 * plan.defect_area_mm2 - 1e-6
            assert plan.fill_ml_per_cm2 == pytest.approx(100 * e.target_ml / plan.defect_area_mm2)


def by_code(params: ExpanderParams, code: str):
    return next(c for c in params.catalogue if c.code == code)


def p_cap(item, params: ExpanderParams) -> float:
    """Capacity of a catalogue size, recomputed from the geometry module: the realised
    gain at nominal, capped at (1 + over-expansion) x nominal / the fill per cm^2."""
    base = item.base(params.rectangular_model)
    gain = params.efficiency.of(base.shape) * eg.gain_for_volume_mm2(base, item.nominal_ml)
    if params.fill_ml_per_cm2 == 0:
        return gain
    return min(gain, (1 + params.over_expansion) * item.nominal_ml * 100 / params.fill_ml_per_cm2)


def test_no_custom_sizes_when_not_allowed(vertical) -> None:
    defects, _ = vertical
    plans = plan_expanders(defects, params=ExpanderParams(allow_custom=False))
    assert all(not e.custom for p in plans.values() for e in p.expanders)


def test_more_first_choices_never_cover_less(vertical) -> None:
    defects, plans = vertical
    wider = plan_expanders(
        defects, separation_date=date(2027, 3, 1), params=ExpanderParams(first_choices=3)
    )
    for name, plan in plans.items():
        # the greedy plan is one of the alternatives: coverage can only grow
        cover = min(plan.capacity_mm2, plan.required_mm2)
        assert min(wider[name].capacity_mm2, wider[name].required_mm2) >= cover - 1e-6


def test_expander_normal_is_the_scalp_normal(vertical) -> None:
    """Each expander's outward normal (plan.json ``normal``, the frame that orients its
    footprint) is the sphere's radial direction at its centre. A single marching-cubes
    face normal of the voxel surface was off by up to 13.8 deg here (1.8-13.8 deg);
    the mean over ``normal_radius_mm`` is within 0.5 deg."""
    _, plans = vertical
    centres = {"A": np.array([0.0, 0.0, -50.0]), "B": np.array([0.0, 0.0, 50.0])}
    for name, plan in plans.items():
        assert plan.expanders
        for e in plan.expanders:
            radial = e.centre_mm - centres[name]
            radial /= np.linalg.norm(radial)
            err = np.degrees(np.arccos(np.clip(radial @ e.frame[2], -1.0, 1.0)))
            assert err < 1.5, (e.label, err)


def test_capacity_by_hand_with_the_fill_rule() -> None:
    """Box model by hand: R40x60 at 50 mL is 20.83 mm high, gains 2 h (40 + 60) =
    4167 mm^2, realised 0.38 x that = 1583 mm^2, but its 50 mL close only 50 / 7 cm^2 of
    defect at 7 mL per cm^2 (Aya et al. 2014): 1.4 x 714 = 1000 mm^2 of the need.
    R60x120 at 250 mL: h 34.72 mm, gain 12 500, realised 4750 mm^2 < 1.4 x 3571 = 5000
    (the gain limits it)."""
    from twinsep.reconstruct.expanders import _capacity

    p, off = ExpanderParams(), ExpanderParams(fill_ml_per_cm2=0.0)
    r4060, r60120 = _sizes("R40x60")[0], _sizes("R60x120")[0]
    assert _capacity(r4060, r4060.base(), p) == pytest.approx(1000.0, rel=1e-9)
    assert _capacity(r4060, r4060.base(), off) == pytest.approx(0.38 * 2 * 50000 / 24, rel=1e-9)
    assert _capacity(r60120, r60120.base(), p) == pytest.approx(0.38 * 12500.0, rel=1e-9)
    with pytest.raises(InputError, match="fill_ml_per_cm2"):
        ExpanderParams(fill_ml_per_cm2=-1.0)


def test_covered_plans_hold_the_fill_per_cm2(vertical) -> None:
    """Where the capacities reach defect x 1.4, the target fills hold at least 7 mL per cm^2
    of defect, and each fill is the larger of its gain's volume and its share of that."""
    from twinsep.reconstruct.expanders import _capacity

    defects, plans = vertical
    p = ExpanderParams()
    by = {c.code: c for c in p.catalogue}
    for name, plan in plans.items():
        need = defects[name].scalp_defect_area_mm2
        counted = sum(_capacity(by[e.code], e.base, p) for e in plan.expanders)
        assert plan.expanders and counted >= need * (1 + p.over_expansion) * (1 - 1e-9)
        total_ml = sum(e.target_ml for e in plan.expanders)
        assert 100 * total_ml >= p.fill_ml_per_cm2 * need * (1 - 1e-9), (name, total_ml)
        assert plan.fill_ml_per_cm2 >= p.fill_ml_per_cm2 * (1 - 1e-9)


def test_no_expander_larger_than_its_scalp() -> None:
    """Available scalp cut down to the back of the head (the half behind the ears seen
    from the brain centre, about 12 000 mm^2): no expander is larger than that scalp
    (the custom R100x200, 20 000 mm^2, is not placed)."""
    import dataclasses

    labels, twins, _ = two_heads(half_distance_mm=50.0)
    frames = head_frames()
    defects = measure_defects(labels, twins, frames=frames)
    cut = {}
    for name, d in defects.items():
        rel = d.skin.points_mm - d.brain_centre_mm
        cos = -(rel @ frames[name].face_dir) / np.linalg.norm(rel, axis=1)
        avail = d.available & (cos > 0.0)  # behind the ears
        cut[name] = dataclasses.replace(d, available=avail)
    params = ExpanderParams(catalogue=_sizes("R100x200-custom", "R60x120", "R40x60"))
    plans = plan_expanders(cut, params=params)
    for name, plan in plans.items():
        d = cut[name]
        scalp = float(d.skin.areas_mm2[d.available].sum())
        assert 10000 < scalp < 14000, scalp
        assert plan.expanders, plan.message
        for e in plan.expanders:
            assert e.base.width_mm * e.base.length_mm <= scalp, (e.code, scalp)
            assert e.code != "R100x200-custom"
        # short of the fill rule: the message says so, with its source
        # (said where the gain covers the defect; a gain shortfall is said first)
        if plan.fill_ml_per_cm2 < params.fill_ml_per_cm2 and plan.shortfall_mm2 == 0:
            assert "Aya et al. 2014" in plan.message, plan.message


def test_fill_short_of_the_rule_is_said() -> None:
    """The d = 45 mm union: the scalp holds three expanders whose realised gain covers the
    defect (4715 mm^2) but whose 245-280 mL are 5.2-5.9 mL per cm^2: the message says
    so, with its source."""
    labels, twins, _ = two_heads(half_distance_mm=45.0)
    plans = plan_expanders(measure_defects(labels, twins, frames=head_frames()))
    for plan in plans.values():
        assert plan.shortfall_mm2 == 0 and plan.fill_ml_per_cm2 < 7.0
        assert f"{plan.fill_ml_per_cm2:.1f} mL per cm² of defect" in plan.message
        assert "Aya et al. 2014" in plan.message, plan.message
        # ... and in the plan's warnings, also for a twin covered with the full margin
        # (UXA, session 28: the report said it, plan.json and the CLI did not)
        assert plan_needs_warning(plan, ExpanderParams())
        low_rule = ExpanderParams(fill_ml_per_cm2=5.0)
        assert plan_needs_warning(plan, low_rule) == (plan.margin < low_rule.over_expansion)
    # one twin is covered with the full 40 % margin: only the fill rule warns there
    assert any(p.margin >= ExpanderParams().over_expansion for p in plans.values())
