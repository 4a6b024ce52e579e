"""Short and damaged voxel data in MetaImage and NRRD files (red-team round 6).

Before: a truncated ``.mha`` printed two lines of MetaIO on stderr and was refused as "No
such file or directory"; a compressed ``.mha`` with damaged zlib data, or cut short
without ``CompressedDataSize``, and a gzip ``.nrrd`` with damaged data loaded garbage
values with exit 0 (ITK inflated what it could and did not check the stream).
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from twinsep.errors import ScanError
from twinsep.io import load_scan

_RNG = np.random.default_rng(66)
_CT = _RNG.integers(-1000, 1500, (16, 14, 10)).astype(np.int16)
_RAW = _CT.tobytes(order="F")  # x fastest, as MetaImage and NRRD store voxels
_MHA = (
    "ObjectType = Image\nNDims = 3\nDimSize = 16 14 10\nElementType = MET_SHORT\n"
    "TransformMatrix = 1 0 0 0 1 0 0 0 1\nElementSpacing = 0.8 0.8 2\n"
)
_NRRD = (
    b"NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 16 14 10\n"
    b"space directions: (0.8,0,0) (0,0.8,0) (0,0,2)\nendian: little\nencoding: gzip\n"
    b"space origin: (0,0,0)\n\n"
)


def _damaged(stream: bytes) -> bytes:
    out = bytearray(stream)
    out[200:240] = bytes(40)
    return bytes(out)


def _refused(path: Path, capfd: pytest.CaptureFixture[str], words: str) -> str:
    capfd.readouterr()
    with pytest.raises(ScanError) as err:
        load_scan(path)
    assert capfd.readouterr().err == ""  # nothing of ITK's on file descriptor 2
    line = err.value.one_line()
    assert line.startswith(str(path)) and "\n" not in line and words in line, line
    return line


def _loads_exactly(path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    scan = load_scan(path)
    assert capfd.readouterr().err == ""
    arr = scan.volume.array
    # LPS identity read as RAS: i and j reversed in the world, the voxels as stored
    assert arr.shape == _CT.shape and np.array_equal(np.asarray(arr), _CT)


def test_a_truncated_mha_is_refused_in_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ct.mha"
    path.write_bytes((_MHA + "ElementDataFile = LOCAL\n").encode() + _RAW[:1000])
    _refused(path, capfd, "truncated: the header says 4480 bytes of voxel data, but only 1000")


def test_a_truncated_raw_file_of_an_mhd_is_named(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ct.raw").write_bytes(_RAW[:3000])
    path = tmp_path / "ct.mhd"
    path.write_text(_MHA + "ElementDataFile = ct.raw\n")
    _refused(path, capfd, "only 3000 follow in ct.raw")


@pytest.mark.parametrize("size_given", [True, False])
def test_damaged_compressed_mha_data_are_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], size_given: bool
) -> None:
    """Damaged zlib data of the declared size (before: exit 0, values -32764..32767)."""
    stream = _damaged(zlib.compress(_RAW))
    size = f"CompressedDataSize = {len(stream)}\n" if size_given else ""
    path = tmp_path / "ct.mha"
    path.write_bytes(
        (_MHA + f"CompressedData = True\n{size}ElementDataFile = LOCAL\n").encode() + stream
    )
    _refused(path, capfd, "corrupt compressed voxel data")


def test_compressed_mha_cut_short_without_its_size_is_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Before: "Uncompress failed" on stderr, then exit 0 with garbage."""
    stream = zlib.compress(_RAW)
    path = tmp_path / "ct.mha"
    path.write_bytes(
        (_MHA + "CompressedData = True\nElementDataFile = LOCAL\n").encode()
        + stream[: len(stream) // 2]
    )
    _refused(path, capfd, "truncated compressed voxel data: they inflate to")


def test_damaged_gzip_nrrd_data_are_refused(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """NrrdIO stops before the gzip checksum (before: exit 0, values -18736..10207)."""
    path = tmp_path / "ct.nrrd"
    path.write_bytes(_NRRD + _damaged(gzip.compress(_RAW)))
    _refused(path, capfd, "corrupt compressed voxel data")


def test_a_detached_gzip_data_file_is_checked(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ct.raw.gz").write_bytes(_damaged(gzip.compress(_RAW)))
    path = tmp_path / "ct.nhdr"
    path.write_bytes(_NRRD.replace(b"\n\n", b"\ndata file: ct.raw.gz\n\n"))
    _refused(path, capfd, "corrupt compressed voxel data")


@pytest.mark.parametrize("layout", ["members", "zero_padding", "plain"])
def test_good_gzip_nrrd_data_still_load(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], layout: str
) -> None:
    """Concatenated gzip members (pigz, bgzip) and zero padding are valid gzip."""
    stream = {
        "members": gzip.compress(_RAW[:3000]) + gzip.compress(_RAW[3000:]),
        "zero_padding": gzip.compress(_RAW) + bytes(100),
        "plain": gzip.compress(_RAW),
    }[layout]
    path = tmp_path / "ct.nrrd"
    path.write_bytes(_NRRD + stream)
    _loads_exactly(path, capfd)


@pytest.mark.parametrize("name", ["ct.mha", "ct.mhd", "ct.nrrd"])
def test_files_itk_writes_compressed_still_load(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str
) -> None:
    img = sitk.GetImageFromArray(_CT.transpose(2, 1, 0).copy())
    img.SetSpacing((0.8, 0.8, 2.0))
    sitk.WriteImage(img, str(tmp_path / name), True)  # .mhd: with a .zraw beside it
    _loads_exactly(tmp_path / name, capfd)
