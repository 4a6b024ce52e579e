"""Brain vs CSF in the cranial cavity (``segment.brain_csf``) on a generated head.

The head is built here, independently of ``twinsep.phantom``: an ellipsoidal skull
(2.5 mm), a 2.5 mm CSF layer under the inner table, grey matter over white matter and
two slit ventricles, rendered with 3x3x3 supersampling (partial volume), blurred by a
1.5 mm FWHM PSF and given white noise, on an anisotropic ~2.4 mm grid (the grids where
CSF was weakest, issue 4). The truth is the tissue at each voxel centre.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import ndimage as ndi

from seg_metrics import dice
from twinsep.segment.brain_csf import classify_brain_csf
from twinsep.segment.params import SegmentParams

SPACING = (2.2, 2.4, 2.6)
SHAPE = (64, 60, 56)
INNER_MM = np.array([55.0, 60.0, 50.0])  # inner-table semi-axes
HU = {"air": -1000.0, "soft": 45.0, "bone": 1000.0, "csf": 8.0, "grey": 37.0, "white": 28.0}
BONE_MM, CSF_MM, SCALP_MM, GREY_MM = 2.5, 2.5, 4.0, 12.0
VENTRICLES = (((-10.0, 0.0, 8.0), (5.0, 18.0, 7.0)), ((10.0, 0.0, 8.0), (5.0, 18.0, 7.0)))


def _depth_mm(p: np.ndarray) -> np.ndarray:
    """Approximate depth (mm) under the inner table (negative outside)."""
    r = np.sqrt(((p / INNER_MM) ** 2).sum(axis=-1))
    return (1.0 - r) * float(INNER_MM.min())


def _tissue(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(HU, label) at points ``p`` (..., 3) mm: 3 brain, 4 CSF, 2 bone, 1 soft, 0 air."""
    d = _depth_mm(p)
    hu = np.full(d.shape, HU["air"])
    lab = np.zeros(d.shape, np.uint8)
    for lo, val, code in (
        (-(BONE_MM + SCALP_MM), HU["soft"], 1),
        (-BONE_MM, HU["bone"], 2),
        (0.0, HU["csf"], 4),
        (CSF_MM, HU["grey"], 3),
        (CSF_MM + GREY_MM, HU["white"], 3),
    ):
        hu = np.where(d >= lo, val, hu)
        lab = np.where(d >= lo, code, lab)
    for c, semi in VENTRICLES:
        inside = (((p - np.array(c)) / np.array(semi)) ** 2).sum(axis=-1) <= 1.0
        hu = np.where(inside, HU["csf"], hu)
        lab = np.where(inside, 4, lab)
    return hu, lab.astype(np.uint8)


