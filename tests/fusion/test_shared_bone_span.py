"""Shared bone is bone that the separation must cut (``fusion.shared.shared_bone_mask``).

Generated truth: a phantom whose two skulls are fused across the twin boundary, and the
same phantom with a layer of scalp put between them (every bone voxel of twin A that
touches twin B's bone by a face becomes soft tissue). With the skulls apart no bone
crosses the boundary, so nothing is shared, however far the fitted heads overlap
(before their long semi-axis was bounded, the ellipsoids of a vertex union reached
38-46 mm past each vertex, docs/separation.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import phantom
from twinsep.fusion import analyse_fusion
from twinsep.labels import BONE, SOFT_TISSUE, TWIN_A, TWIN_B
from twinsep.volume import Volume


def _touching(side: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Voxels of ``side`` that share a face with a voxel of ``other``."""
    out = np.zeros_like(side)
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax], hi[ax] = slice(0, -1), slice(1, None)
        out[tuple(lo)] |= side[tuple(lo)] & other[tuple(hi)]
        out[tuple(hi)] |= side[tuple(hi)] & other[tuple(lo)]
    return out


@pytest.fixture(scope="module")
def vertical() -> phantom.Phantom:
    return phantom.make_phantom("vertical-II", size=96, seed=0, table=False)


def _skulls_apart(ph: phantom.Phantom) -> np.ndarray:
    lab = ph.labels.array.copy()
    tw = ph.twins.array
    bone_a = (lab == BONE) & (tw == TWIN_A)
    bone_b = (lab == BONE) & (tw == TWIN_B)
    gap = _touching(bone_a, bone_b)
    assert gap.sum() > 50  # the phantom's skulls are fused over a ring
    lab[gap] = SOFT_TISSUE
    return lab


def test_skulls_facing_across_scalp_share_no_bone(vertical: phantom.Phantom) -> None:
    lab = _skulls_apart(vertical)
    tw = vertical.twins.array
    assert not _touching((lab == BONE) & (tw == TWIN_A), (lab == BONE) & (tw == TWIN_B)).any()
    fa = analyse_fusion(Volume(lab, vertical.labels.affine), vertical.twins, contrast=True)
    # before: 28.9 mL (the twins' own vaults inside both fitted heads)
    assert fa.shared.shared_bone_ml == 0.0
    assert any("no piece of bone crosses the twin boundary" in n for n in fa.shared.notes)


def test_a_few_voxels_of_one_skull_given_to_the_other_twin_share_no_bone(
    vertical: phantom.Phantom,
) -> None:
    # twin B's vault touching a handful of bone voxels assigned to A (a segmentation or
    # assignment slip, as on Colin27: 0.1 of 59.6 mL) is not bone both skulls make
    lab = _skulls_apart(vertical)
    tw = vertical.twins.array.copy()
    bone_b = (lab == BONE) & (tw == TWIN_B)
    slip = np.argwhere(_touching(bone_b, tw == TWIN_A))[:12]
    assert len(slip) == 12
    tw[tuple(slip.T)] = TWIN_A
    fa = analyse_fusion(
        Volume(lab, vertical.labels.affine), Volume(tw, vertical.twins.affine), contrast=True
    )
    assert fa.shared.shared_bone_ml == 0.0


def test_a_fused_skull_keeps_its_shared_bone() -> None:
    # the rule must not drop a real bridge: angular-parietal's fused outer tables, truth
    # 5.3 mL, read 3.9 before and after; 2 mL would catch a bridge lost or doubled
    ph = phantom.make_phantom("angular-parietal", size=96, seed=0, table=False)
    fa = analyse_fusion(ph.labels, ph.twins, contrast=True)
    assert fa.shared.shared_bone_ml == pytest.approx(ph.truth.shared_bone_ml, abs=2.0)


def test_boundary_face_points_are_the_voxel_faces_in_any_layout() -> None:
    """The shared-bone band's reference points: one per A|B voxel face, at its centre in
    world mm, the same set when the array is stored flipped (the interface mesh used
    before triangulated a flipped copy differently: shared bone 2.94 vs 2.97 mL on
    tests/test_layout_invariance.py's angular-parietal)."""
    from twinsep.fusion.shared import boundary_face_count, boundary_face_points_mm

    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, (9, 10, 11))
    a, b = t == TWIN_A, t == TWIN_B
    aff = np.diag([0.5, 1.0, 2.0, 1.0])
    aff[:3, 3] = (3.0, -2.0, 7.0)
    got = boundary_face_points_mm(a, b, aff)
    assert len(got) == boundary_face_count(a, b) > 0
    ref = []
    for ijk in np.argwhere(a):
        for d in np.vstack([np.eye(3, dtype=int), -np.eye(3, dtype=int)]):
            q = ijk + d
            if np.all(q >= 0) and np.all(q < t.shape) and b[tuple(q)]:
                ref.append(aff[:3, :3] @ ((ijk + q) / 2.0) + aff[:3, 3])
    np.testing.assert_allclose(np.sort(np.asarray(ref), axis=0), np.sort(got, axis=0))
    flipped = aff.copy()
    for ax in (0, 2):
        flipped[:3, 3] += flipped[:3, ax] * (t.shape[ax] - 1)
        flipped[:3, ax] = -flipped[:3, ax]
    again = boundary_face_points_mm(a[::-1, :, ::-1], b[::-1, :, ::-1], flipped)
    np.testing.assert_allclose(np.sort(again, axis=0), np.sort(got, axis=0))
    assert boundary_face_points_mm(a, np.zeros_like(b), aff).shape == (0, 3)
