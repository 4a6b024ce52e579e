"""Whether a MetaImage or NRRD file holds the voxel data its header promises, intact.

ITK's MetaImage reader (MetaIO) does not guard its voxel data (red-team round 6):

- short data: it writes "MetaImage: M_ReadElementsData: data not read completely" and
  the byte counts straight to the process's stderr, then raises an error whose text is
  "No such file or directory" (three lines, and the wrong reason);
- compressed data (``CompressedData = True``) that is damaged inflates to garbage
  without an error: a ``.mha`` with 40 zeroed bytes in its zlib stream loaded as values
  of -32764..32767, and a cut-short one printed "Uncompress failed" and loaded too.

The sizes are compared here first, from the header, and a compressed stream is inflated
once (its output counted, not kept) before ITK reads it, so that such a file is refused
in one line naming what is wrong. The inflate costs about as long as ITK's own read of
the data; ITK writes uncompressed ``.mha`` unless asked to compress.

ITK's NRRD reader (NrrdIO) stops reading a gzip stream once it has the voxels it needs,
before the gzip trailer's checksum: 40 zeroed bytes inside the stream of a ``.nrrd``
loaded as values of -18736..10207 without a word. Its gzip data (attached or in a
detached data file) is inflated and checked the same way.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from twinsep.io.mha_space import metaimage_header_fields

__all__ = ["metaimage_data_problem", "nrrd_data_problem"]

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


def metaimage_data_problem(path: Path, n_bytes: int) -> str | None:
    """Why the voxel data of the MetaImage ``path`` is short or damaged, or None.

    Parameters
    ----------
    path : Path
        The ``.mha`` or ``.mhd`` file.
    n_bytes : int
        Bytes of uncompressed voxel data the header describes (size x pixel size).

    Returns
    -------
    str or None
        The reason, or None when the data is long enough (and, compressed, inflates to
        ``n_bytes``) or the layout is not one checked here (file lists, patterns,
        ``HeaderSize = -1``: ITK judges those).
    """
    fields = metaimage_header_fields(path)
    name = fields.get("elementdatafile", "")
    skip = _int_field(fields, "headersize") or 0
    if skip < 0:
        return None  # "-1": the data are the file's last bytes, whatever comes before
    if name.upper() == "LOCAL":
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        found = _LOCAL_LINE.search(head)
        if found is None:
            return None
        data_file = path
        start = found.end() + skip
        available = path.stat().st_size - start
    elif name and name.upper() != "LIST" and " " not in name and "%" not in name:
        data_file = path.parent / name
        if not data_file.is_file():
            return None  # reported as missing by the caller
        start = skip
        available = data_file.stat().st_size - start
    else:
        return None
    compressed = fields.get("compresseddata", "false").lower() == "true"
    need = _int_field(fields, "compresseddatasize") if compressed else n_bytes
    if need is not None and available < need:
        what = "compressed voxel data (CompressedDataSize)" if compressed else "voxel data"
        where = "" if data_file == path else f" in {data_file.name}"
        return (
            f"truncated: the header says {need} bytes of {what}, but only {max(available, 0)} "
            f"follow{where}; the file was cut short, copy it again"
        )
    if compressed:
        return _inflate_problem(data_file, start, need, n_bytes)
    return None


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


def nrrd_data_problem(path: Path, n_bytes: int) -> str | None:
    """Why the gzip voxel data of the NRRD ``path`` are short or damaged, or None.

    Parameters
    ----------
    path : Path
        The ``.nrrd`` or ``.nhdr`` file.
    n_bytes : int
        Bytes of voxel data the header describes (sizes x type size).

    Returns
    -------
    str or None
        The reason, or None when the encoding is not gzip, the data inflate to exactly
        ``n_bytes`` with a good checksum, or the layout is not one checked here (file
        lists and patterns, ``line skip`` / ``byte skip``: NrrdIO judges those).
    """
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    fields = _nrrd_fields(head)
    if fields.get("encoding", "").lower() not in ("gzip", "gz"):
        return None
    if fields.get("lineskip", "0") not in ("", "0") or fields.get("byteskip", "0") not in ("", "0"):
        return None
    name = fields.get("datafile", "")
    if not name:
        end = _NRRD_HEADER_END.search(head)
        if end is None:
            return None
        return _inflate_problem(path, end.end(), None, n_bytes, members=True)
    if name.upper().startswith("LIST") or " " in name or "%" in name:
        return None
    data_file = path.parent / name
    if not data_file.is_file():
        return None  # reported as missing by the caller
    return _inflate_problem(data_file, 0, None, n_bytes, members=True)
