"""The cranial cavity stops at the skull where an open suture crosses it at fine voxels
(``twinsep.segment.cavity._to_full_grid``, issue 4).

A generated spherical skull at ~1 mm has 1.5 mm open sutures, axis-aligned and
oblique to the grid, and pits in its inner table that do not go through. The truth is
known at each voxel centre: the cavity is the ball inside the inner table, the sutures
and pits stay gaps in the bone mask, and nothing beyond the outer table is cavity.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.segment.cavity import _gap_voxels, find_cranial_cavity

R_IN_MM = 38.0  # inner radius of the skull (a ~230 mL infant cranial cavity)
BONE_MM = 2.5  # infant calvaria 2-3 mm
SCALP_MM = 5.0
SUTURE_MM = 1.5  # open infant sutures 0.8-2.4 mm (Mitchell et al., AJNR 2011)


def _skull(
    spacing: tuple[float, float, float], normals: list[tuple[float, float, float]]
) -> tuple[np.ndarray, ...]:
    """(bone, body, r) of a spherical head whose plates are parted by planar sutures
    through the centre with the given normals."""
    ext = R_IN_MM + BONE_MM + SCALP_MM + 4.0
    axes = [np.arange(-ext, ext + 1e-6, s) for s in spacing]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    r = np.sqrt(x**2 + y**2 + z**2)
    bone = (r >= R_IN_MM) & (r < R_IN_MM + BONE_MM)
    for n in normals:
        u = np.asarray(n, float) / np.linalg.norm(n)
        bone &= np.abs(u[0] * x + u[1] * y + u[2] * z) >= SUTURE_MM / 2
    body = r < R_IN_MM + BONE_MM + SCALP_MM
    return bone, body, r


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize(
    ("spacing", "normals"),
    [
        ((1.0, 1.0, 1.0), [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]),
        ((0.9, 1.0, 1.1), [(1.0, 1.0, 0.0), (0.3, -0.5, 0.8)]),
        ((1.17, 1.17, 1.17), [(1.0, 0.2, 0.1), (-0.4, 0.6, 0.7)]),
        # sub-mm: gaps are found on ~1 mm blocks (suture_grid_mm), the cavity on voxels
        ((0.5, 0.45, 0.7), [(1.0, 1.0, 0.0), (0.3, -0.5, 0.8)]),
    ],
)
def test_no_scalp_beyond_the_suture_in_the_cavity(
    spacing: tuple[float, float, float], normals: list[tuple[float, float, float]]
) -> None:
    bone, body, r = _skull(spacing, normals)
    truth = r < R_IN_MM
    bone_before = bone.copy()
    cav = find_cranial_cavity(bone, body, spacing).mask
    assert np.array_equal(bone, bone_before)  # the input is not modified
    assert not (cav & bone).any()
    # the sutures stay gaps in the bone mask (the rule only walls the cavity)
    assert (~bone & (r > R_IN_MM + 0.5) & (r < R_IN_MM + BONE_MM - 0.5)).sum() > 100
    # beyond the outer table is scalp: none of it in the cavity (0.8-2.4 mL with the rule before)
    assert int((cav & (r >= R_IN_MM + BONE_MM)).sum()) == 0
    # the suture channel is cavity at most up to mid-plate (ties go to the scalp side)
    vx = float(np.prod(spacing))
    channel_outer_ml = float((cav & (r >= R_IN_MM + BONE_MM / 2 + max(spacing))).sum()) * vx
    assert channel_outer_ml == 0.0
    # the cavity itself is kept: one voxel layer on a 38 mm radius is ~8 % of the volume
    assert _dice(cav, truth) > 0.985
    assert float(cav.sum()) / float(truth.sum()) == pytest.approx(1.0, abs=0.02)


def test_dead_end_pits_in_the_inner_table_stay_cavity() -> None:
    """Pits 2 mm wide and 1.2 mm deep into the inner table (not through it, bone on
    both sides along the plate) are gaps, but dead ends: the cavity keeps them."""
    spacing = (1.0, 1.0, 1.0)
    bone, body, r = _skull(spacing, [])
    ext = R_IN_MM + BONE_MM + SCALP_MM + 4.0
    axes = [np.arange(-ext, ext + 1e-6, s) for s in spacing]
    x, y, z = np.meshgrid(*axes, indexing="ij")
    rng = np.random.default_rng(3)
    dirs = rng.normal(size=(40, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    pits = np.zeros(bone.shape, bool)
    for d in dirs:
        c = d * R_IN_MM
        pits |= ((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= 1.0**2) & (
            r < R_IN_MM + 1.2
        )
    pit_vox = pits & bone
    assert pit_vox.sum() > 40
    bone &= ~pits
    cav = find_cranial_cavity(bone, body, spacing).mask
    kept = float((cav & pit_vox).sum()) / float(pit_vox.sum())
    assert kept > 0.95
    assert int((cav & (r >= R_IN_MM + BONE_MM)).sum()) == 0


def test_gap_voxels_run_length_in_mm() -> None:
    """A slab gap between two bone plates is a gap up to ``gap_mm`` along the normal
    and along an oblique line (step length in mm), not beyond."""
    for width_vx, spacing, expect in (
        (2, (1.0, 1.0, 1.0), True),  # 2 mm <= 3 mm
        (3, (1.0, 1.0, 1.0), True),  # 3 mm
        (4, (1.0, 1.0, 1.0), False),  # 4 mm
        (2, (1.6, 1.0, 1.0), False),  # 3.2 mm along axis 0: the spacing counts
        (1, (1.0, 1.0, 1.0), True),  # a 1 mm slit
        (1, (2.4, 2.4, 2.4), False),  # one voxel of 2.4 mm: partial volume, not resolved
    ):
        bone = np.zeros((12, 9, 9), bool)
        bone[:4] = True
        bone[4 + width_vx :] = True
        idx = np.flatnonzero(~bone)
        gap = _gap_voxels(idx, bone, spacing, 3.0)
        assert bool(gap.all()) is expect, (width_vx, spacing)
    # a free voxel with bone on one side only is no gap
    bone = np.zeros((12, 9, 9), bool)
    bone[:4] = True
    idx = np.flatnonzero(~bone)
    assert not _gap_voxels(idx, bone, (1.0, 1.0, 1.0), 3.0).any()


def test_gap_voxels_at_the_grid_border_match_a_padded_grid() -> None:
    """Voxels near the border (looked up with bounds checks) get the same answer as in
    the middle of a grid padded with non-bone (a look-up must not wrap around)."""
    rng = np.random.default_rng(7)
    bone = rng.random((9, 10, 11)) < 0.35
    spacing = (0.9, 1.0, 1.2)
    idx = np.flatnonzero(~bone)
    got = _gap_voxels(idx, bone, spacing, 3.0)
    pad = 5
    big = np.pad(bone, pad, constant_values=False)
    c = np.unravel_index(idx, bone.shape)
    big_idx = np.ravel_multi_index(tuple(ci + pad for ci in c), big.shape)
    want = _gap_voxels(big_idx, big, spacing, 3.0)
    assert got.any() and (~got).any()
    assert np.array_equal(got, want)
