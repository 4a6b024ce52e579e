"""Per-axis margins, the two-sided thin layer and the bone edge on thick slices (issue 4).

Generated scenes with analytic answers on 0.6 x 0.6 x 5 mm voxels (clinical axial head CT
reconstructed at 5 mm), each slice the mean of the scene across its 5 mm (box profile, as
``benchmarks/bench_grids.py`` makes thick slices), truth at the slice centres.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.ct import _bone_mask, thick_slice_reach_mm
from twinsep.segment.params import SegmentParams
from twinsep.segment.vessels import (
    VesselLevels,
    between_dark,
    dilate_per_axis_mm,
    find_vessels,
    sinus_mask,
)

SP = (0.6, 0.6, 5.0)
SOFT_HU = 40.0
SUB = 10  # samples across a slice


def _lattice_count(radii: tuple[float, float, float], sp: tuple[float, float, float]) -> int:
    """Lattice offsets inside the ellipsoid of semi-axes ``radii`` (mm) on spacing ``sp``."""
    n = [int(np.floor(r / s)) for r, s in zip(radii, sp, strict=True)]
    g = np.meshgrid(*(np.arange(-k, k + 1) for k in n), indexing="ij")
    q = sum((gi * s / r) ** 2 for gi, s, r in zip(g, sp, radii, strict=True))
    return int((q <= 1.0).sum())


@pytest.mark.parametrize("radius_mm", [0.0, 1.0, 2.5, 4.0])
def test_dilate_per_axis_is_the_ellipsoid_of_the_margin(radius_mm: float) -> None:
    m = np.zeros((31, 31, 7), bool)
    m[15, 15, 3] = True
    before = m.copy()
    out = dilate_per_axis_mm(m, radius_mm, SP)
    assert np.array_equal(m, before)  # input not modified
    radii = (max(radius_mm, 0.606), max(radius_mm, 0.606), 5.05)
    assert int(out.sum()) == _lattice_count(radii, SP)
    # in-plane reach is the margin (not the 5 mm slice), and one slice along k
    reach_ij = int(np.floor(max(radius_mm, 0.606) / 0.6))
    assert out[15 + reach_ij, 15, 3] and not out[15 + reach_ij + 1, 15, 3]
    assert out[15, 15, 4] and out[15, 15, 2] and not out[15, 15, 5]
    # the old margin (a ball of max(radius, 1.01 x the largest spacing)) reaches 8 voxels
    old = morph.dilate_mm(m, max(radius_mm, 1.01 * 5.0), SP)
    assert old[23, 15, 3] and not (out[23, 15, 3] and radius_mm < 4.8)


@pytest.mark.parametrize("s", [0.5, 1.2, 2.6, 4.5])
def test_dilate_per_axis_equals_the_ball_on_isotropic_grids(s: float) -> None:
    rng = np.random.default_rng(0)
    m = rng.random((24, 20, 18)) > 0.995
    for r in (0.0, 2.5, 4.0):
        expect = morph.dilate_mm(m, max(r, 1.01 * s), (s, s, s))
        assert np.array_equal(dilate_per_axis_mm(m, r, (s, s, s)), expect)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("thick", [1, 2, 3])
def test_between_dark_finds_layers_up_to_two_voxels_along_any_axis(axis: int, thick: int) -> None:
    shape = [12, 12, 12]
    cand = np.zeros(shape, bool)
    dark = np.zeros(shape, bool)
    idx = [slice(None)] * 3
    idx[axis] = slice(5, 5 + thick)
    cand[tuple(idx)] = True
    # dark cavity on both sides along ``axis``
    below = [slice(None)] * 3
    below[axis] = slice(0, 5)
    above = [slice(None)] * 3
    above[axis] = slice(5 + thick, None)
    dark[tuple(below)] = True
    dark[tuple(above)] = True
    got = between_dark(cand, dark, 2)
    assert np.array_equal(got, cand if thick <= 2 else np.zeros_like(cand))
    # searched only along the axes given (sinus_mask: the slice axes)
    others = [b for b in range(3) if b != axis]
    assert not between_dark(cand, dark, 2, others).any()
    assert np.array_equal(between_dark(cand, dark, 2, [axis]), got)
    # dark on one side only: never such a layer (that is _thin_layer's case)
    one = dark.copy()
    one[tuple(above)] = False
    assert not between_dark(cand, one, 2).any()


def _slab_mean(fine: np.ndarray) -> np.ndarray:
    """Mean over consecutive ``SUB`` samples along k (a 5 mm box slice profile)."""
    i, j, k = fine.shape
    return fine.reshape(i, j, k // SUB, SUB).mean(axis=3)


def _axes(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World mm of the fine samples (voxel centres in-plane, SUB samples per slice)."""
    x = (np.arange(shape[0]) + 0.5) * SP[0]
    y = (np.arange(shape[1]) + 0.5) * SP[1]
    z = (np.arange(shape[2] * SUB) + 0.5) * SP[2] / SUB
    return np.meshgrid(x, y, z, indexing="ij")


