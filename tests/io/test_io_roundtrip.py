"""Round trips through every format keep the array and the world geometry exactly.

Each comparison is against the volume we wrote (ground truth), and DICOM/NIfTI files
are also read with SimpleITK and NRRD with pynrrd: independent readers that catch
an error made symmetrically in our writer and our reader.
"""

from __future__ import annotations

from pathlib import Path

import nrrd
import numpy as np
import pytest
import SimpleITK as sitk
from io_volumes import AFFINES, MARK_IJK, MARK_VALUE, make_volume

from twinsep.io import load_scan, save_volume, write_dicom_series
from twinsep.io.formats import itk_affine_ras
from twinsep.volume import LPS_TO_RAS, Volume, apply_affine

# Geometry tolerance: 1e-4 mm. NIfTI stores the affine as float32, whose rounding on
# coordinates of ~100 mm is ~1e-5 mm; any real bug (a swapped axis, a missed LPS flip,
# half-voxel shift) is >= 0.4 mm here.
ATOL_MM = 1e-4

FORMATS = ("nii.gz", "nii", "nrrd", "mha", "dicom")


def _write(vol: Volume, folder: Path, fmt: str) -> Path:
    if fmt == "dicom":
        write_dicom_series(vol, folder / "series")
        return folder / "series"
    return save_volume(vol, folder / f"vol.{fmt}")


def _expected_after(vol: Volume, fmt: str) -> Volume:
    """DICOM stacks are right-handed: a left-handed volume comes back with k reversed."""
    if fmt == "dicom" and np.linalg.det(vol.affine[:3, :3]) < 0:
        nk = vol.shape[2]
        flip = np.eye(4)
        flip[2, 2] = -1.0
        flip[2, 3] = nk - 1
        return Volume(vol.array[:, :, ::-1], vol.affine @ flip)
    return vol


def _assert_same(got: Volume, ref: Volume) -> None:
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got.array, ref.array)
    np.testing.assert_allclose(got.affine, ref.affine, atol=ATOL_MM, rtol=0)
    # The marker voxel sits at the same world point (checks the whole index->world chain).
    found = np.argwhere(got.array == MARK_VALUE)
    assert len(found) == 1
    want_mm = apply_affine(ref.affine, np.argwhere(ref.array == MARK_VALUE)[0])
    np.testing.assert_allclose(apply_affine(got.affine, found[0]), want_mm, atol=ATOL_MM)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("affine_name", AFFINES)
def test_roundtrip_exact(affine_name: str, fmt: str, tmp_path: Path) -> None:
    vol = make_volume(affine_name)
    path = _write(vol, tmp_path, fmt)
    scan = load_scan(path)
    _assert_same(scan.volume, _expected_after(vol, fmt))
    assert scan.info.format == {"nii.gz": "nifti", "nii": "nifti"}.get(fmt, fmt)
    assert scan.volume.array.dtype == np.int16
    np.testing.assert_allclose(scan.info.spacing_mm, vol.spacing_mm, atol=ATOL_MM)


def test_chain_through_all_formats(tmp_path: Path) -> None:
    # NIfTI -> DICOM -> NRRD -> MHA -> NIfTI, each step reading what the last one wrote.
    ref = make_volume("oblique", seed=3)
    cur = ref
    for n, fmt in enumerate(("nii.gz", "dicom", "nrrd", "mha", "nii")):
        step = tmp_path / f"step{n}"
        step.mkdir()
        cur = load_scan(_write(cur, step, fmt)).volume
        _assert_same(cur, ref)


@pytest.mark.parametrize("affine_name", AFFINES)
def test_dicom_matches_simpleitk(affine_name: str, tmp_path: Path) -> None:
    vol = make_volume(affine_name, seed=1)
    write_dicom_series(vol, tmp_path / "s")
    ours = load_scan(tmp_path / "s").volume
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "s")))
    img = reader.Execute()
    itk_arr = sitk.GetArrayFromImage(img).transpose(2, 1, 0)
    np.testing.assert_array_equal(ours.array, itk_arr)
    itk_aff = itk_affine_ras(img.GetSpacing(), img.GetOrigin(), img.GetDirection())
    np.testing.assert_allclose(ours.affine, itk_aff, atol=ATOL_MM)


