"""Risk-weighted separation surface: a graph min-cut confined to a band around the bridge.

Graph: one node per body voxel within ``band_mm`` of the twins' boundary; an edge between
face neighbours (6-connectivity) whose capacity is the shared face area (mm^2, from the
spacing) times the cheaper tissue cost of its two voxels (a cut between two tissues runs
along their boundary and enters neither); a face between a brain voxel of twin A and a
brain voxel of twin B in the input assignment (the brain-brain contact) costs
``CutCosts.brain_interface`` instead; air has no edges, so the cut only runs through
the body. Band voxels next to voxels of twin A outside the band get that
edge's capacity to the source, those next to twin B to the sink. The minimum cut is the
cheapest surface (cost x area) separating the twins within the band; where several
cuts are equally cheap, voxels that some give A and others B go to neither twin by
name (:func:`_split_ties`: the nearer twin, in mm), not to the max-flow source.
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
from twinsep.separate.boxes import extent, grow, slices, window
from twinsep.separate.params import CutParams
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

#: Threads of the exact distance transforms (``edt`` splits the passes by lines: the
#: result does not depend on the thread count).
_EDT_THREADS = 2


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


def _boundary_box(
    tw: np.ndarray, margin: np.ndarray
) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
    """Box of the twins' boundary grown by ``margin`` voxels, and the boundary in it.

    The boundary (:func:`boundary_mask`) is found where the bounding boxes of the two
    twins, grown by one voxel, overlap (it cannot lie elsewhere); None when the twins
    do not touch.
    """
    a = tw == TWIN_A
    b = tw == TWIN_B
    ov = _overlap(extent(a), extent(b), tw.shape)
    if ov is None:
        return None
    face = _touching(a[slices(*ov)], b[slices(*ov)], _FACE_OFFSETS)
    ef = extent(face)
    if ef is None:
        return None
    lo, hi = grow((ef[0] + ov[0], ef[1] + ov[0]), margin, tw.shape)
    return slices(lo, hi), window(face, ov[0], lo, hi)


def _overlap(
    ea: tuple[np.ndarray, np.ndarray] | None,
    eb: tuple[np.ndarray, np.ndarray] | None,
    shape: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Overlap of two bounding boxes each grown by one voxel: where two masks can touch
    (26-neighbours included); None when they cannot."""
    if ea is None or eb is None:
        return None
    lo = np.maximum(np.maximum(ea[0], eb[0]) - 1, 0)
    hi = np.minimum(np.minimum(ea[1], eb[1]) + 1, np.asarray(shape))
    if np.any(hi <= lo):
        return None
    return lo, hi


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


@dataclass(frozen=True)
class _Fields:
    """Flat per-voxel inputs of the edge capacities (one raster-ordered box)."""

    cost: np.ndarray  # tissue cost x ramp, float32
    ramp: np.ndarray  # 1 + stay_near x distance fraction, float32
    vessel: np.ndarray  # vessel voxel, bool
    iface: np.ndarray  # on the input's brain-brain contact, bool
    iface_tw: np.ndarray  # input twin of iface voxels
    body: np.ndarray  # inside a twin, bool


def _face_weights(
    f: _Fields, p: np.ndarray, q: np.ndarray, face_mm2: float, c_iface: float
) -> np.ndarray:
    """Capacity (cost x mm^2) of the faces between voxels ``p`` and ``q`` (flat indices).

    The cheaper tissue cost of the two voxels; faces touching a vessel keep the mean
    cost (a cut hugging a vessel wall risks the vessel, and a vessel one voxel thin that
    runs diagonally, its voxels touching only at edges, would otherwise be divided at no
    vessel cost); faces along the input's brain-brain contact cost ``c_iface``.
    """
    cp, cq = f.cost[p], f.cost[q]
    w = face_mm2 * np.minimum(cp, cq).astype(np.float64)
    both = f.body[p] & f.body[q]
    at_vessel = both & (f.vessel[p] | f.vessel[q])
    if at_vessel.any():
        w[at_vessel] = face_mm2 * 0.5 * (cp[at_vessel] + cq[at_vessel])
    along = both & f.iface[p] & f.iface[q] & (f.iface_tw[p] != f.iface_tw[q])
    if along.any():
        w[along] = face_mm2 * c_iface * 0.5 * (f.ramp[p][along] + f.ramp[q][along])
    return w


