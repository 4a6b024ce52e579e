"""Issue 4 floors at a clinical voxel size (size-256 phantoms, 1.17-1.35 mm).

Planning CT for craniopagus separation is 0.5-1.25 mm; ``benchmarks/bench_segment.py``
runs every phantom kind at size 256 for that reason. Methods tuned on the coarse rows
(2.3-3.6 mm) can get worse on fine grids (a rule that is one voxel at 3 mm is three
voxels at 1.2 mm): the brain/CSF fit took white matter for CSF and the vessel growth took
CSF beside the inner table there, and neither showed at size 128. Held here: the issue's
targets for soft tissue, bone, brain, vessels and twin assignment (all met at this
grid), CSF's target (met on all 24 rows with the shell smoothing of the dark test), and
regression floors 0.004 under the soft-tissue and bone Dice measured at c444cd1 (seed 0),
after the jaw was kept (2be79e1) and the cavity stopped at open sutures (dabc9f3).
"""

from __future__ import annotations

import pytest

from seg_metrics import tissue_dice, twin_scores
from twinsep.segment import segment_ct
from twinsep.twins import assign_twins

pytestmark = pytest.mark.slow  # segment and assign at 256 voxels

phantom = pytest.importorskip("twinsep.phantom")

#: (kind, noise HU) -> (soft tissue, bone) Dice measured at c444cd1, size 256, seed 0
MEASURED = {
    ("vertical-II", 10.0): (0.9916, 0.9739),
    ("angular-frontal", 30.0): (0.9887, 0.9705),
    ("angular-parietal-partial", 10.0): (0.9904, 0.9703),
}
#: below the measured value by more than this is a regression (seeded, deterministic);
#: dropping the jaw again would cost 0.007 bone / 0.009 soft tissue on these rows
TOL = 0.004


@pytest.mark.parametrize(("kind", "noise_hu"), sorted(MEASURED))
def test_floors_at_size_256(kind: str, noise_hu: float) -> None:
    ph = phantom.make_phantom(kind, size=256, seed=0, noise_hu=noise_hu)
    seg = segment_ct(ph.ct)
    t, p = ph.labels.array, seg.labels.array
    scores = tissue_dice(t, p)
    # issue 4 targets, met at this grid on all 24 rows
    assert scores["soft_tissue"] >= 0.95, scores
    assert scores["bone"] >= 0.95, scores
    assert scores["brain"] >= 0.92, scores
    assert scores["vessel"] >= 0.85, scores
    # CSF: met on all 24 rows since the dark test smooths within depth shells under
    # the inner table (segment.shells; angular-frontal at 30 HU: 0.746 -> 0.814)
    assert scores["csf"] >= 0.80, scores
    assert seg.contrast
    # regression floors
    soft, bone = MEASURED[(kind, noise_hu)]
    assert scores["soft_tissue"] >= soft - TOL, scores
    assert scores["bone"] >= bone - TOL, scores
    res = assign_twins(seg.labels)
    acc, a_kept = twin_scores(ph.twins.array, res.twins.array, ph.ct.spacing_mm)
    assert acc >= 0.995
    assert a_kept > 0.99  # twin A by the DESIGN rule
