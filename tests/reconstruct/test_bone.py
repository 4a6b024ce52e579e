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
    truth = dict(truth, max_spacing_mm=float(max(labels.spacing_mm)))
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
        # the cap over the opening plus the overlap band over the own bone around it
        angle = math.acos(dist / R_BONE) + BoneParams().overlap_mm / R_BONE
        cap_mm2 = 2 * math.pi * R_BONE**2 * (1 - math.cos(angle))
        # 2.5 %: the rim on the cut within a quarter voxel, the patch's edge at the
        # widening on average (it read 3.3-7.4 % over when the rim lay 0.7 voxel out)
        assert p.missing_area_mm2 == pytest.approx(cap_mm2, rel=0.025)
        # shell sector of the cap's cone, thickness as estimated, outward (an onlay
        # resting on the skull)
        cos_a = math.cos(angle)
        r_out = R_BONE + p.thickness_mm
        vol_ml = 2 * math.pi / 3 * (1 - cos_a) * (r_out**3 - R_BONE**3) / 1000
        assert p.template_volume_ml == pytest.approx(vol_ml, rel=0.03)
        # true skull: 50-54 mm; measured across the plate in world mm (along the
        # index-space normal it read 4.32 mm on the oblique 1.5 x 2 x 2.5 mm grid)
        assert p.thickness_mm == pytest.approx(4.0, abs=0.2)
        m = trimesh.Trimesh(p.vertices_mm, p.faces, process=True)
        assert p.watertight and m.is_watertight and m.volume > 0
        assert p.exceeds_regrowth and "cranioplasty" in p.note


def _directions(x: np.ndarray, centre: np.ndarray) -> np.ndarray:
    v = x - centre
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_template_covers_the_opening_with_the_overlap(case) -> None:
    """The cut leaves a sphere-cap opening in each skull (polar angle acos(dist / R)):
    the template is that cap plus the overlap band (cap of acos(dist / R) + overlap / R)
    within a voxel shell, and every point of the bone rim, seen from the fit centre,
    lies inside the template at least the overlap less one sample from its edge. The
    template used to end at or short of the rim: 6-7 % under the bare cap here (28-30 %
    under the cap and overlap), twin B smaller than its own defect (2537 mm² for 2828
    at 2 mm)."""
    truth, u, plane, defects, plans = case
    d = truth["half_distance_mm"]
    overlap = BoneParams().overlap_mm
    for name, sign in (("A", -1), ("B", 1)):
        p = plans[name]
        dist = abs(sign * d - plane)
        for ov, params in ((overlap, BoneParams()), (0.0, BoneParams(overlap_mm=0.0))):
            q = p if ov else plan_bone(defects[name], params=params)
            angle = math.acos(dist / R_BONE) + ov / R_BONE
            cap = 2 * math.pi * R_BONE**2 * (1 - math.cos(angle))
            # the bare cap and with the overlap within 2.5 % (with the rim 0.7 voxel out
            # and the bare patch cut at whole samples: -2.2 to +7.4 %)
            assert q.missing_area_mm2 == pytest.approx(cap, rel=0.025), (name, ov)
        assert p.missing_area_mm2 > defects[name].bone_defect_area_mm2 + 0.5 * overlap * (
            defects[name].bone_rim_length_mm
        )
        # seen from the fit centre, every rim point lies on the template (a sample of
        # its outer face within 2 mm) and the overlap less a sample from its outer edge
        n_out = len(p.vertices_mm) // 2
        outer_faces = p.faces[(p.faces < n_out).all(axis=1)]
        m = trimesh.Trimesh(p.vertices_mm[:n_out], outer_faces, process=False)
        rim_edges = m.edges_sorted[trimesh.grouping.group_rows(m.edges_sorted, require_count=1)]

        rim_dir = _directions(defects[name].bone_rim_mm, p.fit.centre_mm)

        def gaps_mm(x: np.ndarray, rim_dir: np.ndarray = rim_dir, c: np.ndarray = p.fit.centre_mm):
            cos = np.clip(rim_dir @ _directions(x, c).T, -1.0, 1.0)
            return R_BONE * np.arccos(cos).min(axis=1)

        assert gaps_mm(p.vertices_mm[:n_out]).max() < 2.0
        assert gaps_mm(p.vertices_mm[np.unique(rim_edges)]).min() >= overlap - 2.0


def _layers(p, centre: np.ndarray, toward: np.ndarray):
    """Radii about the twin's centre of the template's two layers (the one on the skull's
    outer contour first), its polar angles from the union axis and its edge vertices."""
    n = len(p.vertices_mm) // 2
    rel = p.vertices_mm - centre
    r = np.linalg.norm(rel, axis=1)
    polar = np.arccos(np.clip((rel / r[:, None]) @ toward, -1.0, 1.0))
    m = trimesh.Trimesh(p.vertices_mm[:n], p.faces[(p.faces < n).all(axis=1)], process=False)
    edge = np.unique(m.edges_sorted[trimesh.grouping.group_rows(m.edges_sorted, require_count=1)])
    return r[:n], r[n:], polar[:n], edge


