"""The identifiers of a folder's headers are decoded once per distinct raw value.

``twinsep.io.dicom._phi_values`` with a memo (one per folder read): the files of a series
repeat the same raw name, ID and dates, and pydicom's decoding of each cost a third of the
header pass of a series that carries them (session 30). The memo must give exactly what a
fresh decoding gives, also when two files hold the same bytes under different character
sets.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from twinsep.io.dicom import _DEFER_BYTES, _phi_values

#: "MÜLLER^JÖRG" in UTF-8: read as ISO_IR 192 it is the name, as Latin-1 it is mojibake.
_RAW_NAME = "MÜLLER^JÖRG".encode()


def _file(path: Path, charset: str, name: bytes, patient_id: str) -> pydicom.Dataset:
    """A header-only file, read back as load_scan reads it (raw elements, deferred)."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = charset
    ds.add_new(0x00100010, "PN", name)  # raw bytes, as an export writes them
    ds.PatientID = patient_id
    ds.InstitutionName = "SAINT ELSEWHERE"
    ds.save_as(path, enforce_file_format=True)
    return pydicom.dcmread(path, defer_size=_DEFER_BYTES)


def test_the_memo_gives_what_a_fresh_decoding_gives(tmp_path: Path) -> None:
    files = [
        ("ISO_IR 192", _RAW_NAME, "ID001"),
        ("ISO_IR 192", _RAW_NAME, "ID001"),
        ("ISO_IR 100", _RAW_NAME, "ID001"),  # the same bytes in another character set
        ("ISO_IR 192", "ŁUKASZ^ŻANETA".encode(), "ID002"),  # a second patient in the folder
    ]
    memo: dict = {}
    for n, (charset, name, pid) in enumerate(files):
        fresh = _phi_values(_file(tmp_path / f"a{n}.dcm", charset, name, pid))
        remembered = _phi_values(_file(tmp_path / f"b{n}.dcm", charset, name, pid), memo=memo)
        assert remembered == fresh, (charset, name)
    assert (
        _phi_values(_file(tmp_path / "c.dcm", "ISO_IR 192", _RAW_NAME, "ID001"))["PatientName"]
        == "MÜLLER^JÖRG"
    )
    latin = _phi_values(_file(tmp_path / "d.dcm", "ISO_IR 100", _RAW_NAME, "ID001"), memo=memo)
    assert latin["PatientName"] == _RAW_NAME.decode("latin-1")
    # one entry per distinct (element, bytes, character set): name 3, ID 3, institution 2
    assert len(memo) == 8, sorted(memo)
