"""Expander footprints in the skin's tangent plane and their wrap onto the head.

A footprint is described in the tangent plane of its centre: ``u`` across (toward the
defect), ``v`` along. Rectangles are ``|u| <= W/2, |v| <= L/2``; round and crescent
bases are the points within ``W/2`` of a centreline (a point; a straight segment; an
arc of radius ``arc_r`` centred at ``(arc_r, 0)``, curving around the defect).

The wrap onto the head (:func:`wrap_directions`) is azimuthal equidistant about the
brain centre: a tangent point at distance ``t`` from the expander centre goes to the ray
at angle ``t / R0`` from the centre's ray (``R0`` the centre's distance from the brain
centre), so distances from the centre are kept. :func:`unwrap_uv` is its inverse: the
tangent coordinates of a point of the head, from its direction seen from the brain
centre. The planner tests footprints against the scalp with it.
"""

from __future__ import annotations

import math

import numpy as np

from twinsep.reconstruct import expander_geometry as eg


def centreline_distance(base: eg.ExpanderBase, arc_r: float, uv: np.ndarray) -> np.ndarray:
    """Distance (mm) of tangent-plane points from the expander's centreline."""
    u, v = uv[:, 0], uv[:, 1]
    s = base.straight_mm
    if base.shape == "crescent" and s > 0:
        # arc of radius arc_r centred at (arc_r, 0) (toward the defect), through the origin
        half = 0.5 * s / arc_r
        x, y = u - arc_r, v
        ang = np.arctan2(y, -x)  # 0 at the base centre, grows with v
        r = np.hypot(x, y)
        on_arc = np.abs(ang) <= half
        d_arc = np.abs(r - arc_r)
        # the two ends of the arc: (arc_r (1 - cos half), +-arc_r sin half)
        eu, ev = arc_r * (1.0 - math.cos(half)), arc_r * math.sin(half)
        d_end = np.hypot(u - eu, np.abs(v) - ev)
        return np.where(on_arc, d_arc, d_end)
    dv = np.maximum(np.abs(v) - s / 2, 0.0)
    return np.hypot(u, dv)


def inside(base: eg.ExpanderBase, arc_r: float, uv: np.ndarray) -> np.ndarray:
    if base.is_box:
        return (np.abs(uv[:, 0]) <= base.width_mm / 2) & (np.abs(uv[:, 1]) <= base.length_mm / 2)
    return centreline_distance(base, arc_r, uv) <= base.half_width_mm


def footprint_samples(base: eg.ExpanderBase, arc_r: float, step: float) -> np.ndarray:
    """Interior grid (spacing ``step``) plus the edge (spacing ``step/2``) of a footprint.

    The grid and a box's edges are symmetric about both axes of the footprint (a
    mirror-image site's frame has its length axis reversed: the same samples).
    """
    g = _symmetric_grid(0.5 * base.length_mm + base.width_mm, step)
    uu, vv = np.meshgrid(g, g, indexing="ij")
    uv = np.stack([uu.ravel(), vv.ravel()], axis=1)
    keep = inside(base, arc_r, uv)
    inner = uv[keep] if keep.any() else np.zeros((1, 2))
    if base.is_box:
        hw, hl = base.width_mm / 2, base.length_mm / 2
        a = np.linspace(-hw, hw, max(1, math.ceil(2 * hw / (step / 2))) + 1)
        b = np.linspace(-hl, hl, max(1, math.ceil(2 * hl / (step / 2))) + 1)
        edge = np.vstack(
            [
                np.column_stack([a, np.full_like(a, -hl)]),
                np.column_stack([a, np.full_like(a, hl)]),
                np.column_stack([np.full_like(b, -hw), b]),
                np.column_stack([np.full_like(b, hw), b]),
            ]
        )
    else:
        edge = outline(base, arc_r, step)
    return np.vstack([inner, edge])


def outline(base: eg.ExpanderBase, arc_r: float, step: float) -> np.ndarray:
    """Boundary points of a rounded footprint (ordered, spacing about step/2).

    A round base: a circle from the ``u`` axis, a multiple of 4 points (symmetric about
    both axes, as a mirror-image site's frame needs; a crescent's traced outline is not).
    """
    if base.shape == "round":
        r = base.half_width_mm
        n = 4 * max(2, math.ceil(2 * math.pi * r / (0.5 * step) / 4))  # both axes
        t = 2 * math.pi * np.arange(n) / n
        return np.column_stack([r * np.cos(t), r * np.sin(t)])
    # stadium/crescent: march rays from the base centre is not valid for a crescent;
    # trace the level set d = a on a fine grid instead (marching squares)
    from skimage.measure import find_contours

    fine = step / 4.0
    g = _symmetric_grid(0.5 * base.length_mm + base.width_mm, fine)
    uu, vv = np.meshgrid(g, g, indexing="ij")
    d = centreline_distance(base, arc_r, np.stack([uu.ravel(), vv.ravel()], axis=1))
    cs = find_contours(d.reshape(uu.shape), base.half_width_mm)
    c = max(cs, key=len)
    pts = g[0] + c * fine
    if np.allclose(pts[0], pts[-1]):
        pts = pts[:-1]
    # thin to about step/2 spacing
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    keep = np.searchsorted(cum, np.arange(0.0, cum[-1], 0.5 * step))
    return pts[np.unique(keep)]


