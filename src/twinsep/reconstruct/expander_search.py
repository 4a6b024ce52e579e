"""Expander placement as a search over a candidate list fixed in the twin's own frame.

The greedy placement (:func:`twinsep.reconstruct.expanders.plan_expanders` with
``placement="greedy"``) ranks candidate centres by the free scalp around them and takes
the largest expander that fits, one at a time; near its ties the answer followed the
order of the surface's faces, so a mirror-symmetric pair or a resampled scan could get
other sizes. Here:

1. **sites** are the available skin points nearest to the centres of a cubic lattice
   (``site_spacing_mm``) laid in the twin's anatomical frame (long axis, face, side;
   cells centred on the brain centre, so the lattice is symmetric about the midline),
   kept where the clearance to forbidden skin admits the narrowest base;
2. **candidates** are every catalogue size at every site in every orientation
   (rectangles turned by each of ``rect_angles_deg`` from "width toward the defect";
   crescents curving around it; round ones), tested with the inverse of the mesh's
   wrap (:func:`twinsep.reconstruct.expander_footprint.unwrap_uv`): a candidate is
   valid when no forbidden skin point (not available scalp, or the wound) lies inside
   its footprint (the forbidden points within ``cell_mm`` of the available scalp are
   enough: a footprint around an available centre that reaches forbidden skin contains
   some of that edge). Its *slack* is how far outside the nearest forbidden point lies;
3. two candidates **conflict** when their footprints come closer than ``gap_mm``:
   each candidate marks the skin cells (a ``cell_mm`` lattice in the twin's frame)
   within ``gap_mm / 2 + cell_mm / 2`` of its footprint, kept as a bit set; a shared
   cell is a conflict;
4. the **objective** of a set of pairwise compatible candidates (at most
   ``max_expanders``) is, in this order: covering what is required; the capacity up to
   it in steps of ``capacity_step_mm2``; fewer expanders; then, when covered, less
   capacity (the smallest sizes that do), when short, more. It depends only on the
   multiset of sizes (catalogue capacities, no noise from the mesh);
5. **search**: a greedy pass over the candidates (the smallest that closes the gap,
   else the largest that fits) gives an incumbent; every multiset of sizes (up to
   ``max_expanders``, at most :data:`MAX_SEARCHED`) with an objective at least as good
   is tried, best first, and the first whose sizes can be placed together (a
   depth-first search over the candidates of each size, largest size first, with
   forward checking; a multiset is skipped when one of its sub-multisets could not be
   placed) is the answer. The search is exact over the candidate list within
   ``search_nodes`` nodes per multiset (one that runs out counts as not placeable:
   deterministic, and never worse than the greedy pass, one of the multisets tried).
   Seeds (:class:`Seed`: the greedy placement of
   :mod:`twinsep.reconstruct.expanders`, whose sites are not on the lattice) join the
   candidates, after the lattice's of their size; only multisets at least as good as
   the seed and covering at least as much are tried, and the seed is the answer when
   none can be placed: never worse than it, by construction;
6. which placement of the chosen sizes: the depth-first search takes each size's
   candidates in an **anatomical** order, never the order of the surface's points:
   first those with at least ``cell_mm`` of slack (a footprint that fits by a fraction
   of a millimetre may not fit another scan of the same anatomy), then by their
   distance from the defect centroid (nearer first: the expanded scalp advances into
   the defect) plus :data:`BACK_BIAS` times the facial coordinate (occipital before
   frontal) minus :data:`SIDE_BIAS` times the coordinate along a side direction shared
   by the pair (:func:`pair_side`, which a mirror between the twins keeps), then by
   the footprint's axis in that frame. A mirror-symmetric pair thus gets mirrored
   plans, and the lattice moves with the anatomy, not with the scan's grid.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from twinsep.reconstruct import expander_geometry as eg
from twinsep.reconstruct.catalogue import CatalogueExpander
from twinsep.reconstruct.defects import TwinDefects
from twinsep.reconstruct.expander_footprint import (
    outside_mm,
    site_frame,
    turned_by,
    unwrap_uv,
)
from twinsep.reconstruct.expander_sites import site_points, valid_candidates

logger = logging.getLogger(__name__)

#: Preference (mm per mm) for the pair's side direction among otherwise equal sites:
#: breaks the left / right ties of a symmetric head the same way for both twins of a
#: mirror pair (0.1: lattice sites mirrored across the midline are at least 20 mm apart
#: and differ by 2 mm, above the ~1 mm scatter of the marching-cubes skin faces).
SIDE_BIAS = 0.1
#: Preference (mm per mm) for sites away from the face (occipital before frontal at
#: equal distance from the defect: hair-bearing, thicker scalp, scars out of sight);
#: 0.05 separates front / back ties of a head 100 mm across by ~5 mm.
BACK_BIAS = 0.05
#: Most expanders per multiset the search enumerates (the default ``max_expanders``).
MAX_SEARCHED = 4
#: Sites whose candidates are measured together (their nearby points are held at once:
#: about 3-7 k cells and 350-800 forbidden points a site on a real head, ~0.1-0.2 MB).
#: Colin27 real-vertical, both twins: 64 sites 2.10-2.13 s CPU, 32 2.49-2.75, 256
#: 2.28-2.42 (and 26 MB more at the peak than 64, traced).
SITE_RUN = 64


@dataclass(frozen=True)
class SizeOption:
    """One catalogue size with its realised capacity (mm^2) at its nominal volume."""

    item: CatalogueExpander
    base: eg.ExpanderBase
    capacity_mm2: float


@dataclass(frozen=True)
class Candidate:
    """One size at one site in one orientation (world mm).

    Attributes
    ----------
    option : SizeOption
    site : int
        Index into the twin's available skin points.
    frame : (3, 3) float64
        Rows: the footprint's ``u`` (width) and ``v`` (length) directions and the normal.
    arc_r : float
        Centreline radius of a crescent (0 otherwise), mm.
    angle_deg : float
        Turn of a rectangle from "width toward the defect", deg.
    key : tuple of float
        Anatomical order (see the module docstring).
    seed : bool
        One of the placements the search was seeded with (:class:`Seed`).
    """

    option: SizeOption
    site: int
    frame: np.ndarray
    arc_r: float
    angle_deg: float
    key: tuple[float, ...]
    seed: bool = False


@dataclass(frozen=True)
class Seed:
    """A placement found elsewhere (the greedy placement) to seed the search with: the
    size, site, frame (already turned) and crescent radius, as in :class:`Candidate`."""

    option: SizeOption
    site: int
    frame: np.ndarray
    arc_r: float


def pair_side(defects: dict[str, TwinDefects]) -> np.ndarray:
    """A unit side direction shared by both twins, kept by a mirror between them.

    ``n`` is the direction between the brain centres; ``f`` the sum of the facial
    directions (else of the long axes, else a world axis) across ``n``; the side is
    ``n x f``. A mirror through the plane between the twins maps every vector across
    ``n`` to itself, so the coordinate along the side of a point of twin A equals that
    of its mirror image in twin B.
    """
    names = sorted(defects)
    if len(names) < 2:
        n = np.array([0.0, 0.0, 1.0])
    else:
        n = defects[names[1]].brain_centre_mm - defects[names[0]].brain_centre_mm
        n = n / max(float(np.linalg.norm(n)), 1e-9)
    faces = [d.face_dir for d in defects.values() if d.face_dir is not None]
    tries = [sum(faces, np.zeros(3)) if faces else np.zeros(3)]
    tries.append(sum((d.head_axis for d in defects.values()), np.zeros(3)))
    tries.extend(np.eye(3)[np.argsort(np.abs(n), kind="stable")])
    for f in tries:
        side = np.cross(n, f - (f @ n) * n)
        if np.linalg.norm(side) > 0.3 * max(float(np.linalg.norm(f)), 1e-9):
            return side / np.linalg.norm(side)
    return np.array([1.0, 0.0, 0.0])  # pragma: no cover - tries include two world axes


def twin_basis(d: TwinDefects) -> np.ndarray:
    """Rows: long axis, facial direction across it, side (``axis x face``)."""
    u = d.head_axis / np.linalg.norm(d.head_axis)
    f = d.face_dir if d.face_dir is not None else d.defect_normal
    f = f - (f @ u) * u
    if np.linalg.norm(f) < 1e-6:
        f = np.eye(3)[int(np.argmin(np.abs(u)))]
        f = f - (f @ u) * u
    f = f / np.linalg.norm(f)
    return np.stack([u, f, np.cross(u, f)])


def lattice_sites(
    points_mm: np.ndarray,
    basis: np.ndarray,
    origin: np.ndarray,
    spacing_mm: float,
    side: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the points nearest to the centres of a cubic lattice in ``basis``.

    The cells are centred on ``origin`` (cell ``k`` spans ``(k -+ 1/2) spacing``), so a
    lattice in a twin's frame is symmetric about its midline. One point per occupied
    cell, the nearest to the cell centre; ties (to 1e-9 of a cell): the larger
    coordinate along ``side`` (a direction a mirror between the twins keeps,
    :func:`pair_side`; a twin's own side ``basis[2]`` is reversed by it, so two points
    either side of a cell centre were taken on opposite sides by mirror-image twins),
    then the smaller anatomical coordinates.
    """
    if not len(points_mm):
        return np.zeros(0, dtype=np.int64)
    q = (points_mm - origin) @ basis.T / spacing_mm
    cell = np.rint(q).astype(np.int64)
    off = np.round(np.linalg.norm(q - cell, axis=1), 9)
    qr = np.round(q, 9)
    along = (
        -np.round((points_mm - origin) @ side / spacing_mm, 9)
        if side is not None
        else np.zeros(len(q))
    )
    order = np.lexsort(
        (qr[:, 2], qr[:, 1], qr[:, 0], along, off, cell[:, 2], cell[:, 1], cell[:, 0])
    )
    c = cell[order]
    first = np.ones(len(c), dtype=bool)
    first[1:] = np.any(c[1:] != c[:-1], axis=1)
    return np.sort(order[first])


