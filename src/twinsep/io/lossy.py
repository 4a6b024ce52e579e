"""Whether a DICOM image was compressed lossily, so that its values are not the scanner's.

Archives (PACS) often keep older studies, or send exports, lossily compressed: JPEG
Baseline / Extended, or JPEG 2000 and HTJ2K with the irreversible 9-7 wavelet, JPEG-LS
"near-lossless". Such images decode without an error, and were loaded without a word
(red-team round 6: a JPEG 2000 series at 20:1 loaded with values up to 2155 HU off on a
noise phantom). What is lost is fine detail - the brain/CSF boundary, thin bone, small
vessels - and a plan made on it should say so: the real-CT twins (real-ct-vertical,
1 mm) as JPEG 2000 at 9:1 (mean error 5.8 HU, 99th percentile 48 HU) planned with the
same type, axis and twin volumes (within 0.1 mL), rotation 31.5 vs 30.9 deg, brain
-1.0 to -1.1 % and CSF +6.4 to +7.0 % against the lossless copy (docs/io.md, round 6).

A file counts as lossy when its header says so (LossyImageCompression "01", which
DICOM requires once an image has been lossily compressed, also when it was decompressed
since) or when its pixel data are in a lossy form now: a transfer syntax that is always
lossy, or a JPEG 2000 / HTJ2K / JPEG-LS codestream whose parameters are lossy (read
from the first bytes of the first fragment; DICOM uses one transfer syntax UID for the
reversible and irreversible JPEG 2000).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pydicom
from pydicom.multival import MultiValue

__all__ = ["lossy_compression", "lossy_note"]

#: Transfer syntaxes whose pixel data are always lossily compressed.
_ALWAYS_LOSSY = {
    "1.2.840.10008.1.2.4.50": "JPEG Baseline",
    "1.2.840.10008.1.2.4.51": "JPEG Extended",
    "1.2.840.10008.1.2.4.100": "MPEG-2 video",
    "1.2.840.10008.1.2.4.102": "MPEG-4 video",
    "1.2.840.10008.1.2.4.103": "MPEG-4 video",
    "1.2.840.10008.1.2.4.110": "MPEG-4 video",
    "1.2.840.10008.1.2.4.111": "MPEG-4 video",
    "1.2.840.10008.1.2.4.112": "MPEG-4 video",
    "1.2.840.10008.1.2.4.113": "MPEG-4 video",
}

#: Syntaxes that may be either: the codestream says (JPEG 2000, HTJ2K, JPEG-LS near-lossless).
_J2K = {
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2",
    "1.2.840.10008.1.2.4.203": "HTJ2K",
}
_JLS_NEAR = "1.2.840.10008.1.2.4.81"

#: Bytes of encapsulated pixel data read to find the codestream's parameters: the offset
#: table (4 bytes a frame), the first fragment's item header and its first marker segments.
_HEAD_BYTES = 1 << 14

#: LossyImageCompressionMethod's defined terms (PS3.3 C.7.6.1.1.5.1), and their names.
_METHODS = {
    "ISO_10918_1": "JPEG",
    "ISO_14495_1": "JPEG-LS",
    "ISO_15444_1": "JPEG 2000",
    "ISO_15444_15": "HTJ2K",
    "ISO_13818_2": "MPEG-2",
    "ISO_14496_10": "MPEG-4 AVC",
    "ISO_23008_2": "HEVC",
    "ISO_18181_1": "JPEG XL",
}


def _first_fragment(encapsulated: bytes) -> bytes | None:
    """The start of the first fragment of encapsulated pixel data (after the offset table)."""
    item = b"\xfe\xff\x00\xe0"  # (FFFE,E000), little endian
    if encapsulated[:4] != item or len(encapsulated) < 8:
        return None
    pos = 8 + int.from_bytes(encapsulated[4:8], "little")  # past the basic offset table
    if encapsulated[pos : pos + 4] != item or len(encapsulated) < pos + 8:
        return None
    length = int.from_bytes(encapsulated[pos + 4 : pos + 8], "little")
    return encapsulated[pos + 8 : pos + 8 + length]


def _segments(stream: bytes, start: int) -> list[tuple[int, int, int]]:
    """``(marker, offset of its parameters, length)`` of the marker segments from ``start``."""
    out = []
    pos = start
    while pos + 4 <= len(stream) and stream[pos] == 0xFF:
        marker = stream[pos + 1]
        length = int.from_bytes(stream[pos + 2 : pos + 4], "big")
        out.append((marker, pos + 4, length))
        if marker in (0x93, 0xDA):  # start of tile data (J2K) / of scan (JPEG-LS): stop
            break
        pos += 2 + length
    return out


def _codestream_lossy(stream: bytes, ts: str) -> str | None:
    """Why the codestream at the start of ``stream`` is lossy, or None (lossless or unknown)."""
    if ts in _J2K:
        if stream[:2] != b"\xff\x4f":
            return None
        for marker, at, _length in _segments(stream, 2):
            if marker == 0x52 and at + 9 < len(stream):  # COD: Scod, SGcod (4), SPcod
                if stream[at + 9] == 0:  # the wavelet transformation: 0 = 9-7 irreversible
                    return f"{_J2K[ts]} with the irreversible 9-7 wavelet"
                return None
        return None
    if ts == _JLS_NEAR:
        if stream[:2] != b"\xff\xd8":
            return None
        for marker, at, _length in _segments(stream, 2):
            if marker == 0xDA and at + 1 < len(stream):  # SOS: Ns, Ns x (Cs, Tm), NEAR
                near_at = at + 1 + 2 * stream[at]
                if near_at < len(stream) and stream[near_at] > 0:
                    return f"JPEG-LS near-lossless (NEAR {stream[near_at]})"
                return None
    return None


def _encapsulated_head(ds: pydicom.Dataset, path: Path) -> bytes:
    """The first bytes of the encapsulated pixel data: in memory, or read from ``path``
    at their offset when pydicom deferred them."""
    elem = ds.get_item(0x7FE00010, keep_deferred=True)
    value = getattr(elem, "value", None)
    if isinstance(value, bytes):
        return value[:_HEAD_BYTES]
    tell = getattr(elem, "value_tell", None)
    if tell is None:
        return b""
    try:
        with open(path, "rb") as fh:
            fh.seek(int(tell))
            return fh.read(_HEAD_BYTES)
    except OSError:
        return b""


def lossy_compression(ds: pydicom.Dataset, transfer_syntax: str, path: Path) -> str | None:
    """Why the image of ``ds`` has lost information to compression, or None.

    Parameters
    ----------
    ds : pydicom.Dataset
        The file's data set, read with its pixel data deferred or not (the encapsulated
        pixel data of compressed files are in memory either way).
    transfer_syntax : str
        The file's transfer syntax UID.
    path : Path
        The file (its pixel data's first bytes are read when pydicom deferred them).

    Returns
    -------
    str or None
        A short phrase ("JPEG Baseline", "LossyImageCompression 01 (ratio 10, ISO_10918_1)"),
        or None when nothing says the image was lossily compressed.
    """
    if transfer_syntax in _ALWAYS_LOSSY:
        return _ALWAYS_LOSSY[transfer_syntax]
    if transfer_syntax in _J2K or transfer_syntax == _JLS_NEAR:
        first = _first_fragment(_encapsulated_head(ds, path))
        why = None if first is None else _codestream_lossy(first, transfer_syntax)
        if why is not None:
            return why
    try:
        flag = ds.get(0x00282110)  # LossyImageCompression
        if flag is None or str(flag.value).strip() != "01":
            return None
    except Exception:  # a damaged element says nothing either way
        return None
    return "LossyImageCompression 01" + _details(ds)


def _values(ds: pydicom.Dataset, tag: int) -> list[Any]:
    """An element's values as a list ([] when absent)."""
    element = ds.get(tag)
    values = [] if element is None else element.value
    return list(values) if isinstance(values, list | tuple | MultiValue) else [values]


def _ratio(ds: pydicom.Dataset) -> str | None:
    """``ratio 10`` from LossyImageCompressionRatio, or None when absent or not numbers."""
    try:
        numbers = [float(v) for v in _values(ds, 0x00282112) if v not in (None, "")]
    except Exception:  # a damaged element or free text: left out
        return None
    if numbers and all(math.isfinite(v) and v > 0 for v in numbers):
        return "ratio " + "/".join(f"{v:g}" for v in numbers)
    return None


def _method(ds: pydicom.Dataset) -> str | None:
    """The defined terms of LossyImageCompressionMethod by name, or None."""
    try:
        names = [str(n).strip() for n in _values(ds, 0x00282114)]
    except Exception:  # a damaged element: left out
        return None
    known = [_METHODS[n] for n in names if n in _METHODS]
    return "/".join(known) if known else None


def _details(ds: pydicom.Dataset) -> str:
    """`` (ratio 10, JPEG)`` from LossyImageCompressionRatio/Method, or "" (numbers and
    defined terms only: free text in a damaged element is never shown)."""
    details = [d for d in (_ratio(ds), _method(ds)) if d]
    return f" ({', '.join(details)})" if details else ""


def lossy_note(reasons: list[str | None], unit: str = "file") -> str | None:
    """The scan's warning when any of its files (``reasons``, one per file, from
    :func:`lossy_compression`) was lossily compressed, or None."""
    found = [r for r in reasons if r is not None]
    if not found:
        return None
    kinds = sorted(set(found), key=found.index)
    shown = "; ".join(kinds[:2]) + (f" and {len(kinds) - 2} more" if len(kinds) > 2 else "")
    count = f"{len(found)} of {len(reasons)} {unit}s" if len(reasons) > 1 else f"the {unit}"
    return (
        f"the images were compressed lossily ({shown}: {count}): their values are not the "
        "scanner's, and the brain/CSF boundary, thin bone and small vessels may be altered "
        "(real head CT at 9:1: CSF +7 %); ask for the original series (uncompressed or "
        "lossless) if the archive keeps it"
    )
