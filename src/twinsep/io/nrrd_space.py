"""What an NRRD header says about its world space, which ITK does not apply.

ITK's NRRD reader takes every file's ``space directions`` and ``space origin`` as LPS
millimetres. Two header fields can make that wrong, silently:

* ``space units`` (e.g. ``"cm" "cm" "cm"``): ITK ignores them, so a scan stored in
  centimetres read as 10 times too small. The affine is converted to mm here, as
  twinsep does for a NIfTI in metres (``xyzt_units``), with a warning; a unit that is
  not a length is refused.
* ``space`` naming no anatomical frame (``scanner-xyz``, ``3D-right-handed``,
  ``3D-left-handed``) or missing (only ``space dimension`` or ``spacings``): ITK then
  assumes LPS, so left and right are a guess - as for a NIfTI without qform and sform,
  a warning says so. (``3D-left-handed`` read as LPS is even mirrored.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from twinsep.errors import ScanError
from twinsep.io._loaded import header_text

__all__ = ["nrrd_header_fields", "nrrd_space_to_mm", "space_units_to_mm"]

#: Length units of ``space units`` and their factor to mm ("" means unspecified: mm,
#: as ITK and Slicer read it).
_UNIT_TO_MM: dict[str, float] = {
    "": 1.0,
    "mm": 1.0,
    "millimeter": 1.0,
    "millimetre": 1.0,
    "cm": 10.0,
    "centimeter": 10.0,
    "centimetre": 10.0,
    "m": 1000.0,
    "meter": 1000.0,
    "metre": 1000.0,
    "um": 0.001,
    "\u00b5m": 0.001,
    "micron": 0.001,
    "micrometer": 0.001,
    "micrometre": 0.001,
}

#: ``space`` values (and their abbreviations) that name an anatomical frame.
_ANATOMICAL = {
    "right-anterior-superior",
    "left-anterior-superior",
    "left-posterior-superior",
    "right-anterior-superior-time",
    "left-anterior-superior-time",
    "left-posterior-superior-time",
    "ras",
    "las",
    "lps",
    "rast",
    "last",
    "lpst",
}


def nrrd_header_fields(path: Path) -> dict[str, str]:
    """The ``field: value`` lines of an NRRD header, field names in lower case.

    Comments (``#``) and key/value pairs (``key:=value``) are skipped; the header ends
    at the first empty line (attached data) or the end of a detached ``.nhdr``.
    """
    fields: dict[str, str] = {}
    for line in header_text(path).splitlines()[1:]:
        if not line.strip():
            break
        if line.startswith("#") or ":=" in line or ": " not in line:
            continue
        key, value = line.split(": ", 1)
        fields[key.strip().lower()] = value.strip()
    return fields


def _unit_key(unit: str) -> str:
    """A unit's key in :data:`_UNIT_TO_MM`: lower case, a plural "s" dropped (not from
    ``"s"`` itself, seconds: it would leave ``""``, which means mm)."""
    key = unit.strip().lower()
    return key[:-1] if key.endswith("s") and key[:-1] and key[:-1] in _UNIT_TO_MM else key


def space_units_to_mm(
    path: Path, affine: np.ndarray, units: Sequence[str]
) -> tuple[np.ndarray, str | None]:
    """``affine`` with its world rows converted from the NRRD ``space units`` to mm.

    The one rule for every NRRD twinsep reads: a scan read by ITK
    (:func:`nrrd_space_to_mm`) and a Slicer ``.seg.nrrd`` read by pynrrd
    (:mod:`twinsep.interop.edited`). No units, or ``""``, mean mm (as ITK and Slicer
    read them).

    Parameters
    ----------
    path : Path
        The file, named in the error.
    affine : (4, 4) ndarray
        Voxel-to-world affine (LPS or RAS) in the file's units.
    units : sequence of str
        The header's ``space units``, one per world axis (without quotes).

    Returns
    -------
    tuple
        ``(affine_mm, warning)``: a copy with each world row scaled by its unit's factor
        to mm, and a plain-words warning when a unit was not mm (else None).

    Raises
    ------
    ScanError
        A unit that is not a length twinsep knows.
    """
    out = np.asarray(affine, dtype=np.float64).copy()
    units = [str(u) for u in units]
    if not units:
        return out, None
    keys = [_unit_key(u) for u in units]
    unknown = [u for u, k in zip(units, keys, strict=True) if k not in _UNIT_TO_MM]
    if unknown:
        raise ScanError(
            path,
            f"NRRD space units {unknown[0]!r} are not a length unit twinsep knows "
            "(mm, cm, m, µm): the voxel size cannot be read in mm",
        )
    factors = np.array([_UNIT_TO_MM[k] for k in keys[:3]] + [1.0] * (3 - len(keys[:3])))
    if np.all(factors == 1.0):
        return out, None
    out[:3, :] *= factors[:, None]
    return out, (
        f"the NRRD header gives space units {' '.join(units[:3])}: voxel sizes and "
        "positions were converted to mm"
    )


def nrrd_space_to_mm(path: Path, affine: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``affine`` (RAS, as ITK read ``path``) in mm, and warnings about its frame.

    Parameters
    ----------
    path : Path
        The ``.nrrd`` / ``.nhdr`` file ITK read.
    affine : (4, 4) ndarray
        Voxel-to-world RAS affine built from ITK's spacing, origin and direction.

    Returns
    -------
    tuple
        ``(affine_mm, warnings)``: each world row scaled by its axis's ``space units``
        factor (a copy; unchanged for mm), and plain-words warnings.

    Raises
    ------
    ScanError
        ``space units`` that are not a length twinsep knows.
    """
    fields = nrrd_header_fields(path)
    warnings: list[str] = []
    units = re.findall(r'"([^"]*)"', fields.get("space units", ""))
    out, note = space_units_to_mm(path, affine, units)
    if note is not None:
        warnings.append(note)
    space = fields.get("space", "").strip().lower()
    if space not in _ANATOMICAL:
        said = f"its space is {fields['space']!r}" if space else "it names no space"
        warnings.append(
            f"the NRRD header names no patient frame ({said}): orientation is unknown and "
            "was read as left-posterior-superior (left-right may be wrong)"
        )
    return out, warnings
