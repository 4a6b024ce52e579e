"""Fuzz: mutated DICOM headers never crash the loader with anything but ScanError.

A short, bounded run lives here (``make test``); ``benchmarks/bench_fuzz.py`` runs the
same property for ten minutes.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pydicom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinsep.errors import ScanError
from twinsep.io import load_scan, write_dicom_series
from twinsep.volume import Volume

#: Header elements whose corruption the loader must survive (geometry, pixel description,
#: rescale, identity of the series).
TAGS = (
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PixelSpacing",
    "SliceThickness",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "RescaleSlope",
    "RescaleIntercept",
    "SeriesInstanceUID",
    "Modality",
    "InstanceNumber",
    "PixelData",
    "SOPClassUID",
    "NumberOfFrames",
    "SpacingBetweenSlices",
)

VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**31), max_value=2**31),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=24),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=7),
    st.binary(max_size=64),
)


def _series(root: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    arr = rng.normal(0, 300, (16, 16, 8)).astype(np.int16)
    arr[0, 0, 0], arr[1, 1, 1] = -1000, 1500
    aff = np.diag([0.7, 0.7, 2.0, 1.0])
    return write_dicom_series(Volume(arr, aff), root / "s")


_TEMPLATE_ROOT = Path(tempfile.mkdtemp(prefix="twinsep-fuzz-template-"))
# removed when the process ends (every xdist worker and the fuzz benchmark import this module)
atexit.register(shutil.rmtree, _TEMPLATE_ROOT, ignore_errors=True)
_TEMPLATE = _series(_TEMPLATE_ROOT)


def mutate_and_load(work: Path, file_index: int, tag: str, value: object) -> None:
    """Copy the template series, corrupt one element of one file, load the folder."""
    folder = work / "s"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(_TEMPLATE[0].parent, folder)
    files = sorted(folder.iterdir())
    target = files[file_index % len(files)]
    ds = pydicom.dcmread(target)
    try:
        if value is None:
            if tag in ds:
                del ds[tag]
        elif tag == "PixelData":
            ds.PixelData = bytes(value) if isinstance(value, bytes) else b"\x00" * 7
        else:
            setattr(ds, tag, value)
        ds.save_as(target)
    except Exception:  # noqa: BLE001 - pydicom refused to write this value: not a case
        return
    try:
        load_scan(folder)
    except ScanError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(file_index=st.integers(0, 7), tag=st.sampled_from(TAGS), value=VALUES)
def test_mutated_headers_raise_only_scan_error(file_index: int, tag: str, value: object) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mutate_and_load(Path(tmp), file_index, tag, value)
