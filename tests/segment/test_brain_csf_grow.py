"""CSF grows from the voxels under a Bayes brain/CSF boundary up to the class midpoint.

A Bayes boundary weighs CSF by its share of the whole cavity: where CSF is a few per cent
of it (an infant's widened frontal subarachnoid space, ventricles) the boundary sits
close to the CSF mean and the edge of every CSF body, and the middle of a body whose
values the noise lifts, is called brain. On the infant blind phantom (4 months, 0.9 x
0.9 x 1.5 mm, 15 HU; CSF 5, white matter 20 HU, 6 mm of extra-axial widening) the cut
was 6.3 HU: 29 % of the extra-axial CSF and 52 % of the ventricles were brain. CSF now
grows from the voxels under the boundary through the face-connected voxels under the
midpoint of the two class means; brain far from CSF keeps the boundary.

The head here: a 32 mm cavity of one brain tissue (20 HU) holding a frontal pocket of CSF
8 mm deep and two ventricle-sized bodies (5 HU), blurred (0.8 mm) and noisy (15 HU) on
1 mm voxels; CSF is 4.5 % of the cavity.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment.brain_csf import _csf_edges, _grow_from, classify_brain_csf
from twinsep.segment.params import SegmentParams

N = 72
NO_THREE = SegmentParams(csf_three_class_min_bic=float("inf"))  # the two-class rule alone
GROW = SegmentParams(csf_grow_to_midpoint=True)  # off by default (percolates under noise)


def _head(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = np.indices((N, N, N)).astype(float) - (N - 1) / 2
    r = np.sqrt((g**2).sum(0))
    cav = r < 32.0
    pocket = cav & (r > 24.0) & (g[1] > 22.0)
    vent = np.zeros(cav.shape, bool)
    for cx in (-6.0, 6.0):
        vent |= (((g[0] - cx) / 3.5) ** 2 + (g[1] / 12.0) ** 2 + (g[2] / 4.5) ** 2) < 1.0
    csf = pocket | vent
    hu = np.where(cav, np.where(csf, 5.0, 20.0), 30.0)
    hu = ndi.gaussian_filter(hu, 0.8) + rng.normal(0.0, 15.0, hu.shape)
    return hu.astype(np.float32), cav, csf, vent


def test_csf_bodies_grow_to_the_class_midpoint() -> None:
    hu, cav, csf, vent = _head(0)
    got = classify_brain_csf(
        hu, cav, spacing=(1.0, 1.0, 1.0), soft_hu=30.0, noise_hu=15.0, params=GROW
    ).csf
    dice = 2 * int((got & csf).sum()) / int(got.sum() + csf.sum())
    # before the growth: ventricle recall 0.60, pocket 0.74, Dice 0.800, brain 0.6 % CSF
    # (0.3 % of it more than 3 mm from CSF); with it 0.84 / 0.91 / 0.816 / 2.5 % (1.4 %)
    assert got[vent].mean() > 0.75
    assert got[csf & ~vent].mean() > 0.85
    assert dice > 0.81
    # the growth stays mostly beside CSF: the brain voxels taken are the bodies' blurred
    # rims and noise blobs touching them
    brain = cav & ~csf
    assert got[brain].mean() < 0.035
    far = brain & (ndi.distance_transform_edt(~csf) > 3.0)
    assert got[far].mean() < 0.02


def test_edges_of_a_small_csf_class() -> None:
    # smoothed values: CSF 5 +- 4 HU (5 %), brain 20 +- 4 HU (95 %): the Bayes boundary
    # lies under the midpoint (weighted by 5 %: 8.8 HU analytically); growth to 12.5 HU
    rng = np.random.default_rng(1)
    n = 200_000
    k = int(0.05 * n)
    ts = np.concatenate([rng.normal(5.0, 4.0, k), rng.normal(20.0, 4.0, n - k)])
    ts = ts.astype(np.float32)[None, None, :]
    t, grow = _csf_edges(ts, np.ones(ts.shape, bool), 20.0, 4.0, NO_THREE, [])
    assert 7.5 < t < 10.0
    assert grow == pytest.approx(12.5, abs=0.7)


def test_grow_from_keeps_only_pieces_with_a_seed() -> None:
    band = np.zeros((5, 9, 1), bool)
    band[1:4, 1:4, 0] = True  # a piece with a seed
    band[1:4, 6:8, 0] = True  # a piece without one
    seed = np.zeros_like(band)
    seed[2, 2, 0] = True
    out = _grow_from(seed, band)
    assert out[1:4, 1:4, 0].all()
    assert not out[:, 5:, 0].any()
