"""Cut an inlay template along the bone rim.

An inlay (:class:`twinsep.reconstruct.bone.BoneParams` ``fit="inlay"``) fills the bone
opening, its edge meeting the bone margin. The template is sampled on a geodesic sphere
(about 2-3 mm between samples on an infant or adult vault), and a patch of whole samples
ends anywhere within a sample of the rim: on the analytic union its edge lay up to 1.2 mm
from the rim on a 1 mm grid and 0.9 mm on a 0.5 mm one, its edge 9-12 % longer than the
rim (a staircase). Here the patch, laid on the skull a sample past the rim, is cut
along the rim itself: each vertex gets its signed distance to the rim as seen from the
fit centre (positive inside the opening), and each triangle crossed by the zero level is
clipped there, the new vertices interpolated linearly along the crossed edges (and shared
by the two triangles of an edge, so the patch stays one closed-edged surface).
"""

from __future__ import annotations

import numpy as np

#: A vertex closer to the rim than this (mm) is moved to its inside, so that no vertex
#: lies on the cut and no triangle is cut into a sliver of zero area.
_ON_RIM_MM = 1e-3


def _unit_rows(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def azimuthal_map(
    points_mm: np.ndarray, rim_mm: np.ndarray, centre_mm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Directions from ``centre_mm`` mapped azimuthally-equidistantly about the rim's
    mean direction (radians; valid for rims less than 180 deg across).

    Returns
    -------
    points : (N, 2) float64
    rim : (K, 2) float64
    """
    r = _unit_rows(np.asarray(rim_mm, dtype=np.float64) - centre_mm)
    c = _unit_rows(r.mean(axis=0))
    e1 = _unit_rows(np.cross(c, np.eye(3)[int(np.argmin(np.abs(c)))]))
    e2 = np.cross(c, e1)

    def flat(u: np.ndarray) -> np.ndarray:
        ang = np.arccos(np.clip(u @ c, -1.0, 1.0))
        az = np.arctan2(u @ e2, u @ e1)
        return np.column_stack([ang * np.cos(az), ang * np.sin(az)])

    pts = _unit_rows(np.asarray(points_mm, dtype=np.float64) - centre_mm)
    return flat(pts), flat(r)


def inside_rim(points_mm: np.ndarray, rim_mm: np.ndarray, centre_mm: np.ndarray) -> np.ndarray:
    """Whether each point, seen from ``centre_mm``, lies inside the closed rim loop.

    Directions from the centre are mapped azimuthally-equidistantly about the rim's
    mean direction (:func:`azimuthal_map`) and tested against the rim's polygon there
    (even-odd rule).

    Parameters
    ----------
    points_mm : (N, 3) float64
    rim_mm : (K, 3) float64
        Closed loop, in order; fewer than 3 points encloses nothing.
    centre_mm : (3,) float64

    Returns
    -------
    (N,) bool
    """
    pts = np.asarray(points_mm, dtype=np.float64)
    if len(rim_mm) < 3 or len(pts) == 0:
        return np.zeros(len(pts), dtype=bool)
    q, poly = azimuthal_map(pts, rim_mm, centre_mm)
    a, b = poly, np.roll(poly, -1, axis=0)
    inside = np.zeros(len(q), dtype=bool)
    for k in range(len(a)):  # even-odd crossings of a ray along +x
        (x1, y1), (x2, y2) = a[k], b[k]
        cross = (y1 > q[:, 1]) != (y2 > q[:, 1])
        if y2 != y1:
            x_at = x1 + (q[:, 1] - y1) * (x2 - x1) / (y2 - y1)
            inside ^= cross & (q[:, 0] < x_at)
    return inside


def rim_signed_distance_mm(
    points_mm: np.ndarray, rim_mm: np.ndarray, centre_mm: np.ndarray
) -> np.ndarray:
    """Signed distance of each point to the rim, seen from ``centre_mm``, mm.

    Points and rim are mapped azimuthally-equidistantly about the rim's mean direction
    (:func:`twinsep.reconstruct.bone.azimuthal_map`, angles in radians); the distance to
    the rim polygon there, times the point's distance from the centre, is the distance
    along the surface through the point (exact at the map's centre, within a few per
    cent over a rim less than 90 deg across). Positive inside the rim.

    Parameters
    ----------
    points_mm : (N, 3) float64
    rim_mm : (K, 3) float64
        Closed loop, in order (K >= 3).
    centre_mm : (3,) float64

    Returns
    -------
    (N,) float64
    """
    pts = np.asarray(points_mm, dtype=np.float64)
    rim = np.asarray(rim_mm, dtype=np.float64)
    flat_pts, flat_rim = azimuthal_map(pts, rim, centre_mm)
    a = flat_rim
    b = np.roll(flat_rim, -1, axis=0)
    ab = b - a
    len2 = np.maximum((ab * ab).sum(axis=1), 1e-18)
    best = np.full(len(pts), np.inf)
    # point-to-segment distances, in blocks of points (N x K per block)
    for s in range(0, len(pts), 2048):
        q = flat_pts[s : s + 2048, None, :]
        t = np.clip(((q - a) * ab).sum(axis=2) / len2, 0.0, 1.0)
        d2 = ((q - (a + t[..., None] * ab)) ** 2).sum(axis=2)
        best[s : s + 2048] = np.sqrt(d2.min(axis=1))
    r = np.linalg.norm(pts - centre_mm, axis=1)
    inside = inside_rim(pts, rim, centre_mm)
    return np.where(inside, 1.0, -1.0) * best * r


def clip_patch(
    verts: np.ndarray, faces: np.ndarray, value: np.ndarray, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The part of a triangle patch where the linearly interpolated ``value >= 0``.

    Triangles with all three values >= 0 are kept, those with none dropped; a crossed
    triangle keeps the part on the non-negative side (one triangle or a quad split in
    two), with a new vertex where each crossed edge meets the zero level, shared by the
    triangles on both sides of that edge. Normals of the new vertices are interpolated
    and renormalised. Windings are kept.

    Parameters
    ----------
    verts : (V, 3) float64
    faces : (F, 3) int
    value : (V,) float64
        A vertex with ``|value|`` below 1e-3 counts as just inside.
    normals : (V, 3) float64
        Unit vertex normals.

    Returns
    -------
    verts : (V', 3) float64
        The input vertices followed by the new ones.
    faces : (F', 3) int64
    normals : (V', 3) float64
    """
    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    g = np.asarray(value, dtype=np.float64).copy()
    g[np.abs(g) < _ON_RIM_MM] = _ON_RIM_MM
    ins = g >= 0.0
    n_in = ins[f].sum(axis=1)
    keep = [f[n_in == 3]]
    new_pts: list[np.ndarray] = []
    new_nrm: list[np.ndarray] = []
    edge_vertex: dict[tuple[int, int], int] = {}

    def cut(i: int, j: int) -> int:
        key = (i, j) if i < j else (j, i)
        if key not in edge_vertex:
            t = g[i] / (g[i] - g[j])
            new_pts.append(v[i] + t * (v[j] - v[i]))
            new_nrm.append(normals[i] + t * (normals[j] - normals[i]))
            edge_vertex[key] = len(v) + len(new_pts) - 1
        return edge_vertex[key]

    extra: list[tuple[int, int, int]] = []
    for tri in f[(n_in == 1) | (n_in == 2)]:
        a, b, c = (int(x) for x in tri)
        # rotate so that the odd one out (alone on its side) comes first
        for _ in range(3):
            if ins[a] != ins[b] and ins[a] != ins[c]:
                break
            a, b, c = b, c, a
        ab, ac = cut(a, b), cut(a, c)
        if ins[a]:  # one corner inside: its triangle
            extra.append((a, ab, ac))
        else:  # two inside: the quad b, c, ac, ab in two triangles
            extra.append((ab, b, c))
            extra.append((ab, c, ac))
    if extra:
        keep.append(np.asarray(extra, dtype=np.int64))
    out_f = np.vstack(keep) if keep else np.zeros((0, 3), dtype=np.int64)
    if new_pts:
        v = np.vstack([v, np.asarray(new_pts)])
        normals = np.vstack([normals, _unit_rows(np.asarray(new_nrm))])
    return v, out_f, normals
