"""Metal implants and their streaks in a head CT.

Physics: metal (shunt valve, EVD/ICP probe, clips, dental fillings) stops most photons
(photon starvation) and hardens the beam, so the line integrals of every ray through it
are wrong. Filtered back-projection spreads the error of a ray along that ray: the
artefact is a set of bright and dark **straight lines in the acquisition plane that
pass through the metal** (a dark band joins two pieces), fading with distance, and only
in the slices that hold metal. Dark streak lines in the brain read as CSF; bright ones
in soft tissue read as contrast-enhanced blood.

Rule (``find_metal_streaks``), in the acquisition plane of the scan, the array's
``[i, j]`` plane: ``segment_ct`` works in the canonical layout (``twinsep.layout``),
whose third axis is the one nearest the world's head-foot axis, so a sagittal stack or a
series with permuted axes is searched in its axial plane, not its storage plane (the
gantry-tilt correction keeps the slices):

1. **Metal**: voxels at least ``MetalParams.metal_offset_hu`` above the scan's own
   soft-tissue peak (far above any bone), in pieces of ``min_piece_mm3`` that jump
   from tissue to metal (few voxels within ``shell_depth_hu`` below the metal level
   around them: a tooth's enamel cap sits on dentin and bone of 1500-2500 HU). A CT whose
   maximum stays below that level returns at once (one pass over the array).
2. **Deviation**: each slice holding metal (and ``neighbour_slices`` on either side,
   whose slice profile takes in the end of a piece) minus its in-plane median over
   ``reference_mm`` (wider than a streak, so the median is the tissue the streak
   crosses), on tissue pixels only (reference within ``tissue_range_hu`` and value
   within ``streak_max_hu`` of soft tissue: brain, CSF, fat, muscle; not bone, air or
   metal, nor within ``edge_mm`` / ``edge_px`` pixels of bone or air) farther than
   ``exclude_mm`` from the metal.
3. **Lines**: every line through a metal piece (angles spaced so that neighbouring
   lines are a pixel apart at the far edge, offsets a pixel apart across the piece's
   shadow). A line is scored by the **median** deviation of its tissue pixels within
   ``near_mm`` of tissue from the metal on either side: a streak radiates from the
   metal and shifts most pixels along it, strongest beside the metal, while a structure
   the line crosses at a few pixels (a partial-volume skull edge, an expander's shell)
   moves a mean, not a median. A line is a streak when that median is at least
   ``min_amplitude_hu`` and ``line_z`` standard errors from zero, both against the
   pixel noise (robust deviation spread over the independent samples) and against the
   anatomy: the spread of the same lines shifted clear of the piece to either side
   (lines that miss the metal, crossing the same tissues), so structures that happen
   to line up are no streak; and each side of the metal with ``side_min_mm`` of tissue
   shows it beside the metal (``side_z``).
4. **Streak voxels**: along a streak line, tissue pixels where the deviation averaged
   over ``mark_window_mm`` along the line keeps the line's sign and is ``mark_z``
   standard errors from zero (where the streak is, not the whole line), and whose own
   deviation the streak explains (within ``explained_k`` sigmas of that local level;
   bone or a vessel crossed by a bright line keeps its value).
5. **Metal is what streaks**: a piece is metal in a slice when at least
   ``min_line_fraction`` of the lines through it are streak lines; tooth enamel or
   dense bone at metal levels without streaks is not. With no metal left the rule does
   nothing.

The corrected image (``MetalStreaks.corrected``) replaces streak voxels by the mean of
the tissue around them that is not streak (a Gaussian mean normalised over non-streak
tissue pixels of the slice), so later rules label them by their surroundings. The
contrast rule reads the smaller of the corrected and the original image
(``segment.ct``): a streak can only lose contrast evidence, never make blood (a dark
line filled in beside an enhanced sinus took the mean of sinus and brain). Measured
alternative: that mean over "ordinary" pixels only (within ``explained_k`` sigmas of
their median) fixed the sinus spill as well but lost 0.012 brain / 0.037 CSF Dice on
the size-256 plain phantom with the valve.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from twinsep.segment import filters, morph
from twinsep.segment.params import MetalParams
from twinsep.segment.result import MetalSlices

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetalStreaks:
    """Metal and its streaks on a CT grid.

    Attributes
    ----------
    metal : ndarray of bool, shape (I, J, K)
        Metal voxels (pieces crossed by streak lines).
    streak : ndarray of bool, shape (I, J, K)
        Tissue voxels on streak lines where the streak shows.
    replacement : ndarray of float32, shape (n,)
        Value (HU) for each streak voxel (in ``np.flatnonzero(streak)`` order): the mean
        of the surrounding non-streak tissue of its slice.
    metal_ml : float
        Volume of the metal (mL).
    slices : int
        Number of slices holding streaks.
    lines : int
        Number of streak lines found.
    """

    metal: np.ndarray
    streak: np.ndarray
    replacement: np.ndarray
    metal_ml: float
    slices: int
    lines: int

    def corrected(self, image: np.ndarray) -> np.ndarray:
        """``image`` (HU, the grid of the streaks) with streak voxels replaced by the
        surrounding tissue's mean (float32; ``image`` is not modified)."""
        out = np.array(image, dtype=np.float32, copy=True)
        out.ravel()[np.flatnonzero(self.streak)] = self.replacement
        return out

    def by_slice(self, *, offset: int = 0, n_slices: int | None = None) -> MetalSlices:
        """The slices (across the third axis) that hold the metal and its streaks.

        Parameters
        ----------
        offset : int
            Index, on the grid the slices are reported for, of this grid's first slice
            (a crop's start).
        n_slices : int, optional
            Slices of that grid (default: this grid's).
        """
        k = self.metal.shape[2]
        n = k if n_slices is None else int(n_slices)
        if offset < 0 or offset + k > n:
            raise ValueError(f"slices {offset}..{offset + k} do not fit a grid of {n}")
        metal = np.zeros(n, bool)
        streak = np.zeros(n, bool)
        metal[offset : offset + k] = self.metal.any(axis=(0, 1))
        streak[offset : offset + k] = self.streak.any(axis=(0, 1))
        return MetalSlices(
            axis=2, metal=metal, streak=streak, metal_ml=self.metal_ml, lines=self.lines
        )

    def warning(self) -> str:
        """One plan warning naming the metal volume and what it affects."""
        return (
            f"metal in the CT ({self.metal_ml:.2f} mL: implant, clip or filling) streaks "
            f"{self.slices} slices along {self.lines} lines; streak voxels were labelled "
            "from the tissue around them, and labels near the metal and along its "
            "streaks are unreliable"
        )


