"""Which expander candidates of a run of sites are valid, measured for all the sites at
once (for :func:`twinsep.reconstruct.expander_search.build_candidates`).

Testing the candidates one at a time (each size at each angle at each site: turn the
nearby points, measure how far outside the footprint they lie) cost about a thousand
small numpy calls per site. Here the same numbers, element for element (the same
operations on the same points, so the same bits), come from a few calls per size and
angle over every site of the run: each site's points are sorted by their distance
from it, so the points within a footprint's reach are a prefix of the site's; the
forbidden points are turned once per angle; a site's least distance is a segment
minimum. Crescents, whose arc depends on the site, are measured site by site as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twinsep.reconstruct import expander_geometry as eg
from twinsep.reconstruct.expander_footprint import outside_mm, rotated_uv

if TYPE_CHECKING:
    from twinsep.reconstruct.expander_search import SizeOption


@dataclass(frozen=True)
class SitePoints:
    """The points near each of a run of ``J`` sites, in each site's tangent plane.

    Attributes
    ----------
    fits : (J, K) bool
        Whether size ``k`` may fit at site ``j`` (its half-width within the clearance,
        a crescent's arc open).
    arc_r : (J,) float64
        Each site's crescent centreline radius (mm).
    uv_f : (F, 2) float64
        The forbidden skin near each site (tangent-plane mm), site after site, each
        site's sorted by distance from it; site ``j``'s are rows
        ``f_start[j]:f_start[j + 1]``.
    f_start : (J + 1,) int64
    n_f : (J, K) int64
        How many of site ``j``'s forbidden points lie within size ``k``'s reach.
    uv_c : (M, 2) float64
        The conflict cells near each site, laid out as ``uv_f``.
    c_idx : (M,) int64
        Their cell indices.
    c_start : (J + 1,) int64
    n_c : (J, K) int64
        How many of site ``j``'s cells lie within size ``k``'s reach plus the dilation.
    """

    fits: np.ndarray
    arc_r: np.ndarray
    uv_f: np.ndarray
    f_start: np.ndarray
    n_f: np.ndarray
    uv_c: np.ndarray
    c_idx: np.ndarray
    c_start: np.ndarray
    n_c: np.ndarray


def sorted_by_radius(uv: np.ndarray, *more: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(radius, uv, *more)`` with the rows sorted by their distance from the origin
    (``np.linalg.norm(uv, axis=1)``, as the candidates' reach is tested)."""
    rad = np.linalg.norm(uv, axis=1)
    order = np.argsort(rad)
    return (rad[order], uv[order], *(m[order] for m in more))


def site_points(
    fits_rows: Sequence[np.ndarray],
    arcs: Sequence[float],
    f_parts: Sequence[np.ndarray],
    c_parts: Sequence[tuple[np.ndarray, np.ndarray]],
    reach_mm: np.ndarray,
    dil_mm: float,
) -> SitePoints:
    """Lay out a run of sites' nearby points for :func:`valid_candidates`.

    Parameters
    ----------
    fits_rows : sequence of (K,) bool
        Per site, which sizes may fit there.
    arcs : sequence of float
        Per site, the crescent centreline radius (mm).
    f_parts : sequence of (n, 2) float64
        Per site, the forbidden skin near it (tangent-plane mm).
    c_parts : sequence of ((m, 2) float64, (m,) int64)
        Per site, the conflict cells near it and their indices.
    reach_mm : (K,) float64
        Each size's largest distance (mm) of a footprint point from its centre.
    dil_mm : float
        The conflict cells' dilation (mm).

    Returns
    -------
    SitePoints
    """
    f_sorted = [sorted_by_radius(uv) for uv in f_parts]
    c_sorted = [sorted_by_radius(uv, ci) for uv, ci in c_parts]

    def starts(parts: list[tuple[np.ndarray, ...]]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([len(p[0]) for p in parts])]).astype(np.int64)

    return SitePoints(
        fits=np.array(fits_rows, dtype=bool).reshape(len(fits_rows), len(reach_mm)),
        arc_r=np.array(arcs, dtype=np.float64),
        uv_f=np.concatenate([f[1] for f in f_sorted]),
        f_start=starts(f_sorted),
        n_f=np.array([np.searchsorted(f[0], reach_mm, side="right") for f in f_sorted], np.int64),
        uv_c=np.concatenate([c[1] for c in c_sorted]),
        c_idx=np.concatenate([c[2] for c in c_sorted]),
        c_start=starts(c_sorted),
        n_c=np.array(
            [np.searchsorted(c[0], reach_mm + dil_mm, side="right") for c in c_sorted], np.int64
        ),
    )


