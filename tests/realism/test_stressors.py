"""Each real-CT stressor measured back against its own analytic property, and floors on
the segmentation of stressed phantoms (benchmarks/bench_stressors.py, docs/segmentation.md
"Real-CT stressors")."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from scipy import ndimage as ndi

from realism import stressors as S
from twinsep import labels as L

SP = (0.5, 0.5, 0.5)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _grid(shape: tuple[int, int, int], sp: tuple[float, float, float]) -> list[np.ndarray]:
    return np.meshgrid(
        *[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, sp, strict=True)], indexing="ij"
    )


def _blur_step(sp: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A 1000 HU bone half-space beside 0 HU, blurred by a 1.5 mm FWHM PSF."""
    from twinsep.phantom.ct import apply_psf

    shape = (80, 8, 4)
    x = _grid(shape, sp)[0]
    lab = np.where(x > 0, L.BONE, L.BRAIN).astype(np.uint8)
    ct = apply_psf(np.where(x > 0, 1000.0, 0.0).astype(np.float32), sp, 1.5)
    return np.rint(ct).astype(np.int16), lab


def test_sharp_kernel_overshoot_and_noise() -> None:
    ct, lab = _blur_step(SP)
    out = S.sharp_kernel(ct, lab, SP, _rng(), extra_noise_hu=0.0).astype(float)
    prof = out[:, 4, 2]
    # documented range: 100-300 HU over- and undershoot beside a ~1000 HU bone edge
    assert 100 <= prof.max() - 1000 <= 300
    assert 100 <= -prof.min() <= 300
    # far from the edge nothing changes (unsharp masking keeps flat regions)
    assert abs(prof[2] - 0) <= 1 and abs(prof[-3] - 1000) <= 1
    flat = np.zeros((64, 64, 8), np.int16)
    noisy = S.sharp_kernel(
        flat, np.ones_like(flat, np.uint8), SP, _rng(), amount=0.0, extra_noise_hu=25.0
    )
    assert abs(noisy.std() - 25.0) < 1.0
    white = np.random.default_rng(1).normal(0, 20, flat.shape).astype(np.int16)
    sharp = S.sharp_kernel(white, np.ones_like(flat, np.uint8), SP, _rng(), extra_noise_hu=0.0)
    # white noise through a linear kernel h gains sqrt(sum h^2): h measured as the
    # response to a unit impulse (scaled so int16 rounding stays below 1e-4 per tap)
    impulse = np.zeros(flat.shape, np.int16)
    impulse[32, 32, 4] = 10000
    h = S.sharp_kernel(impulse, np.ones_like(flat, np.uint8), SP, _rng(), extra_noise_hu=0.0)
    gain = float(np.sqrt(np.sum((h.astype(float) / 10000.0) ** 2)))
    assert 2.0 <= gain <= 2.45  # the documented 2.0-2.45 x at 0.5-1.5 mm (bone kernels 2-4 x)
    assert abs(sharp.std() / white.std() - gain) < 0.05 * gain


def _sphere_case(radius_mm: float = 30.0, sp: tuple[float, float, float] = (1.0, 1.0, 1.0)):
    shape = (80, 80, 80)
    g = _grid(shape, sp)
    r = np.sqrt(sum(c**2 for c in g))
    lab = np.select(
        [r <= radius_mm, r <= radius_mm + 3, r <= radius_mm + 7],
        [L.BRAIN, L.BONE, L.SOFT_TISSUE],
        0,
    ).astype(np.uint8)
    ct = np.array([-1000, 40, 1000, 30], np.int16)[lab]
    return ct, lab, r


