"""Bone plan: calvarium fit, missing cap area and template volume against geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from twinsep.errors import InputError
from twinsep.reconstruct.bone import BoneParams, fit_ellipsoid, plan_bone
from twinsep.reconstruct.defects import measure_defects

from .synthetic import R_BONE, rotation, two_heads

CASES = {
    "axis-aligned": {},
    "oblique-anisotropic": {
        "rot": rotation((1, 2, 3), 37),
        "spacing_mm": (1.5, 2.0, 2.5),
        "direction": (1, 1, 0),
    },
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    kw = CASES[request.param]
    labels, twins, truth = two_heads(**kw)
    u = np.asarray(kw.get("direction", (0, 0, 1.0)), dtype=float)
    u /= np.linalg.norm(u)
    # where the voxelised cut really lies: midway between the last A and first B voxels
    w = twins.world_coords(np.argwhere(twins.array > 0))
    s = w @ u
    own = twins.array[twins.array > 0]
    plane = 0.5 * (s[own == 1].max() + s[own == 2].min())
    defects = measure_defects(labels, twins)
    return truth, u, plane, defects, {n: plan_bone(defects[n]) for n in "AB"}


def test_fit_recovers_own_skull(case) -> None:
    truth, u, _, _, plans = case
    d = truth["half_distance_mm"]
    for name, sign in (("A", -1), ("B", 1)):
        fit = plans[name].fit
        # outer bone sphere radius 54 mm (the bone block maximum adds up to ~1 mm)
        assert fit.radii_mm == pytest.approx(np.full(3, R_BONE), abs=1.5)
        assert np.linalg.norm(fit.centre_mm - sign * d * u) < 1.0
        assert fit.rms_mm < 1.0


def test_missing_cap_area_and_volume(case) -> None:
    truth, u, plane, _, plans = case
    d = truth["half_distance_mm"]
    for name, sign in (("A", -1), ("B", 1)):
        p = plans[name]
        dist = abs(sign * d - plane)  # own centre to the cut plane
        h = R_BONE - dist
        cap_mm2 = 2 * math.pi * R_BONE * h
        # 12 %: the rim of the patch is resolved to one sample (~2.5 mm) of a ~30 mm cap
        assert p.missing_area_mm2 == pytest.approx(cap_mm2, rel=0.12)
        # shell sector of the cap's cone, thickness as estimated
        cos_a = dist / R_BONE
        r_in = R_BONE - p.thickness_mm
        vol_ml = 2 * math.pi / 3 * (1 - cos_a) * (R_BONE**3 - r_in**3) / 1000
        assert p.template_volume_ml == pytest.approx(vol_ml, rel=0.15)
        assert p.thickness_mm == pytest.approx(4.0, abs=1.0)  # true skull: 50-54 mm
        m = trimesh.Trimesh(p.vertices_mm, p.faces, process=True)
        assert p.watertight and m.is_watertight and m.volume > 0
        assert p.exceeds_regrowth and "cranioplasty" in p.note


def test_small_defect_not_flagged(case) -> None:
    _, _, _, defects, _ = case
    p = plan_bone(defects["A"], params=BoneParams(regrowth_limit_mm2=1e6))
    assert not p.exceeds_regrowth and "may close" in p.note


def test_ellipsoid_fit_on_analytic_points() -> None:
    rng = np.random.default_rng(3)
    s = rng.normal(size=(400, 3))
    s /= np.linalg.norm(s, axis=1, keepdims=True)
    s = s[s[:, 2] > -0.2]  # only part of the surface, as for a skull with a defect
    rot = rotation((1, 1, 0), 30)
    radii = np.array([70.0, 60.0, 55.0])
    centre = np.array([5.0, -12.0, 30.0])
    pts = centre + (s * radii) @ rot.T
    fit = fit_ellipsoid(pts)
    assert fit.kind == "ellipsoid"
    assert np.sort(fit.radii_mm) == pytest.approx(np.sort(radii), rel=1e-6)
    assert fit.centre_mm == pytest.approx(centre, abs=1e-6)
    with pytest.raises(InputError, match="cannot fit"):
        fit_ellipsoid(pts[:5])


def test_bad_params() -> None:
    with pytest.raises(InputError, match="regrowth_limit_mm2"):
        BoneParams(regrowth_limit_mm2=0)
    with pytest.raises(InputError, match="max_thickness_mm"):
        BoneParams(min_thickness_mm=5, max_thickness_mm=2)


def test_twin_without_skull_gets_no_template_but_a_note() -> None:
    labels, twins, _ = two_heads(spacing_mm=(2.5, 2.5, 2.5))
    lab = labels.array.copy()
    lab[(twins.array == 2) & (lab == 2)] = 1  # twin B's bone not labelled
    d = measure_defects(labels.with_array(lab), twins)
    p = plan_bone(d["B"])
    assert p.fit.kind == "none" and len(p.faces) == 0 and "no cranioplasty template" in p.note
    assert plan_bone(d["A"]).watertight  # the other twin is planned as usual
