"""Read the CT volume of an InVesalius 3 project file (``.inv3``) into a :class:`Volume`.

An ``.inv3`` file is a tar archive (gzip-compressed or not) of one folder holding
``main.plist`` (an XML property list) and the raw voxel file it names
(``matrix.dat``), plus masks, surfaces and measurements that are not read here.
Only the standard library (``tarfile``, ``plistlib``) and numpy are used; nothing is
extracted to disk.

Voxel orientation, established from the InVesalius 3 source and checked on anatomy:

* ``main.plist`` ``matrix.shape`` is ``(slices, rows, columns)`` and ``matrix.dat``
  is that C-ordered array in the writer's native byte order (a numpy memmap; every
  InVesalius build runs on little-endian hosts, and the values are checked against
  ``scalar_range`` so a byte-swapped file is refused rather than misread);
  ``spacing`` is ``(column, row, slice)`` in mm (VTK order).
* ``orientation`` 1 is ``AXIAL`` (InVesalius ``constants.py``: AXIAL 1, CORONAL 2,
  SAGITAL 3). For an axial series each DICOM slice is stored as ``matrix[n]`` with
  its rows reversed (the old ``vtkGDCMImageReader`` gives a lower-left origin; the
  newer ``dcm2memmap`` reverses the rows of ``gdcm`` explicitly to match), and the
  slices in the order of GDCM's position sorter (increasing along the slice normal).
  For the standard axial image orientation (rows toward +x LPS = patient left,
  columns toward +y LPS = posterior) this makes: column index -> patient left,
  row index -> anterior, slice index -> superior; InVesalius's own NIfTI export
  (``fliplr`` on the rows) agrees.
* Checked on the example ``Cranium.inv3`` (see ``tests/realanatomy``): the skull
  vertex lies at the highest slice index, the face (nose, orbits) at high row
  index, the curved head holder at the lowest rows, i.e. behind the occiput of a
  supine patient.

Not established: left versus right. Format-1 projects store neither the DICOM image
orientation nor an affine, and a head is nearly mirror-symmetric, so the column
direction (patient left) is the DICOM default, not a measured fact; a mirrored scan
would read as mirrored. Nothing in twinsep's planning depends on handedness of a
single head beyond labelling. Projects with an ``orientation`` other than axial, or
with a non-empty ``affine`` (newer InVesalius), are refused rather than guessed.
The grid is centred on the world origin (the project stores no position).
"""

from __future__ import annotations

import logging
import plistlib
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.errors import ScanError
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

#: InVesalius ``constants.AXIAL``: the only slice orientation read here.
AXIAL = 1

#: Voxel data types InVesalius writes for the image matrix (``matrix.dtype``).
_DTYPES: dict[str, np.dtype] = {
    "int16": np.dtype("<i2"),
    "uint16": np.dtype("<u2"),
    "uint8": np.dtype("u1"),
}

#: Largest matrix accepted (voxels): 1024^3 int16 is 2 GiB, beyond a laptop plan.
_MAX_VOXELS = 1024**3


class InvesaliusError(ScanError):
    """An ``.inv3`` project that cannot be read as a CT volume (exit code 2)."""


@dataclass(frozen=True)
class Inv3Info:
    """What the project says about its scan (no patient identity).

    Attributes
    ----------
    modality : str
        ``modality`` of ``main.plist`` (e.g. ``"CT"``).
    shape_src : (3,) tuple of int
        ``matrix.shape`` as stored: (slices, rows, columns).
    spacing_mm : (3,) tuple of float
        Column, row and slice spacing (mm).
    scalar_range_hu : (2,) tuple of int
        ``scalar_range`` of the project (HU for CT).
    format_version : int
        ``format_version`` of ``main.plist``.
    """

    modality: str
    shape_src: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    scalar_range_hu: tuple[int, int]
    format_version: int


def _fail(path: Path, reason: str) -> InvesaliusError:
    return InvesaliusError(path, f"not a readable InVesalius 3 CT project: {reason}")