def find_metal_streaks(
    raw: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    soft_hu: float,
    params: MetalParams = MetalParams(),
) -> MetalStreaks | None:
    """Metal pieces and the streak voxels they cause, or None when the CT has no metal.

    Parameters
    ----------
    raw : ndarray, shape (I, J, K)
        CT (HU) with ``[i, j]`` the acquisition (axial) plane; ``segment_ct`` passes
        the CT in its canonical layout (``twinsep.layout``), whose third axis is the
        one nearest the world's head-foot axis. Not modified.
    spacing_mm : length-3 tuple of float
        Voxel size (mm) along i, j, k.
    soft_hu : float
        The scan's soft-tissue peak (HU).
    params : MetalParams
        Levels and sizes.

    Returns
    -------
    MetalStreaks or None
        None when no voxel reaches the metal level, or no piece has streaks.
    """
    t_metal = soft_hu + params.metal_offset_hu
    sp = tuple(float(s) for s in spacing_mm)
    found = _pieces(raw, sp, t_metal, params)
    if found is None:
        return None
    box, lab, keep = found
    lut = np.concatenate([[False], keep])
    cand = lut[lab]  # the kept pieces, on the box
    off = [b.start for b in box]
    ks = np.flatnonzero(cand.any(axis=(0, 1))) + off[2]
    streak = np.zeros(raw.shape, bool)
    replacement: list[tuple[int, np.ndarray]] = []
    confirmed = np.zeros(cand.shape, bool)
    n_lines = 0
    n_slices = 0
    # slices holding metal, and their neighbours, whose lines pass through the metal
    # pixels of the nearest metal slice (partial volume keeps them below the level)
    near_ks = np.arange(raw.shape[2])
    nearest = ks[np.abs(near_ks[:, None] - ks[None, :]).argmin(axis=1)]
    todo = near_ks[np.abs(near_ks - nearest) <= params.neighbour_slices]
    geom = np.zeros(raw.shape[:2], bool)
    for k in todo:
        sl = raw[:, :, k].astype(np.float32)
        geom[box[0], box[1]] = cand[:, :, nearest[k] - off[2]]
        res = _slice_streaks(sl, geom, (sp[0], sp[1]), soft_hu=soft_hu, params=params)
        if res is None:
            continue
        mask, hit, repl, nl = res
        streak[:, :, k] = mask
        if nearest[k] == k:
            confirmed[:, :, k - off[2]] = hit[box[0], box[1]]
        replacement.append((int(k), repl))
        n_lines += nl
        n_slices += 1
    if not confirmed.any():
        logger.debug("dense pieces above %.0f HU without streaks: not metal", t_metal)
        return None
    # a piece is metal when streak lines cross it in any of its slices
    ids = np.unique(lab[confirmed])
    lut = np.zeros(keep.size + 1, bool)
    lut[ids[ids > 0]] = True
    metal = np.zeros(raw.shape, bool)
    metal[box] = lut[lab]
    # replacement values in flatnonzero(streak) order, gathered from the per-slice maps
    flat, values = [], []
    for k, repl in replacement:
        si, sj = np.nonzero(streak[:, :, k])
        flat.append(np.ravel_multi_index((si, sj, np.full(si.size, k)), raw.shape))
        values.append(repl[si, sj])
    order = np.argsort(np.concatenate(flat)) if flat else np.zeros(0, np.intp)
    out = np.concatenate(values)[order] if values else np.zeros(0, np.float32)
    ml = float(np.count_nonzero(metal)) * float(np.prod(sp)) / 1000.0
    logger.debug(
        "metal %.2f mL; %d streak lines in %d slices, %d streak voxels",
        ml,
        n_lines,
        n_slices,
        out.size,
    )
    return MetalStreaks(
        metal=metal,
        streak=streak,
        replacement=out.astype(np.float32, copy=False),
        metal_ml=round(ml, 3),
        slices=n_slices,
        lines=n_lines,
    )


