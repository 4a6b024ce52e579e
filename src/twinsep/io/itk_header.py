"""Header geometry of MetaImage and NRRD files, checked before ITK reads the voxels.

ITK's readers answer a damaged header in their own words, or not at all: a MetaImage
spacing of 0 was "Refusing to change spacing from [1, 1, 1] to [0, 0.8, 2]", a
``TransformMatrix`` or NRRD ``space directions`` with two parallel axes "0 0 1", a header
without ``DimSize`` printed four MetaIO lines on the process's stderr and then "Reason:
Success", a ``nan`` spacing was read as 0 and an ``Offset`` of ``nan`` as 0 without a word
(red-team round 7, session 29). Here each such header gets one plain line naming the
field, its value and the rule, as the other refusals do.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twinsep.io.mha_space import metaimage_header_fields
from twinsep.io.nrrd_space import nrrd_header_fields

__all__ = [
    "CapturedStderr",
    "captured_stderr",
    "itk_geometry_problem",
    "metaimage_header_problem",
    "metaimage_spacing_warnings",
]

#: MetaImage keys that give the voxel size, the origin and the axis directions (MetaIO
#: synonyms), lower case.
_SPACING_KEYS = ("elementspacing", "elementsize")
_ORIGIN_KEYS = ("offset", "origin", "position")
_DIRECTION_KEYS = ("transformmatrix", "rotation", "orientation")

#: Axes whose direction matrix has a smaller |determinant| are (nearly) parallel.
_MIN_ABS_DET = 1e-6


def _numbers(text: str) -> list[float] | None:
    """The whitespace-separated numbers of a header value; None when one is not a number."""
    try:
        return [float(tok) for tok in text.split()]
    except ValueError:
        return None


def _spacing_rule(key: str, raw: str, n: int = 3) -> str:
    return (
        f"the header's voxel spacing cannot be used ({key} = {raw}): it needs a voxel size "
        f"of a non-zero number of mm for each of the {n} axes; the header is damaged"
    )


def metaimage_header_problem(path: Path) -> str | None:
    """What makes a MetaImage header's geometry unusable, in one line, or None.

    Parameters
    ----------
    path : Path
        A ``.mha`` or ``.mhd`` file.

    Returns
    -------
    str or None
        The reason naming the field and its value: ``NDims`` or ``DimSize`` missing, not
        whole numbers or not one size per axis; a size of 0 or less; a spacing
        (``ElementSpacing``/``ElementSize``) that is not a non-zero number per axis; an
        origin that is not finite; a direction matrix that is not ``NDims`` x ``NDims``
        finite numbers or whose axes are parallel.
    """
    f = metaimage_header_fields(path)
    names = {k.lower(): k for k in ("NDims", "DimSize", "ElementType")}
    for key in ("ndims", "dimsize", "elementtype"):
        if key not in f:
            return f"unreadable MHA header: it has no {names[key]}"
    nd = _numbers(f["ndims"])
    if nd is None or len(nd) != 1 or not nd[0].is_integer() or nd[0] < 1:
        return f"unreadable MHA header: NDims = {f['ndims']} is not a number of axes"
    n = int(nd[0])
    sizes = _numbers(f["dimsize"])
    if sizes is None or len(sizes) != n or not all(s.is_integer() for s in sizes):
        return (
            f"unreadable MHA header: DimSize = {f['dimsize']} is not {n} whole numbers "
            f"(one size per axis, NDims = {n})"
        )
    if any(s < 1 for s in sizes):
        return (
            f"unreadable MHA header: DimSize = {f['dimsize']} holds a size of 0 or less; "
            "the header is damaged"
        )
    for key in _SPACING_KEYS:
        if key in f:
            sp = _numbers(f[key])
            shown = "ElementSpacing" if key == "elementspacing" else "ElementSize"
            # a negative size is read by ITK as the axis reversed (NIfTI's pixdim too)
            if sp is None or len(sp) < n or not all(math.isfinite(v) and v != 0 for v in sp[:n]):
                return _spacing_rule(shown, f[key], n)
            break
    for key in _ORIGIN_KEYS:
        if key in f:
            o = _numbers(f[key])
            if o is None or len(o) < n or not all(math.isfinite(v) for v in o[:n]):
                return (
                    f"the header's origin is not {n} numbers ({key.capitalize()} = {f[key]}); "
                    "the header is damaged"
                )
            break
    for key in _DIRECTION_KEYS:
        if key in f:
            d = _numbers(f[key])
            shown = "TransformMatrix" if key == "transformmatrix" else key.capitalize()
            if d is None or len(d) != n * n or not all(math.isfinite(v) for v in d):
                return (
                    f"the header's axis directions are not {n} x {n} numbers ({shown} = "
                    f"{f[key]}); the header is damaged"
                )
            m = np.asarray(d, dtype=np.float64).reshape(n, n)
            if abs(float(np.linalg.det(m[:3, :3] if n >= 3 else m))) < _MIN_ABS_DET:
                return (
                    f"the header's axis directions are not a rotation ({shown} = {f[key]}: "
                    "two axes are parallel, or one is zero); the header is damaged"
                )
            break
    return None


def metaimage_spacing_warnings(path: Path) -> list[str]:
    """A warning when a MetaImage header gives negative voxel sizes, which ITK reads as
    the axis reversed (the format defines no sign; NIfTI's negative pixdim is read as
    positive and warned about the same way), else ``[]``.

    Parameters
    ----------
    path : Path
        A ``.mha`` or ``.mhd`` file whose header :func:`metaimage_header_problem` passed.
    """
    f = metaimage_header_fields(path)
    key = next((k for k in _SPACING_KEYS if k in f), "")
    sp = _numbers(f[key]) if key else None
    if not sp or not any(v < 0 for v in sp):
        return []
    axes = ", ".join("ijk"[i] for i, v in enumerate(sp[:3]) if v < 0)
    shown = "ElementSpacing" if key == "elementspacing" else "ElementSize"
    return [
        f"the MetaImage header gives a negative voxel size ({shown} = {f[key]}), which the "
        f"format does not define: read as ITK reads it, axis {axes} reversed; if the sign "
        "was not meant as a flip, left and right (and so twin A) are wrong"
    ]


def itk_geometry_problem(
    path: Path, fmt: str, spacing: Sequence[float], direction: Sequence[float]
) -> str | None:
    """What makes the geometry ITK read from an NRRD/MetaImage header unusable, or None.

    Run after ``ReadImageInformation`` and before the voxels are read, where ITK itself
    would fail with "Refusing to change spacing ..." or a bare row of numbers.

    Parameters
    ----------
    path : Path
        The header file (its fields are quoted in the reason).
    fmt : {"nrrd", "mha"}
        Which header.
    spacing : sequence of float
        ITK's spacing, one per axis.
    direction : sequence of float
        ITK's row-major direction matrix.

    Returns
    -------
    str or None
        One line naming the field, or None when the geometry can be used.
    """
    sp = [float(v) for v in spacing]
    n = len(sp)
    d = np.asarray(direction, dtype=np.float64).reshape(n, n)
    fields = nrrd_header_fields(path) if fmt == "nrrd" else metaimage_header_fields(path)
    if not all(math.isfinite(v) and v != 0 for v in sp):  # negative: ITK reverses the axis
        if fmt == "nrrd":
            key = "space directions" if "space directions" in fields else "spacings"
            if key in fields:
                return (
                    f"the header's voxel spacing cannot be used ({key}: {fields[key]}): each "
                    "axis needs a direction of positive length in mm; the header is damaged"
                )
            return _spacing_rule("spacing", " ".join(f"{v:g}" for v in sp), n)
        found = next((k for k in _SPACING_KEYS if k in fields), None)
        shown = "ElementSize" if found == "elementsize" else "ElementSpacing"
        raw = fields[found] if found else " ".join(f"{v:g}" for v in sp)
        return _spacing_rule(shown, raw, n)
    k = min(n, 3)
    if not np.all(np.isfinite(d)) or abs(float(np.linalg.det(d[:k, :k]))) < _MIN_ABS_DET:
        if fmt == "nrrd":
            shown, raw = "space directions", fields.get("space directions", "")
        else:
            key = next((k2 for k2 in _DIRECTION_KEYS if k2 in fields), "transformmatrix")
            shown = "TransformMatrix" if key == "transformmatrix" else key.capitalize()
            raw = fields.get(key, "")
        sep = ":" if fmt == "nrrd" else " ="
        raw = raw or " ".join(f"{v:g}" for v in d.ravel())
        return (
            f"the header's axis directions are not a rotation ({shown}{sep} {raw}: two axes "
            "are parallel, or one is zero); the header is damaged"
        )
    return None


@dataclass
class CapturedStderr:
    """What a C++ library wrote on file descriptor 2 inside :func:`captured_stderr`."""

    text: str = ""

    def first_line(self) -> str:
        """The first non-empty line written, or ""."""
        return next((ln.strip() for ln in self.text.splitlines() if ln.strip()), "")


@contextlib.contextmanager
def captured_stderr() -> Iterator[CapturedStderr]:
    """Send what C++ code writes on file descriptor 2 to a buffer while the block runs.

    MetaIO prints its parse errors with ``std::cerr`` (four lines beside the CLI's one-line
    refusal, whose reason ITK then gives as "Reason: Success"); Python's own ``sys.stderr``
    is not touched. Use it only around a short ITK call (a header read): whatever another
    thread writes on descriptor 2 meanwhile goes to the buffer too.
    """
    captured = CapturedStderr()
    with tempfile.TemporaryFile() as buf:
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 (a daemon): nothing can be printed anyway
            yield captured
            return
        try:
            os.dup2(buf.fileno(), 2)
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            buf.seek(0)
            captured.text = buf.read(65536).decode("utf-8", "replace")
