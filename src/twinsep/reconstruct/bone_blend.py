"""Lay a cranioplasty template's edge on the twin's own outer skull.

The template over the bone opening is cut from the ellipsoid fitted to the twin's intact
vault (:mod:`twinsep.reconstruct.bone`). Where the skull flares toward the union the rim
lies outside that ellipsoid (up to 23 mm on the vertical-II demo), and a template on the
ellipsoid ends inside the bone. Here each template vertex moves along its ray from the
fit centre: outside the opening, where the twin's own outer skull is measured along that
ray, onto the skull; over the opening, by the harmonic interpolation of those moves
(each vertex the mean of its neighbours), so the template bridges the opening smoothly
from skull to skull and keeps the fitted vault's shape where the skull agrees with it.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve
from scipy.spatial import cKDTree

#: Least cosine between a ray from the fit centre and a skull sample's normal for the
#: sample's tangent plane to place the skull on that ray (beyond ~78 deg it grazes).
_MIN_RAY_COS = 0.2
#: Neighbouring skull samples that vote for the skull's distance along a ray.
_NEIGHBOURS = 8
#: Votes farther than this from the nearest sample's, mm, are another sheet of skull.
_SHEET_MM = 3.0


def skull_radius_along(
    directions: np.ndarray,
    centre_mm: np.ndarray,
    skull_points_mm: np.ndarray,
    skull_normals: np.ndarray,
    *,
    reach_mm: float,
    radius_mm: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from ``centre_mm`` to the outer skull along each unit direction.

    The skull samples seen from the centre within ``reach_mm`` (at the ray's distance
    ``radius_mm``) of the ray vote with the crossing of the ray and their tangent plane,
    weighted by a Gaussian of their angular distance; votes from another sheet of skull
    (more than 3 mm from the nearest sample's) are dropped.

    Parameters
    ----------
    directions : (N, 3) float64
        Unit directions from the centre.
    centre_mm : (3,) float64
    skull_points_mm, skull_normals : (M, 3) float64
        Outer skull samples (world mm) and their unit outward normals.
    reach_mm : float
        How far from a ray a skull sample may lie to vote, mm (about a sample spacing).
    radius_mm : (N,) float64
        A distance along each ray at which ``reach_mm`` is measured (the fitted vault's).

    Returns
    -------
    radius : (N,) float64
        Distance to the skull along each ray, mm (nan where unknown).
    known : (N,) bool
    """
    u = np.asarray(directions, dtype=np.float64)
    n_rays = len(u)
    radius = np.full(n_rays, np.nan)
    if n_rays == 0 or len(skull_points_mm) == 0:
        return radius, np.zeros(n_rays, dtype=bool)
    rel = np.asarray(skull_points_mm, dtype=np.float64) - centre_mm
    ub = rel / np.maximum(np.linalg.norm(rel, axis=1, keepdims=True), 1e-12)
    k = min(_NEIGHBOURS, len(ub))
    max_angle = reach_mm / np.maximum(radius_mm, 1e-6)
    chord, idx = cKDTree(ub).query(u, k=k)
    chord = chord.reshape(n_rays, k)
    idx = idx.reshape(n_rays, k)
    ang = 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
    nb = np.asarray(skull_normals, dtype=np.float64)[idx]  # (N, k, 3)
    cos = np.einsum("nkj,nj->nk", nb, u)
    plane = np.einsum("nkj,nkj->nk", nb, rel[idx])
    ok = (ang <= max_angle[:, None]) & (cos > _MIN_RAY_COS)
    vote = np.where(ok, plane / np.where(ok, cos, 1.0), np.nan)
    first = np.argmax(ok, axis=1)
    nearest = vote[np.arange(n_rays), first]
    ok &= np.abs(vote - nearest[:, None]) <= _SHEET_MM
    sigma = np.maximum(0.5 * max_angle, 1e-9)[:, None]
    w = np.where(ok, np.exp(-0.5 * (ang / sigma) ** 2), 0.0)
    known = w.sum(axis=1) > 0
    radius[known] = (np.nan_to_num(vote[known]) * w[known]).sum(axis=1) / w[known].sum(axis=1)
    return radius, known


