"""DICOM-SEG: reads back with highdicom, frames line up with the source, no PHI."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from dicomseg_checks import assert_seg_reproduces

from twinsep.interop.dicomseg import (
    DUMMY_CONTENT_DATE,
    DUMMY_CONTENT_TIME,
    SOURCE_UIDS,
    series_datasets,
    write_dicom_seg,
)
from twinsep.io import load_scan, write_dicom_series
from twinsep.volume import Volume

NAME = "DOE^JANE^TWINTEST"
PID = "PID-99887766"


def _case(tmp_path: Path) -> tuple[Path, Volume, Volume]:
    aff = np.diag([-0.9, 1.1, 2.0, 1.0])  # flipped x: the writer reverses slice order
    aff[:3, 3] = [40.0, -20.0, 5.0]
    ct = np.full((16, 14, 9), -1000, np.int16)
    ct[3:13, 2:12, 1:8] = 40
    ct += np.random.default_rng(1).integers(-20, 20, ct.shape).astype(np.int16)  # a real image
    folder = tmp_path / "ct"
    write_dicom_series(
        Volume(ct, aff), folder, patient_name=NAME, patient_id=PID, birth_date="20250101"
    )
    scan = load_scan(folder)
    labels = np.zeros(scan.volume.shape, np.uint8)
    twins = np.zeros(scan.volume.shape, np.uint8)
    body = scan.volume.array > -500
    labels[body] = 1
    labels[body & (np.indices(body.shape)[2] == 4)] = 2  # a bone slab on one slice
    twins[body] = 1
    half = np.indices(body.shape)[0] >= 8
    twins[body & half] = 2
    return folder, scan.volume.with_array(labels), scan.volume.with_array(twins)


@pytest.mark.parametrize("keep_phi", [False, True], ids=["default", "keep-phi"])
def test_dicom_seg_round_trip_and_no_phi(tmp_path: Path, keep_phi: bool) -> None:
    folder, labels, twins = _case(tmp_path)
    sources = series_datasets(folder, None)
    headers_before = copy.deepcopy(sources)
    out = tmp_path / "seg.dcm"
    present = write_dicom_seg(
        labels, twins, sources, out, colour_a="#7B3FA0", colour_b="#F28C28", keep_phi=keep_phi
    )
    assert {s.name for s in present} == {
        "Twin A soft tissue",
        "Twin A bone",
        "Twin B soft tissue",
        "Twin B bone",
    }
    raw = out.read_bytes()
    seg = hd.seg.segread(out)
    assert seg.number_of_segments == 4
    # the SEG's references: one per source slice, each frame pointing at one of them
    referenced = [
        str(r.ReferencedSOPInstanceUID)
        for r in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    ]
    framed = {
        str(item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
        for item in seg.PerFrameFunctionalGroupsSequence
    }
    assert len(set(referenced)) == len(sources) and framed <= set(referenced)
    uids = {str(getattr(ds, kw)) for ds in sources for kw in SOURCE_UIDS}
    if keep_phi:  # the source's own UIDs: a SEG for the hospital's archive, beside the CT
        assert {str(ds.SOPInstanceUID) for ds in sources} == set(referenced)
        assert seg.StudyInstanceUID == sources[0].StudyInstanceUID
        assert str(seg.PatientName) == NAME
        return
    assert NAME.encode() not in raw and PID.encode() not in raw and b"20250101" not in raw
    # no source UID (scanners build them from serial numbers and times), new ones instead
    assert not [u for u in uids if u.encode() in raw]
    assert seg.FrameOfReferenceUID != sources[0].FrameOfReferenceUID
    # the pseudonym is not a hash of the patient ID (which hashing candidates would find)
    assert hashlib.sha256(PID.encode()).hexdigest()[:12] not in str(seg.PatientID)
    # Content Date/Time are Type 1: a dummy value (PS3.15 "Z/D"), never the scan's dates
    assert (seg.ContentDate, seg.ContentTime) == (DUMMY_CONTENT_DATE, DUMMY_CONTENT_TIME)
    # every source slice: the SEG frame of "Twin B bone" equals the label volume there
    number = next(d.SegmentNumber for d in seg.SegmentSequence if d.SegmentLabel == "Twin B bone")
    truth = (labels.array == 2) & (twins.array == 2)
    total = 0
    assert len(_referenced_by_position(seg)) == len(sources)
    for uid in _referenced_by_position(seg):  # each source slice by the SEG's new UID
        frame = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[uid], segment_numbers=[number]
        )[0, :, :, 0]
        total += int(frame.sum())
    assert total == int(truth.sum()) > 0
    # and through the SEG's own frame positions, every segment on exactly its voxels
    assert assert_seg_reproduces(out, labels, twins) == 4
    assert str(sources[0].PatientName) == NAME  # the caller's headers are not changed
    assert sources == headers_before


def _referenced_by_position(seg: pydicom.Dataset) -> list[str]:
    """The instance UIDs a SEG references, ordered by their frames' z position."""
    at: dict[str, float] = {}
    for item in seg.PerFrameFunctionalGroupsSequence:
        uid = str(item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
        at[uid] = float(item.PlanePositionSequence[0].ImagePositionPatient[2])
    return sorted(at, key=at.__getitem__)


#: sha256 of the SEG of ``_case`` (default options) with highdicom 0.28.2 / pydicom 3.0.2,
#: recorded when the multi-frame source path was added: the classic output is the one
#: written before, apart from the fields that changed every run (instance creation time,
#: contribution time, dimension organisation UID), which are now fixed or left out;
#: re-pinned when the Type 1 content date/time got their dummy values, and when the
#: source UIDs, the patient pseudonym and the position reference indicator became new
#: values (session 27).
CLASSIC_SEG_SHA256 = "a45c0a7f18f17257282614c4c8f604b4957576dc30a10c2493c3f85a9a108d33"


def test_classic_seg_bytes_are_deterministic_and_unchanged(tmp_path: Path) -> None:
    folder, labels, twins = _case(tmp_path)
    blobs = []
    for name in ("one.dcm", "two.dcm"):
        out = tmp_path / name
        write_dicom_seg(
            labels,
            twins,
            series_datasets(folder, None),
            out,
            colour_a="#7B3FA0",
            colour_b="#F28C28",
        )
        blobs.append(out.read_bytes())
    assert blobs[0] == blobs[1]
    if (hd.__version__, pydicom.__version__) != ("0.28.2", "3.0.2"):
        pytest.skip("the pinned bytes are those of highdicom 0.28.2 / pydicom 3.0.2")
    assert hashlib.sha256(blobs[0]).hexdigest() == CLASSIC_SEG_SHA256, (
        "classic seg.dcm bytes changed: intended only if write_dicom_series (the source UIDs) "
        "or the SEG content changed on purpose; then re-pin"
    )


def test_dicom_seg_keeps_phi_only_when_asked(tmp_path: Path) -> None:
    folder, labels, twins = _case(tmp_path)
    out = tmp_path / "seg.dcm"
    write_dicom_seg(
        labels,
        twins,
        series_datasets(folder, None),
        out,
        colour_a="#7B3FA0",
        colour_b="#F28C28",
        keep_phi=True,
    )
    assert str(pydicom.dcmread(out).PatientName) == NAME


def _add_identifiers(ds: pydicom.Dataset) -> None:
    """Identifying values highdicom copied into the SEG before the allow-list (found by
    a sweep of a whole plan): Patient/Study module attributes beyond the usual ones,
    the acquisition equipment's institution and serial number, a private tag."""
    ds.ConsultingPhysicianName = "QUENZ^CONSULT"
    ds.PhysiciansOfRecord = ["QUENZ^RECORD"]
    ds.NameOfPhysiciansReadingStudy = ["QUENZ^READER"]
    ds.StudyDescription = "CT head QUENZ-STUDYDESC twins"
    ds.ResponsiblePerson = "QUENZ^RESPONSIBLE"
    ds.PatientComments = "mother QUENZ-COMMENT"
    ds.OtherPatientNames = ["QUENZ^OTHER1", "QUENZ^OTHER2"]
    other = pydicom.Dataset()
    other.PatientID = "QUENZ-OTHERID"
    ds.OtherPatientIDsSequence = pydicom.Sequence([other])
    ds.InstitutionName = "QUENZ-INSTITUTION"
    ds.InstitutionAddress = "QUENZ-ADDRESS"
    ds.StationName = "QUENZ-STATION"
    ds.DeviceSerialNumber = "QUENZ-SERIAL"
    ds.private_block(0x0009, "QUENZ PRIVATE", create=True).add_new(0x01, "LO", "QUENZ-PRIVATE")


def test_seg_takes_only_the_allow_list_from_the_source(tmp_path: Path) -> None:
    folder, labels, twins = _case(tmp_path)
    for f in sorted(folder.iterdir()):
        ds = pydicom.dcmread(f)
        _add_identifiers(ds)
        ds.save_as(f, enforce_file_format=True)
    sources = series_datasets(folder, None)
    out = tmp_path / "seg.dcm"
    write_dicom_seg(labels, twins, sources, out, colour_a="#7B3FA0", colour_b="#F28C28")
    raw = out.read_bytes()
    assert b"QUENZ" not in raw and NAME.encode() not in raw and PID.encode() not in raw
    seg = pydicom.dcmread(out)
    assert str(seg.PatientName) == "Anonymous^" and seg.PatientID.startswith("TWINSEP-")
    # the references are new UIDs; the make of the scanner is still there
    assert seg.StudyInstanceUID != sources[0].StudyInstanceUID
    assert seg.FrameOfReferenceUID != sources[0].FrameOfReferenceUID
    makers = [str(item.Manufacturer) for item in seg.ContributingEquipmentSequence]
    assert str(sources[0].Manufacturer) in makers
    assert assert_seg_reproduces(out, labels, twins) == 4
    # with keep_phi the source's own values are kept
    kept = tmp_path / "kept.dcm"
    write_dicom_seg(
        labels, twins, sources, kept, colour_a="#7B3FA0", colour_b="#F28C28", keep_phi=True
    )
    assert b"QUENZ-STUDYDESC" in kept.read_bytes()


@pytest.mark.parametrize("given", ["folder", "copy"])
def test_a_slice_exported_twice_is_referenced_once(tmp_path: Path, given: str) -> None:
    """A series with one slice exported twice (the loader plans it, keeping one copy)
    gave no seg.dcm: highdicom refused "Plane positions must not contain duplicates".
    The SEG references one slice per plane (the named file when the user gave it) and
    reproduces every segment."""
    from twinsep.interop.dicomseg import find_sources

    folder, labels, twins = _case(tmp_path)
    files = sorted(folder.glob("*.dcm"))
    copy_path = folder / "zz_copy_of_4.dcm"
    copy_path.write_bytes(files[4].read_bytes())
    assert load_scan(folder).volume.shape == labels.shape  # planned with one copy
    sources = find_sources(copy_path if given == "copy" else folder, None)
    assert len(sources) == len(files) == labels.shape[2]
    kept = {Path(str(d.filename)).name for d in sources}
    assert ("zz_copy_of_4.dcm" in kept) is (given == "copy")
    assert (files[4].name in kept) is (given == "folder")
    out = tmp_path / "seg.dcm"
    write_dicom_seg(labels, twins, sources, out, colour_a="#7B3FA0", colour_b="#F28C28")
    assert assert_seg_reproduces(out, labels, twins) == 4


def test_a_report_filed_in_the_series_is_not_a_source(tmp_path: Path) -> None:
    """A dose report (SR) with the series' UID and a position but no image: the loader
    leaves it out (the plan ran), but the SEG export took it for a slice and the plan
    ended in exit 1 (AttributeError: no Rows; found by the session-25 sweep)."""
    folder, labels, twins = _case(tmp_path)
    ds = pydicom.dcmread(sorted(folder.glob("*.dcm"))[0])
    ds.Modality = "SR"
    ds.SOPInstanceUID = ds.SOPInstanceUID + ".9"
    for keyword in ("Rows", "Columns", "PixelData"):
        delattr(ds, keyword)
    ds.save_as(folder / "dose_report.dcm", enforce_file_format=True)
    assert load_scan(folder).volume.shape == labels.shape
    sources = series_datasets(folder, None)
    assert len(sources) == labels.shape[2]
    assert all(Path(str(d.filename)).name != "dose_report.dcm" for d in sources)
    out = tmp_path / "seg.dcm"
    write_dicom_seg(labels, twins, sources, out, colour_a="#7B3FA0", colour_b="#F28C28")
    assert assert_seg_reproduces(out, labels, twins) == 4
