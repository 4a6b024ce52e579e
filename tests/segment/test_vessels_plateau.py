"""The lumen plateau rule of the vessel label and the contrast call (issue 4).

Blood is one mixed fluid: the interior of a contrast-filled lumen (voxels deeper than the
blur) reads one value plus the noise. Cancellous and thin complex bone of the skull base
lies in the same 150-450 HU band on a plain CT and passes every test by value, position
and distance, but its interior scatters by its structure. ``segment.vessels`` drops vessel
pieces whose interior is no plateau (``VesselParams.lumen_spread_noise_k``,
``lumen_spread_fraction``), with their contrast evidence; when no piece shows a plateau,
nothing is contrast. On the real plain adult CT of Debian's ``invesalius-examples`` this
took the call from "enhanced" (4.0 mL of evidence, 23 mL of vessel at the skull base) to
"plain". Truth here: generated volumes whose answer is known voxel by voxel.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage as ndi

from seg_metrics import dice
from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.realanatomy.head import analytic_head
from twinsep.realanatomy.synth_ct import labels_to_ct
from twinsep.segment import segment_ct
from twinsep.segment.params import SegmentParams, VesselParams
from twinsep.segment.vessels import (
    SinusResult,
    VesselLevels,
    _interior_sample_flat,
    _interior_values,
    _plateau_check,
    lumen_is_plateau,
)
from twinsep.volume import Volume

#: The rule switched off (everything else as the defaults): the behaviour before it.
_OFF = replace(SegmentParams(), vessel=replace(VesselParams(), lumen_spread_noise_k=0.0))

_LEVELS = VesselLevels(
    contrast_hu=120.0,
    vessel_max_hu=470.0,
    dense_hu=630.0,
    soft_hu=30.0,
    sigmas_mm=(1.0, 2.0),
    ratio_min=0.45,
    noise_hu=10.0,
)


def test_plateau_limit_is_the_larger_of_noise_and_enhancement_terms():
    """limit = max(k * noise, f * (lumen - soft)): with k = 3, f = 0.15, noise 10 HU,
    soft 30 HU: a lumen of 280 HU gives max(30, 37.5) = 37.5 HU; a lumen of 180 HU gives
    max(30, 22.5) = 30 HU. Exactly at the limit is a plateau, 0.1 HU above is not; no
    interior (NaN) decides nothing; k = 0 turns the rule off."""
    p = VesselParams()
    assert (p.lumen_spread_noise_k, p.lumen_spread_fraction) == (3.0, 0.15)
    assert lumen_is_plateau(37.5, 280.0, _LEVELS, p)
    assert not lumen_is_plateau(37.6, 280.0, _LEVELS, p)
    assert lumen_is_plateau(30.0, 180.0, _LEVELS, p)
    assert not lumen_is_plateau(30.1, 180.0, _LEVELS, p)
    assert lumen_is_plateau(float("nan"), 280.0, _LEVELS, p)
    assert lumen_is_plateau(500.0, 280.0, _LEVELS, replace(p, lumen_spread_noise_k=0.0))


@pytest.mark.parametrize(
    "sp", [(1.0, 1.0, 1.0), (0.957, 0.957, 1.5), (0.5, 0.5, 0.5), (0.5, 0.5, 5.0), (2.0, 3.0, 2.5)]
)
def test_interior_sample_is_the_dilation_interior(sp):
    """The sampled interior (neighbour reads) equals the interior of ``_interior_values``
    (outside dilated by the blur and one voxel per axis) voxel for voxel, also where the
    mask touches the array border (beyond it is outside)."""
    rng = np.random.default_rng(3)
    m = ndi.gaussian_filter(rng.random((40, 44, 36)).astype(np.float32), 2.5) > 0.5
    m[:2] = True  # touches the border along axis 0
    m[:, -3:] = True
    sm = rng.normal(100.0, 30.0, m.shape).astype(np.float32)
    ref = np.sort(_interior_values(sm, m, sp, 1.5))
    got = np.sort(sm.ravel()[_interior_sample_flat(m, sp, 1.5, 10**9)])
    assert ref.size > 0
    np.testing.assert_array_equal(got, ref)
    # a slab thinner than the neighbourhood has no interior (and no index error)
    assert (
        _interior_sample_flat(m[:2], sp, 1.5, 10**9).size
        == _interior_values(sm[:2], m[:2], sp, 1.5).size
    )
    # a stride keeps at most max_n voxels of the mask, all interior
    few = _interior_sample_flat(m, sp, 1.5, 500)
    assert few.size <= 500
    assert np.isin(sm.ravel()[few], ref).all()


def _two_tubes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two straight tubes of radius 4 voxels on 1 mm voxels, far apart: a lumen of 280 HU
    with 10 HU noise, and a textured one (uniform 150-450 HU, robust SD 111 HU)."""
    rng = np.random.default_rng(0)
    shape = (40, 40, 40)
    i, j, _ = np.indices(shape)
    smooth = (i - 10) ** 2 + (j - 10) ** 2 <= 16
    rough = (i - 28) ** 2 + (j - 28) ** 2 <= 16
    sm = np.full(shape, 30.0, np.float32)
    sm[smooth] = 280.0 + rng.normal(0.0, 10.0, int(smooth.sum()))
    sm[rough] = rng.uniform(150.0, 450.0, int(rough.sum()))
    return sm, smooth, rough, smooth | rough


