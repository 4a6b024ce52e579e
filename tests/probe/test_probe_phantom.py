"""The probe phantom's own truth: the geometry it claims, storage-free, deterministic.

These check the generator against analytic figures, so that a twinsep miss found with it
(``benchmarks/bench_probe.py``) is twinsep's and not the phantom's.
"""

from __future__ import annotations

import numpy as np

from probe.probe_phantom import Head, ProbeCase, place_heads, render, twin_a_by_rule

_EYE = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def _world(shape: tuple[int, ...], aff: np.ndarray) -> np.ndarray:
    idx = np.indices(shape).reshape(3, -1).T
    return idx @ aff[:3, :3].T + aff[:3, 3]


def test_single_ellipsoid_head_volume_is_analytic() -> None:
    """power 2 makes the head an ellipsoid: the tissue inside it (the nose and the neck
    lie outside) counts 4/3 pi a b c; 1 % is about a third of a voxel layer at 3 mm on a
    60-70 mm head, so a wrong gauge (a 1 mm error of the surface) fails."""
    head = Head(
        centre_mm=(0.0, 0.0, 0.0), frame=_EYE, semi_mm=(60.0, 70.0, 64.0), power=2.0, neck_mm=0.0
    )
    case = ProbeCase(
        "one", kind="single", head=head, spacing_mm=(3.0, 3.0, 3.0), table=False, noise_hu=0.0
    )
    r = render(case)
    p = _world(r.labels.shape, r.affine)
    inside = ((p / np.array([60.0, 70.0, 64.0])) ** 2).sum(axis=1) <= 1.0
    vox_ml = float(abs(np.linalg.det(r.affine[:3, :3]))) / 1000.0
    got = float((r.labels.ravel()[inside] > 0).sum()) * vox_ml
    want = 4.0 / 3.0 * np.pi * 60.0 * 70.0 * 64.0 / 1000.0
    assert abs(got - want) / want < 0.01
    # every voxel centre inside the ellipsoid is tissue (no hole), none outside but
    # nose and neck
    assert (r.labels.ravel()[inside] > 0).all()


def test_layers_in_the_order_claimed() -> None:
    """Along a ray 5 mm off the midline through the vertex of a single head (out of the
    sinus, the fissure, the sutures and the fontanelle): skin and scalp 4 mm, the vault
    (1.97 mm there: 1.5 + 3.5 x 0.15 x the ripple 0.895), CSF 2.5 mm, then brain with
    sulci; the surface at z = 65.93 mm (66 (1 - (5/62)^2.4)^(1/2.4)). Read every 0.25 mm."""
    from probe.probe_phantom import _sample

    head = Head(centre_mm=(0.0, 0.0, 0.0), frame=_EYE, neck_mm=0.0)
    case = ProbeCase("one", kind="single", head=head, table=False)
    z = np.arange(70.0, 40.0, -0.25)
    pts = np.stack([np.full_like(z, 5.0), np.zeros_like(z), z], axis=1)
    lab, owner, _ = _sample(case, place_heads(case), pts)
    depth = 65.93 - z  # radial and vertical depth agree to 0.01 mm this near the pole
    assert (lab[depth < -0.1] == 0).all()
    assert (lab[(depth > 0.1) & (depth < 3.9)] == 1).all()
    assert (lab[(depth > 4.1) & (depth < 5.85)] == 2).all()
    assert (lab[(depth > 6.1) & (depth < 8.35)] == 4).all()
    assert set(lab[(depth > 8.6) & (depth < 25.0)]) == {3, 4}  # brain and its sulci
    assert (owner[lab > 0] == 1).all() and (owner[lab == 0] == 0).all()


def test_storage_and_seed_change_nothing_but_the_order() -> None:
    """The same case with axes reversed is the same voxels reversed (truth, owners and
    CT), and DESIGN's twin A is the same physical head; two renders are identical."""
    base = ProbeCase("v", spacing_mm=(5.0, 5.0, 5.0), seed=3, table=False)
    a = render(base)
    b = render(ProbeCase("v", spacing_mm=(5.0, 5.0, 5.0), seed=3, table=False, flips=(0, 2)))
    again = render(base)
    assert np.array_equal(a.ct, again.ct) and np.array_equal(a.labels, again.labels)
    assert np.array_equal(np.flip(a.ct, (0, 2)), b.ct)
    assert np.array_equal(np.flip(a.owner, (0, 2)), b.owner)
    # the same world position for voxel 0 of the flipped copy
    corner = np.array(a.labels.shape) - 1
    assert np.allclose(
        b.affine[:3, 3], a.affine[:3, :3] @ np.array([corner[0], 0, corner[2]]) + a.affine[:3, 3]
    )
    assert twin_a_by_rule(a.owner, a.affine) == twin_a_by_rule(b.owner, b.affine) == 1


def test_vertical_union_is_split_at_the_plane_between_the_heads() -> None:
    """Two equal heads vertex to vertex, untwisted: the owner boundary is the plane half
    way between the centres (equal depth), so the two owners hold the same number of
    voxels within 1 % (the grid is not symmetric to the voxel), and no voxel of A lies
    beyond the plane by more than 3 mm."""
    case = ProbeCase("v", spacing_mm=(4.0, 4.0, 4.0), table=False, noise_hu=0.0)
    r = render(case)
    heads = place_heads(case)
    mid = 0.5 * (np.asarray(heads[0].centre_mm) + np.asarray(heads[1].centre_mm))
    p = _world(r.owner.shape, r.affine)
    own = r.owner.ravel()
    n1, n2 = int((own == 1).sum()), int((own == 2).sum())
    assert abs(n1 - n2) / (n1 + n2) < 0.01
    assert (p[own == 1, 2] < mid[2] + 3.0).all() and (p[own == 2, 2] > mid[2] - 3.0).all()
