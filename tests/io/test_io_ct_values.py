"""A CT whose values rise above anything a CT holds carries a wrong value scaling.

Red-team round 6 left it open: a NIfTI int16 CT with ``scl_slope`` 1e6 reads
-1e9..1.5e9 and was "guessed as CT from the value range" and planned (every tissue above
air then reads as bone). ``io.checks.check_ct_values`` refuses a CT (by its DICOM tag or
guessed) above ``LoadParams.ct_highest_hu`` (65 535: a CT's pixels are 16-bit), in one
line naming the range and the scaling fields.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from twinsep.errors import ScanError
from twinsep.io import checks, load_scan, write_dicom_series
from twinsep.volume import Volume

_AFFINE = np.diag([0.8, 0.8, 2.0, 1.0])


def _ct(shape: tuple[int, int, int] = (16, 14, 10)) -> np.ndarray:
    return np.random.default_rng(7).integers(-1000, 1500, size=shape).astype(np.int16)


def _scaled(path: Path, arr: np.ndarray, slope: float, inter: float = 0.0) -> Path:
    img = nib.Nifti1Image(arr, _AFFINE)
    img.header.set_slope_inter(slope, inter)
    nib.save(img, str(path))
    return path


@pytest.mark.parametrize("slope", [1e6, -1e6, 100.0])
def test_absurd_value_scaling_is_refused(tmp_path: Path, slope: float) -> None:
    ct = _ct()
    p = _scaled(tmp_path / "scaled.nii", ct, slope)
    with pytest.raises(ScanError) as info:
        load_scan(p)
    line = info.value.one_line()
    assert "\n" not in line and line.startswith(str(p)), line
    ends = [float(np.float32(v) * np.float32(slope)) for v in (ct.min(), ct.max())]
    lo, hi = sorted(ends)
    assert f"values {lo:g}..{hi:g} " in line, line
    assert "above anything a CT holds" in line and "scl_slope" in line, line
    assert "an MR's intensities are not negative" in line, line  # guessed, so both said


def test_real_ct_ranges_still_load(tmp_path: Path) -> None:
    # a CT stored unsigned with the usual intercept: its top value is 65535 - 1024 HU
    stored = (_ct() + 1024).astype(np.uint16)
    stored[3, 4, 5] = 65535
    scan = load_scan(_scaled(tmp_path / "u16.nii", stored, 1.0, -1024.0))
    assert scan.info.modality == "CT" and scan.info.value_range[1] == pytest.approx(64511.0)
    # an extended CT scale for metal, stored x10: up to 30 710 HU
    tenth = (_ct() // 10).astype(np.int16)
    tenth[3, 4, 5] = 3071
    scan = load_scan(_scaled(tmp_path / "x10.nii", tenth, 10.0))
    assert scan.info.modality == "CT" and scan.info.value_range[1] == pytest.approx(30710.0)


def test_a_bright_mr_is_not_refused(tmp_path: Path) -> None:
    # MR intensities are arbitrary units: a float MR in the billions is no CT and loads
    mr = np.random.default_rng(3).uniform(0, 1.5e9, size=(16, 14, 10)).astype(np.float32)
    p = tmp_path / "mr.nii.gz"
    nib.save(nib.Nifti1Image(mr, _AFFINE), str(p))
    scan = load_scan(p)
    assert scan.info.modality == "MR" and scan.info.modality_guessed


def test_dicom_ct_with_absurd_rescale_slope_is_refused(tmp_path: Path) -> None:
    files = write_dicom_series(Volume(_ct((16, 16, 6)), _AFFINE), tmp_path / "series")
    for f in files:
        ds = pydicom.dcmread(f)
        ds.RescaleSlope = "1000000"
        ds.save_as(f, enforce_file_format=True)
    with pytest.raises(ScanError) as info:
        load_scan(tmp_path / "series")
    line = info.value.one_line()
    assert line.startswith(str(tmp_path / "series")) and "CT values reach" in line, line
    assert "RescaleSlope" in line and "MR" not in line, line


def test_check_ct_values_bound() -> None:
    p = checks.LoadParams()
    checks.check_ct_values(-1024.0, p.ct_highest_hu, "x.nii", guessed=True, params=p)
    with pytest.raises(ScanError):
        checks.check_ct_values(-1024.0, p.ct_highest_hu + 1.0, "x.nii", guessed=True, params=p)


def _mr_with_overshoot(n_below: int) -> np.ndarray:
    """An MR-like head (positive, 9000 +- 300 inside an ellipsoid) with ``n_below`` voxels
    at its edge pushed to -610, as an interpolator's overshoot leaves them."""
    rng = np.random.default_rng(4)
    ii, jj, kk = np.mgrid[:32, :32, :20]
    inside = ((ii - 16) / 13) ** 2 + ((jj - 16) / 13) ** 2 + ((kk - 10) / 8) ** 2 < 1
    mr = np.where(inside, 9000.0, 40.0) + rng.normal(0, 300, inside.shape)
    mr = np.abs(mr).astype(np.int16)
    edge = np.argwhere(inside & ~np.roll(inside, 1, axis=0))[:n_below]
    mr[tuple(edge.T)] = -610
    return mr


def test_mr_with_a_few_overshooting_voxels_is_not_guessed_ct(tmp_path: Path) -> None:
    # nibabel's anatomical.nii (-610..30393, 3 of 33 825 voxels below -500) was "CT"
    mr = _mr_with_overshoot(12)
    p = tmp_path / "t1.nii.gz"
    nib.save(nib.Nifti1Image(mr, _AFFINE), str(p))
    scan = load_scan(p)
    assert scan.info.modality == "MR" and scan.info.modality_guessed
    (note,) = [w for w in scan.info.warnings if w.startswith("modality guessed as MR")]
    assert f"-610..{mr.max()}" in note and "at or below -500" in note, note
    # the same head with air around it, as a CT has it (40 -> -1000): CT
    ct = np.where(mr == 40, -1000, mr).astype(np.int16)
    ct[mr < 200] = -1000
    nib.save(nib.Nifti1Image(ct, _AFFINE), str(tmp_path / "ct.nii.gz"))
    assert load_scan(tmp_path / "ct.nii.gz").info.modality == "CT"


def test_air_share_rule_on_nibabel_anatomical() -> None:
    path = Path(nib.__file__).parent / "tests" / "data" / "anatomical.nii"
    if not path.is_file():
        pytest.skip("nibabel's test data are not installed")
    scan = load_scan(path)
    assert scan.info.value_range[0] < -500 and scan.info.modality == "MR"


def test_air_fraction_counts_slabs_of_either_memory_order() -> None:
    a = np.zeros((40, 30, 64), np.int16)
    a[:, :, :16] = -1000  # a quarter of the volume at air level, along the last axis
    assert checks.air_fraction(a, -500.0) == pytest.approx(0.25, abs=0.02)
    assert checks.air_fraction(np.asfortranarray(a), -500.0) == pytest.approx(0.25, abs=0.02)
    b = np.zeros((64, 30, 40), np.int16)
    b[:16] = -1000  # along the first axis
    assert checks.air_fraction(b, -500.0) == pytest.approx(0.25, abs=0.02)
