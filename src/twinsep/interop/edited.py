"""The user's edited segmentation as an input (``twinsep plan --segmentation``).

An imaging engineer opens a plan's segmentation in 3D Slicer or ITK-SNAP, corrects it
and plans again from the corrected maps; the ``segment`` (and ``twins``) stages then take
them instead of computing (docs/CONTRACTS.md "The user's segmentation").

Two kinds of file are read:

* a Slicer ``.seg.nrrd``: as :mod:`twinsep.interop.slicer` writes it (one segment per
  twin x tissue) and as Slicer 5 saves it again after editing: segments found by
  ``SegmentN_Name`` (any order, empty ones dropped), their voxels by
  ``SegmentN_LabelValue`` in layer ``SegmentN_Layer`` of a 4-D array when segments
  overlap, the array cropped to the segments' extent, space LPS or RAS;
* a tissue label map (values 0..5, ``labels.nii.gz`` edited in ITK-SNAP), with an
  optional twin map (values 0..2, ``twins.nii.gz``).

The file must lie on the CT's voxel lattice: the same grid, a sub-box of it, or the same
voxels written with other axis order or signs (LPS); it is placed voxel for voxel by world
position. Anything else (other voxel size, rotated axes, voxel centres off the CT's) is
refused: nothing is ever resampled.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from twinsep.errors import InputError
from twinsep.io.fsnames import printable_name
from twinsep.io.nrrd_space import space_units_to_mm
from twinsep.labels import TISSUE_NAMES, TWIN_NAMES
from twinsep.segment.morph import component_sizes
from twinsep.volume import LPS_TO_RAS, Volume, spacing_from_affine

logger = logging.getLogger(__name__)

#: Tissue label values 0..5 and twin values 0..2 (DESIGN.md, "Label maps").
_MAX_TISSUE = max(TISSUE_NAMES)
_MAX_TWIN = max(TWIN_NAMES)


@dataclass(frozen=True)
class EditedParams:
    """Tolerances of the placement on the CT's grid.

    Attributes
    ----------
    max_off_grid_vx : float
        How far (in voxels, along any CT axis) the file's voxel centres may sit from the
        CT's: only the rounding of origins written as decimal text (Slicer writes about
        15 significant digits, ITK-SNAP's NIfTI float32 about 7: 1e-5 mm on a 100 mm
        origin). 0.05 voxel is 0.025 mm on 0.5 mm voxels; a real shift is half a voxel
        or more.
    axis_tolerance : float
        Largest difference allowed between the file's voxel axes and the CT's, as a
        fraction of the CT's voxel size (float32 direction cosines and spacings round
        at 1e-7 relative; a voxel 0.1 % larger is another grid, 0.5 mm over 500 voxels).
    """

    max_off_grid_vx: float = 0.05
    axis_tolerance: float = 1e-3


@dataclass(frozen=True)
class InputFile:
    """A file the user gave: its display name (no folders) and sha256."""

    name: str
    sha256: str


@dataclass(frozen=True)
class EditedSegmentation:
    """The user's maps on the CT's grid.

    Attributes
    ----------
    labels : ndarray of uint8, shape of the CT
        Tissue labels 0..5.
    twins : ndarray of uint8 or None
        Owner 0/1/2 of every tissue voxel; None when only tissues were given (the
        ``twins`` stage assigns them).
    kind : {"slicer", "label map"}
        What was read: a Slicer ``.seg.nrrd`` or a tissue label map (+ twin map).
    files : tuple of InputFile
        The segmentation file, then the twin map when given.
    warnings : tuple of str
        Doubts about the maps, in plain words (a twin in several pieces).
    """

    labels: np.ndarray
    twins: np.ndarray | None
    kind: Literal["slicer", "label map"]
    files: tuple[InputFile, ...]
    warnings: tuple[str, ...] = ()

    @property
    def supplied(self) -> str:
        """What the user supplied, in words: ``"tissues and twins"`` or ``"tissues"``."""
        return "tissues" if self.twins is None else "tissues and twins"

    def provenance(self) -> dict[str, object]:
        """The ``input.segmentation`` section of ``plan.json`` (display names only)."""
        out: dict[str, object] = {
            "file": self.files[0].name,
            "sha256": self.files[0].sha256,
            "kind": self.kind,
            "supplied": self.supplied,
        }
        if self.kind == "label map" and len(self.files) > 1:
            out["twin_map"] = {"file": self.files[1].name, "sha256": self.files[1].sha256}
        return out


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_seg_nrrd(path: Path) -> bool:
    """True when ``path`` is a NRRD whose header names Slicer segments (``SegmentN_Name``)."""
    if not path.name.lower().endswith((".nrrd", ".nhdr")):
        return False
    import nrrd

    try:
        header = nrrd.read_header(str(path))
    except Exception:  # noqa: BLE001 - unreadable headers are reported by the reader
        return False
    return any(re.fullmatch(r"Segment\d+_Name", str(k)) for k in header)


def read_edited_segmentation(
    path: str | Path,
    ct: Volume,
    *,
    twin_map: str | Path | None = None,
    params: EditedParams = EditedParams(),
) -> EditedSegmentation:
    """Read the user's segmentation and place it on the CT's grid, checked.

    Parameters
    ----------
    path : str or Path
        A Slicer ``.seg.nrrd`` (twin x tissue segments) or a tissue label map (0..5) in
        any format :func:`twinsep.io.read_label_map` reads.
    ct : Volume
        The scan being planned: its grid (shape and RAS affine) is the target.
    twin_map : str or Path, optional
        Twin map (0..2) to go with a tissue label map; not with a ``.seg.nrrd``, which
        holds the twins already.
    params : EditedParams
        Placement tolerances.

    Returns
    -------
    EditedSegmentation

    Raises
    ------
    InputError
        A missing or unreadable file, an unknown segment name, values out of range, a
        grid that is not the CT's, overlapping segments, tissue without an owner or an
        owner without tissue, a twin missing, or an empty map. The message is one line
        naming the file.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "segmentation file not found")
    files = [InputFile(printable_name(p.name), file_sha256(p))]  # a Latin-1 name: exit 1
    twins: np.ndarray | None
    warnings: list[str] = []
    if is_seg_nrrd(p):
        if twin_map is not None:
            raise InputError(
                twin_map,
                f"--twin-map goes with a tissue label map; {p.name} is a Slicer segmentation, "
                "whose segments already say which twin each voxel belongs to",
            )
        code, affine = read_slicer_segments(p, warnings=warnings)
        code = place_on_grid(code, affine, ct, source=p, params=params)
        n = len(TISSUE_NAMES)
        twins = np.where(code > 0, (code - 1) // n + 1, 0).astype(np.uint8)
        labels = np.where(code > 0, (code - 1) % n + 1, 0).astype(np.uint8)
        kind: Literal["slicer", "label map"] = "slicer"
    else:
        labels = _read_map(p, ct, _MAX_TISSUE, "tissue", params)
        twins = None
        if twin_map is not None:
            t = Path(twin_map)
            if not t.is_file():
                raise InputError(t, "twin map file not found")
            files.append(InputFile(printable_name(t.name), file_sha256(t)))
            twins = _read_map(t, ct, _MAX_TWIN, "twin", params)
        kind = "label map"
    if not labels.any():
        raise InputError(p, "holds no tissue: every voxel is background (an empty map)")
    if twins is not None:
        owner_source = p if kind == "slicer" else Path(twin_map or p)
        _check_owners(labels, twins, p, owner_source, kind)
        warnings += twin_piece_warnings(twins, ct.voxel_volume_mm3)
    return EditedSegmentation(
        labels=labels, twins=twins, kind=kind, files=tuple(files), warnings=tuple(warnings)
    )


def _read_map(p: Path, ct: Volume, top: int, what: str, params: EditedParams) -> np.ndarray:
    """A tissue (``top`` 5) or twin (``top`` 2) label map placed on the CT's grid."""
    from twinsep.errors import ScanError
    from twinsep.io import read_label_map
    from twinsep.io.checks import LoadParams

    try:
        vol = read_label_map(p)
    except ScanError as exc:
        raise InputError(p, exc.reason) from None
    arr = vol.array
    high = arr > top
    if high.any():
        values = np.unique(arr[high])
        shown = ", ".join(str(int(v)) for v in values[:6]) + (", ..." if values.size > 6 else "")
        n_labels = int(np.unique(arr).size) - 1
        if n_labels > LoadParams().label_map_max_unique:
            # AAL, Brodmann, JHU...: regions of the brain, not tissues
            names = ", ".join(f"{v} {n.replace('_', ' ')}" for v, n in TISSUE_NAMES.items())
            hint = (
                f" ({n_labels} labels: a label atlas? a {what} map holds 0 background, "
                + (names if what == "tissue" else "1 twin A, 2 twin B")
                + "; twinsep does not map an atlas's regions to tissues)"
            )
        elif what == "tissue" and int(values.max()) <= 2 * len(TISSUE_NAMES):
            hint = " (a twin x tissue map? give the plan's twins.seg.nrrd instead)"
        else:
            hint = ""
        raise InputError(
            p,
            f"is not a {what} map: {int(high.sum())} voxels hold value(s) {shown}, outside "
            f"0..{top}{hint}",
        )
    return place_on_grid(arr, vol.affine, ct, source=p, params=params)


def _check_owners(
    labels: np.ndarray, twins: np.ndarray, p: Path, owner_source: Path, kind: str
) -> None:
    """Every tissue voxel has an owner, every owner a tissue, and both twins are there."""
    tissue = labels > 0
    owned = twins > 0
    if kind != "slicer":
        orphan = int(np.count_nonzero(tissue & ~owned))
        if orphan:
            raise InputError(
                owner_source,
                f"{orphan} tissue voxels of {p.name} have no twin (value 0 here): every "
                "tissue voxel must belong to twin A (1) or twin B (2)",
            )
        empty = int(np.count_nonzero(owned & ~tissue))
        if empty:
            raise InputError(
                owner_source,
                f"{empty} voxels here belong to a twin but are background in {p.name}: "
                "a twin owns tissue only (set them to 0, or give them a tissue)",
            )
    for value, name in TWIN_NAMES.items():
        if not np.any(twins == value):
            raise InputError(
                owner_source,
                f"holds no voxel of twin {name}: both twins must be in the segmentation",
            )
    if not twins_touch(twins):
        raise InputError(
            owner_source,
            "twin A and twin B do not touch anywhere (no voxel face between them): there "
            "is nothing to separate; a gap painted between the twins, or one twin's part "
            "of the bridge erased?",
        )


def twins_touch(twins: np.ndarray) -> bool:
    """True when a voxel of twin A (1) shares a face with a voxel of twin B (2)."""
    for ax in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[ax] = slice(None, -1)
        hi[ax] = slice(1, None)
        a, b = twins[tuple(lo)], twins[tuple(hi)]
        if np.any((a == 1) & (b == 2)) or np.any((a == 2) & (b == 1)):
            return True
    return False


def twin_piece_warnings(twins: np.ndarray, voxel_mm3: float) -> list[str]:
    """One sentence per twin whose voxels form more than one piece (26-connected).

    Parameters
    ----------
    twins : ndarray of uint8
        Owner map 0/1/2.
    voxel_mm3 : float
        Voxel volume (mm^3).

    Returns
    -------
    list of str
        e.g. ``"twin A is in 3 pieces: ... 0.4 mL apart from its main piece ..."``.
    """
    out = []
    for value, name in TWIN_NAMES.items():
        mask = twins == value
        _, sizes = component_sizes(mask, 26)
        if sizes.size <= 1:
            continue
        apart_ml = float(sizes.sum() - sizes.max()) * voxel_mm3 / 1000.0
        out.append(
            f"twin {name} is in {sizes.size} pieces in the user's segmentation: "
            f"{apart_ml:.2f} mL lie apart from its main piece "
            f"({sizes.max() * voxel_mm3 / 1000.0:.1f} mL); check the edits for stray "
            "strokes or a piece given to the wrong twin"
        )
    return out


# ----------------------------------------------------------------------------
# Slicer .seg.nrrd
# ----------------------------------------------------------------------------
def _segment_codes() -> dict[str, tuple[int, str]]:
    """Normalised segment name -> (twin x tissue code, name as twinsep writes it)."""
    from twinsep.interop.slicer import segments

    return {_norm(s.name): (s.label_value, s.name) for s in segments("#000000", "#000000")}


def _norm(name: str) -> str:
    return " ".join(name.replace("_", " ").lower().split())


def _header_int(header: dict[str, object], key: str, path: Path, default: int | None) -> int:
    raw = header.get(key)
    if raw is None:
        if default is None:
            raise InputError(path, f"segment field {key} is missing (re-save it with Slicer 5)")
        return default
    try:
        return int(str(raw).strip())
    except ValueError:
        raise InputError(path, f"segment field {key} = {raw!r} is not a whole number") from None


def read_slicer_segments(
    path: Path, *, warnings: list[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Twin x tissue codes of a Slicer ``.seg.nrrd`` on the file's own grid.

    Parameters
    ----------
    path : Path
        ``.seg.nrrd`` with segments named as twinsep names them
        (:func:`twinsep.interop.slicer.segments`: ``"Twin A soft tissue"`` ...).
    warnings : list of str, optional
        Receives what was converted (``space units`` other than mm).

    Returns
    -------
    code : ndarray of uint8, shape (I, J, K)
        ``(twin - 1) * 5 + tissue`` where a segment holds the voxel, 0 elsewhere.
    affine : (4, 4) ndarray
        The file grid's voxel-to-world RAS affine.

    Raises
    ------
    InputError
        Unreadable file, no world space, ``space units`` that are not a length, a
        segment name twinsep does not know, a layer or label value that is not in the
        data, voxels of no segment, or voxels that two segments of different twins or
        tissues claim.
    """
    import nrrd

    try:
        data, header = nrrd.read(str(path), index_order="F")
    except Exception as exc:  # noqa: BLE001 - pynrrd raises several types
        raise InputError(path, f"cannot be read as NRRD ({exc})") from None
    data = np.asarray(data)
    space = str(header.get("space", "")).lower()
    if space in ("left-posterior-superior", "lps"):
        to_ras = LPS_TO_RAS
    elif space in ("right-anterior-superior", "ras"):
        to_ras = np.eye(4)
    else:
        raise InputError(
            path,
            f"has no patient space (space {header.get('space')!r}; expected "
            "left-posterior-superior as Slicer writes it)",
        )
    dirs = np.asarray(header.get("space directions"), dtype=float)
    if data.ndim not in (3, 4) or dirs.ndim != 2 or dirs.shape[0] != data.ndim:
        raise InputError(path, f"holds a {data.ndim}-D array; a segmentation is 3-D or 4-D")
    spatial = [i for i in range(data.ndim) if np.isfinite(dirs[i]).all()]
    if len(spatial) != 3:
        raise InputError(path, "does not have three spatial axes")
    if data.ndim == 4:
        layer_axis = next(i for i in range(4) if i not in spatial)
        layers = np.moveaxis(data, layer_axis, 0)
    else:
        layers = data[np.newaxis]
    if layers[0].size == 1:
        # Slicer writes one voxel for a segmentation without voxels
        raise InputError(path, "holds no segment voxels (an empty segmentation)")
    affine = np.eye(4)
    affine[:3, :3] = dirs[spatial].T
    affine[:3, 3] = np.asarray(header.get("space origin"), dtype=float)
    # "space units" (cm, m, µm) to mm, by the rule of NRRD scans (pynrrd, like ITK,
    # does not apply them): a map in cm was refused as another voxel size, or placed
    # ten times too small
    affine, units_note = space_units_to_mm(path, affine, header.get("space units") or [])
    if units_note is not None and warnings is not None:
        warnings.append(f"the segmentation file: {units_note}")  # its name may hold PHI
    affine = to_ras @ affine
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise InputError(path, "has no valid space directions / space origin")

    known = _segment_codes()
    numbers = sorted(
        int(m.group(1)) for k in header if (m := re.fullmatch(r"Segment(\d+)_Name", str(k)))
    )
    code = np.zeros(layers.shape[1:], np.uint8)
    owner_name: dict[int, str] = {}  # code -> segment name, for the overlap message
    explained = np.zeros(layers.shape, bool)
    clash = np.zeros(layers.shape[1:], bool)
    first_clash: tuple[str, str] | None = None
    for n in numbers:
        name = str(header[f"Segment{n}_Name"])
        hit = known.get(_norm(name))
        if hit is None:
            choices = ", ".join(repr(v[1]) for v in known.values())
            raise InputError(
                path,
                f"segment {name!r} (Segment{n}) is not one of twinsep's segments ({choices}): "
                "rename it after the twin and tissue it holds, or delete it",
            )
        value, canonical = hit
        label_value = _header_int(header, f"Segment{n}_LabelValue", path, None)
        layer = _header_int(header, f"Segment{n}_Layer", path, 0)
        if not 0 <= layer < layers.shape[0]:
            raise InputError(
                path,
                f"segment {name!r} is in layer {layer}, but the file holds "
                f"{layers.shape[0]} layer(s)",
            )
        if label_value <= 0:
            raise InputError(path, f"segment {name!r} has label value {label_value} (not > 0)")
        mask = layers[layer] == label_value
        explained[layer] |= mask
        other = mask & (code != 0) & (code != value)
        if other.any():
            clash |= other
            if first_clash is None:
                first_clash = (owner_name[int(code[other].flat[0])], canonical)
        code[mask & (code == 0)] = value
        owner_name[value] = canonical
    stray = (layers != 0) & ~explained
    if stray.any():
        lay, *_ = np.nonzero(stray)
        values = np.unique(layers[stray])
        raise InputError(
            path,
            f"{int(stray.sum())} voxels (layer {int(lay[0])}, value(s) "
            f"{', '.join(str(v) for v in values[:6])}) belong to no segment of the header",
        )
    if clash.any():
        assert first_clash is not None
        raise InputError(
            path,
            f"{int(clash.sum())} voxels are claimed by two segments of different twins or "
            f"tissues (first {first_clash[0]!r} and {first_clash[1]!r}): each voxel must be "
            "in one segment (Slicer: Segment Editor, masking 'Overwrite other segments')",
        )
    return code, affine


# ----------------------------------------------------------------------------
# geometry
# ----------------------------------------------------------------------------
def _fmt(values: np.ndarray | tuple[float, ...], digits: int = 3) -> str:
    return " x ".join(f"{float(v):.{digits}g}" for v in values)


#: ``Volume.meta`` key of a CT that :func:`twinsep.io.load_scan` put on an orthogonal
#: grid (a sheared, gantry-tilted NIfTI): the tilt in degrees.
TILT_META = "tilt_corrected_deg"


def grid_advice(ct: Volume) -> str:
    """What to do with a segmentation refused as not on the CT's grid.

    A CT stored sheared (gantry tilt kept) is resampled onto an orthogonal grid when it is
    read (:mod:`twinsep.io.shear`); a map drawn on the file as stored (a tool that reads
    its voxels as they lie, or its rotation-only qform) is then on another grid, and the
    plan's own maps are on the right one.
    """
    tilt = ct.meta.get(TILT_META)
    if tilt is None:
        return "export it with the CT as reference geometry"
    return (
        f"this CT was stored with a gantry tilt of about {float(tilt):.1f} deg, and twinsep "
        "put it on an orthogonal grid when reading it (the plan's warnings say so), so a "
        "map drawn on the CT file as stored is not on the plan's grid: edit the plan's "
        "labels.nii.gz or twins.seg.nrrd, which are on it, or plan from a tilt-corrected CT "
        "(e.g. dcm2niix's) and segment that one"
    )


def place_on_grid(
    array: np.ndarray,
    affine: np.ndarray,
    ct: Volume,
    *,
    source: Path,
    params: EditedParams = EditedParams(),
) -> np.ndarray:
    """Put a label array given on its own grid into the CT's grid, voxel for voxel.

    The file's grid must be the CT's lattice: each file axis along one CT axis (either
    sign, any order), the same voxel size, voxel centres on the CT's within
    ``params.max_off_grid_vx``. Voxels of the file outside the CT must be background.

    Parameters
    ----------
    array : ndarray, shape (I, J, K)
        Label values on the file's grid (not modified).
    affine : (4, 4) ndarray
        The file grid's voxel-to-world RAS affine.
    ct : Volume
        The scan's grid.
    source : Path
        The file, named in errors.
    params : EditedParams

    Returns
    -------
    ndarray of uint8, ``ct.shape``
        The labels on the CT grid, 0 outside the file's box.

    Raises
    ------
    InputError
        Other voxel size, rotated axes, off the CT's lattice, or labels outside the CT.
    """
    m = np.linalg.inv(ct.affine) @ np.asarray(affine, dtype=float)  # file ijk -> CT ijk
    r = m[:3, :3]
    perm = np.argmax(np.abs(r), axis=0)  # CT axis of each file axis
    signs = np.sign(r[perm, np.arange(3)])
    ideal = np.zeros((3, 3))
    ideal[perm, np.arange(3)] = signs
    file_sp = np.asarray(spacing_from_affine(affine))
    ct_sp = np.asarray(ct.spacing_mm)
    if sorted(perm.tolist()) != [0, 1, 2] or np.abs(r - ideal).max() > params.axis_tolerance:
        matched = ct_sp[perm] if sorted(perm.tolist()) == [0, 1, 2] else ct_sp
        if np.abs(file_sp / matched - 1).max() > params.axis_tolerance:
            raise InputError(
                source,
                f"voxel size {_fmt(file_sp)} mm is not the CT's {_fmt(ct_sp)} mm: the "
                "segmentation must be on the CT's grid (twinsep does not resample it); "
                f"{grid_advice(ct)}",
            )
        cosines = np.clip(
            np.abs(np.sum(affine[:3, :3] / file_sp * ct.direction[:, perm], axis=0)), 0, 1
        )
        angle = float(np.degrees(np.arccos(cosines.min())))
        raise InputError(
            source,
            f"its voxel axes are turned {angle:.2f} deg from the CT's: the segmentation must "
            f"be on the CT's grid (twinsep does not resample it); {grid_advice(ct)}",
        )
    t = m[:3, 3]
    off = np.abs(t - np.rint(t)).max()
    if off > params.max_off_grid_vx:
        raise InputError(
            source,
            f"its voxel centres are {off:.2f} voxel off the CT's grid (at most "
            f"{params.max_off_grid_vx:g} allowed): it was not made on this CT; "
            f"{grid_advice(ct)}",
        )
    order = [int(np.flatnonzero(perm == a)[0]) for a in range(3)]  # file axis of CT axis a
    arr = np.transpose(np.asarray(array), order)
    flips = signs[order] < 0
    if flips.any():
        arr = np.flip(arr, axis=tuple(int(a) for a in np.flatnonzero(flips)))
    t_int = np.rint(t).astype(int)
    size = np.asarray(arr.shape)
    lo = np.where(flips, t_int - (size - 1), t_int)
    hi = lo + size
    shape = np.asarray(ct.shape)
    c_lo = np.clip(lo, 0, shape)
    c_hi = np.clip(hi, 0, shape)
    inner = tuple(slice(int(a - b), int(c - b)) for a, b, c in zip(c_lo, lo, c_hi, strict=True))
    outside = int(np.count_nonzero(arr)) - (
        int(np.count_nonzero(arr[inner])) if (c_hi > c_lo).all() else 0
    )
    if outside:
        raise InputError(
            source,
            f"{outside} labelled voxels lie outside the CT (file box {lo.tolist()} to "
            f"{(hi - 1).tolist()} in CT voxels, CT 0 to {(shape - 1).tolist()}): it was not "
            "made on this CT" + ("" if ct.meta.get(TILT_META) is None else f"; {grid_advice(ct)}"),
        )
    out = np.zeros(ct.shape, np.uint8)
    if (c_hi > c_lo).all():
        out[tuple(slice(int(a), int(b)) for a, b in zip(c_lo, c_hi, strict=True))] = arr[inner]
    return out