@dataclass(frozen=True)
class SearchSettings:
    """Numbers of the search (from :class:`~twinsep.reconstruct.expanders.ExpanderParams`)."""

    gap_mm: float
    site_spacing_mm: float
    cell_mm: float
    rect_angles_deg: tuple[float, ...]
    footprint_step_mm: float
    max_expanders: int
    search_nodes: int
    capacity_step_mm2: float


def build_candidates(
    d: TwinDefects,
    sizes: Sequence[SizeOption],
    settings: SearchSettings,
    site_normal: Callable[[int], np.ndarray],
    side: np.ndarray,
    seeds: Sequence[Seed] = (),
) -> tuple[list[Candidate], np.ndarray, int]:
    """Valid candidates of a twin and their conflict bit sets.

    Returns the candidates (sorted by capacity, seeds last, then anatomical key), a ``(C, W)``
    uint64 array of cell bits (footprint dilated by ``gap_mm / 2 + cell_mm / 2``) and
    the number of sites. ``seeds`` are added as candidates (``Candidate.seed``) as
    they are, found valid by whoever placed them.
    """
    skin = d.skin
    allowed = d.available
    pts = skin.points_mm[allowed]
    centre = d.brain_centre_mm
    basis = twin_basis(d)
    # the forbidden skin next to the available scalp: a footprint around an available
    # centre that reaches forbidden skin contains some of its edge (no thinning on a
    # world grid: the points are the twin's own, as a mirror image would have them)
    not_ok = np.vstack([skin.points_mm[~allowed], d.wound.points_mm])
    forbidden = not_ok[
        cKDTree(pts).query(not_ok, distance_upper_bound=settings.cell_mm)[0] < np.inf
    ]
    forb_tree = cKDTree(forbidden if len(forbidden) else np.full((1, 3), 1e9))
    clearance = cKDTree(not_ok if len(not_ok) else np.full((1, 3), 1e9)).query(pts)[0]
    # conflict cells: one skin point per cell of a lattice in the twin's frame
    cells = skin.points_mm[lattice_sites(skin.points_mm, basis, centre, settings.cell_mm, side)]
    cell_tree = cKDTree(cells)
    n_words = (len(cells) + 63) // 64
    min_half = 0.5 * min(s.base.width_mm for s in sizes)
    sites = lattice_sites(pts, basis, centre, settings.site_spacing_mm, side)
    sites = sites[clearance[sites] >= min_half - settings.footprint_step_mm]
    dil = 0.5 * settings.gap_mm + 0.5 * settings.cell_mm
    rows: list[np.ndarray] = []
    out: list[Candidate] = []
    key_basis = np.stack([basis[0], basis[1], side])
    reach_all = np.array([_reach_mm(s.base) for s in sizes])
    half_w = np.array([s.base.width_mm / 2 for s in sizes])
    crescent = [s.base.shape == "crescent" for s in sizes]
    # the sites in runs of SITE_RUN, whose nearby points are held together
    for run in np.array_split(sites, max(1, math.ceil(len(sites) / SITE_RUN))):
        kept: list[tuple[int, np.ndarray, float, float, np.ndarray]] = []
        fits_rows: list[np.ndarray] = []
        f_parts: list[np.ndarray] = []
        c_parts: list[tuple[np.ndarray, np.ndarray]] = []
        for si in run:
            c = pts[si]
            to_defect = d.defect_centroid_mm - c
            frame0 = site_frame(site_normal(int(si)), to_defect)
            arc_r = float(np.linalg.norm(to_defect - (to_defect @ frame0[2]) * frame0[2]))
            fits = (half_w <= clearance[si] + settings.footprint_step_mm) & np.array(
                [
                    not cr or _crescent_ok(s.base, arc_r)
                    for s, cr in zip(sizes, crescent, strict=True)
                ]
            )
            if not fits.any():
                continue
            r_max = float(reach_all[fits].max())
            f_near = (
                forbidden[forb_tree.query_ball_point(c, r_max + 1.0)]
                if len(forbidden)
                else forbidden
            )
            uv_f = unwrap_uv(f_near, frame0, c, centre) if len(f_near) else np.zeros((0, 2))
            c_idx = np.asarray(cell_tree.query_ball_point(c, r_max + dil + 1.0), dtype=np.int64)
            uv_c = unwrap_uv(cells[c_idx], frame0, c, centre) if len(c_idx) else np.zeros((0, 2))
            kept.append((int(si), frame0, arc_r, float(np.linalg.norm(to_defect)), c - centre))
            fits_rows.append(fits)
            f_parts.append(uv_f)
            c_parts.append((uv_c, c_idx))
        if not kept:
            continue
        sp = site_points(fits_rows, [k[2] for k in kept], f_parts, c_parts, reach_all, dil)
        found, members = valid_candidates(sp, sizes, settings.rect_angles_deg, dil)
        frames: dict[tuple[int, float], np.ndarray] = {}
        keys: dict[tuple[int, float, str, bool], tuple[float, ...]] = {}
        for (j, k, ang, slack), member in zip(found, members, strict=True):
            si, frame0, arc_r, dist, rel = kept[j]
            s = sizes[k]
            if (j, ang) not in frames:
                frames[j, ang] = turned_by(frame0, ang)
            frame = frames[j, ang]
            # the key reads the slack only as "under a cell or not"
            kk = (j, ang, s.base.shape, slack < settings.cell_mm)
            if kk not in keys:
                pos = rel @ key_basis.T
                keys[kk] = _key(slack, dist, pos, frame, s.base.shape, settings.cell_mm, key_basis)
            ar = arc_r if s.base.shape == "crescent" else 0.0
            out.append(Candidate(s, si, frame, ar, float(ang), keys[kk]))
            rows.append(member)
    for sd in seeds:
        c = pts[sd.site]
        to_defect = d.defect_centroid_mm - c
        dist = float(np.linalg.norm(to_defect))
        pos = (c - centre) @ key_basis.T
        reach = _reach_mm(sd.option.base)
        f_near = (
            forbidden[forb_tree.query_ball_point(c, reach + 1.0)] if len(forbidden) else forbidden
        )
        slack = (
            float(
                outside_mm(sd.option.base, sd.arc_r, unwrap_uv(f_near, sd.frame, c, centre)).min()
            )
            if len(f_near)
            else math.inf
        )
        c_idx = np.asarray(cell_tree.query_ball_point(c, reach + dil + 1.0), dtype=np.int64)
        uv_c = unwrap_uv(cells[c_idx], sd.frame, c, centre) if len(c_idx) else np.zeros((0, 2))
        member = c_idx[outside_mm(sd.option.base, sd.arc_r, uv_c) <= dil]
        shape = sd.option.base.shape
        key = _key(slack, dist, pos, sd.frame, shape, settings.cell_mm, key_basis)
        out.append(Candidate(sd.option, int(sd.site), sd.frame, sd.arc_r, 0.0, key, seed=True))
        rows.append(member)
    if not out:
        return [], np.zeros((0, n_words), dtype=np.uint64), len(sites)
    # a size's seeds after its lattice candidates: the seed (the greedy placement, not
    # mirror-equivariant) is taken only where the lattice cannot do as well
    order = sorted(
        range(len(out)), key=lambda i: (-out[i].option.capacity_mm2, out[i].seed, out[i].key)
    )
    # cell k of a candidate is bit k % 64 of its word k // 64 (packed little-endian)
    flat = np.zeros(len(out) * n_words * 64, dtype=bool)
    flat[
        np.repeat(np.arange(len(out)) * (n_words * 64), [len(rows[i]) for i in order])
        + np.concatenate([rows[i] for i in order])
    ] = True
    bits = np.packbits(flat, bitorder="little").view(np.uint64).reshape(len(out), n_words)
    return [out[i] for i in order], bits, len(sites)