def test_beam_hardening_cupping_depth_and_rim() -> None:
    ct, lab, r = _sphere_case()
    sp = (1.0, 1.0, 1.0)
    out = S.beam_hardening(ct, lab, sp, _rng(), cup_hu=10.0, rim_hu=0.0, streak_hu=0.0)
    d = out.astype(float) - ct
    # parabolic cup: -10 HU at the deepest point, ~0 at the inner table
    assert abs(d[r < 1.0].mean() + 10.0) <= 1.0
    rim = (lab == L.BRAIN) & (r > 28.5)
    assert abs(d[rim].mean()) <= 2.0
    # the profile is parabolic in the radius: at half the radius, -10 * (1 - 0.5^2)
    half = (lab == L.BRAIN) & (np.abs(r - 15.0) < 0.5)
    assert abs(d[half].mean() + 7.5) <= 1.0
    out = S.beam_hardening(ct, lab, sp, _rng(), cup_hu=0.0, rim_hu=12.0, rim_mm=2.0, streak_hu=0.0)
    d = out.astype(float) - ct
    # brightening decays as exp(-depth / 2 mm): 12 * e^-1 at 2 mm below the inner table
    near = (lab == L.BRAIN) & (np.abs(r - 28.0) < 0.3)
    assert abs(d[near].mean() - 12.0 * np.exp(-2.0 / 2.0)) <= 1.5
    assert np.all(d[lab != L.BRAIN] == 0)


def test_beam_hardening_streak_between_dense_bones() -> None:
    shape, sp = (120, 120, 3), (0.5, 0.5, 2.0)
    x, y, _ = _grid(shape, sp)
    lab = np.full(shape, L.BRAIN, np.uint8)
    lab[(np.hypot(x - 15, y) < 4) | (np.hypot(x + 15, y) < 4)] = L.BONE
    ct = np.where(lab == L.BONE, 1300, 30).astype(np.int16)
    out = S.beam_hardening(ct, lab, sp, _rng(), cup_hu=0.0, rim_hu=0.0, streak_hu=40.0)
    d = out.astype(float) - ct
    mid = (np.abs(x) < 0.3) & (np.abs(y) < 0.3)
    assert abs(d[mid].mean() + 40.0) <= 2.0  # full depth on the line between the bones
    off = (np.abs(x) < 0.3) & (np.abs(y - 12.0) < 0.3)
    assert abs(d[off].mean()) <= 1.0  # 12 mm off the line: nothing (sigma 2.5 mm)


def test_diploe_only_in_thick_bone() -> None:
    shape = (60, 8, 8)
    x = _grid(shape, SP)[0]
    thick = np.where(np.abs(x) <= 4.0, L.BONE, L.SOFT_TISSUE).astype(np.uint8)
    thin = np.where(np.abs(x) <= 1.0, L.BONE, L.SOFT_TISSUE).astype(np.uint8)
    for lab in (thick, thin):
        ct = np.where(lab == L.BONE, 1100, 40).astype(np.int16)
        out = S.diploe(ct, lab, SP, _rng(), diploe_spread_hu=0.0).astype(float)
        if lab is thick:
            assert abs(out[np.abs(x) < 0.3].mean() - 500.0) <= 10  # diploe 500 HU
            # middle of the 1.5 mm cortical table (2.5-4 mm): 1600 HU seen through the
            # 0.6 mm PSF, with the soft tissue (delta 0) and diploe (-600) tails
            table = np.abs(np.abs(x) - 3.25) < 0.1
            phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
            expect = 1100 + 500 * (phi(0.75 / 0.6) - phi(-0.75 / 0.6)) - 600 * phi(-0.75 / 0.6)
            assert abs(out[table].mean() - expect) <= 25
        else:
            # a 2 mm infant plate has no diploe: it only takes the cortical level
            assert out[lab == L.BONE].min() > 1300