def _centres(
    offsets: tuple[float, float, float] = (0.0, 0.0, 0.0),
    *,
    shape: tuple[int, int, int] = SHAPE,
    spacing: tuple[float, float, float] = SPACING,
    centre_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    axes = [
        (np.arange(n) - (n - 1) / 2 + o) * s + c
        for n, s, o, c in zip(shape, spacing, offsets, centre_mm, strict=True)
    ]
    g = np.meshgrid(*axes, indexing="ij")
    return np.stack(g, axis=-1)


def _render(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    centre_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free CT (3x3x3 supersampled, 1.5 mm FWHM PSF) and the truth at centres."""
    sub = (-1 / 3, 0.0, 1 / 3)
    acc = np.zeros(shape, np.float64)
    for ox in sub:
        for oy in sub:
            for oz in sub:
                pts = _centres((ox, oy, oz), shape=shape, spacing=spacing, centre_mm=centre_mm)
                acc += _tissue(pts)[0]
    sigma = [1.5 / 2.3548 / s for s in spacing]
    clean = ndi.gaussian_filter(acc / 27.0, sigma=sigma, mode="nearest").astype(np.float32)
    truth = _tissue(_centres(shape=shape, spacing=spacing, centre_mm=centre_mm))[1]
    return clean, truth


@pytest.fixture(scope="module")
def head() -> tuple[np.ndarray, np.ndarray]:
    """Noise-free CT (HU, float32) and truth labels of the whole head."""
    return _render(SHAPE, SPACING)


def _classify(head, noise_hu: float, seed: int = 0):
    clean, truth = head
    rng = np.random.default_rng(seed)
    ct = np.rint(clean + rng.normal(0.0, noise_hu, clean.shape)).astype(np.int16)
    inner = np.isin(truth, (3, 4))
    res = classify_brain_csf(ct, inner, spacing=SPACING, soft_hu=HU["soft"], noise_hu=noise_hu)
    return ct, inner, truth, res


def test_truth_has_a_one_voxel_csf_rim_and_ventricles(head):
    """Self-check of the construction: the CSF is thin (about one voxel) and real."""
    _, truth = head
    csf_ml = (truth == 4).sum() * np.prod(SPACING) / 1000
    # shell: 4/3 pi (abc - (a-2.5)(b-2.5)(c-2.5)) = 91 mL, ventricles 2 x 2.6 mL; voxel
    # centres sample it to within ~15 %
    assert 80.0 < csf_ml < 115.0


@pytest.mark.parametrize(
    ("noise_hu", "brain_floor", "csf_floor"),
    # measured (seed 0) brain 0.990 / CSF 0.940 at noise 10 and 0.979 / 0.866 at
    # noise 30 (seeds 1-2: CSF 0.939-0.943 and 0.858-0.863); without the speck step
    # (csf_min_noise_volumes=0) 0.937 and 0.846 (0.838-0.850); the method before the
    # two-test split (one smoothed image, three-class mixture) measured 0.94-0.95 /
    # 0.76-0.78 and 0.87-0.98 / 0.60-0.91 (seeds 0-2) here, so it fails these floors
    [(10.0, 0.975, 0.92), (30.0, 0.965, 0.85)],
)
def test_dice_floors(head, noise_hu, brain_floor, csf_floor):
    _, inner, truth, res = _classify(head, noise_hu)
    assert not (res.brain & res.csf).any()
    assert np.array_equal(res.brain | res.csf, inner)
    db, dc = dice(res.brain, truth == 3), dice(res.csf, truth == 4)
    assert db >= brain_floor, f"brain Dice {db:.3f}"
    assert dc >= csf_floor, f"CSF Dice {dc:.3f}"


def test_ventricles_found_and_thresholds_between_classes(head):
    _, inner, truth, res = _classify(head, 10.0)
    # the dark (CSF/brain) edge lies between CSF (8) and white matter (28), the bright
    # edge above grey matter (37): a swapped or unbounded threshold fails here
    assert HU["csf"] < res.csf_brain_hu < HU["white"]
    assert res.brain_mixed_hu > HU["grey"]
    depth = _depth_mm(_centres())
    vent = (truth == 4) & (depth > CSF_MM + 3.0)
    # ventricles are 10 mm wide (4 voxels). Measured 0.59-0.63 (seeds 0-2): the dark
    # edge is the lower crossing of a CSF class widened by partial volume with brain,
    # well below the CSF/white-matter midpoint (18 HU); the old method found 0.96 but
    # took 2-3 times more false CSF at the rim. Floor: half of them.
    assert res.csf[vent].mean() > 0.5


def test_input_not_modified_and_axis_order_irrelevant(head):
    ct, inner, _, res = _classify(head, 30.0, seed=1)
    h_ct, h_in = hashlib.sha256(ct.tobytes()).hexdigest(), hashlib.sha256(inner.tobytes())
    flipped = classify_brain_csf(
        ct[::-1, :, ::-1].transpose(2, 0, 1),
        inner[::-1, :, ::-1].transpose(2, 0, 1),
        spacing=(SPACING[2], SPACING[0], SPACING[1]),
        soft_hu=HU["soft"],
        noise_hu=30.0,
    )
    assert hashlib.sha256(ct.tobytes()).hexdigest() == h_ct
    assert hashlib.sha256(inner.tobytes()).hexdigest() == h_in.hexdigest()
    back = flipped.csf.transpose(1, 2, 0)[::-1, :, ::-1]
    # the same decision up to the seeded subsampling of the mixture fit (here all
    # cavity values are used: identical)
    assert (back != res.csf).mean() < 1e-3


def test_empty_cavity_and_params_used(head):
    clean, _ = head
    res = classify_brain_csf(
        clean, np.zeros(SHAPE, bool), spacing=SPACING, soft_hu=45.0, noise_hu=10.0
    )
    assert not res.brain.any() and not res.csf.any()
    assert SegmentParams().bright_smooth_vx > 0


def test_fine_grid_dark_test_on_blocks_matches_full_resolution():
    """On a 0.6 mm CT the dark test runs on 2x2x2 blocks (``dark_grid_mm``); the result
    must match the full-resolution test. The grid covers the lateral wall of the head:
    skull, CSF layer, cortex and the right ventricle."""
    spacing = (0.6, 0.6, 0.6)
    clean, truth = _render((64, 56, 56), spacing, centre_mm=(35.0, 0.0, 8.0))
    assert {2, 3, 4} <= set(np.unique(truth).tolist())  # the construction holds all three
    rng = np.random.default_rng(0)
    ct = np.rint(clean + rng.normal(0.0, 20.0, clean.shape)).astype(np.int16)
    inner = np.isin(truth, (3, 4))
    kw = {"spacing": spacing, "soft_hu": HU["soft"], "noise_hu": 20.0}
    blocks = classify_brain_csf(ct, inner, **kw)
    full = classify_brain_csf(ct, inner, params=SegmentParams(dark_grid_mm=0.1), **kw)
    d_blocks = dice(blocks.csf, truth == 4)
    d_full = dice(full.csf, truth == 4)
    # the isotropic test alone (no shell smoothing) measured 0.730 (1.2 mm blocks) vs
    # 0.788 (full grid): the price of the 9x cheaper dark test (on the 512x512x400 CT:
    # 9.3 s vs 17.9 s for this step under load 12); a wrong block mean or an upsampling
    # offset by one block costs far more
    # (without the growth to the class midpoint, which lifts the full grid to 0.93 and
    # leaves the blocks at 0.73: BLD, 2026-11-28)
    no_shell = {"csf_shell_depth_mm": 0.0, "csf_grow_to_midpoint": False}
    d_iso_blocks = dice(
        classify_brain_csf(ct, inner, params=SegmentParams(**no_shell), **kw).csf, truth == 4
    )
    d_iso_full = dice(
        classify_brain_csf(ct, inner, params=SegmentParams(dark_grid_mm=0.1, **no_shell), **kw).csf,
        truth == 4,
    )
    assert abs(d_iso_blocks - d_iso_full) < 0.09
    # with the shell smoothing (segment.shells) 0.737 vs 0.836 (seeds 1-2: 0.749-0.755
    # vs 0.827-0.837): 0.42 mm depth bands on the full grid resolve the 2.5 mm layer
    # better than 0.85 mm ones on the blocks; the full grid must not lose it
    assert d_full > d_iso_full + 0.02, (d_full, d_iso_full)
    # Known limit: the noise-free voxel-wise oracle reaches 0.96 here. The scanner blur
    # of 1000 HU bone lifts the middle of the 2.5 mm CSF layer to brain values (18-40 HU),
    # neither bright nor dark enough for the two tests. Without the 0.64 mm floor of the
    # bright smoothing it was 0.60, without the speck step 0.721.
    assert d_blocks > 0.71, f"CSF Dice {d_blocks:.3f}"
    assert dice(blocks.brain, truth == 3) > 0.95


def test_block_mean_matches_padded_reshape():
    from twinsep.segment.brain_csf import _block_mean_f32

    rng = np.random.default_rng(0)
    for shape, f in (((7, 8, 9), (2, 2, 2)), ((6, 5, 4), (3, 1, 2)), ((9, 4, 11), (2, 3, 4))):
        a = rng.normal(size=shape).astype(np.float32)
        pads = [(0, (-n) % k) for n, k in zip(shape, f, strict=True)]
        p = np.pad(a, pads, mode="edge")
        c = [n // k for n, k in zip(p.shape, f, strict=True)]
        ref = p.reshape(c[0], f[0], c[1], f[1], c[2], f[2]).mean(axis=(1, 3, 5))
        got = _block_mean_f32(a, f)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=1e-5)  # float32 sums of <= 24 values


def test_calibration_offset_moves_thresholds_not_labels(head):
    """A CT calibrated 50 HU off (soft-tissue peak found 50 HU higher) is split alike."""
    clean, truth = head
    inner = np.isin(truth, (3, 4))
    noise = np.random.default_rng(0).normal(0.0, 10.0, clean.shape)
    a = classify_brain_csf(
        np.rint(clean + noise).astype(np.int16),
        inner,
        spacing=SPACING,
        soft_hu=45.0,
        noise_hu=10.0,
    )
    b = classify_brain_csf(
        np.rint(clean + noise + 50.0).astype(np.int16),
        inner,
        spacing=SPACING,
        soft_hu=95.0,
        noise_hu=10.0,
    )
    # every threshold is fitted on the image itself: the labels are identical (a fixed
    # HU threshold would turn ~all brain into "bright" CSF) and the edges move by 50 HU
    assert np.array_equal(a.csf, b.csf)
    assert b.csf_brain_hu - a.csf_brain_hu == pytest.approx(50.0, abs=0.5)
    assert b.brain_mixed_hu - a.brain_mixed_hu == pytest.approx(50.0, abs=0.5)


def test_cavity_without_csf_takes_only_tails(head):
    """A cavity of brain alone (no CSF to find): at most ~0.5 % CSF, and a warning unless
    the mixture's CSF class is a sliver (seed 2: 1.1 % weight 8 HU below brain).

    The 2.5-sigma dark tail of the fallback is 0.6 % and the 3-sigma bright tail 0.13 %
    of the voxels; the speck step drops the pieces of them away from the wall that are
    smaller than a noise volume. Measured 0.27-0.29 % with the warning (seeds 0, 1, 3)
    and 0.04 % (seed 2); without the speck step 0.83-0.85 % and 0.17 %."""
    _, truth = head
    inner = np.isin(truth, (3, 4))
    for seed in range(3):
        rng = np.random.default_rng(seed)
        ct = np.rint(33.0 + rng.normal(0.0, 10.0, truth.shape)).astype(np.int16)
        res = classify_brain_csf(ct, inner, spacing=SPACING, soft_hu=45.0, noise_hu=10.0)
        frac = res.csf[inner].mean()
        assert frac < 0.005
        assert frac < 0.005 or any("could not be told apart" in w for w in res.warnings)


def test_speck_step_keeps_wall_and_resolved_pieces():
    """``_resolved_csf`` on a 1 mm grid with the noise volume of a 1 mm smoothing
    ((4 pi)^1.5 = 44.5 mm^3): a piece touching the wall is kept whatever its size, a deep
    piece of 45 dark voxels is kept, deep pieces of 44 dark voxels or of bright voxels
    alone are dropped (so is one voxel a layer under the wall: only the first cavity
    layer touches it), and a bright voxel joined to a resolved dark piece stays."""
    from twinsep.segment.brain_csf import _resolved_csf

    shape = (40, 40, 40)
    cav = np.zeros(shape, bool)
    cav[2:-2, 2:-2, 2:-2] = True  # the wall is the two-voxel frame around it
    bright = np.zeros(shape, bool)
    dark = np.zeros(shape, bool)
    dark[2, 10, 10] = True  # one voxel on the wall: kept
    dark[10:13, 10:13, 10:15] = True  # 45 deep voxels: kept
    bright[10, 10, 15] = True  # bright voxel joined to them: kept
    dark[25:29, 25:36, 10] = True  # 44 deep voxels: dropped
    bright[20, 20, 30] = True  # lone deep bright voxel: dropped
    dark[3, 30, 30] = True  # one voxel under the first cavity layer: dropped
    keep = _resolved_csf(bright, dark, cav, (1, 1, 1), (1.0, 1.0, 1.0), 1.0, SegmentParams())
    assert keep[2, 10, 10] and not keep[3, 30, 30]
    assert keep[10:13, 10:13, 10:15].all() and keep[10, 10, 15]
    assert not keep[25:29, 25:36, 10].any() and not keep[20, 20, 30]
    assert not (keep & ~(bright | dark)).any()
    off = _resolved_csf(
        bright,
        dark,
        cav,
        (1, 1, 1),
        (1.0, 1.0, 1.0),
        1.0,
        SegmentParams(csf_min_noise_volumes=0.5),
    )
    assert off[25:29, 25:36, 10].all()  # half the volume: the 44-voxel piece stays
    # on 2x2x1 blocks of 0.5 mm voxels the same 1 mm pieces count alike
    fine = [np.repeat(np.repeat(a, 2, axis=0), 2, axis=1) for a in (bright, cav)]
    keep2 = _resolved_csf(fine[0], dark, fine[1], (2, 2, 1), (0.5, 0.5, 1.0), 1.0, SegmentParams())
    assert np.array_equal(keep2, keep)


def test_dilate_cube1_matches_scipy():
    from twinsep.segment.brain_csf import _dilate_cube1

    rng = np.random.default_rng(0)
    for shape in ((7, 9, 11), (1, 5, 6), (12, 3, 8)):
        m = rng.random(shape) < 0.05
        ref = ndi.binary_dilation(m, np.ones((3, 3, 3), bool))
        assert np.array_equal(_dilate_cube1(m), ref)
