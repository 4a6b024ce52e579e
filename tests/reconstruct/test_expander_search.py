"""Expander placement by search: mirror pairs, against the greedy placement, by hand.

The mirror pairs are built from voxels: the half of the analytic two-sphere union on
twin A's side of the mid-plane, and its ``np.flip`` as twin B, so the labels are exactly
symmetric (the plain ``two_heads`` grid gives the mid-plane's voxels to B). On the
first pair (the benchmark's head size, 65 mm, 2.5 mm voxels) the greedy placement gave
twin A R60x100 + 2 x R40x60 (6815 mm²) and twin B R60x120 + R40x60 + 2 x O40 (6874
mm²); on the second (60 mm heads) the same sizes with sites 3-6 mm off the mirror
image, both short of the 5880 mm² required (at 69d654f; since the skin is sampled at
the marching-cubes vertices and the greedy placement breaks ties by anatomy it gives
both twins of each pair the same sizes).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from twinsep.phantom import make_phantom
from twinsep.reconstruct.catalogue import DEFAULT_CATALOGUE
from twinsep.reconstruct.defects import HeadFrame, measure_defects
from twinsep.reconstruct.expander_footprint import footprint_samples, unwrap_uv, wrap_directions
from twinsep.reconstruct.expander_search import (
    Candidate,
    SearchSettings,
    SizeOption,
    lattice_sites,
    search,
)
from twinsep.reconstruct.expanders import ExpanderParams, plan_expanders
from twinsep.volume import Volume

from .synthetic import rotation, two_heads


def _mirror_pair(scale: float):
    """Twin A's half of the two-sphere union along z and its mirror image as twin B.

    Returns the defects (frames mirrored too) and the world mirror ``p -> M p``.
    """
    labels, _, _ = two_heads(half_distance_mm=50.0, spacing_mm=(2.5, 2.5, 2.5), scale=scale)
    h = labels.shape[2] // 2
    half = labels.array[:, :, :h]
    lab = np.concatenate([half, half[:, :, ::-1]], axis=2)
    tw = np.concatenate([(half > 0) * 1, (half[:, :, ::-1] > 0) * 2], axis=2).astype(np.uint8)
    aff = labels.affine
    # the mid-plane lies half a voxel past the last kept slice
    z0 = (aff[:3, 3] + aff[:3, 2] * (h - 0.5))[2]
    mirror = np.diag([1.0, 1.0, -1.0])
    up, face = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    frames = {"A": HeadFrame(up, face), "B": HeadFrame(mirror @ up, mirror @ face)}
    d = measure_defects(Volume(lab, aff), Volume(tw, aff), frames=frames)

    def mir(p: np.ndarray) -> np.ndarray:
        q = np.array(p, dtype=np.float64)
        q[..., 2] = 2 * z0 - q[..., 2]
        return q

    return d, mir


@pytest.fixture(scope="module", params=[65.0 / 60.0, 1.0], ids=["65mm", "60mm"])
def pair(request):
    d, mir = _mirror_pair(request.param)
    return d, mir, plan_expanders(d)


def test_mirror_pair_gets_mirrored_plans(pair) -> None:
    d, mir, plans = pair
    assert plans["A"].expanders
    # the same sizes and capacity for the two halves of one symmetric union; each of twin A's expanders mirrored lands on one of B's of that size: the skin is
    # sampled at the marching-cubes vertices, which the mirror maps onto each other, so
    # within a fraction of a millimetre (the skull the centre is conformed to is still
    # meshed by faces; the face centroids had put them 0.6-1.5 mm apart)
    _assert_mirrored(plans, mir, 0.5)


def _assert_mirrored(plans, mir, tol_mm: float) -> None:
    """Twin B's expanders: the sizes of twin A's, each within ``tol_mm`` of the mirror
    image of one of A's of that size."""
    a, b = plans["A"], plans["B"]
    assert sorted(e.code for e in a.expanders) == sorted(e.code for e in b.expanders)
    assert a.capacity_mm2 == pytest.approx(b.capacity_mm2, rel=1e-12)
    for e in a.expanders:
        gaps = [
            np.linalg.norm(mir(e.centre_mm) - f.centre_mm) for f in b.expanders if f.code == e.code
        ]
        assert min(gaps) <= tol_mm, (e.label, e.code, gaps)


