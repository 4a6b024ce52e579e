"""Which pixel decoders pydicom lacks for a compressed transfer syntax, in words.

A DICOM series compressed in a syntax that no installed decoder reads (HTJ2K; 12-bit
JPEG Extended, which neither GDCM nor Pillow decodes) is refused; the refusal names the
packages with which pydicom would read it, from pydicom's own list of its decoder
plugins and their dependencies (``pydicom.pixels.get_decoder(uid).missing_dependencies``),
so the line stays right as pydicom's plugins change. twinsep does not install them
itself: pylibjpeg-libjpeg is GPL-3.0 (docs/DECISIONS.md).
"""

from __future__ import annotations

import re
from typing import Any

from pydicom.uid import UID

__all__ = ["decoder_available", "missing_decoders"]

#: pydicom's wording of a missing plugin: "<plugin> - requires <req> and <req>".
_REQUIRES = re.compile(r"requires\s+(?P<reqs>.+)$")
#: A requirement's package name: what comes before its version specifier.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _decoder(transfer_syntax: str) -> Any | None:
    """pydicom's decoder for the syntax, or None when it knows none."""
    try:
        from pydicom.pixels import get_decoder

        return get_decoder(UID(transfer_syntax))
    except (NotImplementedError, ImportError, ValueError):
        return None


def decoder_available(transfer_syntax: str) -> bool:
    """Whether pydicom has an installed decoder for ``transfer_syntax`` (a UID); False
    also when pydicom knows no decoder for the syntax at all."""
    decoder = _decoder(transfer_syntax)
    return decoder is not None and bool(decoder.is_available)


def missing_decoders(transfer_syntax: str) -> str | None:
    """The decoder packages pydicom would use for ``transfer_syntax``, not installed.

    Parameters
    ----------
    transfer_syntax : str
        Transfer syntax UID.

    Returns
    -------
    str or None
        E.g. ``"pylibjpeg>=2.0 and pylibjpeg-openjpeg>=2.0 (pip install pylibjpeg
        pylibjpeg-openjpeg)"``, several plugins separated by ``"; or "``; None when
        every decoder pydicom knows for the syntax is installed, or it knows none.
    """
    decoder = _decoder(transfer_syntax)
    if decoder is None:
        return None
    options = []
    for text in decoder.missing_dependencies:
        found = _REQUIRES.search(str(text))
        if found is None:
            continue
        reqs = [r.strip() for r in found["reqs"].split(" and ") if r.strip()]
        names = [m[0] for m in (_NAME.match(r) for r in reqs) if m is not None]
        if names:
            options.append(f"{' and '.join(reqs)} (pip install {' '.join(names)})")
    return "; or ".join(options) if options else None
