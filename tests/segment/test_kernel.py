"""Sharp (bone) reconstruction kernels (``segment.kernel``).

A head is generated here (not imported from the phantom code): scalp, a 3 mm skull,
a 2 mm CSF layer, brain and two ventricles, rendered with 2x2x2 sub-voxel partial
volume on a 1 mm grid, white noise and a soft-kernel PSF (Gaussian, FWHM 1.2 mm: a
soft kernel's noise is positively correlated). Two physically different sharp kernels
then act in the slice plane (the array's first two axes):

* ``unsharp``: ``x + 1.5 (x - G_1mm x)`` plus 10 HU white noise (the form of
  tests/realism ``sharp_kernel``, whose inverse the module fits);
* ``mtf``: a Fourier-domain MTF with a mid-frequency boost,
  ``1 + 2 (f/fp)^2 exp(1 - (f/fp)^2)`` at fp = 0.3 cycles/mm (peak gain 3), then
  rolled off by ``exp(-(f/0.9)^4)``: not an unsharp mask, so the fit only approximates
  it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from seg_metrics import dice
from twinsep import labels as L
from twinsep.segment import kernel as K
from twinsep.segment import segment_ct
from twinsep.segment.params import KernelParams, SegmentParams
from twinsep.volume import Volume

H_MM = 1.0
N = 96
SCALP_HU, BONE_HU, CSF_HU, BRAIN_HU = 40.0, 1000.0, 8.0, 35.0
OFF = SegmentParams(kernel=KernelParams(sharp_margin_hu=1e9))  # the rule never fires


def _tissue(ijk: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(HU, truth label) at voxel coordinates ``ijk`` (..., 3)."""
    p = (ijk - centre) * H_MM
    # an ellipsoidal head (semi-axes of the inner table 38, 34, 32 mm)
    axes_in = np.array([38.0, 34.0, 32.0])
    rho = np.sqrt(((p / axes_in) ** 2).sum(-1))  # 1 on the inner table
    mean_r = 34.0
    d = (rho - 1.0) * mean_r  # ~signed distance from the inner table, mm
    vent = np.zeros(rho.shape, bool)
    for cx in (-7.0, 7.0):
        q = (p - np.array([cx, 4.0, 4.0])) / np.array([4.0, 12.0, 6.0])
        vent |= (q**2).sum(-1) < 1.0
    hu = np.full(rho.shape, -1000.0)
    lab = np.zeros(rho.shape, np.uint8)
    for lo, hi, v, t in (
        (-1e9, -2.0, BRAIN_HU, L.BRAIN),
        (-2.0, 0.0, CSF_HU, L.CSF),
        (0.0, 3.0, BONE_HU, L.BONE),
        (3.0, 8.0, SCALP_HU, L.SOFT_TISSUE),
    ):
        m = (d >= lo) & (d < hi)
        hu[m], lab[m] = v, t
    inb = vent & (d < -2.0)
    hu[inb], lab[inb] = CSF_HU, L.CSF
    return hu, lab


