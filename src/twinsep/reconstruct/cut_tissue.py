"""Which tissue a separation cut crosses, to sub-voxel precision (bone rim, exposed dura).

The labels say what lies at voxel *centres*; the cut between two twins runs along voxel
*faces*, half a voxel from the centres of the layer next to it. Reading the tissue of
that layer places the edge of a tissue where it crosses the layer, not the cut: where the
tissue's boundary meets the cut obliquely (a skull cut off its pole: the bone rim of two
spheres joined 45 mm from the mid-plane meets it at 35-55 deg) the edge moves by half a
voxel times the cotangent of that angle (1.2-1.6 mm on a 2 mm grid, 0.7 voxel, which
made the bone defect 5-12 % too large).

Here the tissue is read twice inside the twin's own voxels along the cut's normal, each
reading placed at the own-weighted mean depth of the voxel centres it uses
(:func:`cut_readings`); each reading is spread along the cut (:func:`smooth_on_surface`)
and turned into a signed distance to the tissue's edge (the probit of the smoothed
step), and the two distances are extrapolated linearly to the cut
(:func:`edge_distance_at_cut`): exact for a plane edge, whatever the angle at which it
meets the cut and whatever the smoothing. A face of the cut counts the part of its area
where that distance is >= 0 (:func:`clipped_area_fraction`), and the tissue's edge on
the cut is its zero contour (:func:`level_loop`), so areas and outlines agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Smoothed readings are clipped to ``[eps, 1 - eps]`` before the probit (+-3 sigma):
#: a reading that saturates says only that the edge is farther than that.
_PROBIT_EPS = 1.35e-3


@dataclass(frozen=True)
class CutReadings:
    """Two readings of a twin's tissue at points of a cut, each at its own depth.

    Attributes
    ----------
    near, far : (N,) float64
        Own-voxel tissue fraction (0..1) of the reading nearer to the cut and of the
        one about a voxel layer deeper.
    near_depth_mm, far_depth_mm : (N,) float64
        Own-weighted mean depth below the cut of the voxel centres each reading used, mm.
    """

    near: np.ndarray
    far: np.ndarray
    near_depth_mm: np.ndarray
    far_depth_mm: np.ndarray


def cut_readings(
    points_q: np.ndarray,
    inward_q_per_mm: np.ndarray,
    twins: np.ndarray,
    labels: np.ndarray,
    affine3: np.ndarray,
    twin: int,
    tissue_sets: Sequence[tuple[int, ...]],
    *,
    max_depth_mm: float,
) -> list[CutReadings]:
    """Read a twin's own tissues twice along the inward normal of a cut.

    At each point the twin's own voxels among the 8 trilinear neighbours are read (the
    other twin's voxels and the background weigh nothing): first at the least depth
    where they hold at least half the weight (quarter-voxel steps), then one voxel
    layer deeper than the voxel centres of the first reading. Each reading is the
    own-weighted tissue fraction, placed at the own-weighted mean depth of the centres.
    The places depend on the twin's voxels only: one walk reads every tissue set.

    Parameters
    ----------
    points_q : (N, 3) float64
        Points on the cut, in the fractional voxel index of ``twins``.
    inward_q_per_mm : (N, 3) float64
        Each point's inward direction (into the twin, along the cut's world normal), in
        voxel index per world mm (a unit world vector mapped to index space).
    twins, labels : (I, J, K) ndarray
        Twin ownership (0, 1, 2) and tissue labels on the same grid.
    affine3 : (3, 3) float64
        The grid's voxel-to-world matrix (no translation), mm per voxel.
    twin : int
        The twin whose tissue is read (1 or 2).
    tissue_sets : sequence of tuple of int
        The tissue labels counted, one reading per set.
    max_depth_mm : float
        How far inward the twin's own voxels are looked for, mm (the cut's surface may
        lie up to half a working voxel off the voxel faces). Points that meet none read
        0 at depth 0.

    Returns
    -------
    list of CutReadings
        One per tissue set.
    """
    pts = np.asarray(points_q, dtype=np.float64)
    dq = np.asarray(inward_q_per_mm, dtype=np.float64)
    n = len(pts)
    a3 = np.asarray(affine3, dtype=np.float64)
    shape = np.asarray(twins.shape)
    step_mm = 0.25 * float(np.linalg.norm(a3, axis=0).min())
    # one voxel layer along the direction: the world length over which the index of the
    # axis it crosses fastest changes by one
    layer_mm = 1.0 / np.maximum(np.abs(dq).max(axis=1), 1e-12) if n else np.zeros(0)
    unit_w = dq @ a3.T  # world displacement per mm along the direction (unit vectors)

    n_sets = len(tissue_sets)

    def read(idx: np.ndarray, depth_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Own weight, tissue fractions (one row per set) and own-weighted mean depth (mm)."""
        p = pts[idx] + depth_mm[:, None] * dq[idx]
        base = np.floor(p).astype(np.int64)
        f = p - base
        own_w = np.zeros(len(idx))
        hit_w = np.zeros((n_sets, len(idx)))
        depth_w = np.zeros(len(idx))
        for corner in np.ndindex(2, 2, 2):
            c = np.asarray(corner)
            ijk = np.clip(base + c, 0, shape - 1)
            w = np.prod(np.where(c == 1, f, 1.0 - f), axis=1)
            sel = (ijk[:, 0], ijk[:, 1], ijk[:, 2])
            wo = w * (twins[sel] == twin)
            own_w += wo
            lab = labels[sel]
            for j, tissues in enumerate(tissue_sets):
                hit_w[j] += wo * np.isin(lab, tissues)
            # depth of this voxel centre below the point on the cut, mm
            rel_w = (base + c - pts[idx]) @ a3.T
            depth_w += wo * np.einsum("ij,ij->i", rel_w, unit_w[idx])
        safe = np.maximum(own_w, 1e-12)
        return own_w, hit_w / safe, depth_w / safe

    near = np.zeros((n_sets, n))
    near_depth = np.zeros(n)
    todo = np.arange(n)
    for k in range(int(np.ceil(max_depth_mm / step_mm)) + 1):
        if len(todo) == 0:
            break
        own_w, frac, depth = read(todo, np.full(len(todo), k * step_mm))
        done = own_w >= 0.5 - 1e-9
        near[:, todo[done]] = frac[:, done]
        near_depth[todo[done]] = depth[done]
        todo = todo[~done]
    far = near.copy()
    far_depth = near_depth + layer_mm
    found = np.setdiff1d(np.arange(n), todo)
    if len(found):
        own_w, frac, depth = read(found, near_depth[found] + layer_mm[found])
        ok = (own_w >= 0.5 - 1e-9) & (depth - near_depth[found] >= 0.25 * layer_mm[found])
        far[:, found[ok]] = frac[:, ok]
        far_depth[found[ok]] = depth[ok]
    return [CutReadings(near[j], far[j], near_depth, far_depth) for j in range(n_sets)]


