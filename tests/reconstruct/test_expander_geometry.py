"""Expander formulas against independent numerical integration of the same shapes.

Each shape is described here only by its height field over the base (the dome height at
distance ``d`` from the centreline follows a circular arc of chord ``W`` and sagitta
``h``); volume = integral of the height, dome area = integral of sqrt(1 + |grad z|^2).
Integration uses scipy.integrate with tight tolerances, so a 1e-6 relative agreement
catches any wrong term (a missing end cap is ~10 %, a factor of 2 is 100 %).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh
from scipy import integrate

from twinsep.errors import InputError
from twinsep.reconstruct import expander_geometry as eg

REL = 1e-6  # required by the issue; quadrature error here is ~1e-10


def _profile(a: float, h: float):
    """Height z(d) and slope z'(d) of a circular-arc dome of chord 2a and sagitta h."""
    rho = (a * a + h * h) / (2 * h)
    off = rho - h

    def z(d: float) -> float:
        return math.sqrt(max(rho * rho - d * d, 0.0)) - off

    def slope2(d: float) -> float:
        return d * d / (rho * rho - d * d)

    return z, slope2


def _round_numeric(a: float, h: float) -> tuple[float, float]:
    z, s2 = _profile(a, h)
    vol = integrate.quad(lambda r: z(r) * 2 * math.pi * r, 0, a, epsabs=0, epsrel=1e-12)[0]
    dome = integrate.quad(
        lambda r: math.sqrt(1 + s2(r)) * 2 * math.pi * r, 0, a, epsabs=0, epsrel=1e-12
    )[0]
    return vol, dome - math.pi * a * a


def _capsule_numeric(a: float, s: float, h: float) -> tuple[float, float]:
    """Straight capsule by a 2D Cartesian integral over the stadium (x along centreline)."""
    z, s2 = _profile(a, h)

    def dist(x: float, y: float) -> float:
        dx = max(abs(x) - s / 2, 0.0)
        return math.hypot(dx, y)

    def ylim(x: float) -> float:
        dx = max(abs(x) - s / 2, 0.0)
        return math.sqrt(max(a * a - dx * dx, 0.0))

    vol = dome = 0.0
    for x0, x1 in ((-s / 2 - a, -s / 2), (-s / 2, s / 2), (s / 2, s / 2 + a)):
        vol += integrate.dblquad(
            lambda y, x: z(dist(x, y)),
            x0,
            x1,
            lambda x: -ylim(x),
            ylim,
            epsabs=0,
            epsrel=1e-11,
        )[0]
        dome += integrate.dblquad(
            lambda y, x: math.sqrt(1 + s2(dist(x, y))),
            x0,
            x1,
            lambda x: -ylim(x),
            ylim,
            epsabs=0,
            epsrel=1e-11,
        )[0]
    base = math.pi * a * a + 2 * a * s
    return vol, dome - base


def _crescent_numeric(a: float, arc_r: float, phi: float, h: float) -> tuple[float, float]:
    """Crescent: polar integral over the annular sector plus two half-disc end caps."""
    z, s2 = _profile(a, h)
    # annular sector: r in [R-a, R+a], angle in [0, phi]; height depends on |r - R|
    vol_sector = (
        phi
        * integrate.quad(
            lambda r: z(abs(r - arc_r)) * r, arc_r - a, arc_r + a, epsabs=0, epsrel=1e-12
        )[0]
    )
    dome_sector = (
        phi
        * integrate.quad(
            lambda r: math.sqrt(1 + s2(abs(r - arc_r))) * r,
            arc_r - a,
            arc_r + a,
            epsabs=0,
            epsrel=1e-12,
        )[0]
    )
    # each end: half disc of radius a around the end point of the centreline
    half_vol = math.pi * integrate.quad(lambda r: z(r) * r, 0, a, epsabs=0, epsrel=1e-12)[0]
    half_dome = math.pi * integrate.quad(lambda r: math.sqrt(1 + s2(r)) * r, 0, a, epsrel=1e-12)[0]
    base = phi * 2 * arc_r * a + math.pi * a * a
    return vol_sector + 2 * half_vol, dome_sector + 2 * half_dome - base


@pytest.mark.parametrize("ratio", [0.05, 0.3, 0.7, 0.95])
def test_round_matches_integration(ratio: float) -> None:
    base = eg.ExpanderBase("round", 60.0, 60.0)
    h = ratio * 30.0
    vol, gain = _round_numeric(30.0, h)
    assert eg.volume_ml(base, h) * 1000 == pytest.approx(vol, rel=REL)
    assert eg.gain_mm2(base, h) == pytest.approx(gain, rel=REL)


@pytest.mark.parametrize(("ratio", "length"), [(0.2, 80.0), (0.6, 120.0), (0.9, 45.0)])
def test_capsule_matches_integration(ratio: float, length: float) -> None:
    base = eg.ExpanderBase("rectangular", 40.0, length, rectangular_model="capsule")
    h = ratio * 20.0
    vol, gain = _capsule_numeric(20.0, length - 40.0, h)
    assert eg.volume_ml(base, h) * 1000 == pytest.approx(vol, rel=REL)
    assert eg.gain_mm2(base, h) == pytest.approx(gain, rel=REL)