@pytest.mark.parametrize("affine_name", AFFINES)
def test_nifti_matches_simpleitk(affine_name: str, tmp_path: Path) -> None:
    vol = make_volume(affine_name, seed=2)
    p = save_volume(vol, tmp_path / "v.nii.gz")
    img = sitk.ReadImage(str(p))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img).transpose(2, 1, 0), vol.array)
    itk_aff = itk_affine_ras(img.GetSpacing(), img.GetOrigin(), img.GetDirection())
    np.testing.assert_allclose(itk_aff, vol.affine, atol=ATOL_MM)


def test_nrrd_header_is_lps_per_pynrrd(tmp_path: Path) -> None:
    vol = make_volume("oblique", seed=4)
    p = save_volume(vol, tmp_path / "v.nrrd")
    data, header = nrrd.read(str(p))
    np.testing.assert_array_equal(data, vol.array)  # pynrrd reads Fortran order: [i, j, k]
    lps = LPS_TO_RAS @ vol.affine
    np.testing.assert_allclose(np.asarray(header["space directions"]), lps[:3, :3].T, atol=1e-9)
    np.testing.assert_allclose(np.asarray(header["space origin"]), lps[:3, 3], atol=1e-9)


def test_world_coordinates_of_marker_known(tmp_path: Path) -> None:
    # Independent of any reader: the marker's world position from the affine by hand.
    vol = make_volume("lps_axial")
    i, j, k = MARK_IJK
    want = np.array([100.2 - 0.8 * i, 90.7 - 0.8 * j, -50.3 + 1.25 * k])
    for fmt in FORMATS:
        sub = tmp_path / fmt.replace(".", "_")
        sub.mkdir()
        got = load_scan(_write(vol, sub, fmt)).volume
        idx = np.argwhere(got.array == MARK_VALUE)[0]
        np.testing.assert_allclose(got.world_coords(idx), want, atol=ATOL_MM, err_msg=fmt)


@pytest.mark.parametrize("order", ["C", "F", "view"])
def test_nifti_voxels_same_for_any_memory_order(tmp_path, order):
    """The threaded Fortran-order copy before writing keeps every voxel and the bytes:
    the file equals nibabel's own encoding of the array (odd sizes: ragged slabs)."""
    import gzip

    import nibabel as nib

    rng = np.random.default_rng(3)
    base = rng.integers(0, 6, size=(13, 11, 9)).astype(np.uint8)
    arr = {"C": base, "F": np.asfortranarray(base), "view": base[:, ::-1, :]}[order]
    aff = np.diag([0.5, 0.7, 1.3, 1.0])
    path = save_volume(Volume(arr, aff), tmp_path / "x.nii.gz")
    img = nib.Nifti1Image(np.ascontiguousarray(arr), aff)
    img.header.set_xyzt_units("mm", "sec")
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    assert gzip.decompress(path.read_bytes()) == img.to_bytes()
    back = nib.load(str(path))
    assert np.array_equal(np.asarray(back.dataobj), arr)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".hdr"])
@pytest.mark.parametrize(("unit", "scale"), [("meter", 1e-3), ("micron", 1e3), ("mm", 1.0)])
@pytest.mark.parametrize("dtype", [np.int16, np.float32])
def test_nifti_spatial_units_become_mm(tmp_path, suffix, unit, scale, dtype):
    """A NIfTI stored in metres or microns is read in mm, as ITK reads it (nibabel keeps
    the file's unit): spacing and origin scaled, with a warning; mm files unchanged."""
    import nibabel as nib

    from twinsep.io import load_scan

    rng = np.random.default_rng(5)
    arr = rng.normal(0.0, 400.0, (14, 12, 10)).astype(dtype)
    arr[0, 0, 0], arr[1, 1, 1] = -1000, 1200
    aff_mm = np.array(
        [[0.0, -0.8, 0.0, 40.0], [0.9, 0.0, 0.0, -12.5], [0.0, 0.0, 2.5, 7.0], [0, 0, 0, 1]]
    )
    aff = aff_mm.copy()
    aff[:3, :] *= scale
    klass = nib.Nifti1Pair if suffix == ".hdr" else nib.Nifti1Image
    img = klass(arr, aff)
    img.header.set_xyzt_units(unit, "sec")
    img.set_sform(aff, code=1)
    img.set_qform(aff, code=1)
    path = tmp_path / f"ct{suffix}"
    nib.save(img, str(path))
    scan = load_scan(path)
    np.testing.assert_allclose(scan.volume.affine, aff_mm, atol=1e-4)
    np.testing.assert_array_equal(scan.volume.array, arr)
    converted = [w for w in scan.info.warnings if "converted to mm" in w]
    assert len(converted) == (0 if unit == "mm" else 1)
