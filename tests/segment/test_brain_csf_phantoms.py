"""Brain and CSF through the whole CT segmentation on the project's phantoms at noise
30 HU, where the brain/CSF step used to fail (issue 4)."""

from __future__ import annotations

import pytest

from seg_metrics import dice
from twinsep import labels as L
from twinsep.segment import segment_ct

phantom = pytest.importorskip("twinsep.phantom")


@pytest.mark.parametrize("kind", ["vertical-I", "angular-frontal"])
def test_brain_and_csf_at_noise_30(kind):
    ph = phantom.make_phantom(kind, size=128, seed=0, noise_hu=30.0)
    seg = segment_ct(ph.ct)
    t, p = ph.labels.array, seg.labels.array
    # measured brain 0.976 / CSF 0.779 (vertical-I, 2.34 mm) and 0.978 / 0.795
    # (angular-frontal, 2.43 mm); without the speck step (csf_min_noise_volumes=0)
    # 0.971 / 0.757 and 0.974 / 0.773, and the brain/CSF step before the two-test
    # split gave 0.86 / 0.51 and 0.83 / 0.48 on these scans (README, issue 4). Brain
    # target 0.92; the CSF target (0.80) is not met, the floor guards the gain.
    assert dice(t == L.BRAIN, p == L.BRAIN) >= 0.96
    assert dice(t == L.CSF, p == L.CSF) >= 0.765
    # every cavity voxel is brain or CSF, never both (labels are exclusive) and the
    # CSF volume is within 25 % of the truth (a threshold on the wrong side of the
    # brain peak doubles it)
    v_true = float((t == L.CSF).sum())
    assert abs(float((p == L.CSF).sum()) - v_true) < 0.25 * v_true


def test_brain_and_csf_at_noise_10_bright_edge():
    """At low noise the brain class is narrow: brain lifted by the blur of the bone past
    a CSF layer must not be taken as bright CSF (the bright edge is at least the
    midpoint of the brain and bright class means)."""
    ph = phantom.make_phantom("angular-parietal", size=128, seed=0, noise_hu=10.0)
    seg = segment_ct(ph.ct)
    t, p = ph.labels.array, seg.labels.array
    # measured brain 0.982 / CSF 0.845 (2.39 mm); without the speck step 0.981 / 0.837,
    # with the brain-sigma edge alone (and no speck step) 0.979 / 0.830
    assert dice(t == L.BRAIN, p == L.BRAIN) >= 0.977
    assert dice(t == L.CSF, p == L.CSF) >= 0.839
