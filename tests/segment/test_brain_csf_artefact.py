"""An artefact class darker than water in the brain/CSF fit is not CSF (issue 4).

On a real head CT (InVesalius Cranium) and on Colin27 with a sharp reconstruction
kernel the three-class fit of the smoothed cavity found a small, wide class far below
brain (-20 to -29 HU, sigma 26-27 HU: kernel undershoot beside the inner table, fat or
air partial volume), took it for CSF and the real CSF class for white matter, and cut
at -6 to -10 HU: the ventricles and sulci became brain. ``brain_csf._below_water``
rejects a lowest class that reaches deeper below brain than water can; the class above
it is then CSF. Infant white matter (20-25 HU) with a CSF class below it must keep the
three-class interpretation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from seg_metrics import dice
from twinsep.segment.brain_csf import (
    _cavity_histogram,
    _csf_threshold,
    _fit_histogram,
    _two_tissue_boundary,
    classify_brain_csf,
)
from twinsep.segment.gmm import Mixture1D
from twinsep.segment.params import SegmentParams

SOFT_HU = 30.0
SHAPE = (64, 64, 64)
RULE_OFF = SegmentParams(csf_max_contrast_hu=float("inf"))


def _values(classes: list[tuple[float, float, float]], seed: int = 0) -> np.ndarray:
    """Smoothed-cavity values drawn from Gaussian classes ``(mean_hu, sigma_hu, weight)``."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(int(np.prod(SHAPE)), [w for _, _, w in classes])
    vals = np.concatenate(
        [rng.normal(m, s, c) for (m, s, _), c in zip(classes, counts, strict=True)]
    )
    rng.shuffle(vals)
    return vals.astype(np.float32).reshape(SHAPE)


def _three_class(ts: np.ndarray, noise_ts: float, params: SegmentParams = SegmentParams()):
    hist = _cavity_histogram(ts, np.ones(ts.shape, bool), SOFT_HU, params)
    assert hist is not None
    mix2 = _fit_histogram(hist, (-25.0, 0.0), noise_ts)
    assert mix2 is not None
    return _two_tissue_boundary(hist, mix2, noise_ts, params)


def _bayes_lower_crossing(m0: float, s0: float, w0: float, m1: float, s1: float, w1: float):
    """Where the weighted densities of two Gaussians cross between their means."""
    mix = Mixture1D(means=(m0, m1), sigmas=(s0, s1), weights=(w0, w1), log_likelihood=0.0,
                    iterations=0)  # fmt: skip
    return max(x for x in mix.crossings(0, 1) if m0 <= x <= m1)


# The fit found on the real head CT (InVesalius Cranium, 0.96 mm, smoothed noise 4 HU):
# artefact -20.4 HU (sigma 25.9, 0.9 %), CSF and partial volume 8.2 HU (10.9, 18 %),
# brain 24.0 HU (5.9, 81 %).
REAL_CT = [(-20.4, 25.9, 0.009), (8.2, 10.9, 0.181), (24.0, 5.9, 0.810)]


@pytest.mark.parametrize("offset_hu", [0.0, -20.0, 20.0])
def test_histogram_artefact_class_is_not_csf(offset_hu):
    classes = [(m + offset_hu, s, w) for m, s, w in REAL_CT]
    ts = _values(classes)
    cut = _three_class(ts, 4.0)
    assert cut.artefact
    # the cut is the two-class (Bayes) rule on CSF and brain without the artefact:
    # analytic from the generated classes (renormalised weights), 11.8 HU + offset;
    # the fitted classes move it by < 1 HU
    (_, _, wa), (mc, sc, wc), (mb, sb, wb) = classes
    expected = _bayes_lower_crossing(mc, sc, wc / (1 - wa), mb, sb, wb / (1 - wa))
    assert cut.cut_hu == pytest.approx(expected, abs=1.5)
    t = _csf_threshold(ts, np.ones(ts.shape, bool), SOFT_HU + offset_hu, 4.0, SegmentParams(), [])
    assert t == pytest.approx(expected, abs=1.5)
    # without the rule the artefact was CSF: the cut between it and the real CSF class,
    # below water (-6 HU on the real CT), > 10 HU under the expected cut
    t_old = _csf_threshold(ts, np.ones(ts.shape, bool), SOFT_HU + offset_hu, 4.0, RULE_OFF, [])
    assert t_old < expected - 10.0


