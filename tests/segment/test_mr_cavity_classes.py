"""The cranial cavity's three-class T1 mixtures are checked before they are used
(``segment.mr._confident_csf_brain`` for CT + MR, ``segment.mr._cavity_csf_grey`` for MR
alone): the lowest class must be the CSF alone, its mean plus ``MRParams.csf_class_sigmas``
(2) of its sigmas below the next class's mean.

A cavity with little CSF (generated head ``c3f0 csf1.5`` of ``tests/t1_heads.py``: a
1.5 mm CSF layer, 6 mm ventricles, a uniform 3 mm cortex) fits as one wide class of CSF
and grey matter (391 +- 169) and two classes of white matter (636, 644). Fused with a CT,
the MR's 'sure CSF' (within a third of the gap from the lowest mean) took the grey
matter: measured before the check, 16.3 k of the 179.4 k truth brain voxels the CT called
brain were relabelled CSF (half of the 'sure CSF' was brain). Now such a fit is tried again
from the CT's own CSF and brain (``segment.mr._fit_three_at_ct``: 131 voxels), and when
that is not clear either the CT's call stays and the plan says why.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from t1_heads import DESIGNS, make_head
from twinsep import labels as L
from twinsep.segment import mr as M
from twinsep.segment.gmm import Mixture1D
from twinsep.segment.mr_ctcheck import (
    ct_confirms_classes,
    overlapping_fit_usable,
    upper_classes_resolved,
)
from twinsep.segment.mr_mirror import MirrorCheck
from twinsep.segment.params import MRParams
from twinsep.segment.result import TissueLabels
from twinsep.volume import Volume


def _fused(monkeypatch: pytest.MonkeyPatch, t1: np.ndarray, truth: np.ndarray, sp: float) -> Any:
    """``fuse_mr`` of ``t1`` registered perfectly onto a CT whose call is ``truth``."""
    grid = np.diag([sp, sp, sp, 1.0])
    fov = np.ones(t1.shape, bool)

    def registered(ct: Volume, mr: Volume, params: object) -> tuple:
        return ct.with_array(t1), 0.5, fov, np.eye(4), MirrorCheck(0.5, (0.3,) * 3, (6.0,) * 3)

    monkeypatch.setattr(M, "_register", registered)
    monkeypatch.setattr(M, "correct_bias_field", lambda v, h, p: (v, 1.0))
    # contrast: no venogram search
    ct_call = TissueLabels(labels=Volume(truth, grid), contrast=True, hu_thresholds={})
    return M.fuse_mr(ct_call, Volume(truth.astype(np.int16), grid), Volume(t1, grid))


def test_fusion_refits_lumped_mr_cavity_classes_from_the_ct(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    d = DESIGNS["c3f0 csf1.5"]
    t1, truth = make_head(d)
    cavity = (truth == L.BRAIN) | (truth == L.CSF)
    # the percentile-started fit is lumped: what the check sees (391 +- 168 vs 636)
    mix = M._fit_three(t1[cavity], MRParams())
    assert mix.means[0] + 2.0 * mix.sigmas[0] >= mix.means[1]
    # started at the CT's CSF and brain it parts them: 180 +- 79, 479, 640
    again = M._fit_three_at_ct(t1[cavity], truth[cavity], MRParams())
    assert again is not None and again.means[0] + 2.0 * again.sigmas[0] < again.means[1]
    out = _fused(monkeypatch, t1, truth, d.sp).labels.array
    # truth brain the fused plan calls CSF: measured 131 (16.3 k before the check)
    assert int(((truth == L.BRAIN) & (out == L.CSF)).sum()) <= 1000


def test_fusion_keeps_the_ct_when_no_fit_parts_the_mr_cavity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An MR without contrast in the cavity (one broad class of values, 500 +- 100):
    neither fit's lowest class is clear of the next; the CT's call stays, with a
    warning. Before the check the MR changed 66.3 k voxels of the CT's call (46.2 k
    brain to CSF, 20.1 k CSF to brain) on noise."""
    d = DESIGNS["c3f0"]
    t1, truth = make_head(d)
    cavity = (truth == L.BRAIN) | (truth == L.CSF)
    t1 = t1.copy()
    t1[cavity] = np.random.default_rng(3).normal(500.0, 100.0, int(cavity.sum()))
    fused = _fused(monkeypatch, t1, truth, d.sp)
    assert np.array_equal(fused.labels.array, truth)
    assert any("did not part into CSF and brain" in w for w in fused.warnings)