def test_air_cells_volume_walls_and_truth() -> None:
    shape, sp = (60, 60, 60), (1.0, 1.0, 1.0)
    lab = np.full(shape, L.SOFT_TISSUE, np.uint8)
    lab[10:50, 10:50, 10:50] = L.BONE
    ct = np.where(lab == L.BONE, 1100, 40).astype(np.int16)
    out, lab2 = S.air_cells(ct, lab, sp, _rng(), volume_ml=8.0, radius_mm=(2.5, 5.0), wall_mm=1.0)
    cells = (lab2 == 0) & (lab != 0)
    ml = cells.sum() / 1000.0
    assert 8.0 <= ml <= 8.0 + 4 / 3 * np.pi * 5.0**3 / 1000 + 0.05  # target plus one last cell
    assert np.all(lab[cells] == L.BONE)
    # >= 1 mm of bone wall: no cell voxel within 1 mm of the block's faces
    assert not cells[:11].any() and not cells[49:].any()
    core = ndi.binary_erosion(cells)  # away from the PSF-blurred cell walls
    assert core.any() and np.median(out[core]) < -900  # air inside
    thin = np.full(shape, L.SOFT_TISSUE, np.uint8)
    thin[28:31] = L.BONE
    out2, lab3 = S.air_cells(ct, thin, sp, _rng())
    assert np.array_equal(lab3, thin)  # infant plate: no room for a cell


def test_metal_streak_amplitude_measured_back() -> None:
    shape, sp = (161, 161, 13), (0.5, 0.5, 1.0)
    lab = np.full(shape, L.SOFT_TISSUE, np.uint8)
    ct = np.full(shape, 40, np.int16)
    out = S.metal_implant(
        ct, lab, sp, _rng(), centre_vx=(80, 80, 6), streak_hu=300.0, decay_mm=60.0
    )
    assert out[80, 80, 6] >= 2500  # the implant itself
    x, y, _ = _grid(shape, sp)
    ring = np.abs(np.hypot(x, y) - 20.0) < 0.35
    d = out[:, :, 6].astype(float)[ring[:, :, 6]] - 40
    expect = 300.0 * np.exp(-20.0 / 60.0)
    assert abs(d.max() - expect) / expect < 0.12  # bright streak
    assert abs(-d.min() - expect) / expect < 0.12  # dark streak
    assert np.all(out[:, :, 0] == 40)  # slices beyond the implant keep their values


def test_fbp_noise_spectrum_peak_and_slice_gain() -> None:
    shape, sp = (128, 128, 12), (0.5, 0.5, 1.0)
    n = S.fbp_noise(shape, sp, _rng(), sigma_hu=15.0, peak_cyc_per_mm=0.2)
    assert abs(n.std() - 15.0) < 0.2
    ps = (np.abs(np.fft.fft2(n, axes=(0, 1))) ** 2).mean(axis=2)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(128, 0.5), np.fft.fftfreq(128, 0.5), indexing="ij"))
    bins = np.arange(0.0, 1.0, 0.02)
    idx = np.digitize(f.ravel(), bins)
    radial = np.array([ps.ravel()[idx == i].mean() for i in range(1, len(bins))])
    fc = bins[1:] - 0.01
    # radial NPS ~ f exp(-f^2/fc^2), fc = sqrt(2) * 0.2: its mean frequency is
    # sqrt(pi) fc / 2 = 0.2507 cycles/mm (white noise: ~0.5 over these bins)
    mean_f = float((fc * radial).sum() / radial.sum())
    assert abs(mean_f - np.sqrt(np.pi) * np.sqrt(2) * 0.2 / 2) <= 0.01
    assert abs(fc[int(np.argmax(radial))] - 0.2) <= 0.05  # peak near 0.2 (a broad peak)
    # correlated: neighbours are positively correlated (white noise: ~0)
    assert np.corrcoef(n[:-1].ravel(), n[1:].ravel())[0, 1] > 0.3
    # independent between slices
    assert abs(np.corrcoef(n[:, :, :-1].ravel(), n[:, :, 1:].ravel())[0, 1]) < 0.05
    # gain per slice: exp(mu * (chord - median chord) / 2), chord = bone area / sqrt(body)
    lab = np.full((40, 40, 3), L.SOFT_TISSUE, np.uint8)
    lab[:, :4, 2] = L.BONE  # 4 x 40 px of bone in slice 2 only
    g = S.slice_noise_gain(lab, (1.0, 1.0, 1.0), mu_excess_per_mm=0.025)
    chord = 160.0 / 40.0
    assert g[0] == 1.0 and abs(g[2] - np.exp(0.025 * chord / 2.0)) < 1e-4