def _key(
    slack: float,
    dist: float,
    pos: np.ndarray,
    frame: np.ndarray,
    shape: str,
    cell_mm: float,
    key_basis: np.ndarray,
) -> tuple[float, ...]:
    """Anatomical order of a candidate (module docstring, item 6): slack under a cell
    last, then distance from the defect with the occipital and pair-side biases, then
    the footprint's axis in ``key_basis`` (sign fixed)."""
    axis = frame[1] if shape == "rectangular" else frame[0]
    ax = axis @ key_basis.T
    nz = np.flatnonzero(np.abs(ax) > 1e-6)
    if len(nz) and ax[nz[0]] < 0:
        ax = -ax
    return (
        float(slack < cell_mm),
        round(dist + BACK_BIAS * float(pos[1]) - SIDE_BIAS * float(pos[2]), 6),
        *(round(float(v), 3) for v in ax),
    )


def _reach_mm(base: eg.ExpanderBase) -> float:
    """Largest distance (mm) of a footprint point from its centre (a bound for the
    crescent: its arc is no shorter than the chord)."""
    if base.is_box:
        return math.hypot(base.width_mm / 2, base.length_mm / 2)
    return base.length_mm / 2


def _crescent_ok(base: eg.ExpanderBase, arc_r: float) -> bool:
    """A crescent curving around the defect: inner edge outside its centre, arc open."""
    return arc_r > base.width_mm and base.straight_mm / arc_r < 1.5 * math.pi


