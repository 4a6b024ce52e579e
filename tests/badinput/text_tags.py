"""A unique marker in every text-like DICOM element, and what to search outputs for.

Used by ``test_every_text_tag.py`` (and by the session-27 sweep of whole plans,
docs/io.md "Red-team round 5"). Every element of pydicom's data dictionary whose value
representation holds text - person names, LO/SH/ST/LT/UT/UC/UR strings, AE titles,
code strings, dates, times, date-times and UIDs - is set to a value no other element
has, except the few the image cannot be read without (pixel description, SOP class,
modality, image type, character set); nested sequences (request attributes, other
patient IDs, procedure codes, referenced study) and private blocks in odd groups (LO,
SH, UT, ST, UN holding text, a private sequence) carry markers too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pydicom
from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from twinsep.volume import Volume

#: Value representations that hold text (CS too: exports put names in code strings).
TEXT_VRS = frozenset(
    {"PN", "LO", "SH", "ST", "LT", "UT", "UC", "UR", "AE", "CS", "DA", "DT", "TM", "UI"}
)

#: Groups left alone: file meta, DICOMDIR records, image pixel description, pixel data.
SKIPPED_GROUPS = frozenset({0x0000, 0x0002, 0x0004, 0x0028, 0x7FE0, 0xFFFE})

#: Elements the image is not read (or not placed) without, or whose values are codes
#: from a closed list: they keep the writer's values.
SKIPPED_KEYWORDS = frozenset(
    {
        "SpecificCharacterSet",
        "ImageType",
        "SOPClassUID",
        "SOPInstanceUID",
        "Modality",
        "ReferencedSOPClassUID",
        "PatientSex",
        "PatientPosition",
        "BurnedInAnnotation",
        "LossyImageCompression",
    }
)


class Markers:
    """Unique values by element, and the byte strings an output must not hold."""

    def __init__(self) -> None:
        self.where: dict[str, str] = {}

    def new(self, vr: str, where: str) -> str:
        """A value of representation ``vr`` no other element has."""
        i = len(self.where) + 1
        day = dt.date(1903, 1, 1) + dt.timedelta(days=97 * i)
        second = (i * 7919) % 86400
        value = {
            "DA": day.strftime("%Y%m%d"),
            "TM": f"{second // 3600:02d}{second // 60 % 60:02d}{second % 60:02d}.{700000 + i}",
            "DT": day.strftime("%Y%m%d") + f"1234{i % 60:02d}.{800000 + i}",
            "UI": f"1.2.826.0.1.3680043.8.498.7{i:05d}9",
            "PN": f"QX{i:04d}Z^QY{i:04d}Z",
            "UR": f"http://qx{i:04d}z.example",
        }.get(vr, f"QX{i:04d}Z")
        self.where[value] = where
        return value

    def needles(self, *, allowed: Callable[[str], bool] = lambda _: False) -> dict[bytes, str]:
        """Upper-case byte strings to search for -> the element they came from: each
        value as written, dates and times in other spellings too, and the first 12 hex
        digits of its SHA-256, SHA-1 and MD5 (a value hashed into an output is found
        again by hashing candidates). ``allowed(where)`` exempts an element's hashes."""
        out: dict[bytes, str] = {}
        for value, where in self.where.items():
            forms = {value}
            if "^" in value:
                forms = set(value.split("^"))
            elif value.isdigit() and len(value) == 8:
                y, m, d = value[:4], value[4:6], value[6:]
                forms |= {f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{d}.{m}.{y}"}
            elif value[:6].isdigit() and value[6:7] == ".":
                forms |= {f"{value[:2]}:{value[2:4]}:{value[4:6]}"}
            elif value.startswith("http"):
                forms = {value[7:14]}
            for form in forms:
                out[form.upper().encode()] = where
            if not allowed(where):
                for name in ("sha256", "sha1", "md5"):
                    digest = hashlib.new(name, value.encode()).hexdigest()[:12]
                    out[digest.upper().encode()] = f"{where} ({name})"
        return out


def plant(ds: Dataset, markers: Markers, values: dict[str, str]) -> None:
    """Set every text-like element of ``ds`` (see the module) to a marker.

    ``values`` holds the markers by element and is filled on first use, so that the
    slices of one series share their series-level values (a series needs one
    SeriesInstanceUID); ``ds`` is changed in place.
    """

    def value(vr: str, where: str) -> str:
        if where not in values:
            values[where] = markers.new(vr, where)
        return values[where]

    for tag, (vr, _vm, _name, retired, keyword) in DicomDictionary.items():
        if (
            retired
            or not keyword
            or vr not in TEXT_VRS
            or tag >> 16 in SKIPPED_GROUPS
            or keyword in SKIPPED_KEYWORDS
        ):
            continue
        setattr(ds, keyword, value(vr, keyword))
    ds.RescaleType = value("LO", "RescaleType")
    request = Dataset()
    request.AccessionNumber = value("SH", "RequestAttributes/AccessionNumber")
    request.RequestedProcedureID = value("SH", "RequestAttributes/RequestedProcedureID")
    code = Dataset()
    code.CodeValue = value("SH", "RequestAttributes/Protocol/CodeValue")
    code.CodingSchemeDesignator = "99QX"
    code.CodeMeaning = value("LO", "RequestAttributes/Protocol/CodeMeaning")
    request.ScheduledProtocolCodeSequence = Sequence([code])
    ds.RequestAttributesSequence = Sequence([request])
    other = Dataset()
    other.PatientID = value("LO", "OtherPatientIDs/PatientID")
    other.IssuerOfPatientID = value("LO", "OtherPatientIDs/IssuerOfPatientID")
    ds.OtherPatientIDsSequence = Sequence([other])
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = value("UI", "ReferencedStudy/ReferencedSOPInstanceUID")
    ds.ReferencedStudySequence = Sequence([study])
    for group in (0x0009, 0x0019, 0x0043):
        block = ds.private_block(group, f"QX PRIVATE {group:04X}", create=True)
        for offset, vr in enumerate(("LO", "SH", "UT", "ST"), start=1):
            block.add_new(offset, vr, value(vr, f"private {group:04X} {vr}"))
        block.add_new(0x05, "UN", value("LO", f"private {group:04X} UN").encode() + b" ")
        item = Dataset()
        item.PatientName = value("PN", f"private {group:04X} SQ PatientName")
        item.StudyDescription = value("LO", f"private {group:04X} SQ StudyDescription")
        block.add_new(0x06, "SQ", Sequence([item]))


def write_marked(volume: Volume, root: Path, layout: str) -> tuple[Path, Markers]:
    """Write ``volume`` under ``root`` with a marker in every text element.

    ``layout`` is ``"series"`` (a classic series in ``root / "in"``, unique instance
    UIDs) or ``"enhanced"`` (one Enhanced CT ``root / "in" / "ENHANCED"``, whose frames
    also carry an acquisition date-time, comments and a label). Returns the path to give
    twinsep (the folder or the file) and the markers.
    """
    from twinsep.io import write_dicom_series
    from twinsep.io.enhanced_write import write_enhanced_dicom

    markers, values = Markers(), {}  # type: ignore[var-annotated]
    folder = root / "in"
    folder.mkdir(parents=True)
    if layout == "series":
        sop = markers.new("UI", "SOPInstanceUID")
        written = write_dicom_series(volume, root / "written")
        for k, p in enumerate(written):
            ds = pydicom.dcmread(p)
            plant(ds, markers, values)
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = f"{sop}.{k + 1}"
            ds.save_as(folder / f"IM{k + 1:05d}", enforce_file_format=True)
        shutil.rmtree(root / "written")
        return folder, markers
    src = write_enhanced_dicom(volume, root / "enhanced.dcm")
    ds = pydicom.dcmread(src)
    plant(ds, markers, values)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = markers.new("UI", "SOP")
    for n, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        content = item.FrameContentSequence[0] if "FrameContentSequence" in item else item
        content.FrameAcquisitionDateTime = markers.new("DT", f"frame {n} acquisition")
        content.FrameComments = markers.new("LT", f"frame {n} comments")
        content.FrameLabel = markers.new("LO", f"frame {n} label")
    ds.save_as(folder / "ENHANCED", enforce_file_format=True)
    src.unlink()
    return folder / "ENHANCED", markers
