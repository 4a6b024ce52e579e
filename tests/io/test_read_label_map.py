"""read_label_map: the one reader for label maps (load_scan refuses them)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.errors import ScanError
from twinsep.io import read_label_map, save_volume
from twinsep.volume import Volume


def _oblique_affine() -> np.ndarray:
    t = np.deg2rad(17.0)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([-0.8, 1.1, 2.5])  # flipped i, anisotropic
    aff[:3, 3] = [12.5, -40.0, 7.25]
    return aff


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd", ".mha"])
def test_round_trip_keeps_values_and_grid(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 6, size=(9, 7, 5)).astype(np.uint8)
    vol = Volume(arr, _oblique_affine())
    path = tmp_path / f"labels{suffix}"
    save_volume(vol, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    back = read_label_map(path)
    assert back.array.dtype == np.uint8
    assert np.array_equal(back.array, arr)
    assert np.allclose(back.affine, vol.affine, atol=1e-5)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # input untouched


def _write_nifti(path: Path, arr: np.ndarray) -> None:
    nib.save(nib.Nifti1Image(arr, np.eye(4)), str(path))


@pytest.mark.parametrize(
    "arr, needle",
    [
        (np.full((4, 4, 4), 1.5, np.float32), "non-integer"),
        (np.full((4, 4, 4), np.nan, np.float32), "non-integer"),
        (np.full((4, 4, 4), -1, np.int16), "outside 0..255"),
        (np.full((4, 4, 4), 300, np.int16), "outside 0..255"),
    ],
)
def test_not_a_label_map(tmp_path: Path, arr: np.ndarray, needle: str) -> None:
    path = tmp_path / "x.nii.gz"
    _write_nifti(path, arr)
    with pytest.raises(ScanError, match=needle) as info:
        read_label_map(path)
    assert str(path) in info.value.one_line() and "\n" not in info.value.one_line()


def test_whole_float_values_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "twins.nii.gz"
    arr = np.zeros((4, 4, 4), np.float32)
    arr[1:3] = 2.0
    _write_nifti(path, arr)
    assert read_label_map(path).array.max() == 2


def test_missing_and_unsupported(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="not found"):
        read_label_map(tmp_path / "labels.nii.gz")
    other = tmp_path / "labels.png"
    other.write_bytes(b"\x89PNG")
    with pytest.raises(ScanError, match="not a label map format"):
        read_label_map(other)
