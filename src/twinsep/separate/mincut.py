"""Risk-weighted separation surface: a graph min-cut confined to a band around the bridge.

Graph: one node per body voxel within ``band_mm`` of the twins' boundary; an edge between
face neighbours (6-connectivity) whose capacity is the shared face area (mm^2, from the
spacing) times the cheaper tissue cost of its two voxels (a cut between two tissues runs
along their boundary and enters neither); a face between a brain voxel of twin A and a
brain voxel of twin B in the input assignment (the brain-brain contact) costs
``CutCosts.brain_interface`` instead; air has no edges, so the cut only runs through
the body. Band voxels next to voxels of twin A outside the band get that
edge's capacity to the source, those next to twin B to the sink. The minimum cut is the
cheapest surface (cost x area) separating the twins within the band.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass

import cc3d
import edt
import maxflow
import numpy as np

from twinsep.errors import SeparationError
from twinsep.fusion.surface import contact_mask
from twinsep.labels import BRAIN, TWIN_A, TWIN_B
from twinsep.separate.params import CutParams
from twinsep.volume import Volume

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutResult:
    """Outcome of :func:`min_cut_twins`.

    Attributes
    ----------
    twins : (I, J, K) uint8 ndarray
        Refined twin labels (0/1/2).
    band_mm : float
        Half-width of the band actually used, mm.
    n_nodes, n_edges : int
        Graph size.
    solve_s, build_s : float
        Wall time of max-flow and of graph construction, s.
    flow : float
        Cost of the cut (relative cost units x mm^2).
    moved_vx : int
        Voxels whose twin changed.
    """

    twins: np.ndarray
    band_mm: float
    n_nodes: int
    n_edges: int
    solve_s: float
    build_s: float
    flow: float
    moved_vx: int


def _box(mask: np.ndarray, margin: np.ndarray) -> tuple[slice, slice, slice]:
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + margin + 1, mask.shape)
    return (slice(lo[0], hi[0]), slice(lo[1], hi[1]), slice(lo[2], hi[2]))


def boundary_mask(twins: np.ndarray) -> np.ndarray:
    """Voxels of either twin with a face neighbour in the other twin."""
    a = twins == TWIN_A
    b = twins == TWIN_B
    return contact_mask(a, b) | contact_mask(b, a)


@dataclass
class _Stats:
    n_nodes: int = 0
    n_edges: int = 0
    build_s: float = 0.0
    solve_s: float = 0.0
    flow: float = 0.0


def _capped_band(
    body: np.ndarray, dist: np.ndarray, band_mm: float, params: CutParams
) -> tuple[np.ndarray, float]:
    band = body & (dist <= band_mm)
    n = int(band.sum())
    if n <= params.max_nodes:
        return band, band_mm
    d_body = np.sort(dist[band])
    narrowed = float(d_body[params.max_nodes - 1]) - 1e-6
    if narrowed < params.min_band_mm:
        raise SeparationError(
            f"the band around the bridge holds more than {params.max_nodes} voxels even at "
            f"{params.min_band_mm:g} mm; resample the scan to coarser voxels"
        )
    logger.warning(
        "band narrowed from %.1f to %.1f mm to stay under %d nodes",
        band_mm,
        narrowed,
        params.max_nodes,
    )
    return body & (dist <= narrowed), narrowed


def brain_interface_mask(lab: np.ndarray, tw: np.ndarray) -> np.ndarray:
    """Brain voxels with a face neighbour that is brain of the other twin."""
    brain = lab == BRAIN
    a = brain & (tw == TWIN_A)
    b = brain & (tw == TWIN_B)
    return contact_mask(a, b) | contact_mask(b, a)


def _coarsen(
    cost: np.ndarray, tw: np.ndarray, iface: np.ndarray, f: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocks of f^3 voxels: the dearest cost, the majority twin, any brain interface."""
    pad = [(0, (-n) % f) for n in tw.shape]
    c = np.pad(cost, pad)
    t = np.pad(tw, pad)
    i = np.pad(iface, pad)
    shp = tuple(n // f for n in c.shape)

    def blocks(x: np.ndarray) -> np.ndarray:
        return x.reshape(shp[0], f, shp[1], f, shp[2], f)

    coarse_cost = blocks(c).max(axis=(1, 3, 5))
    n_a = blocks(t == TWIN_A).sum(axis=(1, 3, 5))
    n_b = blocks(t == TWIN_B).sum(axis=(1, 3, 5))
    coarse_tw = np.where(n_a + n_b > 0, np.where(n_a >= n_b, TWIN_A, TWIN_B), 0)
    coarse_iface = np.asarray(blocks(i).any(axis=(1, 3, 5)), dtype=bool)
    return coarse_cost, coarse_tw.astype(tw.dtype), coarse_iface


def _solve(
    cost: np.ndarray,
    tw_c: np.ndarray,
    band: np.ndarray,
    spacing: np.ndarray,
    params: CutParams,
    stats: _Stats,
    dist: np.ndarray,
    iface: np.ndarray,
    iface_tw: np.ndarray,
) -> np.ndarray:
    """Min-cut of the band voxels; returns the new twin labels of the whole crop.

    ``dist`` (mm from the current boundary) makes edges slightly dearer away from it
    (``stay_near``), so that among equally cheap cuts the one nearest the twins stage's
    boundary wins. An edge between two ``iface`` voxels of different ``iface_tw`` twins
    (the input's brain-brain contact) costs ``costs.brain_interface``.
    """
    body = tw_c > 0
    reach = float(dist[band].max()) if band.any() else 1.0
    ramp = (1.0 + params.stay_near * np.minimum(dist, reach) / max(reach, 1e-6)).astype(np.float32)
    vessel_vx = cost >= np.float32(params.costs.vessel)
    cost = cost * ramp
    c_iface = float(params.costs.brain_interface)
    n = int(band.sum())
    t0 = time.perf_counter()
    ids = np.full(band.shape, -1, dtype=np.int64)
    ids[band] = np.arange(n)
    fixed_a = body & ~band & (tw_c == TWIN_A)
    fixed_b = body & ~band & (tw_c == TWIN_B)
    g = maxflow.Graph[float](n, 3 * n)
    g.add_nodes(n)
    src = np.zeros(n)
    snk = np.zeros(n)
    n_edges = 0
    for ax in range(3):
        face_mm2 = float(np.prod(np.delete(spacing, ax)))
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(0, -1)
        hi[ax] = slice(1, None)
        p, q = tuple(lo), tuple(hi)
        both = body[p] & body[q]
        w = face_mm2 * np.minimum(cost[p], cost[q]).astype(np.float64)
        # Faces touching a vessel keep the mean cost: a cut hugging a vessel wall risks
        # the vessel, and a vessel one voxel thin that runs diagonally (its voxels touch
        # only at edges) would otherwise be divided at no vessel cost.
        at_vessel = both & (vessel_vx[p] | vessel_vx[q])
        if at_vessel.any():
            w[at_vessel] = face_mm2 * 0.5 * (cost[p][at_vessel] + cost[q][at_vessel])
        along = both & iface[p] & iface[q] & (iface_tw[p] != iface_tw[q])
        if along.any():
            w[along] = face_mm2 * c_iface * 0.5 * (ramp[p][along] + ramp[q][along])
        inner = both & band[p] & band[q]
        g.add_edges(ids[p][inner], ids[q][inner], w[inner], w[inner])
        n_edges += int(inner.sum())
        for a_side, b_side in ((p, q), (q, p)):
            m = both & band[a_side] & fixed_a[b_side]
            np.add.at(src, ids[a_side][m], w[m])
            m = both & band[a_side] & fixed_b[b_side]
            np.add.at(snk, ids[a_side][m], w[m])
    g.add_grid_tedges(np.arange(n), src, snk)
    stats.build_s += time.perf_counter() - t0
    t1 = time.perf_counter()
    stats.flow = float(g.maxflow())
    stats.solve_s += time.perf_counter() - t1
    stats.n_nodes = max(stats.n_nodes, n)
    stats.n_edges = max(stats.n_edges, n_edges)
    sink_side = g.get_grid_segments(np.arange(n))
    out = tw_c.copy()
    out[band] = np.where(sink_side, TWIN_B, TWIN_A).astype(tw_c.dtype)
    # Pieces of the band that touch neither twin outside it (an ear tip, a loose flap)
    # are not decided by the cut: they keep their twin. (A tiny pull toward the original
    # twin on every node would do the same but makes max-flow 50x slower.)
    pieces = cc3d.connected_components(band, connectivity=6)
    terminal = np.bincount(pieces[band], weights=src + snk, minlength=int(pieces.max()) + 1)
    loose = band & (terminal[pieces] == 0)
    out[loose] = tw_c[loose]
    return out


def min_cut_twins(labels: Volume, twins: Volume, *, params: CutParams = CutParams()) -> CutResult:
    """Cheapest separating surface between the twins, near their current boundary.

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5.
    twins : Volume
        Twin labels 0/1/2 (the ``twins`` stage result), same grid.
    params : CutParams
        Costs (relative units per mm^2), band half-width (mm) and node cap.

    Returns
    -------
    CutResult

    Raises
    ------
    SeparationError
        The twins do not touch, or even the narrowest band exceeds the node cap.
    """
    tw = twins.array
    lab = labels.array
    boundary = boundary_mask(tw)
    if not boundary.any():
        raise SeparationError("the twins do not touch: there is nothing to cut")
    spacing = np.asarray(labels.spacing_mm)
    margin = np.ceil(params.band_mm / spacing).astype(int) + 2
    box = _box(boundary, margin)
    tw_c = tw[box]
    cost = np.asarray(params.costs.by_label(), dtype=np.float32)[lab[box]]
    dist = edt.edt(~boundary[box], anisotropy=tuple(spacing), black_border=False)
    iface = brain_interface_mask(lab[box], tw_c)
    n_full = int(((tw_c > 0) & (dist <= params.band_mm)).sum())
    stats = _Stats()
    if n_full <= params.max_fine_nodes:
        band, band_mm = _capped_band(tw_c > 0, dist, params.band_mm, params)
        new_c = _solve(cost, tw_c, band, spacing, params, stats, dist, iface, tw_c)
    else:
        f = int(np.ceil((n_full / params.max_fine_nodes) ** (1.0 / 3.0)))
        coarse_cost, coarse_tw, coarse_iface = _coarsen(cost, tw_c, iface, f)
        c_boundary = boundary_mask(coarse_tw)
        c_dist = edt.edt(~c_boundary, anisotropy=tuple(spacing * f), black_border=False)
        c_band, band_mm = _capped_band(coarse_tw > 0, c_dist, params.band_mm, params)
        c_new = _solve(
            coarse_cost,
            coarse_tw,
            c_band,
            spacing * f,
            params,
            stats,
            c_dist,
            coarse_iface,
            coarse_tw,
        )
        up = (
            c_new.repeat(f, 0)
            .repeat(f, 1)
            .repeat(f, 2)[: tw_c.shape[0], : tw_c.shape[1], : tw_c.shape[2]]
        )
        up_band = (
            c_band.repeat(f, 0)
            .repeat(f, 1)
            .repeat(f, 2)[: tw_c.shape[0], : tw_c.shape[1], : tw_c.shape[2]]
        )
        body = tw_c > 0
        prov = np.where(up_band & body, up, tw_c).astype(tw_c.dtype)
        f_boundary = boundary_mask(prov)
        f_dist = edt.edt(~f_boundary, anisotropy=tuple(spacing), black_border=False)
        refine_mm = params.refine_voxels * f * float(spacing.max())
        f_band, _ = _capped_band(body, f_dist, refine_mm, params)
        new_c = _solve(cost, prov, f_band, spacing, params, stats, f_dist, iface, tw_c)
        logger.info("min-cut coarse-to-fine: factor %d, refine band %.1f mm", f, refine_mm)
    refined = tw.copy()
    refined[box] = new_c
    n, n_edges, build_s, solve_s, flow = (
        stats.n_nodes,
        stats.n_edges,
        stats.build_s,
        stats.solve_s,
        stats.flow,
    )
    moved = int((refined != tw).sum())
    logger.info(
        "min-cut: %d nodes, %d edges, band %.1f mm, build %.2f s, solve %.2f s, %d voxels moved",
        n,
        n_edges,
        band_mm,
        build_s,
        solve_s,
        moved,
    )
    return CutResult(
        twins=refined,
        band_mm=band_mm,
        n_nodes=n,
        n_edges=n_edges,
        solve_s=solve_s,
        build_s=build_s,
        flow=flow,
        moved_vx=moved,
    )


@dataclass(frozen=True)
class SeparationCheck:
    """Proof that the cut separates the twins (26-connectivity).

    Attributes
    ----------
    kerf : (I, J, K) bool ndarray
        Voxels on the cut (both sides); ``separation.nii.gz`` marks exactly these.
    separated : bool
        No 26-connected piece of the body outside the kerf holds both twins.
    pieces_a, pieces_b : int
        26-connected pieces of each refined twin.
    main_fraction_a, main_fraction_b : float
        Fraction of each twin's voxels in its largest piece.
    kerf_box : tuple of slice
        Bounding box of the kerf voxels (empty slices when there are none): every
        later step that reads the kerf works inside it.
    """

    kerf: np.ndarray
    separated: bool
    pieces_a: int
    pieces_b: int
    main_fraction_a: float
    main_fraction_b: float
    kerf_box: tuple[slice, slice, slice] = (slice(0, 0), slice(0, 0), slice(0, 0))


#: Neighbour offsets of 6-connectivity, one of each +-pair (the other is its negative).
_FACE_OFFSETS: tuple[tuple[int, int, int], ...] = ((1, 0, 0), (0, 1, 0), (0, 0, 1))
#: Neighbour offsets of 26-connectivity, one of each +-pair (13 of 26).
_CUBE_OFFSETS: tuple[tuple[int, int, int], ...] = tuple(
    (i, j, k) for i, j, k in itertools.product((-1, 0, 1), repeat=3) if (i, j, k) > (0, 0, 0)
)


def _extent(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Index bounds (lo, hi exclusive) of a mask's true voxels; None when it is empty."""
    lo, hi = [], []
    for ax in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != ax)))
        if hit.size == 0:
            return None
        lo.append(int(hit[0]))
        hi.append(int(hit[-1]) + 1)
    return np.asarray(lo), np.asarray(hi)