def smooth_on_surface(points_mm: np.ndarray, values: np.ndarray, sigma_mm: float) -> np.ndarray:
    """Gaussian-weighted mean of ``values`` over the surface points within 2.5 sigma.

    Parameters
    ----------
    points_mm : (N, 3) float64
        Surface points, world mm.
    values : (N,) or (N, M) float64
    sigma_mm : float
        Gaussian sigma, mm.

    Returns
    -------
    ndarray, the shape of ``values``
    """
    from scipy import sparse
    from scipy.spatial import cKDTree

    pts = np.asarray(points_mm, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if len(pts) == 0 or sigma_mm <= 0:
        return v.copy()
    tree = cKDTree(pts)
    d = tree.sparse_distance_matrix(tree, 2.5 * sigma_mm, output_type="coo_matrix")
    w = sparse.coo_matrix(
        (np.exp(-0.5 * (d.data / sigma_mm) ** 2), (d.row, d.col)), shape=(len(pts), len(pts))
    ).tocsr()  # the pairs include each point with itself (distance 0)
    norm = np.asarray(w.sum(axis=1)).ravel()
    out = np.asarray(w @ v) / (norm if v.ndim == 1 else norm[:, None])
    return out.reshape(v.shape)


def edge_distance_at_cut(
    readings: Sequence[CutReadings], points_mm: np.ndarray, sigma_mm: float
) -> list[np.ndarray]:
    """Signed distance (in units of the smoothing) from each tissue's edge, at the cut.

    Each reading, spread along the cut by a Gaussian of ``sigma_mm``
    (:func:`smooth_on_surface`, as are the depths), steps from 1 to 0 across the
    tissue's edge like the normal distribution's cumulative function of the distance
    to the edge: its probit is that distance (positive inside the tissue) in units of
    the effective smoothing, the same for both readings. The two distances are
    extrapolated linearly in depth to the cut (depth 0): exact for a plane edge,
    whatever the effective smoothing (it scales both). A straight step keeps its
    place under the smoothing; an edge curved with radius ``R`` moves by about
    ``sigma^2 / (2 R)`` (0.07 mm for 2 mm on a 30 mm rim).

    Parameters
    ----------
    readings : sequence of CutReadings
        At the same points (one per tissue set; smoothed together).
    points_mm : (N, 3) float64
        The cut's points, world mm.
    sigma_mm : float

    Returns
    -------
    list of (N,) float64
        Per reading: >= 0 where the cut crosses the tissue (about -3..3; farther is
        clipped).
    """
    from scipy.special import ndtri

    if not readings:
        return []
    cols = [readings[0].near_depth_mm, readings[0].far_depth_mm]
    for r in readings:
        cols += [r.near, r.far]
    sm = smooth_on_surface(points_mm, np.column_stack(cols), sigma_mm).T
    z_near, z_far = sm[0], sm[1]
    base = z_far - z_near
    ok = base > 1e-6
    out = []
    for k in range(len(readings)):
        d_near = ndtri(np.clip(sm[2 + 2 * k], _PROBIT_EPS, 1.0 - _PROBIT_EPS))
        d_far = ndtri(np.clip(sm[3 + 2 * k], _PROBIT_EPS, 1.0 - _PROBIT_EPS))
        slope = np.where(ok, (d_near - d_far) / np.where(ok, base, 1.0), 0.0)
        out.append(np.asarray(d_near + slope * z_near, dtype=np.float64))
    return out


def clipped_area_fraction(faces: np.ndarray, value: np.ndarray, level: float = 0.0) -> np.ndarray:
    """Part of each triangle where the linearly interpolated ``value`` is >= ``level``.

    Parameters
    ----------
    faces : (F, 3) int
        Triangles (vertex indices).
    value : (V,) float
        Value at each vertex.
    level : float

    Returns
    -------
    (F,) float64
        Area fraction 0..1 of each face (exact for a value linear over the face).
    """
    g = np.asarray(value, dtype=np.float64)[faces]
    inside = g >= level
    n_in = inside.sum(axis=1)
    frac = (n_in == 3).astype(np.float64)
    for k in (1, 2):
        sel = np.flatnonzero(n_in == k)
        if not len(sel):
            continue
        gi = g[sel]
        # the odd vertex out: the one inside (k = 1) or the one outside (k = 2)
        odd = np.argmax(inside[sel] if k == 1 else ~inside[sel], axis=1)
        a = gi[np.arange(len(sel)), odd]
        b = gi[np.arange(len(sel)), (odd + 1) % 3]
        c = gi[np.arange(len(sel)), (odd + 2) % 3]
        # fractions of the two edges from the odd vertex up to the level
        sb = (a - level) / (a - b)
        sc = (a - level) / (a - c)
        corner = sb * sc
        frac[sel] = corner if k == 1 else 1.0 - corner
    return frac


def level_loop(
    verts_w: np.ndarray, faces: np.ndarray, value: np.ndarray, level: float = 0.0
) -> np.ndarray:
    """Longest closed outline of the part of a surface patch where ``value >= level``.

    The outline runs along the ``level`` contour of the linearly interpolated value
    inside the patch and along the patch's own border where the value is above it (a
    region that reaches the border is closed there).

    Parameters
    ----------
    verts_w : (V, 3) float64
        Vertices, world mm.
    faces : (F, 3) int
        The patch's triangles.
    value : (V,) float64
    level : float

    Returns
    -------
    (K, 3) float64
        The loop's points in order (empty when no region).
    """
    f = np.asarray(faces, dtype=np.int64)
    g = np.asarray(value, dtype=np.float64)
    if len(f) == 0:
        return np.zeros((0, 3))
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = np.sort(edges, axis=1)
    uniq, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    n_v = len(verts_w)
    ins = g >= level
    crosses = ins[uniq[:, 0]] != ins[uniq[:, 1]]
    # a node is a vertex (its index) or the contour's crossing of an edge (n_v + edge)
    ga, gb = g[uniq[:, 0]], g[uniq[:, 1]]
    t = np.where(crosses, (level - ga) / np.where(crosses, gb - ga, 1.0), 0.0)
    cross_pts = verts_w[uniq[:, 0]] + t[:, None] * (verts_w[uniq[:, 1]] - verts_w[uniq[:, 0]])
    pts = np.vstack([verts_w, cross_pts])
    seg: list[np.ndarray] = []
    # contour segments: each face with one or two vertices inside joins its two crossings
    e_of_face = inv.reshape(3, -1).T  # (F, 3) edge ids of edges (0,1), (1,2), (2,0)
    fc = crosses[e_of_face]
    two = fc.sum(axis=1) == 2
    ce = np.where(fc[two])[1].reshape(-1, 2)
    rows = e_of_face[two]
    seg.append(
        n_v
        + np.column_stack(
            [rows[np.arange(len(rows)), ce[:, 0]], rows[np.arange(len(rows)), ce[:, 1]]]
        )
    )
    # the patch's border where the region reaches it
    border = np.flatnonzero(counts == 1)
    a, b = uniq[border, 0], uniq[border, 1]
    both = ins[a] & ins[b]
    seg.append(np.column_stack([a[both], b[both]]))
    one = crosses[border]
    seg.append(np.column_stack([np.where(ins[a[one]], a[one], b[one]), n_v + border[one]]))
    s = np.vstack(seg)
    if len(s) < 3:
        return np.zeros((0, 3))
    return longest_loop(s, pts, directed=False)


def longest_loop(pairs: np.ndarray, points: np.ndarray, *, directed: bool) -> np.ndarray:
    """The closed loop with the most points chained from segments (node index pairs).

    Parameters
    ----------
    pairs : (E, 2) int
        Segments between nodes (indices into ``points``); each is walked once.
    points : (N, 3) float64
        Node positions.
    directed : bool
        Walk each segment from its first node to its second only (boundary edges of
        oriented faces), or either way.

    Returns
    -------
    (K, 3) float64
        The loop's points in order (empty when there is none).
    """
    nbrs: dict[int, list[int]] = {}
    for p, q in np.asarray(pairs, dtype=np.int64):
        nbrs.setdefault(int(p), []).append(int(q))
        if not directed:
            nbrs.setdefault(int(q), []).append(int(p))
    best: list[int] = []
    while nbrs:
        start = next(iter(nbrs))
        loop = [start]
        cur = start
        while True:
            succ = nbrs.get(cur)
            if not succ:
                break
            nb = succ.pop()
            if not succ:
                del nbrs[cur]
            back = None if directed else nbrs.get(nb)
            if back is not None and cur in back:  # walked once, in either direction
                back.remove(cur)
                if not back:
                    del nbrs[nb]
            if nb == start:
                break
            loop.append(nb)
            cur = nb
        if len(loop) > len(best):
            best = loop
    return points[np.asarray(best, dtype=np.int64)] if best else np.zeros((0, 3))
