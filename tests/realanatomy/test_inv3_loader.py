"""The InVesalius 3 project reader: tiny projects written here from scratch (format and
bad-input checks), and the real ``Cranium.inv3`` of Debian invesalius-examples
(orientation facts; skipped when not installed: ``make realdata``)."""

from __future__ import annotations

import hashlib
import io
import plistlib
import tarfile
from pathlib import Path

import numpy as np
import pytest

from twinsep.errors import ScanError
from twinsep.realanatomy.invesalius import InvesaliusError, load_inv3, read_inv3_header
from twinsep.realanatomy.realct import inv3_path, prepare_head
from twinsep.volume import apply_affine

SPACING = [0.8, 0.9, 2.0]


def _main(**over: object) -> dict:
    d: dict = {
        "format_version": 1,
        "invesalius_version": "test",
        "modality": "CT",
        "name": "Doe^Jane",
        "orientation": 1,
        "scalar_range": [-1024, 3000],
        "spacing": list(SPACING),
        "window_level": 40.0,
        "window_width": 400.0,
        "matrix": {"dtype": "int16", "filename": "matrix.dat", "shape": [3, 4, 5]},
        "masks": {},
        "surfaces": {},
    }
    d.update(over)
    return d


def _matrix() -> np.ndarray:
    # distinct values so that any transpose or flip is visible
    return (np.arange(60, dtype="<i2").reshape(3, 4, 5) * 10 - 300).astype("<i2")


def _write(
    path: Path, main: dict | bytes, data: bytes | None, *, gz: bool = True, folder: str = "tmpx"
) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        raw = main if isinstance(main, bytes) else plistlib.dumps(main)
        for name, payload in (("main.plist", raw), ("matrix.dat", data)):
            if payload is None:
                continue
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def test_tiny_project_orientation_and_values(tmp_path: Path) -> None:
    m = _matrix()
    p = _write(tmp_path / "t.inv3", _main(), m.tobytes())
    before = hashlib.sha256(p.read_bytes()).hexdigest()
    v = load_inv3(p)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == before  # input untouched
    # [slice, row, column] -> [column, row, slice]
    assert v.shape == (5, 4, 3)
    for s, r, c in [(0, 0, 0), (2, 3, 4), (1, 2, 0), (0, 3, 1)]:
        assert v.array[c, r, s] == m[s, r, c]
    # spacing is (column, row, slice); columns to patient left (-x), rows anterior, slices up
    assert v.spacing_mm == pytest.approx(SPACING)
    assert v.orientation == "LAS"
    # the grid is centred on the world origin
    centre = apply_affine(v.affine, (np.array(v.shape) - 1) / 2.0)
    assert np.allclose(centre, 0.0, atol=1e-9)
    # the patient name is not carried
    assert "Doe" not in repr(v.meta)
    # an uncompressed tar (InVesalius writes both) reads the same
    p2 = _write(tmp_path / "u.inv3", _main(), m.tobytes(), gz=False)
    assert np.array_equal(load_inv3(p2).array, v.array)
    assert read_inv3_header(p)[0].shape_src == (3, 4, 5)


@pytest.mark.parametrize(
    ("main", "data", "needle"),
    [
        (_main(), _matrix().tobytes()[:-7], "bytes"),  # truncated matrix
        (
            _main(matrix={"dtype": "float64", "filename": "matrix.dat", "shape": [3, 4, 5]}),
            _matrix().tobytes(),
            "dtype",
        ),
        ({k: v for k, v in _main().items() if k != "spacing"}, _matrix().tobytes(), "spacing"),
        (_main(matrix={"dtype": "int16", "shape": [3, 4, 5]}), _matrix().tobytes(), "filename"),
        (
            _main(matrix={"dtype": "int16", "filename": "matrix.dat", "shape": [3, 4]}),
            _matrix().tobytes(),
            "shape",
        ),
        (_main(orientation=2), _matrix().tobytes(), "axial"),
        (_main(modality="MRI"), _matrix().tobytes(), "CT"),
        (_main(spacing=[0.8, 0.0, 2.0]), _matrix().tobytes(), "spacing"),
        (_main(spacing=[0.8, True, 2.0]), _matrix().tobytes(), "spacing"),
        (_main(), _matrix().byteswap().tobytes(), "byte order"),  # big-endian data
        (_main(), None, "matrix.dat"),  # no matrix in the archive
        (b"<plist><dict><key>a</key>", _matrix().tobytes(), "property list"),
        (_main(affine=[[1, 0, 0, 0]] * 4), _matrix().tobytes(), "affine"),
    ],
)
def test_bad_projects_one_line_naming_the_file(
    tmp_path: Path, main: dict | bytes, data: bytes | None, needle: str
) -> None:
    p = _write(tmp_path / "bad.inv3", main, data)
    with pytest.raises(InvesaliusError) as ei:
        load_inv3(p)
    msg = ei.value.one_line()
    assert isinstance(ei.value, ScanError)  # an InputError: the CLI exits 2
    assert "\n" not in msg and str(p) in msg
    assert needle in msg