def _max_flow(
    n: int,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    source_w: np.ndarray,
    sink_w: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Max-flow of ``n`` nodes joined by symmetric ``edges`` (i, j, capacity) with the
    given terminal capacities: (flow, True where the node can still reach the sink in
    the residual graph).

    Nodes on neither search tree when the flow stops (reachable from neither
    terminal) are reported on the source side, so the sink side is the smallest
    sink side over all minimum cuts.
    """
    g = maxflow.Graph[float](n, edges[0].size)
    g.add_nodes(n)
    g.add_edges(edges[0], edges[1], edges[2], edges[2])
    g.add_grid_tedges(np.arange(n), source_w, sink_w)
    flow = float(g.maxflow())
    return flow, np.asarray(g.get_grid_segments(np.arange(n)), dtype=bool)


@dataclass(frozen=True)
class _Ties:
    """The outcome of the two max-flows of one band (per node, raster order)."""

    a_sure: np.ndarray  # on twin A's side of every minimum cut, bool
    b_sure: np.ndarray  # on twin B's side of every minimum cut, bool
    edges: tuple[np.ndarray, np.ndarray, np.ndarray]  # (i, j, capacity), both ways
    to_a: np.ndarray  # capacity of each node's links to twin A's fixed voxels
    to_b: np.ndarray  # capacity of each node's links to twin B's fixed voxels


def _split_ties(
    ties: _Ties,
    tw_f: np.ndarray,
    nodes: np.ndarray,
    band_f: np.ndarray,
    shape_b: tuple[int, ...],
    spacing: np.ndarray,
) -> np.ndarray:
    """Twin B (bool, per node) of a minimum cut that gives level (tied) cuts to neither
    twin.

    Nodes that some minimum cut gives A and another gives B (ties) go to the twin whose
    sure voxels (sure nodes and that twin's fixed voxels outside the band) are nearer
    in mm; at equal distance they keep their input twin. Taking ties always toward the
    max-flow source (twin A) moved the cut into twin B by up to one voxel layer wherever
    cut costs are level (``docs/segmentation.md``, real-CT cases). Tied nodes form
    6-connected pieces joined by no edge, so each piece adds its own cost to the cut
    and giving a piece whole to either twin is a minimum cut. A piece whose split costs
    more than the minimum (two separate cheapest surfaces, e.g. mirror images along
    each twin's own bone/scalp interface, with a dearer one between them) is given whole
    to the twin nearer on average, else to the twin that held more of it in the input,
    else (an exact mirror image of itself) to twin A. Swapping the names A and B swaps
    the result except in that last case. Ties are exact float ties: the two max-flows
    see the same capacities with the terminals swapped.
    """
    tie = ~ties.a_sure & ~ties.b_sure
    is_b = ties.b_sure.copy()
    if not tie.any():
        return is_b
    tie_nodes = nodes[tie]
    dist = []
    for sure_nodes, t in ((ties.a_sure, TWIN_A), (ties.b_sure, TWIN_B)):
        sure = (~band_f) & (tw_f == t)
        sure[nodes[sure_nodes]] = True
        if not sure.any():
            dist.append(np.full(tie_nodes.size, np.inf))
            continue
        d = edt.edt(
            ~sure.reshape(shape_b),
            anisotropy=tuple(float(v) for v in spacing),
            black_border=False,
            parallel=_EDT_THREADS,
        ).ravel()
        dist.append(d[tie_nodes].astype(np.float64))
    d_a, d_b = dist
    keep_b = tw_f[tie_nodes] == TWIN_B
    is_b[tie] = np.where(d_b < d_a, True, np.where(d_a < d_b, False, keep_b))

    # cost of the split minus the cost of the all-ties-to-B cut (a minimum), by piece
    tie_mask = np.zeros(band_f.size, dtype=bool)
    tie_mask[tie_nodes] = True
    piece_of_voxel = cc3d.connected_components(tie_mask.reshape(shape_b), connectivity=6)
    piece = np.zeros(nodes.size, dtype=np.int64)
    piece[tie] = piece_of_voxel.ravel()[tie_nodes]
    n_pieces = int(piece.max()) + 1
    all_b = ties.b_sure | tie
    i, j, cap = ties.edges
    delta = (is_b[i] != is_b[j]).astype(np.float64) - (all_b[i] != all_b[j])
    owner = np.maximum(piece[i], piece[j])  # an edge touches at most one piece
    extra = np.bincount(owner, weights=cap * delta, minlength=n_pieces)
    # a node on B's side pays its link to A's fixed voxels, on A's side its link to B's
    t_delta = (ties.to_a - ties.to_b) * (is_b.astype(np.float64) - all_b)
    extra += np.bincount(piece, weights=t_delta, minlength=n_pieces)
    scale = np.bincount(owner, weights=cap, minlength=n_pieces)
    scale += np.bincount(piece, weights=ties.to_a + ties.to_b, minlength=n_pieces)
    costly = extra > 1e-9 * np.maximum(scale, 1.0)
    costly[0] = False  # label 0: not a tie
    if costly.any():
        d_a_p = np.bincount(piece[tie], weights=d_a, minlength=n_pieces)
        d_b_p = np.bincount(piece[tie], weights=d_b, minlength=n_pieces)
        n_b_p = np.bincount(piece[tie], weights=keep_b, minlength=n_pieces)
        n_p = np.bincount(piece[tie], minlength=n_pieces)
        whole_b = np.where(d_b_p < d_a_p, True, np.where(d_a_p < d_b_p, False, 2 * n_b_p > n_p))
        redo = tie & costly[piece]
        is_b[redo] = whole_b[piece[redo]]
        logger.debug("%d tied piece(s) given whole to one twin", int(costly.sum()))
    return is_b


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

    The graph is built from the band voxels and their face neighbours only, on the
    band's bounding box grown by one voxel (every edge and terminal link lies there):
    nodes are numbered in raster order and edges added axis by axis in raster order,
    so the graph is the same as one built over the whole crop.
    """
    out = tw_c.copy()
    ext = extent(band)
    if ext is None:
        return out
    reach = float(dist[band].max())
    lo = np.maximum(ext[0] - 1, 0)
    hi = np.minimum(ext[1] + 1, band.shape)
    bx = slices(lo, hi)
    shape_b = tuple(int(v) for v in hi - lo)

    def flat(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x[bx]).ravel()

    band_f = flat(band)
    tw_f = flat(tw_c)
    cost_f = flat(cost)
    ramp = (1.0 + params.stay_near * np.minimum(flat(dist), reach) / max(reach, 1e-6)).astype(
        np.float32
    )
    vessel_f = cost_f >= np.float32(params.costs.vessel)
    cost_f = cost_f * ramp
    fields = _Fields(cost_f, ramp, vessel_f, flat(iface), flat(iface_tw), tw_f > 0)
    c_iface = float(params.costs.brain_interface)
    t0 = time.perf_counter()
    nodes = np.flatnonzero(band_f)  # flat index of each node, raster order
    n = int(nodes.size)
    coords = np.unravel_index(nodes, shape_b)
    strides = (shape_b[1] * shape_b[2], shape_b[2], 1)
    src = np.zeros(n)
    snk = np.zeros(n)
    heads: list[np.ndarray] = []
    tails: list[np.ndarray] = []
    caps: list[np.ndarray] = []
    node_ids = np.arange(n)
    for ax in range(3):
        face_mm2 = float(np.prod(np.delete(spacing, ax)))

        # pairs (node, node + e_ax) then (node - e_ax, node)
        fwd = coords[ax] < shape_b[ax] - 1
        bwd = coords[ax] > 0
        p_f = nodes[fwd]
        q_f = p_f + strides[ax]
        w_f = _face_weights(fields, p_f, q_f, face_mm2, c_iface)
        q_b = nodes[bwd]
        p_b = q_b - strides[ax]
        w_b = _face_weights(fields, p_b, q_b, face_mm2, c_iface)
        inner = band_f[q_f]
        heads.append(node_ids[fwd][inner])
        tails.append(np.searchsorted(nodes, q_f[inner]))
        caps.append(w_f[inner])
        # links to the twins outside the band (their voxels are fixed)
        for ids, other, w in ((node_ids[fwd], q_f, w_f), (node_ids[bwd], p_b, w_b)):
            fixed = ~band_f[other]
            m = fixed & (tw_f[other] == TWIN_A)
            src[ids[m]] += w[m]
            m = fixed & (tw_f[other] == TWIN_B)
            snk[ids[m]] += w[m]
    edges = (np.concatenate(heads), np.concatenate(tails), np.concatenate(caps))
    n_edges = int(edges[0].size)
    stats.build_s += time.perf_counter() - t0
    t1 = time.perf_counter()
    # Twin A as the source: free nodes (on no minimum cut's sink side) go to A, so B
    # keeps only what every minimum cut gives it. Then twin B as the source: A keeps only
    # what every minimum cut gives A. The nodes between (ties) are split by distance.
    flow, b_sure = _max_flow(n, edges, src, snk)
    _, a_sure = _max_flow(n, edges, snk, src)
    stats.flow = flow
    stats.solve_s += time.perf_counter() - t1
    stats.n_nodes = max(stats.n_nodes, n)
    stats.n_edges = max(stats.n_edges, n_edges)
    logger.debug("max-flow: %d nodes, %d edges, %.2f s", n, n_edges, time.perf_counter() - t1)
    is_b = _split_ties(
        _Ties(a_sure, b_sure, edges, src, snk), tw_f, nodes, band_f, shape_b, spacing
    )
    new_f = tw_f.copy()
    new_f[nodes] = np.where(is_b, TWIN_B, TWIN_A).astype(tw_f.dtype)
    # Pieces of the band that touch neither twin outside it (an ear tip, a loose flap)
    # are not decided by the cut: they keep their twin. (A tiny pull toward the original
    # twin on every node would do the same but makes max-flow 50x slower.)
    pieces = cc3d.connected_components(band_f.reshape(shape_b), connectivity=6).ravel()[nodes]
    terminal = np.bincount(pieces, weights=src + snk, minlength=int(pieces.max()) + 1)
    loose = nodes[terminal[pieces] == 0]
    new_f[loose] = tw_f[loose]
    out[bx] = new_f.reshape(shape_b)
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
    spacing = np.asarray(labels.spacing_mm)
    margin = np.ceil(params.band_mm / spacing).astype(int) + 2
    found = _boundary_box(tw, margin)
    if found is None:
        raise SeparationError("the twins do not touch: there is nothing to cut")
    box, boundary_c = found
    tw_c = tw[box]
    cost = np.asarray(params.costs.by_label(), dtype=np.float32)[lab[box]]
    dist = edt.edt(
        ~boundary_c, anisotropy=tuple(spacing), black_border=False, parallel=_EDT_THREADS
    )
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
        c_dist = edt.edt(
            ~c_boundary, anisotropy=tuple(spacing * f), black_border=False, parallel=_EDT_THREADS
        )
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
        # each fine voxel takes its block's value (one gather, no repeated copies)
        blocks = np.ix_(*(np.arange(n) // f for n in tw_c.shape))
        up = c_new[blocks]
        up_band = c_band[blocks]
        body = tw_c > 0
        prov = np.where(up_band & body, up, tw_c).astype(tw_c.dtype)
        f_boundary = boundary_mask(prov)
        f_dist = edt.edt(
            ~f_boundary, anisotropy=tuple(spacing), black_border=False, parallel=_EDT_THREADS
        )
        refine_mm = params.refine_voxels * f * float(spacing.max())
        f_band, _ = _capped_band(body, f_dist, refine_mm, params)
        new_c = _solve(cost, prov, f_band, spacing, params, stats, f_dist, iface, tw_c)
        logger.info("min-cut coarse-to-fine: factor %d, refine band %.1f mm", f, refine_mm)
    moved = int(np.count_nonzero(new_c != tw_c))  # nothing moves outside the box
    refined = tw.copy()
    refined[box] = new_c
    n, n_edges, build_s, solve_s, flow = (
        stats.n_nodes,
        stats.n_edges,
        stats.build_s,
        stats.solve_s,
        stats.flow,
    )
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


def _pieces(mask: np.ndarray, ext: tuple[np.ndarray, np.ndarray] | None) -> tuple[int, float]:
    """26-connected pieces of a mask and the fraction of its voxels in the largest.

    Runs on the mask's bounding box ``ext`` (a piece never leaves it; None: empty mask).
    """
    if ext is None:
        return 0, 0.0
    crop = mask[slices(*ext)]
    comps, n = cc3d.connected_components(crop, connectivity=26, return_N=True)
    if n == 1:
        return 1, 1.0
    sizes = np.bincount(comps[crop])[1:]  # over the mask voxels only
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
    ea, eb = extent(a), extent(b)
    ov = _overlap(ea, eb, twins.shape)
    if ov is not None:
        lo, hi = ov
        box = slices(lo, hi)
        a_c, b_c = a[box], b[box]
        kerf_c = _touching(a_c, b_c, _FACE_OFFSETS)
        if _contacts(a_c & ~kerf_c, b_c & ~kerf_c):
            kerf_c = _touching(a_c, b_c, _CUBE_OFFSETS)
        left = _contacts(a_c & ~kerf_c, b_c & ~kerf_c)
        if left:
            raise SeparationError(
                f"after the cut {left} pair(s) of 26-neighbour voxels still join twin A and twin B"
            )
        kerf[box] = kerf_c
        ek = extent(kerf_c)
        if ek is not None:
            kerf_box = slices(ek[0] + lo, ek[1] + lo)
    pa, fa = _pieces(a, ea)
    pb, fb = _pieces(b, eb)
    return SeparationCheck(
        kerf=kerf,
        separated=True,
        pieces_a=pa,
        pieces_b=pb,
        main_fraction_a=fa,
        main_fraction_b=fb,
        kerf_box=kerf_box,
    )
