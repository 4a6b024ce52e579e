"""The flat-patch search (the scan's cut through the body) finds the whole face whatever
the direction lattice's bins: the same skin turned gives the same patch, turned with it.

A voxelised ball (radius 30 voxels of 1 mm) cut by a plane 9 mm from its centre, the
plane's normal in three directions oblique to the grid: the flat face is a disc of
pi (30^2 - 9^2) = 2573 mm^2. Its skin (points and voxel normals, ``_skin_normals``) is
turned by three random rotations, which is what a lattice laid otherwise does to the bins
(docs/orientation.md, "Flat patches grown from their plane").

Measured before the change (the skin within 10 deg of the fullest bin, one plane fit;
HEAD 9b28d5f): the patch held 952 / 593 / 691 mm^2 of the disc for the three normals
(the bounds below: 1607 / 1087 / 1594), and 880-1203 / 741-875 / 691-1438 mm^2 under
the three turns, so a scan's cut was found on one storage and not on another. After:
1914 / 1442 / 2104 mm^2 under every turn.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from grids import rotation_matrix
from twinsep.fusion.axes import _body_cut_normal, angle_deg
from twinsep.fusion.params import AxisParams

sys.path.insert(0, str(Path(__file__).parents[1] / "fusion"))
from handmade_pairs import voxel_skin  # noqa: E402

RADIUS, OFF = 30.0, 9.0
DISC_MM2 = np.pi * (RADIUS**2 - OFF**2)


def _cut_ball(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = 66
    ijk = np.indices((n, n, n)).reshape(3, -1).T.astype(float)
    rel = ijk - (n - 1) / 2.0 - np.array([0.21, -0.13, 0.07])  # off the grid's symmetry
    body = ((np.linalg.norm(rel, axis=1) < RADIUS) & (rel @ normal < OFF)).reshape(n, n, n)
    return voxel_skin(body)


@pytest.mark.parametrize(
    "normal", [(0.19, -0.2, 0.96), (0.48, 0.65, 0.59), (-0.95, 0.02, 0.3)], ids=str
)
def test_cut_face_found_whole_whatever_the_lattice(normal: tuple) -> None:
    nv = np.asarray(normal) / np.linalg.norm(normal)
    pts, gw = _cut_ball(nv)
    params = AxisParams(body_cut_min_mm2=0.0)  # every patch returned, its area compared
    ref = _body_cut_normal(skin=(pts, gw), spacing=(1.0, 1.0, 1.0), params=params)
    assert ref is not None
    assert angle_deg(ref.normal, nv) < 0.1
    # the cells of the grid's step that the face's voxels cover: a face oblique to the
    # grid holds max_i |n_i| voxels per mm^2 (``_skin_area_mm2``), at most that share
    # of the cells; the rim where the face meets the sphere is the rest
    cover = float(np.abs(nv).max())
    assert 0.65 * cover * DISC_MM2 <= ref.area_mm2 <= 1.05 * DISC_MM2
    rng = np.random.default_rng(7)
    for _ in range(3):
        q = rotation_matrix(rng.normal(size=3), float(rng.uniform(10.0, 170.0)))
        got = _body_cut_normal(skin=(pts @ q.T, gw @ q.T), spacing=(1.0, 1.0, 1.0), params=params)
        assert got is not None
        assert got.area_mm2 == pytest.approx(ref.area_mm2, rel=1e-9)
        assert angle_deg(q.T @ got.normal, ref.normal) < 1e-6
