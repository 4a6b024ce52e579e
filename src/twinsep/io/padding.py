"""DICOM Pixel Padding Value: stored values that mark pixels without data.

Scanners pad the square image around a round field of view with a stored value the
header names (PixelPaddingValue, and with PixelPaddingRangeLimit a range of them; DICOM
PS3.3 C.7.5.1.1.2). Most pick one below every tissue (-2000, -3024 HU), which reads as
air; some pick one above the image's values (the maximum of the stored range), which
read as bone - a dense shell around the field of view. The loader keeps the values of
padding that reads below the scan's lowest image value, as it always did, and reads
padding above it as that lowest value (air) where it reaches the border of the volume
- outside the field of view, never a hole inside the anatomy whose stored value happens
to equal the padding value. A warning says how many voxels were read so.
"""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.dataelem import RawDataElement

__all__ = ["PaddingMask", "padding_range"]

_PADDING_VALUE = 0x00280120
_PADDING_LIMIT = 0x00280121


def _stored_int(ds: pydicom.Dataset, tag: int, signed: bool) -> int | None:
    """A US/SS element's value in the pixels' own signedness (the VR of these two is
    "US or SS", decided by PixelRepresentation)."""
    elem = ds.get_item(tag, keep_deferred=True)
    if elem is None or elem.value is None:
        return None
    value = elem.value
    if isinstance(elem, RawDataElement) and isinstance(value, bytes):
        if len(value) < 2:
            return None
        order = "little" if elem.is_little_endian else "big"
        return int.from_bytes(value[:2], order, signed=signed)
    try:
        number = int(value[0] if isinstance(value, list | tuple) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError, IndexError):
        return None
    if signed and number >= 32768:  # written as US, meant as SS
        number -= 65536
    if not signed and number < 0:
        number += 65536
    return number


def padding_range(ds: pydicom.Dataset, pixel_repr: int) -> tuple[int, int] | None:
    """The stored values that are padding (inclusive), or None when none is declared.

    Parameters
    ----------
    ds : pydicom.Dataset
        An image header (top level).
    pixel_repr : int
        PixelRepresentation (1: signed pixels).

    Returns
    -------
    tuple of int or None
        ``(low, high)`` in stored units: PixelPaddingValue alone gives ``(v, v)``; with
        PixelPaddingRangeLimit the range between the two.
    """
    signed = pixel_repr == 1
    value = _stored_int(ds, _PADDING_VALUE, signed)
    if value is None:
        return None
    limit = _stored_int(ds, _PADDING_LIMIT, signed)
    if limit is None:
        return value, value
    return min(value, limit), max(value, limit)


class PaddingMask:
    """Collects, slice by slice, where a stack holds its declared padding values."""

    def __init__(self, shape: tuple[int, int, int], ranges: list[tuple[int, int] | None]):
        self.mask = np.zeros(shape, dtype=bool) if any(r is not None for r in ranges) else None
        self.values: set[tuple[int, int]] = set()

    def note(self, k: int, raw: np.ndarray, rng: tuple[int, int] | None) -> None:
        """Mark the pixels of slice ``k`` (stored values ``raw``) that are padding."""
        if self.mask is None or rng is None:
            return
        lo, hi = rng
        self.mask[k] = (raw == lo) if lo == hi else ((raw >= lo) & (raw <= hi))
        self.values.add(rng)

    def apply(self, stack: np.ndarray) -> tuple[np.ndarray, str | None]:
        """Read padding above the scan's lowest image value as that value (air) where it
        reaches the border of the stack (the module's rule).

        Returns
        -------
        stack : ndarray
            ``stack``, changed in place where padding was read as air.
        warning : str or None
            What was read so.
        """
        mask = self.mask
        if mask is None or not mask.any() or mask.all():
            return stack, None
        low = stack[~mask].min()
        if stack[mask].max() <= low:
            return stack, None  # padding below every image value reads as air already
        from twinsep.segment.morph import fill_holes

        outside = mask & ~fill_holes(~mask)  # padding regions that reach the border
        n = int(outside.sum())
        if n == 0:
            return stack, None
        stack[outside] = low
        declared = ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in sorted(self.values))
        return stack, (
            f"{n} voxels hold the DICOM PixelPaddingValue ({declared}, stored; no data "
            "outside the field of view), which lies above the scan's image values: they "
            f"were read as its lowest value {float(low):g} (air)"
        )