def harmonic_fill(
    faces: np.ndarray, n_vertices: int, values: np.ndarray, known: np.ndarray
) -> np.ndarray:
    """Values at the unknown vertices of a mesh: each the mean of its edge neighbours.

    The discrete Laplace equation with the known vertices fixed (the smoothest surface
    through them, with no over- or undershoot); an island of unknown vertices touching
    no known one gets 0.

    Parameters
    ----------
    faces : (F, 3) int
    n_vertices : int
    values : (V,) float64
        Used where ``known``.
    known : (V,) bool

    Returns
    -------
    (V,) float64
    """
    out = np.where(known, np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return out
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    adj = sparse.coo_matrix(
        (np.ones(2 * len(e)), (np.r_[e[:, 0], e[:, 1]], np.r_[e[:, 1], e[:, 0]])),
        shape=(n_vertices, n_vertices),
    ).tocsr()
    used = np.zeros(n_vertices, dtype=bool)
    used[f.ravel()] = True
    unk = np.flatnonzero(used & ~known)
    if len(unk) == 0:
        return out
    kn = np.flatnonzero(known)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    lap_uu = sparse.diags(deg[unk]) - adj[unk][:, unk]
    rhs = adj[unk][:, kn] @ out[kn]
    # a tiny pull to 0 keeps islands without known neighbours solvable
    lap_uu = lap_uu + 1e-9 * sparse.identity(len(unk))
    out[unk] = spsolve(lap_uu.tocsc(), rhs)
    return out


def blend_onto_skull(
    verts_mm: np.ndarray,
    faces: np.ndarray,
    centre_mm: np.ndarray,
    over_opening: np.ndarray,
    skull_points_mm: np.ndarray,
    skull_normals: np.ndarray,
    *,
    reach_mm: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move a template patch along its rays from the fit centre onto the outer skull.

    Vertices off the opening whose ray meets the measured skull go onto it; the others
    move by the harmonic interpolation of those moves (:func:`harmonic_fill`).

    Parameters
    ----------
    verts_mm : (V, 3) float64
        Vertices on the fitted vault, world mm.
    faces : (F, 3) int
        The patch (either winding; the normals point away from the centre).
    centre_mm : (3,) float64
        The fit centre.
    over_opening : (V,) bool
        Vertices whose direction lies inside the bone rim (no own skull there).
    skull_points_mm, skull_normals : (M, 3) float64
        The twin's outer skull samples and their unit outward normals.
    reach_mm : float
        How far from a ray a skull sample may lie to place the skull on it, mm.

    Returns
    -------
    verts : (V, 3) float64
        Moved vertices (those not in ``faces`` unchanged).
    normals : (V, 3) float64
        Unit outward vertex normals of the moved patch (area-weighted face normals).
    on_skull : (V,) bool
        Vertices placed on the measured skull.
    """
    v = np.asarray(verts_mm, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    rel = v - centre_mm
    r_fit = np.linalg.norm(rel, axis=1)
    u = rel / np.maximum(r_fit[:, None], 1e-12)
    used = np.zeros(len(v), dtype=bool)
    used[f.ravel()] = True
    cand = np.flatnonzero(used & ~np.asarray(over_opening, dtype=bool))
    r_skull, ok = skull_radius_along(
        u[cand],
        centre_mm,
        skull_points_mm,
        skull_normals,
        reach_mm=reach_mm,
        radius_mm=r_fit[cand],
    )
    on_skull = np.zeros(len(v), dtype=bool)
    on_skull[cand[ok]] = True
    move = np.zeros(len(v))
    move[cand[ok]] = r_skull[ok] - r_fit[cand[ok]]
    move = harmonic_fill(f, len(v), move, on_skull)
    out = v + (move * used)[:, None] * u
    tri = out[f]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # twice the area
    normals = np.zeros_like(out)
    for k in range(3):
        np.add.at(normals, f[:, k], fn)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    # the faces' winding may be either way (a fit's axes may mirror the sphere): away
    # from the centre is outward
    if float(np.einsum("ij,ij->", normals[used], u[used])) < 0:
        normals = -normals
    return out, normals, on_skull
