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

**Open (lead, session 28):** the fix (9d1d996, 2977f63, 793f8a6: the lattice laid in the
grid's own frame, chosen among the cube's 24 turns by the body's principal axes) met
these tests but read the real CT resampled onto a grid turned 30 deg about
(1, 0.3, 0.5) as vertical 169.8 for angular 118.1 (twin B 58.9 deg off; the world
lattice reads 116.6, and both read the type right on 11 other turned copies), and was
reverted: a wrong fusion type outweighs 0.2-2 deg of storage drift. The two tests below
stay as strict xfails until a patch search that finds the whole cut face whatever the
lattice lands (docs/orientation.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from grids import rotation_matrix
from twinsep.fusion import analyse_fusion
from twinsep.fusion.axes import angle_deg
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


@pytest.mark.xfail(
    strict=True, reason="frames on a world direction lattice (fix reverted; docs/orientation.md)"
)
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


@pytest.mark.xfail(
    strict=True, reason="frames on a world direction lattice (fix reverted; docs/orientation.md)"
)
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
