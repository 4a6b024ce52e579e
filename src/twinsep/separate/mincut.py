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
name (:func:`_split_ties`: the nearer twin, in mm), not to the max-flow source. The
capacities are whole numbers of a tiny unit, so equally cheap means exactly equal.
"""

from __future__ import annotations

import functools
import itertools
import logging
import time
from dataclasses import dataclass, replace

import edt
import maxflow
import numpy as np

from twinsep.errors import SeparationError
from twinsep.fusion.surface import contact_mask
from twinsep.labels import BRAIN, TWIN_A, TWIN_B
from twinsep.layout import from_canonical, to_canonical
from twinsep.segment.morph import label_components
from twinsep.separate.boxes import extent, grow, slices, window
from twinsep.separate.params import CutParams
from twinsep.volume import Volume
from twinsep.words import counted

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


#: Bits of the integer capacity budget. Capacities are whole multiples of
#: :func:`_capacity_unit`, chosen so that all of them together (each edge counted both
#: ways) add up to at most 2**_CAPACITY_BITS units: a flow, a residual capacity or a cut
#: never exceeds that sum, which leaves 3 bits of PyMaxflow's 64-bit integers spare.
_CAPACITY_BITS = 60


def _capacity_unit(cap: np.ndarray, to_a: np.ndarray, to_b: np.ndarray) -> float:
    """Unit of the integer capacities (cost x mm^2): a power of two such that every
    capacity rounded to whole units (edges ``cap`` both ways, links ``to_a`` and ``to_b``)
    sums to at most ``2**_CAPACITY_BITS`` units (plus half a unit per capacity).

    Rounding moves each capacity by at most half a unit, so a cut through ``m`` faces
    and links costs within ``m / 2`` units of its real-valued cost; the unit is at most
    ``2 x total / 2**60`` (total: the sum of all capacities). On the 512 CT's fine band
    (3.7 M edges, flow 1.3e5) the unit is 1.2e-10 cost x mm^2, a face there 0.11-0.27
    mm^2: even a cut through every edge would move by 3e-4 (2e-9 of the flow), far
    below the float32 resolution of the costs (6e-8). The links to the twins enter as
    the sum ``to_a + to_b``, so swapping the names gives the same unit.
    """
    total = 2.0 * float(cap.sum()) + (float(to_a.sum()) + float(to_b.sum()))
    if not total > 0.0:
        return 1.0
    return float(2.0 ** np.ceil(np.log2(total) - _CAPACITY_BITS))


def _units(x: np.ndarray, unit: float) -> np.ndarray:
    """Capacities (cost x mm^2) as whole numbers of ``unit`` (int64, rounded to nearest)."""
    return np.rint(x / unit).astype(np.int64)


@functools.cache
def _check_int64_capacities() -> None:
    """Refuse a PyMaxflow whose integer capacities are narrower than 64 bits (its
    ``Graph[int]`` uses the C ``long``, 32 bits on Windows): the unit of
    :func:`_capacity_unit` needs 62 bits, and a narrower type would wrap around silently.
    """
    g = maxflow.Graph[int](2, 1)
    g.add_nodes(2)
    big = 1 << 61
    g.add_edge(0, 1, big, big)
    g.add_tedge(0, big, 0)
    g.add_tedge(1, 0, big)
    if int(g.maxflow()) != big:
        raise SeparationError(
            "PyMaxflow's integer capacities hold fewer than 64 bits on this platform; "
            "the min-cut needs a 64-bit build (Linux or macOS)"
        )


def _max_flow(
    n: int,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    source_w: np.ndarray,
    sink_w: np.ndarray,
) -> tuple[int, np.ndarray]:
    """Max-flow of ``n`` nodes joined by symmetric ``edges`` (i, j, capacity) with the
    given terminal capacities, all whole numbers (int64): (flow, True where the node can
    still reach the sink in the residual graph).

    Nodes on neither search tree when the flow stops (reachable from neither
    terminal) are reported on the source side, so the sink side is the smallest
    sink side over all minimum cuts. Integer capacities make that set exact: with
    floats, a residual left at 1e-17 by rounding decides whether a node is reachable.
    """
    _check_int64_capacities()
    g = maxflow.Graph[int](n, edges[0].size)
    g.add_nodes(n)
    g.add_edges(edges[0], edges[1], edges[2], edges[2])
    g.add_grid_tedges(np.arange(n), source_w, sink_w)
    flow = int(g.maxflow())
    return flow, np.asarray(g.get_grid_segments(np.arange(n)), dtype=bool)


def _sure_sides(
    n: int,
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    to_a: np.ndarray,
    to_b: np.ndarray,
    *,
    a_first: bool,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Nodes on twin A's side of every minimum cut, nodes on twin B's side of every
    minimum cut (bool, per node) and the minimum cut's cost, in integer units.

    A full max-flow with one twin as the source gives the nodes that every minimum cut
    puts on the other twin's side (they reach the sink in the residual graph). The
    max-flow with the other twin as the source then runs only on the remaining nodes:
    the sure nodes are merged into its source (their edges to the remaining nodes become
    links to it, edges among them drop out). Every minimum cut of the whole graph puts
    the merged nodes there, so the minimum cuts of the smaller graph are exactly those
    of the whole, cheaper by the merged nodes' links to the first source (cut by all).
    The capacities are whole numbers, so both sets are exact and the same in either
    order; ``a_first`` (twin A the first source) only changes the time: the first
    source should be the twin with fewer band nodes, which leaves the smaller second
    graph (on the 512 CT's fine band 0.56 instead of 1.27 M nodes).
    """
    s_w, t_w = (to_a, to_b) if a_first else (to_b, to_a)
    flow, t_sure = _max_flow(n, edges, s_w, t_w)
    keep = ~t_sure
    m = int(np.count_nonzero(keep))
    s_sure = np.zeros(n, dtype=bool)
    if m:
        new_id = np.cumsum(keep) - 1
        i, j, cap = edges
        ki, kj = keep[i], keep[j]
        inner = ki & kj
        cross = ki ^ kj
        merged = np.zeros(m, dtype=np.int64)
        np.add.at(merged, new_id[np.where(ki, i, j)[cross]], cap[cross])
        sub = (new_id[i[inner]], new_id[j[inner]], cap[inner])
        flow_2, s_sure[keep] = _max_flow(m, sub, t_w[keep] + merged, s_w[keep])
        if flow_2 + int(s_w[t_sure].sum()) != flow:
            raise SeparationError(
                f"the restricted max-flow found {flow_2} + {int(s_w[t_sure].sum())} units, "
                f"the full one {flow} (a bug, never expected)"
            )
    a_sure, b_sure = (s_sure, t_sure) if a_first else (t_sure, s_sure)
    return a_sure, b_sure, flow


