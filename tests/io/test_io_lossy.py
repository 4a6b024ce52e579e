"""Lossily compressed DICOM images are loaded with a warning (red-team round 6).

Before: a JPEG 2000 series compressed with the irreversible wavelet (values up to 2596
HU off on this noise volume), a JPEG-LS near-lossless one and a series whose header
says LossyImageCompression "01" loaded without a word. Lossless syntaxes (JPEG 2000
reversible under the same UID, JPEG-LS lossless) must not be warned about.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import gdcm
import numpy as np
import pydicom
import pytest

from twinsep.errors import ScanError
from twinsep.io import load_scan, write_dicom_series
from twinsep.io.enhanced_write import write_enhanced_dicom
from twinsep.io.lossy import lossy_compression
from twinsep.volume import Volume

_RNG = np.random.default_rng(28)
_CT = _RNG.integers(-1000, 1500, (16, 14, 6)).astype(np.int16)
_AFFINE = np.diag([0.8, 0.8, 2.0, 1.0])


def _lossy_warnings(path: Path) -> list[str]:
    return [w for w in load_scan(path).info.warnings if "lossily" in w]


def _j2k(reversible: bool) -> gdcm.ImageCodec:
    codec = gdcm.JPEG2000Codec()
    codec.SetReversible(reversible)
    if not reversible:
        codec.SetRate(0, 10)
    return codec


def _jls(near: int) -> gdcm.ImageCodec:
    codec = gdcm.JPEGLSCodec()
    codec.SetLossless(near == 0)
    if near:
        codec.SetLossyError(near)
    return codec


def _recoded_files(files: list[Path], out: Path, syntax: int, codec: gdcm.ImageCodec) -> Path:
    """``files`` re-encoded by GDCM into ``out`` (``codec`` is kept alive by the caller:
    GDCM holds a bare pointer to it)."""
    out.mkdir()
    for src in files:
        reader = gdcm.ImageReader()
        reader.SetFileName(str(src))
        assert reader.Read()
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(syntax))
        change.SetUserCodec(codec)
        change.SetInput(reader.GetImage())
        assert change.Change()
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(out / src.name))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        assert writer.Write()
    return out


def _recoded(tmp_path: Path, syntax: int, codec: Callable[[], gdcm.ImageCodec]) -> Path:
    """The series re-encoded by GDCM (which, like many encoders, sets no LossyImageCompression)."""
    user_codec = codec()
    files = write_dicom_series(Volume(_CT, _AFFINE), tmp_path / "src")
    out = _recoded_files(files, tmp_path / "recoded", syntax, user_codec)
    assert "LossyImageCompression" not in pydicom.dcmread(out / "IM00001.dcm")
    return out


@pytest.mark.parametrize(
    ("syntax", "codec", "said"),
    [
        (gdcm.TransferSyntax.JPEG2000, lambda: _j2k(False), "JPEG 2000 with the irreversible 9-7"),
        (gdcm.TransferSyntax.JPEGLSNearLossless, lambda: _jls(2), "JPEG-LS near-lossless (NEAR 2)"),
    ],
)
def test_lossy_codestreams_are_warned_about(
    tmp_path: Path, syntax: int, codec: Callable[[], gdcm.ImageCodec], said: str
) -> None:
    folder = _recoded(tmp_path, syntax, codec)
    scan = load_scan(folder)
    assert not np.array_equal(scan.volume.array, _CT)  # the values did change
    (warning,) = _lossy_warnings(folder)
    assert f"compressed lossily ({said}" in warning and "6 of 6 files" in warning


@pytest.mark.parametrize(
    ("syntax", "codec"),
    [
        (gdcm.TransferSyntax.JPEG2000, lambda: _j2k(True)),  # reversible, same UID as lossy
        (gdcm.TransferSyntax.JPEGLSNearLossless, lambda: _jls(0)),  # NEAR 0 is lossless
        (gdcm.TransferSyntax.JPEGLSLossless, lambda: _jls(0)),
    ],
)
def test_lossless_codestreams_are_not(
    tmp_path: Path, syntax: int, codec: Callable[[], gdcm.ImageCodec]
) -> None:
    folder = _recoded(tmp_path, syntax, codec)
    np.testing.assert_array_equal(load_scan(folder).volume.array, _CT)
    assert _lossy_warnings(folder) == []


def test_the_header_flag_is_read_with_its_ratio_and_method(tmp_path: Path) -> None:
    """Decompressed since (uncompressed now), so only the flag tells; a method that is
    no defined term (free text: here a name) is never shown."""
    files = write_dicom_series(Volume(_CT, _AFFINE), tmp_path / "ct")
    assert _lossy_warnings(tmp_path / "ct") == []
    for i, path in enumerate(files):
        ds = pydicom.dcmread(path)
        ds.LossyImageCompression = "01" if i < 4 else "00"
        ds.LossyImageCompressionRatio = ["12.5"]
        ds.LossyImageCompressionMethod = ["ISO_15444_1", "QUIMBY"]
        ds.save_as(path, enforce_file_format=True)
    (warning,) = _lossy_warnings(tmp_path / "ct")
    assert "(LossyImageCompression 01 (ratio 12.5, JPEG 2000): 4 of 6 files)" in warning
    assert "QUIMBY" not in warning


def test_an_enhanced_ct_flagged_lossy_is_warned_about(tmp_path: Path) -> None:
    path = write_enhanced_dicom(Volume(_CT, _AFFINE), tmp_path / "ct.dcm")
    assert _lossy_warnings(path) == []
    ds = pydicom.dcmread(path)
    ds.LossyImageCompression = "01"
    ds.save_as(path, enforce_file_format=True)
    (warning,) = _lossy_warnings(path)
    assert "(LossyImageCompression 01: the file)" in warning


_PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
_REAL_DATA = Path(os.environ.get("TWINSEP_DATA") or Path(__file__).resolve().parents[2] / ".data")


@pytest.mark.parametrize(
    ("where", "name", "said"),
    [
        ("pydicom", "JPEG2000.dcm", "JPEG 2000 with the irreversible 9-7 wavelet"),
        ("pydicom", "MR_small_jp2klossless.dcm", None),
        ("pydicom", "JPEGLSNearLossless_16.dcm", "JPEG-LS near-lossless (NEAR 2)"),
        ("pydicom", "MR_small_jpeg_ls_lossless.dcm", None),
        ("pydicom", "JPEG-lossy.dcm", "JPEG Extended"),
        ("pydicom", "MR_small_RLE.dcm", None),
        # real MR, the same image in three forms (pydicom-data, fetched by make realdata)
        ("pydicom-data", "MR2_J2KI.dcm", "JPEG 2000 with the irreversible 9-7 wavelet"),
        ("pydicom-data", "MR2_J2KR.dcm", None),
        ("pydicom-data", "MR2_UNCI.dcm", "LossyImageCompression 01 (ratio 18, JPEG 2000)"),
    ],
)
def test_other_projects_files_are_judged_right(where: str, name: str, said: str | None) -> None:
    """Files encoded by other tools (DCMTK, GDCM, CharLS, vendors), read as the loader reads
    a header (pixel data deferred)."""
    if where == "pydicom":
        path = _PYDICOM_FILES / name
    else:
        found = sorted(_REAL_DATA.glob(f"pydicom-data/**/{name}"))
        if not found:
            pytest.skip(f"{name} not installed: run scripts/fetch_realdata.sh")
        path = found[0]
    ds = pydicom.dcmread(path, defer_size=256)
    assert lossy_compression(ds, str(ds.file_meta.TransferSyntaxUID), path) == said


def test_an_undecodable_lossy_syntax_says_what_to_ask_for(tmp_path: Path) -> None:
    """12-bit JPEG Extended (old PACS archives): GDCM encodes it, no installed decoder
    reads it; the refusal named the decoders' failure only."""
    src = write_dicom_series(Volume(_CT, _AFFINE), tmp_path / "src")
    for path in src:  # 12 stored bits, as such archives hold CT
        ds = pydicom.dcmread(path)
        stored = (ds.pixel_array.astype(np.int32) + 1024).clip(0, 4095).astype(np.uint16)
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
        ds.PixelData = stored.tobytes()
        ds.save_as(path, enforce_file_format=True)
    codec = gdcm.JPEGCodec()
    codec.SetLossless(False)
    folder = _recoded_files(
        src, tmp_path / "jpeg12", gdcm.TransferSyntax.JPEGExtendedProcess2_4, codec
    )
    with pytest.raises(ScanError) as err:
        load_scan(folder)
    line = err.value.one_line()
    assert "cannot decode pixel data (JPEG Extended" in line and "\n" not in line
    assert "ask for the series uncompressed or losslessly compressed" in line
    # the decoder pydicom would read it with (session 30: the line named none)
    assert "not installed: pylibjpeg>=2.0 and pylibjpeg-libjpeg" in line, line
