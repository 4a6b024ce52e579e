"""Encode an 8-bit RGB image as PNG with the standard library only (zlib + struct)."""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(rgb: np.ndarray, *, compression: int = 6) -> bytes:
    """Encode an image as PNG (8 bits per channel, no interlace, filter 0).

    Parameters
    ----------
    rgb : (H, W, 3) or (H, W) ndarray of uint8
        Rows top to bottom, columns left to right; a 2D array is written as grey.
    compression : int
        zlib level 0-9 (6: a good speed/size balance for slices of a few hundred kB).

    Returns
    -------
    bytes
        A complete PNG file.

    Raises
    ------
    ValueError
        If the array is not uint8 of shape (H, W) or (H, W, 3) with H, W >= 1.
    """
    a = np.asarray(rgb)
    if a.dtype != np.uint8:
        raise ValueError(f"PNG image must be uint8, got {a.dtype}")
    if a.ndim == 2:
        colour_type, channels = 0, 1
    elif a.ndim == 3 and a.shape[2] == 3:
        colour_type, channels = 2, 3
    else:
        raise ValueError(f"PNG image must have shape (H, W) or (H, W, 3), got {a.shape}")
    h, w = int(a.shape[0]), int(a.shape[1])
    if h < 1 or w < 1:
        raise ValueError(f"PNG image must not be empty, got {a.shape}")
    rows = np.ascontiguousarray(a).reshape(h, w * channels)
    raw = np.empty((h, w * channels + 1), dtype=np.uint8)
    raw[:, 0] = 0  # filter type 0 (None) on every row
    raw[:, 1:] = rows
    header = struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), compression))
        + _chunk(b"IEND", b"")
    )
