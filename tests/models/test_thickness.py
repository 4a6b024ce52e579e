"""Minimum wall thickness: thin walls are found and thickened, thick ones left alone."""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.models.thickness import thicken, thin_voxels

SP = (0.4, 0.5, 0.3)


def _slabs() -> np.ndarray:
    m = np.zeros((60, 50, 90), bool)
    m[10:50, 10:40, 20:23] = True  # 3 x 0.3 = 0.9 mm: too thin for 1.2 mm
    m[10:50, 10:40, 50:60] = True  # 10 x 0.3 = 3.0 mm: fine
    return m


def test_thin_slab_detected_thick_slab_interior_not() -> None:
    m = _slabs()
    thin = thin_voxels(m, SP, 1.2)
    assert thin[:, :, 20:23].sum() == m[:, :, 20:23].sum()  # the whole thin slab
    # the thick slab's interior (away from its rim) is not thin
    assert not thin[15:45, 15:35, 50:60].any()


def test_thicken_reaches_min_wall() -> None:
    m = _slabs()
    before = m.copy()
    thick, check = thicken(m, SP, 1.2)
    assert np.array_equal(m, before)
    col = np.nonzero(thick[30, 25, :40])[0]
    assert len(col) * SP[2] >= 1.2  # thickness along k, mm
    assert check.thin_voxels > 0 and check.added_ml > 0
    # the thick slab is unchanged in its interior and the thin one is now thick enough
    assert np.array_equal(thick[15:45, 15:35, 50:60], m[15:45, 15:35, 50:60])
    assert not thin_voxels(thick, SP, 1.2)[15:45, 15:35, :40].any()


def test_thick_ball_almost_untouched() -> None:
    idx = np.indices((40, 40, 40)) - 20
    ball = (idx**2).sum(0) <= 15**2
    thin = thin_voxels(ball, (1.0, 1.0, 1.0), 1.2)
    # only the one-voxel nubs at the six poles of a digital ball are thinner than
    # 1.2 mm (they are 1 mm wide); nothing below the surface is flagged
    r = np.sqrt((idx**2).sum(0))
    assert thin.sum() <= 6 * 5 and (r[thin] >= 14.0).all()
    thick, check = thicken(ball, (1.0, 1.0, 1.0), 1.2)
    assert check.added_ml < 0.01 * ball.sum() / 1000  # < 1 % of the ball
    assert check.thin_voxels_after == 0
    assert (thick >= ball).all()


def _reference_thin(m: np.ndarray, sp: tuple[float, float, float], wall: float, tol_vx: float):
    """The definition, computed with scipy's exact EDT (independent of the module)."""
    from scipy import ndimage

    r = 0.5 * wall + 0.5 * min(sp)
    p = np.pad(m, 8)
    depth = ndimage.distance_transform_edt(p, sampling=sp)
    centres = p & (depth >= r - 1e-6)
    if not centres.any():
        return m.copy()
    d = ndimage.distance_transform_edt(~centres, sampling=sp)
    return (p & (d > r + tol_vx * max(sp) + 1e-6))[8:-8, 8:-8, 8:-8]


def test_matches_the_definition_on_random_blobs() -> None:
    """Smoothed noise thresholded into blobs with thin necks, on an anisotropic grid: the
    surface-only algorithm gives exactly the voxels of the EDT definition."""
    from scipy import ndimage

    rng = np.random.default_rng(7)
    for sp, tol in (((0.45, 0.45, 0.45), 1.0), ((0.4, 0.5, 0.9), 1.0), ((0.3, 0.3, 0.3), 0.0)):
        field = ndimage.gaussian_filter(rng.standard_normal((40, 36, 30)), 2.0)
        m = np.zeros(field.shape, bool)
        m[3:-3, 3:-3, 3:-3] = field[3:-3, 3:-3, 3:-3] > 0.05
        ref = _reference_thin(m, sp, 1.2, tol)
        got = thin_voxels(m, sp, 1.2, bump_tolerance_vx=tol)
        assert ref.sum() > 0  # the case has thin parts
        assert np.array_equal(got, ref), (sp, int((got != ref).sum()))


def test_box_edges_and_corners_are_not_thin_walls() -> None:
    """A 10 mm box has no thin wall; its edges and corners are uncovered by 1.2 mm balls
    on the grid but lie within one voxel of covered voxels (the documented tolerance)."""
    m = np.zeros((30, 30, 30), bool)
    m[5:25, 5:25, 5:25] = True
    sp = (0.5, 0.5, 0.5)
    assert not thin_voxels(m, sp, 1.2).any()
    # without the tolerance the 12 edges are flagged (that is what the tolerance is for)
    raw = thin_voxels(m, sp, 1.2, bump_tolerance_vx=0.0)
    assert raw.sum() > 0 and raw[10:20, 10:20, 10:20].sum() == 0


def test_thin_fin_on_a_thick_block_is_found_and_thickened() -> None:
    """A 0.5 mm fin, 6 mm tall, standing on a 10 mm block: the fin is a thin wall
    (except where it meets the block, within the tolerance), the block is not."""
    sp = (0.25, 0.25, 0.25)
    m = np.zeros((80, 80, 80), bool)
    m[10:50, 10:70, 10:70] = True  # block, 10 mm along i
    m[50:74, 38:40, 10:70] = True  # fin 0.5 mm thick along j, 6 mm tall along i
    thin = thin_voxels(m, sp, 1.2)
    fin = np.zeros_like(m)
    fin[50:74, 38:40, 10:70] = True
    assert not (thin & ~fin).any()
    # all of the fin farther than R + tolerance (0.725 + 0.25 mm = 4 voxels) from the block
    # is thin; the fin's end rows along k lie within the tolerance of nothing, so all count
    assert thin[55:74, 38:40, 12:68].all()
    thick, check = thicken(m, sp, 1.2)
    assert check.thin_voxels == int(thin.sum()) and check.thin_voxels_after == 0
    # the fin is now at least 1.2 mm thick along j: grown by R = 0.725 mm, i.e. 2 whole
    # voxels, on each side (0.5 + 2 x 0.5 = 1.5 mm)
    assert np.count_nonzero(thick[65, :, 40]) * sp[1] == pytest.approx(1.5)
    assert (thick >= m).all()
    assert check.tolerance_mm == 0.25 and check.grid_mm == sp
