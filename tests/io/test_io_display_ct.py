"""A CT saved for display (window/level applied, 8-bit grey levels) reads 0..255, as an
8-bit MR does: the range cannot tell them apart, so it is loaded as an MR, and the
warning now says what such a CT is and what to give instead. The session 26 sweep
planned the 64-voxel vertical phantom windowed to uint8 as an MR alone without that
hint (angular instead of vertical, twins +37 %)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from twinsep.io import load_scan


def _save(arr: np.ndarray, path: Path) -> Path:
    nib.save(nib.Nifti1Image(arr, np.diag([1.0, 1.0, 2.0, 1.0])), str(path))
    return path


def test_an_8bit_scan_is_read_as_mr_with_the_display_hint(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    hu = rng.integers(-1024, 1500, (16, 14, 10))
    display = np.clip((hu + 1024) / 8, 0, 255).astype(np.uint8)  # window -1024..1016
    scan = load_scan(_save(display, tmp_path / "ct.nii.gz"))
    assert scan.info.modality == "MR" and scan.info.modality_guessed
    (note,) = [w for w in scan.info.warnings if w.startswith("modality guessed")]
    assert "saved for display" in note and "give the original CT" in note


def test_a_16bit_mr_gets_no_display_hint(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    mr = rng.integers(0, 255, (16, 14, 10)).astype(np.int16)
    scan = load_scan(_save(mr, tmp_path / "t1.nii.gz"))
    assert scan.info.modality == "MR"
    assert not [w for w in scan.info.warnings if "saved for display" in w]
