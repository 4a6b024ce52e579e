"""The neck's walls' axis from smoothed normals, not from lattice normals.

A skin voxel's own normal (the mean offset to its background neighbours among the 26)
takes one of a few dozen directions; on a neck oblique to the grid they leaned the
tube's axis 2-4 deg (the blind MR phantom's angular union read 116.0 deg for 111.2).
The walls' normals are now the gradient of the body's smoothed signed distance
(``AxisParams.tube_normal_sigma_vx``), fitted away from the cut and the array's edges.
Ground truth: analytic cylinders and the hand-made pairs of ``handmade_pairs.py``
(world-mm geometry, independent of the detector); docs/orientation.md, 'The neck's
walls' normals'.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from twinsep.fusion import analyse_fusion
from twinsep.fusion.axes import _distance_normals, _Plane, _skin_normals, _tube_axis, angle_deg
from twinsep.fusion.params import AxisParams
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from handmade_pairs import make_pair  # noqa: E402

from grids import rotation_matrix  # noqa: E402


def _cylinder_tube(tilt_deg: float, azimuth_deg: float, *, smoothed: bool) -> float:
    """A solid cylinder (radius 17 mm) through the centre of a 64^3 grid at 2.5 mm,
    its axis ``tilt_deg`` from the grid's z axis, leaving the grid through its bottom
    face (the scan's cut, normal -z): the angle (deg) between the tube's axis found on
    its skin and the cylinder's."""
    n, sp = 64, 2.5
    aff = np.diag([sp, sp, sp, 1.0])
    aff[:3, 3] = -sp * (n - 1) / 2
    t, a = np.radians(tilt_deg), np.radians(azimuth_deg)
    axis = np.array([np.sin(t) * np.cos(a), np.sin(t) * np.sin(a), np.cos(t)])
    xyz = np.indices((n, n, n)).reshape(3, -1).T * sp + aff[:3, 3]
    across = xyz - np.outer(xyz @ axis, axis)
    body = ((np.linalg.norm(across, axis=1) <= 17.0) & (xyz @ axis <= 40.0)).reshape(n, n, n)
    offset = np.zeros(3, dtype=np.int64)
    skin = _skin_normals(
        body=body,
        background=~body,
        free=np.ones_like(body),
        affine=aff,
        offset=offset,
        full_shape=body.shape,
        edge_is_background=False,
    )
    assert skin is not None
    pts, normals = skin
    plane = _Plane(
        normal=np.array([0.0, 0.0, -1.0]),
        centre_mm=-axis * (abs(aff[2, 3]) / axis[2]),
        area_mm2=np.pi * 17.0**2 / axis[2],
    )
    ap = AxisParams()
    if smoothed:
        normals = _distance_normals(
            body=body,
            pts=pts,
            normals=normals,
            affine=aff,
            offset=offset,
            spacing=(sp, sp, sp),
            sigma_vx=ap.tube_normal_sigma_vx,
        )
    found = _tube_axis(plane, pts, normals, (sp, sp, sp), ap)
    assert found is not None
    return angle_deg(found, -axis)


@pytest.mark.parametrize(("tilt_deg", "azimuth_deg"), [(15, 45), (25, 20), (35, 20), (35, 45)])
def test_tube_axis_of_a_voxelised_oblique_cylinder(tilt_deg: float, azimuth_deg: float) -> None:
    """A voxelised cylinder 15-35 deg oblique to the grid: from the voxels' own normals
    its axis is found 2.2-3.5 deg off (the quantisation); from the smoothed signed
    distance 0.04-0.34 deg (1 deg allowed). A cylinder along the grid is exact either
    way. (Leaving the grid through a corner, 45 deg about an array axis, both read
    1.0-2.2 deg: not tested.)"""
    assert _cylinder_tube(tilt_deg, azimuth_deg, smoothed=False) > 2.0  # the old bias
    assert _cylinder_tube(tilt_deg, azimuth_deg, smoothed=True) < 1.0
    assert _cylinder_tube(0.0, 0.0, smoothed=True) < 0.1


@pytest.mark.parametrize(
    ("site_deg", "truth_deg"), [(40.0, 100.0), (30.0, 120.0), (20.0, 140.0), (0.0, 180.0)]
)
def test_pair_with_necks_leaving_an_oblique_grid(site_deg: float, truth_deg: float) -> None:
    """Hand-made pairs joined ``site_deg`` from each vertex toward the face (the heads'
    axes meet at ``truth_deg``), their necks running off a grid turned 30 deg about
    (1, 0.3, 0.5) at 3 mm. Voxel normals: each axis 2.5 / 3.2, 2.4 / 1.7, 4.3 / 3.0 and
    3.8 / 3.8 deg off, the angles 102.7 / 116.3 / 134.1 / 177.4; smoothed normals
    (and the end slab's direction, 2-8 deg off, averaged in only within 2 deg,
    ``neck_tube_agree_deg``): 2.5 / 0.4, 2.0 / 1.0, 1.6 / 1.4, 1.9 / 1.2 deg, the
    angles 99.4 / 118.8 / 139.1 / 177.0. The mean of the two twins' errors must fall under 2.5 deg and each under 3, the angle within 3.5 deg: each pair
    fails one of these before (100 and 180: the mean; 120 and 140: the angle). The
    140 deg pair lies on the vertical / angular limit: its type is not checked."""
    pair = make_pair(
        shape=(72, 72, 72),
        spacing=(3.0, 3.0, 3.0),
        grid_rot=rotation_matrix(np.array([1.0, 0.3, 0.5]), 30.0),
        site_a=(site_deg, 0.0),
        site_b=(site_deg, 0.0),
        neck_length_mm=300.0,
    )
    assert pair.axis_angle_deg == pytest.approx(truth_deg, abs=0.01)
    fa = analyse_fusion(
        Volume(pair.labels, pair.affine, {"source": "pair"}),
        Volume(pair.twins, pair.affine, {"source": "pair"}),
    )
    err_a = angle_deg(fa.frames["A"].axis, pair.axis_a)
    err_b = angle_deg(fa.frames["B"].axis, pair.axis_b)
    assert (err_a + err_b) / 2.0 < 2.5, (err_a, err_b)
    assert max(err_a, err_b) < 3.0, (err_a, err_b)
    if truth_deg != 140.0:
        assert fa.type == ("vertical" if truth_deg > 140.0 else "angular")
    assert abs(fa.axis_angle_deg - truth_deg) < 3.5
