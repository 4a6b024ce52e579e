"""Minimum wall thickness: thin walls are found and thickened, thick ones left alone."""

from __future__ import annotations

import numpy as np

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
