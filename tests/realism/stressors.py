"""Real-CT stressors: what real scanners do to a head CT that our synthetic CTs do not.

Every synthetic CT of the project (``twinsep.phantom``, ``tests/independent/phantom2.py``,
``twinsep.realanatomy.synth_ct.labels_to_ct``) is one HU per class, a Gaussian PSF and
white noise. Each function here adds one physical effect of a real scanner to such a CT:

``f(ct_hu, truth_labels, spacing_mm, rng, **strength) -> ct_hu`` (int16 HU, a new array;
the inputs are never modified). :func:`air_cells` also changes the truth (air is label
0) and returns ``(ct_hu, labels)``. The truth labels are used only to know *where* the
physics acts (bone, intracranial space, skin), never to help the segmentation.

Scanner geometry: the acquisition (axial) plane of a CT is the plane of its slices, i.e.
the array's first two axes ``[i, j]`` for every loader of the project (DICOM slices,
NIfTI written from them); in-plane effects (kernel, streaks, noise texture, the
reconstruction field of view) act in those planes. No function assumes which world
direction an axis points to.

Typical magnitudes (defaults) and their sources are documented per function; they come
from textbook CT physics (Hsieh, *Computed Tomography*, 2nd ed., ch. 7 artefacts;
Barrett & Keat, RadioGraphics 2004;24:1679 "Artifacts in CT"; Radiopaedia "beam
hardening"; Kijewski & Judy, Phys Med Biol 1987;32:565 for the FBP noise power spectrum).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import edt
import numpy as np
from scipy import ndimage as ndi

from twinsep import labels as L

INT16_LO, INT16_HI = -32768, 32767

Stressor = Callable[..., np.ndarray]


def _dist_mm(mask: np.ndarray, spacing_mm: tuple[float, float, float]) -> np.ndarray:
    """Distance (mm) of each voxel of ``mask`` to the nearest voxel outside it (0 outside)."""
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    return np.asarray(edt.edt(m, anisotropy=tuple(float(s) for s in spacing_mm)), np.float32)


def _to_int16(hu: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(hu), INT16_LO, INT16_HI).astype(np.int16)


def _blur_inplane(
    a: np.ndarray, spacing_mm: tuple[float, float, float], sigma_mm: float
) -> np.ndarray:
    sig = [sigma_mm / spacing_mm[0], sigma_mm / spacing_mm[1], 0.0]
    return ndi.gaussian_filter(a.astype(np.float32), sig, mode="nearest")


def _blur3(a: np.ndarray, spacing_mm: tuple[float, float, float], sigma_mm: float) -> np.ndarray:
    sig = [sigma_mm / s for s in spacing_mm]
    return ndi.gaussian_filter(a.astype(np.float32), sig, mode="nearest")


# --- 1. sharp (bone) reconstruction kernel ------------------------------------------------


def sharp_kernel(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    amount: float = 1.5,
    sigma_mm: float = 1.0,
    extra_noise_hu: float = 10.0,
) -> np.ndarray:
    """A sharp ("bone", e.g. H70/FC30/Bone) reconstruction kernel.

    Physics: a sharp kernel boosts the mid/high spatial frequencies of the ramp filter,
    which shows as edge enhancement (over- and undershoot beside every edge, 100-300 HU
    next to bone) and as higher, finer noise (bone kernels have 2-4 x the noise of soft
    kernels at the same dose). Modelled in the axial plane as unsharp masking
    ``ct + amount * (ct - G_sigma * ct)`` plus white noise of ``extra_noise_hu``.

    Parameters
    ----------
    amount : float
        Unsharp-mask gain (dimensionless). 1.5 gives 130-200 HU over- and undershoot
        beside a 1000 HU bone step blurred by a 1.5 mm FWHM PSF at 0.5-1.5 mm voxels
        (90 HU at 2.3 mm, where the grid itself blurs the edge), and multiplies white
        noise by 2.0-2.45 at 0.5-1.5 mm voxels (sqrt of the sum of the squared kernel
        weights: 2.45 at 0.5 mm, 2.29 at 1 mm, 2.00 at 1.5 mm, 1.36 at 2.3 mm; bone
        kernels: 2-4 x the soft kernel).
    sigma_mm : float
        Width of the subtracted blur, mm (the scale of the enhanced edge band).
    extra_noise_hu : float
        Sigma of the added white noise, HU (on top of the amplified noise of the CT, so
        that coarse grids, where unsharp masking amplifies little, are noisier too).
    """
    x = ct.astype(np.float32)
    out = x + amount * (x - _blur_inplane(x, spacing_mm, sigma_mm))
    if extra_noise_hu > 0:
        out += rng.normal(0.0, extra_noise_hu, x.shape).astype(np.float32)
    return _to_int16(out)


# --- 2. beam hardening ----------------------------------------------------------------------


def _streak_lines(
    shape2: tuple[int, int],
    spacing2: tuple[float, float],
    p0: np.ndarray,
    p1: np.ndarray,
    width_mm: float,
) -> np.ndarray:
    """Weight in [0, 1] of a band of Gaussian cross-section ``width_mm`` along segment p0-p1
    (in-plane mm coordinates)."""
    ii, jj = np.meshgrid(
        np.arange(shape2[0]) * spacing2[0], np.arange(shape2[1]) * spacing2[1], indexing="ij"
    )
    d = p1 - p0
    n = float(np.hypot(*d))
    if n < 1e-6:
        return np.zeros(shape2, np.float32)
    u = d / n
    rx, ry = ii - p0[0], jj - p0[1]
    t = rx * u[0] + ry * u[1]
    perp = np.abs(rx * u[1] - ry * u[0])
    along = (t >= 0) & (t <= n)
    w = np.exp(-0.5 * (perp / width_mm) ** 2) * along
    return w.astype(np.float32)


def beam_hardening(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    cup_hu: float = 10.0,
    rim_hu: float = 12.0,
    rim_mm: float = 2.0,
    streak_hu: float = 40.0,
    streak_width_mm: float = 2.5,
    dense_min_area_mm2: float = 15.0,
    dense_max_extent_mm: float = 45.0,
) -> np.ndarray:
    """Beam hardening of a polychromatic beam in a skull.

    Physics: low-energy photons are absorbed first, so long paths (through the centre of
    a skull) read lower attenuation than the reconstruction assumes -> *cupping* (brain
    centre 5-15 HU darker than its periphery); the brain beside the inner table reads
    brighter (hardening by the bone plus partial volume of the PSF tail, 5-20 HU in a
    band of ~1-3 mm); rays through two dense structures (petrous bones, the posterior
    fossa) get a non-linear error of the cross term of both path lengths -> dark streaks
    between them (the "Hounsfield bar", tens of HU).

    Model (per connected intracranial space, depth ``d`` mm from the inner table, ``D`` its
    largest depth): ``-cup_hu * (1 - (1 - d/D)^2)`` (parabolic cup, 0 at the rim, exactly
    ``-cup_hu`` at the deepest point) + ``rim_hu * exp(-d / rim_mm)``; in each axial
    slice, a dark band of ``-streak_hu`` (Gaussian cross-section ``streak_width_mm``)
    between the centroids of every pair of compact bone pieces (area >=
    ``dense_min_area_mm2``, extent <= ``dense_max_extent_mm``: petrous bones, clinoids,
    not the vault ring).
    """
    x = ct.astype(np.float32)
    cav = np.isin(labels, (L.BRAIN, L.CSF, L.VESSEL))
    d = _dist_mm(cav, spacing_mm)
    comp, n = ndi.label(cav)
    if n:
        dmax = ndi.maximum(d, comp, index=np.arange(1, n + 1)).astype(np.float32)
        big = np.concatenate([[1.0], np.maximum(dmax, 1e-3)])[comp]
        frac = np.clip(d / big, 0.0, 1.0)
        cup = -cup_hu * (1.0 - (1.0 - frac) ** 2) + rim_hu * np.exp(-d / rim_mm)
        x = x + np.where(cav, cup, 0.0).astype(np.float32)
    if streak_hu > 0:
        bone = labels == L.BONE
        sp2 = (float(spacing_mm[0]), float(spacing_mm[1]))
        px_area = sp2[0] * sp2[1]
        for k in range(x.shape[2]):
            lab2, m = ndi.label(bone[:, :, k])
            if m < 2:
                continue
            idx = np.arange(1, m + 1)
            areas = ndi.sum(np.ones_like(lab2), lab2, idx) * px_area
            objs = ndi.find_objects(lab2)
            keep = []
            for q, (a, sl) in enumerate(zip(areas, objs, strict=True)):
                ext = max((sl[0].stop - sl[0].start) * sp2[0], (sl[1].stop - sl[1].start) * sp2[1])
                if a >= dense_min_area_mm2 and ext <= dense_max_extent_mm:
                    keep.append(q + 1)
            if len(keep) < 2:
                continue
            cents = ndi.center_of_mass(np.ones_like(lab2), lab2, keep)
            w = np.zeros(lab2.shape, np.float32)
            for a_i in range(len(keep)):
                for b_i in range(a_i + 1, len(keep)):
                    p0 = np.array(cents[a_i]) * sp2
                    p1 = np.array(cents[b_i]) * sp2
                    w = np.maximum(w, _streak_lines(lab2.shape, sp2, p0, p1, streak_width_mm))
            x[:, :, k] -= streak_hu * w
    return _to_int16(x)


# --- 3. realistic bone: diploe and air cells ------------------------------------------------


def diploe(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    cortex_mm: float = 1.5,
    cortex_hu: float = 1600.0,
    diploe_hu: float = 500.0,
    diploe_spread_hu: float = 150.0,
    psf_sigma_mm: float = 0.6,
) -> np.ndarray:
    """Trilaminar adult bone: dense cortical tables around a cancellous diploe.

    Physics: the adult calvaria is an outer and an inner table of cortical bone
    (1200-1900 HU, ~1-2 mm each) around the diploe, marrow-filled trabecular bone of
    300-700 HU. Infant calvaria (< 1 year) is a thin unilaminar plate: where the bone is
    thinner than two tables (depth from its surface never exceeds ``cortex_mm``) nothing
    changes, so infant phantoms keep their plates.

    Model: bone voxels deeper than ``cortex_mm`` below the bone surface take ``diploe_hu``
    plus a smooth texture (sigma ``diploe_spread_hu``, 2 mm correlation); the others
    ``cortex_hu``; the change from the CT's own bone level (its 90th percentile in bone)
    is blurred by the PSF (``psf_sigma_mm``) and added.
    """
    bone = labels == L.BONE
    if not bone.any():
        return ct.copy()
    x = ct.astype(np.float32)
    depth = _dist_mm(bone, spacing_mm) - 0.5 * float(min(spacing_mm))
    inner = bone & (depth > cortex_mm)
    level = float(np.percentile(x[bone], 90))
    tex = _blur3(rng.normal(0.0, 1.0, x.shape).astype(np.float32), spacing_mm, 2.0)
    tex /= max(float(tex.std()), 1e-6)
    target = np.where(inner, diploe_hu + diploe_spread_hu * tex, cortex_hu)
    delta = np.where(bone, target - level, 0.0).astype(np.float32)
    return _to_int16(x + _blur3(delta, spacing_mm, psf_sigma_mm))


def air_cells(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    volume_ml: float = 8.0,
    radius_mm: tuple[float, float] = (2.5, 5.0),
    wall_mm: float = 1.0,
    air_hu: float = -1000.0,
    psf_sigma_mm: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """Air-filled cells inside the thickest bone (paranasal sinuses, mastoid cells).

    Physics/anatomy: the frontal/sphenoid sinuses and mastoid air cells are air (-1000
    HU) inside the thick bone of the skull base and face, walled by thin bone (~1 mm);
    adults have ~5-15 mL of them in a head CT (frontal 4-7 mL, sphenoid 5-10 mL,
    mastoid several mL). Infants have almost none (mastoid and frontal pneumatisation
    begin in childhood), which the model reproduces: cells are placed only where a
    sphere of at least ``radius_mm[0]`` fits with ``wall_mm`` of bone around it.

    Truth: the cells become label 0 (DESIGN: air is background). Returns ``(ct, labels)``.
    Cells are spheres placed from the deepest bone first (the skull base), radii drawn
    from ``radius_mm``, until ``volume_ml`` is reached.
    """
    bone = labels == L.BONE
    lab = labels.copy()
    if not bone.any():
        return ct.copy(), lab
    depth = _dist_mm(bone, spacing_mm) - 0.5 * float(min(spacing_mm))
    free = depth - wall_mm
    cand = np.argwhere(free >= radius_mm[0])
    if cand.size == 0:
        return ct.copy(), lab
    order = np.argsort(-free[tuple(cand.T)], kind="stable")
    cand = cand[order]
    vox_ml = float(np.prod(spacing_mm)) / 1000.0
    air = np.zeros(bone.shape, bool)
    sp = np.asarray(spacing_mm, float)
    done_ml = 0.0
    # candidates taken from the deepest down, each new cell centred outside all others
    for c in cand[: max(1, len(cand) // 2)]:
        if done_ml >= volume_ml:
            break
        if air[tuple(c)]:
            continue
        r = min(float(rng.uniform(*radius_mm)), float(free[tuple(c)]))
        if r < radius_mm[0]:
            continue
        rv = np.ceil(r / sp).astype(int)
        lo = np.maximum(c - rv, 0)
        hi = np.minimum(c + rv + 1, bone.shape)
        grid = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
        rr = sum(((g - ci) * s) ** 2 for g, ci, s in zip(grid, c, sp, strict=True))
        ball = (rr <= r * r) & bone[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        if (ball & air[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]).any():
            continue
        air[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] |= ball
        done_ml += float(ball.sum()) * vox_ml
    if not air.any():
        return ct.copy(), lab
    x = ct.astype(np.float32)
    level = float(np.percentile(x[bone], 90))
    delta = np.where(air, air_hu - level, 0.0).astype(np.float32)
    lab[air] = L.BACKGROUND
    return _to_int16(x + _blur3(delta, spacing_mm, psf_sigma_mm)), lab


# --- 4. metal -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetalPlacement:
    """Where :func:`metal_implant` put the implant (voxel centre) and its streak angles."""

    centre_vx: tuple[int, int, int]
    angles_rad: tuple[float, ...]


def place_metal(
    labels: np.ndarray, spacing_mm: tuple[float, float, float], rng: np.random.Generator
) -> tuple[int, int, int]:
    """A scalp voxel on the outer table (a shunt valve lies under the scalp on the skull):
    soft tissue within 2 mm of bone and more than 2 mm from the air outside."""
    soft = labels == L.SOFT_TISSUE
    d_bone = _dist_mm(labels != L.BONE, spacing_mm)
    d_air = _dist_mm(labels != L.BACKGROUND, spacing_mm)
    ok = np.argwhere(soft & (d_bone <= 2.0 + max(spacing_mm)) & (d_air > 2.0))
    if ok.size == 0:
        ok = np.argwhere(soft)
    c = ok[int(rng.integers(len(ok)))]
    return (int(c[0]), int(c[1]), int(c[2]))


def metal_implant(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    size_mm: tuple[float, float, float] = (14.0, 8.0, 5.0),
    metal_hu: float = 3000.0,
    streak_hu: float = 300.0,
    n_streaks: int = 16,
    decay_mm: float = 60.0,
    width_mm: float = 1.0,
    centre_vx: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """A ventricular shunt valve (or any small metal implant) with its streaks.

    Physics: metal (stainless steel/titanium parts of a programmable valve, amalgam
    fillings) stops most photons (photon starvation) and hardens the beam strongly; FBP
    turns the inconsistent projections into bright and dark lines radiating from the
    metal in the axial plane, typically +-100-500 HU near the metal and fading with
    distance. The metal itself reads 3000 HU and more (often clipped at 3071).

    Model: an ellipsoid (``size_mm`` full axes along the voxel axes) of ``metal_hu``
    (PSF-blurred) centred at ``centre_vx`` (default :func:`place_metal`); in every axial
    slice the metal spans, ``n_streaks`` lines through its centre at evenly spaced
    angles (random phase), alternating bright/dark, amplitude
    ``streak_hu * exp(-r / decay_mm)`` and a Gaussian cross-section ``width_mm``.
    The truth label of the implant is left as it was (soft tissue: an implant is not a
    tissue of the label map, and it is < 0.5 mL).
    """
    x = ct.astype(np.float32)
    c = np.asarray(centre_vx if centre_vx is not None else place_metal(labels, spacing_mm, rng))
    sp = np.asarray(spacing_mm, float)
    half = np.asarray(size_mm, float) / 2.0
    rv = np.ceil(half / sp).astype(int) + 2
    lo = np.maximum(c - rv, 0)
    hi = np.minimum(c + rv + 1, x.shape)
    grid = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    rr = sum(((g - ci) * s / h) ** 2 for g, ci, s, h in zip(grid, c, sp, half, strict=True))
    ell = np.zeros(x.shape, np.float32)
    ell[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = (rr <= 1.0).astype(np.float32)
    ell = _blur3(ell, spacing_mm, 0.6)
    x = x + ell * (metal_hu - x)
    phase = float(rng.uniform(0, np.pi / n_streaks))
    angles = phase + np.arange(n_streaks) * np.pi / n_streaks
    ii, jj = np.meshgrid(
        (np.arange(x.shape[0]) - c[0]) * sp[0],
        (np.arange(x.shape[1]) - c[1]) * sp[1],
        indexing="ij",
    )
    r = np.hypot(ii, jj)
    pattern = np.zeros(ii.shape, np.float32)
    for q, th in enumerate(angles):
        perp = np.abs(ii * np.sin(th) - jj * np.cos(th))
        sign = 1.0 if q % 2 == 0 else -1.0
        pattern += sign * np.exp(-0.5 * (perp / width_mm) ** 2).astype(np.float32)
    pattern *= (streak_hu * np.exp(-r / decay_mm)).astype(np.float32)
    k_half = int(np.ceil(half[2] / sp[2]))
    for k in range(max(0, c[2] - k_half), min(x.shape[2], c[2] + k_half + 1)):
        x[:, :, k] += pattern
    return _to_int16(x)


# --- 5. noise that is not white ------------------------------------------------------------


def fbp_noise(
    shape: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    sigma_hu: float,
    peak_cyc_per_mm: float,
) -> np.ndarray:
    """Noise with the in-plane power spectrum of filtered back-projection: the ramp
    filter times a Gaussian apodisation, ``NPS(f) ~ f * exp(-(f/fc)^2)``, peaking at
    ``f = fc / sqrt(2) = peak_cyc_per_mm``; independent between slices; std ``sigma_hu``."""
    w = rng.normal(0.0, 1.0, shape).astype(np.float32)
    fi = np.fft.fftfreq(shape[0], d=spacing_mm[0])
    fj = np.fft.rfftfreq(shape[1], d=spacing_mm[1])
    f = np.hypot(fi[:, None], fj[None, :])
    fc = peak_cyc_per_mm * np.sqrt(2.0)
    amp = np.sqrt(f * np.exp(-((f / fc) ** 2))).astype(np.float32)
    spec = np.fft.rfft2(w, axes=(0, 1)) * amp[:, :, None]
    n = np.fft.irfft2(spec, s=shape[:2], axes=(0, 1)).astype(np.float32)
    n *= sigma_hu / max(float(n.std()), 1e-9)
    return n


def correlated_noise(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    sigma_hu: float = 15.0,
    peak_cyc_per_mm: float = 0.2,
    mu_excess_per_mm: float = 0.025,
    max_gain: float = 2.5,
) -> np.ndarray:
    """FBP-textured noise, stronger in the slices through the skull base.

    Physics: FBP noise is not white: its power spectrum is the ramp filter (rising
    linearly from zero) times the kernel's apodisation, peaking around 0.15-0.35
    cycles/mm for standard head kernels (blotchy, correlated over ~2-4 mm). Its
    variance goes with 1/photons, i.e. with ``exp(integral of mu)``: slices through the
    dense skull base (posterior fossa) see more bone per ray and are noisier.

    Model: :func:`fbp_noise` of std ``sigma_hu``, scaled per axial slice by
    ``exp(mu_excess * (Lb_k - Lb_median) / 2)`` (capped at ``[1, max_gain]``), where
    ``Lb_k`` is the slice's mean bone chord (bone area / sqrt(body area), mm) and
    ``mu_excess_per_mm`` is the attenuation of bone above water at ~70 keV (0.045 vs
    0.02 /mm).
    """
    x = ct.astype(np.float32)
    n = fbp_noise(x.shape, spacing_mm, rng, sigma_hu=sigma_hu, peak_cyc_per_mm=peak_cyc_per_mm)
    gain = slice_noise_gain(
        labels, spacing_mm, mu_excess_per_mm=mu_excess_per_mm, max_gain=max_gain
    )
    return _to_int16(x + n * gain[None, None, :])


def slice_noise_gain(
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    *,
    mu_excess_per_mm: float = 0.025,
    max_gain: float = 2.5,
) -> np.ndarray:
    """Noise std gain per axial slice from its mean bone chord (see :func:`correlated_noise`)."""
    px = float(spacing_mm[0] * spacing_mm[1])
    bone_a = (labels == L.BONE).sum(axis=(0, 1)) * px
    body_a = (labels != L.BACKGROUND).sum(axis=(0, 1)) * px
    has = body_a > 0
    chord = np.zeros(labels.shape[2], np.float64)
    chord[has] = bone_a[has] / np.sqrt(body_a[has])
    med = float(np.median(chord[has])) if has.any() else 0.0
    g = np.exp(mu_excess_per_mm * (chord - med) / 2.0)
    return np.clip(g, 1.0, max_gain).astype(np.float32)


# --- 6. calibration and storage -------------------------------------------------------------


def calibration_offset(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    offset_hu: float = 20.0,
) -> np.ndarray:
    """Scanner drift: every value shifted by ``offset_hu`` (water reads +-20 HU off on a
    scanner out of calibration; ACR accepts water within +-7 HU, drift beyond is seen)."""
    return _to_int16(ct.astype(np.float32) + offset_hu)


def clipped_storage(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    lo_hu: float = -1024.0,
    hi_hu: float = 3071.0,
) -> np.ndarray:
    """12-bit storage: values kept in ``lo_hu..hi_hu`` (DICOM stored 0..4095 with
    rescale intercept -1024), everything outside clipped."""
    return _to_int16(np.clip(ct.astype(np.float32), lo_hu, hi_hu))


def fov_padding(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    pad_hu: float = -3024.0,
    margin_mm: float = 15.0,
) -> np.ndarray:
    """Outside the circular reconstruction field of view the scanner writes a padding
    value (-3024, -2048 or -2000 HU are common). The circle here is centred on the
    body's in-plane bounding box, radius the farthest body voxel + ``margin_mm``; the
    table outside it is cut off as on a real scan."""
    body = labels != L.BACKGROUND
    idx = np.argwhere(body.any(axis=2))
    sp = np.asarray(spacing_mm[:2], float)
    cen = (idx.min(0) + idx.max(0)) / 2.0
    ii, jj = np.meshgrid(np.arange(ct.shape[0]), np.arange(ct.shape[1]), indexing="ij")
    r = np.hypot((ii - cen[0]) * sp[0], (jj - cen[1]) * sp[1])
    rad = float(np.hypot(*((idx - cen) * sp).T).max()) + margin_mm
    out = ct.copy()
    out[r > rad] = int(pad_hu)
    return out


# --- 7. tubes and leads ---------------------------------------------------------------------


def tubes_and_leads(
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    rng: np.random.Generator,
    *,
    tube_outer_mm: float = 7.0,
    tube_wall_mm: float = 1.2,
    tube_hu: float = 150.0,
    wire_mm: float = 1.0,
    wire_hu: float = 2500.0,
) -> np.ndarray:
    """A breathing/feeding tube and an ECG/EEG lead lying on the skin (label 0).

    Physics/setting: infants are scanned intubated with monitoring: a PVC tube (outer
    ~5-8 mm, wall ~1-1.5 mm, 100-300 HU) and insulated copper leads (~1 mm; the wire
    reads thousands of HU, partial volume lowers it) touch the scalp and run out of the
    field. Both are outside the patient (DESIGN: label 0). Model: one straight hollow
    tube along the slice axis and one wire along the first axis, each tangent to the
    skin at a random surface point, drawn only where the truth is background.
    """
    x = ct.astype(np.float32)
    body = labels != L.BACKGROUND
    sp = np.asarray(spacing_mm, float)
    out_d = _dist_mm(~body, spacing_mm)
    surf = np.argwhere(body & (_dist_mm(body, spacing_mm) <= float(sp.max())))
    if surf.size == 0:
        return ct.copy()
    gi = np.gradient(out_d, *sp)
    normals = np.stack([gi[a][tuple(surf.T)] for a in range(3)], axis=1)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
    for kind, axis, diam in (("tube", 2, tube_outer_mm), ("wire", 0, wire_mm)):
        # a straight line along ``axis`` tangent to the skin: a point whose outward
        # normal is nearly perpendicular to the line (else the line would enter the head)
        ok = np.flatnonzero(np.abs(normals[:, axis]) < 0.2)
        pick = ok if ok.size else np.arange(len(surf))
        c = surf[int(pick[rng.integers(len(pick))])]
        g = normals[int(np.flatnonzero((surf == c).all(axis=1))[0])].copy()
        g[axis] = 0.0
        if np.linalg.norm(g) < 1e-6:
            g = np.ones(3)
            g[axis] = 0.0
        g /= np.linalg.norm(g)
        centre = c * sp + g * (diam / 2.0 + 0.5 * float(sp.max()))  # outside, touching skin
        other = [a for a in range(3) if a != axis]
        pts = np.meshgrid(
            *[np.arange(n) * s for n, s in zip(ct.shape, sp, strict=True)], indexing="ij"
        )
        r = np.sqrt(sum((pts[a] - centre[a]) ** 2 for a in other))
        if kind == "tube":
            shell = (r <= diam / 2.0) & (r >= diam / 2.0 - tube_wall_mm)
            val = tube_hu
        else:
            shell = r <= max(diam / 2.0, 0.5 * float(sp.min()))
            val = wire_hu * min(1.0, (diam / float(sp.min())) ** 2)
        shell &= ~body
        frac = _blur3(shell.astype(np.float32), spacing_mm, 0.6)
        x = x + frac * (val - x) * (~body)
    return _to_int16(x)


# --- all together ---------------------------------------------------------------------------

ANATOMY: tuple[str, ...] = ("diploe", "air_cells")
ORDER: tuple[str, ...] = (
    "diploe",
    "air_cells",
    "metal_implant",
    "tubes_and_leads",
    "beam_hardening",
    "sharp_kernel",
    "correlated_noise",
    "calibration_offset",
    "clipped_storage",
)
"""The physical order: anatomy, objects, acquisition, reconstruction, storage."""

STRESSORS: dict[str, Stressor] = {
    "sharp_kernel": sharp_kernel,
    "beam_hardening": beam_hardening,
    "diploe": diploe,
    "metal_implant": metal_implant,
    "correlated_noise": correlated_noise,
    "calibration_offset": calibration_offset,
    "clipped_storage": clipped_storage,
    "fov_padding": fov_padding,
    "tubes_and_leads": tubes_and_leads,
}


def apply(
    names: tuple[str, ...],
    ct: np.ndarray,
    labels: np.ndarray,
    spacing_mm: tuple[float, float, float],
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply stressors ``names`` (in :data:`ORDER`, plus ``air_cells`` and ``fov_padding``)
    with one seeded generator; return ``(ct, truth labels)`` (air cells change the truth)."""
    rng = np.random.default_rng(seed)
    lab = labels
    out = ct
    order = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER]
    for name in order:
        if name == "air_cells":
            out, lab = air_cells(out, lab, spacing_mm, rng)
        else:
            out = STRESSORS[name](out, lab, spacing_mm, rng)
    return out, lab
