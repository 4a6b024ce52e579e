"""The grid the twins' frames (long axis, face) are computed on, for large or fine scans.

Above ``FRAME_MAX_VOXELS`` voxels per twin the frames run on a strided grid. One step
for every array axis turned a fine in-plane grid into a thick-slice one: the real-CT
twins at 0.4 x 0.4 x 1.5 mm were strided to 0.8 x 0.8 x 3 mm and each twin's axis leaned
2-3 deg (union 162.5 deg against 165.8 at 1 x 1 x 1.5 mm; docs/orientation.md). The
steps are now chosen in mm, per axis. Ground truth: hand-made pairs
(``handmade_pairs.py``, world-mm geometry independent of the detector) whose scan ends
below each cranial cavity, as that CT's does.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from twinsep.fusion import analysis
from twinsep.fusion.axes import angle_deg
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
from handmade_pairs import make_pair  # noqa: E402


def _old_step(n_vox: int, max_voxels: int) -> int:
    """The one step for all axes used before (kept for isotropic grids)."""
    return max(1, math.ceil((n_vox / max_voxels) ** (1.0 / 3.0)))


@pytest.mark.parametrize("spacing", [0.5, 0.957, 1.0, 3.13])
def test_isotropic_grids_keep_their_one_step(spacing: float) -> None:
    # on isotropic grids the frames must see exactly the grid they saw before (every
    # benchmark row planned on one keeps its numbers)
    for n in [1, 2_999_999, 3_000_000, 3_000_001, 23_999_999, 24_000_001, 81_000_000, 250_000_000]:
        s = _old_step(n, 3_000_000)
        assert analysis.frame_steps((spacing,) * 3, n, 3_000_000) == (s, s, s), n


@pytest.mark.parametrize(
    ("spacing", "n_vox", "steps"),
    [
        # the real-CT twins (measured voxels of the larger twin): 0.8 x 0.8 x 3 mm before
        ((0.4, 0.4, 1.5), 13_400_000, (3, 3, 1)),
        ((0.4, 0.4, 3.0), 6_800_000, (2, 2, 1)),
        # a sagittal stack: the thick axis first
        ((1.5, 0.4, 0.4), 13_400_000, (1, 3, 3)),
        # below the limit nothing is strided, however anisotropic
        ((0.4, 0.4, 3.0), 2_999_999, (1, 1, 1)),
    ],
)
def test_fine_in_plane_grids_are_strided_to_near_isotropic_voxels(
    spacing: tuple[float, float, float], n_vox: int, steps: tuple[int, int, int]
) -> None:
    assert analysis.frame_steps(spacing, n_vox, 3_000_000) == steps


def test_strided_grids_fit_and_are_the_finest_that_do() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        sp = rng.uniform(0.2, 5.0, 3)
        n = int(rng.integers(1, 400_000_000))
        mx = int(rng.integers(100_000, 5_000_000))
        steps = np.asarray(analysis.frame_steps((sp[0], sp[1], sp[2]), n, mx))
        if n <= mx:
            assert steps.tolist() == [1, 1, 1]
            continue
        assert (steps >= 1).all()
        assert n <= mx * int(steps.prod())  # fits
        coarse = float((steps * sp).max())
        # never coarser than one step for all axes was on its coarsest axis
        assert coarse <= _old_step(n, mx) * float(sp.max()) + 1e-9
        # the finest that fits: the largest strides keeping every axis finer than
        # ``coarse`` (if there are such) leave too many voxels
        if float(sp.max()) < coarse - 1e-9:
            finer = np.maximum(1, np.floor((coarse - 1e-6) / sp)).astype(int)
            assert n > mx * int(finer.prod())


@pytest.mark.parametrize(("below_mm", "roll_deg"), [(45.0, 30.0), (50.0, 60.0)])
def test_axes_on_a_strided_fine_anisotropic_grid_follow_the_truth(
    monkeypatch: pytest.MonkeyPatch, below_mm: float, roll_deg: float
) -> None:
    # 0.6 x 0.6 x 2.4 mm (ratio 4, as 0.4 x 0.4 x 1.6 mm), the scan ending ``below_mm``
    # below each head's centre (17-27 mm below the cavity, as on the real CT: a flat
    # body cut). The voxel limit is lowered so that this small grid is strided as a
    # large scan would be: one step (3) for all axes made 1.8 x 1.8 x 7.2 mm and the
    # twins' axes 7-47 deg off (measured); per-axis steps (4, 4, 1) make 2.4 mm voxels
    # and 1.4-2.1 deg.
    pair = make_pair(
        shape=(167, 167, round((90.0 + 2.0 * below_mm) / 2.4)),
        spacing=(0.6, 0.6, 2.4),
        roll_deg=roll_deg,
        neck_length_mm=120.0,  # the necks run off the grid: the scan's edge cuts them
    )
    monkeypatch.setattr(analysis, "FRAME_MAX_VOXELS", 25_000)
    n_vox = int(max((pair.twins == 1).sum(), (pair.twins == 2).sum()))
    assert _old_step(n_vox, 25_000) == 3
    assert analysis.frame_steps((0.6, 0.6, 2.4), n_vox, 25_000) == (4, 4, 1)
    fa = analysis.analyse_fusion(Volume(pair.labels, pair.affine), Volume(pair.twins, pair.affine))
    # 4 deg: the detector's own error on the first pair on a 1 mm grid, not strided,
    # is 2.4 / 3.8 deg; the one-step grid read 7.0-46.9
    assert angle_deg(fa.frames["A"].axis, pair.axis_a) < 4.0
    assert angle_deg(fa.frames["B"].axis, pair.axis_b) < 4.0
    assert fa.type == "vertical"
    assert fa.rotation_deg is not None and abs(fa.rotation_deg - pair.rotation_deg) < 5.0
