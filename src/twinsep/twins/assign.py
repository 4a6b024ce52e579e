"""Twin assignment: which twin owns each tissue voxel, and which twin is A.

1. On a coarse grid, the cranial cavity (brain, CSF, vessels) is cut at growing depth
   until it splits into two deep cores, one per head; a strongly merged cavity is split
   at the saddle between its two deepest depth peaks (:mod:`twinsep.twins.heads`). No
   such split: one head, refused.
2. Geodesic (minimum-cost path) fronts with tissue-dependent travel costs
   (:class:`TwinParams.cost_by_label`: fast in brain, bone and scalp, slow in CSF/dura
   and blood, impassable in air; CSF in a wide body - a hydrocephalic twin's
   ventricles - at the brain's cost, :func:`wide_csf_blocks`) first divide the cranial
   cavity between the two
   cores, then give every other tissue (skull, scalp, face, neck) to the twin whose
   cavity part reaches it first: a head's coverings belong to the cavity they wrap.
   The boundary follows the anatomy of the bridge rather than a plane between two
   centres.
3. At full resolution every tissue voxel takes its coarse owner (or the nearest one);
   each twin is then made one connected piece (islands join the twin around them).
4. Twin A follows the rule in DESIGN.md, or the ``--twin-a`` point.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from scipy import ndimage as ndi
from skimage.graph import MCP_Geometric

from twinsep import labels as L
from twinsep.errors import AnatomyError, InputError
from twinsep.layout import from_canonical, to_canonical
from twinsep.segment import morph
from twinsep.tilt import check_orthogonal
from twinsep.twins.heads import INTRACRANIAL, check_touching, fill_specks, find_head_cores
from twinsep.twins.heads_outline import check_two_outlines
from twinsep.twins.params import TwinParams
from twinsep.twins.result import TwinAssignment
from twinsep.volume import Volume, apply_affine, world_to_voxel

logger = logging.getLogger(__name__)

_AXES = ("x (left-right)", "y (posterior-anterior)", "z (inferior-superior)")


def assign_twins(
    labels: Volume,
    *,
    twin_a_mm: tuple[float, float, float] | None = None,
    params: TwinParams = TwinParams(),
) -> TwinAssignment:
    """Give every tissue voxel an owner (1 = twin A, 2 = twin B).

    Parameters
    ----------
    labels : Volume
        Tissue labels 0..5 (any orientation, anisotropic spacing allowed).
    twin_a_mm : (x, y, z), optional
        World point (RAS mm) inside twin A; overrides the default rule.
    params : TwinParams
        Tunable numbers.

    Returns
    -------
    TwinAssignment

    Raises
    ------
    AnatomyError
        No head, a single head, or two heads that do not touch.
    InputError
        ``twin_a_mm`` outside the scan or far from any tissue (source ``--twin-a``); a
        sheared grid (:class:`twinsep.errors.ScanError`, corrected by ``load_scan``).
    """
    src = str(labels.meta.get("source", "labels"))
    # the head cores are found along the array axes (sheared labels: one head, 18 deg)
    check_orthogonal(labels.affine, labels.shape, src)
    canon, lay = to_canonical(labels)
    if not lay.identity:
        # Assigned on the canonical layout (twinsep.layout) and mapped back: the coarse
        # blocks start at the array's first voxel and the fronts' ties follow its order,
        # so the same voxels stored flipped or permuted gave 218 voxels to the other twin
        # on the real CT (docs/orientation.md, "Whole plan in 16 storages").
        res = assign_twins(canon, twin_a_mm=twin_a_mm, params=params)
        back = from_canonical(np.asarray(res.twins.array), lay)
        return replace(res, twins=Volume(back, labels.affine, dict(res.twins.meta)))
    spacing = labels.spacing_mm
    box = _tissue_box(labels.array)
    if box is None:
        raise AnatomyError(src, "contains no tissue: the scan shows no head")
    # every later pass runs on the tissue's bounding box (a view, no copy)
    lab = labels.array[box]
    offset = np.array([s.start for s in box], float)
    target = params.coarse_mm
    while True:
        f = morph.downsample_factors(lab.shape, spacing, target)
        n = int(np.prod([-(-s // k) for s, k in zip(lab.shape, f, strict=True)]))
        if n <= params.max_coarse_voxels:
            break
        target *= 1.25
    csp: morph.Spacing = (
        float(spacing[0] * f[0]),
        float(spacing[1] * f[1]),
        float(spacing[2] * f[2]),
    )
    vx_ml = float(np.prod(csp)) / 1000.0
    counts = block_label_counts(lab, f)
    n_block = int(np.prod(f))
    tissue_c = _fraction(n_block - counts[L.BACKGROUND].astype(np.int64), n_block) >= 0.5
    ic_count = np.zeros(counts[L.BACKGROUND].shape, np.int64)
    for v in INTRACRANIAL:
        ic_count += counts[v]
    ic_c = _fraction(ic_count, n_block) >= 0.5
    check_touching(tissue_c, ic_c, vx_ml, params, src)
    # the cores come from the depth below the cavity's wall: a speck inside the cavity
    # (a calcification, or a vessel at partial volume labelled bone) is not a wall
    ic_f = fill_specks(ic_c, csp, params)
    cores = find_head_cores(ic_f, csp, params, src)
    # two cores inside one head's outline are its hemispheres (the falx, a fissure)
    check_two_outlines(tissue_c, ic_f, cores.core_a, cores.core_b, csp, params, src)
    logger.debug("head cores split at %.2f of depth %.1f mm", cores.fraction, cores.depth_mm)

    # --- geodesic growth on the coarse grid ------------------------------------------
    cost_c = _coarse_cost(counts, n_block, csp, params)
    seeds = cores.core_a | cores.core_b
    cost_c[seeds] = np.minimum(cost_c[seeds], 1.0)
    owner_c, part_c = _grow_by_cavity(cost_c, ic_c | seeds, cores.core_a, cores.core_b, csp)
    owner_c = limbs_to_trunks(owner_c, part_c > 0, cost_c, csp, params)

    # --- full resolution ------------------------------------------------------------
    tissue = lab > 0
    owner = _upsample_u8(owner_c, f, lab.shape)  # type: ignore[arg-type]
    owner *= tissue
    missing = tissue & (owner == 0)
    if missing.any():
        owner = _fill_nearest(owner_c, owner, missing, f)
    del missing
    owner = _one_piece(owner)

    # --- which twin is A -------------------------------------------------------------
    c1 = _centroid_mm(labels, owner, 1, offset)
    c2 = _centroid_mm(labels, owner, 2, offset)
    if twin_a_mm is not None:
        who = _owner_at(labels, owner, box, twin_a_mm, params)
        swap = who == 2
        rule = (
            f"override: twin A contains the point ({twin_a_mm[0]:.1f}, {twin_a_mm[1]:.1f}, "
            f"{twin_a_mm[2]:.1f}) mm given with --twin-a"
        )
    else:
        axis = int(np.argmax(np.abs(c1 - c2)))
        swap = bool(c1[axis] > c2[axis])
        lo, hi = sorted((float(c1[axis]), float(c2[axis])))
        rule = (
            f"default: twin A is the twin whose centroid has the smaller world "
            f"{_AXES[axis]} coordinate ({lo:.1f} mm vs {hi:.1f} mm), the axis on which "
            "the two centroids differ most"
        )
    if swap:
        owner = np.take(np.array([0, 2, 1], np.uint8), owner)
        c1, c2 = c2, c1
    full = np.zeros(labels.shape, np.uint8)
    full[box] = owner
    tissue_ml, volume_ml = _tissue_ml(lab, owner, labels.voxel_volume_mm3)
    # each twin must hold a head's cranial cavity: a lobe of one head (a skull-stripped
    # brain's cerebellum: Colin27 ch2bet, 41 mL) is not a second head
    cavity_ml = {
        t: sum(per[L.TISSUE_NAMES[v]] for v in INTRACRANIAL) for t, per in tissue_ml.items()
    }
    least = min(cavity_ml, key=lambda t: cavity_ml[t])
    if cavity_ml[least] < params.min_head_ml:
        raise AnatomyError(
            src,
            f"shows a single head: the second cranial cavity found holds only "
            f"{cavity_ml[least]:.0f} mL (a head holds at least {params.min_head_ml:.0f} mL); "
            "twinsep plans craniopagus twins only, and needs both heads in the scan",
        )
    warnings: list[str] = []
    small = min(volume_ml.values()) / max(max(volume_ml.values()), 1e-9)
    if small < 0.4:
        warnings.append(
            f"the twins differ much in size (smaller/larger tissue volume {small:.2f}); "
            "check that the scan is not cut through one head"
        )
    return TwinAssignment(
        twins=labels.with_array(full, kind="twins"),
        a_centroid_mm=(float(c1[0]), float(c1[1]), float(c1[2])),
        b_centroid_mm=(float(c2[0]), float(c2[1]), float(c2[2])),
        tissue_ml=tissue_ml,
        rule=rule,
        volume_ml=volume_ml,
        warnings=tuple(warnings),
    )


def agree_with(result: TwinAssignment, given: Volume, *, rule: str) -> TwinAssignment:
    """The automatic assignment with twin A and B named as in a twin map the user
    supplied (``--segmentation``), which it carries as ``given``.

    The automatic map stays what the fusion analysis reads (the twins' territories
    before the cut, as in every plan); the user's map is the cut (the ``separate``
    stage keeps its boundary). A and B are swapped when the user's twin A overlaps the
    automatic twin B more than twin A.

    Parameters
    ----------
    result : TwinAssignment
        :func:`assign_twins` of the user's tissue labels.
    given : Volume
        The user's twin map (0/1/2) on the same grid.
    rule : str
        How A was chosen, in words.

    Returns
    -------
    TwinAssignment
        With ``given`` set and ``rule`` replaced.
    """
    auto = result.twins.array
    user = given.array
    same = np.count_nonzero((auto == 1) & (user == 1)) + np.count_nonzero((auto == 2) & (user == 2))
    cross = np.count_nonzero((auto == 1) & (user == 2)) + np.count_nonzero(
        (auto == 2) & (user == 1)
    )
    if cross > same:
        result = replace(
            result,
            twins=result.twins.with_array(np.take(np.array([0, 2, 1], np.uint8), auto)),
            a_centroid_mm=result.b_centroid_mm,
            b_centroid_mm=result.a_centroid_mm,
            tissue_ml={"A": result.tissue_ml["B"], "B": result.tissue_ml["A"]},
            volume_ml={"A": result.volume_ml["B"], "B": result.volume_ml["A"]},
        )
    return replace(result, rule=rule, given=given)


def block_label_counts(lab: np.ndarray, f: tuple[int, int, int]) -> dict[int, np.ndarray]:
    """Number of fine voxels of each label value in every coarse block of ``f`` voxels.

    Parameters
    ----------
    lab : (I, J, K) uint8 ndarray
        Tissue labels (values 0..5).
    f : (3,) int
        Block size in voxels along i, j, k (:func:`twinsep.segment.morph.downsample_factors`).

    Returns
    -------
    dict
        ``{value: (ceil(I/fi), ceil(J/fj), ceil(K/fk)) ndarray}`` of counts for the values
        0..5. Edge blocks are filled by repeating the last fine slice, exactly as
        :func:`twinsep.segment.morph.block_mean` does, so ``count / prod(f)`` equals its
        block fraction.

    Notes
    -----
    The blocks are summed axis by axis from strided byte views (one byte per voxel
    and label, integer sums), which is several times faster than a six-dimensional
    floating-point mean and exact.
    """
    pads = [(0, (-n) % k) for n, k in zip(lab.shape, f, strict=True)]
    if any(p[1] for p in pads):
        lab = np.pad(lab, pads, mode="edge")
    n_block = int(np.prod(f))
    dtype = np.uint16 if n_block < 2**16 else np.uint32
    # reduce the axis with the smallest stride first (contiguous reads)
    order = sorted(range(3), key=lambda ax: abs(lab.strides[ax]))

    def count(value: int) -> np.ndarray:
        x: np.ndarray = (lab == value).view(np.uint8)
        for ax in order:
            k = f[ax]
            shape = list(x.shape)
            shape[ax] //= k
            acc = np.zeros(shape, dtype)
            for q in range(k):
                sl: list[slice] = [slice(None)] * 3
                sl[ax] = slice(q, None, k)
                np.add(acc, x[tuple(sl)], out=acc)
            x = acc
        return x.astype(dtype, copy=False)

    # one label per worker thread (numpy's loops release the GIL; integer sums, so
    # the result does not depend on the order)
    values = list(range(L.VESSEL + 1))
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(count, values))
    return dict(zip(values, counts, strict=True))


def _fraction(count: np.ndarray, n_block: int) -> np.ndarray:
    """Block fraction (float32) from a count, rounded as ``np.mean(dtype=float32)`` does."""
    return (count / n_block).astype(np.float32)


def wide_csf_blocks(csf_fraction: np.ndarray, csp: morph.Spacing, radius_mm: float) -> np.ndarray:
    """Coarse blocks of CSF bodies wide enough to hold a ball of ``radius_mm``.

    Parameters
    ----------
    csf_fraction : ndarray of float
        Share of each coarse block's fine voxels labelled CSF.
    csp : (3,) float
        Block size (mm) along i, j, k.
    radius_mm : float
        Ball radius (mm); 0 or less gives no block.

    Returns
    -------
    ndarray of bool
        The blocks that are mostly CSF, opened by the ball: bodies wider than about
        twice the radius (a ventricle enlarged by hydrocephalus, a cyst) down to their
        walls; thin layers (the subarachnoid space, the sheet between two brains,
        normal slit-like ventricles) are left out.
    """
    csf = csf_fraction >= 0.5
    if radius_mm <= 0 or not csf.any():
        return np.zeros(csf.shape, bool)
    return morph.open_mm(csf, radius_mm, csp) & csf


def _coarse_cost(
    counts: dict[int, np.ndarray], n_block: int, csp: morph.Spacing, params: TwinParams
) -> np.ndarray:
    """Mean travel cost (per mm) of each coarse block; inf where the block is mostly air.

    Built from the block counts of each tissue label (:func:`block_label_counts`)
    instead of a float copy of the fine grid. The CSF of wide bodies
    (:func:`wide_csf_blocks`, ``params.wide_csf_mm``) costs what brain costs: a
    twin's enlarged ventricles are part of its own brain, and the slow CSF cost is for
    the thin layers between two brains.
    """
    tissue_frac = _fraction(n_block - counts[L.BACKGROUND].astype(np.int64), n_block)
    wide = wide_csf_blocks(_fraction(counts[L.CSF], n_block), csp, params.wide_csf_mm)
    if wide.any():
        logger.debug("wide CSF bodies: %d coarse blocks at the brain's cost", int(wide.sum()))
    s = np.zeros(tissue_frac.shape, np.float64)
    for value, c in params.cost_by_label.items():
        if value != L.BACKGROUND and value in counts:
            frac = _fraction(counts[value], n_block)
            if value == L.CSF and wide.any():
                brain_cost = float(params.cost_by_label.get(L.BRAIN, c))
                s += np.where(wide, brain_cost, float(c)) * frac
            else:
                s += float(c) * frac
    with np.errstate(invalid="ignore", divide="ignore"):
        cost = np.where(tissue_frac >= 0.5, s / np.maximum(tissue_frac, 1e-6), np.inf)
    return cost.astype(np.float64)


def _grow_by_cavity(
    cost: np.ndarray,
    cavity: np.ndarray,
    core_a: np.ndarray,
    core_b: np.ndarray,
    csp: morph.Spacing,
) -> tuple[np.ndarray, np.ndarray]:
    """Owner (1/2, 0 unreached) of every coarse block: the cavity first, then the rest;
    and the owner of the cavity blocks alone (the first step).

    1. Two fronts from the head cores, confined to the cranial cavity, divide it.
    2. Every other tissue block (bone, scalp, face, neck, and cavity specks that no
       core reached) goes to the twin whose cavity part its front reaches first: the
       skull, scalp and face of a head belong to the cranial cavity they wrap, wherever
       that head's core happens to lie. One front started from both whole cores would
       let a core that reaches far towards the union (a depth ridge along an elongated
       head) claim the other head's face and neck.

    Parameters
    ----------
    cost : ndarray of float
        Travel cost per mm of each block (inf = impassable).
    cavity : ndarray of bool
        Cranial-cavity blocks (brain, CSF, vessels; including the cores).
    core_a, core_b : ndarray of bool
        Seed blocks of the two heads.
    csp : (3,) float
        Block size (mm) along i, j, k.
    """
    part = _grow(np.where(cavity, cost, np.inf), core_a, core_b, csp)
    rest = _grow(cost, part == 1, part == 2, csp)
    return np.where(part > 0, part, rest).astype(np.uint8), part


def limbs_to_trunks(
    owner: np.ndarray,
    cavity: np.ndarray,
    cost: np.ndarray,
    csp: morph.Spacing,
    params: TwinParams,
) -> np.ndarray:
    """Tissue outside both heads that hangs from a trunk goes to that trunk's twin.

    The growth from the cranial cavities gives every block to the head whose front
    reaches it first, which is right for a head's own coverings but not for a limb: an
    arm raised along one twin's head and lying over the other's touches the other
    head's scalp along its whole length, while it joins its own body only at the
    shoulder, so the other head's front reaches most of it first (blind bodies
    ``vt-c15-overhead``: 71-78 % of the 39 mL arm went to the other twin). Here the
    tissue farther than a shell width from both cavities (outside both heads'
    coverings: necks, bodies, limbs) is split into connected pieces. A piece that holds
    the trunk of one twin only (a connected part, of at least ``params.trunk_min_ml``,
    of the tissue farther than ``params.trunk_mm`` from both cavities, which no head's
    own coverings reach; its twin the one most of it already belongs to) goes wholly to
    that twin, unless more than ``params.limb_max_share`` of it belonged to the other
    twin (then it is that twin's neck or face, not a limb). The shell widths
    ``params.limb_shells_mm`` are tried from the narrowest: a trunk whose piece holds
    the other twin's trunk too (the bodies joined by tissue just outside a head) is
    tried again with the next, until none is left. A scan without a trunk (no tissue
    that far from the heads) is returned unchanged.

    Parameters
    ----------
    owner : ndarray of uint8
        Owner (0/1/2) of every coarse block from :func:`_grow_by_cavity`.
    cavity : ndarray of bool
        The cranial-cavity blocks the head fronts divided (both heads).
    cost : ndarray of float
        Travel cost per mm of each block (inf = not tissue).
    csp : (3,) float
        Block size (mm) along i, j, k.
    params : TwinParams
        ``limb_shells_mm``, ``limb_open_mm``, ``trunk_mm``, ``trunk_min_ml`` and
        ``limb_max_share``.

    Returns
    -------
    ndarray of uint8
        The owners, changed only inside the outside pieces that hold one twin's trunk.
    """
    if not cavity.any():
        return owner
    to_cavity = ndi.distance_transform_edt(~cavity, sampling=csp)
    tissue = np.isfinite(cost) & (owner > 0)
    if not (tissue & (to_cavity > params.trunk_mm)).any():
        return owner
    block_ml = float(np.prod(csp)) / 1000.0
    full = np.ones((3, 3, 3), bool)
    half = [int(params.limb_open_mm // s) for s in csp]
    out = owner.copy()
    done = np.zeros(owner.shape, bool)  # trunks whose piece is settled
    for shell_mm in sorted(params.limb_shells_mm):
        outside = tissue & (to_cavity > shell_mm)
        # a layer thinner than the opening just outside the shell (the outer scalp
        # over a head) does not join a limb lying on that head to the head's own neck
        if min(half) > 0:
            outside = ndi.binary_opening(outside, np.ones([2 * h + 1 for h in half], bool))
        trunks, n = ndi.label(outside & (to_cavity > params.trunk_mm) & ~done, full)
        if n == 0:
            break
        ids = np.arange(1, n + 1)
        n_all = np.asarray(ndi.sum_labels(np.ones(owner.shape), trunks, ids))
        n_b = np.asarray(ndi.sum_labels(owner == 2, trunks, ids))
        big = n_all * block_ml >= params.trunk_min_ml
        if not big.any():
            break
        # each trunk is the twin's that most of it already belongs to (its own head's)
        trunk_twin = np.where(2 * n_b > n_all, 2, 1)
        pieces, _ = ndi.label(outside, full)
        trunk_piece = np.asarray(ndi.maximum(pieces, trunks, ids)).astype(np.int64)
        for piece in np.unique(trunk_piece[big]):
            twins_here = set(trunk_twin[(trunk_piece == piece) & big])
            if len(twins_here) != 1:
                continue  # both bodies in one piece: tried again with a wider shell
            twin = int(twins_here.pop())
            mask = pieces == piece
            done |= mask
            other = np.count_nonzero(mask & (owner == 3 - twin))
            if other > params.limb_max_share * np.count_nonzero(mask):
                continue  # the other twin's neck or face, not a limb
            out[mask] = twin
    moved = int(np.count_nonzero(out != owner))
    if moved:
        logger.debug("limbs to trunks: %d coarse blocks change owner", moved)
    return out


def _grow(
    cost: np.ndarray, seed_a: np.ndarray, seed_b: np.ndarray, csp: morph.Spacing
) -> np.ndarray:
    """Owner (1/2, 0 unreached) of each block: the seed set nearer along a geodesic.

    Two minimum-cost fronts, one from each seed set; a block goes to the set whose front
    reaches it at the lower cost. An arrival cost is the minimum over the block's
    neighbours whatever order the front visited them in, so it does not depend on how
    the scan is stored (axis order, flips). A single front labelled through its
    traceback would hand a block reached at exactly equal cost from both sets (common on
    a grid: a tissue of one cost, the block half-way) to whichever neighbour the heap
    popped first, which changes with the storage layout. Such ties (equal within a
    relative 1e-9, the rounding of a sum of steps) go to the seed set nearer in
    straight-line mm, then to ``seed_a``.
    """
    arrival_a = _front_costs(cost, seed_a, csp)
    arrival_b = _front_costs(cost, seed_b, csp)
    with np.errstate(invalid="ignore"):  # inf - inf where neither front arrives
        tol = 1e-9 * np.fmin(arrival_a, arrival_b)
        a_first = arrival_a < arrival_b - tol
        b_first = arrival_b < arrival_a - tol
    owner = np.where(a_first, 1, np.where(b_first, 2, 0)).astype(np.uint8)
    tie = ~a_first & ~b_first & np.isfinite(arrival_a)
    if tie.any():
        near_a = ndi.distance_transform_edt(~seed_a, sampling=csp)[tie]
        near_b = ndi.distance_transform_edt(~seed_b, sampling=csp)[tie]
        owner[tie] = np.where(near_b < near_a, 2, 1)
    owner[seed_b] = 2
    owner[seed_a] = 1
    return owner


def _front_costs(cost: np.ndarray, seeds: np.ndarray, csp: morph.Spacing) -> np.ndarray:
    """Minimum travel cost from ``seeds`` to every block (0 on the seeds, inf unreached).

    A shortest path from a seed set leaves it through its rim (seed blocks with a
    neighbour outside the set), so the rim alone starts the front and the interior is
    closed: same costs outside the set, far fewer start points (each costs skimage a
    Python call).
    """
    if not seeds.any():
        return np.full(cost.shape, np.inf)
    inner = seeds & ~ndi.binary_dilation(~seeds, np.ones((3, 3, 3), bool))
    mcp = MCP_Geometric(np.where(inner, np.inf, cost), sampling=csp, fully_connected=True)
    starts = list(map(tuple, np.argwhere(seeds & ~inner).tolist()))
    arrival, _ = mcp.find_costs(starts)
    arrival = np.asarray(arrival, np.float64)
    arrival[seeds] = 0.0
    return arrival


def _fill_nearest(
    owner_c: np.ndarray, owner: np.ndarray, missing: np.ndarray, f: tuple[int, int, int]
) -> np.ndarray:
    """Give fine tissue voxels in unowned coarse blocks the owner of the nearest owned block."""
    _, idx = ndi.distance_transform_edt(owner_c == 0, return_distances=True, return_indices=True)
    nearest = owner_c[tuple(idx)]
    up = _upsample_u8(nearest, f, owner.shape)  # type: ignore[arg-type]
    out = owner.copy()
    np.copyto(out, up, where=missing)
    return out


def _upsample_u8(
    coarse: np.ndarray, f: tuple[int, int, int], shape: tuple[int, int, int]
) -> np.ndarray:
    """Nearest-neighbour upsampling (uint8, writable view) of a block grid back to ``shape``.

    One broadcast write into a block-shaped buffer instead of three ``np.repeat`` copies.
    """
    c = np.asarray(coarse, dtype=np.uint8)
    buf = np.empty((c.shape[0], f[0], c.shape[1], f[1], c.shape[2], f[2]), np.uint8)
    buf[...] = c[:, None, :, None, :, None]
    full = buf.reshape(c.shape[0] * f[0], c.shape[1] * f[1], c.shape[2] * f[2])
    return full[: shape[0], : shape[1], : shape[2]]


def _label_sizes(lab: np.ndarray, n: int, *, slab_voxels: int = 4_000_000) -> np.ndarray:
    """Voxel count of labels 1..n of a label image, slab by slab.

    ``np.bincount`` casts its input to int64; on the whole grid that is an
    8-bytes-per-voxel copy, on slabs of a few million voxels it stays in cache.
    """
    counts = np.zeros(n + 1, np.int64)
    step = max(1, slab_voxels // max(1, lab[0].size))
    for i in range(0, lab.shape[0], step):
        counts += np.bincount(lab[i : i + step].ravel(), minlength=n + 1)
    return counts[1:]


def _one_piece(owner: np.ndarray) -> np.ndarray:
    """Make each twin one 26-connected piece: islands go to the twin around them."""
    out = owner.copy()
    for _ in range(3):
        changed = False
        for t, other in ((1, 2), (2, 1)):
            mask = np.ascontiguousarray(out == t).view(np.uint8)
            lab, n = morph.label_components(mask, 26)
            if n <= 1:
                continue
            sizes = _label_sizes(lab, n)
            keep = int(np.argmax(sizes)) + 1
            islands = lab != keep
            islands &= lab > 0
            out[islands] = other
            changed = True
        if not changed:
            break
    return out


def _tissue_box(lab: np.ndarray) -> tuple[slice, slice, slice] | None:
    """Bounding box (slices) of the non-background voxels, or None when there are none."""
    sl = []
    for ax in range(3):
        hit = np.flatnonzero(np.any(lab, axis=tuple(a for a in range(3) if a != ax)))
        if hit.size == 0:
            return None
        sl.append(slice(int(hit[0]), int(hit[-1]) + 1))
    return (sl[0], sl[1], sl[2])


def _centroid_mm(vol: Volume, owner: np.ndarray, twin: int, offset: np.ndarray) -> np.ndarray:
    """World centroid (mm) of one twin's voxels without listing them (axis profiles).

    ``owner`` covers a box of ``vol`` starting at voxel ``offset``.
    """
    mask = (owner == twin).view(np.uint8)
    # voxel counts per (i, j) column, then the three index profiles from it and from
    # the sum over i (no int64 copy of the grid)
    col = mask.sum(axis=2, dtype=np.int64)
    n = float(col.sum())
    if n == 0:
        raise AnatomyError(vol.meta.get("source", "labels"), "one twin received no tissue")
    prof_k = mask.sum(axis=0, dtype=np.int64).sum(axis=0)
    ijk = [
        float((col.sum(axis=1) * np.arange(col.shape[0])).sum()) / n,
        float((col.sum(axis=0) * np.arange(col.shape[1])).sum()) / n,
        float((prof_k * np.arange(prof_k.size)).sum()) / n,
    ]
    return apply_affine(vol.affine, np.array(ijk) + offset)


def _owner_at(
    vol: Volume,
    owner: np.ndarray,
    box: tuple[slice, slice, slice],
    point_mm: tuple[float, float, float],
    params: TwinParams,
) -> int:
    """Twin (1/2) at a world point, or of the nearest tissue within the search radius.

    ``owner`` covers the box ``box`` of ``vol``'s grid (background outside it).
    """
    ijk = np.rint(world_to_voxel(vol.affine, np.asarray(point_mm, float))).astype(int)
    lo_w = apply_affine(vol.affine, np.zeros(3))
    hi_w = apply_affine(vol.affine, np.array(vol.shape) - 1)
    if (ijk < 0).any() or (ijk >= np.array(vol.shape)).any():
        raise InputError(
            "--twin-a",
            f"point {tuple(round(v, 1) for v in point_mm)} mm is outside the scan, which spans "
            f"{tuple(np.round(np.minimum(lo_w, hi_w), 1))} to "
            f"{tuple(np.round(np.maximum(lo_w, hi_w), 1))} mm (RAS)",
        )
    b0 = np.array([s.start for s in box])
    b1 = np.array([s.stop for s in box])
    ijk = ijk - b0  # box coordinates from here on
    if (ijk >= 0).all() and (ijk < b1 - b0).all():
        who = int(owner[tuple(ijk)])
        if who:
            return who
    sp = np.asarray(vol.spacing_mm)
    r = np.ceil(params.twin_a_search_mm / sp).astype(int)
    a0 = np.maximum(ijk - r, 0)
    a1 = np.minimum(ijk + r + 1, owner.shape)
    win = owner[a0[0] : a1[0], a0[1] : a1[1], a0[2] : a1[2]]
    pts = np.argwhere(win > 0)
    if pts.size:
        d = np.linalg.norm((pts + a0 - ijk) * sp, axis=1)
        k = int(np.argmin(d))
        if d[k] <= params.twin_a_search_mm:
            return int(win[tuple(pts[k])])
    raise InputError(
        "--twin-a",
        f"point {tuple(round(v, 1) for v in point_mm)} mm is not inside either twin "
        f"(no tissue within {params.twin_a_search_mm:.0f} mm); give a point inside twin A's head",
    )


def _tissue_ml(
    lab: np.ndarray, owner: np.ndarray, voxel_mm3: float
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Volume (mL) of each tissue per twin, and each twin's total."""
    # (twin, label) pair as one byte: twin * 8 + label (twin <= 2, label <= 7)
    key = np.left_shift(owner, 3, dtype=np.uint8)
    key |= lab
    counts = np.zeros(256, np.int64)
    # histogram slab by slab: np.bincount casts to int64, which on the whole grid
    # would be an 8-bytes-per-voxel copy
    step = max(1, 4_000_000 // max(1, key[0].size))
    for i in range(0, key.shape[0], step):
        counts += np.bincount(key[i : i + step].ravel(), minlength=256)
    out: dict[str, dict[str, float]] = {}
    total: dict[str, float] = {}
    for t, name in L.TWIN_NAMES.items():
        per = {
            tn: round(float(counts[t * 8 + v]) * voxel_mm3 / 1000.0, 3)
            for v, tn in L.TISSUE_NAMES.items()
        }
        out[name] = per
        total[name] = round(sum(per.values()), 3)
    return out, total
