"""Per-component counts and boxes from one ``cc3d.statistics`` pass (issue 10) equal the
simple per-label whole-array versions; interface meshes do not depend on whether the
distance transform also returns its distances."""

from __future__ import annotations

import cc3d
import numpy as np
import pytest
from scipy import ndimage

from twinsep.fusion.shared import _component_boxes, _extent
from twinsep.fusion.surface import interface_mesh


@pytest.mark.parametrize("margin", [0, 3, 40])
def test_component_boxes_equal_per_label_masks(margin: int) -> None:
    rng = np.random.default_rng(5)
    vessel = ndimage.binary_dilation(rng.random((40, 33, 27)) > 0.997, iterations=1)
    comps, n = cc3d.connected_components(vessel, connectivity=26, return_N=True)
    assert n > 5  # several components, some touching the array border
    counts, boxes = _component_boxes(comps, margin)
    for c in range(1, n + 1):
        assert counts[c] == np.count_nonzero(comps == c)
        assert boxes[c] == _extent(comps == c, margin)
        # the raster-order voxel list found inside the box is the whole-array one
        box = boxes[c]
        assert box is not None
        inside = np.argwhere(comps[box] == c) + [b.start for b in box]
        np.testing.assert_array_equal(inside, np.argwhere(comps == c))


def test_component_boxes_of_no_component() -> None:
    counts, boxes = _component_boxes(np.zeros((5, 6, 7), np.uint32), 2)
    assert counts.sum() == 210  # all background (label 0)
    assert all(b is None for b in boxes[1:])


def test_feature_transform_indices_do_not_depend_on_distances() -> None:
    # interface_mesh asks scipy for the indices only; they are the same array as
    # with the distances (a tie broken differently would move the extended sides)
    rng = np.random.default_rng(3)
    body = ndimage.binary_opening(rng.random((30, 28, 26)) > 0.4)
    _, with_d = ndimage.distance_transform_edt(~body, return_indices=True)
    alone = ndimage.distance_transform_edt(~body, return_distances=False, return_indices=True)
    np.testing.assert_array_equal(alone, with_d)


def test_interface_mesh_of_a_tilted_plane_has_its_area() -> None:
    # a regression guard on the function whose transform call changed: the A/B
    # boundary inside a ball of radius 12 voxels is a disc of area pi r^2 at any tilt
    n = 40
    ijk = np.indices((n, n, n)).astype(float) - (n - 1) / 2
    ball = (ijk**2).sum(axis=0) <= 12.0**2
    normal = np.array([1.0, 0.6, 0.3]) / np.linalg.norm([1.0, 0.6, 0.3])
    side = np.tensordot(normal, ijk, axes=1) < 0.25
    aff = np.diag([0.8, 0.8, 1.5, 1.0])
    mesh = interface_mesh(ball & side, ball & ~side, aff)
    # the disc in world mm: the plane's section of the ellipsoid the ball becomes;
    # area = pi r^2 * |det M| * |M^-T n| (the area scaling of the linear map M)
    m = aff[:3, :3]
    scale = abs(np.linalg.det(m)) * np.linalg.norm(np.linalg.inv(m).T @ normal)
    expected = np.pi * 12.0**2 * scale
    # 4 %: the section is clipped at the voxelised ball's edge (staircase within a voxel)
    assert mesh.area_mm2 == pytest.approx(expected, rel=0.04)
