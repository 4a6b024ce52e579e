"""The turns and mirrors of an MR's voxel axes (``segment.mr_orient``), in words and numbers.

Fast, analytic: the 48 signed permutations, their angles and axes, and the words a
refusal or a warning uses for them. The search on images is tested through the CLI in
``tests/segment/test_mr_turned_header.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.segment.mr_orient import (
    Orientation,
    OrientationSearch,
    signed_permutations,
    turn_angle_deg,
    turn_axis,
)

#: an MR stored with voxel axes i = left-right, j = front-back, k = head-foot, 2 mm
AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
#: the same voxels stored with i = head-foot, j = left-right, k = front-back
PERMUTED = np.array([[0, 2.0, 0, 0], [0, 0, 2.0, 0], [2.0, 0, 0, 0], [0, 0, 0, 1]])


def _o(m: np.ndarray, mi: float | None = None) -> Orientation:
    return Orientation(tuple(tuple(float(v) for v in row) for row in m), 0.0, mi)


def test_24_turns_and_24_mirrors_each_once() -> None:
    turns = signed_permutations(proper=True)
    mirrors = signed_permutations(proper=False)
    assert len(turns) == 24 and len(mirrors) == 24
    assert np.allclose(turns[0], np.eye(3))  # the MR as given first
    everything = {m.tobytes() for m in turns + mirrors}
    assert len(everything) == 48  # all distinct: the full group of the cube
    assert all(np.isclose(np.linalg.det(m), 1.0) for m in turns)
    assert all(np.isclose(np.linalg.det(m), -1.0) for m in mirrors)
    # the cube's rotation group: the identity, 6 quarter turns about the axes, 8 turns
    # of 120 deg about the body diagonals, 9 half turns (3 about the axes, 6 about the
    # face diagonals)
    angles = sorted(round(turn_angle_deg(m)) for m in turns)
    assert angles == [0] + [90] * 6 + [120] * 8 + [180] * 9


@pytest.mark.parametrize(("axis", "deg"), [(0, 90.0), (1, 180.0), (2, 90.0), (2, 270.0)])
def test_angle_and_axis_of_a_quarter_or_half_turn(axis: int, deg: float) -> None:
    a = np.radians(deg)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    r[i, i] = r[j, j] = np.cos(a)
    r[i, j], r[j, i] = -np.sin(a), np.sin(a)
    r = np.round(r)
    assert turn_angle_deg(r) == pytest.approx(min(deg, 360.0 - deg), abs=1e-9)
    ax = turn_axis(r)
    assert abs(ax[axis]) == pytest.approx(1.0, abs=1e-9)


def test_words_name_the_voxel_axis_by_its_world_direction() -> None:
    quarter_k = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert _o(quarter_k).describe(AFFINE) == "turned by 90° about its voxel axis 2 (head-foot)"
    # the same voxel turn on a file whose axis 2 runs front-back
    assert _o(quarter_k).describe(PERMUTED) == "turned by 90° about its voxel axis 2 (front-back)"
    assert _o(np.eye(3)).describe(AFFINE) == "as given"
    assert _o(np.eye(3)).as_given and not _o(quarter_k).as_given


@pytest.mark.parametrize(
    ("axis", "words"), [(0, "left-right"), (1, "front-back"), (2, "head-foot")]
)
def test_a_plain_mirror_is_named_by_its_axis_alone(axis: int, words: str) -> None:
    m = np.eye(3)
    m[axis, axis] = -1.0
    o = _o(m)
    assert o.mirrored
    assert o.describe(AFFINE) == f"its mirror image along voxel axis {axis} ({words})"


def test_a_mirror_with_a_turn_names_the_smallest_turn() -> None:
    # swapped axes 0 and 1 (a transposed slice): a mirror, no single-axis flip
    swap = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    words = _o(swap).describe(AFFINE)
    assert words.startswith("its mirror image along voxel axis "), words
    assert "turned by 90° about its voxel axis 2 (head-foot)" in words, words


def test_search_record_and_margin() -> None:
    quarter = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    flip = np.diag([-1.0, 1.0, 1.0])
    s = OrientationSearch(
        (_o(quarter, 0.55), _o(flip, 0.44), _o(np.eye(3), 0.32)), 48, (6.0, 6.0, 6.0)
    )
    assert s.best.matrix.tolist() == quarter.tolist()
    assert s.as_given.as_given
    assert s.margin_mi() == pytest.approx(0.11)
    rec = s.as_record()
    assert rec["tried"] == 48
    assert rec["ranked"][0] == {
        "voxel_map": [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
        "mirrored": False,
        "mattes_mi": 0.55,
    }
    assert rec["ranked"][1]["mirrored"] is True
