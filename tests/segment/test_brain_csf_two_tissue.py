"""Brain as two tissues (grey and white matter) in the brain/CSF decision (issue 4).

At fine voxels the smoothing leaves less noise than the grey-white contrast, the cavity
histogram has a white-matter and a grey-matter class, and a two-class CSF/brain fit put
its CSF class on white matter: its boundary (~25 HU) cut white matter into CSF. The
three-class rule (``brain_csf._two_tissue_boundary``) must cut between CSF and white
matter, leave a single-tissue brain to the two-class fit, and keep a fluid class with
CSF.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from seg_metrics import dice
from twinsep import labels as L
from twinsep.segment import segment_ct
from twinsep.segment.brain_csf import (
    _cavity_histogram,
    _csf_threshold,
    _fit_histogram,
    _two_class_boundary,
    _two_tissue_boundary,
)
from twinsep.segment.params import SegmentParams

SOFT_HU = 40.0
SHAPE = (64, 64, 64)  # 262 k smoothed cavity values (more than gmm_max_samples)


def _values(classes: list[tuple[float, float, float]], seed: int = 0) -> np.ndarray:
    """A smoothed-cavity image whose values are drawn from Gaussian classes
    ``(mean_hu, sigma_hu, weight)`` (voxel order is irrelevant to the threshold)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(SHAPE))
    counts = rng.multinomial(n, [w for _, _, w in classes])
    vals = np.concatenate(
        [rng.normal(m, s, c) for (m, s, _), c in zip(classes, counts, strict=True)]
    )
    rng.shuffle(vals)
    return vals.astype(np.float32).reshape(SHAPE)


def _threshold(ts: np.ndarray, noise_ts: float) -> tuple[float, list[str]]:
    warnings: list[str] = []
    t = _csf_threshold(ts, np.ones(ts.shape, bool), SOFT_HU, noise_ts, SegmentParams(), warnings)
    return t, warnings


def _two_class_cut(ts: np.ndarray, noise_ts: float) -> tuple[float, bool]:
    """The two-class rule alone (the one the three-class rule corrects): boundary (HU)
    and whether it resolved CSF."""
    hist = _cavity_histogram(ts, np.ones(ts.shape, bool), SOFT_HU, SegmentParams())
    assert hist is not None
    mix2 = _fit_histogram(hist, (-25.0, 0.0), noise_ts)
    assert mix2 is not None
    return _two_class_boundary(mix2, noise_ts, SegmentParams())


# Three-tissue cavities, classes (mean HU, sigma HU, weight):
# - fine phantom: the classes EM finds on the 1.17 mm vertical-II phantom at noise 10 HU
#   (CSF widened by partial volume with brain, white 27 HU, grey 36 HU); the two-class
#   fit there has its lower class at 25.5 HU, weight 0.26 (white matter)
# - infant: unmyelinated white matter 22 HU, CSF 5 HU; the two-class fit's heaviest class
#   is white matter and CSF together (no CSF resolved)
PHANTOM_LIKE = ([(16.3, 6.8, 0.05), (27.1, 4.3, 0.35), (35.7, 4.0, 0.60)], 4.0)
INFANT = ([(5.0, 3.0, 0.08), (22.0, 3.0, 0.40), (36.0, 3.0, 0.52)], 3.0)
# - infant with partial volume: the classes EM finds on vertical-II at 1.56 mm with
#   white matter at 22 HU: the CSF class (16.1 HU) is nearer to white matter than white
#   matter is to grey, and closer than the separation bound (8 HU)
INFANT_PV = ([(16.1, 7.6, 0.034), (22.6, 4.1, 0.336), (35.4, 4.0, 0.63)], 4.0)


