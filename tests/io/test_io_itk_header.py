"""Damaged MetaImage / NRRD header geometry: one plain line, nothing from ITK on stderr.

Until session 29 ITK answered in its own words: spacing 0 was "cannot read voxel data:
Refusing to change spacing from [1, 1, 1] to [0, 0.8, 2]", two parallel axes "cannot read
voxel data: 0 0 1", a header without ``DimSize`` printed four MetaIO lines on file
descriptor 2 and then "Reason: Success", and a ``nan`` origin was read as 0 without a
word (``twinsep.io.itk_header``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from twinsep.errors import ScanError
from twinsep.io import load_scan

_VOXELS = np.random.default_rng(5).integers(-1000, 1500, size=(10, 14, 16)).astype("<i2")

_MHA = {
    "ObjectType": "Image",
    "NDims": "3",
    "BinaryData": "True",
    "BinaryDataByteOrderMSB": "False",
    "CompressedData": "False",
    "TransformMatrix": "1 0 0 0 1 0 0 0 1",
    "Offset": "0 0 0",
    "ElementSpacing": "0.8 0.8 2",
    "DimSize": "16 14 10",
    "ElementType": "MET_SHORT",
}


def _mha(path: Path, **fields: str | None) -> Path:
    keys = dict(_MHA)
    for key, value in fields.items():
        if value is None:
            keys.pop(key, None)
        else:
            keys[key] = value
    text = "".join(f"{k} = {v}\n" for k, v in keys.items()) + "ElementDataFile = LOCAL\n"
    path.write_bytes(text.encode() + _VOXELS.tobytes())
    return path


def _nrrd(path: Path, directions: str) -> Path:
    head = (
        "NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\n"
        f"sizes: 16 14 10\nspace directions: {directions}\nendian: little\nencoding: raw\n"
        "space origin: (0,0,0)\n\n"
    )
    path.write_bytes(head.encode() + _VOXELS.tobytes())
    return path


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"ElementSpacing": "0 0.8 2"}, ("ElementSpacing = 0 0.8 2", "voxel spacing")),
        ({"ElementSpacing": "nan 0.8 2"}, ("ElementSpacing = nan 0.8 2", "voxel spacing")),
        ({"ElementSpacing": "0.8 2"}, ("ElementSpacing = 0.8 2", "each of the 3 axes")),
        ({"ElementSpacing": None, "ElementSize": "0.8 0 2"}, ("ElementSize = 0.8 0 2",)),
        ({"TransformMatrix": "1 0 0 1 0 0 0 0 1"}, ("not a rotation", "parallel")),
        ({"TransformMatrix": "nan 0 0 0 1 0 0 0 1"}, ("TransformMatrix = nan", "3 x 3")),
        ({"TransformMatrix": "1 0 0"}, ("TransformMatrix = 1 0 0", "3 x 3")),
        ({"Offset": "nan 0 0"}, ("origin", "Offset = nan 0 0")),
        ({"DimSize": None}, ("no DimSize",)),
        ({"NDims": "4"}, ("DimSize = 16 14 10", "NDims = 4")),
        ({"DimSize": "16 x 10"}, ("DimSize = 16 x 10",)),
        ({"DimSize": "16 0 10"}, ("size of 0 or less",)),
        ({"DimSize": "16 -14 10"}, ("size of 0 or less",)),
        ({"ElementType": "MET_FOO"}, ("ElementType",)),
    ],
)
def test_damaged_metaimage_header_is_one_plain_line(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    fields: dict[str, str | None],
    words: tuple[str, ...],
) -> None:
    p = _mha(tmp_path / "ct.mha", **fields)
    with pytest.raises(ScanError) as info:
        load_scan(p)
    line = info.value.one_line()
    assert "\n" not in line and line.startswith(str(p)), line
    for word in words:
        assert word in line, line
    assert "Refusing" not in line and "Reason: Success" not in line, line
    assert capfd.readouterr().err == ""  # MetaIO printed four lines here


@pytest.mark.parametrize(
    ("directions", "words"),
    [
        ("(0,0,0) (0,0.8,0) (0,0,2)", ("voxel spacing", "space directions: (0,0,0)")),
        ("(0.8,0,0) (0.8,0,0) (0,0,2)", ("not a rotation", "parallel")),
    ],
)
def test_damaged_nrrd_directions_are_one_plain_line(
    tmp_path: Path, directions: str, words: tuple[str, ...]
) -> None:
    p = _nrrd(tmp_path / "ct.nrrd", directions)
    with pytest.raises(ScanError) as info:
        load_scan(p)
    line = info.value.one_line()
    assert line.startswith(str(p)) and "Refusing" not in line, line
    for word in words:
        assert word in line, line


def test_good_headers_still_load(tmp_path: Path) -> None:
    ref = load_scan(_mha(tmp_path / "ct.mha"))
    assert ref.info.spacing_mm == pytest.approx((0.8, 0.8, 2.0))
    np.testing.assert_array_equal(np.asarray(ref.volume.array), _VOXELS.transpose(2, 1, 0))
    # a negative ElementSpacing is read by ITK as the axis reversed: kept as it was
    flipped = load_scan(_mha(tmp_path / "neg.mha", ElementSpacing="-0.8 0.8 2"))
    assert flipped.volume.affine[0, 0] == pytest.approx(-ref.volume.affine[0, 0])
    (note,) = [w for w in flipped.info.warnings if "negative voxel size" in w]
    assert "ElementSpacing = -0.8 0.8 2" in note and "axis i reversed" in note, note
    assert not any("negative voxel size" in w for w in ref.info.warnings)
    # what SimpleITK writes (with its own key order and fields) reads the same voxels
    img = sitk.GetImageFromArray(_VOXELS)
    img.SetSpacing((0.8, 0.8, 2.0))
    sitk.WriteImage(img, str(tmp_path / "itk.mha"))
    sitk.WriteImage(img, str(tmp_path / "itk.nrrd"))
    for name in ("itk.mha", "itk.nrrd"):
        scan = load_scan(tmp_path / name)
        np.testing.assert_array_equal(np.asarray(scan.volume.array), _VOXELS.transpose(2, 1, 0))


def test_what_itk_prints_is_captured_and_replaces_an_empty_reason(
    capfd: pytest.CaptureFixture[str],
) -> None:
    import os

    from twinsep.io import formats, itk_header

    with itk_header.captured_stderr() as printed:
        os.write(2, b"DimSize required and not defined.\nMetaObject: Read: MET_Read Failed\n")
    assert printed.first_line() == "DimSize required and not defined."
    assert capfd.readouterr().err == ""
    os.write(2, b"after\n")  # descriptor 2 is back
    assert capfd.readouterr().err == "after\n"
    empty = RuntimeError("Exception thrown in SimpleITK\nReason: Success")
    assert formats._itk_reason(empty, printed.first_line()) == "DimSize required and not defined"
    numbers = RuntimeError("0 0 1")
    assert formats._itk_reason(numbers, "") == "0 0 1"
    told = RuntimeError("Description: ITK ERROR: bzip2 not available")
    assert formats._itk_reason(told, "something printed") == "ITK ERROR: bzip2 not available"
