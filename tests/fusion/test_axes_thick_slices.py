"""The neck's walls weighed by the skin area they stand for, on grids of thick slices.

A skin voxel (a body voxel with a background face neighbour) stands for more or less
skin depending on which way the skin faces the grid: on 1 x 1 x 1.5 mm voxels a wall
facing along the slices holds 1 voxel per 1.5 mm^2, one facing across them 1 per mm^2.
Counted voxels let the flare of a neck into the skull outweigh its walls on thick
slices: a hand-made pair whose necks end 18 mm below the cavity read twin A 10-12 deg
off at 1 x 1 x 1.5 mm and 0.4 at 1 mm (docs/orientation.md, 'Thick slices: the neck's
walls weighed by their area'). Ground truth: a voxelised ellipsoid of known area, a
flared neck whose walls' share of the band is known analytically, and the hand-made
pairs of ``handmade_pairs.py`` (world-mm geometry, independent of the detector).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import ellipeinc, ellipkinc

from twinsep.fusion.axes import (
    _distance_normals,
    _Plane,
    _skin_area_mm2,
    _skin_normals,
    _tube_axis,
    angle_deg,
    twin_frame,
)
from twinsep.fusion.params import AxisParams
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from handmade_pairs import make_pair  # noqa: E402

from grids import rotation_matrix  # noqa: E402

GRIDS = [(1.0, 1.0, 1.0), (1.0, 1.0, 1.5), (1.0, 1.0, 2.0), (1.0, 1.0, 3.0), (0.5, 0.5, 2.0)]


def _grid(spacing: tuple[float, float, float], extent_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned grid of ``spacing`` covering a cube of ``extent_mm`` centred on the
    origin: its affine and its voxel centres (world mm, (n, 3))."""
    sp = np.asarray(spacing, dtype=float)
    shape = tuple(int(round(extent_mm / s)) for s in sp)
    aff = np.diag([*sp, 1.0])
    aff[:3, 3] = -sp * (np.asarray(shape) - 1) / 2.0
    xyz = np.indices(shape).reshape(3, -1).T * sp + aff[:3, 3]
    return aff, xyz


