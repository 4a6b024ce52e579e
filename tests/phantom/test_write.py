"""Writing phantom folders: files, determinism, atomicity, DICOM identity."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from twinsep.errors import OutputError
from twinsep.phantom import PhantomTruth, write_phantom


def test_write_phantom_files_roundtrip_and_bytes_are_reproducible(tmp_path, phantom_cache):
    ph = phantom_cache("angular-parietal-partial", size=48)
    out1 = write_phantom(ph, tmp_path / "p1")
    out2 = write_phantom(ph, tmp_path / "p2")
    names = sorted(p.name for p in out1.iterdir())
    assert names == ["ct.nii.gz", "labels.nii.gz", "truth.json", "twins.nii.gz"]
    for name in names:
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes()
    img = nib.load(out1 / "labels.nii.gz")
    assert np.array_equal(np.asarray(img.dataobj), ph.labels.array)
    assert np.allclose(img.affine, ph.labels.affine, atol=1e-4)
    ct = nib.load(out1 / "ct.nii.gz")
    assert np.array_equal(np.asarray(ct.dataobj), ph.ct.array)
    truth = PhantomTruth.model_validate(json.loads((out1 / "truth.json").read_text()))
    assert truth == ph.truth


def test_write_refuses_a_non_empty_folder_and_leaves_it_alone(tmp_path, phantom_cache):
    ph = phantom_cache("angular-parietal-partial", size=48)
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(OutputError):
        write_phantom(ph, dest)
    assert [p.name for p in dest.iterdir()] == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".busy")]


def test_dicom_phantom_carries_the_fake_identity(tmp_path, phantom_cache):
    pydicom = pytest.importorskip("pydicom")
    pytest.importorskip("twinsep.io")
    ph = phantom_cache("vertical-partial", size=40)
    out = write_phantom(ph, tmp_path / "d", dicom=True, patient_name="DOE^JANE", patient_id="X123")
    files = sorted((out / "ct").glob("*.dcm"))
    assert len(files) == ph.ct.shape[2]
    ds = pydicom.dcmread(files[0])
    assert str(ds.PatientName) == "DOE^JANE" and ds.PatientID == "X123"
    assert not (out / "ct.nii.gz").exists()