def test_artefact_below_csf_white_and_grey_matter_keeps_the_three_class_reading():
    # undershoot (-30 HU, sigma 27, 7 %), CSF 12 HU (3 %), white 27 HU, grey 35.7 HU at
    # a smoothed noise of 4 HU: four classes are resolved, and the three-class reading
    # (undershoot with CSF) is kept, as without the rule: on the size-256 sharp-kernel
    # phantoms the CSF/white cut of the four lost up to 0.042 CSF (undershoot-darkened
    # brain under a thin CSF layer). The class above the undershoot is not taken as CSF
    # (that would cut at ~31 HU, between white and grey matter)
    classes = [(-30.0, 27.0, 0.07), (12.0, 6.0, 0.03), (27.0, 4.3, 0.30), (35.7, 4.0, 0.60)]
    ts = _values(classes)
    cut = _three_class(ts, 4.0)
    assert not cut.artefact
    assert cut == _three_class(ts, 4.0, RULE_OFF)
    # the old cut: between the undershoot and the CSF class, below CSF's mean
    assert cut.cut_hu is not None and cut.cut_hu < classes[1][0]


@pytest.mark.parametrize(
    "classes",
    [
        # undershoot, white 27 HU and grey matter, no CSF class (a thin CSF layer lost
        # inside the undershoot)
        [(-30.0, 27.0, 0.03), (27.0, 4.3, 0.37), (35.7, 4.0, 0.60)],
        # the same with infant white matter at 22 HU (14 HU under grey)
        [(-30.0, 27.0, 0.07), (22.0, 4.0, 0.33), (36.0, 4.0, 0.60)],
    ],
)
def test_white_matter_above_an_artefact_stays_brain(classes):
    # grey matter is one tissue (sigma = noise) and the class above the artefact lies
    # within a grey-white contrast (csf_grey_white_max_hu, 18 HU) of it: white matter,
    # not CSF. Taking it for CSF cut at 28-30 HU (all white matter CSF); the cut must
    # stay below white matter's lower 2-sigma tail (measured 11.2 / 6.1 HU: the
    # two-class boundary)
    ts = _values(classes)
    cut = _three_class(ts, 4.0)
    assert cut.artefact and cut.cut_hu is None
    t = _csf_threshold(ts, np.ones(ts.shape, bool), SOFT_HU, 4.0, SegmentParams(), [])
    assert t < classes[1][0] - 2.0 * classes[1][1]
    loose = replace(SegmentParams(), csf_grey_white_max_hu=0.0)  # the guard off
    t_loose = _csf_threshold(ts, np.ones(ts.shape, bool), SOFT_HU, 4.0, loose, [])
    assert t_loose > classes[1][0]


# Three-tissue cavities that must keep "lowest class = CSF, middle = white matter":
# - the 1.17 mm vertical-II phantom's fit (CSF widened by partial volume, white 27 HU)
# - infant: unmyelinated white matter 22 HU, CSF 5 HU
# - the largest physical contrast: pure water CSF (0 HU, sigma = noise) under grey
#   matter at 40 HU as the heaviest class: mean - sigma = -4 HU against the bound
#   40 - 40 - 2 x 4 = -8 HU
PHANTOM_LIKE = [(16.3, 6.8, 0.05), (27.1, 4.3, 0.35), (35.7, 4.0, 0.60)]
INFANT = [(5.0, 3.0, 0.08), (22.0, 3.0, 0.40), (36.0, 3.0, 0.52)]
WATER_UNDER_GREY = [(0.0, 4.0, 0.06), (22.0, 4.0, 0.30), (40.0, 4.0, 0.64)]


