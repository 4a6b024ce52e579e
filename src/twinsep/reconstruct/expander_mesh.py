"""The mesh of a placed expander, on its twin's outer skull (world mm).

An expander sits under the galea, on the bone (subgaleal): its base lies on the outer
skull, its dome under the scalp, which it lifts as it is filled. The placement
(:mod:`twinsep.reconstruct.expanders`) gives the base (shape and size), the tangent frame
at the scalp point over its centre and the planned fill; this module makes the closed,
outward-wound mesh of the expander at that fill:

1. the mesh in the tangent frame (``u`` across, ``v`` along, ``w`` up; the base in
   ``w = 0``): the footprint triangulated at ``step_mm``, the dome over it (round and
   crescent: the spherical-cap profile; rectangular "box" model: the base lifted by the
   height, with straight walls), :func:`box_mesh` for the box;
2. each base point ``(u, v)`` goes to the ray from the brain centre given by the
   azimuthal equidistant wrap (:func:`twinsep.reconstruct.expander_footprint.wrap_directions`),
   and onto the twin's outer skull along it (:class:`SkullRays`: where the ray crosses
   the tangent planes of the nearest samples of the outer skull); its height ``w`` is
   added along the same ray, so the top and the bottom of a base point share a ray and
   the mesh stays closed;
3. the heights are scaled by one factor so the mesh holds the planned fill (on a convex
   skull the rays spread and a dome of the flat-base height holds more).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import Delaunay, cKDTree

from twinsep.reconstruct import expander_geometry as eg
from twinsep.reconstruct.defects import TwinDefects
from twinsep.reconstruct.expander_footprint import wrap_directions

__all__ = ["SkullRays", "box_mesh", "fit_volume", "on_skull", "signed_volume_mm3"]

#: Skull samples whose tangent planes locate the skull along a ray.
_NEIGHBOURS = 8
#: A tangent plane is used only where the ray meets it at most this far from its
#: normal (cosine): a plane seen edge-on would put the crossing far away.
_MIN_COS = 0.3


@dataclass(frozen=True)
class SkullRays:
    """The outer skull of a twin seen from its brain centre.

    Attributes
    ----------
    centre_mm : (3,) float64
        Brain centre, world mm.
    tree : cKDTree or None
        Unit directions of the skull samples from the centre (None: too few samples).
    rel_mm : (N, 3) float64
        Skull samples relative to the centre, mm.
    normals : (N, 3) float64
        Their unit outward normals.
    """

    centre_mm: np.ndarray
    tree: cKDTree | None
    rel_mm: np.ndarray
    normals: np.ndarray

    @staticmethod
    def of(d: TwinDefects) -> SkullRays:
        """From a twin's :class:`TwinDefects` (its ``bone_outer`` and brain centre)."""
        pts = d.bone_outer.points_mm
        centre = np.asarray(d.brain_centre_mm, dtype=np.float64)
        if len(pts) < _NEIGHBOURS:
            return SkullRays(centre, None, np.zeros((0, 3)), np.zeros((0, 3)))
        rel = pts - centre
        r = np.linalg.norm(rel, axis=1)
        return SkullRays(centre, cKDTree(rel / r[:, None]), rel, d.bone_outer.normals)

    def radii(self, dirs: np.ndarray) -> np.ndarray:
        """Distance (mm) from the centre to the outer skull along unit directions.

        Each of the nearest skull samples (by direction) gives the distance at which the
        ray crosses its tangent plane; they are averaged with inverse angular distance
        weights. Where no plane faces the ray (none within ``_MIN_COS``), the samples'
        own distances are averaged instead.
        """
        assert self.tree is not None
        dist, idx = self.tree.query(dirs, k=_NEIGHBOURS)
        p = self.rel_mm[idx]
        n = self.normals[idx]
        cos = np.einsum("pkj,pj->pk", n, dirs)
        plane = np.einsum("pkj,pkj->pk", p, n) / np.where(cos > _MIN_COS, cos, 1.0)
        w = 1.0 / np.maximum(dist, 1e-6)
        use = cos > _MIN_COS
        wu = w * use
        own = (np.linalg.norm(p, axis=2) * w).sum(axis=1) / w.sum(axis=1)
        total = wu.sum(axis=1)
        crossing = (plane * wu).sum(axis=1) / np.where(total > 0, total, 1.0)
        return np.where(total > 0, crossing, own)


def on_skull(
    verts_l: np.ndarray, frame: np.ndarray, centre_skin_mm: np.ndarray, skull: SkullRays
) -> np.ndarray:
    """World points (mm) of a local expander mesh on the outer skull.

    Parameters
    ----------
    verts_l : (V, 3) float ndarray
        ``(u, v, w)`` in the tangent frame: base coordinates and height, mm.
    frame : (3, 3) float ndarray
        Rows: across, along, outward normal (world unit vectors).
    centre_skin_mm : (3,) float ndarray
        The scalp point over the expander's centre, world mm.
    skull : SkullRays

    Returns
    -------
    (V, 3) float64 ndarray
    """
    if skull.tree is None:
        base = centre_skin_mm + verts_l[:, :1] * frame[0] + verts_l[:, 1:2] * frame[1]
        return np.asarray(base + verts_l[:, 2:3] * frame[2], dtype=np.float64)
    u, _ = wrap_directions(verts_l[:, :2], frame, centre_skin_mm, skull.centre_mm)
    r = skull.radii(u)
    return np.asarray(skull.centre_mm + u * (r + verts_l[:, 2])[:, None], dtype=np.float64)


