"""Segmentation and twin assignment on the probe phantom (a design twinsep never saw),
in process on 3.5 mm grids (about 0.3 M voxels, a few seconds each).

Measured at 9b28d5f (``segment_ct`` then ``assign_twins``), Dice soft / bone / brain /
CSF / vessel and twin accuracy beyond 15 mm:

* vertical, RAS:                    0.933 0.813 0.928 0.513 0.644, 0.99506
* angular 120 deg, LPS-like (i, j reversed): 0.938 0.811 0.929 0.520 0.649, 0.99583

Every twin miss beyond 15 mm is a skin voxel labelled air (partial volume at 3.5 mm:
363 and 311 voxels); no tissue voxel went to the wrong twin. The floors are the
measured values less about 0.03 (a regression shows; bone, CSF and vessel are under
issue #4's targets at this voxel size, which ``benchmarks/bench_probe.py`` reports at
1.5-3 mm), the ownership itself is held exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from probe.probe_phantom import ProbeCase, render, twin_a_by_rule
from probe.probe_score import dice, far_from_boundary
from twinsep.segment.ct import segment_ct
from twinsep.twins.assign import assign_twins
from twinsep.volume import Volume

pytestmark = pytest.mark.slow  # segmentation and assignment per case, 4-10 s

CASES = {
    "vertical": ProbeCase("v", spacing_mm=(3.5, 3.5, 3.5)),
    "angular-lps": ProbeCase(
        "a", kind="angular", axis_deg=120.0, flips=(0, 1), spacing_mm=(3.5, 3.5, 3.5), seed=1
    ),
}
FLOORS = {"soft": 0.90, "bone": 0.78, "brain": 0.90, "csf": 0.48, "vessel": 0.61}


@pytest.mark.parametrize("name", sorted(CASES))
def test_probe_labels_and_owners(name: str) -> None:
    r = render(CASES[name])
    seg = segment_ct(Volume(r.ct.astype(np.float32), r.affine))
    twins = assign_twins(seg.labels).twins.array
    lab = seg.labels.array
    for k, key in enumerate(("soft", "bone", "brain", "csf", "vessel"), start=1):
        d = dice(r.labels == k, lab == k)
        assert d is not None and d >= FLOORS[key], (key, d)
    far = far_from_boundary(r.owner, r.affine)
    # issue #4's 99.5 %, a labelled-air skin voxel counted wrong
    assert (twins[far] == r.owner[far]).mean() >= 0.995
    # the ownership alone: no tissue voxel beyond 15 mm given to the other twin
    owned = far & (twins > 0)
    assert (twins[owned] == r.owner[owned]).all()
    # DESIGN.md's twin A (smaller coordinate on the axis of largest centroid difference)
    rule_a = twin_a_by_rule(r.owner, r.affine)
    assert np.bincount(r.owner[twins == 1], minlength=3)[1:].argmax() + 1 == rule_a