def test_mirrored_halves_are_sampled_alike(pair) -> None:
    """The source of the differences: the skin and wound samples of the two halves of
    an exactly mirrored union are mirror images (to float rounding), with the same
    normals, areas and regions. Face centroids were 0.4-0.6 mm apart (median): the
    marching-cubes table splits mirrored cells into other triangles (the vertices were
    the same)."""
    d, mir, _ = pair
    a, b = d["A"], d["B"]
    lin = np.diag([1.0, 1.0, -1.0])
    for sa, sb in ((a.skin, b.skin), (a.wound, b.wound)):
        assert len(sa.points_mm) == len(sb.points_mm)
        gap, idx = cKDTree(sb.points_mm).query(mir(sa.points_mm))
        assert gap.max() < 1e-3, gap.max()
        assert np.abs(sa.normals @ lin - sb.normals[idx]).max() < 1e-3
        assert np.abs(sa.areas_mm2 - sb.areas_mm2[idx]).max() < 1e-3
    idx = cKDTree(b.skin.points_mm).query(mir(a.skin.points_mm))[1]
    assert np.array_equal(a.region, b.region[idx])
    assert np.abs(mir(a.brain_centre_mm) - b.brain_centre_mm).max() < 1e-6


def _mirrored_phantom(kind: str):
    """Twin A's half of a generated phantom (96 voxels) and its ``np.flip`` as twin B,
    frames from the phantom's truth (neck -> vertex, face) mirrored; the world mirror."""
    ph = make_phantom(kind, size=96, seed=2)
    ta, tb = ph.truth.twins["A"], ph.truth.twins["B"]
    v = np.subtract(tb.centroid_mm, ta.centroid_mm)
    ax = int(np.argmax(np.abs(np.linalg.inv(ph.labels.affine[:3, :3]) @ v)))
    n, h = ph.labels.shape[ax], ph.labels.shape[ax] // 2
    lab = np.moveaxis(ph.labels.array, ax, 0)
    aff = ph.labels.affine.copy()
    if float(aff[:3, ax] @ v) < 0:  # twin A at the high end: read the axis backwards
        lab = lab[::-1]
        aff[:3, 3] += aff[:3, ax] * (n - 1)
        aff[:3, ax] *= -1
    half = lab[:h]
    both = np.concatenate([half, half[::-1]])
    tw = np.concatenate([(half > 0) * 1, (half[::-1] > 0) * 2]).astype(np.uint8)
    both, tw = np.moveaxis(both, 0, ax), np.moveaxis(tw, 0, ax)
    e = aff[:3, ax]
    p0 = aff[:3, 3] + e * (h - 0.5)
    lin = np.eye(3) - 2 * np.outer(e, e) / (e @ e)
    up = np.subtract(ta.vertex_mm, ta.neck_mm)
    up /= np.linalg.norm(up)
    face = np.asarray(ta.face_dir)
    frames = {"A": HeadFrame(up, face), "B": HeadFrame(lin @ up, lin @ face)}
    d = measure_defects(Volume(both, aff), Volume(tw, aff), frames=frames)
    return d, (lambda p: p0 + (np.asarray(p) - p0) @ lin.T)


@pytest.mark.parametrize("kind", ["vertical-I", "angular-frontal"])
def test_mirrored_phantom_gets_mirrored_expanders(kind: str) -> None:
    """Tight packings (short of the need by 60 %, every expander pressed against the
    edge of a narrow band): before the skin was sampled at the vertices the two
    halves got other sizes (vertical-I R60x120 / R50x100, 4750 / 2736 mm²;
    angular-frontal 3 and 2 expanders, 5637 / 6333 mm²)."""
    d, mir = _mirrored_phantom(kind)
    plans = plan_expanders(d)
    a = plans["A"]
    assert a.expanders and a.shortfall_mm2 > 0.3 * a.defect_area_mm2
    _assert_mirrored(plans, mir, 0.5)


def test_never_worse_than_greedy(pair) -> None:
    """The realised capacity up to what is needed, and the shortfall, against the
    greedy placement on the same defects (computed here as the reference)."""
    d, mir, plans = pair
    greedy = plan_expanders(d, params=ExpanderParams(placement="greedy"))
    # its ties broken by anatomy and its footprints sampled symmetrically, the greedy
    # placement (the search's seed) is mirrored too
    _assert_mirrored(greedy, mir, 0.5)
    for name, plan in plans.items():
        g = greedy[name]
        covered = min(plan.capacity_mm2, plan.required_mm2)
        assert covered >= min(g.capacity_mm2, g.required_mm2) - 1e-6, (name, plan, g)
        assert plan.shortfall_mm2 <= g.shortfall_mm2 + 1e-6
    # where the greedy placement is short the search covers more here (65 mm pair:
    # greedy 6874 mm² of 8645 for each twin, search 7917; the 60 mm pair: both cover
    # 5880 with R60x120 + R40x60, where the greedy placement before its anatomical
    # tie-breaks got 5502 / 5502 and the unseeded search 5903)
    if any(g.capacity_mm2 < g.required_mm2 for g in greedy.values()):
        assert min(p.capacity_mm2 for p in plans.values()) > max(
            p.capacity_mm2 for p in greedy.values()
        )