def _pieces(
    raw: np.ndarray, sp: tuple[float, ...], t_metal: float, params: MetalParams
) -> tuple[tuple[slice, ...], np.ndarray, np.ndarray] | None:
    """Step 1 on the box of the voxels at metal level (and the shell around them):
    ``(box, labels on it, keep per label 1..n)``, None when no piece is kept.

    The pieces (26-connected) and the shell test are those of the whole grid: every
    voxel at the level lies in the box, and the box reaches ``shell_mm`` beyond them
    (or the grid's edge), so the whole grid is never labelled (a 372 MB label array on
    a 512x512x400 CT, twice in the rule before)."""
    if raw.size == 0 or float(raw.max()) < t_metal:
        return None
    hot = raw >= t_metal
    r = [max(1, int(round(params.shell_mm / s))) for s in sp]
    ks = np.flatnonzero(hot.any(axis=(0, 1)))
    k0, k1 = int(ks[0]), int(ks[-1]) + 1
    slab = hot[:, :, k0:k1]
    ii = np.flatnonzero(slab.any(axis=(1, 2)))
    jj = np.flatnonzero(slab.any(axis=(0, 2)))
    lo = (int(ii[0]), int(jj[0]), k0)
    hi = (int(ii[-1]) + 1, int(jj[-1]) + 1, k1)
    box = tuple(
        slice(max(a - q, 0), min(b + q, n)) for a, b, q, n in zip(lo, hi, r, raw.shape, strict=True)
    )
    sub = raw[box]
    lab, sizes = morph.component_sizes(hot[box])
    keep = sizes * float(np.prod(sp)) >= params.min_piece_mm3
    keep &= _compact(sub, lab, sizes, sp, t_metal - params.shell_depth_hu, params)
    if not keep.any():
        return None
    return box, lab, keep


def compact_metal(
    raw: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    soft_hu: float,
    params: MetalParams = MetalParams(),
) -> np.ndarray | None:
    """Step 1 alone: voxels of the pieces at metal level that jump from tissue to metal.

    Parameters
    ----------
    raw : ndarray, shape (I, J, K)
        CT (HU); not modified.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    soft_hu : float
        The scan's soft-tissue peak (HU).
    params : MetalParams
        Levels and sizes (``metal_offset_hu``, ``min_piece_mm3``, the shell test).

    Returns
    -------
    ndarray of bool or None
        The pieces' voxels, None when there is none. Unlike :func:`find_metal_streaks`
        no streak is asked for: a piece too small or too far from tissue to streak (an
        EEG electrode on the skin) is still metal; tooth enamel and dense bone fail the
        shell test (measured 3.6-29 dense shell voxels per piece voxel on real teeth).
    """
    t_metal = soft_hu + params.metal_offset_hu
    sp = tuple(float(s) for s in spacing_mm)
    found = _pieces(raw, sp, t_metal, params)
    if found is None:
        return None
    box, lab, keep = found
    out = np.zeros(raw.shape, bool)
    out[box] = np.concatenate([[False], keep])[lab]
    return out


def _compact(
    raw: np.ndarray,
    lab: np.ndarray,
    sizes: np.ndarray,
    sp: tuple[float, ...],
    level_hu: float,
    params: MetalParams,
) -> np.ndarray:
    """Per piece (label 1..n): True when it jumps from tissue to metal, i.e. its shell
    (``shell_mm`` around it) holds at most ``max_shell_ratio`` voxels per piece voxel at
    or above ``level_hu`` - only its own blurred rim, not the dentin and bone a tooth's
    enamel cap sits on."""
    out = np.zeros(sizes.size, bool)
    r = [max(1, int(round(params.shell_mm / s))) for s in sp]
    ball = np.ones([2 * k + 1 for k in r], bool)
    for q, box in enumerate(ndi.find_objects(lab)):
        if box is None:
            continue
        grown = tuple(
            slice(max(b.start - k, 0), min(b.stop + k, n))
            for b, k, n in zip(box, r, raw.shape, strict=True)
        )
        piece = lab[grown] == q + 1
        shell = ndi.binary_dilation(piece, ball) & ~piece
        dense = int(np.count_nonzero(raw[grown][shell] >= level_hu))
        out[q] = dense <= params.max_shell_ratio * sizes[q]
    return out


