"""DICOM reader behaviour: slice sorting, rescale, pixel formats, series choice, warnings."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_volumes import make_volume

from twinsep.errors import ScanError
from twinsep.io import load_scan, write_dicom_series
from twinsep.io.dicom import series_uid_hash
from twinsep.volume import Volume


def _series(
    tmp: Path, name: str = "s", seed: int = 0, affine: str = "lps_axial"
) -> tuple[Volume, list[Path]]:
    vol = make_volume(affine, seed=seed)
    return vol, write_dicom_series(vol, tmp / name, series_description=f"desc {name}")


def _edit(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    ds = pydicom.dcmread(path)
    fn(ds)
    ds.save_as(path, enforce_file_format=True)


def test_sorted_by_position_not_name_or_instance_number(tmp_path: Path) -> None:
    vol, files = _series(tmp_path, affine="oblique")
    rng = np.random.default_rng(7)
    perm = rng.permutation(len(files))
    assert not np.array_equal(perm, np.arange(len(files)))  # a real shuffle
    inst = rng.permutation(len(files)) + 1
    staged = tmp_path / "staged"
    staged.mkdir()
    for src, p, n in zip(files, perm, inst, strict=True):

        def renumber(ds: pydicom.Dataset, n: int = int(n)) -> None:
            ds.InstanceNumber = n

        _edit(src, renumber)
        shutil.move(src, staged / f"{p:03d}_x.dcm")
    scan = load_scan(staged)
    np.testing.assert_array_equal(scan.volume.array, vol.array)
    np.testing.assert_allclose(scan.volume.affine, vol.affine, atol=1e-4)


def test_rescale_intercept_unsigned_and_per_slice(tmp_path: Path) -> None:
    vol, files = _series(tmp_path)
    for k, f in enumerate(files):
        inter = -1024 - k  # a different intercept on every slice

        def to_unsigned(ds: pydicom.Dataset, inter: int = inter) -> None:
            stored = ds.pixel_array.astype(np.int32) - inter
            ds.PixelRepresentation = 0
            ds.RescaleIntercept = inter
            ds.PixelData = stored.astype("<u2").tobytes()

        _edit(f, to_unsigned)
    scan = load_scan(files[0].parent)
    assert scan.volume.array.dtype == np.int16
    np.testing.assert_array_equal(scan.volume.array, vol.array)


def test_rescale_slope_gives_exact_float(tmp_path: Path) -> None:
    vol, files = _series(tmp_path)
    for f in files:

        def halve(ds: pydicom.Dataset) -> None:
            stored = (ds.pixel_array.astype(np.int32) + 1000) * 2  # value = stored*0.5 - 1000
            ds.PixelRepresentation = 0
            ds.RescaleSlope = 0.5
            ds.RescaleIntercept = -1000
            ds.PixelData = stored.astype("<u2").tobytes()

        _edit(f, halve)
    scan = load_scan(files[0].parent)
    assert scan.volume.array.dtype == np.float32
    np.testing.assert_array_equal(scan.volume.array, vol.array.astype(np.float32))


@pytest.mark.filterwarnings("error")
def test_absurd_rescale_intercept_is_a_scan_error(tmp_path: Path) -> None:
    # Found by fuzzing: a -1e308 intercept overflowed the integer path. No numpy overflow
    # warning on the way: the CLI printed it above its one error line (session 29).
    _, files = _series(tmp_path)

    def absurd(ds: pydicom.Dataset) -> None:
        ds.RescaleIntercept = -1e308

    _edit(files[2], absurd)
    with pytest.raises(ScanError, match="NaN or infinite"):
        load_scan(files[0].parent)


def test_eight_bit_pixels_use_pydicom_decoder(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    arr = rng.integers(0, 256, size=(16, 14, 6)).astype(np.int16)
    vol = Volume(arr, np.diag([0.9, 0.9, 3.0, 1.0]))
    files = write_dicom_series(vol, tmp_path / "mr8", modality="MR")
    for f in files:

        def to_8bit(ds: pydicom.Dataset) -> None:
            px = ds.pixel_array.astype(np.uint8)
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
            ds.PixelData = px.tobytes()

        _edit(f, to_8bit)
    scan = load_scan(tmp_path / "mr8")
    assert scan.info.modality == "MR" and not scan.info.modality_guessed
    np.testing.assert_array_equal(scan.volume.array, arr)


def test_choose_series_by_uid_or_hash(tmp_path: Path) -> None:
    va, fa = _series(tmp_path, "a", seed=1)
    vb, fb = _series(tmp_path, "b", seed=2)
    both = tmp_path / "both"
    both.mkdir()
    for i, f in enumerate(fa + fb):
        shutil.copy(f, both / f"{i:03d}.dcm")
    uid_a = str(pydicom.dcmread(fa[0]).SeriesInstanceUID)
    uid_b = str(pydicom.dcmread(fb[0]).SeriesInstanceUID)
    got_a = load_scan(both, series_uid=uid_a)
    np.testing.assert_array_equal(got_a.volume.array, va.array)
    assert any("1 of 2 series" in w for w in got_a.info.warnings)
    got_b = load_scan(both, series_uid=series_uid_hash(uid_b)[:8])
    np.testing.assert_array_equal(got_b.volume.array, vb.array)
    assert got_b.info.series_uid_hash == series_uid_hash(uid_b)
    with pytest.raises(ScanError, match="2 DICOM series") as info:
        load_scan(both)
    # the listing helps to choose without the descriptions, which may hold a name
    line = info.value.one_line()
    assert "desc a" not in line and "desc b" not in line
    # each candidate by the hash --series takes (a full UID is 60 characters), with facts
    assert f"{series_uid_hash(uid_a)} (CT, axial, 12 files, 20×18 px of 0.8×0.8 mm" in line, line
    assert f"{series_uid_hash(uid_b)} (CT, axial, 12 files" in line, line


def test_single_file_loads_its_series(tmp_path: Path) -> None:
    vol, files = _series(tmp_path, seed=3)
    scan = load_scan(files[4])
    assert scan.volume.shape == vol.shape
    np.testing.assert_array_equal(scan.volume.array, vol.array)


def test_non_image_files_are_ignored_and_reported(tmp_path: Path) -> None:
    vol, files = _series(tmp_path, seed=4)
    (files[0].parent / "readme.txt").write_text("exported by PACS")
    sub = files[0].parent / "extra"
    sub.mkdir()
    (sub / "thumbs.db").write_bytes(b"\x00" * 50)
    scan = load_scan(files[0].parent)
    np.testing.assert_array_equal(scan.volume.array, vol.array)
    joined = " ".join(scan.info.warnings)
    assert "2 files" in joined and "readme.txt" in joined


def test_gaps_between_thin_slices_are_accepted_with_warning(tmp_path: Path) -> None:
    vol, files = _series(tmp_path, seed=5)  # 1.25 mm apart
    for f in files:

        def thin(ds: pydicom.Dataset) -> None:
            ds.SliceThickness = 0.75

        _edit(f, thin)
    scan = load_scan(files[0].parent)
    assert scan.volume.spacing_mm[2] == pytest.approx(1.25, abs=1e-6)
    assert any("gaps" in w and "0.5 mm" in w for w in scan.info.warnings)


def test_small_position_rounding_is_tolerated(tmp_path: Path) -> None:
    # Positions rounded to 0.01 mm (as some scanners write them) are still uniform.
    vol, files = _series(tmp_path, seed=6, affine="oblique")
    for f in files:

        def round_ipp(ds: pydicom.Dataset) -> None:
            ds.ImagePositionPatient = [round(float(v), 2) for v in ds.ImagePositionPatient]

        _edit(f, round_ipp)
    scan = load_scan(files[0].parent)
    np.testing.assert_array_equal(scan.volume.array, vol.array)
    # Origin moves by at most the rounding (0.005 mm per coordinate).
    np.testing.assert_allclose(scan.volume.affine[:3, 3], vol.affine[:3, 3], atol=0.0051)


def test_identical_copy_of_a_slice_is_dropped_with_warning(tmp_path: Path) -> None:
    vol, files = _series(tmp_path, seed=9)
    shutil.copy(files[5], files[5].with_name("again.dcm"))  # exported twice
    scan = load_scan(files[0].parent)
    np.testing.assert_array_equal(scan.volume.array, vol.array)
    assert any("same image" in w and "again.dcm" in w for w in scan.info.warnings)


@pytest.mark.parametrize(("offset_mm", "ok"), [(0.04, True), (-0.09, True), (0.3, False)])
def test_slice_position_tolerance(offset_mm: float, ok: bool, tmp_path: Path) -> None:
    # 1.25 mm slices: tolerance min(0.1 mm, 10 % of 1.25 mm) = 0.1 mm off the fitted grid
    # (the fit absorbs a little of the offset, so 0.09 mm on one slice stays inside).
    vol, files = _series(tmp_path, seed=10)

    def nudge(ds: pydicom.Dataset) -> None:
        ipp = [float(v) for v in ds.ImagePositionPatient]
        ipp[2] += offset_mm
        ds.ImagePositionPatient = ipp

    _edit(files[6], nudge)
    if ok:
        scan = load_scan(files[0].parent)
        np.testing.assert_array_equal(scan.volume.array, vol.array)
        # The grid absorbs the jitter: spacing within 0.01 mm of the truth.
        assert scan.volume.spacing_mm[2] == pytest.approx(1.25, abs=0.01)
    else:
        with pytest.raises(ScanError, match="non-uniform slice spacing"):
            load_scan(files[0].parent)


def test_folder_sha256_ignores_names_and_tracks_content(tmp_path: Path) -> None:
    vol, files = _series(tmp_path, seed=8)
    h1 = load_scan(files[0].parent).info.sha256
    for f in files:
        f.rename(f.with_name("renamed_" + f.name))
    folder = files[0].parent
    assert load_scan(folder).info.sha256 == h1
    first = sorted(folder.iterdir())[0]
    data = bytearray(first.read_bytes())
    data[-1] ^= 1  # flip one bit of pixel data
    first.write_bytes(bytes(data))
    assert load_scan(folder).info.sha256 != h1
    manual = hashlib.sha256(
        "".join(
            sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir())
        ).encode()
    ).hexdigest()
    assert load_scan(folder).info.sha256 == manual


def test_too_many_files_is_refused_early(tmp_path: Path) -> None:
    from twinsep.io import LoadParams

    vol, files = _series(tmp_path, seed=12)
    with pytest.raises(ScanError, match="more than 5 files"):
        load_scan(files[0].parent, params=LoadParams(max_dicom_files=5))
    assert (
        load_scan(files[0].parent, params=LoadParams(max_dicom_files=12)).volume.shape == vol.shape
    )


def test_writer_is_deterministic(tmp_path: Path) -> None:
    vol = make_volume("oblique", seed=9)
    a = write_dicom_series(vol, tmp_path / "a", patient_name="X^Y")
    b = write_dicom_series(vol, tmp_path / "b", patient_name="X^Y")
    for fa, fb in zip(a, b, strict=True):
        assert fa.read_bytes() == fb.read_bytes()
    c = write_dicom_series(vol, tmp_path / "c", patient_name="Other^Name")
    assert pydicom.dcmread(c[0]).SeriesInstanceUID != pydicom.dcmread(a[0]).SeriesInstanceUID


def test_writer_refuses_non_empty_folder(tmp_path: Path) -> None:
    vol = make_volume("oblique")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    from twinsep.errors import OutputError

    with pytest.raises(OutputError, match="not an empty folder"):
        write_dicom_series(vol, tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "x"


def test_written_series_is_valid_ct(tmp_path: Path) -> None:
    vol = make_volume("lps_axial")
    files = write_dicom_series(vol, tmp_path / "s")
    ds = pydicom.dcmread(files[0])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.Rows == vol.shape[1] and ds.Columns == vol.shape[0]
    assert ds.RescaleType == "HU" and float(ds.RescaleSlope) == 1.0
    # Patient axial slices: IOP in LPS is (1,0,0),(0,1,0) for an i->L, j->P volume.
    np.testing.assert_allclose([float(v) for v in ds.ImageOrientationPatient], [1, 0, 0, 0, 1, 0])
    assert len({pydicom.dcmread(f).SOPInstanceUID for f in files}) == len(files)


def test_float_volume_quantised_within_half_a_step(tmp_path: Path) -> None:
    # Non-integer data are stored as int16 with a slope of range/65535: the error after
    # reading back must be at most half that step (plus float32 rounding).
    rng = np.random.default_rng(13)
    arr = rng.uniform(-1.5, 2.5, size=(12, 10, 6)).astype(np.float32)
    vol = Volume(arr, np.diag([1.0, 1.0, 2.0, 1.0]))
    write_dicom_series(vol, tmp_path / "f", modality="MR")
    got = load_scan(tmp_path / "f").volume.array
    step = float(arr.max() - arr.min()) / 65535.0
    assert got.dtype == np.float32
    assert float(np.abs(got - arr).max()) <= step / 2 + 1e-6