def signed_volume_mm3(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed mesh, mm^3 (positive when wound outward)."""
    t = vertices[faces]
    return float(np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6.0)


def fit_volume(
    verts_l: np.ndarray,
    faces: np.ndarray,
    frame: np.ndarray,
    centre_skin_mm: np.ndarray,
    skull: SkullRays,
    target_ml: float,
) -> np.ndarray:
    """The local mesh on the skull (:func:`on_skull`), its heights scaled by one factor
    (bisection) so that it holds ``target_ml``; world mm."""
    want = target_ml * 1000.0
    flat = verts_l.copy()
    flat[:, 2] = 0.0
    base = on_skull(flat, frame, centre_skin_mm, skull)
    ray = on_skull(verts_l, frame, centre_skin_mm, skull) - base
    height = np.linalg.norm(ray, axis=1)
    unit = np.where(height[:, None] > 0, ray / np.maximum(height, 1e-12)[:, None], 0.0)

    def build(k: float) -> np.ndarray:
        return np.asarray(base + unit * (k * height)[:, None], dtype=np.float64)

    lo, hi = 0.05, 4.0
    if abs(signed_volume_mm3(build(hi), faces)) < want:
        return build(hi)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if abs(signed_volume_mm3(build(mid), faces)) < want:
            lo = mid
        else:
            hi = mid
    return build(0.5 * (lo + hi))


def _rectangle_ring(half_u: float, half_v: float, spacing: float) -> np.ndarray:
    """Boundary of ``|u| <= half_u, |v| <= half_v``, counter-clockwise from (-u, -v),
    points about ``spacing`` apart (corners included, none repeated)."""
    nu = max(1, math.ceil(2 * half_u / spacing))
    nv = max(1, math.ceil(2 * half_v / spacing))
    su = np.linspace(-half_u, half_u, nu + 1)[:-1]
    sv = np.linspace(-half_v, half_v, nv + 1)[:-1]
    return np.vstack(
        [
            np.column_stack([su, np.full(nu, -half_v)]),
            np.column_stack([np.full(nv, half_u), sv]),
            np.column_stack([-su, np.full(nu, half_v)]),
            np.column_stack([np.full(nv, -half_u), -sv]),
        ]
    )


def _centred_grid(half: float, step: float) -> np.ndarray:
    """Points ``step`` apart, symmetric about 0, at least ``step / 2`` inside ``+-half``."""
    n = max(0, math.floor(2 * half / step))
    return (np.arange(n) - (n - 1) / 2.0) * step


def box_mesh(
    base: eg.ExpanderBase, height_mm: float, *, step_mm: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """Closed mesh of a rectangular expander in the box model, in its tangent frame.

    The footprint ``W x L`` (``x`` across, ``y`` along) is triangulated on a grid of
    ``step_mm`` with its edge every ``step_mm / 2``; the top is the footprint at
    ``z = height_mm``, the walls join the edges. It encloses ``W L h`` and its dome (top
    and walls) exceeds the base by ``2 h (L + W)``, the model's gain
    (:mod:`twinsep.reconstruct.expander_geometry`).

    Returns
    -------
    vertices : (2 N, 3) float64
        Top points first, then the base points (same order).
    faces : (F, 3) int64
        Outward winding.
    """
    hu, hv = 0.5 * base.width_mm, 0.5 * base.length_mm
    ring = _rectangle_ring(hu, hv, 0.5 * step_mm)
    gu, gv = (_centred_grid(h, step_mm) for h in (hu, hv))
    uu, vv = np.meshgrid(gu, gv, indexing="ij")
    inner = np.column_stack([uu.ravel(), vv.ravel()])
    margin = np.minimum(hu - np.abs(inner[:, 0]), hv - np.abs(inner[:, 1]))
    inner = inner[margin > 0.45 * step_mm]
    uv = np.vstack([ring, inner])
    tri = Delaunay(uv).simplices.astype(np.int64)
    p = uv[tri]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (
        p[:, 2, 0] - p[:, 0, 0]
    )
    tri = tri[np.abs(cross) > 1e-12]
    flip = cross[np.abs(cross) > 1e-12] < 0
    tri[flip] = tri[flip][:, ::-1]
    n, n_ring = len(uv), len(ring)
    verts = np.vstack(
        [np.column_stack([uv, np.full(n, height_mm)]), np.column_stack([uv, np.zeros(n)])]
    )
    i = np.arange(n_ring)
    j = (i + 1) % n_ring
    walls = np.vstack([np.column_stack([n + i, n + j, j]), np.column_stack([n + i, j, i])])
    faces = np.vstack([tri, tri[:, ::-1] + n, walls])
    return verts, faces.astype(np.int64)
