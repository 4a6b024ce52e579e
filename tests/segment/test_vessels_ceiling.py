"""A lumen plateau must lie inside the contrast band, not pile up under its ceiling.

Voxels above the top of the blood range (``VesselLevels.vessel_max_hu``) are never
vessel, so the band cuts every vessel interior there. A broad partial-volume spread of
thin bone cut by the ceiling piles up under it with a small robust SD: a false plateau
(``segment.vessels.lumen_below_ceiling``, ``VesselParams.lumen_ceiling_sd``). The plain
CT of the blind MR phantom on a 2 mm grid (a 2-3 mm infant vault without a core) was
called contrast that way: 2.71 mL of "evidence", all skull plate, whose 28 pooled
interior voxels read median 437 HU, robust SD 40 HU, 0.88 SDs under the 472 HU ceiling.
Truth here: a normal cut at a known point (analytic), and generated CTs whose answer is
known (plain or contrast; a 420 HU lumen at 30 HU noise that must be kept).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import norm

from blind.mr_phantom import MrPhantomConfig, make_mr_case
from seg_metrics import dice
from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.phantom.ct import CtParams
from twinsep.realanatomy.head import analytic_head
from twinsep.realanatomy.synth_ct import SynthCTParams, labels_to_ct
from twinsep.segment import segment_ct
from twinsep.segment.params import SegmentParams, VesselParams
from twinsep.segment.vessels import VesselLevels, lumen_below_ceiling
from twinsep.volume import Volume

pytestmark = pytest.mark.slow  # generated CTs segmented two or three times each

_LEVELS = VesselLevels(
    contrast_hu=120.0,
    vessel_max_hu=470.0,
    dense_hu=630.0,
    soft_hu=30.0,
    sigmas_mm=(1.0, 2.0),
    ratio_min=0.45,
    noise_hu=10.0,
)


def _with_vessel(**kw: float) -> SegmentParams:
    return replace(SegmentParams(), vessel=replace(VesselParams(), **kw))


#: The ceiling rule off (everything else as the defaults): the behaviour before it.
_OFF = _with_vessel(lumen_ceiling_sd=0.0)


def _ceiling_sd_analytic(t: float) -> float:
    """(ceiling - median) / (IQR / 1.349) of a standard normal cut above at ``t``."""
    p = norm.cdf(t)
    q25, q50, q75 = norm.ppf([0.25 * p, 0.5 * p, 0.75 * p])
    return float((t - q50) / ((q75 - q25) / 1.349))


@pytest.mark.parametrize("t", [-3.0, 0.0, 1.0, 1.5, 2.0, 4.0])
def test_ceiling_distance_of_a_cut_normal_matches_the_analytic_value(t):
    """A lumen of 300 HU, sigma 20 HU, cut above at 300 + 20 t HU (200 000 voxels): the
    sample's distance of the median under the cut in robust SDs is the analytic value
    (0.884, 1.094, 1.420, 1.706, 2.082, 4.000 for t = -3, 0, 1, 1.5, 2, 4) within 0.02 (the sampling
    error of the quartiles is ~0.005 there; a statistic on the upper quartile or on the
    plain SD would be off by 0.1-1). The verdict follows ``lumen_ceiling_sd`` = 1.75,
    which lies between t = 1.5 (1.71) and t = 2 (2.08)."""
    assert VesselParams().lumen_ceiling_sd == 1.75
    mu, s = 300.0, 20.0
    c = mu + t * s
    rng = np.random.default_rng(0)
    v = mu + s * norm.ppf(rng.uniform(0.0, norm.cdf(t), 200_000))
    assert v.max() <= c
    q25, q50, q75 = np.percentile(v, [25.0, 50.0, 75.0])
    sd = float(q75 - q25) / 1.349
    z = (c - q50) / sd
    assert z == pytest.approx(_ceiling_sd_analytic(t), abs=0.02)
    assert _ceiling_sd_analytic(t) == pytest.approx(
        {-3.0: 0.884, 0.0: 1.094, 1.0: 1.420, 1.5: 1.706, 2.0: 2.082, 4.0: 4.000}[t], abs=0.002
    )
    levels = replace(_LEVELS, vessel_max_hu=c)
    assert lumen_below_ceiling(sd, float(q50), levels, VesselParams()) == (t >= 2.0)


def test_ceiling_rule_exactly_at_the_threshold_and_off():
    """Exactly 1.75 SDs under the ceiling shows blood, 0.1 HU closer does not; NaN
    spread (no interior) and a threshold of 0 decide nothing."""
    p = VesselParams()
    assert lumen_below_ceiling(20.0, 435.0, _LEVELS, p)  # 470 - 435 = 35 = 1.75 x 20
    assert not lumen_below_ceiling(20.0, 435.1, _LEVELS, p)
    assert lumen_below_ceiling(float("nan"), 469.0, _LEVELS, p)
    assert lumen_below_ceiling(40.0, 469.0, _LEVELS, replace(p, lumen_ceiling_sd=0.0))


@pytest.fixture(scope="module")
def mr_phantom_ct_2mm() -> dict[bool, Volume]:
    """The blind MR phantom's CT on its 2 mm grid (95 x 100 x 146, 12 HU noise, infant
    vault 950 HU tables around 330 HU diploe), plain and with contrast (sinus 280 HU)."""
    out = {}
    for contrast in (False, True):
        case = make_mr_case(MrPhantomConfig(venogram=False, ct_contrast=contrast))
        out[contrast] = Volume(case.ct.array, case.ct.affine, {"modality": "CT"})
    return out


def test_plain_infant_ct_at_2mm_is_plain(mr_phantom_ct_2mm):
    """The plain CT: before the rule 2.71 mL of skull plate without a core was contrast
    evidence (its pooled interior 0.88 SDs under the ceiling passed as a plateau) and the
    CT was called contrast, with false vessels and no "sinuses missing" warning; now no
    evidence is left, the call is plain and the plan says the sinuses are missing."""
    ct = mr_phantom_ct_2mm[False]
    before = segment_ct(ct, params=_OFF)
    assert before.contrast  # the failure this rule fixes (not vacuous)
    assert before.hu_thresholds["contrast_evidence_ml"] > 2.5
    after = segment_ct(ct)
    assert not after.contrast
    assert after.hu_thresholds["contrast_evidence_ml"] == 0.0
    assert not (after.labels.array == L.VESSEL).any()
    assert any("no contrast in the CT" in w for w in after.warnings)
    # its plateau lies 0.88 SDs under the ceiling, a level above the top of the blood
    # range (under ceiling_doubt_sd 1.09): bone, the plain call is not in doubt
    assert after.hu_thresholds["contrast_ceiling_ml"] == 0.0
    assert not any("the contrast call is uncertain" in w for w in after.warnings)


def test_ct_venogram_at_2mm_stays_contrast(mr_phantom_ct_2mm):
    """The same anatomy with contrast: its neck vein (median ~273 HU, 15 SDs under the
    ceiling) shows blood; the evidence (5.65 mL) and the vessel label are those of the
    rule off, voxel for voxel."""
    ct = mr_phantom_ct_2mm[True]
    on, off = segment_ct(ct), segment_ct(ct, params=_OFF)
    assert on.contrast
    assert on.hu_thresholds["contrast_evidence_ml"] > 5.0
    np.testing.assert_array_equal(on.labels.array == L.VESSEL, off.labels.array == L.VESSEL)


def test_bright_lumen_at_1_2mm_without_neck_is_kept():
    """The analytic infant head (1.2 mm, no neck, so the sinus's own plateau is the only
    sign of blood) with a 420 HU sinus and 30 HU noise: the interior (~660 voxels,
    median ~409 HU, robust SD ~17 HU) lies ~3.6 SDs under the ceiling: contrast, the
    vessel label identical to the rule off, Dice against the truth >= 0.9 (0.913). A
    threshold of 4 SDs would lose it (the case is near enough to the ceiling to test
    the threshold)."""
    sp = 1.2
    head = analytic_head(sp)
    arr = labels_to_ct(
        head.labels, (sp, sp, sp), rng=np.random.default_rng(0), noise_hu=30.0,
        contrast=True, texture=head.texture, params=SynthCTParams(vessel_contrast_hu=420.0),
    )  # fmt: skip
    ct = Volume(arr, head.affine.copy(), {"modality": "CT"})
    truth = head.labels == L.VESSEL
    on, off = segment_ct(ct), segment_ct(ct, params=_OFF)
    assert on.contrast
    v = on.labels.array == L.VESSEL
    np.testing.assert_array_equal(v, off.labels.array == L.VESSEL)
    assert dice(v, truth) >= 0.9
    assert not segment_ct(ct, params=_with_vessel(lumen_ceiling_sd=4.0)).contrast


def test_bright_lumen_at_2_5mm_keeps_its_vessels_without_the_neck_cue():
    """A contrast phantom (vertical-II on 2.5 mm) with 420 HU vessels and 30 HU noise,
    contrast forced and the neck-alone cue off (``neck_alone_ml`` infinite), so that the
    pieces' own plateaus decide whether anything shows blood: pooled median ~417 HU,
    robust SD ~25 HU, 2.4 SDs under the ceiling, its pieces 2.0-2.7: the vessel label is
    that of the rule off, Dice against the truth >= 0.85 (0.882 with the neck cue). A
    threshold of 3 SDs drops every vessel without an interior of its own (the test is
    near enough to the ceiling to mean something)."""
    ph = make_phantom(
        "vertical-II", spacing_mm=2.5, seed=0, noise_hu=30.0,
        ct_params=CtParams(contrast_vessel_hu=(420.0, 420.0)),
    )  # fmt: skip
    inf = float("inf")
    on = segment_ct(ph.ct, contrast=True, params=_with_vessel(neck_alone_ml=inf))
    off = segment_ct(
        ph.ct, contrast=True, params=_with_vessel(neck_alone_ml=inf, lumen_ceiling_sd=0.0)
    )
    v = on.labels.array == L.VESSEL
    np.testing.assert_array_equal(v, off.labels.array == L.VESSEL)
    assert dice(v, ph.labels.array == L.VESSEL) >= 0.85
    strict = segment_ct(
        ph.ct, contrast=True, params=_with_vessel(neck_alone_ml=inf, lumen_ceiling_sd=3.0)
    )
    assert int((strict.labels.array == L.VESSEL).sum()) < 0.8 * int(v.sum())
