"""The fusion frames follow the anatomy, not the world axes: the same voxels stored
under a turned affine give the same axes and faces, turned with it.

Hand-made heads (``tests/fusion/handmade_pairs.py``, independent of ``twinsep.phantom``)
whose necks end square to a 72^3 grid of 2.6 mm; the same labels and twins are given
an affine turned 90 deg about z (the grid still square to the world axes) and 30 deg
about (1, 0.3, 0.5) (docs/orientation.md, "Frames under a turned affine").

Measured before the fix (the skin normals binned on a direction lattice fixed in world
axes, the mirror plane's search started from a world axis):

* sites (20, 0) / (15, 180): twin A's axis 8.37 deg apart on either turn (the neck's
  flat end was taken with the skull base's cues on one storage and not the other);
* sites (0, 0): the axes the same, the faces 0.13 / 0.03 deg apart under the 30-deg turn;
* the sinus coverage's 10-deg bins counted from a world axis: 60 / 70 deg for the same
  arc of points (a test below).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from grids import rotation_matrix
from twinsep.fusion.axes import (
    angle_deg,
    fibonacci_directions,
    grid_frame,
    grid_lattice,
    twin_frame,
)
from twinsep.fusion.shared import azimuth_coverage_deg
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parents[1] / "fusion"))
from handmade_pairs import make_pair  # noqa: E402

#: (rotation axis, deg) of the turned storages
TURNS = [((0.0, 0.0, 1.0), 90.0), ((1.0, 0.3, 0.5), 30.0)]

#: Agreement required between storages (deg): the same voxels, so only rounding
#: (a hundredth of the smallest difference seen before the fix)
SAME_DEG = 1e-3


@pytest.fixture(scope="module", params=[((20.0, 0.0), (15.0, 180.0)), ((0.0, 0.0), (0.0, 0.0))])
def pair(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    site_a, site_b = request.param
    p = make_pair(shape=(72, 72, 72), site_a=site_a, site_b=site_b)
    return p.labels.astype(np.uint8), p.twins.astype(np.uint8), p.affine


@pytest.mark.parametrize(("axis", "deg"), TURNS)
def test_frames_turn_with_the_affine(pair: tuple, axis: tuple, deg: float) -> None:
    lab, tw, aff = pair
    turn = np.eye(4)
    turn[:3, :3] = rotation_matrix(np.array(axis), deg)
    for t in (1, 2):
        ref = twin_frame(Volume(lab, aff), Volume(tw, aff), t)
        got = twin_frame(Volume(lab, turn @ aff), Volume(tw, turn @ aff), t)
        back = turn[:3, :3].T
        assert angle_deg(back @ got.axis, ref.axis) < SAME_DEG, t
        assert angle_deg(back @ got.face_dir, ref.face_dir) < SAME_DEG, t
        np.testing.assert_allclose(
            back @ (got.brain_centre_mm - turn[:3, 3]), ref.brain_centre_mm, atol=1e-6
        )


def test_grid_frame_turns_with_the_affine() -> None:
    """The lattice's frame is the grid's: turned with the affine (float32 storage
    included), and the world axes themselves for a grid square to them (the world
    lattice, bit for bit: such scans bin as before)."""
    aff = np.diag([1.1, 0.9, 1.7, 1.0])
    assert np.array_equal(grid_frame(aff), np.eye(3))
    assert np.array_equal(grid_lattice(600, grid_frame(aff)), fibonacci_directions(600))
    rng = np.random.default_rng(3)
    for _ in range(3):
        q = rotation_matrix(rng.normal(size=3), float(rng.uniform(10.0, 170.0)))
        turned = np.eye(4)
        turned[:3, :3] = q
        f = grid_frame((turned @ aff).astype(np.float32))
        np.testing.assert_allclose(f, q, atol=1e-6)
        np.testing.assert_allclose(f.T @ f, np.eye(3), atol=1e-6)
    sheared = aff.copy()
    sheared[0, 1] = 0.2
    f = grid_frame(sheared)
    np.testing.assert_allclose(f.T @ f, np.eye(3), atol=1e-12)


def test_sinus_coverage_turns_with_the_points() -> None:
    """The same arc of sinus points about the same axis covers the same azimuth
    whatever world axis the bins would have started from (before: 60 or 70 deg)."""
    axis = np.array([0.0, 0.0, 1.0])
    phi = np.radians(np.linspace(3.0, 58.0, 12))  # 55 deg of arc: 6 bins from its start
    pts = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=1) * 40.0
    seen = set()
    for deg in (0.0, 30.0, 90.0, 137.0, 211.0):
        q = rotation_matrix(np.array([0.3, -0.2, 1.0]), deg)
        seen.add(azimuth_coverage_deg(pts @ q.T, np.zeros(3), q @ axis))
    assert seen == {60.0}