def test_textured_piece_goes_with_its_evidence_and_the_lumen_stays():
    """With a lumen plateau overall, only the textured piece is dropped; the evidence
    shrinks by the share of evidence voxels that lay in it (here half of the evidence
    voxels were in each tube: 6.0 mL -> 3.0 mL, fraction 0.02 -> 0.01)."""
    sm, smooth, rough, both = _two_tubes()
    res = SinusResult(
        vessel=both, evidence=both, evidence_ml=6.0, enhanced_fraction=0.02,
        contrast_median_hu=280.0,
    )  # fmt: skip
    out = _plateau_check(res, sm, (1.0, 1.0, 1.0), _LEVELS, VesselParams())
    np.testing.assert_array_equal(out.vessel, smooth)
    np.testing.assert_array_equal(out.evidence, smooth)
    assert out.evidence_ml == pytest.approx(6.0 * smooth.sum() / both.sum(), rel=1e-9)
    assert out.enhanced_fraction == pytest.approx(0.02 * smooth.sum() / both.sum(), rel=1e-9)
    # the overall spread mixes both tubes and is finite
    assert np.isfinite(out.lumen_spread_hu)


def test_nothing_is_contrast_when_no_piece_is_a_plateau():
    """Without a plateau anywhere, small pieces (no interior to show blood) go too and no
    evidence is left; with the rule off nothing changes."""
    sm, _, rough, _ = _two_tubes()
    speck = np.zeros_like(rough)
    speck[5:7, 30:32, 5:7] = True  # 8 voxels, no interior
    sm[speck] = 300.0
    res = SinusResult(
        vessel=rough | speck, evidence=rough | speck, evidence_ml=5.0,
        enhanced_fraction=0.01, contrast_median_hu=300.0,
    )  # fmt: skip
    out = _plateau_check(res, sm, (1.0, 1.0, 1.0), _LEVELS, VesselParams())
    assert not out.vessel.any() and not out.evidence.any()
    assert out.evidence_ml == 0.0 and out.enhanced_fraction == 0.0
    off = _plateau_check(res, sm, (1.0, 1.0, 1.0), _LEVELS, VesselParams(lumen_spread_noise_k=0.0))
    assert off is res


