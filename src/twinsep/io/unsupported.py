"""Recognise file formats twinsep does not read, and say what to do with them.

A neuroimaging folder holds many formats besides NIfTI and DICOM. "Not a recognised
scan format" is true but unhelpful for a file whose format is well known: this module
names the format and the usual conversion. Recognition is by suffix and, where the
format has one, by its magic bytes (so a misnamed file is named correctly too).
Nothing here reads voxels.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

__all__ = ["unsupported_reason"]

_MGH = (
    "FreeSurfer MGH/MGZ is not supported; convert it to NIfTI "
    "(mri_convert IN.mgz OUT.nii.gz, or nibabel)"
)
_MINC = "MINC is not supported; convert it to NIfTI (mnc2nii, or nibabel)"
_PARREC = "Philips PAR/REC is not supported; convert it to NIfTI (dcm2niix or parrec2nii)"
_AFNI = "AFNI HEAD/BRIK is not supported; convert it to NIfTI (3dAFNItoNIFTI)"
_TRACTS = "a tractography streamline file (TrackVis/MRtrix), not an image"
_ECAT = "ECAT PET is not supported; convert it to NIfTI (nibabel) or load the DICOM export"
_INVESALIUS = (
    "an InVesalius project (.inv3: a tar archive of its own volume and masks), not a scan; "
    "give the DICOM series it was made from"
)
_ARCHIVE = (
    "a {} archive (a PACS or CD export?), not a scan; unpack it and give the folder "
    "of the study or of one series"
)
_COMPRESSED = (
    "a {}-compressed file (an archive of a PACS or CD export?), not a scan; decompress or "
    "unpack it and give the scan or the folder of the study"
)
_DISC = (
    "a CD/DVD disc image ({}, e.g. a burnt study saved as a file), not a scan; open (mount) "
    "it or extract its files and give the folder of the study or of one series (its "
    "DICOMDIR works too)"
)

#: (lower-case name ending, reason), most specific first.
_BY_SUFFIX: tuple[tuple[str, str], ...] = (
    (".mgz", _MGH),
    (".mgh", _MGH),
    (".mgh.gz", _MGH),
    (".mnc", _MINC),
    (".mnc.gz", _MINC),
    (".par", _PARREC),
    (".rec", _PARREC),
    (".head", _AFNI),
    (".brik", _AFNI),
    (".brik.gz", _AFNI),
    (".trk", _TRACTS),
    (".tck", _TRACTS),
    (".v", _ECAT),
    (".inv3", _INVESALIUS),
)

#: (magic bytes at offset 0, reason).
_BY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"CDF\x01", _MINC),  # MINC-1 is netCDF
    (b"CDF\x02", _MINC),
    (b"\x89HDF\r\n\x1a\n", _MINC),  # MINC-2 is HDF5 (the only HDF5 image we meet here)
    (b"TRACK", _TRACTS),
    (b"mrtrix tracks", _TRACTS),
    (b"MATRIX", _ECAT),
    (b"# === DATA DESCRIPTION FILE", _PARREC),
    (b"PK\x03\x04", _ARCHIVE.format("zip")),
    (b"PK\x05\x06", _ARCHIVE.format("zip")),  # an empty zip
    (b"7z\xbc\xaf\x27\x1c", _ARCHIVE.format("7-Zip")),
    (b"Rar!\x1a\x07", _ARCHIVE.format("RAR")),
    (b"\xfd7zXZ\x00", _COMPRESSED.format("xz")),
    (b"BZh", _COMPRESSED.format("bzip2")),
)

#: Offset of the first volume descriptor of a disc image (sector 16, after its type byte).
_DISC_MAGIC_AT = 32769


def _gzip_head(path: Path, n: int) -> bytes:
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read(n)
    except (OSError, EOFError, zlib.error):
        return b""


def unsupported_reason(path: Path) -> str | None:
    """Why ``path`` (a known format that is not a scan twinsep reads) cannot be loaded.

    Parameters
    ----------
    path : Path
        An existing file whose format was not recognised as a supported scan.

    Returns
    -------
    str or None
        One line naming the format and what to do, or None when it is not recognised.
    """
    name = path.name.lower()
    for suffix, reason in _BY_SUFFIX:
        if name.endswith(suffix):
            return reason
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
            fh.seek(_DISC_MAGIC_AT)
            disc = fh.read(5)
    except OSError:
        return None
    for magic, reason in _BY_MAGIC:
        if head.startswith(magic):
            return reason
    if disc in (b"CD001", b"BEA01"):
        return _DISC.format("ISO 9660" if disc == b"CD001" else "UDF")
    if head[257:262] == b"ustar":
        return _ARCHIVE.format("tar")
    if head[:2] == b"\x1f\x8b":
        inner = _gzip_head(path, 512)
        if len(inner) >= 132 and inner[128:132] == b"DICM":
            return "a gzip-compressed DICOM file; decompress it (gunzip) and load the result"
        for magic, reason in _BY_MAGIC:
            if inner.startswith(magic):
                return reason
        if inner[257:262] == b"ustar":
            return _ARCHIVE.format("gzip-compressed tar")
    return None
