"""Minimum wall thickness of a printed part, checked and enforced on the label mask.

Method (the print report states it with its tolerance):

1. A voxel is *covered* when some ball of diameter ``min_wall_mm`` that lies inside the
   mask overlaps it, i.e. it belongs to the morphological opening of the mask by that
   ball. Two Euclidean distance transforms in mm (``edt``, anisotropic voxels honoured)
   compute the opening: the depth of each voxel, then the distance to the ball centres.
2. Uncovered voxels are thinner than ``min_wall_mm`` *or* sit on an edge, a corner or a
   one-voxel bump of a thick part (the opening of a box rounds off its edges; on a grid
   every digital surface has such steps). An uncovered voxel counts as a **thin wall**
   only when it reaches more than ``bump_tolerance_vx`` voxels (the largest voxel size)
   beyond the covered part; closer ones are reported as bumps and left alone. A real
   thin wall - a plate or a strut thinner than ``min_wall_mm`` - extends farther than
   that from any thick part and is found; an object with no thick part at all is thin
   everywhere.
3. Thin-wall voxels are thickened by dilating them by the ball radius plus half a voxel,
   which makes a wall of thickness ``t`` at least ``t + min_wall_mm`` thick there and
   leaves the rest of the part untouched. The work is confined to the bounding box of
   the thin voxels (plus the reach of the balls), so a thick part costs one check.

The check resolves walls down to the voxel size of the grid it is run on; the label grid
is used (never a coarser one), so the tolerance of the check is one voxel.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twinsep.models.surface import bounding_box

logger = logging.getLogger(__name__)

__all__ = ["WallCheck", "thin_voxels", "thicken", "depth_mm", "describe_method"]


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
    return (
        f"walls checked on the {g} mm label grid: a voxel is in a thin wall when no "
        f"{check.min_wall_mm:g} mm ball inside the part covers it and it lies more than "
        f"{check.tolerance_mm:.2f} mm (one voxel) beyond the parts such balls cover; "
        "edges, corners and one-voxel steps closer than that are not counted; thin walls "
        f"were thickened by {check.min_wall_mm / 2:g} mm on each side"
    )


def _edt_mm(
    mask: np.ndarray, spacing_mm: tuple[float, float, float], threads: int = 1
) -> np.ndarray:
    """Distance (mm, float32) from each non-zero voxel to the nearest zero voxel.

    With an integer label array, the distance is to the nearest voxel of another label
    (``edt``'s multi-label mode): one pass gives the depth of every structure.
    """
    import edt

    arr = np.ascontiguousarray(mask)
    return np.asarray(
        edt.edt(
            arr,
            anisotropy=tuple(float(s) for s in spacing_mm),
            black_border=False,
            parallel=max(1, int(threads)),
        ),
        dtype=np.float32,
    )


def depth_mm(
    codes: npt.NDArray[np.integer], spacing_mm: tuple[float, float, float], *, threads: int = 1
) -> np.ndarray:
    """Depth of every voxel inside its own structure, mm (one multi-label EDT).

    Parameters
    ----------
    codes : (I, J, K) integer ndarray
        0 outside, a structure code inside; neighbouring structures count as outside
        of each other.
    spacing_mm : length-3 tuple of float
        Voxel size along i, j, k, mm.
    threads : int
        Threads for ``edt``.
    """
    return _edt_mm(codes, spacing_mm, threads)


def _reach(spacing_mm: tuple[float, float, float], min_wall_mm: float) -> tuple[float, float]:
    """(R, half voxel): ball centres need depth >= R and cover voxels within R."""
    half_vx = 0.5 * min(spacing_mm)
    return 0.5 * float(min_wall_mm) + half_vx, half_vx


def _touches_border(m: np.ndarray) -> bool:
    return bool(
        m[0].any()
        or m[-1].any()
        or m[:, 0].any()
        or m[:, -1].any()
        or m[:, :, 0].any()
        or m[:, :, -1].any()
    )


def _classify(
    mask: np.ndarray,
    spacing_mm: tuple[float, float, float],
    min_wall_mm: float,
    *,
    bump_tolerance_vx: float,
    depth: np.ndarray | None,
    threads: int,
) -> np.ndarray:
    """Thin-wall voxels of ``mask``.

    Exact, but cheap for thick parts: a surface voxel with a ball centre among its 26
    neighbours (within ``R + tolerance``) cannot be thin, so the distance to the ball
    centres is computed only around the voxels that have none (usually a few or none).
    """
    m = np.asarray(mask, dtype=bool)
    if min_wall_mm <= 0 or not m.any():
        return np.zeros(m.shape, dtype=bool)
    if _touches_border(m):  # room for the neighbour look-ups below
        inner = _classify(
            np.pad(m, 1),
            spacing_mm,
            min_wall_mm,
            bump_tolerance_vx=bump_tolerance_vx,
            depth=None if depth is None else np.pad(depth, 1),
            threads=threads,
        )
        return np.ascontiguousarray(inner[1:-1, 1:-1, 1:-1])
    big_r, _ = _reach(spacing_mm, min_wall_mm)
    tol = float(bump_tolerance_vx) * max(spacing_mm)
    # The distance transform measures to the nearest background voxel *centre*, half a
    # voxel beyond the object's surface: a ball of radius r fits around voxels whose
    # distance is >= r + half a voxel, and it reaches every voxel whose centre is within
    # r + half a voxel of such a centre (the ball overlaps that voxel's half).
    d = _edt_mm(m, spacing_mm, threads) if depth is None else depth
    centres = m & (d >= big_r - 1e-6)
    if not centres.any():
        return m.copy()
    band = m & ~centres
    lin = np.flatnonzero(band)
    out = np.zeros(m.shape, dtype=bool)
    if lin.size == 0:
        return out
    sp = np.asarray(spacing_mm, dtype=np.float64)
    strides = np.array([m.shape[1] * m.shape[2], m.shape[2], 1], dtype=np.int64)
    flat_c = centres.ravel()
    near = np.zeros(lin.size, dtype=bool)
    for o in itertools.product((-1, 0, 1), repeat=3):
        ov = np.asarray(o, dtype=np.float64)
        if any(o) and float(np.linalg.norm(ov * sp)) <= big_r + tol + 1e-6:
            near |= flat_c[lin + int(np.dot(o, strides))]
    cand_lin = lin[~near]
    if cand_lin.size == 0:
        return out
    cand = np.zeros(m.shape, dtype=bool)
    cand.ravel()[cand_lin] = True
    margin = tuple(int(math.ceil((big_r + tol) / s)) + 2 for s in spacing_mm)
    box = _box(cand, margin)  # type: ignore[arg-type]
    # distance to the nearest ball centre; centres beyond the box are farther than
    # R + tolerance, so the decision below is exact
    dist_c = _edt_mm(~centres[box], spacing_mm, threads)
    # distance from an uncovered voxel to the covered region is about dist_c - R
    out[box] = cand[box] & (dist_c > big_r + tol + 1e-6)
    return out


def thin_voxels(
    mask: npt.NDArray[np.bool_],
    spacing_mm: tuple[float, float, float],
    min_wall_mm: float,
    *,
    bump_tolerance_vx: float = 1.0,
    depth: np.ndarray | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Voxels of ``mask`` in walls thinner than ``min_wall_mm`` (see the module notes).

    Parameters
    ----------
    mask : (I, J, K) bool ndarray
        The part (should have a background border of at least ``min_wall_mm``).
    spacing_mm : length-3 tuple of float
        Voxel size along i, j, k, mm.
    min_wall_mm : float
        Required thickness, mm.
    bump_tolerance_vx : float
        Uncovered voxels within this many (largest) voxel sizes of the covered part are
        edges and bumps, not thin walls. 0 reports every uncovered voxel.
    depth : ndarray, optional
        Precomputed depth of the mask's voxels in mm (:func:`depth_mm`), to reuse one
        multi-label distance transform across structures.
    threads : int
        Threads for the distance transforms.

    Returns
    -------
    (I, J, K) bool ndarray
    """
    return _classify(
        mask,
        spacing_mm,
        min_wall_mm,
        bump_tolerance_vx=bump_tolerance_vx,
        depth=depth,
        threads=threads,
    )


def _box(sel: np.ndarray, margin: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    box = bounding_box(sel)
    if box is None:
        return (slice(0, 0), slice(0, 0), slice(0, 0))
    return tuple(  # type: ignore[return-value]
        slice(max(0, b.start - m), min(n, b.stop + m))
        for b, m, n in zip(box, margin, sel.shape, strict=True)
    )


def thicken(
    mask: npt.NDArray[np.bool_],
    spacing_mm: tuple[float, float, float],
    min_wall_mm: float,
    *,
    bump_tolerance_vx: float = 1.0,
    depth: np.ndarray | None = None,
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
    thin = _classify(
        m, grid, min_wall_mm, bump_tolerance_vx=bump_tolerance_vx, depth=depth, threads=threads
    )
    n_thin = int(thin.sum())
    if n_thin == 0:
        return m.copy(), WallCheck(float(min_wall_mm), 0, 0.0, 0, grid, tol_mm)
    big_r, _ = _reach(grid, min_wall_mm)
    # growth reaches R; the re-check needs the depth, the centres and the cover of every
    # voxel the growth can influence: 4 R + tolerance around the thin voxels suffices
    reach_mm = 4.0 * big_r + tol_mm
    margin = tuple(int(math.ceil(reach_mm / s)) + 2 for s in grid)
    box = _box(thin, margin)  # type: ignore[arg-type]
    sub = m[box]
    grow = _edt_mm(~thin[box], grid, threads) <= big_r + 1e-6
    thick_sub = sub | grow
    thick = m.copy()
    thick[box] = thick_sub
    after = int(
        thin_voxels(
            thick_sub, grid, min_wall_mm, bump_tolerance_vx=bump_tolerance_vx, threads=threads
        ).sum()
    )
    added = float((int(thick_sub.sum()) - int(sub.sum())) * vox_ml)
    logger.debug("thickened %d thin voxels (+%.2f mL, %d left)", n_thin, added, after)
    return thick, WallCheck(float(min_wall_mm), n_thin, added, after, grid, tol_mm)