def _deviation(
    sl: np.ndarray,
    metal: np.ndarray,
    sp: tuple[float, float],
    *,
    soft_hu: float,
    params: MetalParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[slice, slice]]:
    """A slice's reference (in-plane median), deviation from it, tissue pixels that are
    scored (float32, float32, bool), and the box the slice's filters work on (the
    pixels that may be tissue and a margin; the reference and deviation beyond it are
    not to be used)."""
    ds = min(sp)
    outside = np.abs(sl - soft_hu) > params.streak_max_hu  # bone, air, metal
    box = _work_box(~outside, sp, params)
    # the reference matters on the pixels that may be tissue only (elsewhere: sl)
    ref = _median_reference(
        sl, sp, params.reference_mm, max(ds, params.line_step_mm), within=~outside
    )
    dev = sl - ref
    tissue = np.zeros(sl.shape, bool)
    if not (box[0].stop > box[0].start and box[1].stop > box[1].start):
        return ref, dev, tissue, box
    # distances on the box: every metal pixel beyond it lies farther than exclude_mm
    # from the pixels that may be tissue, and the ring of the box's margin holds the
    # outside pixels nearest to them (the box reaches a pixel beyond them, or the edge)
    m_box = metal[box]
    near = np.zeros(m_box.shape, bool)
    if m_box.any():
        near = ndi.distance_transform_edt(~m_box, sampling=sp) <= params.exclude_mm
    o_box = outside[box]
    t_box = (np.abs(ref[box] - soft_hu) <= params.tissue_range_hu) & ~near & ~o_box
    # pixels beside bone or air are edges (partial volume, the kernel's overshoot)
    edge_mm = max(params.edge_mm, params.edge_px * ds)
    t_box &= ndi.distance_transform_edt(~o_box, sampling=sp) > edge_mm
    tissue[box] = t_box
    return ref, dev, tissue, box


def _work_box(
    within: np.ndarray, sp: tuple[float, float], params: MetalParams
) -> tuple[slice, slice]:
    """The box of the ``within`` pixels, widened (to the slice's edge at most) by the
    reach of the slice's filters: the Gaussian of the replacement (``reference_mm`` /
    2, truncated at 4 sigmas as scipy does), ``exclude_mm`` and the filling of the
    pixels between lines, and one pixel more. Filters run on it give the whole slice's
    values on the ``within`` pixels."""
    ds = min(sp)
    step_mm = max(ds, params.line_step_mm)
    r_px = int(np.ceil(0.5 * step_mm / ds - 1e-6))
    out = []
    for ax in range(2):
        idx = np.flatnonzero(within.any(axis=1 - ax))
        if idx.size == 0:
            out.append(slice(0, 0))
            continue
        gauss = int(4.0 * params.reference_mm / (2.0 * sp[ax]) + 0.5)
        near = int(np.ceil(params.exclude_mm / sp[ax])) + 1
        m = max(gauss, near, r_px) + 1
        out.append(slice(max(int(idx[0]) - m, 0), min(int(idx[-1]) + 1 + m, within.shape[ax])))
    return out[0], out[1]


