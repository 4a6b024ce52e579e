"""Scalp tissue expanders already in the planning CT: find, measure and assign them.

Craniopagus teams place saline-filled silicone expanders under the scalp months before
the separation (DESIGN.md, NOTES.md "Tissue expansion"), so the planning CT usually
shows them: smooth-walled pockets of water (saline, about 0 HU) between the scalp and
the skull, 50-500 mL, each filled through a port with a metal needle stop. The tissue
labels keep the saline as soft tissue (label 1: it lies in the scalp layer and a skin
model must contain it); this module only reports the pockets so that later stages can
leave them out of tissue volumes and anatomy (see docs/segmentation.md, "Existing
expanders").

Rule (:func:`find_expanders`):

1. **Water**: soft-tissue voxels of a twin whose median over ``median_size_vx``
   voxels (edges kept: a mean would mix the rim with the bright silicone shell)
   lies within [``water_low_hu``, ``water_high_hu``] - water, between fat (about
   -100 HU) and muscle or skin (40-60 HU);
2. **Pockets**: 6-connected pieces of it, holes filled, of ``min_volume_ml`` to
   ``max_volume_ml``, at least ``min_thickness_mm`` thick (twice the largest
   inscribed radius) and compact (``min_interior_share`` of its voxels inside it,
   ``min_core_share`` of it deeper than ``core_depth_mm``): noise specks in muscle, thin oedema and a real adult scalp
   whose fat-skin mix reads as water (Cranium CT: a 329 mL sheet) are not balloons;
3. **Between scalp and bone**: the pocket's wall (the voxels just outside it) lies on
   the skull (at least ``min_bone_share`` of the wall within ``bone_gap_mm`` of bone),
   is not walled by it (at most ``max_bone_share`` of the wall so near: a
   fluid-filled sinus or orbit is walled by bone, a balloon under the scalp is not), does not touch the air (at most
   ``max_air_share`` of the wall: scalp covers it) and touches no brain, CSF or vessel
   (at most ``max_cavity_share``: it is outside the skull);
4. **Owner**: the twin holding most of the pocket;
5. **Port**: the nearest piece of metal (CT at or above ``metal_hu``) within
   ``port_search_mm`` of the pocket's wall, if any (integrated ports lie in the
   dome, remote ones beside it).

The volume is the pocket's voxel count times the voxel volume (the fill plus about
half its shell: partial-volume voxels of the rim count when their median is water).

**Coarse first.** On a grid finer than ``coarse_voxel_mm`` the rule runs first on a
block-reduced copy (CT block means, labels and owners at the block centres) with every
threshold loosened by about a coarse voxel (:func:`_coarse_params`), and then, exactly
as above, only inside the boxes of the coarse pockets at full resolution. A box grows
until every water piece that may be a pocket lies inside it and the bone, metal and
water tests inside it see what they would see on the whole CT, so a pocket found in a
box is the pocket the whole-CT search finds; after two growths, or when the water over a
coarse pocket is twice its size, the whole CT is searched instead. A pocket that no coarse pocket overlaps is not found: none was missed on 49
cases at 0.3-3 mm (13 clinical expander cases, 52 pockets; docs/performance.md, where
the 512x512x400 CT's search went from 15 s to about 1.5 s).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import overload

import edt
import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L
from twinsep.segment.morph import fill_holes
from twinsep.volume import Volume, apply_affine

logger = logging.getLogger(__name__)

#: Threads of the ``edt`` distance transforms (the machine has 2 cores).
_EDT_THREADS = 1


@dataclass(frozen=True)
class ImplantParams:
    """Numbers of the existing-expander rule (:func:`find_expanders`).

    Attributes
    ----------
    water_low_hu, water_high_hu : float
        Water band of the median-filtered CT, HU (-30, 30): saline is about 0-10 HU;
        fat lies near -100 and muscle/skin at 40-60 HU, so the band keeps 30 HU from
        each at the noise of a median of 27 voxels (15 HU noise -> about 4 HU).
    median_size_vx : int
        Edge of the cubic median filter, voxels (3).
    min_volume_ml, max_volume_ml : float
        Plausible pocket volume, mL (15, 1000): scalp expanders are 50-500 mL at
        their end fill (NOTES.md; an early fill is smaller); an eye is 3-7 mL.
    min_thickness_mm : float
        Twice the largest inscribed radius of the pocket at least this, mm (12: a
        50 mL infant expander is 22-26 mm high; an adult scalp is 5-8 mm thick).
    core_depth_mm, min_core_share : float
        At least ``min_core_share`` (0.1) of the pocket lies deeper than
        ``core_depth_mm`` (4 mm) inside it: a balloon is compact; a sheet of scalp or
        oedema whose partial-volume mix of fat and skin reads as water is not (real
        CT scalp sheets: 1 %; a flat 54 mL infant expander on a 1.2 mm grid: 19 %).
    min_interior_share : float
        At least this share (0.3) of the pocket's voxels have all six face
        neighbours in it, at the grid's own resolution: a balloon is a solid blob
        (expanders of the blind clinical phantom: 0.53-0.75 on 3 mm and 1.2 mm
        grids); a fringe of tissue whose median dips into the water band under
        strong correlated noise is not (blind at130 30 HU correlated: 0.10, 26 mL).
    bone_gap_mm : float
        Wall voxels this close to bone lie on the skull, mm (6: silicone shell,
        pericranium and a voxel of partial volume).
    min_bone_share : float
        Least share of the wall within ``bone_gap_mm`` of bone (0.05): an expander's
        base lies on the skull.
    max_bone_share : float
        Largest share of the wall within ``bone_gap_mm`` of bone (0.8): a fluid-filled
        sinus or orbit is walled by bone (a water ball in bone: 1.0); an expander's
        dome rises from the skull under the scalp (0.2-0.61 on the blind clinical
        phantom, the flattest 54 mL on a 1.2 mm grid the highest).
    max_air_share : float
        Largest share of the wall next to background (0.05): covered by scalp.
    max_cavity_share : float
        Largest share of the wall that is brain, CSF or vessel (0.1: on a 3 mm grid
        an infant skull is one voxel and the wall reaches the cavity in places; 3 %
        under a 50 mL expander).
    metal_hu : float
        A port's metal needle stop: CT at or above this, HU (2500; dense cortical
        bone stays below about 2000, metal is clipped at the scale's top, 3071).
    port_search_mm : float
        Metal this close to the pocket's wall is its port, mm (30: remote ports sit
        just beyond the rim).
    coarse_voxel_mm : float
        On grids finer than this the search runs first on blocks at least this big,
        mm (1.5: a pocket is >= 15 mL and >= 12 mm thick, eight 1.5 mm blocks across;
        a 512x512x400 CT of 0.3-0.75 mm voxels is searched on 1.5-2.2 mm blocks).
    """

    water_low_hu: float = -30.0
    water_high_hu: float = 30.0
    median_size_vx: int = 3
    min_volume_ml: float = 15.0
    max_volume_ml: float = 1000.0
    min_thickness_mm: float = 12.0
    core_depth_mm: float = 4.0
    min_core_share: float = 0.1
    min_interior_share: float = 0.3
    bone_gap_mm: float = 6.0
    min_bone_share: float = 0.05
    max_bone_share: float = 0.8
    max_air_share: float = 0.05
    max_cavity_share: float = 0.1
    metal_hu: float = 2500.0
    port_search_mm: float = 30.0
    coarse_voxel_mm: float = 1.5


@dataclass(frozen=True)
class ExistingExpander:
    """One tissue expander found in the CT.

    Attributes
    ----------
    twin : str
        "A" or "B" (the twin holding most of the pocket).
    volume_ml : float
        Pocket volume (saline and about half the shell), mL.
    centroid_mm : (x, y, z)
        World centroid (RAS mm) of the pocket.
    height_mm : float
        Largest distance of the pocket from bone, mm (the dome's height above the skull).
    port_mm : (x, y, z) or None
        World position of the nearest metal spot (the port), or None.
    port_distance_mm : float or None
        Its distance from the pocket, mm.
    box : tuple of (start, stop)
        Index bounds of the pocket per array axis.
    mask : ndarray of bool
        The pocket inside ``box``.
    """

    twin: str
    volume_ml: float
    centroid_mm: tuple[float, float, float]
    height_mm: float
    port_mm: tuple[float, float, float] | None
    port_distance_mm: float | None
    box: tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
    mask: np.ndarray = field(repr=False, compare=False)


def expander_mask(expanders: tuple[ExistingExpander, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Boolean mask (array ``shape``) of every expander's pocket."""
    out = np.zeros(shape, dtype=bool)
    for e in expanders:
        sl = tuple(slice(a, b) for a, b in e.box)
        out[sl] |= e.mask
    return out


def expander_cover_mask(
    expanders: tuple[ExistingExpander, ...],
    labels: Volume,
    *,
    cover_mm: float = 6.0,
) -> np.ndarray:
    """The expanders' pockets and the soft tissue within ``cover_mm`` of them (bool).

    The scalp stretched over a balloon (a few mm), its silicone shell and the rim
    where the dome meets the scalp: what an expander adds to the head's outline.
    ``cover_mm`` (6) is two voxels of a 3 mm grid; bone, brain, CSF and vessels are
    never included.
    """
    pocket = expander_mask(expanders, labels.shape)
    if not pocket.any():
        return pocket
    near = edt.edt(~pocket, anisotropy=labels.spacing_mm, black_border=False, parallel=_EDT_THREADS)
    return pocket | ((near <= cover_mm) & (labels.array == L.SOFT_TISSUE))


def saline_ml(expanders: tuple[ExistingExpander, ...]) -> dict[str, float]:
    """Total pocket volume per twin, ``{"A": mL, "B": mL}``."""
    out = {"A": 0.0, "B": 0.0}
    for e in expanders:
        out[e.twin] = out.get(e.twin, 0.0) + e.volume_ml
    return out


def find_expanders(
    ct: Volume,
    labels: Volume,
    twins: Volume,
    *,
    params: ImplantParams = ImplantParams(),
) -> tuple[ExistingExpander, ...]:
    """Saline-filled tissue expanders under the scalp (see the module docstring).

    Parameters
    ----------
    ct : Volume
        The CT, HU.
    labels : Volume
        Tissue labels 0..5 (DESIGN.md) on the CT's grid.
    twins : Volume
        Owners 0/1/2 on the same grid.
    params : ImplantParams

    Returns
    -------
    tuple of ExistingExpander
        Largest first; empty when the CT holds none.

    Raises
    ------
    ValueError
        The three volumes are not on one grid.
    """
    if not (labels.same_grid(twins) and ct.shape == labels.shape):
        raise ValueError("ct, labels and twins are not on the same grid")
    grid = _Grid(ct.array, labels.array, twins.array, labels.affine, labels.spacing_mm, params)
    if grid.extent is None:
        return ()
    stride = tuple(max(1, int(np.ceil(params.coarse_voxel_mm / sp - 1e-6))) for sp in grid.spacing)
    boxes: list[tuple[tuple[slice, slice, slice], _Seed | None]]
    if stride == (1, 1, 1):
        boxes = [(grid.soft_box(), None)]
    else:
        boxes = list(_coarse_boxes(grid, stride))
    found: dict[tuple[tuple[int, int], ...], ExistingExpander] = {}
    for box, seed in boxes:
        res = _search(grid, box, seed)
        if res is None:
            # the water round a coarse pocket reaches far beyond it (a scalp sheet):
            # the search of the whole CT, once, instead of growing box after box
            logger.debug("expander search: the whole soft tissue at full resolution")
            found = {e.box: e for e in _search(grid, grid.soft_box())}
            break
        for e in res:
            found.setdefault(e.box, e)
    return tuple(sorted(found.values(), key=lambda e: -e.volume_ml))


@dataclass(frozen=True)
class _Grid:
    """The arrays of one search (full or block-reduced) and what they share."""

    hu: np.ndarray
    lab: np.ndarray
    tw: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]
    params: ImplantParams

    def soft_in(self, box: tuple[slice, ...]) -> np.ndarray:
        """The twins' soft tissue in ``box`` (bool)."""
        return (self.lab[box] == L.SOFT_TISSUE) & (self.tw[box] > 0)

    @cached_property
    def extent(self) -> tuple[np.ndarray, np.ndarray] | None:
        """First and last index of the twins along each axis (None: no twin)."""
        body = self.tw.max(axis=2) > 0
        if not body.any():
            return None
        return _extent_2d(body, self.tw.max(axis=(0, 1)) > 0)

    def soft_box(self) -> tuple[slice, slice, slice]:
        """The twins' box plus the median's reach and the port search."""
        p = self.params
        reach = int(np.ceil(p.port_search_mm / min(self.spacing))) + p.median_size_vx
        ext = self.extent
        assert ext is not None
        first, last = ext
        lo = np.maximum(first - reach, 0)
        hi = np.minimum(last + reach + 1, self.lab.shape)
        return _slices(lo, hi)