def test_calibration_clip_padding_exact() -> None:
    ct, lab, r = _sphere_case()
    sp = (1.0, 1.0, 1.0)
    assert np.array_equal(S.calibration_offset(ct, lab, sp, _rng(), offset_hu=-20.0), ct - 20)
    low = ct.copy()
    low[0, 0, 0] = -3024
    low[1, 1, 1] = 4000
    c = S.clipped_storage(low, lab, sp, _rng())
    assert c.min() == -1024 and c.max() == 3071
    p = S.fov_padding(ct, lab, sp, _rng(), margin_mm=5.0)
    assert np.array_equal(p[lab > 0], ct[lab > 0])  # the body keeps its values
    xy = np.hypot(*_grid(ct.shape, sp)[:2])
    assert np.all(p[xy > 37.5 + 6.5] == -3024)  # outside radius 37 + 5 mm (+ a voxel)


def test_tubes_and_leads_only_outside_the_body() -> None:
    ct, lab, r = _sphere_case()
    sp = (1.0, 1.0, 1.0)
    out = S.tubes_and_leads(ct, lab, sp, _rng())
    changed = out != ct
    assert changed.any() and np.all(lab[changed] == 0)
    # the tube spans the whole slice axis (it runs out of the field of view)
    assert changed.any(axis=(0, 1)).all()


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_inputs_unchanged() -> None:
    ct, lab, _ = _sphere_case()
    before = _digest(ct, lab)
    S.apply((*S.STRESSORS, "air_cells"), ct, lab, (1.0, 1.0, 1.0))
    assert _digest(ct, lab) == before


# --- floors on stressed phantoms (benchmarks/bench_stressors.py, size 128) -----------------


def _stressed_scores(kind: str, contrast: bool, names: tuple[str, ...]) -> dict[str, float]:
    from seg_metrics import tissue_dice, twin_scores
    from twinsep.phantom import make_phantom
    from twinsep.segment import segment_ct
    from twinsep.twins import assign_twins

    ph = make_phantom(kind, size=128, seed=0, noise_hu=10.0, contrast=contrast)
    arr, lab = S.apply(names, np.asarray(ph.ct.array), ph.labels.array, ph.ct.spacing_mm, seed=0)
    seg = segment_ct(ph.ct.with_array(arr))
    res = assign_twins(seg.labels)
    out = tissue_dice(lab, seg.labels.array)
    out["twin_acc"], _ = twin_scores(ph.twins.array, res.twins.array, ph.ct.spacing_mm)
    out["contrast_ok"] = float(seg.contrast == contrast)
    return out


INFANT_ALL = tuple(n for n in (*S.STRESSORS, "air_cells") if n not in S.ANATOMY)
"""Every stressor except adult bone (the phantoms are infants: no diploe, no air cells)."""


def test_bright_streaks_deep_in_the_brain_are_not_csf() -> None:
    """A shunt valve's bright streak lines crossing the brain are not partial volume with
    bone (segment.brain_csf: bright voxels are CSF only within ``bright_reach_mm`` of
    the cavity wall). The dark lines between them still read as CSF: on Colin27
    real-angular the valve costs CSF 0.795 -> 0.486 with the rule, 0.481 without
    (docs/segmentation.md, "Real-CT stressors")."""
    from twinsep.phantom import make_phantom
    from twinsep.segment import segment_ct

    # 1.5 mm voxels, as the Colin27 cases: on 2.3 mm grids the streaks and the bone rim
    # share voxels and the effect is smaller (CSF share 0.23 -> 0.16 at size 128)
    ph = make_phantom("angular-frontal", spacing_mm=1.5, seed=0, noise_hu=10.0)
    lab, sp = ph.labels.array, ph.ct.spacing_mm
    ct = np.asarray(ph.ct.array)
    out = S.metal_implant(ct, lab, sp, _rng(), size_mm=(14.0, 8.0, 12.0))
    cav = np.isin(lab, (L.BRAIN, L.CSF, L.VESSEL))
    deep = (lab == L.BRAIN) & (S._dist_mm(cav, sp) > 6.0)
    streak = deep & (out.astype(float) - ct > 100)
    assert streak.sum() > 50  # the streaks do cross the brain (180 voxels)
    got = segment_ct(ph.ct.with_array(out)).labels.array
    # measured: 0.94 of them CSF without the rule, 0.22 with it
    assert (got[streak] == L.CSF).mean() < 0.35


