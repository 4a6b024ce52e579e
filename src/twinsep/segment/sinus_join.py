"""Join a contrast sinus broken into pieces on a coarse grid, along its course.

On grids of 2.4-3.3 mm the planned dural sinus falls apart: the stretches that lie in
the bone's partial-volume rim under the inner table read what the CSF beside the bone
reads there, so no rule on single values takes them (docs/segmentation.md, "The
planned sinus fragmented at 2.4-3.3 mm"). Their shape still shows: a sinus is a tube
running along the table, and its pieces on a coarse grid are collinear, with their ends
facing each other across a short gap.

:func:`join_fragments` joins two vessel pieces when

- their nearest voxels lie at most ``VesselParams.join_max_gap_mm`` apart;
- each piece lies behind its end, away from the other (ends facing, not side by side);
- near its end (within ``join_axis_radius_mm``), each piece that is elongated there
  (principal axis at least 1.5 times the next) runs within ``join_max_angle_deg`` of
  the gap, and at least one of the two is;
- a path of 26-neighbour steps between the two ends runs through CSF-labelled voxels in
  the contrast band (or the two pieces), no longer than ``join_max_detour`` times the
  gap: the minimal-cost path, a step into a voxel costing its length times one plus
  three times how far its value lies under the lumen (from the band's floor, 3, to the
  lumen, 0).

Only the path's voxels become vessel (one voxel across, narrower than any lumen).
Pieces are taken nearest first and a pair already joined through others is skipped.
The rule runs only on grids whose largest voxel side is at least
``join_min_voxel_mm``: finer grids keep the lumen connected (1.2 mm: the misses are
sub-voxel layers).
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.graph import MCP_Geometric

from twinsep.segment import morph
from twinsep.segment.morph import Spacing
from twinsep.segment.params import VesselParams

logger = logging.getLogger(__name__)

_ELONGATED = 1.5  # principal axis over the next (standard deviations) for a direction
_STEP_COST_SPAN = 3.0  # extra step cost at the band's floor (0 at the lumen)


def _end_axis(
    points_mm: np.ndarray, end_mm: np.ndarray, radius_mm: float
) -> tuple[np.ndarray | None, np.ndarray]:
    """Principal axis (unit, or None when not elongated) and centroid (mm) of the
    piece's voxels within ``radius_mm`` of its end."""
    near = points_mm[np.linalg.norm(points_mm - end_mm, axis=1) <= radius_mm]
    centre = near.mean(axis=0) if near.shape[0] else end_mm
    if near.shape[0] < 3:
        return None, centre
    w, v = np.linalg.eigh(np.cov((near - centre).T))
    if w[-1] <= 0.0 or w[-1] < _ELONGATED**2 * max(float(w[-2]), 1e-9):
        return None, centre
    return v[:, -1], centre


