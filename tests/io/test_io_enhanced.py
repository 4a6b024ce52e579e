"""Multi-frame (enhanced) DICOM: same volume as a classic series, and every refusal.

Ground truth: a generated 48³ head-like CT written both as a classic series
(``write_dicom_series``) and as one Enhanced CT file (``write_enhanced_dicom``); the
classic reader is the reference (its own tests check it against SimpleITK). Real files
from pydicom-data (``scripts/fetch_realdata.sh``) are checked against their own headers
read with pydicom; those tests skip when the files are absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from io_volumes import AFFINES, make_affine

from phi_bytes import all_bytes
from twinsep.errors import ScanError
from twinsep.io import describe_scan, load_scan, write_dicom_series
from twinsep.io.enhanced_write import write_enhanced_dicom
from twinsep.volume import LPS_TO_RAS, Volume

N = 48


def head_volume(affine_name: str, *, n: int = N, seed: int = 0) -> Volume:
    """Head-like int16 CT: air, scalp, 3-voxel skull, brain, noise; no two slices alike."""
    rng = np.random.default_rng(seed)
    c = (np.arange(n) - (n - 1) / 2) / (n / 2)
    r = np.sqrt(c[:, None, None] ** 2 + (c[None, :, None] / 1.1) ** 2 + c[None, None, :] ** 2)
    arr = np.full((n, n, n), -1000, dtype=np.int16)
    arr[r < 0.95] = 40
    arr[r < 0.85] = 1400
    arr[r < 0.72] = 35
    arr += rng.integers(-20, 21, size=arr.shape, dtype=np.int16)
    return Volume(arr, make_affine(affine_name))


@pytest.mark.parametrize("affine_name", AFFINES)
def test_enhanced_equals_classic_series(tmp_path: Path, affine_name: str) -> None:
    vol = head_volume(affine_name)
    write_dicom_series(vol, tmp_path / "classic")
    enhanced = write_enhanced_dicom(vol, tmp_path / "enhanced.dcm")
    classic = load_scan(tmp_path / "classic")
    scan = load_scan(enhanced)
    np.testing.assert_array_equal(scan.volume.array, classic.volume.array)
    # 1e-4 mm: DS strings keep 16 characters, far below a voxel; a wrong axis is mm off
    np.testing.assert_allclose(scan.volume.affine, classic.volume.affine, atol=1e-4)
    assert scan.info.format == "dicom" and scan.info.modality == "CT"
    assert scan.info.n_files == 1 and scan.volume.array.dtype == np.int16
    assert scan.volume.meta["sop_class"] == "Enhanced CT Image Storage"
    assert f"one multi-frame file, {N} frames, Enhanced CT" in describe_scan(scan)
    # every voxel keeps its world position (the classic reader flips k for left-handed input)
    ijk = np.array([5, 9, 13, 1.0])
    world = vol.affine @ ijk
    back = np.linalg.solve(scan.volume.affine, world)
    idx = tuple(int(round(v)) for v in back[:3])
    assert np.allclose(back[:3], idx, atol=1e-4)
    assert scan.volume.array[idx] == vol.array[5, 9, 13]


def test_shuffled_frames_per_frame_groups_and_rescale(tmp_path: Path) -> None:
    vol = head_volume("oblique", seed=1)
    rng = np.random.default_rng(7)
    order = [int(k) for k in rng.permutation(N)]
    # per frame: slope 0.5 or 1, intercept -1024 - k (whole), so stored values are exact
    rescale = [(0.5 if k % 2 else 1.0, -1024.0 - k) for k in order]
    path = write_enhanced_dicom(
        vol, tmp_path / "shuffled.dcm", frames=order, rescale=rescale, shared_groups=False
    )
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    first = ds.PerFrameFunctionalGroupsSequence[0]
    assert "PlaneOrientationSequence" in first  # really per frame, not shared
    assert "PlaneOrientationSequence" not in ds.SharedFunctionalGroupsSequence[0]
    scan = load_scan(path)
    assert scan.volume.array.dtype == np.float32  # slope 0.5 frames
    ref = load_scan(write_enhanced_dicom(vol, tmp_path / "plain.dcm"))
    np.testing.assert_array_equal(scan.volume.array, ref.volume.array.astype(np.float32))
    np.testing.assert_allclose(scan.volume.affine, ref.volume.affine, atol=1e-9)


def test_rle_compressed_frames_decode_to_the_same_volume(tmp_path: Path) -> None:
    from pydicom.uid import RLELossless

    vol = head_volume("oblique", n=16)
    plain = write_enhanced_dicom(vol, tmp_path / "plain.dcm", frames=[3, 1, 2, 0, *range(4, 16)])
    ds = pydicom.dcmread(plain)
    ds.compress(RLELossless)  # pydicom's own RLE encoder: the decoder path of the reader
    ds.save_as(tmp_path / "rle.dcm", enforce_file_format=True)
    a, b = load_scan(plain), load_scan(tmp_path / "rle.dcm")
    assert b.volume.meta["transfer_syntax"] == RLELossless
    np.testing.assert_array_equal(a.volume.array, b.volume.array)
    np.testing.assert_allclose(a.volume.affine, b.volume.affine, atol=1e-9)
    assert b.info.sha256 == hashlib.sha256((tmp_path / "rle.dcm").read_bytes()).hexdigest()


def test_missing_frame_position_is_refused(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=16)
    frames = [k for k in range(16) if k != 6]
    path = write_enhanced_dicom(vol, tmp_path / "gap.dcm", frames=frames)
    with pytest.raises(ScanError, match=r"missing slice.*frame 6 and frame 7.*1 slice") as e:
        load_scan(path)
    assert e.value.source == str(path) and "\n" not in e.value.one_line()


def test_two_stacks_are_listed_and_refused(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=16)
    path = write_enhanced_dicom(
        vol, tmp_path / "two.dcm", frames=list(range(16)) * 2, stack_ids=["1"] * 16 + ["2"] * 16
    )
    with pytest.raises(ScanError, match=r"2 volumes.*stack 1: 16 frames; stack 2: 16 frames"):
        load_scan(path)


def test_echo_dimension_makes_two_volumes(tmp_path: Path) -> None:
    # multi-echo enhanced MR: the same 8 positions twice, told apart by a third
    # dimension (Effective Echo Time) of DimensionIndexSequence only
    vol = head_volume("lps_axial", n=8)
    path = write_enhanced_dicom(vol, tmp_path / "echo.dcm", frames=list(range(8)) * 2)

    def add_echo(ds: pydicom.Dataset) -> None:
        dim = pydicom.Dataset()
        dim.DimensionIndexPointer = pydicom.datadict.tag_for_keyword("EffectiveEchoTime")
        dim.FunctionalGroupPointer = pydicom.datadict.tag_for_keyword("MREchoSequence")
        ds.DimensionIndexSequence.append(dim)
        for f, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
            content = group.FrameContentSequence[0]
            content.DimensionIndexValues = [*content.DimensionIndexValues, 1 + f // 8]

    _edit(path, add_echo)
    with pytest.raises(
        ScanError,
        match=r"2 volumes \(Effective Echo Time 1: 8 frames; Effective Echo Time 2: 8 frames\)",
    ):
        load_scan(path)
    # without the dimension the second echo is an identical copy: dropped, with a warning
    plain = load_scan(write_enhanced_dicom(vol, tmp_path / "p.dcm", frames=list(range(8)) * 2))
    assert plain.volume.shape == (8, 8, 8)
    assert any("ignored 8 frames" in w for w in plain.info.warnings)


def _edit(path: Path, edit: object) -> None:
    ds = pydicom.dcmread(path)
    edit(ds)  # type: ignore[operator]
    ds.save_as(path, enforce_file_format=True)


def test_frame_with_other_orientation_is_named(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=12)
    path = write_enhanced_dicom(vol, tmp_path / "tilted.dcm", shared_groups=False)

    def turn(ds: pydicom.Dataset) -> None:
        item = ds.PerFrameFunctionalGroupsSequence[4].PlaneOrientationSequence[0]
        item.ImageOrientationPatient = [1, 0, 0, 0, 0.9950042, -0.0998334]

    _edit(path, turn)
    with pytest.raises(ScanError, match=r"inconsistent orientation.*frame 5"):
        load_scan(path)


def test_gantry_tilt_in_frame_positions_is_refused(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=12)
    path = write_enhanced_dicom(vol, tmp_path / "tilt.dcm")

    def shear(ds: pydicom.Dataset) -> None:
        for f, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
            item = group.PlanePositionSequence[0]
            x, y, z = (float(v) for v in item.ImagePositionPatient)
            # 0.5 mm sideways per 1.25 mm slice: ~21.8 deg
            item.ImagePositionPatient = [x, y + 0.5 * f, z]

    _edit(path, shear)
    with pytest.raises(ScanError, match=r"gantry tilt of about 21\.8"):
        load_scan(path)


def test_frames_at_one_position(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=12)
    same = write_enhanced_dicom(vol, tmp_path / "same.dcm", frames=[3, 3, 3])
    with pytest.raises(ScanError, match=r"2D image: all 3 frames of the file"):
        load_scan(same)
    copies = write_enhanced_dicom(vol, tmp_path / "copies.dcm", frames=[2, 3, 3, 4])
    scan = load_scan(copies)
    assert scan.volume.shape == (12, 12, 3)
    assert any("ignored 1 frame " in w for w in scan.info.warnings)

    def differ(ds: pydicom.Dataset) -> None:
        # frame 3 keeps frame 2's position: two different images at one place
        src = ds.PerFrameFunctionalGroupsSequence[1].PlanePositionSequence[0]
        dst = ds.PerFrameFunctionalGroupsSequence[2].PlanePositionSequence[0]
        dst.ImagePositionPatient = src.ImagePositionPatient

    two = write_enhanced_dicom(vol, tmp_path / "two.dcm", frames=[2, 3, 4, 5])
    _edit(two, differ)
    with pytest.raises(ScanError, match=r"duplicated slice position.*frame [23] and frame [23]"):
        load_scan(two)


def test_two_frames_is_a_volume_one_frame_is_not(tmp_path: Path) -> None:
    # the classic rule: at least two distinct positions (a 2-slice stack loads)
    vol = head_volume("lps_axial", n=12)
    scan = load_scan(write_enhanced_dicom(vol, tmp_path / "two.dcm", frames=[4, 5]))
    assert scan.volume.shape == (12, 12, 2)
    np.testing.assert_allclose(scan.info.spacing_mm, (0.8, 0.8, 1.25), atol=1e-6)


def test_segmentation_and_no_functional_groups_are_refused(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=12)
    seg = write_enhanced_dicom(vol, tmp_path / "seg.dcm")

    def as_seg(ds: pydicom.Dataset) -> None:
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID

    _edit(seg, as_seg)
    with pytest.raises(ScanError, match=r"seg\.dcm: a DICOM segmentation \(SEG\), not a scan"):
        load_scan(seg)
    bare = write_enhanced_dicom(vol, tmp_path / "bare.dcm")

    def strip(ds: pydicom.Dataset) -> None:
        del ds.SharedFunctionalGroupsSequence
        del ds.PerFrameFunctionalGroupsSequence

    _edit(bare, strip)
    with pytest.raises(ScanError, match=r"without functional groups.*12 frames cannot be placed"):
        load_scan(bare)


def test_enhanced_file_in_a_folder_and_input_untouched(tmp_path: Path) -> None:
    vol = head_volume("oblique", n=16)
    folder = tmp_path / "series"
    folder.mkdir()
    path = write_enhanced_dicom(vol, folder / "IM1")
    (folder / "notes.txt").write_text("not an image")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    by_folder = load_scan(folder)
    by_file = load_scan(path)
    np.testing.assert_array_equal(by_folder.volume.array, by_file.volume.array)
    assert any("not DICOM images" in w for w in by_folder.info.warnings)
    assert by_file.info.sha256 == before  # the file's own hash
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


PHI_NAME = "ZZENHANCED^PATIENT"
PHI_ID = "ZZID-27182818"


def test_patient_name_never_in_info_or_check_json(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=16)
    path = write_enhanced_dicom(vol, tmp_path / "ct.dcm", patient_name=PHI_NAME, patient_id=PHI_ID)
    assert PHI_NAME.encode() in path.read_bytes()
    scan = load_scan(path)
    text = scan.info.model_dump_json() + describe_scan(scan) + repr(scan.volume.meta)
    for needle in (PHI_NAME, "ZZENHANCED", PHI_ID):
        assert needle not in text
    assert scan.info.deidentified and scan.info.phi is None
    kept = load_scan(path, keep_phi=True)
    assert kept.info.phi is not None and kept.info.phi["PatientName"] == PHI_NAME
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "--json", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    for needle in (PHI_NAME, "ZZENHANCED", PHI_ID):
        assert needle not in proc.stdout + proc.stderr


# --- real files (pydicom-data); skipped when scripts/fetch_realdata.sh was not run ---

_DATA = Path(__file__).resolve().parents[2] / ".data" / "pydicom-data" / "data_store" / "data"


def _real(name: str) -> Path:
    roots = (
        [Path(os.environ["TWINSEP_DATA"]) / "pydicom-data"] if "TWINSEP_DATA" in os.environ else []
    )
    for root in [*roots, _DATA]:
        hits = sorted(root.rglob(name)) if root.is_dir() else []
        if hits:
            return hits[0]
    pytest.skip(f"{name} not installed: run scripts/fetch_realdata.sh")


@pytest.mark.realdata
def test_ect_supplemental_matches_its_headers() -> None:
    path = _real("eCT_Supplemental.dcm")
    scan = load_scan(path)
    ds = pydicom.dcmread(path)
    shared = ds.SharedFunctionalGroupsSequence[0]
    iop = np.array([float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient])
    ps = [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing]
    pvt = shared.PixelValueTransformationSequence[0]
    slope, inter = float(pvt.RescaleSlope), float(pvt.RescaleIntercept)
    ipp = np.array(
        [
            [float(v) for v in g.PlanePositionSequence[0].ImagePositionPatient]
            for g in ds.PerFrameFunctionalGroupsSequence
        ]
    )
    normal = np.cross(iop[:3], iop[3:])
    order = np.argsort(ipp @ normal)
    pix = ds.pixel_array.astype(np.float64) * slope + inter
    assert scan.volume.shape == (ds.Columns, ds.Rows, 2)
    for k, f in enumerate(order):
        np.testing.assert_array_equal(scan.volume.array[:, :, k], pix[f].T)
    step = float(np.diff((ipp @ normal)[order])[0])
    np.testing.assert_allclose(scan.info.spacing_mm, (ps[1], ps[0], step), atol=1e-4)
    np.testing.assert_allclose(
        scan.volume.affine[:3, 3], (LPS_TO_RAS[:3, :3] @ ipp[order[0]]), atol=1e-4
    )
    assert scan.info.modality == "CT" and scan.info.deidentified
    name = str(ds.PatientName)
    if name:
        assert name not in scan.info.model_dump_json() + describe_scan(scan)


@pytest.mark.realdata
def test_emri_small_without_geometry_is_refused() -> None:
    path = _real("emri_small.dcm")
    with pytest.raises(ScanError, match=r"emri_small\.dcm: multi-frame Enhanced MR.*10 frames"):
        load_scan(path)


@pytest.mark.realdata
def test_liver_seg_is_refused() -> None:
    path = _real("liver.dcm")
    with pytest.raises(ScanError, match=r"liver\.dcm: a DICOM segmentation \(SEG\), not a scan"):
        load_scan(path)


def test_no_phi_in_a_whole_plan_of_an_enhanced_ct(tmp_path: Path) -> None:
    # and the plan writes seg.dcm for the enhanced source (de-identified like the rest)
    from twinsep.phantom import make_phantom

    ph = make_phantom("vertical-II", size=64, seed=3)  # ~12 s plan on 2 cores
    src = write_enhanced_dicom(ph.ct, tmp_path / "ct.dcm", patient_name=PHI_NAME, patient_id=PHI_ID)
    assert PHI_NAME.encode() in src.read_bytes()
    out = tmp_path / "plan"
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "--json", "plan", str(src), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    needles = [PHI_NAME.encode(), b"ZZENHANCED", PHI_ID.encode(), PHI_NAME.encode("utf-16-le")]
    assert not any(n in (proc.stdout + proc.stderr).encode() for n in needles)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert any(p.name == "plan.json" for p in files)
    # the DICOM-SEG references the one multi-frame source, frame by frame
    (seg_path,) = [p for p in files if p.name == "seg.dcm"]
    assert "seg.dcm not written" not in (out / "plan.json").read_text()
    seg = pydicom.dcmread(seg_path)
    src_ds = pydicom.dcmread(src, stop_before_pixels=True)
    refs = {
        (str(r.ReferencedSOPInstanceUID), int(r.ReferencedFrameNumber))
        for item in seg.PerFrameFunctionalGroupsSequence
        for r in item.DerivationImageSequence[0].SourceImageSequence
    }
    # by a new UID standing for the source's (DICOM UIDs are identifiers, session 27)
    (uid,) = {u for u, _ in refs}
    assert uid != str(src_ds.SOPInstanceUID)
    assert refs == {(uid, n) for n in range(1, 65)}
    needles.append(str(src_ds.SOPInstanceUID).encode())
    for p in files:
        blob = all_bytes(p)
        for needle in needles:
            assert needle not in blob, f"{needle!r} found in {p.relative_to(out)}"


def test_seg_beside_the_series_is_ignored_with_a_warning(tmp_path: Path) -> None:
    vol = head_volume("lps_axial", n=12)
    folder = tmp_path / "export"
    write_dicom_series(vol, folder)
    seg = write_enhanced_dicom(vol, tmp_path / "seg.dcm")

    def as_seg(ds: pydicom.Dataset) -> None:
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.99"

    _edit(seg, as_seg)
    seg.rename(folder / "SEG0001.dcm")
    scan = load_scan(folder)
    np.testing.assert_array_equal(scan.volume.array, load_scan(folder / "IM00001.dcm").volume.array)
    assert any("SEG0001.dcm" in w and "not DICOM images of a scan" in w for w in scan.info.warnings)
    only = tmp_path / "only"
    only.mkdir()
    (folder / "SEG0001.dcm").rename(only / "SEG0001.dcm")
    with pytest.raises(ScanError, match=r"no DICOM image series.*segmentation \(SEG\), not a scan"):
        load_scan(only)


def test_top_level_orientation_and_spacing_are_used_when_groups_lack_them(tmp_path: Path) -> None:
    vol = head_volume("oblique", n=12)
    ref = load_scan(write_enhanced_dicom(vol, tmp_path / "ref.dcm"))
    path = write_enhanced_dicom(vol, tmp_path / "top.dcm")

    def move_up(ds: pydicom.Dataset) -> None:
        shared = ds.SharedFunctionalGroupsSequence[0]
        ds.ImageOrientationPatient = shared.PlaneOrientationSequence[0].ImageOrientationPatient
        ds.PixelSpacing = shared.PixelMeasuresSequence[0].PixelSpacing
        del shared.PlaneOrientationSequence
        del shared.PixelMeasuresSequence

    _edit(path, move_up)
    scan = load_scan(path)
    np.testing.assert_array_equal(scan.volume.array, ref.volume.array)
    np.testing.assert_allclose(scan.volume.affine, ref.volume.affine, atol=1e-9)


def test_a_frame_with_a_zero_slope_is_refused_naming_the_frame(tmp_path: Path) -> None:
    """A frame's own RescaleSlope 0 (every voxel would read the intercept) is named; a
    slope that cannot be used was read as the shared one, or 1, without a word."""
    vol = head_volume("lps_axial", n=12)
    path = write_enhanced_dicom(vol, tmp_path / "zero.dcm", shared_groups=False)

    def zero(ds: pydicom.Dataset) -> None:
        ds.PerFrameFunctionalGroupsSequence[6].PixelValueTransformationSequence[0].RescaleSlope = 0

    _edit(path, zero)
    with pytest.raises(ScanError) as info:
        load_scan(path)
    line = info.value.one_line()
    assert line.startswith(f"{path}: frame 7 of 12: RescaleSlope is 0"), line
