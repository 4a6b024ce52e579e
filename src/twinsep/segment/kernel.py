"""Sharp ("bone") reconstruction kernels: detected from the image, undone for brain/CSF.

A sharp kernel (H70, FC30, "Bone") boosts the mid and high spatial frequencies of the
reconstruction plane: every bone edge gets an overshoot on its bright side and an
undershoot of 100-300 HU on its dark side, 1-3 mm wide. Beside the inner table that
undershoot darkens the brain below a thin CSF layer, and the brain/CSF rule reads it as
CSF.

1. **Edge response.** The median CT profile across the inner table, measured from the
   image: cavity voxels face-adjacent to bone, their normal from the gradient of the
   smoothed CT in world mm (the grid's spacing; axes are orthogonal after
   ``twinsep.tilt.check_orthogonal``), the raw CT sampled along it at sub-voxel
   positions (linear interpolation) every ``profile_step_mm``, the median taken over
   edges at each depth. A kernel acts in the slice plane only, so edges facing along
   each array axis are pooled apart; the slice axis is the third (every loader's
   slices) unless another axis's edges dip less by the call's margin (a reformatted
   series), and the edges whose normal lies near the slice plane are pooled for the
   kernel.
2. **Decision.** The undershoot is the brain plateau minus the profile's lowest value
   between the edge and the plateau. Without a kernel that dip is a CSF layer, which
   can lie at most ``csf_max_contrast_hu`` (water under grey matter) below the
   brain, and less over the whole wall. A dip deeper by ``sharp_margin_hu`` is a
   kernel; otherwise nothing changes and the segmentation runs on the CT as it is,
   voxel for voxel.
3. **Compensation.** The in-plane profile is fitted by a blurred plate edge passed
   through an unsharp-mask kernel ``y = x + a (x - G_s x)`` (a, s fitted), whose exact
   inverse in Fourier space, ``1 / (1 + a (1 - G_s(f)))``, lies in (0, 1] for every
   frequency: a stable low-pass that maps the measured response back to a soft one.
   It is applied per slice in the reconstruction plane to a copy of the CT that only
   the brain/CSF rule reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage as ndi
from scipy.optimize import least_squares
from scipy.special import ndtr

from twinsep.segment.histogram import noise_sigma
from twinsep.segment.params import KernelParams

logger = logging.getLogger(__name__)

Spacing = tuple[float, float, float]

#: Reach of the inverse filter in sigmas of its Gaussian (``soften``): its impulse
#: response is a sum of Gaussians of width up to ~4 sigma with weights fading below 1 %.
_REACH_SIGMAS = 15.0


@dataclass(frozen=True)
class EdgeResponse:
    """Pooled CT profile across the inner table (bone -> cavity), in world mm.

    Attributes
    ----------
    depth_mm : ndarray, shape (n,)
        Signed distance along the edge normal from the cavity voxel's centre, mm
        (negative: into the bone).
    profile_hu : ndarray, shape (n,)
        Median over the in-plane edges of the raw CT value at each depth, HU (robust
        to a sinus or ventricle that some normals run into).
    n_edges : int
        In-plane edges found (at most ``max_edges`` of them sampled).
    plateau_hu : float
        Brain plateau: mean of ``profile_hu`` over the plateau depths, HU.
    undershoot_hu : float
        ``plateau_hu`` minus the lowest value between the edge and the plateau, HU.
    across_undershoot_hu : float or None
        The same for edges whose normal lies along the slice axis (None when fewer than
        ``min_edges`` such edges).
    slice_axis : int
        Array axis taken as across the reconstruction plane: 2 (the slices of every
        loader), unless the edges facing along another axis dip less than those along
        axis 2 (or, with too few of those, than those along the third) by more than
        ``sharp_margin_hu`` (then the one that dips least).
    axis_undershoot_hu : tuple of (float or None)
        Undershoot of the edges facing along each array axis, HU.
    """

    depth_mm: np.ndarray
    profile_hu: np.ndarray
    n_edges: int
    plateau_hu: float
    undershoot_hu: float
    across_undershoot_hu: float | None
    slice_axis: int = 2
    axis_undershoot_hu: tuple[float | None, ...] = (None, None, None)


@dataclass(frozen=True)
class SharpKernel:
    """A sharp kernel found in a CT and the in-plane filter that undoes it.

    Attributes
    ----------
    response : EdgeResponse
        The measured edge response.
    gain : float
        Fitted unsharp-mask gain ``a`` (dimensionless).
    sigma_mm : float
        Fitted width ``s`` of the subtracted blur, mm.
    """

    response: EdgeResponse
    gain: float
    sigma_mm: float

    def warning(self) -> str:
        """The plan warning (one line)."""
        return (
            f"sharp (bone) reconstruction kernel detected (edge undershoot "
            f"{self.response.undershoot_hu:.0f} HU beside the inner table); brain/CSF labels "
            "were computed on a smoothed copy; use a soft-tissue kernel series if available"
        )

    def soften(
        self, raw: np.ndarray, spacing_mm: Spacing, within: np.ndarray | None = None
    ) -> np.ndarray:
        """``raw`` through the inverse kernel, per slice in the reconstruction plane
        (across ``response.slice_axis``).

        Parameters
        ----------
        raw : ndarray, shape (I, J, K)
            CT (HU); not modified.
        spacing_mm : length-3 tuple of float
            Voxel size (mm) along i, j, k.
        within : ndarray of bool, shape (I, J, K), optional
            Only the bounding box of these voxels, grown in-plane by the filter's reach
            (taken from the CT around it), is filtered; the rest is ``raw`` as float32.

        Returns
        -------
        ndarray of float32, shape (I, J, K)
        """
        ax_k = self.response.slice_axis
        order = [a for a in range(3) if a != ax_k] + [ax_k]  # slice axis last
        sp = (spacing_mm[order[0]], spacing_mm[order[1]], spacing_mm[order[2]])
        r = np.moveaxis(raw, ax_k, 2)
        out = np.array(r, dtype=np.float32, order="C")
        box = [slice(0, n) for n in r.shape]
        if within is not None and within.any():
            w = np.moveaxis(within, ax_k, 2)
            for ax in range(3):
                other = tuple(a for a in range(3) if a != ax)
                idx = np.flatnonzero(w.any(axis=other))
                grow = 0 if ax == 2 else int(np.ceil(_REACH_SIGMAS * self.sigma_mm / sp[ax]))
                box[ax] = slice(max(0, idx[0] - grow), min(r.shape[ax], idx[-1] + 1 + grow))
        b = tuple(box)
        out[b] = soften(r[b], sp, gain=self.gain, sigma_mm=self.sigma_mm)
        return np.moveaxis(out, 2, ax_k)


def soften(
    raw: np.ndarray,
    spacing_mm: Spacing,
    *,
    gain: float,
    sigma_mm: float,
    reach_sigmas: float = _REACH_SIGMAS,
    slab: int = 16,
) -> np.ndarray:
    """Apply ``1 / (1 + gain (1 - G_sigma(f)))`` in the (i, j) plane of every slice.

    ``G_sigma(f) = exp(-2 pi^2 sigma^2 |f|^2)`` is the transfer function of a Gaussian
    of ``sigma_mm``; the filter is 1 at f = 0 (means kept) and in (0, 1] everywhere for
    ``gain >= 0``. Its impulse response is ``sum_n r^n G_{sigma sqrt(n)} / (1 + gain)``
    with ``r = gain / (1 + gain)`` (0.75 at gain 3: the terms fade below 1 % by n ~ 16,
    width 4 sigma), so each slice is mirrored at its borders by ``reach_sigmas`` sigmas
    (at most its own size) before the FFT, which keeps wrap-around out of the image.
    Slices are transformed ``slab`` at a time, in single precision.

    Parameters
    ----------
    raw : ndarray, shape (I, J, K)
        CT (HU); not modified.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    gain : float
        Unsharp-mask gain ``a`` (>= 0).
    sigma_mm : float
        Width of its Gaussian (mm, > 0).
    reach_sigmas : float
        Mirrored border, in ``sigma_mm`` (> 0).
    slab : int
        Slices per FFT batch (>= 1).

    Returns
    -------
    ndarray of float32, shape (I, J, K)
    """
    if gain < 0 or sigma_mm <= 0:
        raise ValueError(f"gain {gain} must be >= 0 and sigma_mm {sigma_mm} > 0")
    ni, nj = raw.shape[0], raw.shape[1]
    pi = min(ni, int(np.ceil(reach_sigmas * sigma_mm / spacing_mm[0])))
    pj = min(nj, int(np.ceil(reach_sigmas * sigma_mm / spacing_mm[1])))
    shape = (
        sp_fft.next_fast_len(ni + 2 * pi, real=True),
        sp_fft.next_fast_len(nj + 2 * pj, real=True),
    )
    fi = np.fft.fftfreq(shape[0], d=spacing_mm[0])[:, None]
    fj = np.fft.rfftfreq(shape[1], d=spacing_mm[1])[None, :]
    g = np.exp(-2.0 * np.pi**2 * sigma_mm**2 * (fi**2 + fj**2))
    h = (1.0 / (1.0 + gain * (1.0 - g))).astype(np.float32)[:, :, None]
    out = np.empty(raw.shape, np.float32)
    for k0 in range(0, raw.shape[2], slab):
        sl = raw[:, :, k0 : k0 + slab].astype(np.float32)
        m = np.zeros((*shape, sl.shape[2]), np.float32)
        m[: ni + 2 * pi, : nj + 2 * pj] = np.pad(sl, ((pi, pi), (pj, pj), (0, 0)), mode="symmetric")
        spec = sp_fft.rfft2(m, axes=(0, 1), workers=-1)
        spec *= h
        back = sp_fft.irfft2(spec, s=shape, axes=(0, 1), workers=-1)
        out[:, :, k0 : k0 + slab] = back[pi : pi + ni, pj : pj + nj]
    return out


def _edge_points(
    bone: np.ndarray, cavity: np.ndarray, params: KernelParams
) -> tuple[np.ndarray, ...]:
    """Indices of cavity voxels face-adjacent to bone, on a sub-grid of the cavity."""
    n = cavity.size
    step = max(1, int(round((n / params.max_scanned_vx) ** (1.0 / 3.0))))
    sub = cavity[::step, ::step, ::step]
    idx = [a * step for a in np.nonzero(sub)]
    shape = cavity.shape
    keep = np.zeros(idx[0].size, bool)
    for ax in range(3):
        for d in (-1, 1):
            q = list(idx)
            q[ax] = np.clip(idx[ax] + d, 0, shape[ax] - 1)
            keep |= bone[q[0], q[1], q[2]]
    inside = np.ones(idx[0].size, bool)
    for ax in range(3):
        inside &= (idx[ax] > 0) & (idx[ax] < shape[ax] - 1)
    keep &= inside
    return tuple(a[keep] for a in idx)


def _undershoot(depth: np.ndarray, mean: np.ndarray, params: KernelParams) -> tuple[float, float]:
    """(plateau HU, plateau minus the lowest value between edge and plateau, HU)."""
    plat = (depth >= params.plateau_mm[0]) & (depth <= params.plateau_mm[1])
    near = (depth >= 0.0) & (depth < params.plateau_mm[0])
    level = float(mean[plat].mean())
    return level, level - float(mean[near].min())


def _depths(params: KernelParams) -> np.ndarray:
    """Depths (mm) along the edge normal at which profiles are sampled."""
    return np.arange(
        params.profile_mm[0],
        params.profile_mm[1] + 0.5 * params.profile_step_mm,
        params.profile_step_mm,
    )


def _edge_normals(
    smooth: np.ndarray,
    bone: np.ndarray,
    cavity: np.ndarray,
    spacing_mm: Spacing,
    params: KernelParams,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Centres (3, n; voxel indices) of the cavity voxels beside bone and their unit
    normals (3, n; world mm, pointing into the cavity, from the gradient of ``smooth``);
    None when fewer than ``params.min_edges`` such voxels are found."""
    pts = _edge_points(bone, cavity, params)
    if pts[0].size < params.min_edges:
        return None
    sp = np.asarray(spacing_mm, float)
    grad = np.empty((3, pts[0].size))
    for ax in range(3):
        hi = list(pts)
        lo = list(pts)
        hi[ax] = pts[ax] + 1
        lo[ax] = pts[ax] - 1
        grad[ax] = (smooth[hi[0], hi[1], hi[2]].astype(float) - smooth[lo[0], lo[1], lo[2]]) / (
            2.0 * sp[ax]
        )
    norm = np.sqrt((grad**2).sum(axis=0))
    ok = norm > 0
    nrm = -grad[:, ok] / norm[ok]  # unit normal in mm, pointing into the cavity
    centre = np.stack([p[ok] for p in pts]).astype(float)
    return centre, nrm