def _skin(body: np.ndarray, aff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    found = _skin_normals(
        body=body,
        background=~body,
        free=np.ones_like(body),
        affine=aff,
        offset=np.zeros(3, dtype=np.int64),
        full_shape=body.shape,
    )
    assert found is not None
    return found


def _ellipsoid_area_mm2(a: float, b: float, c: float) -> float:
    """Exact surface area of an ellipsoid with semi-axes a > b > c (Legendre's form)."""
    phi = np.arccos(c / a)
    m = (a * a * (b * b - c * c)) / (b * b * (a * a - c * c))
    s = np.sin(phi)
    return float(
        2 * np.pi * c * c
        + 2 * np.pi * a * b / s * (ellipeinc(phi, m) * s * s + ellipkinc(phi, m) * np.cos(phi) ** 2)
    )


def _ellipsoid_skin_areas(spacing: tuple[float, float, float]) -> tuple[float, float, float]:
    """A voxelised ellipsoid (38 x 30 x 24 mm semi-axes, turned 25 deg about (1, 0.5,
    0.2)): its exact area, the sum of its skin voxels' areas from the smoothed normals
    the walls use, and its voxels counted at ``prod(spacing) ** (2/3)`` mm^2 each."""
    aff, xyz = _grid(spacing, 100.0)
    rot = rotation_matrix(np.array([1.0, 0.5, 0.2]), 25.0)
    semi = np.array([38.0, 30.0, 24.0])
    shape = tuple(int(round(100.0 / s)) for s in spacing)
    body = (np.linalg.norm((xyz @ rot) / semi, axis=1) <= 1.0).reshape(shape)
    pts, normals = _skin(body, aff)
    smooth = _distance_normals(
        body=body,
        pts=pts,
        normals=normals,
        affine=aff,
        offset=np.zeros(3, dtype=np.int64),
        spacing=spacing,
        sigma_vx=AxisParams().tube_normal_sigma_vx,
    )
    weighted = float(_skin_area_mm2(smooth, aff).sum())
    counted = len(pts) * float(np.prod(spacing)) ** (2.0 / 3.0)
    return _ellipsoid_area_mm2(*semi), weighted, counted


@pytest.mark.parametrize("spacing", GRIDS)
def test_skin_area_of_a_voxelised_ellipsoid(spacing: tuple[float, float, float]) -> None:
    """The skin voxels' areas add up to the ellipsoid's area within 5 % on every grid
    (measured 0.98-1.02 of it); counted voxels read 0.82-1.51 of it."""
    exact, weighted, _ = _ellipsoid_skin_areas(spacing)
    assert abs(weighted / exact - 1.0) < 0.05, weighted / exact


def test_counted_skin_voxels_depend_on_the_slices() -> None:
    """The bias the weights remove: counted voxels of the same ellipsoid read 0.82 of
    its area at 1 mm and 1.51 at 0.5 x 0.5 x 2 mm."""
    ratios = [c / e for e, _, c in map(_ellipsoid_skin_areas, [(1.0, 1.0, 1.0), (0.5, 0.5, 2.0)])]
    assert ratios[1] - ratios[0] > 0.2, ratios


# A neck (radius 17 mm) ending flat 50 mm below the origin, flaring at 45 deg from 14 mm
# above its end (into a wider body, radius 30): the band of walls 3-18 mm above the end
# holds 11 mm of cylinder and 4 mm of cone.
R_NECK, Z_END, Z_FLARE, R_TOP = 17.0, -50.0, -36.0, 30.0


def _flared_neck(
    spacing: tuple[float, float, float], tilt_deg: float
) -> tuple[_Plane, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The flared neck turned ``tilt_deg`` about (1, 0.4, 0) on an axis-aligned grid: its
    cut plane, skin points with their exact outward normals (of the nearest of side,
    cone and end), the grid's affine and the neck's axis out of the cut (world)."""
    rot = rotation_matrix(np.array([1.0, 0.4, 0.0]), tilt_deg)
    aff, xyz = _grid(spacing, 90.0)
    aff[:3, 3] += rot @ np.array([0.0, 0.0, -25.0])
    xyz = xyz + rot @ np.array([0.0, 0.0, -25.0])
    loc = xyz @ rot
    r, z = np.hypot(loc[:, 0], loc[:, 1]), loc[:, 2]
    edge = np.minimum(R_NECK + np.maximum(z - Z_FLARE, 0.0), R_TOP)
    shape = tuple(int(round(90.0 / s)) for s in spacing)
    body = ((r <= edge) & (z >= Z_END) & (z <= 0.0)).reshape(shape)
    pts, _ = _skin(body, aff)
    lp = pts @ rot
    lr, lz = np.hypot(lp[:, 0], lp[:, 1]), lp[:, 2]
    radial = lp[:, :2] / np.maximum(lr, 1e-9)[:, None]
    d_side = np.where(lz <= Z_FLARE, np.abs(lr - R_NECK), np.hypot(lr - R_NECK, lz - Z_FLARE))
    d_cone = np.where(
        lz + lr >= Z_FLARE + R_NECK, np.abs(lr - R_NECK - (lz - Z_FLARE)) / np.sqrt(2.0), np.inf
    )
    d_end = np.abs(lz - Z_END)
    n = np.zeros_like(lp)
    n[:, :2] = radial
    cone = d_cone < d_side
    n[cone, :2] = radial[cone] / np.sqrt(2.0)
    n[cone, 2] = -1.0 / np.sqrt(2.0)
    n[d_end < np.minimum(d_side, d_cone)] = [0.0, 0.0, -1.0]
    down = rot @ np.array([0.0, 0.0, -1.0])
    plane = _Plane(
        normal=down, centre_mm=rot @ np.array([0.0, 0.0, Z_END]), area_mm2=np.pi * R_NECK**2
    )
    return plane, pts, n @ rot.T, aff, down


def _kept_share(
    plane: _Plane,
    pts: np.ndarray,
    normals: np.ndarray,
    spacing: tuple[float, float, float],
    grid: np.ndarray | None,
) -> float:
    """The walls' share kept by the trim, read as the largest ``tube_keep_share`` (to
    0.01) at which the tube is still found."""
    found = 0.0
    for keep in np.arange(0.30, 0.96, 0.01):
        ap = AxisParams(tube_keep_share=float(keep))
        if _tube_axis(plane, pts, normals, spacing, ap, grid=grid) is None:
            break
        found = float(keep)
    return found


def _flare_truth_share() -> float:
    cylinder = 2.0 * np.pi * R_NECK * (Z_FLARE - Z_END - 3.0)
    rise = 18.0 - (Z_FLARE - Z_END)
    cone = np.pi * (2.0 * R_NECK + rise) * rise * np.sqrt(2.0)
    return float(cylinder / (cylinder + cone))


@pytest.mark.parametrize("tilt_deg", [0.0, 20.0])
def test_walls_share_of_a_flared_neck_on_thick_slices(tilt_deg: float) -> None:
    """The share of the band's wall area on the neck (not its flare) is 0.635
    analytically. Weighted by area it reads 0.60-0.74 on every grid from 1 mm to
    1 x 1 x 3 and 0.5 x 0.5 x 2 mm, tilted 0-35 deg (the band's ends are met at voxel
    centres: a 3 mm slice falls in or out whole); counted voxels read 0.39-0.71 (0.39
    at 1 x 1 x 3 mm). The axis is the neck's within 1 deg wherever the tube is found."""
    truth = _flare_truth_share()
    assert truth == pytest.approx(0.635, abs=0.001)
    counted = []
    for spacing in GRIDS:
        plane, pts, normals, aff, down = _flared_neck(spacing, tilt_deg)
        share = _kept_share(plane, pts, normals, spacing, aff)
        assert abs(share - truth) < 0.12, (spacing, share)
        axis = _tube_axis(plane, pts, normals, spacing, AxisParams(tube_keep_share=0.5), grid=aff)
        assert axis is not None and angle_deg(axis, down) < 1.0, spacing
        counted.append(_kept_share(plane, pts, normals, spacing, None))
    # the counted voxels' bias, which the weights remove
    assert max(abs(c - truth) for c in counted) > 0.15, counted


def _pair_errors(spacing: tuple[float, float, float]) -> tuple[float, float]:
    shape = tuple(int(round(e / s)) for e, s in zip((100.0, 100.0, 196.0), spacing, strict=True))
    pair = make_pair(shape=shape, spacing=spacing, roll_deg=30.0, neck_length_mm=50.0)
    labels = Volume(pair.labels, pair.affine, {"source": "pair"})
    twins = Volume(pair.twins, pair.affine, {"source": "pair"})
    err_a = angle_deg(twin_frame(labels, twins, 1).axis, pair.axis_a)
    err_b = angle_deg(twin_frame(labels, twins, 2).axis, pair.axis_b)
    return err_a, err_b


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.5), (1.0, 1.0, 2.0)])
def test_pair_with_short_necks_on_thick_slices(spacing: tuple[float, float, float]) -> None:
    """The vertical hand-made pair whose necks end 50 mm below each head's centre (18 mm
    below the cavity; a flat end, walls 15 mm long under the skull): each twin 0.4 /
    0.3 deg off at 1 mm. Counted walls read twin A 11.6 deg off at 1 x 1 x 1.5 mm and
    both 10.3 at 1 x 1 x 2 (the tube refused, the end slab leaning into the chin);
    weighted 0.8-2.0 deg (0.5 x 0.5 x 2 mm: 10.3 -> 2.1 / 0.9, not run here for its
    3.9 M voxels; 1 x 1 x 3 mm still 12.7, docs/orientation.md)."""
    err_a, err_b = _pair_errors(spacing)
    assert max(err_a, err_b) < 3.0, (err_a, err_b)
