"""``Volume.centroid_mm`` (axis-profile sums) against the mean of the listed voxels."""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.volume import Volume


def test_centroid_matches_voxel_list_on_oblique_anisotropic_grid() -> None:
    rng = np.random.default_rng(5)
    mask = np.zeros((40, 30, 20), bool)
    # an off-centre ellipsoid plus scattered voxels: a bounding box that is not the grid
    i, j, k = np.ogrid[:40, :30, :20]
    mask |= ((i - 25) / 9.0) ** 2 + ((j - 10) / 6.0) ** 2 + ((k - 12) / 4.0) ** 2 <= 1.0
    mask |= rng.random(mask.shape) < 0.01
    theta = np.radians(30.0)
    rot = np.array(
        [[np.cos(theta), -np.sin(theta), 0.0], [np.sin(theta), np.cos(theta), 0.0], [0, 0, 1]]
    )
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.4, 0.9, 2.5])
    aff[:3, 3] = (-12.0, 40.0, 7.5)
    vol = Volume(mask.astype(np.uint8), aff, {})
    expected = vol.world_coords(np.argwhere(mask).mean(axis=0))
    # both are exact up to float rounding (integer index sums)
    np.testing.assert_allclose(vol.centroid_mm(mask), expected, atol=1e-9)


def test_centroid_of_single_voxel_and_non_bool_mask() -> None:
    vol = Volume(np.zeros((5, 6, 7), np.uint8), np.diag([2.0, 3.0, 4.0, 1.0]), {})
    m = np.zeros((5, 6, 7), np.uint8)
    m[4, 0, 6] = 7  # any non-zero value counts as in the mask
    np.testing.assert_allclose(vol.centroid_mm(m), [8.0, 0.0, 24.0])


def test_centroid_of_empty_mask_is_refused() -> None:
    vol = Volume(np.zeros((3, 3, 3), np.uint8), np.eye(4), {})
    with pytest.raises(ValueError, match="empty"):
        vol.centroid_mm(np.zeros((3, 3, 3), bool))