def _pooled_profile(
    raw: np.ndarray,
    centre: np.ndarray,
    nrm: np.ndarray,
    sel: np.ndarray,
    depth: np.ndarray,
    spacing_mm: Spacing,
    params: KernelParams,
) -> np.ndarray:
    """Median over the edges in ``sel`` (at most ``params.max_edges``, evenly) of ``raw``
    sampled along their normals at ``depth`` (mm; linear interpolation)."""
    sp = np.asarray(spacing_mm, float)
    idx = np.flatnonzero(sel)
    idx = idx[:: max(1, -(-idx.size // params.max_edges))]  # evenly, at most max_edges
    c = centre[:, idx]
    n = nrm[:, idx]
    coords = c[:, :, None] + (n / sp[:, None])[:, :, None] * depth[None, None, :]
    vals = ndi.map_coordinates(raw, coords.reshape(3, -1), order=1, mode="nearest", prefilter=False)
    return np.asarray(np.median(vals.reshape(c.shape[1], depth.size), axis=0))


def axis_profiles(
    raw: np.ndarray,
    smooth: np.ndarray,
    bone: np.ndarray,
    cavity: np.ndarray,
    spacing_mm: Spacing,
    params: KernelParams = KernelParams(),
) -> tuple[np.ndarray, tuple[np.ndarray | None, ...]]:
    """Pooled (median) CT profiles across the inner table, one per array axis.

    The edges of :func:`edge_response` (cavity voxels beside bone, normals from the
    gradient of ``smooth``) whose normal lies within ``params.across_min_cos`` of an
    axis are pooled for that axis: the edge's spread along each axis of the grid,
    which differs on thick slices or a scanner whose slice profile is wider than its
    in-plane blur.

    Parameters
    ----------
    raw, smooth : ndarray, shape (I, J, K)
        CT (HU) and its smoothed copy (may be the same array).
    bone, cavity : ndarray of bool, shape (I, J, K)
        Bone and cranial cavity.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    params : KernelParams

    Returns
    -------
    (ndarray, tuple of (ndarray or None))
        Depths (mm, negative into the bone) and, per axis, the profile (HU) at them, or
        None when fewer than ``params.min_edges`` edges face along that axis.
    """
    depth = _depths(params)
    got = _edge_normals(smooth, bone, cavity, spacing_mm, params)
    if got is None:
        return depth, (None, None, None)
    centre, nrm = got
    out: list[np.ndarray | None] = []
    for ax in range(3):
        sel = np.abs(nrm[ax]) >= params.across_min_cos
        out.append(
            _pooled_profile(raw, centre, nrm, sel, depth, spacing_mm, params)
            if int(sel.sum()) >= params.min_edges
            else None
        )
    return depth, tuple(out)


def edge_response(
    raw: np.ndarray,
    smooth: np.ndarray,
    bone: np.ndarray,
    cavity: np.ndarray,
    spacing_mm: Spacing,
    params: KernelParams = KernelParams(),
) -> EdgeResponse | None:
    """Pooled (median) raw CT profile across the inner table, in world mm (module
    docstring, 1).

    Parameters
    ----------
    raw : ndarray, shape (I, J, K)
        CT (HU).
    smooth : ndarray, shape (I, J, K)
        The CT smoothed by a few tenths of a mm to a mm (for the edge normals).
    bone, cavity : ndarray of bool, shape (I, J, K)
        Bone and cranial cavity.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    params : KernelParams

    Returns
    -------
    EdgeResponse or None
        None when fewer than ``params.min_edges`` in-plane edges are found.
    """
    got = _edge_normals(smooth, bone, cavity, spacing_mm, params)
    if got is None:
        return None
    centre, nrm = got
    depth = _depths(params)

    def pooled(sel: np.ndarray) -> np.ndarray:
        return _pooled_profile(raw, centre, nrm, sel, depth, spacing_mm, params)

    # per axis, the dip of edges facing along it: a kernel acts in the slice plane, so
    # the axis with the shallowest dip is the slice axis; the third (every loader's
    # slices) unless another dips shallower by the call's margin (a reformatted series)
    per_axis: list[float | None] = []
    for ax in range(3):
        sel = np.abs(nrm[ax]) >= params.across_min_cos
        per_axis.append(
            _undershoot(depth, pooled(sel), params)[1]
            if int(sel.sum()) >= params.min_edges
            else None
        )
    known = [(u, ax) for ax, u in enumerate(per_axis) if u is not None]
    slice_axis = 2
    if len(known) >= 2:
        low, ax_low = min(known)
        u2 = per_axis[2]
        ref = u2 if u2 is not None else max(known)[0]  # too few edges along axis 2
        if ref - low > params.sharp_margin_hu:
            slice_axis = ax_low
    in_plane = np.abs(nrm[slice_axis]) <= params.in_plane_max_cos
    n_in = int(in_plane.sum())
    if n_in < params.min_edges:
        return None
    prof = pooled(in_plane)
    level, under = _undershoot(depth, prof, params)
    return EdgeResponse(
        depth, prof, n_in, level, under, per_axis[slice_axis], slice_axis, tuple(per_axis)
    )


def _edge_model(p: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Plate edge blurred by w, through ``x + a (x - G_s x)``; p = (B, b, t0, w, a, s)."""
    bone, level, t0, w, a, s = p
    w2 = np.sqrt(w * w + s * s)
    soft_edge = ndtr((t0 - depth) / w)
    wide_edge = ndtr((t0 - depth) / w2)
    return np.asarray(level + (bone - level) * ((1 + a) * soft_edge - a * wide_edge))


def fit_kernel(resp: EdgeResponse, params: KernelParams = KernelParams()) -> tuple[float, float]:
    """Unsharp-mask gain and sigma (mm) that best explain the measured edge response.

    The fit runs from the profile's peak (the inner table) into the cavity: a blurred
    step from a bone level to the plateau, through ``x + a (x - G_s x)``.
    """
    d, m = resp.depth_mm, resp.profile_hu
    ipk = int(np.argmax(np.where(d <= 0.5, m, -np.inf)))
    sel = d >= d[ipk]
    dd, mm = d[sel], m[sel]
    p0 = np.array([m[ipk] + 100.0, resp.plateau_hu, d[ipk] + 0.5, 0.5, 1.0, 1.0])
    lo = np.array([resp.plateau_hu, resp.plateau_hu - 100.0, d[ipk], 0.05, 0.0, 0.2])
    hi = np.array(
        [5000.0, resp.plateau_hu + 100.0, params.plateau_mm[0], 5.0, params.max_gain, 5.0]
    )
    fit = least_squares(lambda p: _edge_model(p, dd) - mm, p0, bounds=(lo, hi))
    return float(fit.x[4]), float(fit.x[5])


def detect_sharp_kernel(
    raw: np.ndarray,
    smooth: np.ndarray,
    bone: np.ndarray,
    cavity: np.ndarray,
    spacing_mm: Spacing,
    *,
    csf_max_contrast_hu: float,
    params: KernelParams = KernelParams(),
) -> SharpKernel | None:
    """A sharp reconstruction kernel in this CT, or None (module docstring, 1-3).

    Parameters
    ----------
    raw, smooth : ndarray, shape (I, J, K)
        CT (HU) and its smoothed copy.
    bone, cavity : ndarray of bool, shape (I, J, K)
        Bone and cranial cavity.
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    csf_max_contrast_hu : float
        Deepest a CSF layer can lie below brain (HU; ``SegmentParams``).
    params : KernelParams

    Returns
    -------
    SharpKernel or None
        None when no kernel is seen (then nothing is to be changed).
    """
    resp = edge_response(raw, smooth, bone, cavity, spacing_mm, params)
    if resp is None:
        logger.debug("kernel: too few inner-table edges to measure")
        return None
    logger.debug(
        "kernel: inner-table undershoot %.1f HU in-plane (%d edges), %s across",
        resp.undershoot_hu,
        resp.n_edges,
        "n/a" if resp.across_undershoot_hu is None else f"{resp.across_undershoot_hu:.1f} HU",
    )
    if resp.undershoot_hu <= csf_max_contrast_hu + params.sharp_margin_hu:
        return None
    gain, sigma = fit_kernel(resp, params)
    logger.debug("kernel: fitted gain %.2f sigma %.2f mm", gain, sigma)
    return SharpKernel(resp, gain, sigma)


def brain_csf_input(
    raw: np.ndarray,
    smooth: np.ndarray,
    bone: np.ndarray,
    cavity: np.ndarray,
    spacing_mm: Spacing,
    *,
    noise_hu: float,
    soft_hu: float,
    csf_max_contrast_hu: float,
    params: KernelParams = KernelParams(),
) -> tuple[np.ndarray, float, SharpKernel | None]:
    """The CT and noise sigma the brain/CSF rule should read, and the kernel if any.

    Without a sharp kernel ``raw`` and ``noise_hu`` come back unchanged (the same
    objects). With one, ``raw`` is softened (:meth:`SharpKernel.soften`) and the noise
    sigma scaled by the ratio of the neighbour-difference noise of the softened and the
    raw CT over the cavity's soft-tissue voxels (on at most 64 planes).

    Parameters
    ----------
    raw, smooth : ndarray, shape (I, J, K)
        CT (HU; not modified) and its lightly smoothed copy.
    bone, cavity : ndarray of bool, shape (I, J, K)
        Bone and cranial cavity (vessels excluded).
    spacing_mm : length-3 tuple of float
        Voxel size (mm).
    noise_hu : float
        Noise sigma of ``raw`` (HU).
    soft_hu : float
        Soft-tissue peak (HU).
    csf_max_contrast_hu : float
        Deepest a CSF layer lies below brain (HU).
    params : KernelParams

    Returns
    -------
    (ndarray, float, SharpKernel or None)
    """
    kern = detect_sharp_kernel(
        raw,
        smooth,
        bone,
        cavity,
        spacing_mm,
        csf_max_contrast_hu=csf_max_contrast_hu,
        params=params,
    )
    if kern is None:
        return raw, noise_hu, None
    soft = kern.soften(raw, spacing_mm, within=cavity)
    step = max(1, raw.shape[2] // 64)
    m = cavity[:, :, ::step] & (np.abs(raw[:, :, ::step].astype(np.float32) - soft_hu) < 150)
    lag = max(1, int(round(params.noise_lag_mm / spacing_mm[0])))
    m = m[::lag]
    before = noise_sigma(raw[::lag, :, ::step], m)
    after = noise_sigma(soft[::lag, :, ::step], m)
    scale = after / before if before > 0 else 1.0
    logger.debug("kernel: noise %.1f -> %.1f HU after softening", noise_hu, noise_hu * scale)
    return soft, noise_hu * scale, kern