def join_fragments(
    image_hu: np.ndarray,
    vessel: np.ndarray,
    path_ok: np.ndarray,
    spacing_mm: Spacing,
    *,
    floor_hu: float,
    lumen_hu: float,
    params: VesselParams,
) -> np.ndarray:
    """Voxels that join vessel pieces whose ends face each other across a short gap.

    Parameters
    ----------
    image_hu : ndarray of float, shape (I, J, K)
        The CT (HU) on the grid of ``vessel``.
    vessel : ndarray of bool, shape (I, J, K)
        Vessel voxels (sinuses and vessels).
    path_ok : ndarray of bool, shape (I, J, K)
        Voxels a joining path may take besides the two pieces (CSF of the cavity);
        those under ``floor_hu`` are not taken.
    spacing_mm : length-3 tuple of float
        Voxel size (mm) along each array axis.
    floor_hu : float
        Floor of the contrast band (HU).
    lumen_hu : float
        The vessels' lumen value (HU); a NaN or one not above ``floor_hu`` joins nothing.
    params : VesselParams
        ``join_*`` fields.

    Returns
    -------
    ndarray of bool, shape (I, J, K)
        The joining paths' voxels that are not vessel already (none when the rule is
        off, the grid is finer than ``join_min_voxel_mm`` or nothing is joined).
    """
    sp = np.asarray(spacing_mm, float)
    added = np.zeros(vessel.shape, bool)
    if (
        params.join_max_gap_mm <= 0.0
        or float(sp.max()) < params.join_min_voxel_mm
        or not np.isfinite(lumen_hu)
        or lumen_hu <= floor_hu
    ):
        return added
    comps, n = morph.label_components(vessel, 26)
    if n < 2:
        return added
    # the pieces' surface voxels (a non-vessel 26-neighbour): the nearest voxels of two
    # pieces are on their surfaces
    surf = vessel & ~ndi.binary_erosion(vessel, np.ones((3, 3, 3), bool))
    idx = np.argwhere(surf)
    cid = comps[surf]
    pts = idx * sp
    pairs = cKDTree(pts).query_pairs(params.join_max_gap_mm, output_type="ndarray")
    pairs = pairs[cid[pairs[:, 0]] != cid[pairs[:, 1]]] if pairs.size else pairs
    if pairs.size == 0:
        return added
    gap = np.linalg.norm(pts[pairs[:, 0]] - pts[pairs[:, 1]], axis=1)
    lo = np.minimum(cid[pairs[:, 0]], cid[pairs[:, 1]]).astype(np.int64)
    hi = np.maximum(cid[pairs[:, 0]], cid[pairs[:, 1]]).astype(np.int64)
    key = lo * (n + 1) + hi
    order = np.lexsort((gap, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    nearest = order[first]  # the nearest voxel pair of each pair of pieces
    nearest = nearest[np.argsort(gap[nearest], kind="stable")]
    vox_comp = comps[vessel]
    vox_mm = np.argwhere(vessel) * sp
    cos_max = float(np.cos(np.radians(params.join_max_angle_deg)))
    allowed = path_ok & (image_hu >= floor_hu) & ~vessel
    parent = np.arange(n + 1)

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = int(parent[c])
        return c

    n_joined = 0
    for k in nearest:
        i, j = pairs[k]
        a, b = int(cid[i]), int(cid[j])
        if root(a) == root(b):
            continue
        toward = (pts[j] - pts[i]) / gap[k]
        axis_a, centre_a = _end_axis(vox_mm[vox_comp == a], pts[i], params.join_axis_radius_mm)
        axis_b, centre_b = _end_axis(vox_mm[vox_comp == b], pts[j], params.join_axis_radius_mm)
        if (centre_a - pts[i]) @ toward > 0.0 or (centre_b - pts[j]) @ toward < 0.0:
            continue  # a piece reaches past its own end towards the other: side by side
        if axis_a is None and axis_b is None:
            continue
        if any(ax is not None and abs(float(ax @ toward)) < cos_max for ax in (axis_a, axis_b)):
            continue
        path = _path(
            image_hu, comps, allowed | added, idx[i], idx[j], (a, b), sp, floor_hu, lumen_hu
        )
        if path is None:
            continue
        length_mm = float(np.sum(np.linalg.norm(np.diff(path * sp, axis=0), axis=1)))
        if length_mm > params.join_max_detour * gap[k]:
            continue
        added[tuple(path.T)] = True
        parent[root(a)] = root(b)
        n_joined += 1
    added &= ~vessel
    logger.debug("sinus join: %d joins, %d voxels", n_joined, int(added.sum()))
    return added


def _path(
    image_hu: np.ndarray,
    comps: np.ndarray,
    allowed: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    pieces: tuple[int, int],
    sp: np.ndarray,
    floor_hu: float,
    lumen_hu: float,
) -> np.ndarray | None:
    """The minimal-cost 26-neighbour path (voxel indices, shape (n, 3)) from ``start``
    to ``end`` through ``allowed`` voxels and the two pieces, inside their bounding box
    grown by two voxels; None when there is none."""
    margin = 2
    lo = np.maximum(np.minimum(start, end) - margin, 0)
    hi = np.minimum(np.maximum(start, end) + margin + 1, comps.shape)
    box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    ok = allowed[box] | np.isin(comps[box], pieces)
    value = np.clip(image_hu[box], floor_hu, lumen_hu)
    cost = np.where(ok, 1.0 + _STEP_COST_SPAN * (lumen_hu - value) / (lumen_hu - floor_hu), np.inf)
    s, e = tuple(int(x) for x in start - lo), tuple(int(x) for x in end - lo)
    mcp = MCP_Geometric(cost, fully_connected=True, sampling=tuple(float(x) for x in sp))
    costs, _ = mcp.find_costs([s], [e])
    if not np.isfinite(costs[e]):
        return None
    return np.asarray(mcp.traceback(e), int) + lo