def _round_capacity_mm2(diameter_mm: float, nominal_ml: float, efficiency: float) -> float:
    """Realised gain of a round expander at its nominal volume, by hand: the spherical
    cap of base radius a holding V has height h with pi h (3 a^2 + h^2) / 6 = V (the one
    real root of that cubic), its dome exceeds the base by pi h^2."""
    a, v = diameter_mm / 2, nominal_ml * 1000.0
    roots = np.roots([math.pi / 6, 0.0, math.pi * a * a / 2, -v])
    h = float(roots[np.abs(roots.imag) < 1e-9].real.max())
    return efficiency * math.pi * h * h


def test_capacity_and_sizes_by_hand() -> None:
    """Small round sizes on a head with room for all of them: the plan is the multiset
    of the objective (cover the need with the fewest, then the smallest expanders),
    found here by enumerating the catalogue's capacities computed by hand."""
    labels, twins, _ = two_heads(half_distance_mm=57.0, spacing_mm=(2.5, 2.5, 2.5))
    up, face = np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])
    d = measure_defects(labels, twins, frames={"A": HeadFrame(up, face), "B": HeadFrame(-up, face)})
    small = tuple(c for c in DEFAULT_CATALOGUE if c.code in ("O40", "O50"))
    eff = ExpanderParams().efficiency.round
    cap = {c.code: _round_capacity_mm2(c.width_mm, c.nominal_ml, eff) for c in small}
    # O40 15 mL: h 18.55 mm, 270.3 mm²; O50 30 mL: h 23.57 mm, 436.4 mm² (efficiency 0.25)
    assert cap["O40"] == pytest.approx(270.3, abs=0.1)
    assert cap["O50"] == pytest.approx(436.4, abs=0.1)
    target = 1500.0  # three O50 (1309) fall short; four are needed
    defect = d["A"].scalp_defect_area_mm2
    params = ExpanderParams(catalogue=small, over_expansion=target / defect - 1.0)
    plans = plan_expanders(d, params=params)
    # by hand: four expanders; of the four-sets that cover 1500 (4 x O50 1746, 3 x O50 +
    # O40 1580) the smaller wins; 2 x O50 + 2 x O40 (1413) does not cover
    codes = sorted(e.code for e in plans["A"].expanders)
    assert codes == ["O40", "O50", "O50", "O50"], codes
    assert plans["A"].capacity_mm2 == pytest.approx(3 * cap["O50"] + cap["O40"], rel=1e-6)
    # four at most: with the need out of reach, the four largest that fit
    plans = plan_expanders(d, params=ExpanderParams(catalogue=small, over_expansion=2.0))
    assert plans["A"].capacity_mm2 == pytest.approx(4 * cap["O50"], rel=1e-6)


def test_unwrap_inverts_the_wrap() -> None:
    rng = np.random.default_rng(3)
    centre = np.array([1.0, -2.0, 3.0])
    c_skin = centre + 70.0 * np.array([0.3, 0.4, 0.866])
    # a frame tilted off the radial direction (a scalp normal need not be radial)
    n = rotation((1.0, 0.2, 0.0), 12.0) @ ((c_skin - centre) / np.linalg.norm(c_skin - centre))
    e1 = np.cross(n, [0.0, 0.0, 1.0])
    e1 /= np.linalg.norm(e1)
    frame = np.stack([e1, np.cross(n, e1), n])
    uv = rng.uniform(-80.0, 80.0, size=(500, 2))
    dirs, r0 = wrap_directions(uv, frame, c_skin, centre)
    radii = rng.uniform(40.0, 90.0, size=(500, 1))  # any point on each ray
    back = unwrap_uv(centre + dirs * radii, frame, c_skin, centre)
    assert np.abs(back - uv).max() < 1e-8