def test_near_wall_keeps_every_voxel_within_reach() -> None:
    from twinsep.segment.brain_csf import _near_wall
    from twinsep.segment.filters import maximum_filter

    rng = _rng()
    for sp in ((0.5, 0.5, 0.5), (1.2, 1.2, 1.2), (2.3, 2.3, 2.3), (0.5, 0.5, 2.0)):
        cav = np.zeros((70, 64, 60), bool)
        cav[8:-8, 8:-8, 8:-8] = True
        bright = cav & (rng.random(cav.shape) < 0.3)
        h = [max(1, int(np.ceil(2.5 / s))) for s in sp]
        exact = bright & (maximum_filter((~cav).view(np.uint8), [2 * k + 1 for k in h]) > 0)
        far = [max(1, int(np.ceil(2 * 2.5 / s))) + 1 for s in sp]  # beyond ~1.7 x the reach
        too_far = bright & (maximum_filter((~cav).view(np.uint8), [2 * k + 1 for k in far]) == 0)
        got = _near_wall(bright, cav, sp, 2.5)
        assert not (got & too_far).any()  # nothing beyond twice the reach
        assert not (got & ~bright).any()
        if min(sp) >= 1.25:
            # voxels of half the reach or more: the exact rule (a2b5a29), depth of the
            # centre below the wall (half a voxel beyond the nearest centre outside)
            # at most the reach, or a face neighbour outside; nothing else
            depth = ndi.distance_transform_edt(cav, sampling=sp) - 0.5 * min(sp)
            face = cav & ~ndi.binary_erosion(cav, border_value=0)
            assert np.array_equal(got, bright & ((depth <= 2.5) | face))
            assert got.sum() < (got | exact).sum()  # the per-axis box reaches further
        else:
            assert np.array_equal(got & exact, exact)  # all within the reach kept


# Measured at size 128, noise 10 HU (docs/segmentation.md "Real-CT stressors"); the
# floors sit 0.01-0.02 Dice below. Without the bright-reach rule of segment.brain_csf
# the beam-hardening row was brain 0.911, CSF 0.622 (twin acc. 0.993 in one version).
STRESSED_ROWS: list[tuple[str, str, tuple[str, ...], dict[str, float]]] = [
    (
        "vertical-II",
        "metal",
        ("metal_implant",),
        # measured 0.989 0.970 0.963 0.757 0.820
        {"soft_tissue": 0.98, "bone": 0.955, "brain": 0.95, "csf": 0.74, "vessel": 0.80},
    ),
    (
        "vertical-II",
        "beam hardening",
        ("beam_hardening",),
        # measured 0.986 0.962 0.956 0.734 0.894
        {"soft_tissue": 0.975, "bone": 0.95, "brain": 0.945, "csf": 0.715, "vessel": 0.88},
    ),
    (
        "vertical-partial",
        "all",
        INFANT_ALL,
        # measured 0.977 0.946 0.971 0.764 0.812
        {"soft_tissue": 0.965, "bone": 0.935, "brain": 0.96, "csf": 0.745, "vessel": 0.79},
    ),
]


@pytest.mark.parametrize(("kind", "tag", "names", "floors"), STRESSED_ROWS)
def test_stressed_phantom_floors(
    kind: str, tag: str, names: tuple[str, ...], floors: dict[str, float]
) -> None:
    got = _stressed_scores(kind, True, names)
    for k, f in floors.items():
        assert got[k] >= f, (tag, k, got[k])
    assert got["twin_acc"] >= 0.995  # issue-4 target
    assert got["contrast_ok"] == 1.0  # a contrast CT stays enhanced
