"""Infant brains: CSF, white and grey matter above an artefact class (four classes).

On the infant blind phantom (``tests/blind/infant.py``) the three-class fit of the
smoothed cavity spends its lowest class on a wide artefact (fat and muscle partial volume
taken into the cavity at the skull base, about -22 +- 27 HU), and the two classes left
hold CSF with white matter and white with grey matter: 5 HU apart, unresolved, so only
the brain's far tail was CSF. On the 9-month case (0.6 x 0.6 x 2.5 mm, noise 30 HU; grey
32.2, unmyelinated white 20.6, CSF 8.4 HU on the phantom, less up to 4 HU of cupping)
the edge was -3.0 HU: ventricles and sulci 0.31 CSF, brain volume +16 %. Four classes
resolve the artefact, CSF, white and grey matter; the cut lies midway between CSF and
white matter. When CSF is within the separation bound of white matter in four classes
too (the newborn case: CSF 7.6, white 16.1 HU), the old fallback stands.

The histograms are the dark test's own (``_cavity_histogram`` of the smoothed cavity,
200 000 samples) saved from those two cases at 737affb (``data/infant_*_hist.npz``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twinsep.segment.brain_csf import _csf_threshold, _fit_histogram, _two_tissue_boundary
from twinsep.segment.params import SegmentParams

DATA = Path(__file__).parent / "data"


def _hist(name: str) -> tuple[tuple[np.ndarray, np.ndarray, float, float], float]:
    z = np.load(DATA / name)
    hist = (
        z["centres"].astype(np.float64),
        z["counts"].astype(np.float64),
        float(z["brain0"]),
        float(z["init_sigma"]),
    )
    return hist, float(z["noise_ts"])


def _cut(name: str, params: SegmentParams = SegmentParams()):
    hist, noise_ts = _hist(name)
    mix2 = _fit_histogram(hist, (-25.0, 0.0), noise_ts)
    assert mix2 is not None
    return _two_tissue_boundary(hist, mix2, noise_ts, params)


def test_csf_resolved_from_white_matter_above_an_artefact() -> None:
    cut = _cut("infant_m9_cavity_hist.npz")
    assert cut.artefact
    # between the phantom's CSF (8.4 HU, 4.4-8.4 with the cupping) and its unmyelinated
    # white matter (20.6 HU, 16.6-20.6): before the four-class reading it was None (CSF
    # unresolved) and the edge the brain's far tail, -3.0 HU
    assert cut.cut_hu is not None
    assert 8.4 < cut.cut_hu < 16.6
    # the edge the dark test uses is that cut (the same histogram as values)
    hist, noise_ts = _hist("infant_m9_cavity_hist.npz")
    ts = np.repeat(hist[0], hist[1].astype(np.int64)).astype(np.float32)[None, None, :]
    edge = _csf_threshold(ts, np.ones(ts.shape, bool), 28.0, noise_ts, SegmentParams(), [])
    assert edge == pytest.approx(cut.cut_hu, abs=0.6)


def test_csf_within_the_bound_of_white_matter_keeps_the_fallback() -> None:
    # the newborn case: four classes put CSF 7.5 HU under white matter (the bound is
    # 8 HU): not resolved; the edge stays the brain's far tail (-7.9 HU)
    cut = _cut("infant_nb0_cavity_hist.npz")
    assert cut.artefact
    assert cut.cut_hu is None


def test_four_classes_off_with_the_three_class_rule() -> None:
    # csf_three_class_min_bic = inf turns the multi-class readings off, this one too
    cut = _cut("infant_m9_cavity_hist.npz", SegmentParams(csf_three_class_min_bic=float("inf")))
    assert cut.cut_hu is None
