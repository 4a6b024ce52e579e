"""MetaImage orientation that ITK reads without a word (twinsep.io.mha_space).

A header without ``TransformMatrix`` is read as LPS by ITK; an ``AnatomicalOrientation``
that contradicts the matrix is not read at all. Before session 26 both loaded silently
(the red-team sweep's ``mha_ao_only``: a head stored RAS with only
``AnatomicalOrientation = RAS`` was planned mirrored); both now warn, as a NIfTI
without qform/sform does. Files ITK writes, oblique and permuted ones included, do not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from twinsep.io import load_scan
from twinsep.io.mha_space import orientation_code

_RNG = np.random.default_rng(5)
_CT = _RNG.integers(-1000, 1500, (10, 9, 8)).astype(np.int16)  # ITK order [k, j, i]


def _rotation(axis: tuple[float, float, float], deg: float) -> np.ndarray:
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.radians(deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def _write(path: Path, direction: np.ndarray) -> Path:
    im = sitk.GetImageFromArray(_CT)
    im.SetSpacing((0.9, 1.1, 2.0))
    im.SetOrigin((10.0, -20.0, 30.0))
    im.SetDirection(tuple(np.asarray(direction, float).ravel()))
    sitk.WriteImage(im, str(path))
    return path


def _edit_header(path: Path, drop: tuple[str, ...] = (), set_orientation: str = "") -> None:
    head, sep, body = path.read_bytes().partition(b"ElementDataFile = LOCAL\n")
    lines = [ln for ln in head.decode().splitlines() if not ln.startswith(drop)]
    if set_orientation:
        lines = [ln for ln in lines if not ln.startswith("AnatomicalOrientation")]
        lines.append(f"AnatomicalOrientation = {set_orientation}")
    path.write_bytes(("\n".join(lines) + "\n").encode() + sep + body)


def _orientation_warnings(path: Path) -> list[str]:
    return [w for w in load_scan(path).info.warnings if "MetaImage" in w]


@pytest.mark.parametrize(
    "direction",
    [
        np.eye(3),
        np.diag([-1.0, -1.0, 1.0]),
        np.array([[0.0, 0, 1], [1, 0, 0], [0, -1, 0]]),  # sagittal
        _rotation((1, 0.5, 0.2), 40.0),  # oblique: ITK names the nearest axes
    ],
)
def test_files_itk_writes_load_without_a_warning(tmp_path: Path, direction: np.ndarray) -> None:
    path = _write(tmp_path / "ct.mha", direction)
    assert _orientation_warnings(path) == []
    written = [
        ln.split("=")[1].strip()
        for ln in path.read_bytes()[:600].decode("latin-1").splitlines()
        if ln.startswith("AnatomicalOrientation")
    ]
    assert written == [orientation_code(direction)]  # ITK's naming, reproduced


def test_a_header_without_a_direction_is_warned_about(tmp_path: Path) -> None:
    ref = load_scan(_write(tmp_path / "ref.mha", np.eye(3)))
    path = _write(tmp_path / "ct.mha", np.eye(3))
    _edit_header(path, drop=("TransformMatrix",), set_orientation="RAS")
    scan = load_scan(path)
    np.testing.assert_allclose(scan.volume.affine, ref.volume.affine)  # read as ITK does
    (warning,) = _orientation_warnings(path)
    assert "gives no direction" in warning and "left-right may be wrong" in warning


def test_an_orientation_that_contradicts_the_matrix_is_warned_about(tmp_path: Path) -> None:
    flipped = np.diag([-1.0, -1.0, 1.0])
    path = _write(tmp_path / "ct.mha", flipped)
    ref = load_scan(path)
    _edit_header(path, set_orientation="RAI")  # says identity, the matrix flips x and y
    scan = load_scan(path)
    np.testing.assert_allclose(scan.volume.affine, ref.volume.affine)  # the matrix is used
    (warning,) = _orientation_warnings(path)
    assert "AnatomicalOrientation RAI disagrees" in warning and "(LPI " in warning
    _edit_header(path, set_orientation="???")  # MetaIO's "unknown": nothing to compare
    assert _orientation_warnings(path) == []