@pytest.mark.parametrize(("arc_r", "phi", "ratio"), [(50.0, 1.2, 0.5), (25.0, 2.5, 0.9)])
def test_crescent_matches_integration(arc_r: float, phi: float, ratio: float) -> None:
    a = 20.0
    base = eg.ExpanderBase("crescent", 2 * a, arc_r * phi + 2 * a)
    h = ratio * a
    vol, gain = _crescent_numeric(a, arc_r, phi, h)
    assert eg.volume_ml(base, h) * 1000 == pytest.approx(vol, rel=REL)
    assert eg.gain_mm2(base, h) == pytest.approx(gain, rel=REL)
    assert base.base_area_mm2 == pytest.approx(phi * 2 * arc_r * a + math.pi * a * a, rel=1e-12)


def test_box_matches_triangulated_box() -> None:
    w, l_, h = 35.0, 90.0, 17.0
    base = eg.ExpanderBase("rectangular", w, l_, rectangular_model="box")
    box = trimesh.creation.box(extents=(l_, w, h))
    # dome = whole surface minus the bottom face
    assert eg.gain_mm2(base, h) == pytest.approx(box.area - 2 * l_ * w, rel=1e-9)
    assert eg.volume_ml(base, h) * 1000 == pytest.approx(box.volume, rel=1e-9)


def test_round_hemisphere_closed_form() -> None:
    # at h = a a spherical cap is a hemisphere: V = 2/3 pi a^3, gain = base area
    base = eg.ExpanderBase("round", 50.0, 50.0)
    assert eg.volume_ml(base, 25.0) == pytest.approx(2 / 3 * math.pi * 25.0**3 / 1000, rel=1e-12)
    assert eg.gain_mm2(base, 25.0) == pytest.approx(base.base_area_mm2, rel=1e-12)


def test_small_height_series_is_continuous() -> None:
    # the Taylor branch (h/a < 1e-3) must join the exact branch without a jump
    base = eg.ExpanderBase("crescent", 40.0, 100.0)
    below, above = 20.0 * (1e-3 - 1e-13), 20.0 * (1e-3 + 1e-13)  # 1e-10 relative apart
    for f in (eg.volume_ml, eg.gain_mm2):
        assert f(base, below) == pytest.approx(f(base, above), rel=1e-8)


@pytest.mark.parametrize(
    "base",
    [
        eg.ExpanderBase("round", 70.0, 70.0),
        eg.ExpanderBase("rectangular", 40.0, 100.0),
        eg.ExpanderBase("rectangular", 40.0, 100.0, rectangular_model="capsule"),
        eg.ExpanderBase("crescent", 30.0, 140.0),
    ],
)
@pytest.mark.parametrize("h", [0.01, 3.0, 15.0, 34.0])
def test_inverses_round_trip(base: eg.ExpanderBase, h: float) -> None:
    v = eg.volume_ml(base, h)
    g = eg.gain_mm2(base, h)
    assert eg.height_for_volume_mm(base, v) == pytest.approx(h, rel=1e-9)
    assert eg.height_for_gain_mm(base, g) == pytest.approx(h, rel=1e-9)
    assert eg.volume_for_gain_ml(base, g) == pytest.approx(v, rel=1e-9)
    assert eg.gain_for_volume_mm2(base, v) == pytest.approx(g, rel=1e-9)


def test_gain_increases_with_volume() -> None:
    base = eg.ExpanderBase("crescent", 30.0, 140.0)
    vols = np.linspace(0, 200, 41)
    gains = [eg.gain_for_volume_mm2(base, float(v)) for v in vols]
    assert np.all(np.diff(gains) > 0)


def test_efficiency_defaults_and_validation() -> None:
    eff = eg.ExpanderEfficiency()
    assert (eff.of("rectangular"), eff.of("crescent"), eff.of("round")) == (0.38, 0.32, 0.25)
    with pytest.raises(InputError, match="efficiency.round"):
        eg.ExpanderEfficiency(round=1.5)
    with pytest.raises(InputError, match="oval"):
        eff.of("oval")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"shape": "oval", "width_mm": 10.0, "length_mm": 10.0}, "shape"),
        ({"shape": "round", "width_mm": -1.0, "length_mm": -1.0}, "width_mm"),
        ({"shape": "rectangular", "width_mm": 50.0, "length_mm": 20.0}, "length_mm"),
        ({"shape": "round", "width_mm": 50.0, "length_mm": 60.0}, "length_mm"),
    ],
)
def test_bad_base_is_input_error(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError, match=field):
        eg.ExpanderBase(**kwargs)


def test_negative_volume_rejected() -> None:
    with pytest.raises(InputError, match="volume_ml"):
        eg.height_for_volume_mm(eg.ExpanderBase("round", 10.0, 10.0), -1.0)
