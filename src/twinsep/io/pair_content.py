"""What a ``.img`` or ``.hdr`` holds when it is not half of a NIfTI/Analyze pair.

``.img`` and ``.hdr`` are generic names: a ``.img`` is as often a disc image (a study burnt
on a CD and saved as a file, ISO 9660 or UDF), a GE Genesis/Signa image or a DICOM file
as the voxels of a pair, and a ``.hdr`` is also an ENVI (spectral imaging), Interfile
(nuclear medicine) or Radiance (a 2-D high-dynamic-range picture) header. Until session
29 any ``.img`` was taken for the voxel half of a pair: a UDF disc image was "the header
study.hdr of this NIfTI/Analyze pair is missing", and a ``.img`` beside an ENVI header
was refused naming the header as "not a NIfTI file". Nothing here reads voxels.
"""

from __future__ import annotations

from pathlib import Path

from twinsep.io._loaded import head_bytes

__all__ = ["content_kind", "foreign_header_kind", "image_file_kind"]

#: (first bytes of a ``.hdr``, what it is and what to do), for text headers of other formats.
_HEADERS: tuple[tuple[bytes, str], ...] = (
    (b"ENVI", "an ENVI header (a remote-sensing or spectral image), not a scan's header"),
    (
        b"!INTERFILE",
        "an Interfile header (nuclear medicine, PET/SPECT), not a NIfTI/Analyze header; "
        "convert it to NIfTI (e.g. medcon) or load the scanner's DICOM export",
    ),
    (b"#?RADIANCE", "a Radiance HDR picture (a 2-D photograph), not a scan"),
    (b"#?RGBE", "a Radiance HDR picture (a 2-D photograph), not a scan"),
)


def foreign_header_kind(head: bytes) -> str | None:
    """What a ``.hdr`` whose first four bytes are not a NIfTI/Analyze header size is.

    Parameters
    ----------
    head : bytes
        The file's first bytes (a few hundred are enough).

    Returns
    -------
    str or None
        The format and what to do, or None when it is not recognised.
    """
    start = head.lstrip()
    for magic, what in _HEADERS:
        if start.upper().startswith(magic.upper()):
            return what
    return None


def image_file_kind(path: Path) -> str | None:
    """Which scan format a file named ``.img``/``.hdr`` holds by its own magic bytes.

    Parameters
    ----------
    path : Path
        An existing file.

    Returns
    -------
    str or None
        ``"dicom"`` (the 128-byte preamble and ``DICM``), ``"nifti-single"`` (a whole
        single-file NIfTI, magic ``n+1``/``n+2``), ``"nrrd"`` or ``"mha"``; None when the
        content names no format (raw voxels, as a pair's ``.img`` holds). Preamble-less
        DICOM is not guessed here: raw voxels can start with the same bytes.
    """
    return content_kind(head_bytes(path, 352))


def content_kind(head: bytes) -> str | None:
    """:func:`image_file_kind` of a file's first 352 bytes."""
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head[:4] == b"NRRD":
        return "nrrd"
    if head.lstrip().startswith((b"ObjectType", b"NDims")):
        return "mha"
    if (len(head) >= 348 and head[344:348] == b"n+1\x00") or head[4:8] == b"n+2\x00":
        return "nifti-single"
    return None