@dataclass(frozen=True)
class _Ties:
    """The sure sides of one band's minimum cuts (per node, raster order)."""

    a_sure: np.ndarray  # on twin A's side of every minimum cut, bool
    b_sure: np.ndarray  # on twin B's side of every minimum cut, bool
    edges: tuple[np.ndarray, np.ndarray, np.ndarray]  # (i, j, capacity in units), both ways
    to_a: np.ndarray  # capacity (units) of each node's links to twin A's fixed voxels
    to_b: np.ndarray  # capacity (units) of each node's links to twin B's fixed voxels


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
    the result except in that last case. Ties are exact: the capacities are whole
    numbers of one unit (:func:`_capacity_unit`), so the sure sides and the piece costs
    are computed without rounding.
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
    piece_of_voxel = label_components(tie_mask.reshape(shape_b), 6)[0]
    piece = np.zeros(nodes.size, dtype=np.int64)
    piece[tie] = piece_of_voxel.ravel()[tie_nodes]
    n_pieces = int(piece.max()) + 1
    all_b = ties.b_sure | tie
    i, j, cap = ties.edges
    owner = np.maximum(piece[i], piece[j])  # an edge touches at most one piece
    on = owner > 0  # edges off the pieces are cut alike by both labellings
    i, j, cap, owner = i[on], j[on], cap[on], owner[on]
    delta = (is_b[i] != is_b[j]).astype(np.int64) - (all_b[i] != all_b[j])
    extra = np.zeros(n_pieces, dtype=np.int64)  # whole units: exact
    np.add.at(extra, owner, cap * delta)
    # a node on B's side pays its link to A's fixed voxels, on A's side its link to B's
    t_delta = (ties.to_a - ties.to_b)[tie] * (is_b[tie].astype(np.int64) - 1)
    np.add.at(extra, piece[tie], t_delta)
    costly = extra > 0
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
    # The nodes on A's side of every minimum cut and those on B's (two max-flows, the
    # second on what the first leaves undecided); the nodes between (ties) are split by
    # distance. The first source is the twin with fewer band nodes (time only).
    unit = _capacity_unit(edges[2], src, snk)
    edges_u = (edges[0], edges[1], _units(edges[2], unit))
    src_u, snk_u = _units(src, unit), _units(snk, unit)
    in_a = int(np.count_nonzero(tw_f[nodes] == TWIN_A))
    a_sure, b_sure, flow_u = _sure_sides(n, edges_u, src_u, snk_u, a_first=2 * in_a <= n)
    stats.flow = flow_u * unit
    stats.solve_s += time.perf_counter() - t1
    stats.n_nodes = max(stats.n_nodes, n)
    stats.n_edges = max(stats.n_edges, n_edges)
    logger.debug("max-flow: %d nodes, %d edges, %.2f s", n, n_edges, time.perf_counter() - t1)
    is_b = _split_ties(
        _Ties(a_sure, b_sure, edges_u, src_u, snk_u), tw_f, nodes, band_f, shape_b, spacing
    )
    new_f = tw_f.copy()
    new_f[nodes] = np.where(is_b, TWIN_B, TWIN_A).astype(tw_f.dtype)
    # Pieces of the band that touch neither twin outside it (an ear tip, a loose flap)
    # are not decided by the cut: they keep their twin. (A tiny pull toward the original
    # twin on every node would do the same but makes max-flow 50x slower.)
    pieces = label_components(band_f.reshape(shape_b), 6)[0].ravel()[nodes]
    terminal = np.bincount(pieces, weights=src + snk, minlength=int(pieces.max()) + 1)
    loose = nodes[terminal[pieces] == 0]
    new_f[loose] = tw_f[loose]
    out[bx] = new_f.reshape(shape_b)
    return out


