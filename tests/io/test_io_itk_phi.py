"""NRRD / MetaImage converted from DICOM by SimpleITK keep the DICOM tags as metadata
(``0010|0010:=QUIMBY^ZELDA``); such files are named after the patient as often as the
DICOM was. The loader reads those values as a DICOM header's (``Loaded.phi``): a file
name holding them is withheld from the outputs, and only ``--keep-phi`` keeps them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from twinsep.io import load_scan

_TAGS = {
    "0010|0010": "QUIMBY^ZELDA",
    "0010|0020": "MRN4471923",
    "0010|0030": "20250314",
    "0008|0050": "ACC88231X",
    "0008|0080": "SAINT ELSEWHERE CHILDRENS",
    "0008|103e": "QUIMBY ZELDA AX",
}


def _write(path: Path, tags: dict[str, str]) -> Path:
    arr = np.random.default_rng(0).integers(-1000, 1500, (10, 12, 14)).astype(np.int16)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.8, 0.8, 1.5))
    for key, value in tags.items():
        img.SetMetaData(key, value)
    sitk.WriteImage(img, str(path), True)
    return path


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_a_file_named_after_the_patient_in_its_dicom_tags_is_withheld(
    tmp_path: Path, suffix: str
) -> None:
    named = _write(tmp_path / f"QUIMBY_ZELDA_MRN4471923{suffix}", _TAGS)
    scan = load_scan(named)
    assert scan.info.path_names_patient  # was False: plan.json named the file
    assert scan.info.phi is None and scan.info.deidentified
    assert scan.identifiers["PatientName"] == "QUIMBY^ZELDA"
    kept = load_scan(named, keep_phi=True)
    assert kept.info.phi is not None and kept.info.phi["InstitutionName"].startswith("SAINT")


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
def test_neutral_names_and_files_without_tags_are_unchanged(tmp_path: Path, suffix: str) -> None:
    assert not load_scan(_write(tmp_path / f"ct{suffix}", _TAGS)).info.path_names_patient
    plain = load_scan(_write(tmp_path / f"QUIMBY{suffix}", {}))
    assert not plain.info.path_names_patient and not plain.identifiers
