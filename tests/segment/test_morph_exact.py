"""The fast binary morphology equals plain scipy on random masks (anisotropic, borders)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import bitball, morph


def _blobs(seed: int, shape=(40, 33, 27)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = ndi.gaussian_filter(rng.standard_normal(shape), 2.0)
    m = noise > np.percentile(noise, 93)
    m[0, rng.integers(shape[1]), rng.integers(shape[2])] = True  # touches the border
    return m


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("radius_mm", [0.9, 2.5, 6.0])
def test_dilate_matches_scipy(seed, radius_mm):
    sp = (0.8, 1.3, 2.1)
    m = _blobs(seed)
    ref = ndi.distance_transform_edt(~m, sampling=sp) <= radius_mm
    got = morph.dilate_mm(m, radius_mm, sp)
    assert got.dtype == bool and got.shape == m.shape
    assert np.array_equal(got, ref), int((got != ref).sum())


def test_dilate_small_mask_in_large_volume_and_empty():
    sp = (1.0, 1.0, 1.0)
    m = np.zeros((60, 50, 40), bool)
    m[30, 25, 20] = True
    got = morph.dilate_mm(m, 3.0, sp)
    # a ball of radius 3 voxels: 123 lattice points within distance 3
    assert int(got.sum()) == 123
    assert not morph.dilate_mm(np.zeros((5, 5, 5), bool), 2.0, sp).any()


def test_block_mean_counts_fractions():
    m = np.zeros((4, 6, 3), bool)
    m[:2, :3, :] = True
    out = morph.block_mean(m, (2, 3, 3))
    assert out.dtype == np.float32
    assert out.tolist() == [[[1.0], [0.0]], [[0.0], [0.0]]]
    m[0, 3, 0] = True
    assert morph.block_mean(m, (2, 3, 3))[0, 1, 0] == pytest.approx(1 / 18)


# --- component labelling, hole filling, block reduction: exact against plain numpy/scipy


def _shells(shape=(37, 30, 26)) -> np.ndarray:
    """Two hollow balls (one with a hole punched to the outside) plus random specks."""
    z, y, x = np.indices(shape)
    m = np.zeros(shape, bool)
    for c, r_out, r_in in (((12, 12, 10), 8.5, 5.0), ((26, 18, 15), 7.0, 4.0)):
        d = np.sqrt((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2)
        m |= (d <= r_out) & (d > r_in)
    m[26, 18, 15 + 4 : 15 + 8] = False  # the second shell opens to the outside
    rng = np.random.default_rng(7)
    m |= rng.random(shape) > 0.995
    return m


@pytest.mark.parametrize("connectivity", [6, 26])
@pytest.mark.parametrize("case", ["blobs", "shells", "corner", "empty", "full"])
def test_component_sizes_match_scipy_label(case, connectivity):
    m = {
        "blobs": lambda: _blobs(3),
        "shells": _shells,
        "corner": lambda: np.pad(np.ones((3, 2, 4), bool), ((0, 20), (11, 0), (5, 9))),
        "empty": lambda: np.zeros((9, 8, 7), bool),
        "full": lambda: np.ones((9, 8, 7), bool),
    }[case]()
    before = m.copy()
    lab, sizes = morph.component_sizes(m, connectivity=connectivity)
    assert np.array_equal(m, before)  # input untouched
    assert lab.dtype == np.uint32 and lab.shape == m.shape
    structure = ndi.generate_binary_structure(3, 1 if connectivity == 6 else 3)
    ref, n = ndi.label(m, structure=structure)
    # same partition: a one-to-one map between the two labellings on the true voxels
    assert sizes.size == n
    assert np.array_equal(lab > 0, m)
    pairs = np.unique(np.stack([lab[m], ref[m]]), axis=1)
    assert pairs.shape[1] == n
    # same numbering: raster order of each component's first voxel (scipy's order too)
    assert np.array_equal(lab, ref)
    assert np.array_equal(sizes, np.bincount(ref.ravel(), minlength=n + 1)[1:])


@pytest.mark.parametrize("connectivity", [6, 26])
@pytest.mark.parametrize("case", ["blobs", "shells", "corner", "empty", "full", "uint8"])
def test_component_ids_are_the_grid_labels_of_the_true_voxels(case, connectivity):
    m = {
        "blobs": lambda: _blobs(3),
        "shells": _shells,
        "corner": lambda: np.pad(np.ones((3, 2, 4), bool), ((0, 20), (11, 0), (5, 9))),
        "empty": lambda: np.zeros((9, 8, 7), bool),
        "full": lambda: np.ones((9, 8, 7), bool),
        "uint8": lambda: np.pad(_blobs(5), ((4, 1), (0, 3), (2, 0))).astype(np.uint8),
    }[case]()
    before = m.copy()
    ids, sizes = morph.component_ids(m, connectivity=connectivity)
    assert np.array_equal(m, before)  # input untouched
    lab, want_sizes = morph.component_sizes(m, connectivity=connectivity)
    # the labels component_sizes gives those voxels on the whole grid, in raster order
    assert ids.dtype == np.uint32
    assert np.array_equal(ids, lab.ravel()[np.flatnonzero(m)])
    assert np.array_equal(sizes, want_sizes)
    assert ids.size == np.count_nonzero(m) and (ids > 0).all()


@pytest.mark.parametrize("case", ["shells", "blobs", "touching_border", "empty"])
def test_fill_holes_matches_scipy(case):
    if case == "shells":
        m = _shells()
    elif case == "blobs":
        m = ~_blobs(4)  # many background pockets of every size
    elif case == "touching_border":
        m = _shells()
        m[0] = True  # a wall on the border face: pockets against it are still holes
        m[:, :, -1] = True
    else:
        m = np.zeros((8, 9, 10), bool)
    ref = ndi.binary_fill_holes(m)  # 6-connected background, border = outside
    got = morph.fill_holes(m)
    assert got.dtype == bool
    assert np.array_equal(got, ref), int((got != ref).sum())
    if case == "shells":
        # the closed shell's inside (r <= 5 voxels: > 400 voxels) is filled, the open one's not
        assert int(got.sum() - m.sum()) > 400


def test_fill_holes_with_outside_matches_border_rule():
    m = _shells()
    outside = np.zeros(m.shape, bool)
    outside[0] = True
    outside[-1] = True
    outside[:, 0] = True
    outside[:, -1] = True
    outside[:, :, 0] = True
    outside[:, :, -1] = True
    outside &= ~m
    assert np.array_equal(morph.fill_holes(m, outside=outside), ndi.binary_fill_holes(m))


def test_bounding_box_matches_argwhere():
    rng = np.random.default_rng(5)
    for _ in range(20):
        shape = tuple(int(v) for v in rng.integers(3, 30, 3))
        m = np.zeros(shape, bool)
        pts = [tuple(int(rng.integers(n)) for n in shape) for _ in range(int(rng.integers(1, 4)))]
        for p in pts:
            m[p] = True
        margin = [int(v) for v in rng.integers(0, 4, 3)]
        idx = np.argwhere(m)
        want = tuple(
            slice(
                max(int(idx[:, a].min()) - margin[a], 0),
                min(int(idx[:, a].max()) + 1 + margin[a], shape[a]),
            )
            for a in range(3)
        )
        assert morph._bounding_box(m, margin) == want
    assert morph._bounding_box(np.zeros((4, 5, 6), bool), [1, 1, 1]) is None


@pytest.mark.parametrize("f", [(1, 1, 1), (2, 3, 1), (3, 2, 4), (5, 5, 5), (7, 1, 2)])
def test_block_reductions_match_reshape_reference(f):
    rng = np.random.default_rng(sum(f))
    m = rng.random((23, 17, 19)) > 0.6
    # reference: edge-pad to whole blocks, then a float64 mean / any over each block
    pads = [(0, (-n) % k) for n, k in zip(m.shape, f, strict=True)]
    p = np.pad(m, pads, mode="edge")
    s = p.shape
    r = p.reshape(s[0] // f[0], f[0], s[1] // f[1], f[1], s[2] // f[2], f[2])
    want_mean = r.mean(axis=(1, 3, 5), dtype=np.float64).astype(np.float32)
    want_any = r.any(axis=(1, 3, 5))
    got_mean = morph.block_mean(m, f)
    got_any = morph.block_any(m, f)
    assert got_mean.dtype == np.float32 and got_any.dtype == bool
    assert np.array_equal(got_mean, want_mean)  # bit-identical (exact count / block size)
    assert np.array_equal(got_any, want_any)
    # upsampling the coarse grid back is the block lookup i // f, cropped to the shape
    up = morph.upsample(got_any, f, m.shape)
    i, j, k = np.indices(m.shape)
    assert up.shape == m.shape and up.flags.c_contiguous
    assert np.array_equal(up, got_any[i // f[0], j // f[1], k // f[2]])


def test_block_mean_large_blocks_do_not_overflow():
    # 40 x 40 x 41 = 65600 voxels per block: more than a uint16 count holds
    m = np.ones((40, 40, 41), bool)
    m[0, 0, 0] = False
    got = morph.block_mean(m, (40, 40, 41))
    assert got.shape == (1, 1, 1)
    assert got[0, 0, 0] == np.float32(65599 / 65600)


# --- small balls on bit-packed rows (segment.bitball) and the distance-transform path


_SPACINGS = [(0.8, 1.3, 2.1), (0.356, 0.31, 0.747), (2.0, 0.5, 0.1), (1.0, 1.0, 1.0)]


@pytest.mark.parametrize("spacing", _SPACINGS)
@pytest.mark.parametrize("radius_mm", [0.5, 1.0, 2.5, 4.0])
def test_bit_ball_dilation_and_erosion_match_scipy(spacing, radius_mm):
    # 150 voxels along the packed axis: rows of three 64-bit words, the last one partial
    m = _blobs(int(10 * radius_mm), shape=(30, 27, 150))
    m[:, :, -1] |= m[:, :, 0]  # mask on the far end of the packed axis too
    before = m.copy()
    ref_dil = ndi.distance_transform_edt(~m, sampling=spacing) <= radius_mm
    k = [int(np.ceil(radius_mm / s)) + 1 for s in spacing]
    padded = np.pad(m, [(p, p) for p in k])  # outside the array counts as false
    inner = tuple(slice(p, n - p) for p, n in zip(k, padded.shape, strict=True))
    ref_ero = (ndi.distance_transform_edt(padded, sampling=spacing) > radius_mm)[inner]
    small = morph._small_ball(3, radius_mm, spacing)
    got_dil = morph.dilate_mm(m, radius_mm, spacing)
    got_ero = morph.erode_mm(m, radius_mm, spacing)
    assert np.array_equal(m, before)
    assert np.array_equal(got_dil, ref_dil), (small, int((got_dil != ref_dil).sum()))
    assert np.array_equal(got_ero, ref_ero), (small, int((got_ero != ref_ero).sum()))
    opened = morph.open_mm(m, radius_mm, spacing)
    # scipy's transform of a grid without background is not a distance: an empty
    # erosion opens to nothing
    ref_open = (
        ndi.distance_transform_edt(~ref_ero, sampling=spacing) <= radius_mm
        if ref_ero.any()
        else np.zeros(m.shape, bool)
    )
    assert np.array_equal(opened, ref_open)
    if radius_mm == 1.0 and spacing == (1.0, 1.0, 1.0):
        assert ref_ero.any()  # the erosion is not trivially empty for every case


def test_bit_ball_is_used_for_small_balls_only():
    sp = (0.356, 0.31, 0.747)
    assert morph._small_ball(3, 2.5, sp)  # the segmentation's margins: packed rows
    assert not morph._small_ball(3, 24.0, sp)  # a 24 mm closing: distance transform
    assert not morph._small_ball(2, 1.0, sp)


def test_bit_ball_rows_count_the_lattice_ball():
    # unit voxels, radius 3: 123 lattice points |p| <= 3 (the count used above)
    run, widths = bitball.ball_rows(3.0, (1.0, 1.0, 1.0))
    assert run == 0
    assert sum(2 * w + 1 for w in widths.values()) == 123
    # a single voxel dilated on the packed rows gives that ball, centred
    m = np.zeros((9, 9, 70), bool)
    m[4, 4, 63] = True  # next to a word boundary of the packed axis
    got = bitball.dilate_ball(m, 3.0, (1.0, 1.0, 1.0))
    z, y, x = np.indices(m.shape)
    assert np.array_equal(got, (z - 4) ** 2 + (y - 4) ** 2 + (x - 63) ** 2 <= 9)


@pytest.mark.parametrize("fraction", [0.0, 0.2, 0.5, 1.0])
def test_keep_large_components_matches_label_lookup(fraction):
    for m in (_shells(), _blobs(6), np.pad(np.ones((4, 4, 4), bool), 3)):
        lab, sizes = morph.component_sizes(m)
        want = np.concatenate([[False], sizes >= fraction * sizes.max()])[lab]
        got = morph.keep_large_components(m, fraction)
        assert got.dtype == bool
        assert np.array_equal(got, want)
        assert got is not m
    assert not morph.keep_large_components(np.zeros((4, 5, 6), bool), 0.2).any()
    # two pieces of 8 and 27 voxels: a 0.25 fraction keeps both (8 >= 6.75), 0.3 the larger
    m = np.zeros((12, 12, 12), bool)
    m[1:3, 1:3, 1:3] = True
    m[6:9, 6:9, 6:9] = True
    assert morph.keep_large_components(m, 0.25).sum() == 35
    assert morph.keep_large_components(m, 0.3).sum() == 27