def kept_boundary(twins: Volume, *, band_mm: float) -> CutResult:
    """The twins' boundary kept as the cut, as a :class:`CutResult` that moved nothing
    (a twin map the user supplied: ``--segmentation``).

    Parameters
    ----------
    twins : Volume
        Twin labels 0/1/2 (not modified).
    band_mm : float
        Recorded as the band (``CutParams.band_mm``): nothing was narrowed.

    Returns
    -------
    CutResult
        ``twins`` a copy of the map, an empty graph, ``moved_vx`` 0.
    """
    return CutResult(
        twins=np.array(twins.array, dtype=np.uint8, copy=True),
        band_mm=float(band_mm),
        n_nodes=0,
        n_edges=0,
        solve_s=0.0,
        build_s=0.0,
        flow=0.0,
        moved_vx=0,
    )


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
    lab_canon, lay = to_canonical(labels)
    if not lay.identity:
        # cut on the canonical layout (twinsep.layout) and mapped back: the coarse
        # blocks start at the box's first voxel and level cuts are split by index order
        res = min_cut_twins(lab_canon, to_canonical(twins)[0], params=params)
        return replace(res, twins=from_canonical(res.twins, lay))
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
    comps, n = label_components(crop, 26)
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
                f"after the cut {counted(left, 'pair')} of 26-neighbour voxels still join "
                "twin A and twin B"
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