@pytest.mark.parametrize(
    ("classes", "noise_ts", "tol_hu"),
    [
        # the fitted mean of the small, wide CSF class is pulled ~1 HU by its overlap
        # with white matter: 1.5 HU (the buggy boundary is 3 HU higher still)
        (*PHANTOM_LIKE, 1.5),
        (*INFANT, 1.0),
    ],
)
def test_three_tissues_cut_between_csf_and_white_matter(classes, noise_ts, tol_hu):
    ts = _values(classes)
    t, warnings = _threshold(ts, noise_ts=noise_ts)
    # analytic: the midpoint of the CSF and white-matter means
    assert t == pytest.approx(0.5 * (classes[0][0] + classes[1][0]), abs=tol_hu)
    assert not warnings
    # the two-class fit alone does not cut there (the bug this rule fixes): its boundary
    # is in white matter's lower half, or it finds no CSF at all
    t2, resolved = _two_class_cut(ts, noise_ts)
    assert (t2 > classes[1][0] - 1.5 * classes[1][1]) or not resolved


def test_infant_white_matter_near_a_partial_volume_csf_class_is_brain():
    classes, noise_ts = INFANT_PV
    ts = _values(classes)
    t, warnings = _threshold(ts, noise_ts=noise_ts)
    # grey matter is one tissue (sigma = noise), so white matter is the class below it;
    # CSF is not resolved from it (6.5 HU < 8 HU): CSF is white matter's far tail,
    # 22.6 - 2.5 * 4.1 = 12.35 HU (fitted means/sigmas within ~0.3 HU)
    assert t == pytest.approx(classes[1][0] - 2.5 * classes[1][1], abs=1.0)
    assert not warnings
    t2, _ = _two_class_cut(ts, noise_ts)
    assert t2 > 27.0  # the two-class boundary: above white matter, all of it CSF