def test_onlay_rests_on_the_skull_and_inlay_fills_the_opening(case) -> None:
    """Gap and overlap against the analytic outer skull (radius 54 mm about the twin's
    centre, the opening a cap of polar angle acos(dist / 54)). The onlay (default): the
    face on the skull within half a voxel of it, the other a thickness outside, nothing
    inside the bone, the edge ``overlap_mm`` beyond the rim. The inlay: the outer face
    flush with the skull, the inner a thickness inside, the edge on the rim (a quarter
    voxel on average; cut along the rim, each edge vertex within 0.6 of the largest
    voxel edge). The template's band lay in the bone before (its inner face 4 mm inside the skull)."""
    truth, u, plane, defects, plans = case
    d = truth["half_distance_mm"]
    voxel = 2.0  # the mean voxel edge of both grids (2 mm; 1.5 x 2 x 2.5 mm)
    for name, sign in (("A", -1.0), ("B", 1.0)):
        centre, toward = sign * d * u, -sign * u
        alpha = math.acos(abs(sign * d - plane) / R_BONE)
        onlay = plans[name]
        t = onlay.thickness_mm
        on_skull, outer, polar, edge = _layers(onlay, centre, toward)
        assert np.abs(on_skull - R_BONE).max() < 0.5 * voxel, name
        assert np.abs(outer - R_BONE - t).max() < 0.5 * voxel, name
        assert min(on_skull.min(), outer.min()) > R_BONE - 0.5 * voxel, name
        beyond = R_BONE * (polar[edge] - alpha)
        assert np.median(beyond) == pytest.approx(BoneParams().overlap_mm, abs=0.25 * voxel)
        inlay = plan_bone(defects[name], params=BoneParams(fit="inlay"))
        assert inlay.thickness_mm == t and inlay.watertight
        flush, inner, polar, edge = _layers(inlay, centre, toward)
        assert np.abs(flush - R_BONE).max() < 0.5 * voxel, name
        assert np.abs(inner - R_BONE + t).max() < 0.5 * voxel, name
        gap = R_BONE * (polar[edge] - alpha)
        assert abs(float(np.median(gap))) < 0.25 * voxel, (name, np.median(gap))
        # cut along the rim (bone_edge): every edge vertex within 0.6 of the largest
        # voxel edge (0.59-0.80 mm on 2 mm, 1.21 on 1.5 x 2 x 2.5 mm; at whole samples
        # of the fitted surface 1.50-1.58 and 1.76-2.05 mm), the edge as long as the
        # rim within 2 % (a staircase of samples: +9 to +12 %)
        big = 0.6 * truth["max_spacing_mm"]
        assert np.abs(gap).max() < big, (name, np.abs(gap).max())
        assert _edge_length_mm(inlay) == pytest.approx(
            2 * math.pi * R_BONE * math.sin(alpha), rel=0.02
        ), name
        assert inlay.missing_area_mm2 == pytest.approx(
            2 * math.pi * R_BONE**2 * (1 - math.cos(alpha)), rel=0.025
        )


def _edge_length_mm(p) -> float:
    """Length of the outer edge of a template's face on the skull's contour."""
    n = len(p.vertices_mm) // 2
    m = trimesh.Trimesh(p.vertices_mm[:n], p.faces[(p.faces < n).all(axis=1)], process=False)
    e = m.edges_sorted[trimesh.grouping.group_rows(m.edges_sorted, require_count=1)]
    return float(np.linalg.norm(m.vertices[e[:, 0]] - m.vertices[e[:, 1]], axis=1).sum())


def test_inlay_edge_on_the_rim_on_a_fine_grid() -> None:
    """On a 1 mm grid the inlay's edge lies on the spherical cap's rim (polar angle
    acos(dist / 54) about the twin's centre) within half a voxel at every edge vertex,
    its length the rim's within 2 % and its area the cap's within 2.5 %. Cut at whole
    samples of the fitted surface (about 2 mm apart on this vault) the edge lay up to
    1.18 mm off the rim and was 10 % longer than it."""
    labels, twins, truth = two_heads(spacing_mm=(1.0, 1.0, 1.0))
    d = truth["half_distance_mm"]
    w = twins.world_coords(np.argwhere(twins.array > 0))[:, 2]
    own = twins.array[twins.array > 0]
    plane = 0.5 * (w[own == 1].max() + w[own == 2].min())
    defects = measure_defects(labels, twins)
    u = np.array([0.0, 0.0, 1.0])
    for name, sign in (("A", -1.0), ("B", 1.0)):
        alpha = math.acos(abs(sign * d - plane) / R_BONE)
        inlay = plan_bone(defects[name], params=BoneParams(fit="inlay"))
        assert inlay.watertight
        _, _, polar, edge = _layers(inlay, sign * d * u, -sign * u)
        gap = R_BONE * (polar[edge] - alpha)
        assert np.abs(gap).max() < 0.5, (name, np.abs(gap).max())
        rim_mm = 2 * math.pi * R_BONE * math.sin(alpha)
        assert _edge_length_mm(inlay) == pytest.approx(rim_mm, rel=0.02), name
        cap = 2 * math.pi * R_BONE**2 * (1 - math.cos(alpha))
        assert inlay.missing_area_mm2 == pytest.approx(cap, rel=0.025), name


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
    with pytest.raises(InputError, match="fit"):
        BoneParams(fit="flush")


