"""Geometric surface gain of scalp tissue expanders (pure functions).

The three standard shapes are modelled, following the approach of van Rappard et al.
("Surface-area increase in tissue expansion", Plast Reconstr Surg 1988;82:833): the
geometric *gain* of an expander is the area of its inflated dome minus the area of its
flat base, i.e. the extra skin surface stretched over it. All lengths are in mm, areas
in mm^2 and volumes in mL (1 mL = 1000 mm^3). The formulas are derived here from the
geometry (and checked in ``tests/reconstruct/test_expander_geometry.py`` against
numerical integration of the same shapes):

Round (spherical cap), base radius ``a`` (diameter ``W = 2a``), dome height ``h``::

    V(h)    = pi h (3 a^2 + h^2) / 6
    dome    = 2 pi rho h = pi (a^2 + h^2)      (rho = sphere radius)
    gain(h) = dome - pi a^2 = pi h^2

Rectangular, "box" model (the published model): base ``L x W``, height ``h``, the dome
being the top plus four vertical sides::

    V = L W h          gain = 2 h (L + W)

Rectangular, "capsule" model (half-cylinder with quarter-sphere ends, generalised to
any fill): the cross-section across the width is a circular segment of chord ``W`` and
height ``h`` (radius ``rho = (a^2 + h^2) / (2 h)``, half-angle ``theta = 2 atan(h / a)``),
swept along a straight centreline of length ``s = L - W``; each end is half of the
spherical cap of base radius ``a`` and height ``h`` (two quarter spheres when
``h = a``)::

    segment area  S = rho^2 (theta - sin(theta) cos(theta))
    arc length    c = 2 rho theta
    V    = pi h (3 a^2 + h^2) / 6 + S s
    gain = pi h^2 + (c - W) s

Crescent: the same segment profile swept along a circular arc of centreline length
``s`` (any arc radius ``>= a``) with half-cap ends. By Pappus' theorems the swept
surface and volume equal the section's arc length and area times the distance travelled
by their centroids; both centroids lie on the centreline (the section is symmetric
about it), so the crescent obeys the capsule formulas with ``s`` = arc length of the
centreline. ``length_mm`` of a crescent is ``s + W`` measured along the centreline.

The geometric gain is only partly realised in living tissue; the in-vivo efficiencies
per shape are in :class:`ExpanderEfficiency`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

from scipy.optimize import brentq

from twinsep.errors import InputError

ExpanderShape = Literal["round", "rectangular", "crescent"]
RectangularModel = Literal["box", "capsule"]
SHAPES: tuple[str, ...] = get_args(ExpanderShape)
RECTANGULAR_MODELS: tuple[str, ...] = get_args(RectangularModel)

MM3_PER_ML = 1000.0
_SERIES_T = 1e-3  # below this h/a the capsule terms use their Taylor series (no cancellation)


@dataclass(frozen=True)
class ExpanderEfficiency:
    """Fraction of the geometric surface gain realised in living tissue, per shape.

    Source: van Rappard JHA, Molenaar J, van Doorn K, Sonneveld GJ, Borghouts JMHM.
    Surface-area increase in tissue expansion. Plast Reconstr Surg 1988;82(5):833-839
    (in-vivo measurements in pigs; overall about 35 % of the mathematical gain).

    Attributes
    ----------
    rectangular : float
        Realised fraction for rectangular expanders (about 38 %), dimensionless.
    crescent : float
        Realised fraction for crescent expanders (about 32 %), dimensionless.
    round : float
        Realised fraction for round expanders (about 25 %), dimensionless.
    """

    rectangular: float = 0.38
    crescent: float = 0.32
    round: float = 0.25

    def __post_init__(self) -> None:
        for name in SHAPES:
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise InputError(f"efficiency.{name}", f"{v} is not in (0, 1]")

    def of(self, shape: str) -> float:
        """Efficiency of ``shape`` (one of :data:`SHAPES`)."""
        check_shape(shape)
        return float(getattr(self, shape))


def check_shape(shape: str, /, *, name: str = "shape") -> None:
    """Raise :class:`InputError` unless ``shape`` is one of :data:`SHAPES`."""
    if shape not in SHAPES:
        raise InputError(name, f"{shape!r} is not one of {', '.join(SHAPES)}")


@dataclass(frozen=True)
class ExpanderBase:
    """Flat base of one expander.

    Parameters
    ----------
    shape : {"round", "rectangular", "crescent"}
        Expander type.
    width_mm : float
        Base width in mm (diameter of a round expander).
    length_mm : float
        Overall base length in mm, ``>= width_mm`` (equal to the width for round; for a
        crescent measured along its curved centreline, ends included).
    rectangular_model : {"box", "capsule"}
        Which geometric model a rectangular expander follows (ignored otherwise).
    """

    shape: ExpanderShape
    width_mm: float
    length_mm: float
    rectangular_model: RectangularModel = "box"

    def __post_init__(self) -> None:
        check_shape(self.shape)
        if self.rectangular_model not in RECTANGULAR_MODELS:
            raise InputError(
                "rectangular_model",
                f"{self.rectangular_model!r} is not one of {', '.join(RECTANGULAR_MODELS)}",
            )
        if not (math.isfinite(self.width_mm) and self.width_mm > 0):
            raise InputError("width_mm", f"{self.width_mm} must be a positive number of mm")
        if not (math.isfinite(self.length_mm) and self.length_mm >= self.width_mm * (1 - 1e-12)):
            raise InputError(
                "length_mm", f"{self.length_mm} must be finite and >= width_mm ({self.width_mm})"
            )
        if self.shape == "round" and not math.isclose(self.length_mm, self.width_mm):
            raise InputError("length_mm", "a round expander has length_mm == width_mm")

    @property
    def is_box(self) -> bool:
        """True when the box model applies."""
        return self.shape == "rectangular" and self.rectangular_model == "box"

    @property
    def half_width_mm(self) -> float:
        """Half the base width, ``a`` (mm)."""
        return 0.5 * self.width_mm

    @property
    def straight_mm(self) -> float:
        """Length of the swept (non-cap) part of the centreline, ``s = L - W`` (mm)."""
        return max(0.0, self.length_mm - self.width_mm)

    @property
    def base_area_mm2(self) -> float:
        """Area of the flat base (mm^2)."""
        if self.is_box:
            return self.width_mm * self.length_mm
        a = self.half_width_mm
        return math.pi * a * a + self.width_mm * self.straight_mm


def _check_height(height_mm: float) -> None:
    if not (math.isfinite(height_mm) and height_mm >= 0):
        raise InputError("height_mm", f"{height_mm} must be a finite height >= 0 mm")


def _segment_terms(a: float, h: float) -> tuple[float, float]:
    """(segment area mm^2, arc length minus chord mm) of a circular segment.

    Chord ``2a``, height ``h``; Taylor series for ``h/a`` below 1e-3 to avoid cancellation.
    """
    if h == 0.0:
        return 0.0, 0.0
    t = h / a
    if t < _SERIES_T:
        # S = (4/3) a h (1 + t^2/5 + ...) ; c - 2a = a (4 t^2/3 - 4 t^4/15 + ...)
        area = (4.0 / 3.0) * a * h * (1.0 + t * t / 5.0 - t**4 / 35.0)
        excess = a * (4.0 * t * t / 3.0 - 4.0 * t**4 / 15.0 + 4.0 * t**6 / 35.0)
        return area, excess
    rho = (a * a + h * h) / (2.0 * h)
    theta = 2.0 * math.atan(t)
    area = rho * rho * (theta - math.sin(theta) * math.cos(theta))
    excess = 2.0 * rho * theta - 2.0 * a
    return area, excess


def volume_ml(base: ExpanderBase, height_mm: float) -> float:
    """Fill volume (mL) of an expander inflated to dome height ``height_mm`` (mm)."""
    _check_height(height_mm)
    h = float(height_mm)
    if base.is_box:
        return base.width_mm * base.length_mm * h / MM3_PER_ML
    a = base.half_width_mm
    cap = math.pi * h * (3.0 * a * a + h * h) / 6.0
    seg, _ = _segment_terms(a, h)
    return (cap + seg * base.straight_mm) / MM3_PER_ML


def gain_mm2(base: ExpanderBase, height_mm: float) -> float:
    """Geometric surface gain (mm^2) at dome height ``height_mm`` (mm): dome minus base."""
    _check_height(height_mm)
    h = float(height_mm)
    if base.is_box:
        return 2.0 * h * (base.width_mm + base.length_mm)
    _, excess = _segment_terms(base.half_width_mm, h)
    return math.pi * h * h + excess * base.straight_mm


def dome_area_mm2(base: ExpanderBase, height_mm: float) -> float:
    """Area (mm^2) of the inflated dome (base area plus gain)."""
    return base.base_area_mm2 + gain_mm2(base, height_mm)


def _check_nonneg(value: float, name: str) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise InputError(name, f"{value} must be a finite number >= 0")


def height_for_volume_mm(base: ExpanderBase, volume_ml_: float) -> float:
    """Dome height (mm) at which the expander holds ``volume_ml_`` (mL); inverse of :func:`volume_ml`."""
    _check_nonneg(volume_ml_, "volume_ml")
    v = volume_ml_ * MM3_PER_ML
    if v == 0:
        return 0.0
    if base.is_box:
        return v / (base.width_mm * base.length_mm)
    a = base.half_width_mm
    if base.straight_mm == 0.0:
        # h^3 + 3 a^2 h - 6 V / pi = 0 has one real root (Cardano).
        p, q = a * a, 3.0 * v / math.pi
        d = math.sqrt(q * q + p**3)
        h = math.cbrt(q + d) - math.cbrt(d - q)
        for _ in range(3):  # Newton polish: Cardano cancels for tiny volumes
            h -= (h**3 + 3.0 * p * h - 2.0 * q) / (3.0 * h * h + 3.0 * p)
        return max(h, 0.0)
    hi = max(a, 1.0)
    while volume_ml(base, hi) * MM3_PER_ML < v:
        hi *= 2.0
    return float(
        brentq(lambda h: volume_ml(base, h) * MM3_PER_ML - v, 0.0, hi, xtol=1e-13, rtol=1e-15)
    )


def height_for_gain_mm(base: ExpanderBase, gain_mm2_: float) -> float:
    """Dome height (mm) giving a geometric gain of ``gain_mm2_`` (mm^2); inverse of :func:`gain_mm2`."""
    _check_nonneg(gain_mm2_, "gain_mm2")
    if gain_mm2_ == 0:
        return 0.0
    if base.is_box:
        return gain_mm2_ / (2.0 * (base.width_mm + base.length_mm))
    if base.straight_mm == 0.0:
        return math.sqrt(gain_mm2_ / math.pi)
    hi = max(base.half_width_mm, 1.0)
    while gain_mm2(base, hi) < gain_mm2_:
        hi *= 2.0
    return float(brentq(lambda h: gain_mm2(base, h) - gain_mm2_, 0.0, hi, xtol=1e-13, rtol=1e-15))


def gain_for_volume_mm2(base: ExpanderBase, volume_ml_: float) -> float:
    """Geometric surface gain (mm^2) of an expander filled with ``volume_ml_`` (mL)."""
    return gain_mm2(base, height_for_volume_mm(base, volume_ml_))


def volume_for_gain_ml(base: ExpanderBase, gain_mm2_: float) -> float:
    """Fill volume (mL) needed for a geometric gain of ``gain_mm2_`` (mm^2)."""
    return volume_ml(base, height_for_gain_mm(base, gain_mm2_))


def max_height_mm(base: ExpanderBase, max_height_ratio: float) -> float:
    """Largest modelled dome height (mm): ``max_height_ratio`` times the half-width."""
    if not (math.isfinite(max_height_ratio) and max_height_ratio > 0):
        raise InputError("max_height_ratio", f"{max_height_ratio} must be > 0")
    return max_height_ratio * base.half_width_mm
