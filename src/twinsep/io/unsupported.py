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
_GENESIS = (
    "a GE Genesis/Signa image file (magic IMGF), which twinsep does not read; load the "
    "scanner's DICOM export"
)
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

_PICTURE = (
    "a {} picture (2-D: a screenshot, photograph or exported view), not a scan; give the "
    "CT or MR itself (a DICOM series, NIfTI, NRRD or MetaImage)"
)
_TIFF = (
    "a TIFF image (a 2-D picture or a microscopy stack), which twinsep does not read; give "
    "the CT or MR as a DICOM series, NIfTI, NRRD or MetaImage"
)
_GIFTI = "a GIfTI file (surface meshes or values on a surface), not a volume"
_NUMPY = (
    "a NumPy array file, which stores no voxel size or orientation; save the scan as NIfTI "
    "with its affine (nibabel) and load that"
)
_RAW = (
    "raw voxel data without a header: nothing in it says the size, type or orientation; "
    "give the .mhd or .nhdr header that names this file"
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
    (".gii", _GIFTI),
    (".gii.gz", _GIFTI),
    (".raw", _RAW),
    (".zraw", _RAW),
    (".raw.gz", _RAW),
    (".npz", _NUMPY.replace("a NumPy array file", "a NumPy archive of arrays (.npz)")),
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
    (b"IMGF", _GENESIS),
    (b"PK\x03\x04", _ARCHIVE.format("zip")),
    (b"PK\x05\x06", _ARCHIVE.format("zip")),  # an empty zip
    (b"7z\xbc\xaf\x27\x1c", _ARCHIVE.format("7-Zip")),
    (b"Rar!\x1a\x07", _ARCHIVE.format("RAR")),
    (b"\xfd7zXZ\x00", _COMPRESSED.format("xz")),
    (b"BZh", _COMPRESSED.format("bzip2")),
    (b"\x93NUMPY", _NUMPY),
)

#: (magic bytes at offset 0, picture format). Not looked for in a file named ``.img``
#: or ``.hdr``, whose raw voxels could start with a few of these bytes.
_PICTURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"P5\n", "PGM"),
    (b"P6\n", "PPM"),
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
    if not name.endswith((".img", ".hdr")):
        for magic, kind in _PICTURES:
            if head.startswith(magic):
                return _PICTURE.format(kind)
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            return _TIFF
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
        return _gzip_inner_reason(name, inner)
    return None


def _gzip_inner_reason(name: str, inner: bytes) -> str | None:
    """What a gzip file that is not named ``.nii.gz`` holds when it is no NIfTI, or None
    (a NIfTI, or nothing could be inflated: the NIfTI reader names the damage). Such files
    were read as NIfTI and refused as "not a NIfTI file (header size is neither 348 nor
    540 bytes)" - a Debian ``changelog.Debian.gz`` among them (red team, session 29)."""
    if len(inner) < 4 or name.endswith((".nii.gz", ".hdr.gz", ".img.gz")):
        return None
    if {int.from_bytes(inner[:4], "little"), int.from_bytes(inner[:4], "big")} & {348, 540}:
        return None  # a NIfTI header (either byte order): its reader decides
    if inner.startswith(b"NRRD") or inner.lstrip().startswith((b"ObjectType", b"NDims")):
        return "a gzip-compressed NRRD/MetaImage file; decompress it (gunzip) and load the result"
    sample = inner[:512]
    if all(32 <= c < 127 or c in (9, 10, 13) for c in sample):
        return "a gzip-compressed text file, not a scan"
    return (
        "a gzip-compressed file that holds no NIfTI image (its first bytes are no NIfTI "
        "header); decompress it to see what it is"
    )