def _head(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(soft-kernel CT float32, truth labels) of the generated head."""
    rng = np.random.default_rng(seed)
    centre = (N - 1) / 2 + rng.uniform(-0.5, 0.5, 3)
    grid = np.stack(np.meshgrid(*[np.arange(N, dtype=np.float64)] * 3, indexing="ij"), -1)
    acc = np.zeros((N, N, N))
    for off in np.array(np.meshgrid(*[[-0.25, 0.25]] * 3)).reshape(3, -1).T:
        acc += _tissue(grid + off, centre)[0]
    truth = _tissue(grid, centre)[1]
    noisy = acc / 8.0 + rng.normal(0.0, 20.0, acc.shape)
    sigma_vx = 1.2 / 2.3548 / H_MM  # soft kernel: PSF FWHM 1.2 mm
    return ndi.gaussian_filter(noisy, sigma_vx, mode="nearest").astype(np.float32), truth


def _unsharp(ct: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    blur = ndi.gaussian_filter(ct, [1.0 / H_MM, 1.0 / H_MM, 0.0], mode="nearest")
    return (ct + 1.5 * (ct - blur) + rng.normal(0.0, 10.0, ct.shape)).astype(np.float32)


def _mtf(ct: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    fi = np.fft.fftfreq(2 * N, d=H_MM)[:, None]
    fj = np.fft.rfftfreq(2 * N, d=H_MM)[None, :]
    f = np.sqrt(fi**2 + fj**2)
    t = 1.0 + 2.0 * (f / 0.3) ** 2 * np.exp(1.0 - (f / 0.3) ** 2)
    t *= np.exp(-((f / 0.9) ** 4))
    out = np.empty_like(ct)
    for k in range(ct.shape[2]):
        sl = ct[:, :, k]
        m = np.concatenate([sl, sl[::-1]], 0)
        m = np.concatenate([m, m[:, ::-1]], 1)
        out[:, :, k] = np.fft.irfft2(np.fft.rfft2(m) * t, s=m.shape)[:N, :N]
    return out + rng.normal(0.0, 10.0, ct.shape).astype(np.float32)


def _volume(ct: np.ndarray) -> Volume:
    return Volume(np.round(ct).astype(np.int16), np.diag([H_MM, H_MM, H_MM, 1.0]), {})


@pytest.fixture(scope="module")
def heads() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    ct, truth = _head(0)
    rng = np.random.default_rng(1)
    return {
        "soft": (ct, truth),
        "unsharp": (_unsharp(ct, rng), truth),
        "mtf": (_mtf(ct, rng), truth),
    }


def _cavity_bone(truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return truth == L.BONE, np.isin(truth, (L.BRAIN, L.CSF))


def _smooth(ct: np.ndarray) -> np.ndarray:
    return ndi.gaussian_filter(ct, 0.6 / H_MM, mode="nearest").astype(np.float32)


def test_soften_inverts_an_unsharp_mask() -> None:
    # exact inverse: a smooth random image through x + a (x - G_s x) (in-plane, the
    # mirror boundary the FFT padding assumes) and back, to a fraction of a HU out of
    # ~1000 HU; a wrong frequency grid or spacing leaves tens of HU
    rng = np.random.default_rng(3)
    sp = (0.7, 0.9, 2.0)
    x = ndi.gaussian_filter(rng.normal(0, 1, (96, 80, 6)), [2, 2, 0]) * 3000.0
    a, s_mm = 1.5, 1.2
    y = x + a * (x - ndi.gaussian_filter(x, [s_mm / sp[0], s_mm / sp[1], 0.0], mode="reflect"))
    before = y.copy()
    back = K.soften(y, sp, gain=a, sigma_mm=s_mm)
    assert np.array_equal(y, before)  # input not modified
    assert np.abs(y - x).max() > 100.0  # the kernel did act
    assert np.abs(back - x).max() < 1.0
    # bounded by 1: white noise comes out quieter, the mean kept
    w = rng.normal(0.0, 10.0, (64, 64, 4))
    ws = K.soften(w, (1.0, 1.0, 1.0), gain=2.0, sigma_mm=1.0)
    assert ws.std() < 0.8 * w.std()
    assert abs(ws.mean() - w.mean()) < 1e-3
    with pytest.raises(ValueError):
        K.soften(w, (1.0, 1.0, 1.0), gain=-1.0, sigma_mm=1.0)
    # filtering only a box (grown by the filter's reach from the CT around it) gives
    # the whole-image result inside it, and leaves the rest as it was
    within = np.zeros(y.shape, bool)
    within[40:50, 30:40, 2:4] = True  # grown box: i 14-76, j 10-60 of 96 x 80
    resp = K.EdgeResponse(np.zeros(1), np.zeros(1), 0, 0.0, 100.0, None)  # slice axis 2
    kern = K.SharpKernel(response=resp, gain=a, sigma_mm=s_mm)
    part = kern.soften(y, sp, within=within)
    assert np.abs(part[within] - K.soften(y, sp, gain=a, sigma_mm=s_mm)[within]).max() < 0.5
    assert np.array_equal(part[:, :, 0], y[:, :, 0].astype(np.float32))
    assert np.array_equal(part[:10, :, 2], y[:10, :, 2].astype(np.float32))


def test_edge_response_soft_head(heads: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    ct, truth = heads["soft"]
    bone, cav = _cavity_bone(truth)
    r = K.edge_response(ct, _smooth(ct), bone, cav, (H_MM, H_MM, H_MM))
    assert r is not None and r.n_edges > 1000
    # the plateau is the brain's HU (noise after the PSF ~5 HU, median of thousands)
    assert abs(r.plateau_hu - BRAIN_HU) < 3.0
    # a 2 mm CSF layer (27 HU below brain) under a soft PSF: the dip is that layer,
    # blurred, never deeper than brain - CSF
    assert 5.0 < r.undershoot_hu < BRAIN_HU - CSF_HU
    # the profile peaks in the bone (over 500 HU within 3 mm of the wall)
    assert r.profile_hu[r.depth_mm <= 0].max() > 500.0


@pytest.mark.parametrize("kind", ["unsharp", "mtf"])
def test_detects_both_kernel_models(
    heads: dict[str, tuple[np.ndarray, np.ndarray]], kind: str
) -> None:
    ct, truth = heads[kind]
    bone, cav = _cavity_bone(truth)
    sp = (H_MM, H_MM, H_MM)
    before = ct.copy()
    out, noise, kern = K.brain_csf_input(
        ct, _smooth(ct), bone, cav, sp, noise_hu=30.0, soft_hu=SCALP_HU, csf_max_contrast_hu=40.0
    )
    assert np.array_equal(ct, before)
    assert kern is not None
    r = kern.response
    # in the slice plane the undershoot is 100-300 HU (bone kernels); edges facing the
    # slice axis (within 32 deg) see only the in-plane part of their normal: measured
    # 0.17 (unsharp) and 0.20 (mtf) of it, where an isotropic effect would give ~1
    assert r.undershoot_hu > 100.0
    assert r.across_undershoot_hu is not None
    assert r.across_undershoot_hu < 0.3 * r.undershoot_hu
    assert 0.0 < kern.gain <= KernelParams().max_gain and kern.sigma_mm > 0.2
    assert noise < 30.0  # the softened copy is quieter
    # after softening the measured dip is one a CSF layer can make (below the call)
    r2 = K.edge_response(out, _smooth(out), bone, cav, sp)
    assert r2 is not None and r2.undershoot_hu < 40.0 + KernelParams().sharp_margin_hu
    assert "sharp (bone) reconstruction kernel detected" in kern.warning()
    assert f"{r.undershoot_hu:.0f} HU" in kern.warning()


def test_soft_head_is_left_alone(heads: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    ct, truth = heads["soft"]
    bone, cav = _cavity_bone(truth)
    out, noise, kern = K.brain_csf_input(
        ct,
        _smooth(ct),
        bone,
        cav,
        (H_MM,) * 3,
        noise_hu=7.0,
        soft_hu=SCALP_HU,
        csf_max_contrast_hu=40.0,
    )
    assert kern is None and out is ct and noise == 7.0


def test_axes_and_orientation(heads: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    # swapping the two in-plane axes and mirroring one (another patient orientation,
    # same slice plane) measures the same undershoot; with the slice plane turned to the
    # array's (j, k) plane (a reformatted series) the kernel is found there
    ct, truth = heads["unsharp"]
    bone, cav = _cavity_bone(truth)
    sp = (H_MM,) * 3
    r = K.edge_response(ct, _smooth(ct), bone, cav, sp)
    assert r is not None and r.slice_axis == 2
    ct2 = np.ascontiguousarray(ct.transpose(1, 0, 2)[::-1])
    b2, c2 = bone.transpose(1, 0, 2)[::-1], cav.transpose(1, 0, 2)[::-1]
    r2 = K.edge_response(ct2, _smooth(ct2), b2, c2, sp)
    assert r2 is not None and r2.slice_axis == 2
    assert abs(r.undershoot_hu - r2.undershoot_hu) < 0.1 * r.undershoot_hu
    ct3 = np.ascontiguousarray(ct.transpose(2, 0, 1))
    b3, c3 = bone.transpose(2, 0, 1), cav.transpose(2, 0, 1)
    r3 = K.edge_response(ct3, _smooth(ct3), b3, c3, sp)
    assert r3 is not None and r3.slice_axis == 0
    assert abs(r.undershoot_hu - r3.undershoot_hu) < 0.1 * r.undershoot_hu
    # the inverse runs in that plane: the same values as on the original layout
    k1 = K.SharpKernel(r, 1.5, 1.0).soften(ct, sp, within=cav)
    k3 = K.SharpKernel(r3, 1.5, 1.0).soften(ct3, sp, within=c3)
    assert np.abs(k3 - k1.transpose(2, 0, 1))[c3].max() < 0.05


# CSF / brain floors after segment_ct on the sharp heads; measured at seeds 0-2 with the
# rule off -> on: unsharp CSF 0.781-0.845 -> 0.880-0.885, brain 0.941-0.970 ->
# 0.980-0.981; mtf CSF 0.750-0.755 -> 0.893-0.896, brain 0.931-0.933 -> 0.985 (the
# rule off fails every floor at every seed; the test runs seed 0)
FLOORS = {"unsharp": (0.865, 0.975), "mtf": (0.875, 0.977)}


@pytest.mark.parametrize("reformatted", [False, True])
@pytest.mark.parametrize("kind", ["unsharp", "mtf"])
def test_sharp_kernel_floors(
    heads: dict[str, tuple[np.ndarray, np.ndarray]], kind: str, reformatted: bool
) -> None:
    # reformatted: the slice plane is the array's (j, k) plane (measured with the rule
    # off -> on at seed 0: unsharp CSF 0.788 -> 0.882, brain 0.943 -> 0.981; mtf
    # 0.744 -> 0.893, 0.928 -> 0.985)
    ct, truth = heads[kind]
    if reformatted:
        ct, truth = np.ascontiguousarray(ct.transpose(2, 0, 1)), truth.transpose(2, 0, 1)
    r = segment_ct(_volume(ct))
    lab = r.labels.array
    csf_floor, brain_floor = FLOORS[kind]
    assert dice(lab == L.CSF, truth == L.CSF) >= csf_floor
    assert dice(lab == L.BRAIN, truth == L.BRAIN) >= brain_floor
    assert sum("sharp (bone) reconstruction kernel detected" in w for w in r.warnings) == 1


def test_soft_head_segmentation_identical(
    heads: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    ct, _ = heads["soft"]
    on = segment_ct(_volume(ct))
    off = segment_ct(_volume(ct), params=OFF)
    assert np.array_equal(on.labels.array, off.labels.array)
    assert on.warnings == off.warnings
    assert not any("reconstruction kernel" in w for w in on.warnings)
