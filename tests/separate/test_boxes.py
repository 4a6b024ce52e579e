"""Boxes, the cropped boundary of the min-cut and lossless packing of the cached label maps."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from twinsep.separate.boxes import extent, grow, slices, window
from twinsep.separate.mincut import _boundary_box, boundary_mask
from twinsep.separate.packing import pack_volume, unpack_volume
from twinsep.volume import Volume


def test_extent_equals_argwhere_bounds() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        m = rng.random((17, 9, 23)) < 0.002
        ext = extent(m)
        if not m.any():
            assert ext is None
            continue
        idx = np.argwhere(m)
        assert ext is not None
        np.testing.assert_array_equal(ext[0], idx.min(axis=0))
        np.testing.assert_array_equal(ext[1], idx.max(axis=0) + 1)
    assert extent(np.zeros((3, 4, 5), bool)) is None


def test_window_pads_with_zeros_outside_the_crop() -> None:
    full = np.arange(6 * 7 * 8).reshape(6, 7, 8) + 1
    lo_c, hi_c = np.array([1, 2, 3]), np.array([5, 6, 7])
    crop = full[slices(lo_c, hi_c)]
    lo, hi = np.array([0, 3, 2]), np.array([4, 7, 8])
    got = window(crop, lo_c, lo, hi)
    want = np.zeros_like(full)
    want[slices(lo_c, hi_c)] = crop
    np.testing.assert_array_equal(got, want[slices(lo, hi)])
    g_lo, g_hi = grow((lo_c, hi_c), np.array([2, 0, 5]), full.shape)
    np.testing.assert_array_equal(g_lo, [0, 2, 0])
    np.testing.assert_array_equal(g_hi, [6, 6, 8])


@pytest.mark.parametrize("seed", [0, 1])
def test_boundary_box_holds_the_whole_grid_boundary(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (30, 26, 34)
    i = np.indices(shape)
    body = rng.random(shape) < 0.8
    tw = np.where(body, np.where(i[2] < 15 + (i[0] % 4), 1, 2), 0).astype(np.uint8)
    tw[0:3, 0:3, 30:] = 1  # a stray bit of A far inside B's side
    margin = np.array([2, 3, 1])
    found = _boundary_box(tw, margin)
    assert found is not None
    box, boundary = found
    full = boundary_mask(tw)
    idx = np.argwhere(full)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + 1 + margin, shape)
    assert box == slices(lo, hi)
    np.testing.assert_array_equal(boundary, full[box])


def test_boundary_box_of_twins_apart_is_none() -> None:
    tw = np.zeros((10, 10, 10), np.uint8)
    tw[:3] = 1
    tw[6:] = 2
    assert _boundary_box(tw, np.array([1, 1, 1])) is None


@pytest.mark.parametrize("order", ["C", "F"])
def test_packing_is_lossless_in_values_dtype_and_order(order: str) -> None:
    rng = np.random.default_rng(5)
    arr = np.asarray(rng.integers(0, 3, (12, 8, 10)), dtype=np.uint8, order=order)
    arr[:, :4] = 0  # long runs too
    vol = Volume(arr, np.diag([0.5, 0.7, 1.1, 1.0]), {"note": "x"})
    back = unpack_volume(pickle.loads(pickle.dumps(pack_volume(vol))))
    np.testing.assert_array_equal(back.array, arr)
    assert back.array.dtype == arr.dtype
    assert back.array.flags.f_contiguous == arr.flags.f_contiguous
    np.testing.assert_array_equal(back.affine, vol.affine)
    assert back.meta == {"note": "x"}
    # runs, not voxels, are stored
    assert pack_volume(vol).starts.size < arr.size


def test_packing_constant_and_empty() -> None:
    vol = Volume(np.zeros((4, 5, 6), np.uint8), np.eye(4))
    p = pack_volume(vol)
    assert p.starts.tolist() == [0]
    np.testing.assert_array_equal(unpack_volume(p).array, vol.array)
    empty = Volume(np.zeros((0, 5, 6), np.uint8), np.eye(4))
    np.testing.assert_array_equal(unpack_volume(pack_volume(empty)).array, empty.array)


def test_separation_plan_pickles_its_label_maps_packed() -> None:
    from twinsep.separate.plan import SeparationPlan

    tw = np.zeros((40, 40, 40), np.uint8)
    tw[4:36, 4:36, 4:20] = 1
    tw[4:36, 4:36, 20:36] = 2
    cut = np.zeros_like(tw)
    cut[5:8, 5:8, 9:11] = 2
    aff = np.diag([0.4, 0.4, 0.8, 1.0])
    plan = SeparationPlan(
        twins=Volume(tw, aff),
        cut=Volume(cut, aff),
        area_mm2_by_tissue={"soft_tissue": 1.0},
        vessel_crossings=[],
        stages=[],
        risk_score=0.5,
        area_mm2=1.0,
        check={"separated": True},
    )
    blob = pickle.dumps(plan)
    # packed: well under the two raw grids (about 4100 runs of 5 bytes here)
    assert len(blob) < (tw.nbytes + cut.nbytes) // 4
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.twins.array, tw)
    np.testing.assert_array_equal(back.cut.array, cut)
    assert isinstance(back.twins, Volume)
    assert back.area_mm2_by_tissue == plan.area_mm2_by_tissue
    assert back.check == plan.check and back.risk_score == 0.5


def test_vessel_crossings_with_and_without_the_kerf_box() -> None:
    from twinsep.separate.crossings import vessel_crossings
    from twinsep.separate.mincut import verify_separation

    # a tube of radius 3 mm along x through the twins' boundary plane x = 0; the tube
    # runs 20 mm into each twin: same vessel volume on both sides
    sp = 0.5
    shape = (120, 60, 60)
    i = np.indices(shape)
    x = (i[0] - 59.5) * sp
    r = np.hypot((i[1] - 29.5) * sp, (i[2] - 29.5) * sp)
    lab = np.ones(shape, np.uint8)
    tube = (r <= 3.0) & (np.abs(x) <= 20.0)
    lab[tube] = 5
    tw = np.where(x < 0, 1, 2).astype(np.uint8)
    labels = Volume(lab, np.diag([sp, sp, sp, 1.0]))
    check = verify_separation(tw)
    auto = vessel_crossings(labels, tw, check.kerf)
    boxed = vessel_crossings(labels, tw, check.kerf, kerf_box=check.kerf_box)
    assert auto == boxed
    assert len(auto) == 1
    c = auto[0]
    # the distance-map estimate (plan_separation replaces it by the section's) counts
    # to the first voxel outside the wall, minus one voxel: 6 mm less at most 3 voxels
    assert 6.0 - 3 * sp <= c.diameter_mm <= 6.0
    # each side holds the tube minus the kerf layer: pi r^2 (20 mm - 1 voxel), 0.54 mL;
    # 10 % covers the voxelised circle
    side_ml = np.pi * 3.0**2 * (20.0 - sp) / 1000.0
    assert c.volume_a_ml == pytest.approx(side_ml, rel=0.1)
    assert c.volume_b_ml == pytest.approx(side_ml, rel=0.1)
    assert abs(c.position_mm[0] - 59.5 * sp) < sp  # on the plane x = 0 (index 59.5)
