"""Take back the part of a table, head holder or tube that the head sweep swallowed.

The heads of a CT are found by sweeping a ball through the body (``segment.ct``): a
support thinner than the ball is left out, except where it presses on the scalp. There
head and support together are thicker than the ball, so balls centred at the contact
reach into the support as deep as their radius (a 12 mm holder lost 0-11 mm of its
thickness to the head, 4 mL on a 2.3 mm grid). The rest of the support, outside the
sweep, is a piece of its own that was already rejected; its shape near the head is
continued into the swept region:

1. The piece's voxels within two ball radii of the heads (as deep as the sweep can
   reach into a support, and beyond) are fitted by their principal axes. A direction
   whose spread is at most ``thin_ratio`` times the smallest is a thickness direction:
   one for a plate (a table top, a holder), two for a rod (a tube); a piece without a
   long direction is no support and is left alone.
2. The support's half-thickness is read from the same voxels: the mean distance from
   the mid-plane of a uniform slab is a quarter of its thickness, the mean distance
   from the axis of a uniform rod two thirds of its radius (partial-volume voxels at
   the surface do not move a mean much, as they would move a maximum).
3. Body voxels inside that continued plate or rod, no farther from the piece than the
   ball's radius, of the support's value, and connected to the piece through such
   voxels, are support, not head. Of the support's value means within half the
   support/soft-tissue gap of the support's median, on either side (bone beside a
   support is brighter than both). The value test keeps scalp that lies in the
   continued plate (a curved holder hugging the head, a plane fitted to it). A support
   whose value cannot be told from soft tissue even over a 3x3x3 block (its median
   within ``min_contrast_sigmas`` x spread / sqrt(27) of the soft-tissue peak) is left
   as it is; in noise the voxel test misses some support voxels, which stay body (the
   behaviour without the cut).
"""

from __future__ import annotations

import logging

import numpy as np

from twinsep.segment import morph

logger = logging.getLogger(__name__)

#: A uniform slab's mean distance from its mid-plane is a quarter of its thickness,
#: i.e. half its half-thickness; a uniform disc's mean distance from its centre is two
#: thirds of its radius. Half-thickness = factor x mean distance.
_HALF_THICKNESS_PER_MEAN = {1: 2.0, 2: 1.5}

#: Largest number of a piece's voxels used for its shape fit and value statistics.
_FIT_VOXELS = 100_000


