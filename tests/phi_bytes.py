"""What a privacy test searches for patient names: a file's bytes and what they compress."""

from __future__ import annotations

import contextlib
import io
import re
import zipfile
import zlib
from pathlib import Path

#: gzip members looked for past a file's start (an NRRD's data after its text header).
_MAX_GZIP_MEMBERS = 16


def all_bytes(path: Path) -> bytes:
    """A file's bytes plus every compressed stream inside it that can be opened.

    Each gzip member (a ``.gz`` file, the data of a gzip-encoded ``.nrrd`` / ``.seg.nrrd``
    after its header), each zlib ``stream`` (PDF FlateDecode, PNG IDAT) and each member
    of a zip container (``.3mf`` models, with its name) is appended, so a name hidden by
    compression is found.
    """
    data = path.read_bytes()
    parts = [data]
    # a member or stream that does not decompress holds no hidden text: it is skipped
    for m in list(re.finditer(rb"\x1f\x8b\x08", data))[:_MAX_GZIP_MEMBERS]:
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompressobj(wbits=31).decompress(data[m.start() :]))
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(data[m.end() : end]))
    if data[:4] == b"PK\x03\x04":
        with contextlib.suppress(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                parts += [name.encode(), z.read(name)]
    return b"".join(parts)