def test_rule_reads_every_grid_that_is_planned():
    """The rule is off only on voxels longer than ``lumen_voxel_max_mm`` (6 mm, the
    thickest slices the segmentation plans on, ``SegmentParams.cavity_max_slice_mm``):
    the textured tube goes on 1 x 1 x 4, 1 x 1 x 5, 0.5 x 0.5 x 6 mm and on a 0.5 x 0.45
    x 1.0 mm grid (2.2:1 like a clinical thin-slice CT) and stays on 1 x 1 x 6.1 mm.
    Until 2026-11-29 the bound was 4 mm, and a plain CT in 5-6 mm slices kept its
    skull base's partial volume as sinus evidence (docs/segmentation.md)."""
    sm, smooth, rough, both = _two_tubes()
    res = SinusResult(
        vessel=both, evidence=both, evidence_ml=6.0, enhanced_fraction=0.02,
        contrast_median_hu=280.0,
    )  # fmt: skip
    p = VesselParams()
    assert p.lumen_voxel_max_mm == SegmentParams().cavity_max_slice_mm == 6.0
    assert _plateau_check(res, sm, (1.0, 1.0, 6.1), _LEVELS, p) is res
    for sp in ((1.0, 1.0, 4.0), (1.0, 1.0, 5.0), (0.5, 0.5, 6.0), (0.5, 0.45, 1.0)):
        out = _plateau_check(res, sm, sp, _LEVELS, p)
        np.testing.assert_array_equal(out.vessel, smooth)


def _head_with_cancellous_base(*, contrast: bool) -> tuple[Volume, np.ndarray, np.ndarray]:
    """The analytic infant head on 1.3 mm voxels (102 x 117 x 102) with a block of
    cancellous bone on the floor of the cranial cavity (|x| <= 22 mm, |y| <= 28 mm, from
    the cavity floor up 16 mm; 39 mL): a bone volume fraction field (0.20 +- 0.15, 1.2 mm
    correlation, clipped to 0.02-0.6) between marrow (40 HU) and trabecular bone (1600
    HU), so most of it reads 150-450 HU (the contrast band), blurred by the 0.6 mm PSF,
    10 HU noise. Truth: the block is bone; the superior sagittal sinus is the vessel.
    Returns (CT, truth labels, block mask)."""
    sp = 1.3
    head = analytic_head(sp)
    lab = head.labels.copy()
    n = lab.shape
    ax = [head.affine[a, 3] + np.arange(n[a]) * sp for a in range(3)]
    x, y, z = np.meshgrid(*ax, indexing="ij")
    cavity = (lab == L.BRAIN) | (lab == L.CSF) | (lab == L.VESSEL)
    floor = ax[2][np.flatnonzero(cavity.any(axis=(0, 1)))[0]]
    block = (np.abs(x) <= 22) & (np.abs(y) <= 28) & (z <= floor + 16) & (lab != L.BACKGROUND)
    block &= cavity | (lab == L.BONE)
    lab[block] = L.BONE
    rng = np.random.default_rng(0)
    field = ndi.gaussian_filter(rng.standard_normal(n).astype(np.float32), 1.2 / sp)
    field /= field[block].std()
    bvf = np.clip(0.20 + 0.15 * field, 0.02, 0.6)
    ct = labels_to_ct(
        lab, (sp, sp, sp), rng=np.random.default_rng(1), noise_hu=0.0, contrast=contrast,
        texture=head.texture,
    ).astype(np.float32)  # fmt: skip
    ct[block] = (40.0 + bvf * (1600.0 - 40.0))[block]
    ct = ndi.gaussian_filter(ct, 0.6 / sp)
    ct += np.random.default_rng(2).normal(0.0, 10.0, n).astype(np.float32)
    vol = Volume(np.rint(ct).astype(np.int16), head.affine.copy(), {"modality": "CT"})
    return vol, lab, block


def test_plain_head_with_cancellous_skull_base_is_plain():
    """Plain blood (50 HU) and a cancellous skull base: before the rule the block's
    partial volume was called contrast (evidence ~5 mL, ~13 mL of vessel in and around
    it); now the call is plain, and with contrast forced no vessel voxel lies in or
    within two voxels of the block (its interior's robust SD, ~64 HU, is 1.6 x the limit
    of ~39 HU)."""
    ct, _, block = _head_with_cancellous_base(contrast=False)
    before = segment_ct(ct, params=_OFF)
    assert before.contrast  # the failure this rule fixes (not vacuous)
    assert (before.labels.array == L.VESSEL)[block].sum() > 1000
    after = segment_ct(ct)
    assert not after.contrast
    assert after.hu_thresholds["contrast_evidence_ml"] == 0.0
    assert not (after.labels.array == L.VESSEL).any()
    forced = segment_ct(ct, contrast=True)
    near = ndi.binary_dilation(block, iterations=2)
    assert int((forced.labels.array == L.VESSEL)[near].sum()) == 0
    assert any("image suggests False" in w for w in forced.warnings)


