"""NIfTI files that made ITK print on the process's stderr (session 26 sweep).

The fast path reads unscaled integer NIfTI voxels with SimpleITK, whose C++ code writes
warnings straight to file descriptor 2: "has unexpected scales in sform" (an sform whose
column lengths differ from pixdim by more than 1e-3 mm: real MR/CT files do this, and a
negative pixdim, which NIfTI does not allow) and niftilib's "** ERROR ... bad dim[0]"
(a NIfTI-2 file, which it then refuses). Those lines stood beside the CLI's output, and
beside its one-line message when the file was then refused. Such files now go to nibabel
alone; the voxels and affine are the same, and a negative pixdim is warned about.
"""

from __future__ import annotations

import gzip
import io
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.io import load_scan
from twinsep.io.formats import _itk_reads_quietly

_RNG = np.random.default_rng(11)
_CT = _RNG.integers(-1000, 1500, (12, 10, 9)).astype(np.int16)
_AFFINE = np.array([[0.9, 0, 0, -5.0], [0, 1.1, 0, 7.0], [0, 0, 2.0, -30.0], [0, 0, 0, 1.0]])


def _save(path: Path, affine: np.ndarray = _AFFINE, klass: type = nib.Nifti1Image) -> Path:
    nib.save(klass(_CT, affine), str(path))
    return path


def _negate_pixdim_x(path: Path) -> Path:
    raw = bytearray(gzip.decompress(path.read_bytes()))
    value = struct.unpack_from("<f", raw, 80)[0]  # pixdim[1] of a NIfTI-1 header
    struct.pack_into("<f", raw, 80, -abs(value))
    path.write_bytes(gzip.compress(bytes(raw)))
    return path


def _loaded_quietly(path: Path, capfd: pytest.CaptureFixture[str]) -> list[str]:
    capfd.readouterr()
    scan = load_scan(path)
    assert capfd.readouterr().err == ""  # nothing on file descriptor 2
    np.testing.assert_array_equal(scan.volume.array, _CT)
    np.testing.assert_allclose(scan.volume.affine, _AFFINE, atol=1e-5)
    return [w for w in scan.info.warnings if "modality" not in w]


def test_a_negative_pixdim_is_read_quietly_and_warned_about(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = _negate_pixdim_x(_save(tmp_path / "ct.nii.gz"))
    (warning,) = _loaded_quietly(path, capfd)
    assert "negative voxel sizes (pixdim -0.9 1.1 2)" in warning and "the sform" in warning


def test_sform_scales_off_the_voxel_sizes_are_read_quietly(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The sform's first column 2e-3 mm longer than pixdim (ITK warns above 1e-3)."""
    img = nib.Nifti1Image(_CT, None)
    off = _AFFINE.copy()
    off[0, 0] += 0.002
    img.set_qform(_AFFINE, code=1)
    img.set_sform(off, code=1)
    img.header["pixdim"][1:4] = [0.9, 1.1, 2.0]
    path = tmp_path / "ct.nii.gz"
    nib.save(img, str(path))
    capfd.readouterr()
    scan = load_scan(path)
    assert capfd.readouterr().err == ""
    np.testing.assert_array_equal(scan.volume.array, _CT)
    np.testing.assert_allclose(scan.volume.affine, off, atol=1e-5)  # the sform, as before


def test_a_nifti2_file_is_read_quietly(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert _loaded_quietly(_save(tmp_path / "ct.nii", klass=nib.Nifti2Image), capfd) == []


def test_ordinary_files_keep_the_fast_path(tmp_path: Path) -> None:
    """The check does not send the usual CT to the slower reader (bench_load)."""
    path = _save(tmp_path / "ct.nii.gz")
    head = gzip.decompress(path.read_bytes())[:348]
    header = nib.Nifti1Header.from_fileobj(io.BytesIO(head))
    assert _itk_reads_quietly(nib.Nifti1Image, header, head)
