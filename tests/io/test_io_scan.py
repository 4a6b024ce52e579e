"""load_scan as a whole: PHI, input immutability, determinism, modality, dtypes, describe."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from io_volumes import make_volume

from twinsep.io import describe_scan, load_scan, save_volume, write_dicom_series
from twinsep.volume import Volume

PHI = {
    "PatientName": "Doe^Jane",
    "PatientID": "PID-98765",
    "PatientBirthDate": "19990101",
    "InstitutionName": "Saint Example Hospital",
    "AccessionNumber": "ACC-424242",
    "ReferringPhysicianName": "Who^Doctor",
}


def _phi_series(folder: Path) -> tuple[Path, str]:
    vol = make_volume("oblique", seed=11)
    files = write_dicom_series(
        vol,
        folder,
        patient_name=PHI["PatientName"],
        patient_id=PHI["PatientID"],
        birth_date=PHI["PatientBirthDate"],
    )
    for f in files:
        ds = pydicom.dcmread(f)
        ds.InstitutionName = PHI["InstitutionName"]
        ds.AccessionNumber = PHI["AccessionNumber"]
        ds.ReferringPhysicianName = PHI["ReferringPhysicianName"]
        ds.save_as(f, enforce_file_format=True)
    return folder, str(pydicom.dcmread(files[0]).SeriesInstanceUID)


def test_phi_never_in_info_by_default(tmp_path: Path) -> None:
    folder, uid = _phi_series(tmp_path / "patient")
    scan = load_scan(folder)
    text = scan.info.model_dump_json() + describe_scan(scan) + repr(scan.volume.meta)
    for value in (*PHI.values(), "Doe", "98765", "1999", uid):
        assert value not in text, value
    assert scan.info.deidentified and scan.info.phi is None
    assert scan.info.series_uid_hash is not None and len(scan.info.series_uid_hash) == 16


def test_keep_phi_keeps_it_in_phi_only(tmp_path: Path) -> None:
    folder, _ = _phi_series(tmp_path / "patient")
    scan = load_scan(folder, keep_phi=True)
    assert scan.info.phi is not None
    for key, value in PHI.items():
        assert scan.info.phi[key] == value
    assert not scan.info.deidentified
    assert "PATIENT DATA KEPT" in describe_scan(scan)


def _tree_digest(path: Path) -> dict[str, tuple[str, int, int]]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    out = {}
    for f in files:
        st = f.stat()
        out[str(f)] = (hashlib.sha256(f.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_mode)
    return out


@pytest.mark.parametrize("fmt", ["nii.gz", "nii", "nrrd", "mha", "dicom"])
def test_load_never_modifies_input(fmt: str, tmp_path: Path) -> None:
    vol = make_volume("lsa", seed=12)
    if fmt == "dicom":
        path = tmp_path / "s"
        write_dicom_series(vol, path)
    else:
        path = save_volume(vol, tmp_path / f"v.{fmt}")
    before = _tree_digest(path)
    listing = sorted(os.listdir(tmp_path))
    scan = load_scan(path)
    scan.volume.array[0, 0, 0] += 1  # the loaded array is ours to change ...
    assert _tree_digest(path) == before  # ... the file is not touched
    assert sorted(os.listdir(tmp_path)) == listing  # and nothing new appears beside it


def test_writers_do_not_modify_the_volume(tmp_path: Path) -> None:
    vol = make_volume("oblique", seed=13)
    arr_hash = hashlib.sha256(vol.array.tobytes()).hexdigest()
    aff = vol.affine.copy()
    save_volume(vol, tmp_path / "a.nii.gz")
    save_volume(vol, tmp_path / "a.mha")
    write_dicom_series(vol, tmp_path / "d")
    assert hashlib.sha256(vol.array.tobytes()).hexdigest() == arr_hash
    np.testing.assert_array_equal(vol.affine, aff)


def test_nii_gz_bytes_are_reproducible(tmp_path: Path) -> None:
    vol = make_volume("oblique", seed=14)
    a = save_volume(vol, tmp_path / "a.nii.gz").read_bytes()
    os.utime(tmp_path, (0, 0))
    b = save_volume(vol, tmp_path / "b.nii.gz").read_bytes()
    assert a == b
    assert a[4:8] == b"\x00\x00\x00\x00"  # gzip MTIME field is zero


def test_sha256_of_a_file_is_its_bytes(tmp_path: Path) -> None:
    p = save_volume(make_volume("lsa"), tmp_path / "v.nii.gz")
    assert load_scan(p).info.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_modality_guess_from_value_range(tmp_path: Path) -> None:
    ct = load_scan(save_volume(make_volume("lsa"), tmp_path / "ct.nii.gz"))
    assert ct.info.modality == "CT" and ct.info.modality_guessed
    assert any("guessed as CT" in w for w in ct.info.warnings)
    rng = np.random.default_rng(1)
    mr_arr = rng.integers(0, 900, size=(12, 12, 12)).astype(np.int16)
    mr = load_scan(save_volume(Volume(mr_arr, np.eye(4)), tmp_path / "mr.nii.gz"))
    assert mr.info.modality == "MR" and any("guessed as MR" in w for w in mr.info.warnings)


def test_itk_fast_path_only_for_intact_integer_nifti(tmp_path: Path) -> None:
    import io as stdio
    import zlib

    from twinsep.io.formats import _read_nifti_itk

    def header_and_first(p: Path) -> tuple[nib.Nifti1Header, bytes]:
        first = p.read_bytes()[:65536]
        head = zlib.decompressobj(31).decompress(first, 1024)
        return nib.Nifti1Header.from_fileobj(stdio.BytesIO(head)), first

    vol = make_volume("oblique", seed=21)
    p = save_volume(vol, tmp_path / "int.nii.gz")
    hdr, first = header_and_first(p)
    fast = _read_nifti_itk(p, hdr, vol.shape, first)
    assert fast is not None  # the fast path is taken for intact int16 data
    np.testing.assert_array_equal(fast.array, vol.array)
    np.testing.assert_allclose(fast.affine, vol.affine, atol=1e-4)
    assert fast.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    # Same file with a wrong CRC: ITK would read it, the check sends it to nibabel.
    bad = tmp_path / "crc.nii.gz"
    data = bytearray(p.read_bytes())
    data[-7] ^= 0x01
    bad.write_bytes(bytes(data))
    assert _read_nifti_itk(bad, hdr, vol.shape, bytes(data[:65536])) is None
    # Float data never goes through ITK (it turns NaN into numbers): load_scan must see NaN.
    fl = vol.array.astype(np.float32)
    fl[1, 2, 3] = np.nan
    fp = save_volume(Volume(fl, vol.affine), tmp_path / "float.nii.gz")
    from twinsep.errors import ScanError

    with pytest.raises(ScanError, match="NaN"):
        load_scan(fp)


def test_nifti_scaling_is_applied(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    raw = rng.integers(0, 4000, size=(10, 11, 12)).astype(np.int16)
    img = nib.Nifti1Image(raw, np.diag([1.0, 1.0, 2.0, 1.0]))
    img.header.set_slope_inter(0.5, -1024.0)
    p = tmp_path / "scaled.nii"
    nib.save(img, p)
    got = load_scan(p).volume.array
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, raw.astype(np.float32) * 0.5 - 1024.0)


def test_integer_offset_scaling_stays_int16(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 3000, size=(10, 11, 12)).astype(np.uint16)
    img = nib.Nifti1Image(raw, np.eye(4))
    img.header.set_slope_inter(1.0, -1024.0)
    p = tmp_path / "offset.nii.gz"
    nib.save(img, p)
    got = load_scan(p).volume.array
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, raw.astype(np.int32) - 1024)


def test_dtype_policy(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    big = rng.integers(0, 60000, size=(10, 10, 10)).astype(np.uint16)
    got = load_scan(save_volume(Volume(big, np.eye(4)), tmp_path / "big.nrrd")).volume.array
    assert got.dtype == np.float32  # does not fit int16: kept exactly as float32
    np.testing.assert_array_equal(got, big.astype(np.float32))
    small = rng.integers(-500, 500, size=(10, 10, 10)).astype(np.int32)
    got = load_scan(save_volume(Volume(small, np.eye(4)), tmp_path / "s.mha")).volume.array
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, small)


def test_4d_with_one_volume_is_squeezed(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(-1000, 1000, size=(9, 8, 7, 1)).astype(np.int16)
    p = tmp_path / "one_tp.nii.gz"
    nib.save(nib.Nifti1Image(a, np.diag([1.0, 1.0, 1.0, 1.0])), p)
    got = load_scan(p).volume
    assert got.shape == (9, 8, 7)
    np.testing.assert_array_equal(got.array, a[..., 0])


def test_nifti_without_orientation_warns(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    img = nib.Nifti1Image(rng.integers(-1000, 1000, size=(8, 8, 8)).astype(np.int16), None)
    img.header.set_sform(None, code=0)
    img.header.set_qform(None, code=0)
    p = tmp_path / "noorient.nii"
    nib.save(img, p)
    assert any("orientation is unknown" in w for w in load_scan(p).info.warnings)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti_qform_sform_disagreement_warns(suffix: str, tmp_path: Path) -> None:
    """sform 15 deg oblique, qform straight (a sweep case): the sform places the volume,
    and a warning gives how far apart the two placements put its corners."""
    arr = np.random.default_rng(7).integers(-1000, 1500, size=(20, 20, 20)).astype(np.int16)
    t = np.radians(15.0)
    sform = np.eye(4)
    sform[1:3, 1:3] = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
    img = nib.Nifti1Image(arr, None)
    img.set_qform(np.eye(4), code=1)
    img.set_sform(sform, code=1)
    p = tmp_path / f"qs{suffix}"
    nib.save(img, p)
    scan = load_scan(p)
    np.testing.assert_allclose(scan.volume.affine, sform, atol=1e-6)
    # corner (19, 19, 19): |(S - I) c| = 19 * |(0, c - s - 1, s + c - 1)|
    gap = 19.0 * np.hypot(np.cos(t) - np.sin(t) - 1.0, np.sin(t) + np.cos(t) - 1.0)
    assert any(f"up to {gap:.1f} mm apart" in w for w in scan.info.warnings), scan.info.warnings
    img.set_qform(sform, code=1)  # the same oblique affine in both: no warning
    nib.save(img, p)
    assert not any("qform and sform" in w for w in load_scan(p).info.warnings)


def test_misnamed_file_is_sniffed(tmp_path: Path) -> None:
    vol = make_volume("lsa")
    p = save_volume(vol, tmp_path / "v.nrrd")
    odd = p.rename(tmp_path / "scan.bin")
    got = load_scan(odd)
    assert got.info.format == "nrrd"
    np.testing.assert_array_equal(got.volume.array, vol.array)


def test_describe_scan_lists_the_facts(tmp_path: Path) -> None:
    vol = make_volume("lps_axial")
    write_dicom_series(vol, tmp_path / "s")
    text = describe_scan(load_scan(tmp_path / "s"))
    assert "format:      dicom (12 files)" in text
    assert "20 × 18 × 12 voxels (int16)" in text
    assert "0.8 × 0.8 × 1.25 mm" in text
    assert "orientation: LPS" in text
    assert "-1000 .. 3000 HU" in text
    assert "warnings:    none" in text


def test_folder_named_after_the_patient_is_withheld(tmp_path: Path) -> None:
    """A PACS export folder named after the patient: the loader says so, and plan.json
    records a neutral name (the sweep found the name in input.path and options)."""
    from twinsep.io.scan import path_names_patient
    from twinsep.plan import WITHHELD_PATH, PlanOptions, assemble_plan

    vol = make_volume("lps_axial", shape=(12, 10, 8), seed=3)
    named = tmp_path / "Doe_Janet_PID4471"
    named.mkdir()
    write_dicom_series(vol, named / "CT", patient_name="DOE^JANET", patient_id="PID4471")
    assert load_scan(named).info.path_names_patient  # the series is found in CT/
    assert not load_scan(named / "CT").info.path_names_patient
    phi = {"PatientName": "DOE^JANET", "PatientID": "PID4471", "PatientBirthDate": "20190417"}
    assert path_names_patient("x/scan_2019-04-17", phi)  # separators ignored
    assert not path_names_patient("x/doe", {"PatientName": "DO^JA"})  # 2-letter parts
    # the ideographic and phonetic groups of a name (PS3.5 6.2.1, "=" between groups)
    jp = {"PatientName": "Yamada^Tarou=山田^太郎=やまだ^たろう"}
    assert path_names_patient("x/TAROU_CT", jp)  # was missed: the part was "tarou山田"
    assert path_names_patient("x/山田太郎_CT", jp) and path_names_patient("x/たろう", jp)
    assert not path_names_patient("x/頭部CT", jp)
    info = load_scan(named).info.model_dump(mode="json")
    plan = assemble_plan(PlanOptions(scan_path=named), info, {}, [], {}, {}, {})
    assert (
        plan["input"]["path"]
        == WITHHELD_PATH
        == "scan (name withheld: it holds patient identifiers)"
    )
    assert plan["options"]["scan_path"] == WITHHELD_PATH
    assert "Janet" not in json.dumps(plan) and "PID4471" not in json.dumps(plan)
    # an MR given from a folder named after the patient is withheld the same way
    ct = str(tmp_path / "ct.nii.gz")
    mr_info = {**info, "path": ct, "path_names_patient": False, "mr_path_names_patient": True}
    both = assemble_plan(
        PlanOptions(scan_path=Path(ct), mr_path=named), mr_info, {}, [], {}, {}, {}
    )
    assert both["options"]["mr_path"] == WITHHELD_PATH
    assert both["options"]["scan_path"] == "scan (name not recorded: --keep-phi records it)"
    assert "Janet" not in json.dumps(both)
    kept = assemble_plan(PlanOptions(scan_path=named, keep_phi=True), info, {}, [], {}, {}, {})
    assert kept["input"]["path"] == str(named)