# - a CSF class wider than a tissue: partial volume with brain gives the CSF class a
#   heavy tail (here a scale mixture, one mean and two spreads; the probe infant's
#   cavity at 1.5 x 1.5 x 2.5 mm fitted 18.3 +- 9.4 and 19.2 +- 6.7 HU over brain
#   28.1 +- 4.2 at noise 4.0), and EM splits it into two classes whose lower one is not
#   resolved from the upper
CSF_SCALE_MIXTURE = ([(18.0, 9.0, 0.03), (18.0, 6.0, 0.15), (28.0, 4.0, 0.82)], 4.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_wide_csf_class_split_in_two_is_not_white_matter(seed):
    """The far-tail rule (CSF not resolved from brain's lower tissue) needs that lower
    class to be a tissue, no wider than one: the upper part of a heavy-tailed CSF class
    is not white matter, and its 2.5-sigma tail cut the CSF class at 2.5-3.1 HU."""
    classes, noise_ts = CSF_SCALE_MIXTURE
    ts = _values(classes, seed=seed)
    t, warnings = _threshold(ts, noise_ts=noise_ts)
    # analytic: where the generating densities cross (CSF's two parts against brain)
    dens = np.linspace(18.0, 28.0, 10001)
    pdf = [w * np.exp(-0.5 * ((dens - m) / s) ** 2) / s for m, s, w in classes]
    crossing = float(dens[np.argmin(np.abs(pdf[0] + pdf[1] - pdf[2]))])
    assert crossing == pytest.approx(19.94, abs=0.01)
    assert t == pytest.approx(crossing, abs=1.0)
    assert not warnings


def test_single_brain_tissue_keeps_the_two_class_bayes_boundary():
    # CSF 5 HU (10 %) and one brain tissue 33 HU (90 %), sigma 4 HU: the three-class
    # fit does not pay for its parameters (BIC) and the boundary is the Bayes crossing
    # (m0 + m1) / 2 + s^2 ln(w0 / w1) / (m1 - m0) = 19 - 1.256 = 17.74 HU
    ts = _values([(5.0, 4.0, 0.10), (33.0, 4.0, 0.90)])
    hist = _cavity_histogram(ts, np.ones(ts.shape, bool), SOFT_HU, SegmentParams())
    assert hist is not None
    mix2 = _fit_histogram(hist, (-25.0, 0.0), 4.0)
    assert mix2 is not None
    assert _two_tissue_boundary(hist, mix2, 4.0, SegmentParams()).cut_hu is None
    t, warnings = _threshold(ts, noise_ts=4.0)
    assert t == pytest.approx(17.74, abs=0.5)
    assert not warnings


def test_fluid_class_stays_with_csf():
    # CSF 5 HU (3 %), a fluid collection 17 HU (30 %: hygroma, oedema, as on the real
    # head CT slice 693_UNCR), brain 31 HU (67 %): the 17 HU class is nearer CSF (12 HU)
    # than brain (14 HU), so the cut lies between fluid and brain: (17 + 31) / 2 = 24 HU
    ts = _values([(5.0, 2.5, 0.03), (17.0, 4.0, 0.30), (31.0, 5.0, 0.67)])
    hist = _cavity_histogram(ts, np.ones(ts.shape, bool), SOFT_HU, SegmentParams())
    assert hist is not None
    mix2 = _fit_histogram(hist, (-25.0, 0.0), 2.5)
    assert mix2 is not None
    t3 = _two_tissue_boundary(hist, mix2, 2.5, SegmentParams()).cut_hu
    assert t3 is not None and t3 == pytest.approx(24.0, abs=1.0)
    t, _ = _threshold(ts, noise_ts=2.5)
    assert 22.0 <= t <= 25.0  # never above the three-class cut, never into CSF/fluid


def test_rule_off_by_parameter():
    ts = _values(PHANTOM_LIKE[0])
    off = SegmentParams(csf_three_class_min_bic=float("inf"))
    t_off = _csf_threshold(ts, np.ones(ts.shape, bool), SOFT_HU, 4.0, off, [])
    t_on, _ = _threshold(ts, noise_ts=4.0)
    assert t_off > t_on + 3.0  # off: the two-class boundary, inside white matter


phantom = pytest.importorskip("twinsep.phantom")


@pytest.mark.parametrize(
    ("kind", "size", "brain_floor", "csf_floor"),
    [
        # 1.17 mm: measured brain 0.982 / CSF 0.821 (two-class only: 0.937 / 0.664)
        ("vertical-II", 256, 0.97, 0.80),
        # 1.58 mm: measured brain 0.982 / CSF 0.848 (two-class only: 0.967 / 0.788)
        ("angular-occipital", 192, 0.975, 0.83),
    ],
)
def test_fine_spacing_phantom_white_matter_is_brain(kind, size, brain_floor, csf_floor):
    ph = phantom.make_phantom(kind, size=size, seed=0, noise_hu=10.0)
    _check(ph, brain_floor, csf_floor)


@pytest.mark.parametrize(
    ("size", "brain_floor", "csf_floor"),
    [
        # 2.34 mm: measured brain 0.980 / CSF 0.828 (two-class only: 0.788 / 0.449)
        (128, 0.97, 0.81),
        # 1.56 mm: measured brain 0.978 / CSF 0.799 (two-class only: 0.788 / 0.452);
        # CSF is white matter's far tail there (not resolved from it): 25 % too little
        (192, 0.97, 0.78),
    ],
)
def test_infant_white_matter_22_hu_is_brain(size, brain_floor, csf_floor):
    """Unmyelinated white matter (20-25 HU in infants): the phantom's white matter at
    22 HU instead of 27 HU, grey 36 HU, CSF 5 HU."""
    ct = replace(phantom.CtParams(), white_hu=22.0, noise_hu=10.0)
    ph = phantom.make_phantom("vertical-II", size=size, seed=0, noise_hu=10.0, ct_params=ct)
    # white matter as CSF more than doubled the CSF volume; 30 % holds the far tail
    _check(ph, brain_floor, csf_floor, volume_tol=0.30)


def _check(ph, brain_floor: float, csf_floor: float, volume_tol: float = 0.15) -> None:
    seg = segment_ct(ph.ct)
    t, p = ph.labels.array, seg.labels.array
    # brain target 0.92 (issue 4); floors just under the measured values, above what
    # the two-class rule gave, so the white-matter bug fails them
    assert dice(t == L.BRAIN, p == L.BRAIN) >= brain_floor
    assert dice(t == L.CSF, p == L.CSF) >= csf_floor
    # CSF volume within volume_tol of the truth (white matter taken as CSF doubled it)
    v_true = float((t == L.CSF).sum())
    assert abs(float((p == L.CSF).sum()) - v_true) < volume_tol * v_true
