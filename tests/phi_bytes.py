"""What a privacy test searches for patient names: a file's bytes and what they compress."""

from __future__ import annotations

import contextlib
import gzip
import re
import zlib
from pathlib import Path


def all_bytes(path: Path) -> bytes:
    """A file's bytes plus every compressed stream inside it that can be opened.

    The gzip member of a ``.gz`` file (NIfTI, NRRD) and each zlib ``stream``
    (PDF FlateDecode, PNG IDAT) are appended, so a name hidden by compression is found.
    """
    data = path.read_bytes()
    parts = [data]
    # a member or stream that does not decompress holds no hidden text: it is skipped
    if data[:2] == b"\x1f\x8b":
        with contextlib.suppress(OSError, EOFError):
            parts.append(gzip.decompress(data))
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(data[m.end() : end]))
    return b"".join(parts)
