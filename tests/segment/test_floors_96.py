"""Issue 4 floors on the small phantoms (size 96, 3.1-3.6 mm voxels).

At this grid the issue's targets for soft tissue (0.95), brain (0.92) and twin
assignment outside the 15 mm band (0.995) are met and held here. Bone, CSF and vessels
are held at floors a little under what the method reaches now (``benchmarks/bench_segment.py``
rows at size 96), because their targets sit at or above the voxel-wise limit of this
grid: bone 0.934-0.952 (``benchmarks/results/bone_oracle.json``), vessels 0.82-0.86
(``vessel_oracle.json``); CSF's voxel-wise limit is 0.92-0.93 on the noise-free CT but
0.47-0.54 on the noisy voxels, so smoothing, which loses thin CSF, is unavoidable. The
issue's floors for those labels are held at 2.3-2.7 mm in ``test_phantoms.py``,
``test_brain_csf_phantoms.py`` and ``test_vessels.py``.
"""

from __future__ import annotations

import pytest

from seg_metrics import tissue_dice, twin_scores
from twinsep.segment import segment_ct
from twinsep.twins import assign_twins

phantom = pytest.importorskip("twinsep.phantom")

#: (kind, noise HU) -> (bone, CSF, vessel) measured at c444cd1, size 96, seed 0
MEASURED = {
    ("vertical-II", 10.0): (0.948, 0.682, 0.775),
    ("vertical-II", 30.0): (0.941, 0.725, 0.748),
    ("angular-frontal", 10.0): (0.946, 0.685, 0.785),
    ("angular-frontal", 30.0): (0.938, 0.730, 0.720),
    ("vertical-partial", 10.0): (0.927, 0.620, 0.679),
    ("vertical-partial", 30.0): (0.924, 0.694, 0.660),
    ("angular-occipital-partial", 10.0): (0.925, 0.652, 0.671),
    ("angular-occipital-partial", 30.0): (0.923, 0.736, 0.637),
}
#: below the measured value by more than this is a regression (seeded, deterministic)
TOL = {"bone": 0.01, "csf": 0.03, "vessel": 0.03}


@pytest.mark.parametrize(("kind", "noise_hu"), sorted(MEASURED))
def test_floors_at_size_96(kind: str, noise_hu: float) -> None:
    ph = phantom.make_phantom(kind, size=96, seed=0, noise_hu=noise_hu)
    seg = segment_ct(ph.ct)
    t, p = ph.labels.array, seg.labels.array
    scores = tissue_dice(t, p)
    # issue 4 targets, met at this grid
    assert scores["soft_tissue"] >= 0.95, scores
    assert scores["brain"] >= 0.92, scores
    # regression floors (targets above this grid's voxel-wise limit, see module doc)
    bone, csf, vessel = MEASURED[(kind, noise_hu)]
    assert scores["bone"] >= bone - TOL["bone"], scores
    assert scores["csf"] >= csf - TOL["csf"], scores
    assert scores["vessel"] >= vessel - TOL["vessel"], scores
    assert seg.contrast
    res = assign_twins(seg.labels)
    acc, a_kept = twin_scores(ph.twins.array, res.twins.array, ph.ct.spacing_mm)
    assert acc >= 0.995
    assert a_kept > 0.99  # twin A by the DESIGN rule
