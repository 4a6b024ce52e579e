"""A contrast CT that the call reads as plain says so: the contrast call's blind spots.

Two kinds of contrast CT are called plain, and no rule separates them from the plain CTs
measured with a margin (docs/segmentation.md, "Contrast CTs called plain"), so the plan
says the call is uncertain (``segment.vessels.contrast_doubt``) instead of changing it:

* a sinus on a 2-3 mm grid with no neck in view: the analytic infant head (one superior
  sagittal sinus, 280 HU, no neck) leaves 1.24-1.96 mL of evidence at 2-3 mm, under the
  2.5 mL that proves contrast, with nothing in the neck to confirm it;
* a lumen at the top of the blood range (450 HU at 30 HU noise): its interior piles up
  under the band's ceiling like thin bone, the ceiling verdict refuses it
  (``lumen_below_ceiling``) and, without a neck, nothing else shows blood.

Truth: generated CTs whose answer is known, and a truncated normal whose statistic is
analytic (``tests/segment/test_vessels_ceiling.py``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import norm

from twinsep.realanatomy.head import analytic_head
from twinsep.realanatomy.synth_ct import SynthCTParams, labels_to_ct
from twinsep.segment import segment_ct
from twinsep.segment.params import VesselParams
from twinsep.segment.vessels import SinusResult, VesselLevels, _plateau_check, contrast_doubt
from twinsep.volume import Volume

_DOUBT = "the contrast call is uncertain"

_LEVELS = VesselLevels(
    contrast_hu=120.0,
    vessel_max_hu=470.0,
    dense_hu=630.0,
    soft_hu=30.0,
    sigmas_mm=(1.0, 2.0),
    ratio_min=0.45,
    noise_hu=10.0,
)


def _result(**kw: float) -> SinusResult:
    empty = np.zeros((2, 2, 2), bool)
    base = SinusResult(
        vessel=empty, evidence=empty, evidence_ml=0.0, enhanced_fraction=0.0,
        contrast_median_hu=float("nan"),
    )  # fmt: skip
    return replace(base, **kw)


def test_doubt_needs_the_support_evidence_and_no_call():
    """Weak evidence (>= contrast_support_ml 1.0 mL, < contrast_min_ml 2.5 mL) without
    the neck: in doubt, the message gives the volume; 0.1 mL under 1.0 is not; evidence
    that makes the call contrast (2.5 mL, or 1.0 mL with 6 mL of neck vessels) is no
    doubt either."""
    p = VesselParams()
    assert (p.contrast_support_ml, p.contrast_min_ml, p.extracranial_min_ml) == (1.0, 2.5, 6.0)
    why = contrast_doubt(_result(evidence_ml=1.78, enhanced_fraction=0.01), p)
    assert why is not None and "1.8 mL" in why and "0.0 mL seen" in why
    assert contrast_doubt(_result(evidence_ml=1.0, enhanced_fraction=0.01), p) is not None
    assert contrast_doubt(_result(evidence_ml=0.9, enhanced_fraction=0.01), p) is None
    assert contrast_doubt(_result(evidence_ml=2.5, enhanced_fraction=0.01), p) is None
    confirmed = _result(evidence_ml=1.0, enhanced_fraction=0.01, extracranial_ml=6.0)
    assert contrast_doubt(confirmed, p) is None


def test_doubt_from_the_evidence_the_ceiling_took():
    """Evidence that only the ceiling verdict took (``ceiling_evidence_ml``) of at least
    1.0 mL: in doubt, the message gives the volume and the distance; 0.9 mL is not."""
    p = VesselParams()
    why = contrast_doubt(_result(ceiling_evidence_ml=1.34, ceiling_sd=1.44), p)
    assert why is not None and "1.3 mL" in why and "1.44 robust SDs" in why
    assert contrast_doubt(_result(ceiling_evidence_ml=0.9, ceiling_sd=1.44), p) is None


def _tube_with_level(t: float) -> tuple[SinusResult, np.ndarray]:
    """A straight tube (radius 5 mm, 60 mm long, 1 mm voxels, 4.7 mL) whose values are a
    normal lumen of sigma 10 HU with its level t sigmas under the 470 HU ceiling, cut at
    the ceiling as the contrast band cuts every vessel; CSF (10 HU) around it. All of it
    is evidence (4.7 mL), nothing in the neck."""
    n = (30, 30, 70)
    i, j, k = np.indices(n)
    tube = ((i - 14.5) ** 2 + (j - 14.5) ** 2 <= 25.0) & (k >= 5) & (k < 65)
    rng = np.random.default_rng(0)
    mu, s = _LEVELS.vessel_max_hu - t * 10.0, 10.0
    vals = mu + s * norm.ppf(rng.uniform(0.0, norm.cdf(t), int(tube.sum())))
    sm = np.full(n, 10.0, np.float32)
    sm[tube] = vals
    ml = float(tube.sum()) / 1000.0
    res = SinusResult(
        vessel=tube, evidence=tube, evidence_ml=ml, enhanced_fraction=0.01,
        contrast_median_hu=float(np.median(vals)),
    )  # fmt: skip
    return res, sm


@pytest.mark.parametrize(
    ("t", "refused", "took"),
    [
        (3.0, False, False),  # a lumen well inside the band (z ~ 3.0): blood, kept
        (0.5, True, True),  # a level half a sigma under the ceiling (z ~ 1.22): in doubt
        (-3.0, True, False),  # a level 3 sigmas above the ceiling (z ~ 0.88): bone
    ],
)
def test_plateau_check_reports_the_evidence_the_ceiling_took(t, refused, took):
    """The pooled interior and the one piece of the tube read z = 3.0, 1.22 or 0.88
    robust SDs under the ceiling (analytic, the cut normal). At 3.0 it shows blood: the
    evidence stays, nothing is set aside. At 1.22 (under lumen_ceiling_sd 1.75, over
    ceiling_doubt_sd 1.09) the ceiling verdict takes all 4.7 mL and reports it
    (``ceiling_evidence_ml``, ``ceiling_sd`` within 0.1 of 1.22). At 0.88 (a level above
    the top of the blood range) it takes the evidence and reports none: not in doubt."""
    p = VesselParams()
    assert (p.lumen_ceiling_sd, p.ceiling_doubt_sd) == (1.75, 1.09)
    res, sm = _tube_with_level(t)
    out = _plateau_check(res, sm, (1.0, 1.0, 1.0), _LEVELS, p)
    z = {3.0: 3.01, 0.5: 1.22, -3.0: 0.88}[t]
    if not refused:
        assert out.evidence_ml == pytest.approx(res.evidence_ml)
        assert out.ceiling_evidence_ml == 0.0 and np.isnan(out.ceiling_sd)
        return
    assert out.evidence_ml == 0.0
    assert out.ceiling_sd == pytest.approx(z, abs=0.1)
    if took:
        assert out.ceiling_evidence_ml == pytest.approx(res.evidence_ml)
        assert contrast_doubt(out, p) is not None
    else:
        assert out.ceiling_evidence_ml == 0.0
        assert contrast_doubt(out, p) is None


def _head_ct(spacing_mm: float, *, contrast: bool, sinus_hu: float = 280.0) -> Volume:
    """The analytic infant head (no neck) at ``spacing_mm``, 30 HU noise."""
    head = analytic_head(spacing_mm)
    arr = labels_to_ct(
        head.labels, (spacing_mm,) * 3, rng=np.random.default_rng(0), noise_hu=30.0,
        contrast=contrast, texture=head.texture,
        params=SynthCTParams(vessel_contrast_hu=sinus_hu),
    )  # fmt: skip
    return Volume(arr, head.affine.copy(), {"modality": "CT"})


@pytest.mark.slow
def test_sinus_without_neck_at_2_5mm_is_plain_and_in_doubt():
    """The analytic head at 2.5 mm with a 280 HU sinus: 1.78 mL of evidence (no interior,
    no neck), called plain as before, and the plan now says the call is uncertain (before:
    only "no contrast in the CT"); its plain counterpart (0 mL) does not."""
    on = segment_ct(_head_ct(2.5, contrast=True))
    assert not on.contrast
    assert on.hu_thresholds["contrast_evidence_ml"] == pytest.approx(1.78, abs=0.1)
    assert any(_DOUBT in w and "1.8 mL" in w for w in on.warnings)
    off = segment_ct(_head_ct(2.5, contrast=False))
    assert not off.contrast and off.hu_thresholds["contrast_evidence_ml"] == 0.0
    assert not any(_DOUBT in w for w in off.warnings)
    assert any("no contrast in the CT" in w for w in off.warnings)


@pytest.mark.slow
def test_lumen_at_the_top_of_the_blood_range_without_neck_is_in_doubt():
    """The analytic head at 1.5 mm with a 450 HU sinus at 30 HU noise: its interior lies
    ~1.44 robust SDs under the 472 HU ceiling, the ceiling verdict takes its 1.34 mL and
    the CT reads plain (as before); the plan says the call is uncertain and why, and
    records the evidence the ceiling took."""
    seg = segment_ct(_head_ct(1.5, contrast=True, sinus_hu=450.0))
    assert not seg.contrast
    assert seg.hu_thresholds["contrast_evidence_ml"] == 0.0
    assert seg.hu_thresholds["contrast_ceiling_ml"] == pytest.approx(1.34, abs=0.15)
    assert any(_DOUBT in w and "top of the blood range" in w for w in seg.warnings)
