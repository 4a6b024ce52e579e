"""Thresholds of the validation helpers, checked at their boundaries."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from twinsep.errors import ScanError
from twinsep.io import checks
from twinsep.io.checks import (
    LoadParams,
    check_affine,
    check_memory,
    check_not_label_map,
    check_readable_path,
    check_shape,
    guess_modality,
)


@pytest.mark.parametrize(
    ("spacing", "ok"),
    [(0.05, True), (0.049, False), (20.0, True), (20.5, False), (0.5, True)],
)
def test_spacing_bounds(spacing: float, ok: bool) -> None:
    aff = np.diag([1.0, spacing, 1.0, 1.0])
    if ok:
        check_affine(aff, "x.nii")
    else:
        with pytest.raises(ScanError, match="absurd voxel spacing"):
            check_affine(aff, "x.nii")


def test_spacing_on_oblique_axis_uses_column_norm() -> None:
    # A column (0.03, 0.03, 0) has norm 0.042 mm < 0.05 although no entry is zero.
    aff = np.eye(4)
    aff[:3, 1] = (0.03, 0.03, 0.0)
    with pytest.raises(ScanError, match="axis j"):
        check_affine(aff, "x.nii")


@pytest.mark.parametrize(("n_values", "refused"), [(1, True), (16, True), (17, False)])
def test_label_map_threshold(n_values: int, refused: bool) -> None:
    arr = (np.arange(20 * 20 * 20) % n_values).reshape(20, 20, 20).astype(np.int16)
    if refused:
        with pytest.raises(ScanError, match=f"only {n_values} distinct"):
            check_not_label_map(arr, "x.nii")
    else:
        check_not_label_map(arr, "x.nii")


def test_float_volume_with_few_integers_is_a_label_map() -> None:
    arr = np.zeros((10, 10, 10), dtype=np.float32)
    arr[2:5] = 3.0
    with pytest.raises(ScanError, match="label map"):
        check_not_label_map(arr, "x.nii")
    arr[0, 0, 0] = 0.5  # one non-integer value: real-valued image, not labels
    check_not_label_map(arr, "x.nii")


def test_label_map_found_when_the_sample_misses_rare_values() -> None:
    # 2 million voxels: the check samples every 2nd voxel first, then confirms on all.
    arr = np.zeros(2_000_000, dtype=np.int16)
    arr[1::2] = np.arange(1_000_000) % 40  # 40 values only on odd indices
    with pytest.raises(ScanError, match="label map"):
        check_not_label_map(arr[::2].reshape(100, 100, 100), "x.nii")
    check_not_label_map(arr.reshape(200, 100, 100), "x.nii")


def test_modality_guess_thresholds() -> None:
    p = LoadParams()
    assert guess_modality(-1000, 1500) == "CT"
    assert guess_modality(p.ct_min_hu, p.ct_max_hu) == "CT"
    assert guess_modality(p.ct_min_hu + 1, 3000) == "MR"
    assert guess_modality(-1024, p.ct_max_hu - 1) == "MR"


def test_memory_check_uses_available_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "available_memory_bytes", lambda: 1_000_000)
    # 100*100*10 voxels * (2 + 4) bytes = 600 kB <= 0.8 MB: fine.
    check_memory((100, 100, 10), 2, "a.nii")
    # 100*100*14 * 6 = 840 kB > 0.8 MB: refused before reading.
    with pytest.raises(ScanError, match="too large for memory"):
        check_memory((100, 100, 14), 2, "a.nii")


def test_available_memory_is_positive() -> None:
    assert checks.available_memory_bytes() > 0


@pytest.mark.parametrize(
    ("shape", "msg"),
    [((5, 5), "2D image"), ((5, 1, 5), "single slice"), ((5, 5, 5, 2), "2 volumes")],
)
def test_shape_rules(shape: tuple[int, ...], msg: str) -> None:
    with pytest.raises(ScanError, match=msg):
        check_shape(shape, "x")


def test_shape_accepts_trailing_singletons() -> None:
    assert check_shape((4, 5, 6, 1, 1), "x") == (4, 5, 6)


def test_permission_denied_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chmod 000 cannot stop root, so the access check is exercised directly.
    p = tmp_path / "a.nii"
    p.write_bytes(b"x")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(ScanError, match="permission denied") as info:
        check_readable_path(p)
    assert "a.nii" in info.value.one_line()


def test_broken_symlink_is_named(tmp_path: Path) -> None:
    link = tmp_path / "ct.nii.gz"
    link.symlink_to(tmp_path / "gone.nii.gz")
    with pytest.raises(ScanError, match="broken symbolic link"):
        check_readable_path(link)


def test_noise_free_ct_is_not_a_label_map(tmp_path: Path) -> None:
    """A piecewise-constant CT (a noise-free synthetic phantom: air, scalp, bone, brain,
    CSF) has five values but spans Hounsfield units: loaded with a warning. A label map
    (values from 0) and a two-valued image stay refused."""
    from twinsep.io import load_scan, save_volume
    from twinsep.volume import Volume

    arr = np.full((24, 24, 24), -1000, np.int16)
    arr[2:22, 2:22, 2:22] = 40
    arr[4:20, 4:20, 4:20] = 1200
    arr[6:18, 6:18, 6:18] = 8
    arr[8:16, 8:16, 8:16] = 35
    assert check_not_label_map(arr, "x.nii") is not None
    path = tmp_path / "phantom.nii.gz"
    save_volume(Volume(arr, np.eye(4)), path)
    scan = load_scan(path)
    assert scan.info.modality == "CT"
    assert any("noise-free (synthetic) CT" in w and "5 distinct" in w for w in scan.info.warnings)
    with pytest.raises(ScanError, match="label map"):
        check_not_label_map(np.clip(arr, 0, 5), "labels.nii")  # 0..5
    with pytest.raises(ScanError, match="label map"):
        check_not_label_map(np.where(arr > 0, 1000, -1000).astype(np.int16), "mask.nii")
    with pytest.raises(ScanError, match="label map"):
        check_not_label_map(arr + 1100, "shifted.nii")  # 60..2300: no air, not HU


def test_nan_outside_the_field_of_view_reads_as_air(tmp_path: Path) -> None:
    """A float CT with NaN outside a round field of view (the sweep's real-CT variant was
    refused): filled with the lowest finite value, with a warning. NaN inside the
    anatomy (not connected to the edge) or any inf stays refused."""
    from twinsep.io import load_scan, save_volume
    from twinsep.io.checks import fill_nan_outside_fov
    from twinsep.volume import Volume

    rng = np.random.default_rng(9)
    arr = rng.normal(40.0, 20.0, (24, 24, 10)).astype(np.float32)
    arr[:, :, 0] = -1000.0
    ii, jj = np.indices((24, 24))
    outside = np.hypot(ii - 11.5, jj - 11.5) > 11.0
    arr[outside] = np.nan  # the corners of every slice
    path = tmp_path / "fov.nii.gz"
    save_volume(Volume(arr, np.eye(4)), path)
    scan = load_scan(path)
    got = scan.volume.array
    assert np.isfinite(got).all()
    assert (got[outside] == -1000.0).all()  # the lowest finite value
    inside = ~outside
    np.testing.assert_array_equal(got[inside], arr[inside])
    n = int(outside.sum()) * 10
    assert any(f"{n} voxels without data (NaN)" in w for w in scan.info.warnings)
    hole = arr.copy()
    hole[12, 12, 5] = np.nan  # inside the anatomy
    with pytest.raises(ScanError, match=r"NaN or infinite \(first at index \(0, 0, 0\)\)"):
        fill_nan_outside_fov(hole, "hole.nii")
    stray = got.copy()
    stray[0, 0, 0] = np.nan  # one NaN at the border: damage, not a no-data margin
    stray[23, 23, 9] = np.nan
    with pytest.raises(ScanError, match=r"2 voxels are NaN or infinite"):
        fill_nan_outside_fov(stray, "stray.nii")
    slab = got.copy()
    slab[:, :, 9] = np.nan  # one whole edge slice of ten (10 %): a margin
    filled, note = fill_nan_outside_fov(slab, "slab.nii")
    assert note is not None and (filled[:, :, 9] == got.min()).all()
    inf = arr.copy()
    inf[0, 0, 0] = np.inf
    with pytest.raises(ScanError, match="NaN or infinite"):
        fill_nan_outside_fov(inf, "inf.nii")
    assert fill_nan_outside_fov(got, "x.nii") == (got, None)


def test_offset_ct_read_as_mr_says_how_to_give_it(tmp_path: Path) -> None:
    """CT numbers + 1024 stored without a rescale intercept cannot be told from an MR by
    their range; the modality warning then says how to give such a CT. An MR-like range
    without values above 1324 does not get the hint."""
    from twinsep.io import load_scan, save_volume
    from twinsep.volume import Volume

    rng = np.random.default_rng(4)
    ct = np.clip(rng.normal(1064.0, 300.0, (16, 14, 12)), 0, 3000).astype(np.int16)
    ct[0, 0, 0] = 0
    save_volume(Volume(ct, np.eye(4)), tmp_path / "offset.nii.gz")
    notes = load_scan(tmp_path / "offset.nii.gz").info.warnings
    assert any("guessed as MR" in w and "CT number + 1024" in w for w in notes), notes
    mr = np.clip(rng.normal(400.0, 150.0, (16, 14, 12)), 0, 900).astype(np.int16)
    save_volume(Volume(mr, np.eye(4)), tmp_path / "t1.nii.gz")
    notes = load_scan(tmp_path / "t1.nii.gz").info.warnings
    assert any("guessed as MR" in w for w in notes)
    assert not any("CT number + 1024" in w for w in notes)


def test_nan_regions_reaching_the_border_match_scipy() -> None:
    """``_all_reach_border`` (holes by ``morph.fill_holes``) against scipy's labelling:
    every 6-connected component touches a face of the array, on 200 random masks."""
    from scipy import ndimage as ndi

    from twinsep.io.checks import _all_reach_border

    rng = np.random.default_rng(0)
    outcomes = set()
    for _ in range(200):
        m = rng.random((5, 6, 7)) < rng.uniform(0.2, 0.8)
        lab, n = ndi.label(m)
        faces = [lab[0], lab[-1], lab[:, 0], lab[:, -1], lab[:, :, 0], lab[:, :, -1]]
        on_border = set(np.unique(np.concatenate([f.ravel() for f in faces]))) - {0}
        want = len(on_border) == n
        assert _all_reach_border(m) == want
        outcomes.add(want)
    assert outcomes == {True, False}  # both answers were exercised
