"""A trunk leaving the scan through a side of the array is no cue to the head's axis.

A patient lying tilted in a field of view cropped to the heads: the array's side cuts
the shoulders and trunk 70-100 mm from the head centre. That side is a large flat end
of the body, within ``AxisParams.body_cut_reach_mm`` of the cavity, and was taken for
the scan's cut just below the head (or for the neck's cut): the axis became the side's
normal, 42-65 deg off (docs/orientation.md, 'A trunk leaving the array through a
side'). The body is now followed from the head: its narrowest section across the
skull-base cues where it widens again beyond (:func:`_narrowest_section`, checked here
on an analytic body), and a flat end beyond it that disagrees with the neck's walls
there is no cue.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twinsep.fusion.axes import _narrowest_section, angle_deg, twin_frame
from twinsep.fusion.params import AxisParams
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
from head_on_body import head_on_body  # noqa: E402

VOXEL_MM = 3.0


def _pair(tilt_deg: float, side_mm: float) -> tuple[Volume, Volume, dict[str, np.ndarray]]:
    """Labels, twins and vertex directions of two heads (``head_on_body``) joined at the vertex
    (centres 104 mm apart along their common axis), the axis turned ``tilt_deg`` about
    world x; shoulders 85 mm below each centre. Each twin's trunk runs toward one y
    side of the array, which lies ``side_mm`` beyond its head centre (in y); the array
    ends 200 mm from the junction in z."""
    rot = Rotation.from_rotvec(np.radians(tilt_deg) * np.array([1.0, 0.0, 0.0])).as_matrix()
    up = rot @ np.array([0.0, 0.0, 1.0])
    centre_a, centre_b = -52.0 * up, 52.0 * up
    y_mm = abs(centre_a[1]) + side_mm
    lo = np.array([-108.0, -y_mm, -200.0])
    shape = tuple(int(v) for v in np.floor((np.array([108.0, y_mm, 200.0]) - lo) / VOXEL_MM) + 1)
    aff = np.diag([VOXEL_MM, VOXEL_MM, VOXEL_MM, 1.0])
    aff[:3, 3] = lo
    xyz = np.indices(shape).reshape(3, -1).T * VOXEL_MM + lo
    lab_a, r_a = head_on_body((xyz - centre_a) @ rot, 85.0)
    # twin B: twin A turned half a turn about the junction (point reflection)
    lab_b, r_b = head_on_body(-((xyz - centre_b) @ rot), 85.0)
    nearer_a = r_a <= r_b
    lab = np.where(nearer_a, np.where(lab_a > 0, lab_a, lab_b), np.where(lab_b > 0, lab_b, lab_a))
    twins = np.where(lab > 0, np.where(nearer_a, 1, 2), 0)
    meta = {"source": "side-trunk"}
    return (
        Volume(lab.astype(np.uint8).reshape(shape), aff, meta),
        Volume(twins.astype(np.uint8).reshape(shape), aff, meta),
        {"A": up, "B": -up},
    )


@pytest.mark.parametrize(("tilt_deg", "side_mm"), [(25.0, 70.0), (45.0, 70.0), (45.0, 85.0)])
def test_a_trunk_leaving_through_a_side_is_not_the_neck(tilt_deg: float, side_mm: float) -> None:
    """Before: the side (5700-9300 mm2, 64-78 mm from the cavity's bulk) was the scan's
    cut: each twin's axis its normal alone, 65 / 45 / 42 deg off (25 deg: 65.0 and
    65.0; 45 deg at 70 mm: 45.0, 45.0; at 85 mm: 42.6, 42.0). Now the neck's walls at
    its narrowest section give it: measured 0.1-1.0 deg (2.5 allowed), and no twin's
    cues hold a cut."""
    labels, twins, ups = _pair(tilt_deg, side_mm)
    # the array's sides really cross both trunks
    lab = labels.array
    assert np.count_nonzero(lab[:, 0, :]) * VOXEL_MM**2 > 2000.0
    assert np.count_nonzero(lab[:, -1, :]) * VOXEL_MM**2 > 2000.0
    frames = {k: twin_frame(labels, twins, v) for v, k in ((1, "A"), (2, "B"))}
    for k, frame in frames.items():
        err = angle_deg(frame.axis, ups[k])
        assert err < 2.5, (k, err, frame.notes)
        assert frame.cue_dirs is not None
        assert "body_cut" not in frame.cue_dirs and "cut" not in frame.cue_dirs, k
    got = angle_deg(frames["A"].axis, frames["B"].axis)
    assert got > 175.0, got


def test_the_narrowest_section_of_an_analytic_body() -> None:
    """A ball (radius 50 mm) on a neck (radius 15 mm, from the ball's centre to 95 mm
    below it) on a trunk (a 60 mm square prism from 95 mm down to the array's end), 2 mm
    voxels, ``down`` 10 deg off the body's axis. The narrowest section beyond the ball
    (from 50 mm down) lies on the neck: its centre on the neck's axis, its area that of
    the neck's section across ``down``, an ellipse of pi * 15^2 / cos(10 deg) = 718 mm2
    (voxelised: 6 %). Without the trunk nothing widens below: None."""
    spacing = (2.0, 2.0, 2.0)
    shape = (80, 80, 120)
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    aff[:3, 3] = [-79.0, -79.0, -179.0]
    xyz = np.indices(shape).reshape(3, -1).T * 2.0 + aff[:3, 3]
    ball = np.linalg.norm(xyz - [0.0, 0.0, 50.0], axis=1) <= 50.0
    neck = (np.hypot(xyz[:, 0], xyz[:, 1]) <= 15.0) & (xyz[:, 2] <= 50.0)
    trunk = (np.abs(xyz[:, 0]) <= 60.0) & (np.abs(xyz[:, 1]) <= 60.0) & (xyz[:, 2] <= -45.0)
    b = np.array([0.0, 0.0, 50.0])
    down = Rotation.from_rotvec(np.radians(10.0) * np.array([0.0, 1.0, 0.0])).apply([0, 0, -1.0])
    kw = {"affine": aff, "offset": np.zeros(3, dtype=np.int64), "full_shape": shape, "b": b}
    body = (ball | neck | trunk).reshape(shape)
    section = _narrowest_section(
        body=body, down=down, start_mm=50.0, spacing=spacing, params=AxisParams(), **kw
    )
    assert section is not None
    # the neck shows from 50 to 95 mm below the ball's centre: its middle (measured 65)
    level_mm = float(np.dot(section.centre_mm - b, down))
    assert 60.0 < level_mm < 85.0, level_mm
    # an ellipse's centre lies on the cylinder's axis (measured 0.00 mm off)
    assert np.hypot(section.centre_mm[0], section.centre_mm[1]) < 1.0, section.centre_mm
    want_mm2 = np.pi * 15.0**2 / np.cos(np.radians(10.0))
    assert section.area_mm2 == pytest.approx(want_mm2, rel=0.06)  # measured 688 for 718
    no_trunk = (ball | neck).reshape(shape)
    assert (
        _narrowest_section(
            body=no_trunk, down=down, start_mm=50.0, spacing=spacing, params=AxisParams(), **kw
        )
        is None
    )