def _levels(noise_hu: float) -> VesselLevels:
    p = SegmentParams()
    return VesselLevels(
        contrast_hu=SOFT_HU + p.contrast_offset_hu,
        vessel_max_hu=SOFT_HU + p.vessel.max_offset_hu,
        dense_hu=SOFT_HU + p.dense_bone_offset_hu,
        soft_hu=SOFT_HU,
        sigmas_mm=p.vessel_sigma_mm,
        ratio_min=p.tube_ratio_min,
        noise_hu=noise_hu,
    )


def test_plate_between_two_cavities_in_5mm_slices_is_no_evidence() -> None:
    """A 2 mm plate of 1100 HU parallel to the slices, brain above and below (the
    partition between the brains of a partial craniopagus): its slice reads
    1100 x 2/5 + 30 x 3/5 = 458 HU, in the contrast band and below the core seed, in a
    layer one slice thick with dark cavity on both sides. Not counted as contrast."""
    shape = (60, 60, 9)
    x, y, z = _axes(shape)
    fine = np.full(x.shape, 30.0, np.float32)
    fine[(z >= 21.0) & (z < 23.0)] = 1100.0  # inside the slab 20-25 mm
    hu = _slab_mean(fine)
    ic = np.ones(shape, bool)  # the cavity mask holds the partition (bright inside it)
    bright = hu >= SOFT_HU + 110.0
    lv = _levels(0.0)
    p = SegmentParams().vessel
    res = sinus_mask(
        hu,
        ic,
        bright,
        SP,
        t_contrast_hu=lv.contrast_hu,
        t_vessel_max_hu=lv.vessel_max_hu,
        t_dense_hu=lv.dense_hu,
        soft_hu=SOFT_HU,
        params=p,
    )
    assert hu[30, 30, 4] == pytest.approx(458.0, abs=1.0)
    assert res.evidence.any()  # the plate passes every other evidence rule ...
    assert res.evidence_ml == 0.0  # ... but is not proof of contrast


