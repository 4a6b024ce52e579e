"""Interoperability with clinical tools: 3D Slicer (``.seg.nrrd``, colour table) and
DICOM-SEG (highdicom) when the input was DICOM."""

from __future__ import annotations

from twinsep.interop.slicer import colour_tables, read_seg_nrrd, write_seg_nrrd

__all__ = ["colour_tables", "read_seg_nrrd", "write_seg_nrrd"]
