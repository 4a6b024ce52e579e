"""Implicit-shape primitives shared by the phantom modules.

Every shape is described by an approximate signed distance in millimetres (negative
inside). Two derived views are used everywhere:

* the **crisp** view, ``d < 0`` at a voxel centre, which gives the truth labels;
* the **soft** view, the fraction of a voxel of width ``h_mm`` (measured along the
  surface normal) that lies inside, which gives partial-volume CT values. For a planar
  surface and a box-shaped voxel profile this fraction is exact.

Ellipsoid distances are *scaled radial* distances, ``ref_mm * (|p / a| - 1)``: their
level sets are scaled copies of the ellipsoid, so every inner layer of a head is itself an
ellipsoid with an analytic volume (the price: a layer's thickness varies with the local
semi-axis, by about +-8 % on a head).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def ellipsoid_distance(
    x: FloatArray,
    y: FloatArray,
    z: FloatArray,
    centre: tuple[float, float, float],
    semi_axes: tuple[float, float, float],
    ref_mm: float | None = None,
) -> FloatArray:
    """Scaled radial signed distance (mm) to an axis-aligned ellipsoid.

    Parameters
    ----------
    x, y, z : ndarray of float32
        Point coordinates in the shape's frame, mm.
    centre : (3,) tuple of float
        Ellipsoid centre, mm.
    semi_axes : (3,) tuple of float
        Semi-axes along x, y, z, mm (all > 0).
    ref_mm : float, optional
        Radius that converts the normalised radius to mm; default the geometric mean of
        the semi-axes.

    Returns
    -------
    ndarray of float32
        ``ref_mm * (|(p - centre) / semi_axes| - 1)``: negative inside, exactly zero on
        the surface; the level set ``-t`` is the ellipsoid scaled by ``1 - t / ref_mm``.
    """
    a, b, c = semi_axes
    ref = ref_mm if ref_mm is not None else float((a * b * c) ** (1.0 / 3.0))
    qx = (x - np.float32(centre[0])) * np.float32(1.0 / a)
    qy = (y - np.float32(centre[1])) * np.float32(1.0 / b)
    qz = (z - np.float32(centre[2])) * np.float32(1.0 / c)
    r = np.sqrt(qx * qx + qy * qy + qz * qz)
    return ((r - np.float32(1.0)) * np.float32(ref)).astype(np.float32, copy=False)


def capped_cylinder_distance(
    x: FloatArray,
    y: FloatArray,
    z: FloatArray,
    axis_xy: tuple[float, float],
    radius_mm: float,
    z_range_mm: tuple[float, float],
) -> FloatArray:
    """Signed distance bound (mm) to a cylinder parallel to z, cut flat at both ends."""
    dx = x - np.float32(axis_xy[0])
    dy = y - np.float32(axis_xy[1])
    radial = np.sqrt(dx * dx + dy * dy) - np.float32(radius_mm)
    lo, hi = z_range_mm
    caps = np.maximum(np.float32(lo) - z, z - np.float32(hi))
    return np.maximum(radial, caps).astype(np.float32, copy=False)


def smooth_min(a: FloatArray, b: FloatArray, k_mm: float) -> FloatArray:
    """Polynomial smooth minimum (smooth union of two signed distances).

    Equals ``min(a, b)`` where ``|a - b| >= k_mm`` and lies ``k_mm / 4`` below it where
    ``a == b``; it commutes with adding a constant to both arguments, so offset layers of
    a blended shape stay nested. ``k_mm <= 0`` gives the hard minimum.
    """
    if k_mm <= 0:
        return np.minimum(a, b)
    k = np.float32(k_mm)
    h = np.clip(np.float32(0.5) + np.float32(0.5) * (b - a) / k, 0.0, 1.0)
    return (b + (a - b) * h - k * h * (np.float32(1.0) - h)).astype(np.float32, copy=False)


def soft_inside(d_mm: FloatArray, h_mm: float) -> FloatArray:
    """Fraction of a voxel of width ``h_mm`` centred at signed distance ``d_mm`` inside."""
    return np.clip(np.float32(0.5) - d_mm * np.float32(1.0 / h_mm), 0.0, 1.0).astype(
        np.float32, copy=False
    )


def soft_slab(d_mm: FloatArray, half_width_mm: float, h_mm: float) -> FloatArray:
    """Fraction of a voxel of width ``h_mm`` inside the slab ``|d| < half_width_mm``."""
    hw = np.float32(half_width_mm)
    hh = np.float32(h_mm / 2.0)
    top = np.minimum(d_mm + hh, hw)
    bottom = np.maximum(d_mm - hh, -hw)
    return np.clip((top - bottom) * np.float32(1.0 / h_mm), 0.0, 1.0).astype(np.float32, copy=False)


def ellipsoid_volume_mm3(semi_axes: tuple[float, float, float]) -> float:
    """Analytic volume ``4/3 pi a b c`` in mm^3."""
    a, b, c = semi_axes
    return 4.0 / 3.0 * math.pi * a * b * c


def ellipse_segment_area_mm2(a: np.ndarray, b: np.ndarray, y_max: np.ndarray) -> np.ndarray:
    """Area (mm^2) of the part of the ellipse ``(x/a)^2 + (y/b)^2 <= 1`` with ``y <= y_max``."""
    u = np.clip(y_max / np.maximum(b, 1e-12), -1.0, 1.0)
    return a * b * (u * np.sqrt(1.0 - u * u) + np.arcsin(u) + np.pi / 2.0)


def truncated_ellipsoid_volume_mm3(
    semi_axes: tuple[float, float, float],
    z_min_mm: float,
    plane_y0_mm: float,
    plane_slope: float,
    *,
    n_slices: int = 20000,
) -> float:
    """Volume (mm^3) of an ellipsoid centred at 0 cut by two planes, by exact slice areas.

    The kept region is ``z > z_min_mm`` and ``z > z_min_mm + (y - plane_y0_mm) *
    plane_slope`` (a flat floor rising anteriorly, as the skull base under the frontal
    lobes). Each z slice is an ellipse cut by a line ``y <= Y(z)``, whose area is
    analytic; the slices are integrated with the midpoint rule (error << 0.01 %).
    """
    a, b, c = semi_axes
    lo = max(-c, z_min_mm)
    if lo >= c:
        return 0.0
    dz = (c - lo) / n_slices
    z = lo + (np.arange(n_slices) + 0.5) * dz
    f = np.sqrt(np.clip(1.0 - (z / c) ** 2, 0.0, None))
    if plane_slope > 0:
        y_max = plane_y0_mm + (z - z_min_mm) / plane_slope
    else:
        y_max = np.full_like(z, np.inf)
    areas = ellipse_segment_area_mm2(a * f, b * f, np.minimum(y_max, b * f + 1.0))
    return float(areas.sum() * dz)
