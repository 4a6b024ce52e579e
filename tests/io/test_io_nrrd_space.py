"""NRRD ``space units`` and ``space``, which ITK's reader does not apply.

Found by the red-team sweep (2026-11-28): a NRRD in centimetres was planned as a head
ten times too small (ITK ignores ``space units``), and ``scanner-xyz``,
``3D-right-handed``, ``3D-left-handed`` or no ``space`` at all were read as LPS without
a word, so left and right (and which twin is A) were a guess nobody was told about.
The expected affines are written out by hand from the header, not from a reader.
"""

from __future__ import annotations

from pathlib import Path

import nrrd
import numpy as np
import pytest

from twinsep.io import load_scan, read_label_map

#: The header's space directions (one row per voxel axis) and origin, in its own unit.
_DIRS = np.array([[0.5, 0.0, 0.0], [0.0, 0.4, 0.0], [0.0, 0.0, 1.5]])
_ORIGIN = np.array([3.0, -4.0, 5.0])
_MARK = (3, 5, 7)


def _array() -> np.ndarray:
    rng = np.random.default_rng(11)
    arr = rng.integers(-1000, 1500, size=(12, 10, 9)).astype(np.int16)
    arr[_MARK] = 3000
    return arr


def _write(path: Path, arr: np.ndarray, **fields: object) -> Path:
    header: dict[str, object] = {
        "space": "left-posterior-superior",
        "space directions": _DIRS.tolist(),
        "space origin": _ORIGIN.tolist(),
    }
    header.update({k.replace("_", " "): v for k, v in fields.items()})
    header = {k: v for k, v in header.items() if v is not None}
    detached = path.suffix == ".nhdr"
    nrrd.write(str(path), arr, header, detached_header=detached)
    return path


def _ras(scale: float) -> np.ndarray:
    """The RAS affine of the LPS header, its lengths times ``scale`` (to mm)."""
    aff = np.eye(4)
    aff[:3, :3] = _DIRS.T * scale
    aff[:3, 3] = _ORIGIN * scale
    aff[:2, :] *= -1.0  # LPS -> RAS
    return aff


@pytest.mark.parametrize("suffix", [".nrrd", ".nhdr"])
@pytest.mark.parametrize(
    ("unit", "scale"),
    [("mm", 1.0), ("", 1.0), ("cm", 10.0), ("centimeters", 10.0), ("m", 1000.0), ("um", 1e-3)],
)
def test_space_units_become_mm(tmp_path: Path, suffix: str, unit: str, scale: float) -> None:
    arr = _array()
    # lengths stored in the file's unit: the same 0.5/0.4/1.5 mm voxels in every case
    dirs, origin = _DIRS / scale, _ORIGIN / scale
    path = tmp_path / f"ct{suffix}"
    nrrd.write(
        str(path),
        arr,
        {
            "space": "left-posterior-superior",
            "space directions": dirs.tolist(),
            "space origin": origin.tolist(),
            "space units": [unit] * 3,
        },
        detached_header=suffix == ".nhdr",
    )
    scan = load_scan(path)
    np.testing.assert_allclose(scan.volume.affine, _ras(1.0), atol=1e-6)
    np.testing.assert_array_equal(scan.volume.array, arr)
    world = _ras(1.0) @ np.array([*_MARK, 1.0])
    ijk = np.rint(np.linalg.solve(scan.volume.affine, world)[:3]).astype(int)
    assert scan.volume.array[tuple(ijk)] == 3000
    converted = [w for w in scan.info.warnings if "converted to mm" in w]
    assert len(converted) == (0 if scale == 1.0 else 1), scan.info.warnings


def test_label_map_units_converted_like_the_scan(tmp_path: Path) -> None:
    """An edited label map in cm lands on the scan's mm grid (one reader for both)."""
    lab = (_array() > 0).astype(np.uint8)
    p = tmp_path / "labels.nrrd"
    nrrd.write(
        str(p),
        lab,
        {
            "space": "left-posterior-superior",
            "space directions": (_DIRS / 10.0).tolist(),
            "space origin": (_ORIGIN / 10.0).tolist(),
            "space units": ["cm", "cm", "cm"],
        },
    )
    np.testing.assert_allclose(read_label_map(p).affine, _ras(1.0), atol=1e-6)


@pytest.mark.parametrize(
    "space",
    ["right-anterior-superior", "left-anterior-superior", "left-posterior-superior", "RAS"],
)
def test_anatomical_space_is_not_warned(tmp_path: Path, space: str) -> None:
    scan = load_scan(_write(tmp_path / "ct.nrrd", _array(), space=space))
    assert not [w for w in scan.info.warnings if "NRRD" in w], scan.info.warnings


def test_ras_and_las_headers_read_by_hand(tmp_path: Path) -> None:
    """The frames ITK does convert: the affine is the header's, signs per the frame."""
    ras = load_scan(_write(tmp_path / "ras.nrrd", _array(), space="right-anterior-superior"))
    want = np.eye(4)
    want[:3, :3], want[:3, 3] = _DIRS.T, _ORIGIN
    np.testing.assert_allclose(ras.volume.affine, want, atol=1e-6)
    las = load_scan(_write(tmp_path / "las.nrrd", _array(), space="left-anterior-superior"))
    want[0, :] *= -1.0
    np.testing.assert_allclose(las.volume.affine, want, atol=1e-6)


@pytest.mark.parametrize("space", ["scanner-xyz", "3D-right-handed", "3D-left-handed", None])
def test_space_without_a_patient_frame_is_warned(tmp_path: Path, space: str | None) -> None:
    fields: dict[str, object] = {"space": space}
    if space is None:
        fields["space_dimension"] = 3
    scan = load_scan(_write(tmp_path / "ct.nrrd", _array(), **fields))
    said = [w for w in scan.info.warnings if "names no patient frame" in w]
    assert len(said) == 1 and "left-right may be wrong" in said[0], scan.info.warnings
    assert (space or "names no space") in said[0]


def test_spacings_only_is_warned(tmp_path: Path) -> None:
    p = tmp_path / "ct.nrrd"
    nrrd.write(str(p), _array(), {"spacings": [0.5, 0.4, 1.5]})
    scan = load_scan(p)
    assert any("names no patient frame" in w for w in scan.info.warnings), scan.info.warnings
    np.testing.assert_allclose(scan.volume.spacing_mm, [0.5, 0.4, 1.5])


@pytest.mark.parametrize("unit", ["s", "S"])
def test_seconds_are_not_read_as_mm(tmp_path: Path, unit: str) -> None:
    """``"s"`` lost its plural "s" and became ``""`` (unspecified, mm): a scan in seconds
    was read as mm without a word. It is not a length: refused in one line."""
    from twinsep.errors import ScanError

    p = _write(tmp_path / "ct.nrrd", _array(), space_units=[unit] * 3)
    with pytest.raises(ScanError) as exc:
        load_scan(p)
    msg = exc.value.one_line()
    assert msg.startswith(str(p)) and f"space units {unit!r}" in msg and "\n" not in msg