def _symmetric_grid(ext: float, step: float) -> np.ndarray:
    """Multiples of ``step`` from ``-k step`` to ``k step``, ``k step >= ext``."""
    k = math.ceil(ext / step - 1e-9)
    return step * np.arange(-k, k + 1, dtype=np.float64)


def site_frame(normal: np.ndarray, toward: np.ndarray) -> np.ndarray:
    n = normal / np.linalg.norm(normal)
    e1 = toward - (toward @ n) * n
    if np.linalg.norm(e1) < 1e-9:
        e1 = np.cross(n, [1.0, 0.0, 0.0])
        if np.linalg.norm(e1) < 1e-9:
            e1 = np.cross(n, [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n, e1)
    return np.stack([e1, e2, n])


def turned(frame: np.ndarray) -> np.ndarray:
    """The frame rotated 90 deg about its normal (still right-handed)."""
    return np.stack([frame[1], -frame[0], frame[2]])


def wrap_directions(
    uv: np.ndarray, frame: np.ndarray, c_skin: np.ndarray, centre: np.ndarray
) -> tuple[np.ndarray, float]:
    """Azimuthal equidistant wrap of tangent-plane points about ``centre``.

    The tangent distance ``t`` of ``(u, v)`` from the expander centre becomes the angle
    ``t / R0`` between its ray from ``centre`` and the centre's ray (``R0`` = distance
    of ``c_skin`` from ``centre``), so distances from the expander centre are kept.
    Returns unit ray directions (N, 3) and ``R0``.
    """
    dir0 = c_skin - centre
    r0 = float(np.linalg.norm(dir0))
    dir0 = dir0 / max(r0, 1e-9)
    tvec = uv[:, :1] * frame[0] + uv[:, 1:2] * frame[1]
    tvec = tvec - (tvec @ dir0)[:, None] * dir0
    t = np.linalg.norm(tvec, axis=1)
    that = tvec / np.maximum(t, 1e-9)[:, None]
    ang = t / max(r0, 1e-9)
    return np.cos(ang)[:, None] * dir0 + np.sin(ang)[:, None] * that, r0


def unwrap_uv(
    points_mm: np.ndarray, frame: np.ndarray, c_skin: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """Tangent-plane coordinates ``(u, v)`` of head points: the inverse of the wrap.

    Parameters
    ----------
    points_mm : (N, 3) float64
        World points, mm.
    frame : (3, 3) float64
        Rows: the footprint's ``u`` and ``v`` directions and the outward normal.
    c_skin : (3,) float64
        Footprint centre on the skin, world mm.
    centre : (3,) float64
        Brain centre (the wrap's origin), world mm.

    Returns
    -------
    (N, 2) float64
        ``(u, v)`` in mm such that :func:`wrap_directions` of it gives each point's
        direction from ``centre`` (points behind the centre's ray map beyond
        ``pi R0``, outside any footprint).
    """
    dir0 = c_skin - centre
    r0 = float(np.linalg.norm(dir0))
    dir0 = dir0 / max(r0, 1e-9)
    rel = np.asarray(points_mm, dtype=np.float64) - centre
    d = rel / np.maximum(np.linalg.norm(rel, axis=1), 1e-9)[:, None]
    cos_a = np.clip(d @ dir0, -1.0, 1.0)
    tv = d - cos_a[:, None] * dir0
    that = tv / np.maximum(np.linalg.norm(tv, axis=1), 1e-12)[:, None]
    # the wrap projects u e1 + v e2 onto the plane across dir0: solve for (u, v)
    p = frame[:2] - np.outer(frame[:2] @ dir0, dir0)
    gram = p @ p.T
    rhs = (that @ p.T) * (np.arccos(cos_a) * r0)[:, None]
    # pinv: a normal lying in the tangent plane (degenerate frame) gives no error
    return (np.linalg.pinv(gram) @ rhs.T).T


def outside_mm(base: eg.ExpanderBase, arc_r: float, uv: np.ndarray) -> np.ndarray:
    """Distance (mm) of tangent-plane points outside a footprint (0 inside it)."""
    if base.is_box:
        du = np.maximum(np.abs(uv[:, 0]) - base.width_mm / 2, 0.0)
        dv = np.maximum(np.abs(uv[:, 1]) - base.length_mm / 2, 0.0)
        return np.hypot(du, dv)
    return np.maximum(centreline_distance(base, arc_r, uv) - base.half_width_mm, 0.0)


def rotated_uv(uv: np.ndarray, angle_deg: float) -> np.ndarray:
    """``uv`` in a footprint frame turned by ``angle_deg`` about the normal.

    The turned frame's ``u`` is ``cos a e1 + sin a e2`` (see :func:`turned_by`).
    """
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return np.column_stack([uv[:, 0] * c + uv[:, 1] * s, -uv[:, 0] * s + uv[:, 1] * c])


def turned_by(frame: np.ndarray, angle_deg: float) -> np.ndarray:
    """``frame`` turned by ``angle_deg`` about its normal (still right-handed)."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return np.stack([c * frame[0] + s * frame[1], -s * frame[0] + c * frame[1], frame[2]])
