"""Exposed dura where the cut meets the inner skull nearly tangentially (5-23 deg).

Two layered spheres (``synthetic.two_heads``) joined so close to their inner skull
(radius 50 mm, the outer edge of the CSF) that the mid-plane cuts it 5-20 deg off its
tangent: half-distance ``50 cos(theta)``. The exposed dura of each twin is the section of
its CSF sphere by the plane where the voxelised cut really lies (on the 2 mm grid half a
voxel off the mid-plane for some distances, so A and B are cut at two angles):
``pi (50^2 - h^2)``, 60-1200 mm^2.

Read from two voxel layers 1 and 3 mm deep and extrapolated linearly, the section's edge
(``r ~ sqrt(z)`` in depth) landed far outside: 226 mm^2 for 60 at 5 deg, +57-67 % at
10 deg, +16 % at 16 deg. The bound here, 8 % + 40 mm^2 (ten faces of a 2 mm voxel;
a sphere's section extrapolated linearly in area is 9 mm^2 high), is what the area
extrapolated in depth holds (``cut_tissue.area_in_depth``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinsep.reconstruct.defects import measure_defects

from .synthetic import R_CSF, two_heads

# 15 and 20 deg put the voxelised cut 1 mm off the mid-plane: A and B at 18.9 / 9.6 and
# 23.1 / 16.3 deg (an oblique 1.5 x 2 x 2.5 mm grid, 5-20 deg: +50, +6, +4, +5 %, the
# edge's extrapolation +67, -6, +3, +4 %; docs/reconstruct.md, left out for time)
CASES = {f"2mm-{th}deg": {"theta": th} for th in (5, 10, 15, 20)}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    kw = dict(CASES[request.param])
    theta = kw.pop("theta")
    h = R_CSF * math.cos(math.radians(theta))
    labels, twins, _ = two_heads(half_distance_mm=h, **kw)
    u = np.asarray(kw.get("direction", (0.0, 0.0, 1.0)), dtype=np.float64)
    u /= np.linalg.norm(u)
    w = twins.world_coords(np.argwhere(twins.array > 0)) @ u
    own = twins.array[twins.array > 0]
    plane = 0.5 * (w[own == 1].max() + w[own == 2].min())
    return h, plane, measure_defects(labels, twins)


def test_exposed_dura_of_a_near_tangent_cut(case) -> None:
    h, plane, d = case
    for name, sign in (("A", -1.0), ("B", 1.0)):
        dist = abs(plane - sign * h)  # the twin's centre to the voxelised cut
        truth = math.pi * (R_CSF**2 - dist**2)
        angle = math.degrees(math.acos(dist / R_CSF))
        got = d[name].dura_exposed_area_mm2
        assert abs(got - truth) <= 0.08 * truth + 40.0, (name, round(angle, 1), got, truth)
        # inside the bone opening
        assert got < d[name].bone_defect_area_mm2
