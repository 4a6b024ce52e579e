"""Interface areas in world mm against analytic discs (any spacing, any orientation)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twinsep.fusion.surface import interface_area_mm2, interface_mesh


def _cut_cylinder(seed: int, radius_mm: float, offset_mm: float):
    rng = np.random.default_rng(seed)
    spacing = rng.uniform(0.6, 1.4, 3)
    aff = np.eye(4)
    aff[:3, :3] = Rotation.random(random_state=seed).as_matrix() * spacing
    shape = (64, 64, 64)
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = ijk @ aff[:3, :3].T
    c = xyz.mean(axis=0)
    d = rng.normal(size=3)
    d /= np.linalg.norm(d)
    v = xyz - c
    t = v @ d
    rad = np.linalg.norm(v - np.outer(t, d), axis=1)
    cyl = (rad <= radius_mm) & (np.abs(t) <= 20.0)
    a = (cyl & (t < offset_mm)).reshape(shape)
    b = (cyl & (t >= offset_mm)).reshape(shape)
    return a, b, aff


@pytest.mark.parametrize("seed", range(5))
def test_plane_through_cylinder_is_pi_r2(seed: int) -> None:
    # A plane cut through a cylinder of radius r: area pi r^2 whatever the spacing,
    # rotation and cut position. 3 % catches face counting (+10..70 %) and a wrong
    # spacing (any 10 % spacing error moves the area by >= 10 %).
    a, b, aff = _cut_cylinder(seed, 15.0, 0.7 * seed - 1.3)
    area = interface_area_mm2(a, b, aff)
    assert area == pytest.approx(np.pi * 15.0**2, rel=0.03)


def test_mesh_in_world_mm_and_sides() -> None:
    a, b, aff = _cut_cylinder(7, 12.0, 0.0)
    mesh = interface_mesh(a, b, aff)
    # every triangle lies within the cylinder's radius (+1 voxel) of the world centre
    centre = (np.indices(a.shape).reshape(3, -1).T @ aff[:3, :3].T).mean(axis=0)
    assert np.linalg.norm(mesh.centroids_mm - centre, axis=1).max() < 12.0 + 1.5
    # the side voxels are on the right side in nearly all triangles
    assert a[tuple(mesh.side_a_ijk.T)].mean() > 0.95
    assert b[tuple(mesh.side_b_ijk.T)].mean() > 0.95


def test_no_contact_is_zero() -> None:
    a = np.zeros((20, 20, 20), bool)
    b = np.zeros_like(a)
    a[2:6, 2:6, 2:6] = True
    b[12:16, 12:16, 12:16] = True
    assert interface_area_mm2(a, b, np.eye(4)) == 0.0


def test_bridge_length_of_a_dumbbell() -> None:
    # Two 60x60x30 mm blocks joined by a cylinder r = 10 mm, 40 mm long, along a
    # tilted axis: the narrow part is 40 mm long (one 2 mm slab of tolerance per end).
    from twinsep.fusion.analysis import _bridge_length_mm

    rng = np.random.default_rng(3)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    helper = np.eye(3)[int(np.argmin(np.abs(axis)))]
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    g = np.arange(-30.0, 30.0, 1.0) + 0.5
    u, v, t = np.meshgrid(g, g, np.arange(-50.0, 50.0, 1.0) + 0.5, indexing="ij")
    u, v, t = u.ravel(), v.ravel(), t.ravel()
    inside = ((np.abs(t) >= 20) & (np.abs(t) <= 50)) | ((np.abs(t) < 20) & (np.hypot(u, v) <= 10))
    pts = np.outer(u[inside], e1) + np.outer(v[inside], e2) + np.outer(t[inside], axis)
    length = _bridge_length_mm(pts, 1.0, np.zeros(3), axis, 2.0, 1.5)
    assert abs(length - 40.0) <= 4.0


def test_contact_mask_matches_brute_force() -> None:
    # The bounding-box shortcut must give exactly the 6-neighbour contacts.
    from twinsep.fusion.surface import contact_mask

    rng = np.random.default_rng(0)
    for trial in range(40):
        shape = tuple(int(v) for v in rng.integers(3, 12, 3))
        a = rng.random(shape) < 0.3
        b = (rng.random(shape) < 0.3) & ~a
        if trial % 3 == 0:
            b[:] = False
            b[tuple(int(rng.integers(0, n)) for n in shape)] = True
        want = np.zeros(shape, bool)
        for ax in range(3):
            for step in (1, -1):
                nb = np.roll(b, step, axis=ax)
                edge = [slice(None)] * 3
                edge[ax] = slice(0, 1) if step == 1 else slice(-1, None)
                nb[tuple(edge)] = False
                want |= nb
        assert np.array_equal(contact_mask(a, b), want & a)


def test_contact_mask_26_is_a_within_one_voxel_of_b_in_any_direction() -> None:
    """Against the definition (``a`` and the 3x3x3 dilation of ``b``) on random masks,
    and an edge-only and a corner-only contact that the face rule does not see."""
    from scipy import ndimage

    from twinsep.fusion.surface import contact_mask, contact_mask_26

    rng = np.random.default_rng(3)
    for shape in ((7, 8, 9), (1, 5, 6)):
        a = rng.random(shape) < 0.2
        b = ~a & (rng.random(shape) < 0.2)
        want = a & ndimage.binary_dilation(b, structure=np.ones((3, 3, 3), bool))
        np.testing.assert_array_equal(contact_mask_26(a, b), want)
    a = np.zeros((4, 4, 4), bool)
    b = np.zeros_like(a)
    a[1, 1, 1] = True
    b[2, 2, 1] = True  # along an edge
    assert not contact_mask(a, b).any()
    assert contact_mask_26(a, b)[1, 1, 1] and contact_mask_26(a, b).sum() == 1
    b[:] = False
    b[2, 2, 2] = True  # at a corner
    assert contact_mask_26(b, a)[2, 2, 2] and contact_mask_26(b, a).sum() == 1
    assert not contact_mask_26(a, np.zeros_like(a)).any()
