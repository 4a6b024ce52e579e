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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

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
    lab = labels.array
    tw = twins.array
    soft = (lab == L.SOFT_TISSUE) & (tw > 0)
    if not soft.any():
        return ()
    spacing = labels.spacing_mm
    vox_ml = labels.voxel_volume_mm3 / 1000.0
    # work in the soft tissue's box (plus the median's reach and the port search)
    reach = int(np.ceil(params.port_search_mm / min(spacing))) + params.median_size_vx
    first = []
    last = []
    for axis in range(3):
        hit = np.flatnonzero(soft.any(axis=tuple(a for a in range(3) if a != axis)))
        first.append(int(hit[0]))
        last.append(int(hit[-1]))
    lo = np.maximum(np.array(first) - reach, 0)
    hi = np.minimum(np.array(last) + reach + 1, lab.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    hu = np.asarray(ct.array[box], dtype=np.float32)
    soft_box = soft[box]
    water_all = _median_in_band(
        hu, soft_box, params.median_size_vx, params.water_low_hu, params.water_high_hu
    )
    # the skin's partial-volume layer (air to tissue passes through the water band)
    water = water_all & ~ndi.binary_dilation(lab[box] == L.BACKGROUND)
    pieces, n = ndi.label(water)
    if n == 0:
        return ()
    sizes = np.bincount(pieces.ravel(), minlength=n + 1)
    # a pocket only grows when its holes are filled, so a piece already above the
    # largest volume is no expander either (a whole scalp reading as water)
    keep = [
        k
        for k in range(1, n + 1)
        if params.min_volume_ml <= sizes[k] * vox_ml <= params.max_volume_ml
    ]
    if not keep:
        return ()
    lab_b = lab[box]
    tw_b = tw[box]
    soft_b = soft[box]
    bone = lab_b == L.BONE
    d_bone = (
        edt.edt(~bone, anisotropy=spacing, black_border=False, parallel=_EDT_THREADS)
        if bone.any()
        else np.full(bone.shape, np.inf, dtype=np.float32)
    )
    metal = hu >= params.metal_hu
    metal_pts = apply_affine(labels.affine, np.argwhere(metal) + lo) if metal.any() else None
    found: list[ExistingExpander] = []
    objects = ndi.find_objects(pieces)
    for k in keep:
        sl = objects[k - 1]
        assert sl is not None
        # one voxel of margin for the wall
        sl = tuple(
            slice(max(s.start - 1, 0), min(s.stop + 1, dim))
            for s, dim in zip(sl, pieces.shape, strict=True)
        )
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
        owners = np.bincount(tw_b[sl][m], minlength=3)
        twin = L.TWIN_NAMES[int(np.argmax(owners[1:3])) + 1]
        where = np.argwhere(m) + np.array([s.start for s in sl]) + lo
        pts = apply_affine(labels.affine, where)
        centroid = pts.mean(axis=0)
        height = float(d_bone[sl][m].max())
        port_mm: tuple[float, float, float] | None = None
        port_d: float | None = None
        if metal_pts is not None:
            from scipy.spatial import cKDTree

            dist, near = cKDTree(pts).query(metal_pts)
            j = int(np.argmin(dist))
            if dist[j] <= params.port_search_mm:
                port_mm = _triple(metal_pts[j])
                port_d = round(float(dist[j]), 1)
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
    found.sort(key=lambda e: -e.volume_ml)
    return tuple(found)


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
