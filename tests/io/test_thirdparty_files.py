"""Every test file that ships with nibabel and pydicom, through ``load_scan``.

Both packages are dependencies, so their ``tests/data`` and ``data/test_files`` folders
are present wherever twinsep is installed: ~180 files written by other projects (NIfTI
variants, Analyze, MINC, MGZ, PAR/REC, AFNI, tractography, DICOM in every transfer
syntax, SEG, RT, SR, DICOMDIR, truncated and malformed files). Each must either load as
a :class:`Scan` or raise the loader's :class:`InputError` with one line that starts with
the path as given - never another exception, never a traceback in the message, also
when warnings are turned into errors. The files are read in place and never modified.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import nibabel
import pydicom
import pytest
from typer.testing import CliRunner

from twinsep.cli import app
from twinsep.errors import InputError
from twinsep.io import Scan, load_scan

_NIBABEL = Path(nibabel.__file__).parent / "tests" / "data"
_PYDICOM = Path(pydicom.__file__).parent / "data" / "test_files"


def _files() -> list[Path]:
    found: list[Path] = []
    for root in (_NIBABEL, _PYDICOM):
        if root.is_dir():
            found.extend(
                sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            )
    return found


FILES = _files()
_IDS = [str(p.relative_to(p.parents[1])) if p.is_relative_to(_PYDICOM) else p.name for p in FILES]


def _outcome(path: Path) -> Scan | InputError:
    try:
        return load_scan(path)
    except InputError as exc:
        return exc


def _check_outcome(path: Path, got: Scan | InputError) -> None:
    if isinstance(got, Scan):
        assert got.volume.array.ndim == 3 and min(got.volume.shape) >= 2
        return
    line = got.one_line()
    assert "\n" not in line and "Traceback" not in line, line
    assert line.startswith(f"{path}: "), line  # the path the user gave comes first
    assert len(got.reason.strip()) > 10, line


@pytest.mark.skipif(not FILES, reason="nibabel/pydicom test data not installed")
@pytest.mark.parametrize("path", FILES, ids=_IDS)
def test_third_party_file_loads_or_is_refused_in_one_line(path: Path) -> None:
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # third-party readers warn about odd files
        got = _outcome(path)
    _check_outcome(path, got)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_third_party_files_with_warnings_as_errors() -> None:
    """A warning raised as an exception inside a reader still ends as an InputError."""
    if not FILES:
        pytest.skip("nibabel/pydicom test data not installed")
    for path in FILES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = _outcome(path)
        _check_outcome(path, got)


def test_known_third_party_outcomes() -> None:
    """Outcomes of files whose content we know (a regression guard for the sweep)."""
    loaded = {
        _NIBABEL / "anatomical.nii": (33, 41, 25),
        _NIBABEL / "0.dcm": (256, 256, 2),  # with 1.dcm: a two-slice series
    }
    for path, shape in loaded.items():
        if path.is_file():
            got = _outcome(path)
            assert isinstance(got, Scan) and got.volume.shape == shape, got
    refused = {
        _NIBABEL / "nifti1.hdr": "missing its .img",
        _NIBABEL / "analyze.hdr": "Analyze 7.5",
        _NIBABEL / "test.mgz": "FreeSurfer MGH/MGZ",
        _NIBABEL / "tiny.mnc": "MINC",
        _NIBABEL / "T1.PAR": "PAR/REC",
        _NIBABEL / "example4d+orig.HEAD": "AFNI",
        _NIBABEL / "standard.trk": "tractography",
        _NIBABEL / "functional.nii": "4D image",
        _PYDICOM / "liver_1frame.dcm": "segmentation (SEG)",
        _PYDICOM / "rtdose.dcm": "RT dose",
        _PYDICOM / "SC_rgb_jpeg.dcm": "colour image",
        _PYDICOM / "zipMR.gz": "gzip-compressed DICOM",
        _PYDICOM / "JPEG2000.dcm": "no ImageOrientationPatient",
        _PYDICOM / "MR_small.dcm": "2D image",
    }
    for path, needle in refused.items():
        if path.is_file():
            got = _outcome(path)
            assert isinstance(got, InputError) and needle in got.one_line(), (path, got)


_CLI_FILES = [
    _NIBABEL / "anatomical.nii",  # loads: exit 0
    _NIBABEL / "nifti1.hdr",
    _NIBABEL / "test.mgz",
    _PYDICOM / "JPEG2000.dcm",
    _PYDICOM / "rtdose.dcm",
    _PYDICOM / "dicomdirtests" / "77654033" / "CT2" / "17106",  # missing slices elsewhere
]


@pytest.mark.parametrize("path", _CLI_FILES, ids=lambda p: p.name)
def test_twinsep_check_on_third_party_files(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not shipped with this version")
    result = CliRunner().invoke(app, ["check", str(path)])
    if result.exit_code == 0:
        assert str(path) in result.stdout
        return
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), result.stderr