@pytest.mark.parametrize("classes", [PHANTOM_LIKE, INFANT, WATER_UNDER_GREY])
@pytest.mark.parametrize("offset_hu", [0.0, -20.0, 20.0])
def test_infant_white_matter_keeps_the_three_class_interpretation(classes, offset_hu):
    shifted = [(m + offset_hu, s, w) for m, s, w in classes]
    ts = _values(shifted)
    noise_ts = min(s for _, s, _ in classes)
    cut = _three_class(ts, noise_ts)
    assert not cut.artefact
    # the cut between CSF and white matter (midpoint of their means), as before the rule
    assert cut.cut_hu == pytest.approx(0.5 * (shifted[0][0] + shifted[1][0]), abs=1.5)
    assert cut == _three_class(ts, noise_ts, RULE_OFF)


def _cavity(rim_hu: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A spherical cranial cavity (radius 27 mm, 1 mm voxels, 64^3) in a 5 mm bone shell:
    brain 30 HU, two ventricles of CSF 5 HU (3 % of the cavity), a 2 mm rim under the
    wall at ``rim_hu`` (a kernel undershoot when far below water), white noise 8 HU.

    Returns ``(ct, cavity, ventricles, depth_mm)``.
    """
    rng = np.random.default_rng(seed)
    c = np.arange(SHAPE[0]) - (SHAPE[0] - 1) / 2
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    r = np.sqrt(x**2 + y**2 + z**2)
    cav = r < 27.0
    ct = np.where(r < 32.0, 1000.0, -1000.0)
    ct[cav] = 30.0
    shape = (y / 11.0) ** 2 + (z / 5.0) ** 2
    vent = (((x - 7) / 4.5) ** 2 + shape < 1) | (((x + 7) / 4.5) ** 2 + shape < 1)
    ct[vent] = 5.0
    depth = 27.0 - r
    ct[cav & (depth < 2.0)] = rim_hu
    ct += rng.normal(0.0, 8.0, ct.shape)
    return ct.astype(np.float32), cav, vent, depth


def _deep_csf_dice(rim_hu: float, params: SegmentParams) -> tuple[float, float]:
    ct, cav, vent, depth = _cavity(rim_hu)
    before = ct.copy()
    r = classify_brain_csf(ct, cav, spacing=(1.0, 1.0, 1.0), soft_hu=SOFT_HU, noise_hu=8.0,
                           params=params)  # fmt: skip
    np.testing.assert_array_equal(ct, before)  # input not modified
    deep = cav & (depth > 4.0)  # the ventricles; the rim's label is not judged
    return dice(vent, r.csf & deep), r.csf_brain_hu


def test_cavity_with_dark_rim_keeps_ventricles_csf():
    # rim at -40 HU: 70 HU below brain, like the undershoot beside a sharp-kernel table
    d_new, cut_new = _deep_csf_dice(-40.0, SegmentParams())
    d_old, cut_old = _deep_csf_dice(-40.0, RULE_OFF)
    # measured 0.984 (cut 19.8 HU); the old rule cut at -8 HU and found no ventricle (0.0)
    assert d_new >= 0.95
    assert 5.0 < cut_new < 25.0  # between CSF (5 HU) and brain (30 HU)
    assert d_old < 0.5 and cut_old < 0.0
    # without the rim the rule does not fire and the result is the same as without it
    d_plain, cut_plain = _deep_csf_dice(30.0, SegmentParams())
    assert (d_plain, cut_plain) == _deep_csf_dice(30.0, RULE_OFF)
    assert d_plain >= 0.95


def test_rule_bound_is_a_parameter():
    # a bound larger than the artefact's depth below brain (70 HU) keeps the old reading
    ts = _values(REAL_CT)
    wide = replace(SegmentParams(), csf_max_contrast_hu=80.0)
    assert not _three_class(ts, 4.0, wide).artefact
    assert _three_class(ts, 4.0).artefact