def cut_pressed_supports(
    body: np.ndarray,
    image: np.ndarray,
    pieces_mm: list[tuple[np.ndarray, np.ndarray]],
    spacing_mm: morph.Spacing,
    *,
    soft_hu: float,
    max_half_thickness_mm: float,
    reach_mm: float,
    thin_ratio: float,
    min_contrast_sigmas: float,
) -> int:
    """Remove from ``body`` (in place) what lies inside the continuation of each support.

    Parameters
    ----------
    body : (I, J, K) ndarray of bool
        Body mask, modified in place.
    image : (I, J, K) ndarray
        The (smoothed) CT in HU on the same grid.
    pieces_mm : list of ((N, 3) ndarray of float, (N,) ndarray of bool)
        Per rejected support piece, its voxel centres near the heads, in mm along the
        array axes (index x spacing; distances and directions are world mm, the grid's
        rotation does not matter), and which of them touch the swept heads (the cut
        starts there).
    spacing_mm : (3,) tuple of float
        Voxel size (mm) per array axis.
    soft_hu : float
        Soft-tissue peak of the CT (HU).
    max_half_thickness_mm : float
        A piece whose fitted half-thickness exceeds this (mm) is no support the sweep
        can bite into (the ball's radius): it is left alone.
    reach_mm : float
        How far (mm) beyond the piece's fitted voxels the cut may extend (the ball's
        radius: no ball reaches deeper into a support).
    thin_ratio : float
        A principal direction whose spread (standard deviation) is at most this times
        the smallest is a thickness direction.
    min_contrast_sigmas : float
        The support's median value must differ from ``soft_hu`` by this many robust
        spreads of a 3x3x3 block mean (1.4826 x MAD of its voxels / sqrt(27), HU) to be
        cut.

    Returns
    -------
    int
        Number of voxels removed from ``body``.
    """
    sp = np.asarray(spacing_mm, dtype=np.float64)
    removed = 0
    for all_pts, touching in pieces_mm:
        contact = all_pts[touching]
        if all_pts.shape[0] < 20 or contact.shape[0] == 0:  # a speck: no shape to fit
            continue
        # the fit and the values need no more than ~10^5 voxels (the 512^3 CT's table
        # holds 1.5 M near the heads): every step-th, a fixed, deterministic sample
        pts = all_pts[:: max(1, all_pts.shape[0] // _FIT_VOXELS)]
        c = pts.mean(axis=0)
        var, vec = np.linalg.eigh(np.cov((pts - c).T))
        sd = np.sqrt(np.maximum(var, 0.0))
        thin = sd <= thin_ratio * sd[0]
        n_thin = int(thin.sum())
        if n_thin not in _HALF_THICKNESS_PER_MEAN:
            continue  # no long direction: a blob, not a plate or rod
        axes = vec[:, thin]
        off = np.linalg.norm((pts - c) @ axes, axis=1)
        half_mm = min(float(off.mean()) * _HALF_THICKNESS_PER_MEAN[n_thin], float(off.max()))
        if half_mm > max_half_thickness_mm:
            continue
        # the swept part of the support lies within reach of where the piece touches
        margin = np.ceil(reach_mm / sp).astype(int) + 1
        lo = np.maximum(np.floor(contact.min(axis=0) / sp).astype(int) - margin, 0)
        hi = np.minimum(np.ceil(contact.max(axis=0) / sp).astype(int) + margin + 1, body.shape)
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        sub = image[box]
        ijv = np.round(pts / sp).astype(np.intp)
        vals = image[ijv[:, 0], ijv[:, 1], ijv[:, 2]].astype(np.float64)
        ij = np.clip(np.round(contact / sp).astype(np.intp) - lo, 0, np.asarray(sub.shape) - 1)
        level = float(np.median(vals))
        spread = 1.4826 * float(np.median(np.abs(vals - level))) / np.sqrt(27.0)
        if abs(level - soft_hu) <= min_contrast_sigmas * spread:
            logger.debug("support at %.0f HU not told from soft tissue: left", level)
            continue
        # nearer the support's level than soft tissue's, and no farther from it on the
        # other side (bone or air beside the support is not support)
        # read on the voxel: a 3x3x3 mean also took scalp beside the support (the edge
        # blurred by a voxel) and, through changed skin depths, moved the cavity
        half_gap = np.float32(abs(level - soft_hu) / 2.0)
        side = np.abs(sub - np.float32(level)) < half_gap
        n = _cut_one(body, box, side, ij, (c, axes, half_mm), sp, lo, reach_mm)
        removed += n
        logger.debug(
            "support %s (%d voxels near the heads, %.0f HU): half-thickness %.1f mm, %d cut",
            "plate" if n_thin == 1 else "rod",
            all_pts.shape[0],
            level,
            half_mm,
            n,
        )
    return removed


def _cut_one(
    body: np.ndarray,
    box: tuple[slice, ...],
    side: np.ndarray,
    ij: np.ndarray,
    shape_fit: tuple[np.ndarray, np.ndarray, float],
    sp: np.ndarray,
    lo: np.ndarray,
    reach_mm: float,
) -> int:
    """Remove body voxels of ``box`` on the support's ``side`` of the value split, within
    the fitted half-thickness of its mid-plane/axis (``shape_fit``: centre mm, thickness
    axes, half-thickness mm) and ``reach_mm`` of the piece (voxels ``ij`` in the box),
    connected to the piece; return how many."""
    c, axes, half_mm = shape_fit
    hi = lo + np.asarray(side.shape)
    # squared distance from the mid-plane (one axis) or the axis line (two), separable
    # per array axis: (x - c) . v = sum over array axes of (i * s - c) * v
    d2 = np.zeros(tuple(int(b - a) for a, b in zip(lo, hi, strict=True)), np.float32)
    for k in range(axes.shape[1]):
        v = axes[:, k]
        proj = np.zeros(d2.shape, np.float32)
        for ax in range(3):
            x = (np.arange(lo[ax], hi[ax]) * sp[ax] - c[ax]) * v[ax]
            shape = [1, 1, 1]
            shape[ax] = x.size
            proj += x.astype(np.float32).reshape(shape)
        d2 += proj * proj
    inside = d2 <= np.float32(half_mm * half_mm)
    del d2
    sub = body[box]
    cand = sub & inside & side
    if not cand.any():
        return 0
    seed = np.zeros(cand.shape, bool)
    seed[tuple(ij.T)] = True
    # only as deep as a ball reaches into the support: the plane of a holder behind one
    # head may cut the other head of a joined pair farther away
    cand &= morph.dilate_mm(seed, reach_mm, tuple(float(x) for x in sp))  # type: ignore[arg-type]
    lab = morph.label_components((cand | seed).view(np.uint8), 26)[0]
    ids = np.unique(lab[seed])
    ids = ids[ids > 0]
    cut = np.isin(lab, ids) & cand
    n = int(cut.sum())
    sub &= ~cut  # body[box] is a view: the cut is written into body
    return n
