"""``.img`` / ``.hdr`` files that are not halves of a NIfTI/Analyze pair.

Until session 29 every ``.img`` was taken for a pair's voxels: a UDF or ISO 9660 disc
image named ``study.img`` was "the header study.hdr of this NIfTI/Analyze pair is
missing", a DICOM file named ``.img`` the same, and a ``.img`` beside an ENVI or
Interfile header was refused in the header's name as "not a NIfTI file"
(``twinsep.io.pair_content``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.errors import ScanError
from twinsep.io import load_scan, write_dicom_series
from twinsep.volume import Volume

_AFFINE = np.diag([0.8, 0.8, 2.0, 1.0])


def _ct() -> np.ndarray:
    return np.random.default_rng(11).integers(-1000, 1500, size=(16, 14, 10)).astype(np.int16)


def _refused(path: Path) -> str:
    with pytest.raises(ScanError) as info:
        load_scan(path)
    line = info.value.one_line()
    assert "\n" not in line and line.startswith(str(path)), line
    return line


@pytest.mark.parametrize(("magic", "name"), [(b"BEA01", "UDF"), (b"CD001", "ISO 9660")])
def test_disc_image_named_img(tmp_path: Path, magic: bytes, name: str) -> None:
    raw = bytearray(40000)
    raw[32769:32774] = magic
    p = tmp_path / "study.img"
    p.write_bytes(bytes(raw))
    line = _refused(p)
    assert f"disc image ({name}" in line and "study.hdr" not in line, line


def test_ge_genesis_file_named_img(tmp_path: Path) -> None:
    p = tmp_path / "I.001.img"
    p.write_bytes(b"IMGF" + bytes(3000))
    assert "GE Genesis" in _refused(p)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ENVI\nsamples = 10\nlines = 10\nbands = 25\n", "an ENVI header"),
        ("!INTERFILE :=\n!imaging modality := nucmed\n", "an Interfile header"),
        ("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 10 +X 10\n", "a Radiance HDR picture"),
    ],
)
def test_foreign_header_is_named_from_either_file(tmp_path: Path, text: str, words: str) -> None:
    hdr, img = tmp_path / "x.hdr", tmp_path / "x.img"
    hdr.write_text(text)
    img.write_bytes(bytes(5000))
    assert _refused(hdr).startswith(f"{hdr}: {words}")
    line = _refused(img)  # the file given, then the header's name
    assert line.startswith(f"{img}: its header x.hdr is {words}"), line


def test_img_without_header_says_what_is_missing(tmp_path: Path) -> None:
    p = tmp_path / "voxels.img"
    p.write_bytes(bytes(5000))
    line = _refused(p)
    assert "no header voxels.hdr beside it" in line and "copy the pair together" in line, line


def test_scans_named_img_are_read_by_their_content(tmp_path: Path) -> None:
    ct = _ct()
    # a DICOM series whose files are named .img (the name of some old exports)
    files = write_dicom_series(Volume(ct, _AFFINE), tmp_path / "s")
    for f in files:
        f.rename(f.with_suffix(".img"))
    scan = load_scan(files[0].with_suffix(".img"))
    assert scan.info.format == "dicom" and scan.info.n_files == len(files)
    # a single-file NIfTI named .img; an NRRD named .img
    single = tmp_path / "single.nii"
    nib.save(nib.Nifti1Image(ct, _AFFINE), str(single))
    shutil.copy(single, tmp_path / "single.img")
    one = load_scan(tmp_path / "single.img")
    np.testing.assert_array_equal(np.asarray(one.volume.array), ct)
    import SimpleITK as sitk

    sitk.WriteImage(sitk.GetImageFromArray(ct.transpose(2, 1, 0)), str(tmp_path / "n.nrrd"))
    shutil.copy(tmp_path / "n.nrrd", tmp_path / "n.img")
    assert load_scan(tmp_path / "n.img").info.format == "nrrd"


def test_pair_with_voxels_looking_like_raw_dicom_is_still_a_pair(tmp_path: Path) -> None:
    # a pair's raw voxels may start like preamble-less DICOM (08 00 .. 00): not guessed
    ct = _ct()
    ct[0, 0, 0], ct[1, 0, 0] = 8, 5
    nib.save(nib.Nifti1Pair(ct, _AFFINE), str(tmp_path / "pair.img"))
    assert (tmp_path / "pair.img").read_bytes()[:4] == b"\x08\x00\x05\x00"
    for name in ("pair.img", "pair.hdr"):
        scan = load_scan(tmp_path / name)
        assert scan.info.n_files == 2
        np.testing.assert_array_equal(np.asarray(scan.volume.array), ct)
        assert not any("bytes more" in w for w in scan.info.warnings)


def test_img_larger_than_its_header_says_is_warned(tmp_path: Path) -> None:
    ct = _ct()
    nib.save(nib.Nifti1Pair(ct, _AFFINE), str(tmp_path / "pair.img"))
    with open(tmp_path / "pair.img", "ab") as fh:
        fh.write(bytes(1000))
    scan = load_scan(tmp_path / "pair.hdr")
    np.testing.assert_array_equal(np.asarray(scan.volume.array), ct)
    (note,) = [w for w in scan.info.warnings if "bytes more" in w]
    assert note.startswith("pair.img holds 1000 bytes more than its header pair.hdr"), note
