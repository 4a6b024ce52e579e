"""Internal record passed from a format reader to :func:`twinsep.io.scan.load_scan`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Loaded", "head_bytes", "header_text", "sha256_file", "sha256_of_hashes"]


@dataclass
class Loaded:
    """What a reader found, before the common checks.

    Attributes
    ----------
    array : ndarray
        Voxel values indexed ``[i, j, k]`` (already squeezed to 3D by the reader).
    affine : (4, 4) ndarray
        Voxel-to-world RAS mm.
    format : str
        ``"dicom"``, ``"nifti"``, ``"nrrd"`` or ``"mha"``.
    sha256 : str
        Hash of the input bytes (see :func:`sha256_of_hashes` for folders).
    modality : str or None
        From the file when it says so (DICOM), else None (guessed later).
    series_uid : str or None
        DICOM SeriesInstanceUID (hashed before it reaches :class:`ScanInfo`).
    n_files : int
        Files read.
    warnings : list of str
        Plain-words notes on doubtful input.
    phi : dict
        Identifying header values; dropped unless the caller asked to keep them.
    meta : dict
        Non-identifying facts (series description is kept in ``phi``).
    """

    array: np.ndarray
    affine: np.ndarray
    format: str
    sha256: str
    modality: str | None = None
    series_uid: str | None = None
    n_files: int = 1
    warnings: list[str] = field(default_factory=list)
    phi: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def head_bytes(path: Path, n: int) -> bytes:
    """A file's first ``n`` bytes (fewer when it is shorter); ``b""`` when it cannot be
    read (the reader names that error)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def header_text(path: Path, *, max_bytes: int = 65536) -> str:
    """The first ``max_bytes`` of a text header (NRRD, MetaImage) as Latin-1 text, which
    decodes any byte; "" when the file cannot be read (the reader names that error)."""
    return head_bytes(path, max_bytes).decode("latin-1")


def sha256_file(path: Path, *, chunk_bytes: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes, read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()


def sha256_of_hashes(hashes: list[str]) -> str:
    """Hex SHA-256 of the sorted concatenation of hex digests (order-independent)."""
    return hashlib.sha256("".join(sorted(hashes)).encode("ascii")).hexdigest()