def test_contrast_head_with_cancellous_skull_base_keeps_its_sinus():
    """The same head with contrast (sinus 280 HU): still enhanced; the textured block is
    dropped and the sinus kept, vessel Dice against the truth 0.40 -> 0.93 (floor 0.85:
    the sinus alone, as on the analytic rows of the benchmark at 1.0-1.5 mm)."""
    ct, lab, block = _head_with_cancellous_base(contrast=True)
    truth = lab == L.VESSEL
    before = segment_ct(ct, params=_OFF)
    after = segment_ct(ct)
    assert before.contrast and after.contrast
    v0 = before.labels.array == L.VESSEL
    v1 = after.labels.array == L.VESSEL
    assert dice(v0, truth) < 0.6  # the block's partial volume was vessel
    assert dice(v1, truth) >= 0.85
    assert int(v1[block].sum()) <= 0.01 * int(block.sum())


def test_contrast_phantom_unchanged_by_the_rule():
    """A contrast phantom (vertical-II, size 128, 2.34 mm, 10 HU noise): enhanced, and
    the vessel label is the same voxel for voxel with the rule on and off (its lumen's
    robust SD, ~10 HU, is a third of the limit). Benchmark vessel Dice there: 0.8906."""
    ph = make_phantom("vertical-II", size=128, seed=0, noise_hu=10.0)
    on = segment_ct(ph.ct)
    off = segment_ct(ph.ct, params=_OFF)
    assert on.contrast
    np.testing.assert_array_equal(on.labels.array, off.labels.array)
    assert dice(on.labels.array == L.VESSEL, ph.labels.array == L.VESSEL) >= 0.88


