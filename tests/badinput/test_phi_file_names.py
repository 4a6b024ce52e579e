"""Error lines about a DICOM folder never show file names that hold the patient's name.

PACS and CD exports name files after the patient (``QUIMBY_ZELDA_0001.dcm``). A refused
folder's one-line error used to name such a file (as its source, or inside the reason):
stderr is copied into tickets, CI logs and e-mails. The line now names the folder the
user gave and the file by its place in the folder ("file 3 of 8"), with the name
withheld; a file name without identifiers is still shown (docs/io.md "Errors name the
path you gave").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom
import pytest

from twinsep.errors import ScanError
from twinsep.io import load_scan, write_dicom_series
from twinsep.volume import Volume

#: Planted identifiers: none may appear in an error line (the folder is neutral).
_PLANTED = ("QUIMBY", "ZELDA", "4471923")


def _series(root: Path, *, phi_names: bool = True, n: int = 8) -> list[Path]:
    """A 16 x 16 x ``n`` CT series of patient QUIMBY^ZELDA, files named after her."""
    rng = np.random.default_rng(3)
    vol = Volume(rng.integers(-1000, 1500, (16, 16, n)).astype(np.int16), np.diag([1, 1, 2, 1.0]))
    paths = write_dicom_series(
        vol, root / "series", patient_name="QUIMBY^ZELDA", patient_id="MRN4471923"
    )
    if not phi_names:
        return paths
    out = []
    for k, p in enumerate(paths):
        q = p.with_name(f"QUIMBY_ZELDA_{k + 1:04d}.dcm")
        p.rename(q)
        out.append(q)
    return out


def _edit(path: Path, fn: Callable[[pydicom.Dataset], None]) -> None:
    ds = pydicom.dcmread(path)
    fn(ds)
    ds.save_as(path, enforce_file_format=True)


def _no_spacing(ps: list[Path]) -> None:
    _edit(ps[2], lambda ds: delattr(ds, "PixelSpacing"))


def _other_size(ps: list[Path]) -> None:
    def fn(ds: pydicom.Dataset) -> None:
        ds.Rows = 8
        ds.PixelData = np.zeros((8, 16), "<i2").tobytes()

    _edit(ps[2], fn)


def _missing(ps: list[Path]) -> None:
    ps[3].unlink()


def _moved(ps: list[Path]) -> None:
    def fn(ds: pydicom.Dataset) -> None:
        ds.ImagePositionPatient = [float(v) for v in ds.ImagePositionPatient[:2]] + [
            float(ds.ImagePositionPatient[2]) + 0.7
        ]

    _edit(ps[3], fn)


def _twice(ps: list[Path]) -> None:
    def fn(ds: pydicom.Dataset) -> None:
        ds.ImagePositionPatient = pydicom.dcmread(ps[4]).ImagePositionPatient
        ds.PixelData = np.zeros((16, 16), "<i2").tobytes()

    _edit(ps[3], fn)


def _other_modality(ps: list[Path]) -> None:
    _edit(ps[2], lambda ds: setattr(ds, "Modality", "MR"))


def _truncated(ps: list[Path]) -> None:
    data = ps[2].read_bytes()
    ps[2].write_bytes(data[: len(data) - 100])


CASES: dict[str, tuple[Callable[[list[Path]], None], str]] = {
    "no PixelSpacing": (_no_spacing, "no pixelspacing"),
    "slices differ in size": (_other_size, "differ in size"),
    "missing slice": (_missing, "missing"),
    "non-uniform": (_moved, "non-uniform"),
    "two images at one place": (_twice, "duplicated slice position"),
    "mixed modalities": (_other_modality, "mixed modalities"),
    "truncated pixel data": (_truncated, "truncated"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("given", ["folder", "file"])
def test_refusals_withhold_file_names_that_hold_identifiers(
    tmp_path: Path, case: str, given: str
) -> None:
    paths = _series(tmp_path)
    break_it, words = CASES[case]
    break_it(paths)
    target = tmp_path / "series" if given == "folder" else paths[0]
    with pytest.raises(ScanError) as info:
        load_scan(target)
    line = info.value.one_line()
    assert "\n" not in line and words in line.lower(), line
    # the path the user gave opens the line (and may be named again: the user typed it);
    # no other file's name holds a planted identifier
    assert line.startswith(f"{target}: "), line
    rest = line[len(str(target)) :].replace(paths[0].name, "")
    for token in _PLANTED:
        assert token.lower() not in rest.lower(), line
    assert "withheld" in rest, line


def test_names_without_identifiers_are_still_shown(tmp_path: Path) -> None:
    """IM00003.dcm holds no identifier: the user is told which file is wrong."""
    paths = _series(tmp_path, phi_names=False)
    _no_spacing(paths)
    with pytest.raises(ScanError) as info:
        load_scan(tmp_path / "series")
    line = info.value.one_line()
    assert "IM00003.dcm" in line and "withheld" not in line, line


def test_a_folder_of_reports_named_after_the_patient(tmp_path: Path) -> None:
    """No image at all: a dose report and a text file, both named after the patient.
    The report's header names her; the listing of what was found withholds both names
    (the text file's name holds her name too)."""
    paths = _series(tmp_path, n=2)
    folder = tmp_path / "series"
    sr = folder / "QUIMBY_ZELDA_dose.dcm"

    def to_sr(ds: pydicom.Dataset) -> None:
        ds.Modality = "SR"
        for kw in ("Rows", "Columns", "PixelData"):
            delattr(ds, kw)

    _edit(paths[0], to_sr)
    paths[0].rename(sr)
    paths[1].unlink()
    (folder / "QUIMBY_ZELDA_notes.txt").write_text("not DICOM")
    with pytest.raises(ScanError) as info:
        load_scan(folder)
    line = info.value.one_line()
    assert line.startswith(f"{folder}: no DICOM image series"), line
    rest = line[len(str(folder)) :]
    assert all(t.lower() not in rest.lower() for t in _PLANTED), line
    assert "withheld" in rest, line


def test_a_report_names_the_patient_of_a_deidentified_series(tmp_path: Path) -> None:
    """The images were de-identified but the dose report beside them was not, and it is
    named after the patient: the warning that lists the files left out (it reaches
    plan.json and the report) withholds its name, using the report's own header."""
    rng = np.random.default_rng(4)
    vol = Volume(rng.integers(-1000, 1500, (16, 16, 6)).astype(np.int16), np.diag([1, 1, 2, 1.0]))
    folder = tmp_path / "series"
    paths = write_dicom_series(vol, folder)  # no name, no ID
    sr = pydicom.dcmread(paths[0])
    sr.Modality = "SR"
    sr.PatientName = "QUIMBY^ZELDA"
    sr.SOPInstanceUID = sr.SOPInstanceUID + ".9"
    for kw in ("Rows", "Columns", "PixelData"):
        delattr(sr, kw)
    sr.save_as(folder / "QUIMBY_dose.dcm", enforce_file_format=True)
    scan = load_scan(folder)
    said = " ".join(scan.info.warnings)
    assert "1 file whose names hold patient identifiers (names withheld)" in said, said
    assert "QUIMBY" not in said.upper()


def test_ideographic_names_are_withheld_too(tmp_path: Path) -> None:
    """A Japanese export: PatientName in three groups (ISO 2022 IR 87), files named
    山田太郎_0001.dcm; the ideographic group is found in the file names."""
    rng = np.random.default_rng(5)
    vol = Volume(rng.integers(-1000, 1500, (16, 16, 8)).astype(np.int16), np.diag([1, 1, 2, 1.0]))
    paths = write_dicom_series(vol, tmp_path / "series")
    for k, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
        ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"
        ds.save_as(p, enforce_file_format=True)
        paths[k] = p.rename(p.with_name(f"山田太郎_{k + 1:04d}.dcm"))
    paths[3].unlink()
    with pytest.raises(ScanError) as info:
        load_scan(tmp_path / "series")
    line = info.value.one_line()
    assert "山田" not in line and "missing slice" in line and "file 3 of 7" in line, line


class _OneDamaged(pydicom.Dataset):
    """A dataset whose PatientBirthDate cannot be decoded (a damaged element)."""

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        if key == "PatientBirthDate":
            raise ValueError("damaged element")
        return super().__getitem__(key)


def test_a_damaged_element_keeps_the_other_identifiers() -> None:
    """A non-image file read for its identifiers keeps those it can decode; an image's
    header still fails on a damaged identifier (refused as malformed, as before)."""
    from twinsep.io.dicom import _phi_values

    ds = _OneDamaged()
    ds.PatientName = "QUIMBY^ZELDA"
    ds.PatientID = "4471923"
    ds.PatientBirthDate = "20250101"
    got = _phi_values(ds, skip_damaged=True)
    assert got == {"PatientName": "QUIMBY^ZELDA", "PatientID": "4471923"}
    with pytest.raises(ValueError, match="damaged element"):
        _phi_values(ds)
