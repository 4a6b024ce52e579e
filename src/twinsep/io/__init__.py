"""Scan loading, validation and writing.

Public interface (see ``docs/CONTRACTS.md``):

* :func:`load_scan` -> :class:`Scan` (``volume`` + de-identified :class:`ScanInfo`);
* :func:`describe_scan` for ``twinsep check``;
* :func:`read_label_map` for label maps (which :func:`load_scan` refuses);
* :func:`save_volume` (``.nii.gz``/``.nii``/``.nrrd``/``.mha``) and
  :func:`write_dicom_series`, both atomic;
* :mod:`twinsep.io.atomic` helpers.

Every bad input raises :class:`twinsep.errors.ScanError` with one line naming the file.
"""

from __future__ import annotations

from twinsep.io.atomic import atomic_output, atomic_write_bytes, atomic_write_text
from twinsep.io.checks import LoadParams
from twinsep.io.dicom_write import write_dicom_series
from twinsep.io.formats import read_label_map, save_volume
from twinsep.io.scan import Scan, ScanInfo, describe_scan, load_scan

__all__ = [
    "LoadParams",
    "Scan",
    "ScanInfo",
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_text",
    "describe_scan",
    "load_scan",
    "read_label_map",
    "save_volume",
    "write_dicom_series",
]