def _sinus_on_a_vertebra() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On 3 mm voxels (a coarse infant CT): a textured ball of radius 3 voxels (a
    vertebral body's cancellous bone, uniform 150-450 HU) and, joined to it, a sinus one
    voxel thin (280 HU) running 24 voxels away: too thin for an interior, so only the
    ball's interior is sampled and the pooled interior is no plateau. ``(sm, ball,
    sinus)``."""
    rng = np.random.default_rng(5)
    shape = (30, 20, 20)
    i, j, k = np.indices(shape)
    ball = (i - 5) ** 2 + (j - 10) ** 2 + (k - 10) ** 2 <= 9
    sinus = np.zeros(shape, bool)
    sinus[8:29, 10, 10] = True  # leaves the ball at i = 8
    sinus &= ~ball
    sm = np.full(shape, 30.0, np.float32)
    sm[ball] = rng.uniform(150.0, 450.0, int(ball.sum()))
    sm[sinus] = 280.0 + rng.normal(0.0, 10.0, int(sinus.sum()))
    return sm, ball, sinus


def test_a_textured_piece_takes_only_its_thick_part_when_neck_vessels_show_blood():
    """A bone ball joined to a thin sinus is one piece. When the neck vessels show
    contrast by themselves (``extracranial_ml`` >= ``neck_alone_ml``), the ball (its
    interior grown back by the blur and one voxel) goes with its evidence and the sinus
    stays, its evidence with it (evidence in proportion: 4.0 mL * sinus / all). Without
    that cue nothing in the image shows blood and everything goes, as before. Before
    this rule the whole piece went either way (the blind contrast case at130-occ-c15-fov
    with the 1 % cavity floor of 0b8d19c lost every vessel, Dice 0.724 -> 0.0)."""
    sm, ball, sinus = _sinus_on_a_vertebra()
    sp = (3.0, 3.0, 3.0)
    p = VesselParams()
    both = ball | sinus
    res = SinusResult(
        vessel=both, evidence=both, evidence_ml=4.0, enhanced_fraction=0.01,
        contrast_median_hu=280.0, extracranial_ml=p.neck_alone_ml,
    )  # fmt: skip
    out = _plateau_check(res, sm, sp, _LEVELS, p)
    assert not (out.vessel & ball).any()
    # the sinus stays beyond one voxel (and the blur) of the ball's interior: the ball
    # is radius 3, its interior radius <= 2, so the sinus voxels from i = 9 on stay
    stays = sinus.copy()
    stays[:9] = False
    np.testing.assert_array_equal(out.vessel, stays)
    np.testing.assert_array_equal(out.evidence, stays)
    assert out.evidence_ml == pytest.approx(4.0 * stays.sum() / both.sum(), rel=1e-9)
    assert out.enhanced_fraction == pytest.approx(0.01 * stays.sum() / both.sum(), rel=1e-9)
    # below the neck cue: no plateau anywhere and no other sign of blood, all goes
    low = replace(res, extracranial_ml=p.neck_alone_ml - 0.01)
    out = _plateau_check(low, sm, sp, _LEVELS, p)
    assert not out.vessel.any() and not out.evidence.any()
    assert out.evidence_ml == 0.0 and out.enhanced_fraction == 0.0


def _plate_and_vein(spread_hu: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """On 1 mm voxels, two pieces far apart: a textured rod of radius 6 voxels (a skull
    plate's partial volume, uniform 150-450 HU) and a vein of radius 3 (280 HU), whose
    interior (342 voxels, against the rod's 2622) is scaled to a robust SD of exactly
    ``spread_hu`` about a median of 280 HU. Pooled, the interior is no plateau (robust
    SD ~95 HU against a limit of 38). ``(sm, rod, vein)``."""
    rng = np.random.default_rng(7)
    shape = (40, 40, 40)
    i, j, _ = np.indices(shape)
    rod = (i - 25) ** 2 + (j - 25) ** 2 <= 36
    vein = (i - 8) ** 2 + (j - 8) ** 2 <= 9
    sm = np.full(shape, 30.0, np.float32)
    sm[rod] = rng.uniform(150.0, 450.0, int(rod.sum()))
    x = rng.normal(0.0, 1.0, shape)
    inner = np.zeros(shape, bool)
    inner.ravel()[_interior_sample_flat(vein, (1.0, 1.0, 1.0), 1.5, 10**6)] = True
    a, m, b = np.percentile(x[inner], [25.0, 50.0, 75.0])
    sm[vein] = (280.0 + (x[vein] - m) * spread_hu / ((b - a) / 1.349)).astype(np.float32)
    return sm, rod, vein


def test_a_vein_with_a_noise_plateau_shows_blood_beside_a_textured_piece():
    """The pooled interior of a vein and a textured piece is no plateau, but the vein's
    own interior is one fluid (robust SD 12 HU at 10 HU noise, within 3 sigmas): the
    textured piece goes with its evidence and the vein keeps its share (6.0 mL x vein /
    all voxels). Before, "no plateau pooled" dropped all evidence while the vein stayed
    as vessel (the blind MR phantom's CT venogram at 2 mm: sinus evidence 6.02 -> 0 mL,
    called plain, vessel 0 of 10.3 mL per twin). A vein that passes only with the
    enhancement allowance (robust SD 34 HU: above 3 x 10 HU, below 0.15 x 250 HU) is
    kept but shows no blood by itself: all evidence still goes."""
    p = VesselParams()
    for spread, shows_blood in ((12.0, True), (34.0, False)):
        sm, rod, vein = _plate_and_vein(spread)
        both = rod | vein
        res = SinusResult(
            vessel=both, evidence=both, evidence_ml=6.0, enhanced_fraction=0.02,
            contrast_median_hu=280.0, extracranial_ml=p.neck_alone_ml - 0.01,
        )  # fmt: skip
        out = _plateau_check(res, sm, (1.0, 1.0, 1.0), _LEVELS, p)
        assert out.lumen_spread_hu > 2 * 38.0  # pooled: no plateau (not vacuous)
        np.testing.assert_array_equal(out.vessel, vein)  # kept either way (its own plateau)
        share = float(vein.sum()) / float(both.sum())
        if shows_blood:
            np.testing.assert_array_equal(out.evidence, vein)
            assert out.evidence_ml == pytest.approx(6.0 * share, rel=1e-9)
            assert out.enhanced_fraction == pytest.approx(0.02 * share, rel=1e-9)
        else:
            assert not out.evidence.any() and out.evidence_ml == 0.0