def _objective(
    caps: Sequence[float], required_mm2: float, step_mm2: float
) -> tuple[int, int, int, float]:
    """Larger is better: covering the need; then the capacity in steps of ``step_mm2``;
    then fewer expanders; then, when covered, less capacity (the smaller sizes that do),
    when short, more."""
    total = float(sum(caps))
    covered = int(total >= required_mm2 * (1 - 1e-9))
    last = -round(total, 3) if covered else round(total, 3)
    return (covered, int(min(total, required_mm2) // step_mm2), -len(caps), last)


def search(
    cands: list[Candidate], bits: np.ndarray, required_mm2: float, settings: SearchSettings
) -> tuple[list[int], int, int, float]:
    """Best set of compatible candidates (indices), multisets tried, nodes, greedy capacity.

    The seed candidates (``Candidate.seed``: a placement found valid elsewhere, the
    greedy placement of :mod:`twinsep.reconstruct.expanders`) are a floor: only
    multisets at least as good by the objective and covering at least as much are
    tried, and the seed is the answer when none of them can be placed; so the answer
    is never worse than the seed, by construction.
    """
    if not cands:
        return [], 0, 0, 0.0
    caps = np.array([c.option.capacity_mm2 for c in cands])
    codes = [c.option.item.code for c in cands]
    size_names = sorted(set(codes), key=lambda k: (-caps[codes.index(k)], k))
    by_size = {k: np.array([i for i, c in enumerate(codes) if c == k]) for k in size_names}
    cap_of = {k: float(caps[by_size[k][0]]) for k in size_names}
    zero = np.zeros(bits.shape[1], dtype=np.uint64)

    def compatible(idx: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return idx[~np.any(bits[idx] & mask, axis=1)]

    # greedy pass (the incumbent): the smallest that closes the gap, else the largest
    chosen: list[int] = []
    mask = zero.copy()
    total = 0.0
    all_idx = np.arange(len(cands))
    while len(chosen) < settings.max_expanders and total < required_mm2:
        ok = compatible(all_idx, mask)
        if not len(ok):
            break
        closing = ok[caps[ok] >= required_mm2 - total]
        pick = int(closing[np.argmin(caps[closing])]) if len(closing) else int(ok[0])
        chosen.append(pick)
        mask |= bits[pick]
        total += caps[pick]
    greedy = list(chosen)
    step = settings.capacity_step_mm2
    best = _objective([caps[i] for i in greedy], required_mm2, step)
    seed = [i for i, c in enumerate(cands) if c.seed]
    floor = min(float(sum(caps[i] for i in seed)), required_mm2) if seed else 0.0
    if seed:
        best = max(best, _objective([caps[i] for i in seed], required_mm2, step))
    fallback = greedy
    if seed and (
        min(float(sum(caps[i] for i in greedy)), required_mm2) < floor - 1e-6
        or _objective([caps[i] for i in greedy], required_mm2, step) < best
    ):
        fallback = seed
    nodes = 0
    tried = 0
    placed: dict[tuple[str, ...], list[int] | None] = {(): []}

    def place(ms: tuple[str, ...]) -> list[int] | None:
        """Candidates placing the sizes ``ms`` (largest first) together, or None."""
        nonlocal nodes, tried
        if ms in placed:
            return placed[ms]
        for drop in sorted(set(ms)):
            sub = list(ms)
            sub.remove(drop)
            if place(tuple(sub)) is None:
                placed[ms] = None
                return None
        tried += 1
        budget = [settings.search_nodes]

        def dfs(level: int, mask: np.ndarray, after: int, got: list[int]) -> list[int] | None:
            nonlocal nodes
            if level == len(ms):
                return got
            pool = by_size[ms[level]]
            if level and ms[level] == ms[level - 1]:
                pool = pool[pool > after]  # same size: in candidate order only
            pool = compatible(pool, mask)
            for j in pool:
                if budget[0] <= 0:
                    return None
                budget[0] -= 1
                nodes += 1
                m2 = mask | bits[j]
                # forward check: every size still to place has a free candidate
                if any(not len(compatible(by_size[k], m2)) for k in set(ms[level + 1 :])):
                    continue
                r = dfs(level + 1, m2, int(j), [*got, int(j)])
                if r is not None:
                    return r
            return None

        r = dfs(0, zero, -1, [])
        placed[ms] = r
        return r

    multisets: list[tuple[tuple[int, int, int, float], tuple[str, ...]]] = []
    # multisets of up to MAX_SEARCHED sizes (C(23, 4) = 8855 for 20 sizes); a larger
    # max_expanders is reached by the greedy pass only
    for m in range(1, min(settings.max_expanders, MAX_SEARCHED) + 1):
        for ms in itertools.combinations_with_replacement(size_names, m):
            ms_caps = [cap_of[k] for k in ms]
            obj = _objective(ms_caps, required_mm2, step)
            if obj >= best and min(sum(ms_caps), required_mm2) >= floor - 1e-6:
                multisets.append((obj, ms))
    multisets.sort(key=lambda t: (tuple(-x for x in t[0]), t[1]))
    for _, ms in multisets:
        r = place(ms)
        if r is not None:
            return r, tried, nodes, float(sum(caps[i] for i in greedy))
    return fallback, tried, nodes, float(sum(caps[i] for i in greedy))
