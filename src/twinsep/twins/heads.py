"""Find the two heads of a craniopagus in a tissue label map."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L
from twinsep.errors import AnatomyError
from twinsep.segment import morph
from twinsep.twins.params import TwinParams

INTRACRANIAL = (L.BRAIN, L.CSF, L.VESSEL)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeadCores:
    """Two deep cores of the cranial cavity, one per head, on a coarse grid.

    Attributes
    ----------
    core_a, core_b : ndarray of bool
        Core voxels of the first and second head (coarse grid).
    depth_mm : float
        Deepest point of the cavity (mm from its wall).
    fraction : float
        Fraction of ``depth_mm`` at which the cavity split into two cores.
    """

    core_a: np.ndarray
    core_b: np.ndarray
    depth_mm: float
    fraction: float


def check_touching(
    tissue_c: np.ndarray, ic_c: np.ndarray, vx_ml: float, params: TwinParams, src: str
) -> None:
    """Refuse two heads that do not touch (two separate bodies each with a cavity)."""
    lab, sizes = morph.component_sizes(tissue_c)
    heads = 0
    for i in np.argsort(sizes)[::-1][:4]:
        piece = lab == (i + 1)
        if float((ic_c & piece).sum()) * vx_ml >= params.min_head_ml:
            heads += 1
    if heads >= 2:
        raise AnatomyError(
            src,
            "shows two heads that do not touch: these are not craniopagus twins "
            "(nothing to separate); plan each child on its own",
        )


def fill_specks(ic_c: np.ndarray, csp: morph.Spacing, params: TwinParams) -> np.ndarray:
    """The cavity with its small holes filled (each at most ``params.max_speck_ml``).

    A speck inside the cavity (a calcification, a deep vessel at partial volume labelled
    bone) is not a wall, but it cuts the depth below the wall around it: four 2-voxel
    specks cut a blind phantom's depth peaks from 41 to 31 mm and hid the saddle between
    its heads. Larger enclosed pieces stay: where the cavity has leaked around the skull
    base into the neck, filling the enclosed base merged a head with its neck.
    """
    holes = morph.fill_holes(ic_c) & ~ic_c
    if not holes.any():
        return ic_c
    lab, sizes = morph.component_sizes(holes, 6)
    vx_ml = float(np.prod(csp)) / 1000.0
    small = np.concatenate([[False], sizes * vx_ml <= params.max_speck_ml])
    return ic_c | small[lab]


def find_head_cores(
    ic_c: np.ndarray, csp: morph.Spacing, params: TwinParams, src: str
) -> HeadCores:
    """Split the cranial cavity into two deep cores by thresholding its depth map.

    On a grid coarser than ``params.fine_depth_mm`` the split is made on a twice finer,
    smoothed copy of the cavity (:func:`_refine`) and the cores are brought back to the
    coarse grid (a coarse block is core when any of its eight fine blocks is).

    Raises
    ------
    AnatomyError
        If the cavity is one head (no second deep core) or is missing.
    """
    vx_ml = float(np.prod(csp)) / 1000.0
    if float(ic_c.sum()) * vx_ml < params.min_head_ml:
        raise AnatomyError(
            src,
            f"has no cranial cavity of at least {params.min_head_ml:.0f} mL: no head was found",
        )
    hit = np.argwhere(ic_c)
    lo = np.maximum(hit.min(axis=0) - 1, 0)
    hi = np.minimum(hit.max(axis=0) + 2, ic_c.shape)
    coarse = max(csp) > params.fine_depth_mm * (1.0 + 1e-6)
    if not coarse or 8 * int(np.prod(hi - lo)) > params.max_coarse_voxels:
        return _split_cavity(ic_c, csp, params, src)
    # a coarse grid: split a twice finer, smoothed copy of the cavity's bounding box
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    fine = _refine(ic_c[box])
    cores = _split_cavity(fine, tuple(c / 2.0 for c in csp), params, src)  # type: ignore[arg-type]
    out = []
    for core in (cores.core_a, cores.core_b):
        n0, n1, n2 = (k // 2 for k in core.shape)
        full = np.zeros(ic_c.shape, bool)
        full[box] = core.reshape(n0, 2, n1, 2, n2, 2).any(axis=(1, 3, 5))
        out.append(full)
    out[1] &= ~out[0]
    return HeadCores(core_a=out[0], core_b=out[1], depth_mm=cores.depth_mm, fraction=cores.fraction)


def _refine(mask: np.ndarray) -> np.ndarray:
    """The mask on a grid twice as fine, its staircase edge smoothed by half a voxel.

    A Gaussian of half a (coarse) voxel, cell-centred linear upsampling and the 0.5 level:
    the distance map of the result has a much smaller staircase error than the coarse
    mask's own (which is about a quarter of a voxel, as large as the saddle dips that tell
    two heads from one on 3 mm grids).
    """
    smooth = ndi.gaussian_filter(mask.astype(np.float32), 0.5, mode="constant")
    up = ndi.zoom(smooth, 2, order=1, grid_mode=True, mode="grid-constant")
    return np.asarray(up >= 0.5)


def _split_cavity(ic_c: np.ndarray, csp: morph.Spacing, params: TwinParams, src: str) -> HeadCores:
    """:func:`find_head_cores` on one grid (depth thresholds, then the saddle split)."""
    depth = morph.distance_mm(ic_c, csp)
    dmax = float(depth.max())
    for frac in params.core_fractions:
        cores = depth > frac * dmax
        lab, sizes = morph.component_sizes(cores)
        if sizes.size < 2:
            continue
        peak = np.zeros(sizes.size + 1, np.float32)
        np.maximum.at(peak, lab[cores], depth[cores])
        order = np.argsort(peak[1:])[::-1] + 1
        a, b = int(order[0]), int(order[1])
        if peak[b] < params.second_head_min_depth * peak[a]:
            continue
        if float(peak[b]) - frac * dmax < params.min_saddle_dip_mm:
            # a staircase bump just above the level, not a second head: the saddle rule's
            # dip (a 1-voxel piece 0.04 mm above the level passed as head B on a 5 mm grid)
            continue
        ca = np.argwhere(lab == a).mean(axis=0) * np.asarray(csp)
        cb = np.argwhere(lab == b).mean(axis=0) * np.asarray(csp)
        if np.linalg.norm(ca - cb) < params.min_head_separation * dmax:
            continue
        if _waist_ratio(ic_c, csp, ca, cb) > params.max_waist_ratio:
            continue
        # the pieces at the split level reach into the union, one farther than the
        # other as noise has it; the cores are taken higher up, around each peak
        pa = _peak_voxel(depth, lab == a)
        pb = _peak_voxel(depth, lab == b)
        level = frac * dmax + params.core_rise * (float(min(peak[a], peak[b])) - frac * dmax)
        return _cores_at(depth, level, pa, pb, dmax)
    # No fallback on cavity elongation or cross-section profiles: on a single head, a
    # grid shifted by one voxel made them accept it as two (the single-head test).
    saddle = _saddle_split(depth, csp, params)
    if saddle is not None:
        return saddle
    raise AnatomyError(
        src,
        "shows a single head (one cranial cavity, no second head joined to it); "
        "twinsep plans craniopagus twins only",
    )


def _waist_ratio(ic_c: np.ndarray, csp: morph.Spacing, ca: np.ndarray, cb: np.ndarray) -> float:
    """Smallest cross-section of the cavity between two cores over its largest one.

    Cross-sections are slabs one coarse voxel thick perpendicular to the line through
    the cores. Two joined heads narrow at the union (< 1); two depth maxima inside one
    convex cavity do not (the widest section lies between them, ratio 1).
    """
    axis = (cb - ca) / max(float(np.linalg.norm(cb - ca)), 1e-9)
    pts = np.argwhere(ic_c).astype(np.float64) * np.asarray(csp)
    t = (pts - ca) @ axis
    step = max(csp)
    bins = np.arange(t.min(), t.max() + step, step)
    prof, _ = np.histogram(t, bins=bins)
    mid = 0.5 * (bins[1:] + bins[:-1])
    span = float(np.linalg.norm(cb - ca))
    between = (mid >= 0) & (mid <= span)
    if not between.any() or prof.max() == 0:
        return 1.0
    return float(prof[between].min()) / float(prof.max())


def _joined_above(depth: np.ndarray, level: float, a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """True when voxels ``a`` and ``b`` lie in one 26-connected piece of ``depth >= level``."""
    lab = morph.label_components(np.ascontiguousarray(depth >= level), 26)[0]
    return bool(lab[a] != 0 and lab[a] == lab[b])


def _saddle_split(
    depth: np.ndarray, csp: morph.Spacing, params: TwinParams, max_candidates: int = 64
) -> HeadCores | None:
    """Split a strongly merged cavity at the saddle between its two deepest peaks.

    The depth (distance to the cavity wall) of a convex cavity is a concave function:
    its upper level sets are convex and connected, so one head has a single peak. Two
    heads joined widely have two peaks, and any path between them dips below the lower
    one (the union is narrower than either head). The deepest peak is paired with the
    deepest local maximum at least ``min_head_separation`` cavity radii away and at least
    ``second_head_min_depth`` as deep; the pair is two heads when the two peaks are joined
    only at depths ``min_saddle_dip_mm`` or more below the lower peak. The saddle level is
    then found by bisection and each core is the piece of the upper level set halfway
    between the saddle and the lower peak that holds its peak.
    """
    dmax = float(depth.max())
    if dmax <= 0:
        return None
    is_max = (depth == ndi.maximum_filter(depth, size=3)) & (
        depth >= params.second_head_min_depth * dmax
    )
    pts = np.argwhere(is_max)
    vals = depth[is_max]
    order = np.argsort(-vals, kind="stable")
    pts, vals = pts[order], vals[order]
    a = tuple(int(v) for v in pts[0])
    sp = np.asarray(csp, float)
    far = np.linalg.norm((pts - pts[0]) * sp, axis=1) >= params.min_head_separation * dmax
    for p, v in list(zip(pts[far], vals[far], strict=True))[:max_candidates]:
        b = tuple(int(x) for x in p)
        top = float(v)
        if _joined_above(depth, top - params.min_saddle_dip_mm, a, b):
            continue
        lo, hi = 0.0, top - params.min_saddle_dip_mm  # joined at lo, apart at hi
        for _ in range(12):
            mid = 0.5 * (lo + hi)
            if _joined_above(depth, mid, a, b):
                lo = mid
            else:
                hi = mid
        level = hi + params.core_rise * (top - hi)
        logger.debug(
            "cavity peaks %.1f and %.1f mm deep, %.1f mm apart, saddle at %.1f mm",
            float(depth[a]),
            top,
            float(np.linalg.norm((np.asarray(b) - np.asarray(a)) * sp)),
            lo,
        )
        return _cores_at(depth, level, a, b, dmax)
    return None


def _peak_voxel(depth: np.ndarray, piece: np.ndarray) -> tuple[int, ...]:
    """Index of the deepest voxel of ``piece`` (the first one in C order on ties)."""
    return tuple(
        int(v) for v in np.unravel_index(int(np.argmax(np.where(piece, depth, -1.0))), depth.shape)
    )


def _cores_at(
    depth: np.ndarray, level: float, a: tuple[int, ...], b: tuple[int, ...], dmax: float
) -> HeadCores:
    """The pieces of the upper level set ``depth >= level`` holding voxels ``a`` and ``b``."""
    lab = morph.label_components(np.ascontiguousarray(depth >= level), 26)[0]
    if lab[a] == 0 or lab[a] == lab[b]:
        raise RuntimeError(f"level {level:.2f} mm does not hold the two peaks apart")
    return HeadCores(
        core_a=lab == lab[a], core_b=lab == lab[b], depth_mm=dmax, fraction=level / dmax
    )