def _slices(lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, slice]:
    return (
        slice(int(lo[0]), int(hi[0])),
        slice(int(lo[1]), int(hi[1])),
        slice(int(lo[2]), int(hi[2])),
    )


def _pair_views(
    shape: tuple[int, ...], d: tuple[int, int, int]
) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Slices ``p, q`` such that ``x[q]`` is the neighbour at offset ``d`` of ``x[p]``."""
    p, q = [], []
    for n, s in zip(shape, d, strict=True):
        p.append(slice(max(0, -s), n - max(0, s)))
        q.append(slice(max(0, s), n - max(0, -s)))
    return tuple(p), tuple(q)


def _touching(
    a: np.ndarray, b: np.ndarray, offsets: tuple[tuple[int, int, int], ...]
) -> np.ndarray:
    """Voxels of ``a`` or ``b`` with a neighbour of the other mask (``offsets`` and their
    negatives)."""
    out = np.zeros(a.shape, dtype=bool)
    for d in offsets:
        p, q = _pair_views(a.shape, d)
        for x, y in ((a, b), (b, a)):
            m = x[p] & y[q]
            out[p] |= m
            out[q] |= m
    return out


def _contacts(a: np.ndarray, b: np.ndarray) -> int:
    """Number of 26-neighbour pairs with one voxel in ``a`` and the other in ``b``."""
    n = 0
    for d in _CUBE_OFFSETS:
        p, q = _pair_views(a.shape, d)
        n += int(np.count_nonzero(a[p] & b[q])) + int(np.count_nonzero(b[p] & a[q]))
    return n


def _pieces(mask: np.ndarray) -> tuple[int, float]:
    """26-connected pieces of a mask and the fraction of its voxels in the largest.

    Runs on the mask's bounding box (a piece never leaves it).
    """
    ext = _extent(mask)
    if ext is None:
        return 0, 0.0
    crop = mask[_slices(*ext)]
    comps, n = cc3d.connected_components(crop, connectivity=26, return_N=True)
    if n == 1:
        return 1, 1.0
    sizes = np.bincount(comps.ravel())[1:]
    return int(n), float(sizes.max() / sizes.sum())


def verify_separation(twins: np.ndarray) -> SeparationCheck:
    """Mark the cut voxels and prove that removing them disconnects the twins.

    The kerf starts as the voxels of each twin with a face neighbour in the other; if a
    diagonal (edge or corner) contact still joins the twins in 26-connectivity, the
    voxels of all 26-neighbour contacts are added.

    The proof: a 26-connected piece of the body minus the kerf that held voxels of both
    twins would contain a 26-path from a twin-A voxel to a twin-B voxel, and somewhere
    along it a twin-A voxel would be the 26-neighbour of a twin-B voxel, both outside
    the kerf; conversely such a pair is itself a piece holding both twins. So "no piece
    holds both twins" is exactly "no twin-A voxel outside the kerf has a twin-B
    26-neighbour outside the kerf", which is checked pair by pair over the 26
    neighbour offsets. Such pairs can only lie where the bounding boxes of the two
    twins, each grown by one voxel, overlap, so only that box is scanned (the test
    suite compares this with a whole-grid ``cc3d`` labelling).

    Raises
    ------
    SeparationError
        If the twins remain connected after the kerf (a bug, never expected).
    """
    a = twins == TWIN_A
    b = twins == TWIN_B
    kerf = np.zeros(twins.shape, dtype=bool)
    empty = (slice(0, 0), slice(0, 0), slice(0, 0))
    kerf_box = empty
    ea, eb = _extent(a), _extent(b)
    if ea is not None and eb is not None:
        shape = np.asarray(twins.shape)
        lo = np.maximum(np.maximum(ea[0], eb[0]) - 1, 0)
        hi = np.minimum(np.minimum(ea[1], eb[1]) + 1, shape)
        if np.all(hi > lo):
            box = _slices(lo, hi)
            a_c, b_c = a[box], b[box]
            kerf_c = _touching(a_c, b_c, _FACE_OFFSETS)
            if _contacts(a_c & ~kerf_c, b_c & ~kerf_c):
                kerf_c = _touching(a_c, b_c, _CUBE_OFFSETS)
            left = _contacts(a_c & ~kerf_c, b_c & ~kerf_c)
            if left:
                raise SeparationError(
                    f"after the cut {left} pair(s) of 26-neighbour voxels still join twin A "
                    "and twin B"
                )
            kerf[box] = kerf_c
            ek = _extent(kerf_c)
            if ek is not None:
                kerf_box = _slices(ek[0] + lo, ek[1] + lo)
    pa, fa = _pieces(a)
    pb, fb = _pieces(b)
    return SeparationCheck(
        kerf=kerf,
        separated=True,
        pieces_a=pa,
        pieces_b=pb,
        main_fraction_a=fa,
        main_fraction_b=fb,
        kerf_box=kerf_box,
    )