def valid_candidates(
    sp: SitePoints,
    sizes: Sequence[SizeOption],
    rect_angles_deg: Sequence[float],
    dil_mm: float,
) -> tuple[list[tuple[int, int, float, float]], list[np.ndarray]]:
    """The valid candidates of the sites and their conflict cells.

    Parameters
    ----------
    sp : SitePoints
        The sites' nearby points.
    sizes : sequence of SizeOption
        The catalogue sizes (columns of ``sp.fits``).
    rect_angles_deg : sequence of float
        Turns of a rectangle (deg); other shapes take 0 only.
    dil_mm : float
        How far outside a footprint (mm) a cell is still one of its conflict cells.

    Returns
    -------
    found : list of (int, int, float, float)
        ``(site j, size k, angle deg, slack mm)`` in the order site, size, angle. A
        candidate is valid when no forbidden point within its reach lies in its
        footprint: its slack (the least distance outside) is > 0. A footprint that
        contains one of the same shape and angle at the same site that was not valid
        is not tried (it cannot be valid).
    cells : list of (n,) int64
        Each valid candidate's conflict cells (the cells within ``dil_mm`` of it).
    """
    n_sites = len(sp.fits)
    angles_of = [tuple(rect_angles_deg) if s.base.shape == "rectangular" else (0.0,) for s in sizes]
    angles = sorted({a for t in angles_of for a in t})
    turned_f = {a: rotated_uv(sp.uv_f, a) for a in angles}
    slack = np.full((n_sites, len(sizes), len(angles)), math.inf)
    for k, s in enumerate(sizes):
        at = np.flatnonzero(sp.fits[:, k] & (sp.n_f[:, k] > 0))
        if not len(at):
            continue
        lengths = sp.n_f[at, k]
        idx, seg = _ranges(sp.f_start[at], lengths)
        for a in angles_of[k]:
            o = _outside(s.base, turned_f[a][idx], sp.arc_r[at], lengths)
            slack[at, k, angles.index(a)] = np.minimum.reduceat(o, seg)
    found: list[tuple[int, int, float, float]] = []
    for j in range(n_sites):
        failed: dict[tuple[str, float], list[tuple[float, float]]] = {}
        for k in np.flatnonzero(sp.fits[j]).tolist():
            base = sizes[k].base
            for a in angles_of[k]:
                # a footprint containing one that did not fit here cannot fit
                tried = failed.setdefault((base.shape, a), [])
                if base.shape != "crescent" and any(
                    w <= base.width_mm and ln <= base.length_mm for w, ln in tried
                ):
                    continue
                sl = float(slack[j, k, angles.index(a)])
                if sl <= 0.0:
                    tried.append((base.width_mm, base.length_mm))
                    continue  # forbidden skin inside the footprint
                found.append((j, k, a, sl))
    cells: list[np.ndarray] = [np.zeros(0, np.int64)] * len(found)
    groups: dict[tuple[int, float], list[int]] = {}
    for r, (_, k, a, _) in enumerate(found):
        groups.setdefault((k, a), []).append(r)
    for (k, a), rows in groups.items():
        base = sizes[k].base
        at = np.array([found[r][0] for r in rows])
        lengths = sp.n_c[at, k]
        idx, _ = _ranges(sp.c_start[at], lengths)
        near = _outside(base, rotated_uv(sp.uv_c[idx], a), sp.arc_r[at], lengths) <= dil_mm
        owner = np.repeat(np.arange(len(rows)), lengths)[near]
        ends = np.cumsum(np.bincount(owner, minlength=len(rows)))[:-1]
        for r, part in zip(rows, np.split(sp.c_idx[idx][near], ends), strict=True):
            cells[r] = part
    return found, cells


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows ``starts[i]:starts[i] + lengths[i]``, one range after the
    other, and where each range begins in them."""
    seg = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    idx = np.arange(int(np.sum(lengths)), dtype=np.int64) + np.repeat(starts - seg, lengths)
    return idx, seg


def _outside(
    base: eg.ExpanderBase, uv: np.ndarray, arc_r: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """:func:`~twinsep.reconstruct.expander_footprint.outside_mm` of ``base`` at points
    of several sites (``lengths[i]`` of site ``i`` with crescent radius ``arc_r[i]``,
    one site after the other): the same operations with each site's numbers, so
    element for element the same distances (mm)."""
    if _kind(base) != "crescent":
        return outside_mm(base, 0.0, uv)  # the radius is not read
    s = base.straight_mm
    # the site's numbers as centreline_distance computes them (Python floats)
    half = [0.5 * s / float(r) for r in arc_r]
    ends = [
        (float(r) * (1.0 - math.cos(h)), float(r) * math.sin(h))
        for r, h in zip(arc_r, half, strict=True)
    ]
    arc = np.repeat(arc_r, lengths)
    half_p = np.repeat(half, lengths)
    eu = np.repeat([e[0] for e in ends], lengths)
    ev = np.repeat([e[1] for e in ends], lengths)
    u, v = uv[:, 0], uv[:, 1]
    x, y = u - arc, v
    ang = np.arctan2(y, -x)
    r = np.hypot(x, y)
    on_arc = np.abs(ang) <= half_p
    d_arc = np.abs(r - arc)
    d_end = np.hypot(u - eu, np.abs(v) - ev)
    return np.maximum(np.where(on_arc, d_arc, d_end) - base.half_width_mm, 0.0)


def _kind(base: eg.ExpanderBase) -> str:
    """How :func:`outside_mm` measures a footprint: a box, a stadium (round, capsule, a
    crescent without a swept part) or a crescent's arc."""
    if base.is_box:
        return "box"
    return "crescent" if base.shape == "crescent" and base.straight_mm > 0 else "stadium"
