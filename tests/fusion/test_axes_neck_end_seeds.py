"""A neck's flat end is found whichever flat patch holds the most skin normals.

The neck's or jaw's cut (``_body_cut_candidates`` with ``level_fit``) took its patch from
the fullest bin of the skin's voxel normals alone. A head with a flat side square to the
grid (the probe's boxy heads; a flattened occiput) puts more normals in that side's bin
than the neck's end holds, and the neck's end was then never a candidate: the probe pair
``pv90-c25-w10-aniso`` read 180.0 deg on a 2.4 x 2.4 x 4 mm grid and 171.1 on 3 mm
(``tests/probe/test_probe_axes.py``). Now every peak bin seeds a patch (fullest first).

Hand-made body (1 mm voxels): a ball of radius 45 mm with one side cut flat 30 mm from
its centre (a disc of pi (45^2 - 30^2) = 3534 mm^2, normal +y) on a neck of radius 18 mm
(its end pi 18^2 = 1018 mm^2, normal -z) that ends 75 mm below the ball's centre. Before
the change the candidates held the flat side alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from twinsep.fusion.axes import _body_cut_candidates, angle_deg
from twinsep.fusion.params import AxisParams

sys.path.insert(0, str(Path(__file__).parent))
from handmade_pairs import voxel_skin  # noqa: E402

CENTRE = np.array([55.3, 50.2, 85.1])  # off the grid's symmetry (mm = voxels)
END_MM = 75.0


def _head_on_neck() -> tuple[np.ndarray, np.ndarray]:
    shape = (112, 100, 140)
    rel = np.indices(shape).reshape(3, -1).T.astype(float) - CENTRE
    ball = (np.linalg.norm(rel, axis=1) < 45.0) & (rel[:, 1] < 30.0)
    neck = (np.hypot(rel[:, 0], rel[:, 1]) < 18.0) & (rel[:, 2] < 0.0) & (rel[:, 2] > -END_MM)
    return voxel_skin((ball | neck).reshape(shape))


def test_neck_end_is_a_candidate_beside_a_larger_flat_side() -> None:
    pts, gw = _head_on_neck()
    params = AxisParams()
    found = _body_cut_candidates(
        skin=(pts, gw),
        spacing=(1.0, 1.0, 1.0),
        params=params,
        min_area_mm2=params.neck_cut_min_mm2,
        level_fit=True,
    )
    down = np.array([0.0, 0.0, -1.0])
    # the fullest bin's patch leads (as before): the flat side
    assert angle_deg(found[0].normal, np.array([0.0, 1.0, 0.0])) < 1.0
    ends = [q for q in found if angle_deg(q.normal, down) < 1.0]
    assert ends, [(q.normal.round(3), round(q.area_mm2)) for q in found]
    end = ends[0]
    assert abs(float((end.centre_mm - CENTRE) @ down) - END_MM) < 1.5
    # the rim, whose voxel normals lean into the side, is not counted: 744 of 1018 mm^2
    assert 0.6 * np.pi * 18.0**2 <= end.area_mm2 <= 1.05 * np.pi * 18.0**2
