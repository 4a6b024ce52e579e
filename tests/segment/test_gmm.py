"""EM Gaussian mixture against known parameters."""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.segment.gmm import fit_gmm_1d


def test_recovers_two_classes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(8, 4, 20_000), rng.normal(33, 5, 80_000)])
    m = fit_gmm_1d(x, (0.0, 40.0), init_sigma=10.0)
    # 100k samples: means within 0.2 HU, sigmas within 0.2, weights within 0.01
    assert m.means == pytest.approx((8, 33), abs=0.2)
    assert m.sigmas == pytest.approx((4, 5), abs=0.2)
    assert m.weights == pytest.approx((0.2, 0.8), abs=0.01)
    # Bayes boundary: where 0.2 N(x; 8, 4) = 0.8 N(x; 33, 5), solved numerically
    xs = np.linspace(8, 33, 100_001)
    f = np.log(0.2 / 4) - 0.5 * ((xs - 8) / 4) ** 2 - (np.log(0.8 / 5) - 0.5 * ((xs - 33) / 5) ** 2)
    expect = xs[np.argmin(np.abs(f))]
    assert m.boundary(0, 1) == pytest.approx(expect, abs=0.3)


def test_histogram_weights_match_samples():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(8, 4, 30_000), rng.normal(33, 5, 70_000)])
    counts, edges = np.histogram(x, bins=400)
    centres = 0.5 * (edges[1:] + edges[:-1])
    a = fit_gmm_1d(x, (0.0, 40.0), init_sigma=10.0)
    b = fit_gmm_1d(centres, (0.0, 40.0), init_sigma=10.0, weights=counts)
    # binning (~0.1 HU bins) changes means and sigmas by far less than 0.1 HU
    assert b.means == pytest.approx(a.means, abs=0.1)
    assert b.sigmas == pytest.approx(a.sigmas, abs=0.1)


def test_too_few_samples():
    with pytest.raises(ValueError, match="too few samples"):
        fit_gmm_1d(np.arange(5.0), (0.0, 1.0), init_sigma=1.0)


def test_crossings_of_a_small_wide_class_lie_in_its_tails():
    from twinsep.segment.gmm import Mixture1D

    # A small wide class (w 0.05, sigma 12) under a narrow heavy one (w 0.95, sigma 5):
    # the wide class wins only in both tails, so both crossings lie outside the means'
    # interval on the left or right of the narrow class; boundary() cannot say that.
    m = Mixture1D((20.0, 33.0), (12.0, 5.0), (0.05, 0.95), 0.0, 1)
    r = m.crossings(0, 1)
    assert len(r) == 2 and r[0] < 20.0 < 33.0 < r[1]
    for x in r:  # the weighted densities are equal at each crossing (to 1e-9 relative)
        p0 = 0.05 / 12 * np.exp(-0.5 * ((x - 20) / 12) ** 2)
        p1 = 0.95 / 5 * np.exp(-0.5 * ((x - 33) / 5) ** 2)
        assert p0 == pytest.approx(p1, rel=1e-9)
    # equal sigmas: one crossing, the closed form of the linear case
    e = Mixture1D((0.0, 30.0), (5.0, 5.0), (0.2, 0.8), 0.0, 1)
    (x,) = e.crossings(0, 1)
    assert x == pytest.approx(15.0 + 25.0 / 30.0 * np.log(0.2 / 0.8), abs=1e-9)
    # a narrow, rare class under a wide one is everywhere less probable: no crossing
    assert Mixture1D((10.0, 12.0), (1.0, 10.0), (1e-6, 1.0), 0.0, 1).crossings(0, 1) == ()
