"""Minimum wall thickness of a printed part, checked and enforced on the label mask.

Method (the print report states it with its tolerance):

1. A voxel is *covered* when some ball of diameter ``min_wall_mm`` that lies inside the
   mask overlaps it, i.e. it belongs to the morphological opening of the mask by that
   ball. Distances are Euclidean between voxel centres in mm (anisotropic voxels
   honoured). Ball centres are the voxels with no outside voxel closer than the ball
   radius plus half a voxel; they are found by spreading the ball from the outside
   voxels that touch the part, so the work grows with the surface, not the volume.
2. Uncovered voxels are thinner than ``min_wall_mm`` *or* sit on an edge, a corner or a
   one-voxel bump of a thick part (the opening of a box rounds off its edges; on a grid
   every digital surface has such steps). A voxel counts as a **thin wall** only when
   it lies more than ``bump_tolerance_vx`` voxels (the largest voxel size) beyond the
   covered part, i.e. farther than radius + half a voxel + tolerance from every ball
   centre; closer ones are edges and bumps and are left alone. A real thin wall - a
   plate or a strut thinner than ``min_wall_mm`` - extends farther than that from any
   thick part and is found; an object with no thick part at all is thin everywhere.
3. Thin-wall voxels are thickened by dilating them by the ball radius plus half a voxel
   (whole voxels within that distance), which grows a thin wall by about ``min_wall_mm``
   in total and leaves the rest of the part untouched; the check is then run again and
   the voxels still thin are reported (``thin_voxels_after``, 0 in the tests).

The check resolves walls down to the voxel size of the grid it is run on; the label grid
is used (never a coarser one), so the tolerance of the check is one voxel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

__all__ = ["WallCheck", "thin_voxels", "thicken", "describe_method"]


@dataclass(frozen=True)
class WallCheck:
    """Outcome of the wall-thickness check of one part.

    Parameters
    ----------
    min_wall_mm : float
        The thickness required, mm.
    thin_voxels : int
        Voxels of the input mask in walls thinner than ``min_wall_mm`` (edges, corners
        and one-voxel steps within the tolerance are not counted).
    added_ml : float
        Volume added by thickening, mL.
    thin_voxels_after : int
        Thin-wall voxels left after thickening (0 unless the grid is too coarse to tell).
    grid_mm : tuple of float
        Voxel size of the grid the check ran on, mm.
    tolerance_mm : float
        Bump tolerance, mm (``bump_tolerance_vx`` times the largest voxel size).
    """

    min_wall_mm: float
    thin_voxels: int
    added_ml: float
    thin_voxels_after: int
    grid_mm: tuple[float, float, float] = (1.0, 1.0, 1.0)
    tolerance_mm: float = 0.0


def describe_method(check: WallCheck) -> str:
    """One sentence for the print report: how walls were checked and how exact it is."""
    g = " x ".join(f"{s:.2f}" for s in check.grid_mm)
    if min(check.grid_mm) >= check.min_wall_mm:
        return (
            f"walls not checkable on the {g} mm label grid: every voxel is wider than the "
            f"{check.min_wall_mm:g} mm minimum wall, so each part is at least one voxel "
            "thick and no thinner wall can be seen; check thin bone on a finer scan"
        )
    return (
        f"walls checked on the {g} mm label grid: a voxel is in a thin wall when no "
        f"{check.min_wall_mm:g} mm ball inside the part covers it and it lies more than "
        f"{check.tolerance_mm:.2f} mm (one voxel) beyond the parts such balls cover; "
        "edges, corners and one-voxel steps closer than that are not counted; thin walls "
        f"were grown by about {check.min_wall_mm / 2:g} mm on each side and checked again"
    )


def _edt_mm(
    mask: np.ndarray, spacing_mm: tuple[float, float, float], threads: int = 1
) -> np.ndarray:
    """Distance (mm, float32) from each non-zero voxel to the nearest zero voxel."""
    import edt

    return np.asarray(
        edt.edt(
            np.ascontiguousarray(mask),
            anisotropy=tuple(float(s) for s in spacing_mm),
            black_border=False,
            parallel=max(1, int(threads)),
        ),
        dtype=np.float32,
    )


#: Above this many index look-ups the ball centres come from a distance transform
#: instead (very fine grids, where the ball holds hundreds of voxels).
_MAX_LOOKUPS = 200_000_000


def _reach(spacing_mm: tuple[float, float, float], min_wall_mm: float) -> float:
    """R: ball centres need depth >= R and cover the voxels within R (mm)."""
    return 0.5 * float(min_wall_mm) + 0.5 * min(spacing_mm)


def _offsets(
    spacing_mm: tuple[float, float, float], radius_mm: float, *, strict: bool
) -> np.ndarray:
    """Non-zero voxel offsets whose length (mm) is < ``radius_mm`` (``strict``) or
    <= ``radius_mm``, sorted by length; (n, 3) int64."""
    sp = np.asarray(spacing_mm, dtype=np.float64)
    k = np.floor(radius_mm / sp + 1e-9).astype(int)
    g = np.stack(np.meshgrid(*[np.arange(-x, x + 1) for x in k], indexing="ij"), axis=-1).reshape(
        -1, 3
    )
    length = np.linalg.norm(g * sp, axis=1)
    keep = (length < radius_mm - 1e-6) if strict else (length <= radius_mm + 1e-6)
    keep &= length > 0
    order = np.argsort(length[keep], kind="stable")
    return g[keep][order].astype(np.int64)


def _flat(offsets: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
    return offsets @ strides


def _pad(m: np.ndarray, pad: int) -> np.ndarray:
    """Zero-padded copy of ``m`` (as ``np.pad`` with zeros) in one allocation and one
    copy: about half the time of ``np.pad``, which also writes the border (issue 10)."""
    out = np.zeros(tuple(n + 2 * pad for n in m.shape), dtype=m.dtype)
    out[pad:-pad, pad:-pad, pad:-pad] = m
    return out


def _dilate6(m: np.ndarray) -> np.ndarray:
    out = m.copy()
    out[1:] |= m[:-1]
    out[:-1] |= m[1:]
    out[:, 1:] |= m[:, :-1]
    out[:, :-1] |= m[:, 1:]
    out[:, :, 1:] |= m[:, :, :-1]
    out[:, :, :-1] |= m[:, :, 1:]
    return out


def _ball_centres(
    m: np.ndarray, spacing_mm: tuple[float, float, float], big_r: float, threads: int
) -> np.ndarray:
    """Voxels of ``m`` with no outside voxel centre closer than ``big_r`` mm.

    The nearest outside voxel of any voxel touches the part by a face (a step toward
    the voxel from any other outside voxel would be closer), so it is enough to spread
    the ball from the outside voxels that touch the part: work in proportion to the
    surface, not the volume. ``m`` needs a margin of the ball radius.
    """
    ring = _dilate6(m)
    ring ^= m  # the dilation minus m (m is inside it): one pass instead of two
    outer = np.flatnonzero(ring)
    del ring
    offs = _flat(_offsets(spacing_mm, big_r, strict=True), m.shape)
    if outer.size * offs.size > _MAX_LOOKUPS:
        return m & (_edt_mm(m, spacing_mm, threads) >= big_r - 1e-6)
    near = np.zeros(m.size, dtype=bool)
    for off in offs:
        near[outer + off] = True
    return m & ~near.reshape(m.shape)


def _classify(
    mask: np.ndarray,
    spacing_mm: tuple[float, float, float],
    min_wall_mm: float,
    *,
    bump_tolerance_vx: float,
    threads: int,
) -> np.ndarray:
    """Thin-wall voxels of ``mask``: voxels farther than ``R + tolerance`` from every
    ball centre (exact on the voxel grid; see the module notes)."""
    m0 = np.asarray(mask, dtype=bool)
    if min_wall_mm <= 0 or not m0.any():
        return np.zeros(m0.shape, dtype=bool)
    big_r = _reach(spacing_mm, min_wall_mm)
    tol = float(bump_tolerance_vx) * max(spacing_mm)
    cover = _offsets(spacing_mm, big_r + tol, strict=False)
    pad = int(np.abs(cover).max(initial=0)) + 2
    m = _pad(m0, pad)
    # The distances are between voxel centres: a ball of radius r fits around voxels
    # whose nearest outside voxel centre is >= r + half a voxel away, and it reaches
    # every voxel whose centre is within r + half a voxel of its centre (the ball
    # overlaps that voxel's half).
    centres = _ball_centres(m, spacing_mm, big_r, threads)
    if not centres.any():
        return m0.copy()
    pending = np.flatnonzero(m ^ centres)  # m & ~centres (centres lie in m)
    flat_c = centres.ravel()
    for off in _flat(cover, m.shape):
        if pending.size == 0:
            break
        pending = pending[~flat_c[pending + off]]
    thin = np.zeros(m.shape, dtype=bool)
    thin.ravel()[pending] = True
    return np.ascontiguousarray(thin[pad:-pad, pad:-pad, pad:-pad])


def thin_voxels(
    mask: npt.NDArray[np.bool_],
    spacing_mm: tuple[float, float, float],
    min_wall_mm: float,
    *,
    bump_tolerance_vx: float = 1.0,
    threads: int = 1,
) -> np.ndarray:
    """Voxels of ``mask`` in walls thinner than ``min_wall_mm`` (see the module notes).

    Parameters
    ----------
    mask : (I, J, K) bool ndarray
        The part (not modified).
    spacing_mm : length-3 tuple of float
        Voxel size along i, j, k, mm.
    min_wall_mm : float
        Required thickness, mm.
    bump_tolerance_vx : float
        Uncovered voxels within this many (largest) voxel sizes of the covered part are
        edges and bumps, not thin walls. 0 reports every uncovered voxel.
    threads : int
        Threads for a distance transform (used only on very fine grids).

    Returns
    -------
    (I, J, K) bool ndarray
    """
    return _classify(
        mask, spacing_mm, min_wall_mm, bump_tolerance_vx=bump_tolerance_vx, threads=threads
    )


def thicken(
    mask: npt.NDArray[np.bool_],
    spacing_mm: tuple[float, float, float],
    min_wall_mm: float,
    *,
    bump_tolerance_vx: float = 1.0,
    threads: int = 1,
) -> tuple[np.ndarray, WallCheck]:
    """Thicken the thin walls of ``mask`` so that every wall is at least ``min_wall_mm``.

    The input is not modified. The caller must leave a background margin of
    ``min_wall_mm`` plus one voxel around the mask so that the dilation fits.
    Parameters as in :func:`thin_voxels`.

    Returns
    -------
    thick : (I, J, K) bool ndarray
    check : WallCheck
    """
    m = np.asarray(mask, dtype=bool)
    grid = (float(spacing_mm[0]), float(spacing_mm[1]), float(spacing_mm[2]))
    tol_mm = float(bump_tolerance_vx) * max(grid)
    vox_ml = float(np.prod(grid)) / 1000.0
    thin = _classify(m, grid, min_wall_mm, bump_tolerance_vx=bump_tolerance_vx, threads=threads)
    n_thin = int(np.count_nonzero(thin))
    if n_thin == 0:
        return m.copy(), WallCheck(float(min_wall_mm), 0, 0.0, 0, grid, tol_mm)
    big_r = _reach(grid, min_wall_mm)
    offs = _offsets(grid, big_r, strict=False)
    pad = int(np.abs(offs).max(initial=0)) + 1
    thick = _pad(m, pad)
    src = np.flatnonzero(_pad(thin, pad))
    flat = thick.ravel()
    for off in _flat(offs, thick.shape):
        flat[src + off] = True
    thick = np.ascontiguousarray(thick[pad:-pad, pad:-pad, pad:-pad])
    after = int(
        np.count_nonzero(
            _classify(
                thick, grid, min_wall_mm, bump_tolerance_vx=bump_tolerance_vx, threads=threads
            )
        )
    )
    added = float((int(np.count_nonzero(thick)) - int(np.count_nonzero(m))) * vox_ml)
    logger.debug("thickened %d thin voxels (+%.2f mL, %d left)", n_thin, added, after)
    return thick, WallCheck(float(min_wall_mm), n_thin, added, after, grid, tol_mm)
