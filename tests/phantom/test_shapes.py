"""Primitive shapes: voxel counts at fine spacing against analytic volumes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twinsep.phantom.anatomy import HeadParams, analytic_brain_volume_mm3
from twinsep.phantom.shapes import (
    ellipsoid_distance,
    ellipsoid_volume_mm3,
    smooth_min,
    soft_inside,
    soft_slab,
    truncated_ellipsoid_volume_mm3,
)


def _grid(half: float, step: float):
    # Offset so that no sample falls exactly on a cutting plane (a half-voxel bias).
    t = np.arange(-half, half + step / 2, step, dtype=np.float32) + np.float32(0.1371)
    x, y, z = np.meshgrid(t, t, t, indexing="ij")
    return x.ravel(), y.ravel(), z.ravel()


def test_ellipsoid_voxel_count_matches_analytic_volume():
    semi = (20.0, 27.0, 15.0)
    step = 0.5
    x, y, z = _grid(30.0, step)
    d = ellipsoid_distance(x, y, z, (1.3, -0.7, 0.4), semi)
    counted = np.count_nonzero(d < 0) * step**3
    # 0.5 mm voxels on a ~30 mm body: sampling error well under 0.5 %.
    assert counted == pytest.approx(ellipsoid_volume_mm3(semi), rel=0.005)


def test_scaled_level_set_is_a_scaled_ellipsoid():
    semi = (20.0, 27.0, 15.0)
    ref = 22.0
    step = 0.5
    x, y, z = _grid(30.0, step)
    d = ellipsoid_distance(x, y, z, (0.0, 0.0, 0.0), semi, ref)
    f = 1 - 4.0 / ref
    inner = tuple(s * f for s in semi)
    counted = np.count_nonzero(d < -4.0) * step**3
    assert counted == pytest.approx(ellipsoid_volume_mm3(inner), rel=0.006)


def test_truncated_ellipsoid_volume_against_voxel_count_and_limits():
    semi = (30.0, 36.0, 28.0)
    # No cut: the full ellipsoid, to 1e-6.
    full = truncated_ellipsoid_volume_mm3(semi, -100.0, 100.0, 0.0)
    assert full == pytest.approx(ellipsoid_volume_mm3(semi), rel=1e-6)
    # Half ellipsoid.
    half = truncated_ellipsoid_volume_mm3(semi, 0.0, 100.0, 0.0)
    assert half == pytest.approx(ellipsoid_volume_mm3(semi) / 2, rel=1e-6)
    # Floor plus a rising anterior plane, against 0.5 mm voxels.
    z0, y0, m = -10.0, 5.0, 0.8
    step = 0.5
    x, y, z = _grid(40.0, step)
    d = ellipsoid_distance(x, y, z, (0.0, 0.0, 0.0), semi)
    keep = (d < 0) & (z > z0) & (z > z0 + (y - y0) * m)
    counted = np.count_nonzero(keep) * step**3
    assert truncated_ellipsoid_volume_mm3(semi, z0, y0, m) == pytest.approx(counted, rel=0.005)


def test_analytic_brain_volume_is_infant_sized_and_scales_cubically():
    hp = HeadParams()
    v = analytic_brain_volume_mm3(hp) / 1000.0
    # 6-10 month infant brains are about 550-900 mL.
    assert 500.0 < v < 900.0
    assert analytic_brain_volume_mm3(hp, 1.1) == pytest.approx(v * 1000 * 1.1**3, rel=1e-9)


def test_soft_fractions_are_exact_for_planar_surfaces():
    d = np.linspace(-3, 3, 61, dtype=np.float32)
    h = 2.0
    f = soft_inside(d, h)
    assert f[0] == 1.0 and f[-1] == 0.0
    assert float(f[30]) == pytest.approx(0.5)
    # Integral of the fraction over the offset equals the slab width (conservation).
    w = 1.2
    s = soft_slab(np.linspace(-5, 5, 10001, dtype=np.float32), w / 2, h)
    assert float(s.sum() * 0.001) == pytest.approx(w, rel=1e-3)
    # A slab thinner than the voxel never fills it: max fraction = w / h.
    assert float(s.max()) == pytest.approx(w / h, rel=1e-4)


def test_smooth_min_properties():
    a = np.array([0.0, 5.0, -2.0], dtype=np.float32)
    b = np.array([0.0, -9.0, 10.0], dtype=np.float32)
    k = 4.0
    out = smooth_min(a, b, k)
    assert out[0] == pytest.approx(-k / 4)
    assert out[1] == pytest.approx(-9.0)  # far apart: the hard minimum
    # Shift equivariance keeps offset layers nested.
    assert np.allclose(smooth_min(a + 3, b + 3, k), out + 3, atol=1e-5)
    assert math.isclose(float(smooth_min(a, b, 0.0)[2]), -2.0)