def _key(path: Path, d: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise _fail(path, f"main.plist has no {key!r} key")
    v = d[key]
    # bool is an int subclass: a plist <true/> is not a number
    if isinstance(v, bool) or not isinstance(v, kind):
        raise _fail(path, f"main.plist {key!r} is {v!r}, expected {kind}")
    return v


def _numbers(path: Path, v: Any, key: str, n: int, kind: type | tuple[type, ...]) -> list:
    if (
        not isinstance(v, list)
        or len(v) != n
        or any(isinstance(x, bool) or not isinstance(x, kind) for x in v)
    ):
        raise _fail(path, f"main.plist {key!r} is {v!r}, expected {n} numbers")
    return v


def _member(
    path: Path, tar: tarfile.TarFile, names: dict[str, tarfile.TarInfo], name: str
) -> bytes:
    info = names.get(name)
    if info is None or not info.isfile():
        raise _fail(path, f"the archive has no {name!r}")
    f = tar.extractfile(info)
    if f is None:
        raise _fail(path, f"{name!r} cannot be read from the archive")
    return f.read()


def read_inv3_header(path: str | Path) -> tuple[Inv3Info, dict[str, Any]]:
    """Parse and check ``main.plist`` of ``path``; return its facts and the raw dict.

    Raises
    ------
    InvesaliusError
        Not a tar archive, no ``main.plist``, or a missing / wrongly typed key.
    """
    p = Path(path)
    try:
        with tarfile.open(p, "r:*") as tar:
            return _read_main(p, tar, _index(p, tar))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _fail(p, f"not a tar archive ({exc})") from None


def _index(path: Path, tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    names: dict[str, tarfile.TarInfo] = {}
    for m in tar.getmembers():
        base = m.name.rsplit("/", 1)[-1]
        if base in names:
            raise _fail(path, f"the archive holds {base!r} twice")
        names[base] = m
    return names


def _read_main(
    path: Path, tar: tarfile.TarFile, names: dict[str, tarfile.TarInfo]
) -> tuple[Inv3Info, dict[str, Any]]:
    """Read, parse and check the archive's ``main.plist``."""
    return _parse_main(path, _member(path, tar, names, "main.plist"))


def _parse_main(path: Path, raw: bytes) -> tuple[Inv3Info, dict[str, Any]]:
    try:
        d = plistlib.loads(raw)
    except Exception as exc:  # plistlib raises several types (ExpatError, ValueError, ...)
        raise _fail(path, f"main.plist is not a property list ({type(exc).__name__})") from None
    if not isinstance(d, dict):
        raise _fail(path, "main.plist is not a dictionary")
    version = _key(path, d, "format_version", int)
    modality = _key(path, d, "modality", str)
    orientation = _key(path, d, "orientation", int)
    if orientation != AXIAL:
        raise _fail(
            path,
            f"slice orientation {orientation} is not axial (1); only axial projects are read",
        )
    if d.get("affine"):
        raise _fail(path, "the project carries an 'affine' (newer InVesalius); not supported")
    spacing = _numbers(path, _key(path, d, "spacing", list), "spacing", 3, (int, float))
    spacing_t = tuple(float(s) for s in spacing)
    if not all(0.05 <= s <= 20.0 for s in spacing_t):
        raise _fail(path, f"spacing {spacing_t} mm is outside 0.05-20 mm")
    rng_ = _numbers(path, _key(path, d, "scalar_range", list), "scalar_range", 2, int)
    if rng_[0] > rng_[1]:
        raise _fail(path, f"scalar_range {rng_} is not increasing")
    matrix = _key(path, d, "matrix", dict)
    dtype = _key(path, matrix, "dtype", str)
    if dtype not in _DTYPES:
        raise _fail(path, f"matrix dtype {dtype!r} is not one of {', '.join(_DTYPES)}")
    fname = _key(path, matrix, "filename", str)
    if "/" in fname or fname in ("", ".", ".."):
        raise _fail(path, f"matrix filename {fname!r} is not a plain file name")
    shape = _numbers(path, _key(path, matrix, "shape", list), "matrix shape", 3, int)
    if min(shape) < 2:
        raise _fail(path, f"matrix shape {shape} is not a 3D volume")
    if int(np.prod(shape, dtype=np.int64)) > _MAX_VOXELS:
        raise _fail(path, f"matrix shape {shape} exceeds {_MAX_VOXELS} voxels")
    info = Inv3Info(
        modality=modality,
        shape_src=(int(shape[0]), int(shape[1]), int(shape[2])),
        spacing_mm=(spacing_t[0], spacing_t[1], spacing_t[2]),
        scalar_range_hu=(int(rng_[0]), int(rng_[1])),
        format_version=int(version),
    )
    return info, d


def load_inv3(path: str | Path, *, require_ct: bool = True) -> Volume:
    """Load the image matrix of an InVesalius 3 project as a :class:`Volume`.

    Parameters
    ----------
    path : str or Path
        The ``.inv3`` file (never modified, never extracted to disk).
    require_ct : bool
        Refuse a project whose ``modality`` is not ``"CT"``.

    Returns
    -------
    Volume
        ``int16`` HU (or the stored integer type) indexed ``[column, row, slice]``;
        affine in RAS mm: column -> patient left (-x), row -> anterior (+y),
        slice -> superior (+z), the grid centred on the world origin. ``meta`` holds
        ``modality``, ``source`` (``"invesalius"``) and ``scalar_range_hu``; the
        project's patient name is not copied.

    Raises
    ------
    InvesaliusError
        Not an ``.inv3``, missing/mistyped keys, a matrix whose byte count does not
        match its shape and dtype, values outside ``scalar_range``, not axial, not CT.
    """
    p = Path(path)
    try:
        with tarfile.open(p, "r:*") as tar:
            names = _index(p, tar)
            info, d = _read_main(p, tar, names)
            fname = d["matrix"]["filename"]
            member = names.get(fname)
            dt = _DTYPES[d["matrix"]["dtype"]]
            want = int(np.prod(info.shape_src, dtype=np.int64)) * dt.itemsize
            if member is not None and member.isfile() and member.size != want:
                raise _fail(
                    p,
                    f"{fname} holds {member.size} bytes, shape {list(info.shape_src)} "
                    f"of {d['matrix']['dtype']} needs {want}",
                )
            data = _member(p, tar, names, fname)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _fail(p, f"not a tar archive or truncated ({exc})") from None
    if len(data) != want:
        raise _fail(p, f"{fname} holds {len(data)} bytes, expected {want}")
    if require_ct and info.modality != "CT":
        raise _fail(p, f"modality is {info.modality!r}, not CT")
    src = np.frombuffer(data, dtype=dt).reshape(info.shape_src)
    lo, hi = int(src.min()), int(src.max())
    r0, r1 = info.scalar_range_hu
    if lo < r0 or hi > r1:
        raise _fail(
            p,
            f"voxel values {lo}..{hi} fall outside the stored scalar_range {r0}..{r1} "
            "(wrong byte order or a corrupt matrix)",
        )
    # [slice, row, column] -> [column, row, slice]: a transposed view of a private copy
    arr = np.transpose(src.astype(dt.newbyteorder("="), copy=True), (2, 1, 0))
    if arr.dtype == np.uint16 and hi <= np.iinfo(np.int16).max:
        arr = arr.astype(np.int16)
    sx, sy, sz = info.spacing_mm
    affine = np.diag([-sx, sy, sz, 1.0])
    centre = (np.array(arr.shape, float) - 1.0) / 2.0
    affine[:3, 3] = -(affine[:3, :3] @ centre)
    logger.debug("read %s: %s %s mm, %d..%d", p.name, arr.shape, info.spacing_mm, lo, hi)
    meta = {
        "modality": info.modality,
        "source": "invesalius",
        "scalar_range_hu": info.scalar_range_hu,
    }
    return Volume(arr, affine, meta)
