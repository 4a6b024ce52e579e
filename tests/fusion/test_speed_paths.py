"""The fast paths of the fusion analysis keep their answers (issue #10).

* the scalp points of the head fit come from a ~1 mm grid (``FIT_GRID_MM``) on
  sub-millimetre scans: the shared bone must still match the phantom's truth;
* the shared inventory runs its parts in threads: repeated runs give identical results;
* boxes come from axis projections: equal to the voxel-list boxes.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.fusion import analyse_fusion
from twinsep.fusion.shared import FIT_GRID_MM, _extent
from twinsep.fusion.surface import _bbox

phantom = pytest.importorskip("twinsep.phantom")


def test_shared_bone_on_a_sub_millimetre_axis_matches_truth() -> None:
    # 0.45 mm along i: the fit's scalp points are taken every 2nd voxel on that axis
    # (floor(1.0 / 0.45) = 2); the same tolerance as on isotropic grids
    # (tests/fusion/test_evidence.py: 3 mL on truths of 0.3-8 mL)
    assert FIT_GRID_MM == pytest.approx(1.0)
    ph = phantom.make_phantom(
        "angular-frontal-partial", seed=7, spacing_mm=(0.45, 3.0, 3.0), table=False
    )
    assert min(ph.labels.spacing_mm) < FIT_GRID_MM / 2
    fa = analyse_fusion(ph.labels, ph.twins)
    assert abs(fa.shared.shared_bone_ml - ph.truth.shared_bone_ml) <= 3.0


def test_fusion_analysis_is_repeatable_with_threads() -> None:
    ph = phantom.make_phantom("vertical-I", size=64, seed=2, table=False)
    first = analyse_fusion(ph.labels, ph.twins)
    second = analyse_fusion(ph.labels, ph.twins)
    # bit-identical numbers: the thread that finishes first must not matter
    assert first.shared == second.shared
    assert first.rotation_deg == second.rotation_deg
    assert first.axis_angle_deg == second.axis_angle_deg
    for k in ("A", "B"):
        assert np.array_equal(first.frames[k].axis, second.frames[k].axis)
        assert np.array_equal(first.frames[k].vertex_mm, second.frames[k].vertex_mm)


@pytest.mark.parametrize("margin", [0, 2, 50])
def test_projection_boxes_equal_voxel_list_boxes(margin: int) -> None:
    rng = np.random.default_rng(1)
    mask = np.zeros((30, 20, 25), bool)
    mask[tuple(rng.integers(3, 18, size=(3, 12)))] = True
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + margin + 1, mask.shape)
    expected = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    assert _extent(mask, margin) == expected
    assert _bbox(mask, margin) == expected
    assert _extent(np.zeros((4, 4, 4), bool)) is None
    assert _bbox(np.zeros((4, 4, 4), bool), 1) is None