def _tube_scene(
    tilt: float, noise_hu: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A contrast-filled tube (r 3 mm, 300 HU) under a 2 mm plate of 1100 HU whose
    normal lies in-plane, running across the 5 mm slices with slope ``tilt``;
    PSF 1 mm, seeded noise. Returns the smoothed CT, truth, cavity, bright, body."""
    shape = (100, 100, 12)
    x, y, z = _axes(shape)
    plate, r = 20.0, 3.0
    fine = np.full(x.shape, SOFT_HU, np.float32)
    fine[y >= plate] = 1100.0
    fine[y >= plate + 2.0] = 30.0
    cy = plate + 2.5 + r

    def inside(xx: np.ndarray, yy: np.ndarray, zz: np.ndarray) -> np.ndarray:
        return (xx - (30.0 + tilt * (zz - 30.0))) ** 2 + (yy - cy) ** 2 <= r * r

    fine[inside(x, y, z)] = 300.0
    fine = ndi.gaussian_filter(fine, (1.0 / SP[0], 1.0 / SP[1], 1.0 / (SP[2] / SUB)))
    hu = _slab_mean(fine)
    hu += np.random.default_rng(0).normal(0.0, noise_hu, hu.shape).astype(np.float32)
    sm = ndi.gaussian_filter(hu, (1.0, 1.0, 0.12))
    xc, yc, zc = (a[:, :, SUB // 2 :: SUB] for a in (x, y, z))
    truth = inside(xc, yc, zc)
    ic = yc >= plate + 2.0
    bright = ndi.binary_propagation(sm >= SOFT_HU + 260.0, mask=sm >= SOFT_HU + 110.0)
    return sm.astype(np.float32), truth, ic, bright, np.ones(shape, bool)


@pytest.mark.parametrize("tilt", [0.0, 0.3])
def test_tube_in_5mm_slices_volume_and_dice(tilt: float) -> None:
    """The vessel found on 0.6 x 0.6 x 5 mm voxels against the exact tube (centres
    inside it): volume within -15..+30 % (the half-maximum edge of a tube blurred by
    the PSF and a 5 mm slab is wider than the tube) and Dice >= 0.85."""
    sm, truth, ic, bright, body = _tube_scene(tilt, noise_hu=10.0)
    res = find_vessels(sm, ic, bright, body, SP, levels=_levels(4.0), params=SegmentParams().vessel)
    v = res.vessel
    ratio = float(v.sum()) / float(truth.sum())
    dice = 2.0 * float((v & truth).sum()) / float(v.sum() + truth.sum())
    assert 0.85 <= ratio <= 1.30, ratio
    assert dice >= 0.85, dice


def test_thick_slice_reach_is_none_on_isotropic_and_fine_grids() -> None:
    for sp in ((0.5, 0.5, 0.5), (2.6, 2.6, 2.6), (3.6, 3.6, 3.6), (0.31, 0.31, 0.75)):
        assert thick_slice_reach_mm(sp, 2.0) is None
    assert thick_slice_reach_mm((0.6, 0.6, 5.0), 2.0) == pytest.approx((4.2, 4.2, 2.0))
    assert thick_slice_reach_mm((5.0, 0.8, 0.8), 2.0) == pytest.approx((2.0, 4.1, 4.1))


@pytest.mark.parametrize(("angle_deg", "axis"), list(itertools.product([0.0, 20.0, 45.0], [0, 2])))
def test_bone_edge_of_a_plate_in_5mm_slices(angle_deg: float, axis: int) -> None:
    """A 2 mm vault plate of 1100 HU in soft tissue, tilted by ``angle_deg`` from the
    slices (5 mm along ``axis``; 0.6 mm in-plane), PSF 0.6 mm, noise 10 HU. Truth:
    slice centres inside the plate. With the peak searched as far as the slab shifts a
    plate (``thick_slice_reach_mm``) the bone is closer to the truth than with the
    2 mm search, whose peak the slab lowered; both keep the plate's voxels."""
    shape = (80, 40, 12)
    x, y, z = _axes(shape)
    a = np.radians(angle_deg)
    # distance along the plate normal (in the x-z plane, tilted from z by angle_deg)
    d = (z - 32.2) * np.cos(a) + (x - 24.0) * np.sin(a)
    fine = np.where(np.abs(d) <= 1.0, 1100.0, SOFT_HU).astype(np.float32)
    fine = ndi.gaussian_filter(fine, (0.6 / SP[0], 0.6 / SP[1], 0.6 / (SP[2] / SUB)))
    hu = _slab_mean(fine)
    hu += np.random.default_rng(1).normal(0.0, 10.0, hu.shape).astype(np.float32)
    xc, zc = x[:, :, SUB // 2 :: SUB], z[:, :, SUB // 2 :: SUB]
    truth = np.abs((zc - 32.2) * np.cos(a) + (xc - 24.0) * np.sin(a)) <= 1.0
    sp = SP
    if axis == 0:  # the same scene with the slice axis first
        hu, truth = np.moveaxis(hu, 2, 0), np.moveaxis(truth, 2, 0)
        sp = (SP[2], SP[0], SP[1])
    p = SegmentParams()
    sm = ndi.gaussian_filter(hu, [p.smooth_sigma_mm / s for s in sp])
    t_lo, t_hi = SOFT_HU + p.bone_low_offset_hu, SOFT_HU + p.bone_high_offset_hu
    within = np.ones(hu.shape, bool)
    reach = thick_slice_reach_mm(sp, p.bone_halfmax_mm)
    assert reach is not None
    old = _bone_mask(sm, hu, SOFT_HU, t_lo, t_hi, within, sp, p)
    new = _bone_mask(sm, hu, SOFT_HU, t_lo, t_hi, within, sp, p, reach)

    def dice(m: np.ndarray) -> float:
        return 2.0 * float((m & truth).sum()) / float(m.sum() + truth.sum())

    assert dice(new) >= dice(old) - 1e-9
    assert (new & ~old).sum() == 0  # a wider peak search only raises the edge
    assert float((new & truth).sum()) >= 0.9 * float(truth.sum())