def _slice_streaks(
    sl: np.ndarray,
    metal: np.ndarray,
    sp: tuple[float, float],
    *,
    soft_hu: float,
    params: MetalParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    """Streaks of one slice: (streak mask, metal pixels crossed by a streak line,
    replacement map, number of streak lines), or None without any streak line."""
    ds = min(sp)
    ref, dev, tissue, box = _deviation(sl, metal, sp, soft_hu=soft_hu, params=params)
    if tissue.sum() < 100:
        return None
    d = dev[tissue]
    med = float(np.median(d))
    sigma = 1.4826 * float(np.median(np.abs(d - med)))
    sigma = max(sigma, 1e-3)
    img = _image(np.where(tissue, dev, 0.0).astype(np.float32), tissue, sp)

    plab, npieces = ndi.label(metal, np.ones((3, 3), bool))
    if npieces == 0:
        return None
    counts = np.bincount(plab.ravel())[1:]
    order = np.argsort(counts)[::-1][: params.max_pieces_per_slice]
    step_mm = max(ds, params.line_step_mm)
    tissue_xy = np.argwhere(tissue).astype(np.float64) * np.asarray(sp)

    signed = (np.zeros(sl.shape, bool), np.zeros(sl.shape, bool))  # dark, bright
    hit = np.zeros(sl.shape, bool)
    n_lines = 0
    for p in order:
        pix = np.argwhere(plab == p + 1).astype(np.float64) * np.asarray(sp)
        c = pix.mean(axis=0)
        # lines reach the farthest tissue pixel; neighbouring lines are a step apart there
        reach = float(np.sqrt(((tissue_xy - c) ** 2).sum(axis=1).max())) + step_mm
        n_theta = int(np.clip(np.ceil(np.pi * reach / step_mm), 90, 2048))
        theta = np.arange(n_theta) * (np.pi / n_theta)
        u = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # along the line (mm, i/j)
        nrm = np.stack([-np.sin(theta), np.cos(theta)], axis=1)  # across it
        t = np.arange(-reach, reach + step_mm, step_mm)
        proj = (pix - c) @ nrm.T  # (m, n_theta) offsets (mm) of the piece's pixels
        lo, hi = proj.min(axis=0) - 0.5 * ds, proj.max(axis=0) + 0.5 * ds
        th_idx, s_all = _offsets(lo, hi + 1e-9, step_mm)
        # the null: the same lines shifted clear of the piece to either side
        shift = float(np.sqrt(((pix - c) ** 2).sum(axis=1).max()))
        shift += params.exclude_mm + params.reference_mm
        null_means = np.concatenate(
            [
                _line_means(
                    c + (s_all[:, None] + sgn * shift) * nrm[th_idx],
                    u[th_idx],
                    t,
                    img,
                    step_mm,
                    4 * params.mark_window_mm,
                    params.near_mm,
                )
                for sgn in (-1.0, 1.0)
            ]
        )
        if null_means.size < 10:
            continue
        null_med = float(np.median(null_means))
        null = (null_med, 1.4826 * float(np.median(np.abs(null_means - null_med))))
        found = 0
        piece = (np.zeros(sl.shape, bool), np.zeros(sl.shape, bool))
        base = c + s_all[:, None] * nrm[th_idx]
        for rows, cols in _chunks(base, u[th_idx], t, img.bounds_mm):
            found += _mark_lines(
                base[rows],
                u[th_idx[rows]],
                t[cols],
                img,
                step_mm,
                sigma,
                null,
                params,
                piece,
            )
        logger.debug("piece %d: %d of %d lines streak", p, found, s_all.size)
        if found >= params.min_line_fraction * s_all.size:
            signed[0][piece[0]] = True
            signed[1][piece[1]] = True
            n_lines += found
            hit[plab == p + 1] = True
    if n_lines == 0:
        return None
    # on the work box (_work_box): the marks and the tissue lie inside it
    r_px = int(np.ceil(0.5 * step_mm / ds - 1e-6))
    d_box, t_box = dev[box], tissue[box]
    if r_px >= 1:  # lines a step apart on a finer grid: fill the pixels between them
        ball = ndi.generate_binary_structure(2, 1)
        grown_dark = ndi.binary_dilation(signed[0][box], ball, iterations=r_px) & (d_box < 0)
        grown_bright = ndi.binary_dilation(signed[1][box], ball, iterations=r_px) & (d_box > 0)
        m_box = (grown_dark | grown_bright) & t_box
    else:
        m_box = signed[0][box] | signed[1][box]
    mask = np.zeros(sl.shape, bool)
    mask[box] = m_box
    # the tissue around: a Gaussian mean over tissue pixels that are no streak (the
    # values only of the streak pixels are used; beyond the box: ref)
    sig_vx = [params.reference_mm / (2.0 * s) for s in sp]
    clean = t_box & ~m_box
    num = ndi.gaussian_filter(np.where(clean, sl[box], 0.0).astype(np.float32), sig_vx)
    den = ndi.gaussian_filter(clean.astype(np.float32), sig_vx)
    repl = np.array(ref, np.float32, copy=True)
    repl[box] = np.where(den > 1e-3, num / np.maximum(den, 1e-3), ref[box])
    return mask, hit, repl, n_lines


def _offsets(start: np.ndarray, stop: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """``np.arange(start[q], stop[q], step)`` for every ``q`` at once, concatenated:
    (``q`` of each value, the values), the values as ``np.arange`` makes them (its
    length ``ceil((stop - start) / step)``, then ``start``, ``start + step`` and
    ``start + i * ((start + step) - start)``), without a Python loop over up to 2048
    angles per piece and slice."""
    cnt = np.maximum(np.ceil((stop - start) / step), 0).astype(np.intp)
    if cnt.size == 0 or cnt.max() == 0:
        return np.zeros(0, np.intp), np.zeros(0)
    i = np.arange(int(cnt.max()))
    vals = start[:, None] + i[None, :] * ((start + step) - start)[:, None]
    if vals.shape[1] > 1:
        vals[:, 1] = start + step
    take = i[None, :] < cnt[:, None]
    return np.nonzero(take)[0], vals[take]


def _median_reference(
    sl: np.ndarray,
    sp: tuple[float, float],
    width_mm: float,
    step_mm: float,
    *,
    within: np.ndarray | None = None,
) -> np.ndarray:
    """In-plane median over ``width_mm`` (the tissue a streak crosses). On grids finer
    than ``step_mm`` it is taken on block means of about that size and repeated back
    (a 29-pixel median on a 0.3 mm slice costs seconds; the median of 1 mm blocks is
    the same tissue level).

    With ``within`` (bool, the slice's shape) it is taken on the box of those pixels
    only, widened by the median's half window and aligned to the blocks, so that it is
    the whole slice's median on them; beyond that box it is ``sl`` itself, and between
    the two not to be used (float32)."""
    f = [max(1, int(step_mm / s + 1e-6)) for s in sp]
    if f == [1, 1]:
        win = [max(3, 2 * int(round(width_mm / (2 * s))) + 1) for s in sp]
    else:
        win = [
            max(3, 2 * int(round(width_mm / (2 * s * k))) + 1) for s, k in zip(sp, f, strict=True)
        ]
    if within is not None:
        box = []
        for ax in range(2):
            idx = np.flatnonzero(within.any(axis=1 - ax))
            if idx.size == 0:
                return np.asarray(sl, np.float32).copy()
            h = win[ax] // 2 + 1  # blocks (or pixels) beyond the pixels asked for
            a0 = max(0, (int(idx[0]) // f[ax] - h) * f[ax])
            a1 = min(sl.shape[ax], (-(-(int(idx[-1]) + 1) // f[ax]) + h) * f[ax])
            box.append(slice(a0, a1))
        out = np.array(sl, np.float32, copy=True)
        out[box[0], box[1]] = _median_reference(sl[box[0], box[1]], sp, width_mm, step_mm)
        return out
    if f == [1, 1]:
        return np.asarray(ndi.median_filter(sl, size=win, mode="nearest"), np.float32)
    pad = [(-n) % k for n, k in zip(sl.shape, f, strict=True)]
    a = np.pad(sl, ((0, pad[0]), (0, pad[1])), mode="edge")
    coarse = a.reshape(a.shape[0] // f[0], f[0], a.shape[1] // f[1], f[1]).mean(axis=(1, 3))
    med = ndi.median_filter(coarse, size=win, mode="nearest")
    up = np.repeat(np.repeat(med, f[0], axis=0), f[1], axis=1)
    return np.asarray(up[: sl.shape[0], : sl.shape[1]], np.float32)


_CHUNK_POINTS = 1 << 20
"""Sample points scored at once (bounds the memory of the line sampling to ~100 MB)."""


def _chunks(
    base: np.ndarray, u: np.ndarray, t: np.ndarray, bounds_mm: np.ndarray
) -> Iterator[tuple[np.ndarray, slice]]:
    """Lines ``base + t u`` (mm, one row a line) in chunks of at most
    ``_CHUNK_POINTS`` samples: the rows of each chunk, and the columns of ``t`` where
    any of them can sample a pixel within ``bounds_mm`` (``[[i_lo, j_lo], [i_hi,
    j_hi]]``, mm, the tissue's box widened beyond the half pixel a sample rounds to).
    A line samples nothing there outside those columns, so scoring it on them alone is
    scoring it on all of ``t``. Lines with similar columns are chunked together (their
    order does not matter to the callers: counts, masks, medians)."""
    n = base.shape[0]
    t_lo = np.full(n, -np.inf)
    t_hi = np.full(n, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        for ax in range(2):
            a = (bounds_mm[0, ax] - base[:, ax]) / u[:, ax]
            b = (bounds_mm[1, ax] - base[:, ax]) / u[:, ax]
            flat = u[:, ax] == 0  # parallel to the box's side: all or nothing
            inside = (base[:, ax] >= bounds_mm[0, ax]) & (base[:, ax] <= bounds_mm[1, ax])
            lo = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(a, b))
            hi = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(a, b))
            t_lo = np.maximum(t_lo, lo)
            t_hi = np.minimum(t_hi, hi)
    dt = float(t[1] - t[0]) if t.size > 1 else 1.0
    k_lo = np.clip(np.floor((np.maximum(t_lo, t[0] - dt) - t[0]) / dt) - 1, 0, t.size)
    k_hi = np.clip(np.ceil((np.minimum(t_hi, t[-1] + dt) - t[0]) / dt) + 2, 0, t.size)
    empty = ~(k_lo < k_hi)
    k_lo = np.where(empty, 0, k_lo).astype(np.intp)
    k_hi = np.where(empty, 0, k_hi).astype(np.intp)
    order = np.lexsort((k_hi, k_lo // 16))
    rows_per = max(1, _CHUNK_POINTS // max(t.size, 1))
    for a0 in range(0, n, rows_per):
        rows = order[a0 : a0 + rows_per]
        c0, c1 = int(k_lo[rows].min()), int(k_hi[rows].max())
        yield rows, slice(c0, max(c1, c0 + 1))


@dataclass(frozen=True)
class _Image:
    """A slice's scored pixels for the line sampling: flat, with one more element (0)
    that every sample outside the slice reads."""

    dev: np.ndarray  # float32 (n + 1,): deviation (HU) on tissue pixels, 0 elsewhere
    tissue: np.ndarray  # float32 (n + 1,): 1 on tissue pixels, 0 elsewhere
    shape: tuple[int, int]
    sp: tuple[float, float]
    bounds_mm: np.ndarray  # [[i, j] low, [i, j] high] (mm): the tissue's box, widened


def _image(dev_t: np.ndarray, tissue: np.ndarray, sp: tuple[float, float]) -> _Image:
    """:class:`_Image` of a slice's deviation ``dev_t`` (0 off tissue) and tissue mask."""
    n = dev_t.size
    dev = np.zeros(n + 1, np.float32)
    dev[:n] = dev_t.ravel()
    tis = np.zeros(n + 1, np.float32)
    tis[:n] = tissue.ravel()
    # a sample rounds to the pixel within half a pixel: one and a half pixels of margin
    ij = np.argwhere(tissue)
    if ij.size == 0:
        ij = np.zeros((1, 2), np.intp)
    bounds = np.stack([ij.min(axis=0) - 1.5, ij.max(axis=0) + 1.5]) * np.asarray(sp)
    return _Image(
        dev=dev, tissue=tis, shape=(dev_t.shape[0], dev_t.shape[1]), sp=sp, bounds_mm=bounds
    )


def _sample(
    base: np.ndarray, u: np.ndarray, t: np.ndarray, img: _Image
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest-pixel samples of lines ``base + t u`` (mm, one row a line): tissue
    weights, deviations (0 off tissue), and flat pixel indices (``n``, the extra
    element, for samples outside the slice)."""
    n0, n1 = img.shape
    ii = t[None, :] * u[:, None, 0]
    ii += base[:, None, 0]
    ii /= img.sp[0]
    jj = t[None, :] * u[:, None, 1]
    jj += base[:, None, 1]
    jj /= img.sp[1]
    outside = ii <= -0.5
    outside |= ii >= n0 - 0.5
    outside |= jj <= -0.5
    outside |= jj >= n1 - 0.5
    flat = np.rint(ii, out=ii)
    flat *= n1
    flat += np.rint(jj, out=jj)
    del jj
    flat[outside] = n0 * n1
    idx = flat.astype(np.intp)
    return img.tissue[idx], img.dev[idx], idx


def _sides(t: np.ndarray) -> tuple[slice, slice]:
    """Columns of the samples on either side of the metal (t < 0, t > 0), each in
    order from the metal outward."""
    q = int(np.searchsorted(t, 0.0, side="left"))  # t[:q] < 0
    p = int(np.searchsorted(t, 0.0, side="right"))  # t[p:] > 0
    return slice(q - 1, None, -1) if q > 0 else slice(0, 0), slice(p, None)


def _near(
    w: np.ndarray, v: np.ndarray, t: np.ndarray, ds: float, length_mm: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per side of the metal (t < 0, t > 0): the deviations ``v`` of each line's (row's)
    samples within the first ``length_mm`` of tissue (``w > 0``, samples ``ds`` apart)
    from the metal outward, packed to the left of rows padded with +inf (float32), and
    their number per line."""
    lim = length_mm + 1e-6
    k = int(np.floor(lim / ds))  # the most samples c with c * ds <= lim
    while (k + 1) * ds <= lim:
        k += 1
    while k > 0 and k * ds > lim:
        k -= 1
    out = []
    for side in _sides(t):
        tis = w[:, side] > 0
        cum = np.cumsum(tis, axis=1, dtype=np.int32)
        sel = tis & (cum <= k)
        rows, cols = np.nonzero(sel)
        packed = np.full((w.shape[0], max(k, 1)), np.inf, np.float32)
        packed[rows, cum[rows, cols] - 1] = v[:, side][rows, cols]
        out.append((packed, np.bincount(rows, minlength=w.shape[0])))
    return out


def _packed_median(x: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Per row, the median of its first ``cnt`` values (rows of samples padded with
    +inf, in any order); 0 for a row without any."""
    if x.shape[0] == 0:
        return np.zeros(0)
    x = np.sort(x, axis=1)
    rows = np.arange(x.shape[0])
    lo = np.maximum(cnt - 1, 0) // 2
    med = 0.5 * (x[rows, lo].astype(np.float64) + x[rows, np.maximum(cnt // 2, lo)])
    return np.where(cnt > 0, med, 0.0)


def _pooled(near: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Both sides' packed samples in one row per line, and their number."""
    (x0, c0), (x1, c1) = near
    return np.concatenate([x0, x1], axis=1), c0 + c1


def _line_means(
    base: np.ndarray,
    u: np.ndarray,
    t: np.ndarray,
    img: _Image,
    step_mm: float,
    min_len_mm: float,
    near_mm: float,
) -> np.ndarray:
    """Median deviation (HU) over the first ``near_mm`` of tissue on each side of the
    line's middle (``t = 0``), per line long enough in tissue (others omitted; the
    lines in any order)."""
    out = []
    for rows, cols in _chunks(base, u, t, img.bounds_mm):
        w, v, _ = _sample(base[rows], u[rows], t[cols], img)
        n = w.sum(axis=1)
        ok = n * step_mm >= min_len_mm
        out.append(_packed_median(*_pooled(_near(w[ok], v[ok], t[cols], step_mm, near_mm))))
    return np.concatenate(out) if out else np.zeros(0)


_MEDIAN_SE = float(np.sqrt(np.pi / 2.0))
"""Standard error of a median of Gaussian samples over that of their mean."""


def _mean_se(sigma: float, length_mm: np.ndarray, corr_mm: float) -> np.ndarray:
    """Standard error (HU) of a mean along ``length_mm`` of a line whose pixel noise
    ``sigma`` (HU) is correlated over ``corr_mm``: one independent sample per
    ``corr_mm``, at least one."""
    return sigma / np.sqrt(np.maximum(length_mm / corr_mm, 1.0))


def _mark_lines(
    base: np.ndarray,
    u: np.ndarray,
    t: np.ndarray,
    img: _Image,
    step_mm: float,
    sigma: float,
    null: tuple[float, float],
    params: MetalParams,
    masks: tuple[np.ndarray, np.ndarray],
) -> int:
    """Score lines ``base + t u`` (mm, one row a line) on the deviation image against
    the null (median, robust sigma of the same score of lines missing the metal);
    mark their streak pixels in ``masks`` (dark, bright; in place); return the number of
    streak lines. Samples are ``step_mm`` apart."""
    ds = step_mm
    corr = max(params.correlation_mm, ds)
    w, v, idx = _sample(base, u, t, img)
    n = w.sum(axis=1)
    # the median of the line's tissue pixels: a streak shifts most of them; the few
    # pixels of a structure the line crosses (a partial-volume skull edge, an
    # expander's shell) move the mean, not the median
    near = _near(w, v, t, ds, params.near_mm)
    pooled, n_near = _pooled(near)
    mean = _packed_median(pooled, n_near)
    se = _MEDIAN_SE * _mean_se(sigma, n_near * ds, corr)
    good = (np.abs(mean) >= params.line_z * se) & (np.abs(mean) >= params.min_amplitude_hu)
    good &= np.abs(mean - null[0]) >= params.line_z * null[1]
    good &= n * ds >= 4 * params.mark_window_mm
    # an FBP error lies along the whole ray and a streak radiates from the metal: each
    # side of the metal with tissue enough to tell shows it in the tissue next to the
    # metal (anatomy lined up with a dense piece, e.g. a row of teeth, lies on one side;
    # a line that runs along a partial-volume skull edge far from the metal shows
    # nothing near it)
    for side, (x_h, n_h) in zip(_sides(t), near, strict=True):
        mean_h = _packed_median(x_h, n_h)
        se_h = _MEDIAN_SE * _mean_se(sigma, n_h * ds, corr)
        long_h = (w[:, side].sum(axis=1) * ds >= params.side_min_mm) & (n_h > 0)
        agree = (np.sign(mean_h) == np.sign(mean)) & (np.abs(mean_h) >= params.side_z * se_h)
        good &= ~long_h | agree
    gi = np.flatnonzero(good)
    if gi.size == 0:
        return 0
    box = np.ones(max(3, int(round(params.mark_window_mm / ds))), np.float32)
    sgn = np.sign(mean[gi])[:, None]
    wv = ndi.convolve1d(v[gi], box, axis=1, mode="constant")
    ww = ndi.convolve1d(w[gi], box, axis=1, mode="constant")
    loc = wv / np.maximum(ww, 1e-6)
    se_loc = _mean_se(sigma, ww * ds, corr)
    # where the streak shows, and only pixels it explains (a bone or vessel pixel on
    # the line deviates far beyond the streak's local level)
    on = (w[gi] > 0) & (sgn * loc >= params.mark_z * se_loc)
    on &= np.abs(v[gi] - loc) <= params.explained_k * sigma
    at = idx[gi]
    masks[0].ravel()[at[on & (sgn < 0)]] = True
    masks[1].ravel()[at[on & (sgn > 0)]] = True
    return int(gi.size)


def corrected_smooth(
    sm: np.ndarray, raw: np.ndarray, streaks: MetalStreaks, sigma_vx: list[float]
) -> np.ndarray:
    """The smoothed image ``sm`` (Gaussian ``sigma_vx`` of ``raw``) with the streak
    correction smoothed in: ``sm + G(corrected(raw) - raw)`` on the slab of slices it
    reaches (float32; inputs not modified)."""
    ks = np.flatnonzero(streaks.streak.any(axis=(0, 1)))
    out = np.array(sm, dtype=np.float32, copy=True)
    if ks.size == 0:
        return out
    m = int(np.ceil(4.0 * sigma_vx[2])) + 1
    k0, k1 = max(int(ks[0]) - m, 0), min(int(ks[-1]) + m + 1, raw.shape[2])
    delta = np.zeros(raw[:, :, k0:k1].shape, np.float32)
    idx = np.flatnonzero(streaks.streak)
    vals = streaks.replacement - raw.ravel()[idx].astype(np.float32)
    i, j, k = np.unravel_index(idx, raw.shape)
    delta[i, j, k - k0] = vals
    out[:, :, k0:k1] += filters.gaussian_filter(delta, sigma_vx, mode="nearest")
    return out