def test_lattice_sites_follow_a_mirror() -> None:
    """Sites chosen on a point set and on its mirror image are mirror images."""
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(4000, 3)) * [40.0, 30.0, 35.0]
    basis = rotation((0.2, 1.0, 0.4), 25.0)
    # a mirror through a plane of any orientation through the origin
    k = np.array([0.5, -0.3, 0.8]) / np.linalg.norm([0.5, -0.3, 0.8])
    m = np.eye(3) - 2 * np.outer(k, k)
    # a twin's frame seen in the mirror: long axis and face mirrored, side = axis x face
    mirrored_basis = np.stack([m @ basis[0], m @ basis[1], np.cross(m @ basis[0], m @ basis[1])])
    a = lattice_sites(pts, basis, np.zeros(3), 10.0)
    b = lattice_sites(pts @ m.T, mirrored_basis, np.zeros(3), 10.0)
    assert len(a) > 100
    assert sorted(a.tolist()) == sorted(b.tolist())


def _toy(code: str, bit: int, *, seed: bool = False, cap: float | None = None):
    """A candidate of catalogue size ``code`` whose footprint marks skin cell ``bit``."""
    item = next(c for c in DEFAULT_CATALOGUE if c.code == code)
    base = item.base()
    capacity = cap if cap is not None else 1000.0 * base.width_mm * base.length_mm / 7200.0
    opt = SizeOption(item, base, capacity)
    return Candidate(opt, 0, np.eye(3), 0.0, 0.0, (0.0, float(bit)), seed=seed), bit


def _toy_search(rows, required_mm2: float):
    cands = [c for c, _ in rows]
    bits = np.zeros((len(rows), 1), dtype=np.uint64)
    for i, (_, b) in enumerate(rows):
        bits[i, 0] = np.uint64(1) << np.uint64(b)
    settings = SearchSettings(5.0, 10.0, 3.0, (0.0,), 6.0, 4, 2000, 250.0)
    chosen, *_ = search(cands, bits, required_mm2, settings)
    return chosen, float(sum(cands[i].option.capacity_mm2 for i in chosen))


def test_search_is_never_worse_than_its_seed() -> None:
    """The greedy placement seeds the search (``Candidate.seed``): the answer covers at
    least what the seed covers and is at least as good by the objective, by
    construction, even where the seed's own expanders conflict on the search's coarser
    cells (pairs 5-8 mm apart, which the greedy placement's 5 mm check allows)."""
    # lattice: two R40x60 on one cell (only one fits); seed: R60x120 + R40x60 sharing
    # a cell with each other and with every lattice candidate
    lattice = [_toy("R40x60", 1), _toy("R40x60", 1)]
    seed = [_toy("R60x120", 1, seed=True), _toy("R40x60", 1, seed=True)]
    need = 50000.0  # out of reach: the most capacity wins
    alone, cap_alone = _toy_search(lattice, need)
    assert len(alone) == 1
    chosen, cap = _toy_search(lattice + seed, need)
    # R60x120 + R40x60 cannot be placed from the candidates' cells; the seed is kept
    assert sorted(chosen) == [2, 3]
    assert cap == pytest.approx(sum(c.option.capacity_mm2 for c, _ in seed))
    assert cap > cap_alone
    # where the lattice does better, the seed does not hold it back: R60x120 + R40x60
    # on their own cells beat a seed of one R40x60 (on the cell of the lattice's)
    lattice = [_toy("R60x120", 2), _toy("R40x60", 1)]
    chosen, cap = _toy_search([*lattice, _toy("R40x60", 1, seed=True)], need)
    assert sorted(chosen) == [0, 1]


@pytest.mark.parametrize("code", ["R40x60", "R50x80", "R60x120", "O40", "O60"])
def test_footprint_samples_are_symmetric(code: str) -> None:
    """A mirror-image site's frame has its length axis reversed: the footprint's samples
    must be the same set either way (a rectangle's grid ran from -70 to 68 mm for
    R40x60, its edges from -20 to 19 mm, and the greedy placement of the benchmark's
    mirror pair differed by one O40). Crescents are traced, not symmetric (not done)."""
    base = next(c for c in DEFAULT_CATALOGUE if c.code == code).base()
    uv = footprint_samples(base, 0.0, 6.0)
    for flip in ((1.0, -1.0), (-1.0, 1.0)):
        gap = cKDTree(uv * flip).query(uv)[0]
        assert gap.max() < 1e-9, (flip, gap.max())
