"""NIfTI header extensions longer than the first kilobyte of the file.

The header was parsed from the file's first 1024 bytes, so a valid NIfTI whose
extensions ran past them (AFNI stores its attributes as an extension of several kB; a
comment, JSON or CIFTI extension can be larger) was refused as "unreadable NIfTI
header (failed to read extension content)". Found in the session-25 sweep.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.io import load_scan

_AFFINE = np.array([[0.9, 0, 0, -10.0], [0, 1.1, 0, 5.0], [0, 0, 2.0, -3.0], [0, 0, 0, 1]])


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz", ".hdr"])
@pytest.mark.parametrize("n_bytes", [100, 5000, 200_000])
def test_extensions_of_any_length_load_the_same_voxels(
    tmp_path: Path, suffix: str, n_bytes: int
) -> None:
    arr = np.random.default_rng(7).integers(-1000, 1500, (20, 18, 10)).astype(np.int16)
    klass = nib.Nifti1Pair if suffix == ".hdr" else nib.Nifti1Image
    img = klass(arr, _AFFINE)
    img.header.extensions.append(nib.nifti1.Nifti1Extension(6, b"afni-like " * (n_bytes // 10)))
    path = tmp_path / f"ct{suffix}"
    nib.save(img, str(path))
    scan = load_scan(path)
    np.testing.assert_array_equal(scan.volume.array, arr)
    np.testing.assert_allclose(scan.volume.affine, _AFFINE, atol=1e-5)