def test_fusion_of_a_head_with_a_csf_class_still_uses_the_mr() -> None:
    """The same head with a 3 mm CSF layer and 10 mm ventricles: the lowest class is the
    CSF (measured 139 +- 29 against 468: 11.4 of its sigmas) and the fit is used (the
    fused plan of this head with the truth as the CT's call: 118 voxels changed, CSF's
    partial-volume rim, before and after the check)."""
    d = DESIGNS["c3f0"]
    t1, truth = make_head(d)
    cavity = (truth == L.BRAIN) | (truth == L.CSF)
    mix = M._fit_three(t1[cavity], MRParams())
    assert mix.means[0] + 2.0 * mix.sigmas[0] < mix.means[1]
    csf, brain = M._confident_csf_brain(t1[cavity], mix, MRParams())
    lab = truth[cavity]
    # sure CSF is CSF, sure brain is brain (measured 100 % / 99.9 %)
    assert float(np.mean(lab[csf] == L.CSF)) >= 0.99
    assert float(np.mean(lab[brain] == L.BRAIN)) >= 0.99


def test_cavity_level_stays_when_the_lowest_class_lumps_csf_and_grey() -> None:
    """MR alone: cavity values CSF 145 (5 %), grey 470 (10 %), white 640 (75 %) and
    CSF/grey partial volume (10 %) fit as 356 +- 149, 640, 641: the lowest class lies
    nearer the CSF (211) than the middle class does (284), and the old rule took the
    white matter for grey, (145 + 640) / 2 = 392, below a core level of 420. The lowest
    class is not clear of the next (356 + 2 x 149 > 640): the core's level stays, with a
    warning."""
    rng = np.random.default_rng(3)
    n = 60_000
    vals = np.concatenate(
        [
            rng.normal(145.0, 15.0, n * 5 // 100),
            rng.normal(470.0, 25.0, n * 10 // 100),
            rng.normal(640.0, 20.0, n * 75 // 100),
            rng.uniform(145.0, 470.0, n * 10 // 100),
        ]
    ).astype(np.float32)
    csf = np.random.default_rng(4).normal(145.0, 12.0, 4000)
    level, doubt = M._cavity_csf_grey(vals, csf, 420.0, MRParams())
    assert level == 420.0
    assert doubt is not None and "did not part into CSF and brain" in doubt


def _partial_volume_cavity() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T1, truth, CT call) of a 64-voxel head whose cavity's CSF is mostly partial
    volume, as Colin27's (its lowest class 64 +- 19 against grey 90, white 112): pure CSF
    30 +- 6 (3 % of the cavity), CSF/grey mixtures 30 + 59 f (f ~ Beta(2, 1), 30 %,
    truth CSF where f < 1/2), grey 89 +- 8, white 112 +- 4 (25 %), in a random order in a
    ball of radius 28 voxels under a 3-voxel scalp (100). The CT calls CSF only where
    f < 1/4: the half-filled sulci a CT blurs into brain."""
    rng = np.random.default_rng(0)
    idx = np.indices((64, 64, 64)) - 31.5
    r = np.sqrt((idx**2).sum(axis=0))
    ball = r < 28.0
    n = int(ball.sum())
    k_csf, k_pv, k_white = int(0.03 * n), int(0.30 * n), int(0.25 * n)
    k_grey = n - k_csf - k_pv - k_white
    f = rng.beta(2.0, 1.0, k_pv)
    vals = np.concatenate(
        [
            rng.normal(30.0, 6.0, k_csf),
            30.0 + 59.0 * f + rng.normal(0.0, 6.0, k_pv),
            rng.normal(89.0, 8.0, k_grey),
            rng.normal(112.0, 4.0, k_white),
        ]
    )
    brain, csf = np.full(k_grey + k_white, L.BRAIN), np.full(k_csf, L.CSF)
    truth_c = np.concatenate([csf, np.where(f < 0.5, L.CSF, L.BRAIN), brain])
    ct_c = np.concatenate([csf, np.where(f < 0.25, L.CSF, L.BRAIN), brain])
    order = rng.permutation(n)
    t1 = np.zeros(r.shape, np.float32)
    truth = np.zeros(r.shape, np.uint8)
    t1[r < 31.0], truth[r < 31.0] = 100.0, L.SOFT_TISSUE
    call = truth.copy()
    t1[ball], truth[ball], call[ball] = vals[order], truth_c[order], ct_c[order]
    return t1, truth, call


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


def test_fusion_uses_an_overlapping_csf_class_the_ct_confirms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A lowest class that is the CSF's partial volume with the grey matter (58-59 +- 19
    against 87: 1.51-1.56 of its sigmas, both starts) fails the 2-sigma check, but its
    upper classes are two tissues (two modes) and the CT's CSF and brain fall on either
    side: the MR is used. Measured CSF Dice 0.636 (the CT's) -> 0.792, brain 0.970 ->
    0.969; at a44569e (before ``segment.mr_ctcheck``) the CT's call stayed, CSF 0.636 - as
    on Colin27 (real-vertical CT + MR CSF 0.797, 0.837 now)."""
    t1, truth, call = _partial_volume_cavity()
    cavity = (call == L.BRAIN) | (call == L.CSF)
    for mix in (
        M._fit_three(t1[cavity], MRParams()),
        M._fit_three_at_ct(t1[cavity], call[cavity], MRParams()),
    ):
        assert mix is not None and mix.means[0] + 2.0 * mix.sigmas[0] >= mix.means[1]
    fused = _fused(monkeypatch, t1, call, 1.5)
    out = fused.labels.array
    assert _dice(truth == L.CSF, call == L.CSF) < 0.66
    assert _dice(truth == L.CSF, out == L.CSF) > 0.75
    assert _dice(truth == L.BRAIN, out == L.BRAIN) > _dice(truth == L.BRAIN, call == L.BRAIN) - 0.01
    assert not any("did not part into CSF and brain" in w for w in fused.warnings)


def test_overlapping_fit_check_tells_wrong_fits_from_overlapping_ones() -> None:
    """``mr_ctcheck.overlapping_fit_usable`` on the fits the 2-sigma check refuses:
    the lumped fit of ``c3f0 csf1.5`` (391 +- 168 / 636 / 643: its upper classes are one
    mode) and an MR without cavity contrast (the CT's CSF and brain read the same) are
    refused; so is a newborn white matter nearly as dark as CSF (``inf wm200``: its fit
    200 +- 15 / 208 +- 94 / 517 has two upper modes, but its lowest class is the white
    matter: the CT's CSF reads 141, likeliest in the middle class); the partial-volume
    cavity is accepted."""
    d = DESIGNS["c3f0 csf1.5"]
    t1, truth = make_head(d)
    cavity = (truth == L.BRAIN) | (truth == L.CSF)
    lumped = M._fit_three(t1[cavity], MRParams())
    assert not upper_classes_resolved(lumped)
    assert not overlapping_fit_usable(lumped, t1[cavity], truth[cavity])
    flat = np.random.default_rng(3).normal(500.0, 100.0, int(cavity.sum()))
    for mix in (
        M._fit_three(flat, MRParams()),
        M._fit_three_at_ct(flat, truth[cavity], MRParams()),
    ):
        assert mix is not None and not ct_confirms_classes(mix, flat, truth[cavity])
        assert not overlapping_fit_usable(mix, flat, truth[cavity])
    # inf wm200 (CT + MR, truth as the CT's call): the fit, measured, and the CT's values
    dark_white = Mixture1D((200.0, 208.0, 517.0), (15.0, 94.0, 18.0), (0.43, 0.36, 0.21), 0.0, 0)
    rng = np.random.default_rng(5)
    vals = np.concatenate([rng.normal(141.0, 10.0, 4000), rng.normal(213.0, 60.0, 16000)])
    call = np.repeat(np.array([L.CSF, L.BRAIN], np.uint8), [4000, 16000])
    assert upper_classes_resolved(dark_white)
    assert not overlapping_fit_usable(dark_white, vals, call)
    t1, truth, call = _partial_volume_cavity()
    cavity = (call == L.BRAIN) | (call == L.CSF)
    mix = M._fit_three_at_ct(t1[cavity], call[cavity], MRParams())
    assert mix is not None and overlapping_fit_usable(mix, t1[cavity], call[cavity])
