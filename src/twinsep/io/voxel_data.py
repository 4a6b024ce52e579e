"""Whether a MetaImage or NRRD file holds the voxel data its header promises, intact.

ITK's MetaImage reader (MetaIO) does not guard its voxel data (red-team round 6):

- short data: it writes "MetaImage: M_ReadElementsData: data not read completely" and
  the byte counts straight to the process's stderr, then raises an error whose text is
  "No such file or directory" (three lines, and the wrong reason);
- compressed data (``CompressedData = True``) that is damaged inflates to garbage
  without an error: a ``.mha`` with 40 zeroed bytes in its zlib stream loaded as values
  of -32764..32767, and a cut-short one printed "Uncompress failed" and loaded too.

Short data are found from the header before ITK reads them. Compressed data are
checked after ITK's read: its voxels must reproduce the stream's own checksum (zlib's
Adler-32, gzip's CRC-32 and length; a few ms), and when they do not, the stream is
inflated once, counting its bytes, which names the damage in one line - or finds a valid
layout the quick check does not cover (several gzip members, zero padding), whose voxels
are then kept. A compressed MetaImage without ``CompressedDataSize`` (ITK reads to the
end of the file and printed "Uncompress failed" when cut short) is inflated first.

ITK's NRRD reader (NrrdIO) stops reading a gzip stream once it has the voxels it needs,
before the gzip trailer's checksum: 40 zeroed bytes inside the stream of a ``.nrrd``
loaded as values of -18736..10207 without a word. Its gzip data (attached or in a
detached data file) are checked the same way.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from twinsep.io.mha_space import metaimage_header_fields

__all__ = ["checksum_problem", "metaimage_data_problem"]

#: The header line after which a ``LOCAL`` file's voxel data starts.
_LOCAL_LINE = re.compile(rb"^[ \t]*ElementDataFile[ \t]*=[ \t]*LOCAL[^\n]*\n", re.M | re.I)


def _int_field(fields: dict[str, str], key: str) -> int | None:
    try:
        return int(fields[key])
    except (KeyError, ValueError):
        return None


def _chunks(fh: BinaryIO, length: int | None) -> Iterator[bytes]:
    """The file's bytes from its position, ``length`` of them (None: to the end), in 1 MB chunks."""
    left = length
    while left is None or left > 0:
        chunk = fh.read(1 << 20 if left is None else min(1 << 20, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def _inflate_problem(
    data_file: Path, start: int, length: int | None, n_bytes: int, *, members: bool = False
) -> str | None:
    """Why the zlib (or gzip) stream at ``start`` of ``data_file`` does not inflate to
    exactly ``n_bytes``, or None. The output is counted in chunks, never held whole.
    ``members``: gzip members may follow one another (NrrdIO reads them as one stream,
    as gzip does); else bytes after the stream's end are ignored, as MetaIO does."""
    inflate = zlib.decompressobj(47)  # zlib or gzip header, as MetaIO's inflateInit2
    produced = 0
    with open(data_file, "rb") as fh:
        fh.seek(start)
        try:
            for chunk in _chunks(fh, length):
                while chunk:
                    if inflate.eof:
                        if not members or not chunk.strip(b"\x00"):
                            break  # trailing bytes (zero padding, as gzip allows)
                        inflate = zlib.decompressobj(47)  # the next gzip member
                    produced += len(inflate.decompress(chunk, 1 << 24))
                    if produced > n_bytes:
                        return (
                            f"its compressed voxel data inflate to more than the {n_bytes} "
                            "bytes the header describes (sizes and type); a damaged header?"
                        )
                    chunk = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
                if inflate.eof and not members:
                    break
        except zlib.error as exc:
            return f"corrupt compressed voxel data ({exc}); the file is damaged, copy it again"
    if not inflate.eof or produced < n_bytes:
        return (
            f"truncated compressed voxel data: they inflate to {produced} of the {n_bytes} "
            "bytes the header describes; the file was cut short, copy it again"
        )
    return None


@dataclass(frozen=True)
class _Stream:
    """Where a file's compressed voxel data lie."""

    data_file: Path
    start: int
    length: int | None
    """Bytes of the stream (None: to the end of the file)."""
    members: bool
    """gzip members may follow one another (NRRD)."""
    big_endian: bool


def _metaimage_layout(path: Path, n_bytes: int) -> tuple[str | None, _Stream | None]:
    """(why the data are short, or None; the compressed stream, or None) of a MetaImage."""
    fields = metaimage_header_fields(path)
    name = fields.get("elementdatafile", "")
    skip = _int_field(fields, "headersize") or 0
    if skip < 0:
        return None, None  # "-1": the data are the file's last bytes, whatever comes before
    if name.upper() == "LOCAL":
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        found = _LOCAL_LINE.search(head)
        if found is None:
            return None, None
        data_file = path
        start = found.end() + skip
    elif name and name.upper() != "LIST" and " " not in name and "%" not in name:
        data_file = path.parent / name
        if not data_file.is_file():
            return None, None  # reported as missing by the caller
        start = skip
    else:
        return None, None
    available = data_file.stat().st_size - start
    compressed = fields.get("compresseddata", "false").lower() == "true"
    need = _int_field(fields, "compresseddatasize") if compressed else n_bytes
    if need is not None and available < need:
        what = "compressed voxel data (CompressedDataSize)" if compressed else "voxel data"
        where = "" if data_file == path else f" in {data_file.name}"
        return (
            f"truncated: the header says {need} bytes of {what}, but only {max(available, 0)} "
            f"follow{where}; the file was cut short, copy it again"
        ), None
    if not compressed:
        return None, None
    big = any(
        fields.get(k, "").lower() == "true"
        for k in ("binarydatabyteordermsb", "elementbyteordermsb")
    )
    return None, _Stream(data_file, start, need, members=False, big_endian=big)


def metaimage_data_problem(path: Path, n_bytes: int) -> str | None:
    """Why the voxel data of the MetaImage ``path`` cannot be read, found before ITK reads
    them (ITK prints on stderr for these), or None.

    Parameters
    ----------
    path : Path
        The ``.mha`` or ``.mhd`` file.
    n_bytes : int
        Bytes of uncompressed voxel data the header describes (size x pixel size).

    Returns
    -------
    str or None
        Data shorter than the header says; compressed data without
        ``CompressedDataSize`` (ITK reads to the end of the file) that do not inflate to
        ``n_bytes``. Otherwise None: damaged compressed data of the declared size are
        found after ITK's read, by :func:`checksum_problem`.
    """
    short, stream = _metaimage_layout(path, n_bytes)
    if short is not None or stream is None or stream.length is not None:
        return short
    return _inflate_problem(stream.data_file, stream.start, None, n_bytes)


#: The end of an attached NRRD header: its first empty line.
_NRRD_HEADER_END = re.compile(rb"\r?\n\r?\n")


def _nrrd_fields(head: bytes) -> dict[str, str]:
    """``key: value`` fields of an NRRD header (keys in lower case, without spaces)."""
    fields: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and not value.startswith("="):  # "key:=value" lines are metadata
            fields[key.strip().lower().replace(" ", "")] = value.strip()
    return fields


def _nrrd_stream(path: Path) -> _Stream | None:
    """The gzip stream of the NRRD ``path``, or None (another encoding, or a layout not
    checked here: file lists and patterns, ``line skip`` / ``byte skip``)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    fields = _nrrd_fields(head)
    if fields.get("encoding", "").lower() not in ("gzip", "gz"):
        return None
    if fields.get("lineskip", "0") not in ("", "0") or fields.get("byteskip", "0") not in ("", "0"):
        return None
    big = fields.get("endian", "").lower() == "big"
    name = fields.get("datafile", "")
    if not name:
        end = _NRRD_HEADER_END.search(head)
        if end is None:
            return None
        return _Stream(path, end.end(), None, members=True, big_endian=big)
    if name.upper().startswith("LIST") or " " in name or "%" in name:
        return None
    data_file = path.parent / name
    if not data_file.is_file():
        return None  # reported as missing by the caller
    return _Stream(data_file, 0, None, members=True, big_endian=big)


def _trailer_matches(stream: _Stream, data: memoryview) -> bool:
    """Whether the stream's own checksum (gzip: CRC-32 and length; zlib: Adler-32) is that
    of ``data``, the voxel bytes in file order."""
    end = stream.start + stream.length if stream.length is not None else None
    with open(stream.data_file, "rb") as fh:
        fh.seek(stream.start)
        magic = fh.read(2)
        if end is None:
            fh.seek(0, 2)
            end = fh.tell()
        if end - stream.start < 10:
            return False
        fh.seek(end - 8)
        tail = fh.read(8)
    if magic == b"\x1f\x8b":  # gzip (NRRD; MetaIO reads it too)
        return int.from_bytes(tail[:4], "little") == zlib.crc32(data) and int.from_bytes(
            tail[4:], "little"
        ) == len(data) % (1 << 32)
    return int.from_bytes(tail[4:], "big") == zlib.adler32(data)


def checksum_problem(path: Path, fmt: str, voxels: np.ndarray) -> str | None:
    """Why the compressed voxel data ITK read from ``path`` are damaged, or None.

    ITK inflates damaged data to garbage without an error. Its voxels are accepted when
    they reproduce the stream's own checksum (about 20 ms for 34 MB); otherwise the
    stream is inflated once more, counting its bytes, which names the damage - or finds
    a valid layout the quick check does not cover (several gzip members, zero padding).

    Parameters
    ----------
    path : Path
        The ``.mha``/``.mhd`` or ``.nrrd``/``.nhdr`` file.
    fmt : {"mha", "nrrd"}
        Its format.
    voxels : ndarray
        The voxels as ITK returned them (``[k, j, i]``, x fastest: the file's order).

    Returns
    -------
    str or None
        The reason, or None (uncompressed data, a layout not checked, or intact data).
    """
    if fmt == "mha":
        stream = _metaimage_layout(path, int(voxels.nbytes))[1]
    else:
        stream = _nrrd_stream(path)
    if stream is None:
        return None
    arr = np.ascontiguousarray(voxels)
    if stream.big_endian and arr.dtype.itemsize > 1:
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    if _trailer_matches(stream, arr.data.cast("B")):
        return None
    return _inflate_problem(
        stream.data_file, stream.start, stream.length, int(arr.nbytes), members=stream.members
    )
