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
