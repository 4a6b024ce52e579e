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

The fix (session 28: the lattice laid in the grid's own frame) was reverted for reading
the real CT resampled onto a grid turned 30 deg as vertical for angular; it is back
since session 29 with a flat-patch search that grows the scan's cut from its fitted
plane whatever the lattice (``test_flat_patch.py``; ``benchmarks/bench_turned_frames.py``
holds the real-CT copies; docs/orientation.md, "Flat patches grown from their plane").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from grids import rotation_matrix
from twinsep.fusion import analyse_fusion
from twinsep.fusion.axes import angle_deg, fibonacci_directions, grid_frame, grid_lattice
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
    """Through ``analyse_fusion``, which gives the frames the canonical layout: a grid
    turned 90 deg is square to the world again there."""
    lab, tw, aff = pair
    turn = np.eye(4)
    turn[:3, :3] = rotation_matrix(np.array(axis), deg)
    ref = analyse_fusion(Volume(lab, aff), Volume(tw, aff), contrast=False)
    got = analyse_fusion(Volume(lab, turn @ aff), Volume(tw, turn @ aff), contrast=False)
    back = turn[:3, :3].T
    for k in ("A", "B"):
        assert angle_deg(back @ got.frames[k].axis, ref.frames[k].axis) < SAME_DEG, k
        assert angle_deg(back @ got.frames[k].face_dir, ref.frames[k].face_dir) < SAME_DEG, k
    assert got.axis_angle_deg == pytest.approx(ref.axis_angle_deg, abs=SAME_DEG)
    assert got.rotation_deg == pytest.approx(ref.rotation_deg, abs=SAME_DEG)


def test_grid_frame_turns_with_the_affine() -> None:
    """The lattice's frame: the grid's steps, turned among a cube's 24 turns by the
    body's principal axes, so that it turns with the affine even where the grid is
    square to the world both before and after (a 90-deg turn), float32 storage
    included. The egg below is skewed along two axes and symmetric about a third."""
    ijk = np.indices((30, 24, 20)).reshape(3, -1).T.astype(float)
    c = ijk - ijk.mean(axis=0)
    r2 = (
        (c[:, 0] / 13.0) ** 2
        + (c[:, 1] / (9.0 + 0.15 * c[:, 0])) ** 2
        + ((c[:, 2] - 0.02 * c[:, 0] ** 2) / 7.0) ** 2
    )
    body = (r2 <= 1.0).reshape(30, 24, 20)
    aff = np.diag([1.1, 0.9, 1.7, 1.0])
    f0 = grid_frame(aff, body)
    assert np.linalg.det(f0) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(np.abs(f0).sum(axis=0), 1.0, atol=1e-12)  # a cube turn
    rng = np.random.default_rng(3)
    turns = [rotation_matrix(np.array([0.0, 0.0, 1.0]), 90.0)]
    turns += [
        rotation_matrix(rng.normal(size=3), float(rng.uniform(10.0, 170.0))) for _ in range(3)
    ]
    for q in turns:
        turned = np.eye(4)
        turned[:3, :3] = q
        f = grid_frame((turned @ aff).astype(np.float32), body)
        np.testing.assert_allclose(f, q @ f0, atol=1e-6)
    # the same voxels stored turned 90 deg about z: the array rotated, the frame too
    q = rotation_matrix(np.array([0.0, 0.0, 1.0]), 90.0)
    stored = np.rot90(body, k=1, axes=(0, 1))  # new i = old j reversed, new j = old i
    aff_rot = np.diag([0.9, 1.1, 1.7, 1.0])
    aff_rot[:3, :3] = np.array([[0.0, 1.1, 0.0], [-0.9, 0.0, 0.0], [0.0, 0.0, 1.7]])
    aff_rot[:3, :3] = q @ aff_rot[:3, :3]
    np.testing.assert_allclose(grid_frame(aff_rot, stored), q @ f0, atol=1e-9)
    assert np.array_equal(grid_lattice(600, np.eye(3)), fibonacci_directions(600) @ np.eye(3))


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