def _extent_2d(p01: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last index along each axis of a mask given by its projections
    ``p01`` (on axes 0, 1) and ``p2`` (on axis 2)."""
    hits = (np.flatnonzero(p01.any(axis=1)), np.flatnonzero(p01.any(axis=0)), np.flatnonzero(p2))
    return np.array([int(h[0]) for h in hits]), np.array([int(h[-1]) for h in hits])


def _slices(lo: np.ndarray, hi: np.ndarray) -> tuple[slice, slice, slice]:
    return (
        slice(int(lo[0]), int(hi[0])),
        slice(int(lo[1]), int(hi[1])),
        slice(int(lo[2]), int(hi[2])),
    )


def _coarse_params(params: ImplantParams, edge_mm: float) -> ImplantParams:
    """The rule loosened for blocks of largest edge ``edge_mm`` (a superset of pockets).

    A block mean already averages like the median, so no median; volumes and shares
    are halved or doubled, depths and gaps moved by a block edge, the walled-by-bone
    test dropped. Measured on the blind clinical 1.2 mm cases, the 512x512x400 phantom
    and the real CT (docs/performance.md): every full-resolution pocket has a coarse
    one, and the scalp sheets that are no pockets are dropped (interior 6-12 %).
    """
    return replace(
        params,
        median_size_vx=1,
        min_volume_ml=params.min_volume_ml / 2.0,
        max_volume_ml=params.max_volume_ml * 2.0,
        min_thickness_mm=max(params.min_thickness_mm - 2.0 * edge_mm, 0.0),
        core_depth_mm=max(params.core_depth_mm - edge_mm, 0.0),
        min_core_share=params.min_core_share / 2.0,
        min_interior_share=params.min_interior_share / 2.0,
        bone_gap_mm=params.bone_gap_mm + edge_mm,
        min_bone_share=params.min_bone_share / 2.0,
        max_bone_share=1.0,
        max_air_share=min(3.0 * params.max_air_share, 1.0),
        max_cavity_share=min(2.0 * params.max_cavity_share, 1.0),
    )


def _coarse_boxes(
    grid: _Grid, stride: tuple[int, ...]
) -> list[tuple[tuple[slice, slice, slice], _Seed]]:
    """The pockets found on ``stride`` blocks: full-resolution boxes and seeds."""
    s = np.array(stride)
    ext = grid.extent
    assert ext is not None
    first, last = ext
    # the soft tissue's box and a block and the bone gap round it, on block edges
    margin = s + np.ceil(grid.params.bone_gap_mm / np.array(grid.spacing)).astype(int)
    lo = np.maximum(first - margin, 0) // s * s
    hi = np.minimum(last + margin + 1, grid.lab.shape)
    # whole blocks only: at the CT's edge up to a block less (the margin is a block)
    n = np.minimum(-(-(hi - lo) // s), (np.array(grid.lab.shape) - lo) // s)
    if np.any(n < 1):
        return []
    box = _slices(lo, lo + n * s)
    off = (s - 1) // 2
    hu = grid.hu[box].reshape(n[0], s[0], n[1], s[1], n[2], s[2])
    hu_c = hu.mean(axis=(1, 3, 5), dtype=np.float32)
    lab_c = np.ascontiguousarray(grid.lab[box][off[0] :: s[0], off[1] :: s[1], off[2] :: s[2]])
    tw_c = np.ascontiguousarray(grid.tw[box][off[0] :: s[0], off[1] :: s[1], off[2] :: s[2]])
    scale = np.diag([*s.astype(np.float64), 1.0])
    scale[:3, 3] = lo + off
    spacing_c = tuple(float(v) for v in np.array(grid.spacing) * s)
    coarse = _Grid(
        hu_c,
        lab_c,
        tw_c,
        grid.affine @ scale,
        (spacing_c[0], spacing_c[1], spacing_c[2]),
        _coarse_params(grid.params, max(spacing_c)),
    )
    if coarse.extent is None:
        return []
    out = []
    pad = s + np.ceil(grid.params.bone_gap_mm / np.array(grid.spacing)).astype(int) + 2
    for e in _search(coarse, coarse.soft_box()):
        b0 = np.array([a for a, _ in e.box]) * s + lo
        b1 = np.array([b for _, b in e.box]) * s + lo
        full = e.mask
        for axis in range(3):
            full = np.repeat(full, s[axis], axis=axis)
        box_f = _slices(np.maximum(b0 - pad, 0), np.minimum(b1 + pad, grid.lab.shape))
        out.append((box_f, (full, b0)))
        logger.debug("coarse pocket of %.1f mL: full-resolution search in %s", e.volume_ml, box_f)
    return out


#: A coarse pocket at full resolution: its mask and the index of its first voxel.
_Seed = tuple[np.ndarray, np.ndarray]


#: Times a seeded search box may grow before the whole CT is searched instead.
_MAX_GROWTH = 2


class _SearchWhole(Exception):
    """A seeded search gives up: the whole CT is to be searched."""


@overload
def _search(grid: _Grid, box: tuple[slice, slice, slice]) -> list[ExistingExpander]: ...


@overload
def _search(
    grid: _Grid, box: tuple[slice, slice, slice], seed: _Seed | None
) -> list[ExistingExpander] | None: ...


def _search(
    grid: _Grid, box: tuple[slice, slice, slice], seed: _Seed | None = None
) -> list[ExistingExpander] | None:
    """The pockets of :func:`find_expanders` whose water lies in ``box``.

    With a ``seed`` (a coarse pocket) only the water pieces that overlap it are
    tested. The box grows until none of them that may be a pocket (at most
    ``max_volume_ml`` inside the box) touches one of its faces inside the CT, and
    until the bone within ``bone_gap_mm`` of each pocket's wall and the nearest bone
    of each pocket voxel lie in it; the pockets are then those a search of the whole
    CT finds. None when a seeded box would grow more than ``_MAX_GROWTH`` times, or
    when a piece over the seed holds twice the seed's voxels inside the box.
    """
    shape = np.array(grid.lab.shape)
    grown = 0
    while True:
        try:
            found, grow = _search_once(grid, box, seed)
        except _SearchWhole:
            return None
        if grow is None:
            return found
        grown += 1
        if seed is not None and grown > _MAX_GROWTH:
            return None
        lo = np.minimum([b.start for b in box], grow[0])
        hi = np.maximum([b.stop for b in box], grow[1])
        new = _slices(np.maximum(lo, 0), np.minimum(hi, shape))
        if new == box:  # pragma: no cover - a grow request always widens the box
            raise RuntimeError("expander search box did not grow")
        logger.debug("expander search box %s grows to %s", box, new)
        box = new


def _search_once(
    grid: _Grid, box: tuple[slice, slice, slice], seed: _Seed | None
) -> tuple[list[ExistingExpander], tuple[np.ndarray, np.ndarray] | None]:
    """One pass of the rule in ``box``; the pockets, or a box to grow to."""
    params = grid.params
    spacing = grid.spacing
    sp = np.array(spacing)
    shape = np.array(grid.lab.shape)
    lo = np.array([b.start for b in box])
    hi = np.array([b.stop for b in box])
    vox_ml = float(np.prod(sp)) / 1000.0
    # the water test and the skin layer need a few voxels of context beyond the box
    ctx = params.median_size_vx // 2 + 1
    elo = np.maximum(lo - ctx, 0)
    ehi = np.minimum(hi + ctx, shape)
    ebox = _slices(elo, ehi)
    inner = _slices(lo - elo, hi - elo)
    hu_e = np.asarray(grid.hu[ebox], dtype=np.float32)
    soft_e = grid.soft_in(ebox)
    water_all = _median_in_band(
        hu_e, soft_e, params.median_size_vx, params.water_low_hu, params.water_high_hu
    )
    # the skin's partial-volume layer (air to tissue passes through the water band)
    water = (water_all & ~ndi.binary_dilation(grid.lab[ebox] == L.BACKGROUND))[inner]
    water_all = water_all[inner]
    pieces, n = ndi.label(water)
    if n == 0:
        return [], None
    sizes = np.bincount(pieces.ravel(), minlength=n + 1)
    candidates = range(1, n + 1) if seed is None else _overlapping(pieces, lo, seed)
    # a pocket only grows when its holes are filled, so a piece already above the
    # largest volume is no expander either (a whole scalp reading as water)
    keep = [
        k for k in candidates if params.min_volume_ml <= sizes[k] * vox_ml <= params.max_volume_ml
    ]
    objects = ndi.find_objects(pieces)
    # faces of the box inside the CT: a piece on one may go on beyond it
    open_lo = lo > 0
    open_hi = hi < shape
    grow_lo = lo.copy()
    grow_hi = hi.copy()
    need_grow = False
    for k in candidates:
        if sizes[k] * vox_ml > params.max_volume_ml:
            continue
        sl = objects[k - 1]
        assert sl is not None
        a0 = np.array([x.start for x in sl])
        a1 = np.array([x.stop for x in sl])
        cut = (open_lo & (a0 == 0)) | (open_hi & (a1 == hi - lo))
        if cut.any():
            logger.debug(
                "water piece of %.1f mL at %s-%s reaches the search box's side",
                sizes[k] * vox_ml,
                a0 + lo,
                a1 + lo,
            )
            if seed is not None and sizes[k] > 2 * int(np.count_nonzero(seed[0])):
                # twice the coarse pocket already: not the balloon the blocks saw but
                # water it touches (a scalp sheet); growing box after box ends in the
                # whole CT (the coarse pockets are 0.82-0.93 of the full ones)
                raise _SearchWhole
            # part of a larger piece: look at more of it (and the bone gap round it)
            reach = np.ceil(params.bone_gap_mm / sp).astype(int) + 2 + (hi - lo)
            grow_lo = np.where(open_lo & (a0 == 0), np.minimum(grow_lo, lo - reach), grow_lo)
            grow_hi = np.where(open_hi & (a1 == hi - lo), np.maximum(grow_hi, hi + reach), grow_hi)
            need_grow = True
    if need_grow:
        return [], (grow_lo, grow_hi)
    if not keep:
        return [], None
    lab_b = grid.lab[box]
    tw_b = grid.tw[box]
    soft_b = soft_e[inner]
    bone = lab_b == L.BONE
    d_bone = (
        edt.edt(~bone, anisotropy=spacing, black_border=False, parallel=_EDT_THREADS)
        if bone.any()
        else np.full(bone.shape, np.inf, dtype=np.float32)
    )
    found: list[ExistingExpander] = []
    for k in keep:
        sl = objects[k - 1]
        assert sl is not None
        # one voxel of margin for the wall
        sl = tuple(
            slice(max(s.start - 1, 0), min(s.stop + 1, dim))
            for s, dim in zip(sl, pieces.shape, strict=True)
        )
        # the bone distances of the wall are the CT's when the bone gap lies in the box
        room = _room_mm(sl, lo, hi, open_lo, open_hi, sp)
        if room < params.bone_gap_mm:
            a0 = np.array([x.start for x in sl]) + lo
            a1 = np.array([x.stop for x in sl]) + lo
            r = np.ceil(params.bone_gap_mm / sp).astype(int) + 2
            return [], (a0 - r, a1 + r)
        # noise holes inside the pocket are its own (soft tissue only: a closed sheet
        # round the skull would otherwise fill with the head)
        m = fill_holes(pieces[sl] == k) & soft_b[sl]
        ml = float(m.sum() * vox_ml)
        why = _reject(m, sl, ml, lab_b, d_bone, spacing, params)
        if why is not None:
            logger.debug("water pocket of %.1f mL is not an expander: %s", ml, why)
            continue
        # water voxels next to the air that touch the pocket are its rim again
        m = m | (ndi.binary_dilation(m) & water_all[sl])
        ml = float(m.sum() * vox_ml)
        height = float(d_bone[sl][m].max())
        if height > room:
            # the nearest bone of some pocket voxel may lie beyond the box: within
            # ``height`` of the pocket, at any rate
            height = _height_mm(grid, m, np.array([x.start for x in sl]) + lo, height)
        owners = np.bincount(tw_b[sl][m], minlength=3)
        twin = L.TWIN_NAMES[int(np.argmax(owners[1:3])) + 1]
        where = np.argwhere(m) + np.array([s.start for s in sl]) + lo
        pts = apply_affine(grid.affine, where)
        centroid = pts.mean(axis=0)
        port_mm, port_d = _port(grid, sl, lo, pts)
        bounds = tuple((int(s.start + o), int(s.stop + o)) for s, o in zip(sl, lo, strict=True))
        found.append(
            ExistingExpander(
                twin=twin,
                volume_ml=round(ml, 1),
                centroid_mm=_triple(centroid),
                height_mm=round(height, 1),
                port_mm=port_mm,
                port_distance_mm=port_d,
                box=bounds,  # type: ignore[arg-type]
                mask=m,
            )
        )
    return found, None


def _height_mm(grid: _Grid, m: np.ndarray, origin: np.ndarray, bound_mm: float) -> float:
    """Largest distance to bone of the pocket ``m`` (first voxel at ``origin``), mm.

    The pocket's nearest bone lies within ``bound_mm`` of it (a distance found in a
    smaller box, never shorter than the CT's), so the box of ``m`` grown by it holds it.
    """
    sp = np.array(grid.spacing)
    r = np.ceil(bound_mm / sp).astype(int) + 1
    a0 = np.maximum(origin - r, 0)
    a1 = np.minimum(origin + np.array(m.shape) + r, grid.lab.shape)
    bone = grid.lab[_slices(a0, a1)] == L.BONE
    d = edt.edt(~bone, anisotropy=grid.spacing, black_border=False, parallel=_EDT_THREADS)
    return float(d[_slices(origin - a0, origin - a0 + np.array(m.shape))][m].max())


def _overlapping(pieces: np.ndarray, lo: np.ndarray, seed: _Seed) -> list[int]:
    """Labels of ``pieces`` (its first voxel at index ``lo``) that overlap ``seed``."""
    mask, origin = seed
    a0 = np.maximum(origin, lo)
    a1 = np.minimum(origin + np.array(mask.shape), lo + np.array(pieces.shape))
    if np.any(a1 <= a0):
        return []
    sub = pieces[_slices(a0 - lo, a1 - lo)][mask[_slices(a0 - origin, a1 - origin)]]
    return [int(k) for k in np.unique(sub) if k]


def _room_mm(
    sl: tuple[slice, ...],
    lo: np.ndarray,
    hi: np.ndarray,
    open_lo: np.ndarray,
    open_hi: np.ndarray,
    sp: np.ndarray,
) -> float:
    """Distance from the box ``sl`` (box coordinates) to the box's faces inside the CT, mm."""
    room = np.inf
    for a, s in enumerate(sl):
        if open_lo[a]:
            room = min(room, s.start * sp[a])
        if open_hi[a]:
            room = min(room, (hi[a] - lo[a] - s.stop) * sp[a])
    return float(room)


def _port(
    grid: _Grid, sl: tuple[slice, ...], lo: np.ndarray, pts: np.ndarray
) -> tuple[tuple[float, float, float] | None, float | None]:
    """The nearest metal within ``port_search_mm`` of the pocket ``pts``, and its distance."""
    from scipy.spatial import cKDTree

    params = grid.params
    sp = np.array(grid.spacing)
    r = np.ceil(params.port_search_mm / sp).astype(int) + 1
    a0 = np.maximum(np.array([s.start for s in sl]) + lo - r, 0)
    a1 = np.minimum(np.array([s.stop for s in sl]) + lo + r, grid.lab.shape)
    metal = np.asarray(grid.hu[_slices(a0, a1)]) >= params.metal_hu
    if not metal.any():
        return None, None
    metal_pts = apply_affine(grid.affine, np.argwhere(metal) + a0)
    dist, _ = cKDTree(pts).query(metal_pts)
    j = int(np.argmin(dist))
    if dist[j] > params.port_search_mm:
        return None, None
    return _triple(metal_pts[j]), round(float(dist[j]), 1)


def _median_in_band(
    hu: np.ndarray, where: np.ndarray, size: int, low_hu: float, high_hu: float
) -> np.ndarray:
    """Voxels of ``where`` whose ``size``^3 median (edges repeated) lies in [low, high].

    The same voxels as ``where & (low <= m) & (m <= high)`` with
    ``m = scipy.ndimage.median_filter(hu, size, mode="nearest")``, found without
    sorting: the median of an odd number ``n`` of values is at most ``high`` exactly
    when more than ``n // 2`` of them are, and at least ``low`` exactly when more than
    ``n // 2`` of them are, so two box counts decide it (a 512x512x400 CT: about 2 s
    instead of 17 s for the medians of its 14 M soft-tissue voxels).

    Raises
    ------
    ValueError
        ``size`` is even (the median would be a mean of two values) or above 5.
    """
    if size % 2 == 0 or not 1 <= size <= 5:
        raise ValueError(f"median size must be odd and at most 5 voxels, not {size}")
    half = size**3 // 2
    ones = np.ones(size, dtype=np.uint8)

    def count(mask: np.ndarray) -> np.ndarray:
        c = mask.view(np.uint8) if mask.dtype == np.bool_ else mask.astype(np.uint8)
        for axis in range(3):
            c = ndi.correlate1d(c, ones, axis=axis, mode="nearest")
        return c

    return where & (count(hu <= high_hu) > half) & (count(hu >= low_hu) > half)


def _triple(v: np.ndarray) -> tuple[float, float, float]:
    return (round(float(v[0]), 1), round(float(v[1]), 1), round(float(v[2]), 1))


def _reject(
    m: np.ndarray,
    sl: tuple[slice, ...],
    ml: float,
    lab_b: np.ndarray,
    d_bone: np.ndarray,
    spacing: tuple[float, float, float],
    params: ImplantParams,
) -> str | None:
    """Why the pocket ``m`` (in box ``sl``) is not an expander, or None."""
    if ml > params.max_volume_ml:
        return f"{ml:.0f} mL > {params.max_volume_ml:.0f} mL"
    inner = edt.edt(m, anisotropy=spacing, black_border=True, parallel=_EDT_THREADS)
    thick = 2.0 * float(inner.max())
    if thick < params.min_thickness_mm:
        return f"{thick:.1f} mm thick < {params.min_thickness_mm:.1f} mm"
    n_vox = max(int(m.sum()), 1)
    interior = float(np.count_nonzero(ndi.binary_erosion(m))) / n_vox
    if interior < params.min_interior_share:
        return f"{100 * interior:.0f} % of its voxels are inside it (a fringe, not a balloon)"
    core = float(np.count_nonzero(inner > params.core_depth_mm)) / n_vox
    if core < params.min_core_share:
        return (
            f"{100 * core:.0f} % of it lies deeper than {params.core_depth_mm:.0f} mm "
            "(a sheet, not a balloon)"
        )
    wall = ndi.binary_dilation(m) & ~m
    n_wall = max(int(wall.sum()), 1)
    wl = lab_b[sl][wall]
    air = float(np.count_nonzero(wl == L.BACKGROUND)) / n_wall
    if air > params.max_air_share:
        return f"{100 * air:.0f} % of its wall is air (not under the scalp)"
    cav = float(np.count_nonzero(np.isin(wl, (L.BRAIN, L.CSF, L.VESSEL)))) / n_wall
    if cav > params.max_cavity_share:
        return f"{100 * cav:.0f} % of its wall is brain, CSF or vessel (inside the skull)"
    on_bone = float(np.count_nonzero(d_bone[sl][wall] <= params.bone_gap_mm)) / n_wall
    if on_bone < params.min_bone_share:
        return f"{100 * on_bone:.0f} % of its wall is on the skull"
    if on_bone > params.max_bone_share:
        return f"{100 * on_bone:.0f} % of its wall is on bone (walled by bone)"
    logger.debug(
        "pocket of %.1f mL: %.2f of its wall on bone, %.0f %% core", ml, on_bone, 100 * core
    )
    return None