def test_not_a_tar_and_truncated_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.inv3"
    junk.write_bytes(b"this is not a tar archive at all" * 20)
    with pytest.raises(InvesaliusError, match="junk.inv3"):
        load_inv3(junk)
    good = _write(tmp_path / "g.inv3", _main(), _matrix().tobytes())
    cut = tmp_path / "cut.inv3"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(InvesaliusError, match="cut.inv3"):
        load_inv3(cut)


REAL = inv3_path()
real = pytest.mark.skipif(
    REAL is None, reason="Cranium.inv3 (Debian invesalius-examples) not installed: make realdata"
)


@pytest.fixture(scope="module")
def cranium():
    assert REAL is not None
    ct = load_inv3(REAL)
    return ct, prepare_head(ct)


@real
@pytest.mark.realdata
def test_cranium_geometry_and_hu(cranium) -> None:
    ct, prep = cranium
    assert ct.shape == (256, 256, 108)
    assert ct.spacing_mm == pytest.approx((0.9570312, 0.9570312, 1.5), abs=1e-6)
    assert ct.array.dtype == np.int16
    # HU: air clipped at -1024 (the scanner's floor), dense bone/holder below the
    # stored range's top 3033
    assert ct.array.min() == -1024 and 2000 < ct.array.max() <= 3033
    # body threshold half-way between the air (-1000) and soft-tissue (~20) peaks
    assert -520 < prep.body_threshold_hu < -460
    # an adult head cut at the skull base: 2.5-4.5 litres inside the field of view
    head_ml = prep.head.sum() * ct.voxel_volume_mm3 / 1000
    assert 2500 < head_ml < 4500


@real
@pytest.mark.realdata
def test_cranium_orientation_facts(cranium) -> None:
    """Vertex up, face anterior, head holder posterior: the affine agrees with anatomy."""
    ct, prep = cranium
    w = ct.world_coords
    head = prep.head
    c = prep.centre_mm
    # the vertex is the highest world-z end of the skull: the head's axial section
    # shrinks to a dome cap at the top and is wide where the scan cuts the face
    z = w(np.argwhere(head))[:, 2]
    zs = np.sort(np.unique(np.round(z, 3)))
    area = np.array([(np.abs(z - s) < 1e-3).sum() for s in zs])
    assert area[-1] < 0.15 * area.max()
    assert area[0] > 0.5 * area.max()
    bone = head & (ct.array > 300)
    bz = w(np.argwhere(bone))[:, 2]
    assert bz.max() > z.max() - 8.0  # the skull reaches the top of the head
    # the face is anterior (+y): the paranasal air (inside the head, below -500 HU)
    # lies in front of and below the cranial centre
    sinus = head & (ct.array < -500)
    sc = w(np.argwhere(sinus)).mean(axis=0)
    assert sc[1] > c[1] + 40.0 and sc[2] < c[2] - 20.0
    # the head holder (dense, outside the head) is behind the head (-y) of a supine patient
    holder = (ct.array > 300) & ~head
    hc = w(np.argwhere(holder)).mean(axis=0)
    assert hc[1] < c[1] - 40.0
    # the holder is left out of the head: its arcs (~40k voxels each above the body
    # threshold) stay outside, and they reach farther back than the head does
    assert holder.sum() > 20_000
    hw = w(np.argwhere(head))
    assert hw[:, 1].min() > w(np.argwhere(holder))[:, 1].min() + 5.0
