"""The shortcuts of ``segment.metal``'s speed-up give what the whole-grid, whole-line,
whole-slice computation gives (exactly, not within a tolerance): the pieces labelled on
their box, ``np.arange`` of every angle at once, the median reference on the box of the
pixels that may be tissue, the slice's distance transforms and Gaussians on the work
box, and lines sampled only on the columns of ``t`` that can meet the tissue's box."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from twinsep.segment import morph
from twinsep.segment.metal import (
    _chunks,
    _compact,
    _deviation,
    _image,
    _median_reference,
    _offsets,
    _pieces,
    _sample,
    compact_metal,
)
from twinsep.segment.params import MetalParams


def test_pieces_on_their_box_are_the_whole_grid_pieces() -> None:
    # metal pieces at the grid's faces and inside, one on a dense block (not compact),
    # one speck too small: the box-labelled answer is the whole grid's
    rng = np.random.default_rng(3)
    a = rng.normal(40.0, 10.0, (40, 50, 30)).astype(np.float32)
    a[0:3, 10:14, 5:8] = 3071.0  # at the face i = 0
    a[20:24, 47:50, 28:30] = 3071.0  # at the faces j and k ends
    a[15:19, 20:24, 12:15] = 3071.0  # inside, in soft tissue
    a[30:38, 30:38, 10:18] = 2300.0  # a dense block ...
    a[32:36, 32:36, 8:11] = 3071.0  # ... with a cap on it
    a[10, 40, 20] = 3071.0  # one voxel
    sp = (0.5, 0.5, 1.0)
    params = MetalParams()
    t_metal = 40.0 + params.metal_offset_hu
    lab, sizes = morph.component_sizes(a >= t_metal)
    keep = sizes * float(np.prod(sp)) >= params.min_piece_mm3
    keep &= _compact(a, lab, sizes, sp, t_metal - params.shell_depth_hu, params)
    want = np.concatenate([[False], keep])[lab]
    assert 0 < want.sum() < (a >= t_metal).sum()  # some kept, some not
    got = compact_metal(a, sp, soft_hu=40.0)
    assert got is not None and np.array_equal(got, want)
    found = _pieces(a, sp, t_metal, params)
    assert found is not None
    box, blab, bkeep = found
    assert bkeep.sum() == keep.sum()
    assert _pieces(np.zeros((5, 5, 5), np.float32), sp, t_metal, params) is None
    # alone, the cap on the dense block: its shell reaches beyond its own box (the box
    # of the voxels at metal level) into the block, so it is no compact metal
    cap = np.full((40, 50, 30), 40.0, np.float32)
    cap[30:38, 30:38, 10:18] = 2300.0
    cap[32:36, 32:36, 8:11] = 3071.0
    assert compact_metal(cap, sp, soft_hu=40.0) is None
    cap[30:38, 30:38, 10:18] = 40.0  # the same piece in soft tissue is
    assert compact_metal(cap, sp, soft_hu=40.0) is not None


def test_offsets_are_numpy_arange() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        lo = rng.normal(0.0, 20.0, n) * rng.choice([1.0, 1e-3, 7.3])
        hi = lo + rng.uniform(-1.0, 15.0, n)  # some empty
        step = float(rng.choice([1.0, 1.2, 0.957, 0.5]))
        ref = [np.arange(a, b, step) for a, b in zip(lo, hi, strict=True)]
        q, s = _offsets(lo, hi, step)
        assert np.array_equal(s, np.concatenate(ref))
        assert np.array_equal(q, np.concatenate([np.full(r.size, i) for i, r in enumerate(ref)]))


@pytest.mark.parametrize(
    ("shape", "sp"),
    [((61, 83), (1.2, 1.2)), ((125, 97), (0.5, 0.5)), ((90, 71), (0.45, 0.3))],
    ids=["1.2mm", "0.5mm-blocks", "anisotropic-blocks"],
)
def test_median_reference_on_the_box_is_the_whole_slice_median(
    shape: tuple[int, int], sp: tuple[float, float]
) -> None:
    rng = np.random.default_rng(1)
    sl = rng.normal(40.0, 30.0, shape).round().astype(np.float32)
    within = np.zeros(shape, bool)
    within[17:40, 9:50] = True  # inside, away from the slice's edges
    within[-3:, -2:] = True  # and at its far corner
    full = _median_reference(sl, sp, 9.0, 1.0)
    part = _median_reference(sl, sp, 9.0, 1.0, within=within)
    assert np.array_equal(part[within], full[within])
    assert not np.array_equal(part, full)  # the rest was not computed (it is sl there)
    # nothing asked for: the slice itself
    assert np.array_equal(_median_reference(sl, sp, 9.0, 1.0, within=~within & False), sl)


def test_lines_sample_nothing_outside_their_chunk_columns() -> None:
    # random lines through a slice whose tissue fills a box: every tissue sample of
    # every line lies in the columns its chunk is given
    rng = np.random.default_rng(2)
    shape, sp = (80, 110), (0.7, 0.7)
    tissue = np.zeros(shape, bool)
    tissue[20:61, 30:95] = rng.random((41, 65)) < 0.7
    img = _image(np.where(tissue, 1.0, 0.0).astype(np.float32), tissue, sp)
    n = 3000
    theta = rng.uniform(0.0, np.pi, n)
    u = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    base = rng.uniform([0.0, 0.0], [shape[0] * sp[0], shape[1] * sp[1]], (n, 2))
    base[:50, 0] = 25.0  # some lines parallel to the box's sides
    u[:50] = [0.0, 1.0]
    base[50:100, 1] = 30.0
    u[50:100] = [1.0, 0.0]
    t = np.arange(-90.0, 90.0 + 1.0, 1.0)
    w_all, _, _ = _sample(base, u, t, img)
    seen = np.zeros(n, int)
    for rows, cols in _chunks(base, u, t, img.bounds_mm):
        w, _, _ = _sample(base[rows], u[rows], t[cols], img)
        assert np.array_equal(w.sum(axis=1), w_all[rows].sum(axis=1))
        seen[rows] += 1
    assert (seen == 1).all()
    assert w_all.sum() > 0.1 * n  # the lines do cross the tissue


def test_sample_reads_nothing_outside_the_slice() -> None:
    tissue = np.ones((10, 12), bool)
    img = _image(np.full((10, 12), 5.0, np.float32), tissue, (1.0, 1.0))
    base = np.array([[4.0, 5.0]])
    u = np.array([[1.0, 0.0]])
    t = np.arange(-10.0, 11.0, 1.0)  # i from -6 to 14: 10 inside
    w, v, idx = _sample(base, u, t, img)
    inside = (t + 4.0 > -0.5) & (t + 4.0 < 9.5)
    assert np.array_equal(w[0] > 0, inside)
    assert np.array_equal(v[0], np.where(inside, 5.0, 0.0))
    assert np.array_equal(idx[0][inside], (t[inside] + 4.0).astype(int) * 12 + 5)


@pytest.mark.parametrize("sp", [(1.2, 1.2), (0.5, 0.5), (0.45, 0.3)], ids=str)
def test_slice_filters_on_the_work_box_are_the_whole_slice_filters(
    sp: tuple[float, float],
) -> None:
    # a disc of soft tissue (with bone and air specks) in air, a metal piece on its rim:
    # the tissue mask from the work box is the whole slice's, and a Gaussian of values
    # on those pixels (the replacement's) is the whole slice's there
    params = MetalParams()
    rng = np.random.default_rng(4)
    shape = (200, 260)
    ii, jj = np.indices(shape)
    sl = np.full(shape, -1000.0, np.float32)
    disc = (ii - 100) ** 2 + (jj - 130) ** 2 < 45**2
    sl[disc] = rng.normal(40.0, 15.0, int(disc.sum()))
    sl[disc & (rng.random(shape) < 0.01)] = 900.0
    metal = disc & ((ii - 100) ** 2 + (jj - 173) ** 2 < 3**2)
    sl[metal] = 3071.0
    ref, dev, tissue, box = _deviation(sl, metal, sp, soft_hu=40.0, params=params)
    outside = np.abs(sl - 40.0) > params.streak_max_hu
    assert box != (slice(0, shape[0]), slice(0, shape[1]))  # a box smaller than the slice
    full_ref = _median_reference(sl, sp, params.reference_mm, max(min(sp), 1.0))
    want = np.abs(full_ref - 40.0) <= params.tissue_range_hu
    want &= ~(ndi.distance_transform_edt(~metal, sampling=sp) <= params.exclude_mm)
    want &= ~outside
    edge = max(params.edge_mm, params.edge_px * min(sp))
    want &= ndi.distance_transform_edt(~outside, sampling=sp) > edge
    assert want.sum() > 1000
    assert np.array_equal(tissue, want)
    assert np.array_equal(dev[tissue], (sl - full_ref)[tissue])
    sig = [params.reference_mm / (2.0 * s) for s in sp]
    x = np.where(tissue, sl, 0.0).astype(np.float32)
    whole = ndi.gaussian_filter(x, sig)
    part = ndi.gaussian_filter(x[box], sig)
    assert np.array_equal(part[tissue[box]], whole[tissue])