def test_twin_without_skull_gets_no_template_but_a_note() -> None:
    labels, twins, _ = two_heads(spacing_mm=(2.5, 2.5, 2.5))
    lab = labels.array.copy()
    lab[(twins.array == 2) & (lab == 2)] = 1  # twin B's bone not labelled
    d = measure_defects(labels.with_array(lab), twins)
    p = plan_bone(d["B"])
    assert p.fit.kind == "none" and len(p.faces) == 0 and "no cranioplasty template" in p.note
    assert plan_bone(d["A"]).watertight  # the other twin is planned as usual


def test_a_cut_through_scalp_only_gets_no_template() -> None:
    """Heads joined by scalp alone (centres 2 x 57 mm apart, bone spheres of 54 mm do not
    meet): the cut opens no bone, so no template; one used to be made from the fitted
    vault beyond the scalp wound (real-angular twin B: 360 mm² for a 0 mm² defect)."""
    labels, twins, _ = two_heads(half_distance_mm=57.0, spacing_mm=(2.5, 2.5, 2.5))
    d = measure_defects(labels, twins)
    for name in "AB":
        assert d[name].bone_defect_area_mm2 == 0.0
        p = plan_bone(d[name])
        assert p.missing_area_mm2 == 0.0 and len(p.faces) == 0
        assert "opens no bone" in p.note


# a skull that flares toward the union: its outer radius grows from 54 mm at 50 deg from
# the union's axis (seen from the twin's own centre) by up to 5 mm at 30 deg
FLARE_MM, FLARE_FROM_DEG, FLARE_FULL_DEG = 5.0, 50.0, 30.0


def _flare_mm(cos_to_union: np.ndarray) -> np.ndarray:
    c1, cc = math.cos(math.radians(FLARE_FROM_DEG)), math.cos(math.radians(FLARE_FULL_DEG))
    return FLARE_MM * np.clip((cos_to_union - c1) / (cc - c1), 0.0, 1.0)


def test_template_edge_lies_on_a_flaring_skull() -> None:
    """The ellipsoid fitted to the vault away from the union lies inside a skull that
    flares toward it; the template's edge (over the twin's own bone) must lie on the
    skull, not inside it. Analytic outer skull: radius ``54 + flare(angle)`` about the
    twin's centre. The edge lay 1.3-2.3 mm inside it on the fitted vault (the whole
    flare there is 1.8 mm); now within half a voxel. The solid stays closed, wound
    consistently, with positive volume, and covers the opening."""
    kw = CASES["oblique-anisotropic"]
    labels, twins, truth = two_heads(**kw)
    u = np.asarray(kw["direction"], dtype=float)
    u /= np.linalg.norm(u)
    d = truth["half_distance_mm"]
    lab = labels.array.copy()
    idx = np.argwhere(twins.array > 0)
    sign = np.where(twins.array[tuple(idx.T)] == 1, -1.0, 1.0)
    rel = labels.world_coords(idx) - sign[:, None] * d * u
    r = np.linalg.norm(rel, axis=1)
    new = lab[tuple(idx.T)]
    new[(r >= R_BONE) & (r < R_BONE + _flare_mm(-sign * (rel @ u) / r))] = 2  # bone
    lab[tuple(idx.T)] = new
    defects = measure_defects(labels.with_array(lab), twins)
    voxel = float(np.mean(labels.spacing_mm))
    for name, s in (("A", -1.0), ("B", 1.0)):
        p = plan_bone(defects[name])
        n_out = len(p.vertices_mm) // 2
        outer = p.faces[(p.faces < n_out).all(axis=1)]
        m = trimesh.Trimesh(p.vertices_mm[:n_out], outer, process=False)
        edge = np.unique(
            m.edges_sorted[trimesh.grouping.group_rows(m.edges_sorted, require_count=1)]
        )
        x = p.vertices_mm[edge] - s * d * u
        rx = np.linalg.norm(x, axis=1)
        err = rx - (R_BONE + _flare_mm(-s * (x @ u) / rx))
        assert np.abs(err).max() < 0.5 * voxel, (name, err.min(), err.max())
        solid = trimesh.Trimesh(p.vertices_mm, p.faces, process=True)
        assert p.watertight and solid.is_watertight and solid.is_winding_consistent
        assert solid.volume > 0 and p.template_volume_ml == pytest.approx(solid.volume / 1000)
        assert p.missing_area_mm2 > defects[name].bone_defect_area_mm2
