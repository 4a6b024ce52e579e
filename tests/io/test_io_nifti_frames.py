"""Damaged NIfTI frames (red-team round 6): which of sform and qform places the scan.

Before: a qform quaternion longer than 1 raised nibabel's ``ValueError`` (exit 1, "internal
error"); an sform of NaN printed eight lines of ITK's SVD on stderr before the refusal;
an all-zero sform with ``sform_code`` set was refused though the qform placed the scan;
gzip data named ``.nii`` printed niftilib's "** ERROR ... bad dim[0]".
"""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.errors import ScanError
from twinsep.io import load_scan

_RNG = np.random.default_rng(6)
_CT = _RNG.integers(-1000, 1500, (12, 10, 9)).astype(np.int16)
_AFFINE = np.array([[0.9, 0, 0, -5.0], [0, 1.1, 0, 7.0], [0, 0, 2.0, -30.0], [0, 0, 0, 1.0]])
#: The same voxels placed 15 mm further up: the frame that was used shows in the affine.
_OTHER = _AFFINE + np.array([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 15.0], [0, 0, 0, 0]])


def _save(path: Path, *, sform: np.ndarray | None, qform: np.ndarray | None) -> Path:
    img = nib.Nifti1Image(_CT, None)
    img.set_sform(sform, code=0 if sform is None else 2)
    img.set_qform(qform, code=0 if qform is None else 1)
    img.header["pixdim"][1:4] = [0.9, 1.1, 2.0]
    nib.save(img, str(path))
    return path


def _patch(path: Path, **fields: object) -> Path:
    """Set raw header fields of an uncompressed ``.nii`` (no nibabel consistency fixes)."""
    raw = bytearray(path.read_bytes())
    header = nib.Nifti1Header.from_fileobj(__import__("io").BytesIO(bytes(raw[:348])), check=False)
    for key, value in fields.items():
        header[key] = value
    raw[:348] = header.binaryblock
    path.write_bytes(bytes(raw))
    return path


def _quiet_load(path: Path, capfd: pytest.CaptureFixture[str]) -> tuple[np.ndarray, list[str]]:
    capfd.readouterr()
    scan = load_scan(path)
    assert capfd.readouterr().err == ""  # nothing on file descriptor 2
    np.testing.assert_array_equal(scan.volume.array, _CT)
    return scan.volume.affine, [w for w in scan.info.warnings if "modality" not in w]


def test_a_qform_that_is_no_rotation_is_refused_in_one_line(tmp_path: Path) -> None:
    path = _patch(
        _save(tmp_path / "ct.nii", sform=None, qform=_AFFINE),
        quatern_b=0.9,
        quatern_c=0.9,
        quatern_d=0.9,
    )
    with pytest.raises(ScanError) as err:  # was ValueError: exit 1
        load_scan(path)
    line = err.value.one_line()
    assert line.startswith(str(path)) and "\n" not in line
    assert "quaternion (b, c, d) = (0.9, 0.9, 0.9) has length 1.56" in line
    assert "and there is no sform" in line


def test_a_damaged_qform_beside_a_good_sform_is_read_from_the_sform(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = _patch(
        _save(tmp_path / "ct.nii", sform=_OTHER, qform=_AFFINE), quatern_b=0.9, quatern_c=0.9
    )
    affine, warnings = _quiet_load(path, capfd)
    np.testing.assert_allclose(affine, _OTHER, atol=1e-5)
    assert (
        len(warnings) == 1 and "qform is damaged" in warnings[0] and "sform was used" in warnings[0]
    )


@pytest.mark.parametrize("bad", ["zeros", "nan"])
def test_an_unusable_sform_is_replaced_by_the_qform(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], bad: str
) -> None:
    """An empty sform (refused as "zero voxel spacing") and a NaN one (refused after 8
    lines of ITK's SVD on stderr): the qform places the scan, with a warning."""
    path = _save(tmp_path / "ct.nii", sform=_OTHER, qform=_AFFINE)
    row = np.zeros(4) if bad == "zeros" else np.array([0.9, np.nan, 0.0, -5.0])
    _patch(
        path,
        srow_x=row,
        **({"srow_y": np.zeros(4), "srow_z": np.zeros(4)} if bad == "zeros" else {}),
    )
    affine, warnings = _quiet_load(path, capfd)
    np.testing.assert_allclose(affine, _AFFINE, atol=1e-5)  # the qform, not the sform
    assert len(warnings) == 1 and "the qform was used" in warnings[0]
    assert ("length 0" if bad == "zeros" else "NaN") in warnings[0]


def test_a_nan_sform_without_qform_is_refused_quietly(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = _patch(
        _save(tmp_path / "ct.nii", sform=_AFFINE, qform=None),
        srow_y=np.array([0.0, np.nan, 0.0, 7.0]),
    )
    capfd.readouterr()
    with pytest.raises(ScanError, match="matrix contains NaN or infinity"):
        load_scan(path)
    assert capfd.readouterr().err == ""


def test_gzip_data_named_nii_is_read_quietly(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    plain = _save(tmp_path / "plain.nii", sform=_AFFINE, qform=_AFFINE)
    path = tmp_path / "ct.nii"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    affine, warnings = _quiet_load(path, capfd)
    np.testing.assert_allclose(affine, _AFFINE, atol=1e-5)
    assert warnings == []


def test_the_qform_sform_disagreement_is_still_warned(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    affine, warnings = _quiet_load(
        _save(tmp_path / "ct.nii.gz", sform=_OTHER, qform=_AFFINE), capfd
    )
    np.testing.assert_allclose(affine, _OTHER, atol=1e-5)
    assert (
        len(warnings) == 1
        and "qform and sform disagree (the volume's corners up to 15.0 mm" in warnings[0]
    )
