"""Multi-frame (enhanced) DICOM: a whole CT or MR stack in one file.

Enhanced CT/MR Image Storage (and the Legacy Converted Enhanced classes, and any other
multi-frame image that describes its frames the same way, e.g. X-Ray 3D Craniofacial)
keeps each frame's geometry in *functional groups*: a macro is either in the
``SharedFunctionalGroupsSequence`` (one value for every frame) or in the frame's item of
the ``PerFrameFunctionalGroupsSequence``; the per-frame value wins. Read here:

* ``PlanePositionSequence`` > ImagePositionPatient (LPS mm of the frame's first pixel);
* ``PlaneOrientationSequence`` > ImageOrientationPatient;
* ``PixelMeasuresSequence`` > PixelSpacing, SliceThickness;
* ``PixelValueTransformationSequence`` > RescaleSlope/RescaleIntercept (else the
  top-level values, else 1 and 0);
* ``FrameContentSequence`` > StackID, TemporalPositionIndex (which 3D stack and time
  point a frame belongs to).

Each frame becomes one slice record of :mod:`twinsep.io.dicom` and goes through the
same checks as a classic series (sizes, orientation, spacing, colour, sorted by
position along the normal - never by frame order -, uniform spacing, missing or
duplicated positions, gantry tilt, at least two distinct positions); messages name the
file and the frame (1-based). A file holding several stacks or time points is refused
with a list of them: twinsep plans one 3D volume and picks nothing silently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pydicom.datadict
import pydicom.multival
from pydicom.dataset import Dataset
from pydicom.uid import UID

from twinsep.errors import ScanError
from twinsep.io._loaded import Loaded
from twinsep.io.checks import LoadParams, check_memory
from twinsep.io.dicom import (
    _DEFER_BYTES,
    _bad_rescale,
    _check_series_headers,
    _decode_fallback,
    _fast_path_ok,
    _geometry,
    _Header,
    _header_from_dataset,
    _pixels_from_bytes,
    _put_slice,
    _stack_dtype,
)
from twinsep.io.lossy import lossy_note
from twinsep.io.padding import PaddingMask
from twinsep.volume import LPS_TO_RAS

logger = logging.getLogger(__name__)

__all__ = ["FramePlane", "frame_planes", "read_multiframe"]


def _macro(frame: Dataset | None, shared: Dataset | None, keyword: str) -> Dataset | None:
    """First item of functional-group macro ``keyword``: the frame's own, else the shared one."""
    for group in (frame, shared):
        if group is None:
            continue
        seq = group.get(keyword)
        if seq:
            return seq[0]
    return None


def _floats(item: Dataset | None, keyword: str, n: int) -> np.ndarray | None:
    """``n`` finite numbers of a (multi-valued) numeric element, or None."""
    if item is None or keyword not in item:
        return None
    val = item[keyword].value
    vals = list(val) if isinstance(val, list | tuple | pydicom.multival.MultiValue) else [val]
    try:
        arr = np.asarray([float(v) for v in vals], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        return None
    return arr


def _text(item: Dataset | None, keyword: str) -> str | None:
    if item is None or keyword not in item or item[keyword].value is None:
        return None
    return str(item[keyword].value).strip() or None


def _frame_records(ds: Dataset, top: _Header, path: Path) -> tuple[list[_Header], list[str]]:
    """One slice record per frame and each frame's stack key (StackID / time point)."""
    n = top.n_frames
    shared_seq = ds.get("SharedFunctionalGroupsSequence")
    per_seq = ds.get("PerFrameFunctionalGroupsSequence")
    shared = shared_seq[0] if shared_seq else None
    if not per_seq and shared is None:
        raise ScanError(
            path,
            f"multi-frame {UID(top.sop_class).name or 'DICOM'} file without functional groups "
            f"(no Shared/PerFrameFunctionalGroupsSequence): its {n} frames cannot be placed in "
            "space; export the series as classic single-frame images",
        )
    if per_seq and len(per_seq) != n:
        raise ScanError(
            path,
            f"PerFrameFunctionalGroupsSequence has {len(per_seq)} items for {n} frames "
            "(NumberOfFrames); the file is inconsistent",
        )
    top_slope = _floats(ds, "RescaleSlope", 1)
    top_inter = _floats(ds, "RescaleIntercept", 1)
    # non-conformant writers put orientation/spacing at the top level (one value for all
    # frames, which is what they mean); positions never: a top-level position is one place
    top_orient = _floats(ds, "ImageOrientationPatient", 6)
    top_spacing = _floats(ds, "PixelSpacing", 2)
    frame_bytes = top.rows * top.cols * 2
    contiguous = top.pixel_length is not None and top.pixel_length >= n * frame_bytes
    records: list[_Header] = []
    keys: list[str] = []
    dim_values: list[tuple[int, ...]] = []
    for f in range(n):
        group = per_seq[f] if per_seq else None
        position = _floats(
            _macro(group, shared, "PlanePositionSequence"), "ImagePositionPatient", 3
        )
        if position is None:
            raise ScanError(
                path,
                f"frame {f + 1} of {n} has no ImagePositionPatient (PlanePositionSequence, per "
                "frame or shared): the frame cannot be placed in space",
            )
        orient = _floats(
            _macro(group, shared, "PlaneOrientationSequence"), "ImageOrientationPatient", 6
        )
        if orient is None:
            orient = top_orient
        if orient is None:
            raise ScanError(
                path,
                f"frame {f + 1} of {n} has no ImageOrientationPatient (PlaneOrientationSequence, "
                "per frame or shared): the frame cannot be placed in space",
            )
        measures = _macro(group, shared, "PixelMeasuresSequence")
        spacing = _floats(measures, "PixelSpacing", 2)
        if spacing is None:
            spacing = top_spacing
        thick = _floats(measures, "SliceThickness", 1)
        value_map = _macro(group, shared, "PixelValueTransformationSequence")
        slope = _floats(value_map, "RescaleSlope", 1)
        inter = _floats(value_map, "RescaleIntercept", 1)
        bad_rescale = top.bad_rescale
        if value_map is not None and (
            "RescaleSlope" in value_map or "RescaleIntercept" in value_map
        ):
            # the frame's own values decide; damaged ones were read as 1 / 0 silently
            why = _bad_rescale(value_map)
            bad_rescale = None if why is None else f"frame {f + 1} of {n}: {why}"
        if slope is None:
            slope = top_slope
            inter = top_inter
        content = _macro(group, None, "FrameContentSequence")
        stack = _text(content, "StackID")
        time = _text(content, "TemporalPositionIndex")
        dim_values.append(_index_values(content))
        keys.append(
            ", ".join(
                part
                for part in (
                    None if stack is None else f"stack {stack}",
                    None if time is None else f"time point {time}",
                )
                if part is not None
            )
        )
        records.append(
            dataclasses.replace(
                top,
                iop=orient,
                ipp=position,
                pixel_spacing=None if spacing is None else (float(spacing[0]), float(spacing[1])),
                slope=1.0 if slope is None else float(slope[0]),
                inter=0.0 if inter is None else float(inter[0]),
                slice_thickness_mm=None if thick is None else float(thick[0]),
                bad_rescale=bad_rescale,
                n_frames=1,
                frame=f,
                pixel_tell=(
                    None
                    if top.pixel_tell is None or not contiguous
                    else top.pixel_tell + f * frame_bytes
                ),
                pixel_length=frame_bytes if contiguous else None,
            )
        )
    dims = _dimension_keys(ds, dim_values)
    parts = [
        [p for p in (*k.split(", "), *d.split(", ")) if p] for k, d in zip(keys, dims, strict=True)
    ]
    common = set.intersection(*(set(p) for p in parts)) if parts else set()
    # a label shared by every frame (e.g. "stack 1" in a one-stack file) tells nothing apart
    return records, [", ".join(p for p in ps if p not in common) for ps in parts]


@dataclasses.dataclass(frozen=True)
class FramePlane:
    """Where one frame of a multi-frame image lies, as its functional groups say (LPS mm).

    Attributes
    ----------
    frame_number : int
        1-based frame number in the file (the number a DICOM reference uses).
    position_lps_mm : tuple of 3 float
        ImagePositionPatient: LPS mm of the centre of the frame's first pixel.
    orientation : tuple of 6 float
        ImageOrientationPatient: LPS direction cosines along a row, then down a column.
    pixel_spacing_mm : tuple of 2 float
        PixelSpacing: mm between rows, then between columns.
    slice_thickness_mm : float or None
        SliceThickness in mm, when given.
    """

    frame_number: int
    position_lps_mm: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    pixel_spacing_mm: tuple[float, float]
    slice_thickness_mm: float | None


def frame_planes(ds: Dataset, path: Path) -> list[FramePlane]:
    """The plane of every frame of a multi-frame image, in file order.

    The same reading as :func:`read_multiframe` (per-frame macro over the shared one,
    top-level orientation and spacing as a fallback), for writers that reference the
    frames (DICOM-SEG). No pixel data is needed: ``ds`` may be read with
    ``stop_before_pixels``.

    Parameters
    ----------
    ds : Dataset
        The multi-frame header.
    path : Path
        Its file, named in errors.

    Returns
    -------
    list of FramePlane
        One per frame (``NumberOfFrames``), frame numbers 1..n.

    Raises
    ------
    ScanError
        Not an image, no functional groups, or a frame without position, orientation
        or pixel spacing.
    """
    top = _header_from_dataset(path, ds)
    if isinstance(top, str):
        raise ScanError(path, f"cannot be used as a scan: {top}")
    records, _ = _frame_records(ds, top, path)
    out = []
    for f, rec in enumerate(records):
        if rec.pixel_spacing is None or rec.ipp is None or rec.iop is None:
            raise ScanError(
                path,
                f"frame {f + 1} of {len(records)} has no PixelSpacing (PixelMeasuresSequence, "
                "per frame or shared): its pixels cannot be placed in space",
            )
        o = [float(v) for v in rec.iop]
        out.append(
            FramePlane(
                frame_number=f + 1,
                position_lps_mm=(float(rec.ipp[0]), float(rec.ipp[1]), float(rec.ipp[2])),
                orientation=(o[0], o[1], o[2], o[3], o[4], o[5]),
                pixel_spacing_mm=(float(rec.pixel_spacing[0]), float(rec.pixel_spacing[1])),
                slice_thickness_mm=rec.slice_thickness_mm,
            )
        )
    return out


#: Dimension pointers that are not "which volume": the position within a stack, and
#: StackID / TemporalPositionIndex, which are read from FrameContentSequence directly.
_NOT_VOLUME_POINTERS = {
    0x00209057,  # InStackPositionNumber
    0x00200032,  # ImagePositionPatient
    0x00201041,  # SliceLocation
    0x00209056,  # StackID
    0x00209128,  # TemporalPositionIndex
}


def _index_values(content: Dataset | None) -> tuple[int, ...]:
    """A frame's DimensionIndexValues (FrameContentSequence) as a tuple, () when absent."""
    if content is None or "DimensionIndexValues" not in content:
        return ()
    val = content.DimensionIndexValues
    vals = list(val) if isinstance(val, list | tuple | pydicom.multival.MultiValue) else [val]
    try:
        return tuple(int(v) for v in vals)
    except (TypeError, ValueError):
        return ()


def _dimension_keys(ds: Dataset, values: list[tuple[int, ...]]) -> list[str]:
    """Per frame, the values of the dimensions that tell volumes apart (echo, b-value...).

    A dimension of the DimensionIndexSequence counts when it is not positional and
    takes more than one value but fewer than one per frame (a value per frame runs
    along the stack, like an in-stack position).
    """
    n = len(values)
    out = [""] * n
    for i, item in enumerate(ds.get("DimensionIndexSequence") or []):
        pointer = item.get("DimensionIndexPointer")
        if pointer is None or int(pointer) in _NOT_VOLUME_POINTERS:
            continue
        column = [v[i] if len(v) > i else None for v in values]
        distinct = set(column)
        if len(distinct) <= 1 or len(distinct) == n:
            continue
        try:
            name = pydicom.datadict.dictionary_description(int(pointer))
        except KeyError:
            name = f"dimension ({int(pointer):08X})"
        for f in range(n):
            out[f] = ", ".join(p for p in (out[f], f"{name} {column[f]}") if p)
    return out


def _one_stack(keys: list[str], path: Path) -> None:
    """Refuse a file whose frames belong to several volumes (stacks, time points, echoes...)."""
    counts = Counter(keys)
    if len(counts) <= 1:
        return
    listing = "; ".join(f"{k or 'unlabelled'}: {c} frames" for k, c in sorted(counts.items()))
    raise ScanError(
        path,
        f"holds {len(counts)} volumes ({listing}); twinsep plans one 3D volume and does not "
        "pick one silently: export the stack, time point or echo to plan as its own file or "
        "series (e.g. dcm2niix writes one volume per stack)",
    )


class _FramePixels:
    """Stored values of the frames of one file, read (and hashed) once, on first use."""

    def __init__(self, path: Path, top: _Header, frames: list[_Header]) -> None:
        self.path = path
        self.top = top
        self.frames = frames
        self._data: bytes | None = None
        self._decoded: np.ndarray | None = None
        self.sha256 = ""

    def _load(self) -> None:
        if self._data is not None or self._decoded is not None:
            return
        try:
            with open(self.path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ScanError(self.path, f"cannot be read ({exc.strerror})") from None
        self.sha256 = hashlib.sha256(data).hexdigest()
        if all(_fast_path_ok(h) for h in self.frames):
            self._data = data
        else:
            del data
            self._decoded = _decode_fallback(self.top, n_frames=self.top.n_frames)

    def raw(self, h: _Header) -> np.ndarray:
        """Stored values ``(rows, cols)`` of frame ``h.frame`` (no rescale)."""
        self._load()
        assert h.frame is not None
        if self._data is not None:
            return _pixels_from_bytes(h, self._data)
        assert self._decoded is not None
        return self._decoded[h.frame]

    def values(self, h: _Header) -> np.ndarray:
        """Rescaled values of one frame as float64 (to compare frames at one position)."""
        return self.raw(h).astype(np.float64) * h.slope + h.inter

    def stack(self, frames: list[_Header], warnings: list[str]) -> np.ndarray:
        """Rescaled ``(n, rows, cols)`` stack of ``frames`` in that order; sets ``sha256``.

        Native 16-bit files not read yet are streamed frame by frame (the file is hashed
        on the way), so the peak is the stack plus one frame rather than the stack plus
        the whole file. Declared padding values are read by
        :class:`twinsep.io.padding.PaddingMask`'s rule (warned in ``warnings``).
        """
        stack = np.empty((len(frames), self.top.rows, self.top.cols), dtype=_stack_dtype(frames))
        padding = PaddingMask(stack.shape, [h.padding for h in frames])
        if self._data is None and self._decoded is None and all(map(_fast_path_ok, self.frames)):
            stack = self._stream(frames, stack, padding)
        else:
            for k, h in enumerate(frames):
                raw = self.raw(h)
                padding.note(k, raw, h.padding)
                stack = _put_slice(stack, k, raw, h)
        stack, note = padding.apply(stack)
        if note is not None:
            warnings.append(note)
        return stack

    def _stream(self, frames: list[_Header], stack: np.ndarray, padding: PaddingMask) -> np.ndarray:
        slot = {h.frame: k for k, h in enumerate(frames)}  # dropped copies: hashed only
        hasher = hashlib.sha256()
        pos = 0
        try:
            with open(self.path, "rb") as fh:
                for h in sorted(self.frames, key=lambda r: int(r.pixel_tell or 0)):
                    assert h.pixel_tell is not None and h.pixel_length is not None
                    hasher.update(fh.read(h.pixel_tell - pos))
                    buf = fh.read(h.pixel_length)
                    hasher.update(buf)
                    pos = h.pixel_tell + len(buf)
                    k = slot.get(h.frame)
                    if k is not None:
                        raw = _pixels_from_bytes(dataclasses.replace(h, pixel_tell=0), buf)
                        padding.note(k, raw, h.padding)
                        stack = _put_slice(stack, k, raw, h)
                while chunk := fh.read(1 << 22):
                    hasher.update(chunk)
        except OSError as exc:
            raise ScanError(self.path, f"cannot be read ({exc.strerror})") from None
        self.sha256 = hasher.hexdigest()
        return stack


def read_multiframe(path: Path, *, params: LoadParams = LoadParams()) -> Loaded:
    """Read one multi-frame (enhanced) CT/MR DICOM file as a 3D volume.

    Parameters
    ----------
    path : Path
        The file (``NumberOfFrames`` > 1).
    params : LoadParams
        Tolerances (the same as for a classic series).

    Returns
    -------
    Loaded
        Array ``[i, j, k]`` (i along rows, j down columns, k along the frame normal) and
        its RAS affine; ``n_files`` is 1; ``meta`` records the SOP class and frame count.

    Raises
    ------
    ScanError
        No functional groups, a frame without position or orientation, several stacks
        or time points, and every rule of the classic series reader (spacing, missing or
        duplicated positions, tilt, colour, compression without decoder...).
    """
    try:
        ds = pydicom.dcmread(path, defer_size=_DEFER_BYTES)
    except Exception as exc:  # corrupt files raise many types
        raise ScanError(path, f"unreadable DICOM ({type(exc).__name__})") from None
    top = _header_from_dataset(path, ds)
    if isinstance(top, str):
        raise ScanError(path, f"cannot be used as a scan: {top}")
    if not top.has_pixels:
        raise ScanError(path, "DICOM image without pixel data (PixelData element missing)")
    if top.samples != 1:
        raise ScanError(
            path, f"colour image ({top.samples} samples per pixel); twinsep needs grey-level CT/MR"
        )
    try:
        frames, keys = _frame_records(ds, top, path)
    except ScanError:
        raise
    except Exception as exc:  # a malformed functional group
        raise ScanError(
            path, f"malformed functional groups ({type(exc).__name__}: {exc})"
        ) from None
    del ds
    _one_stack(keys, path)
    folder = path.parent
    pixels = _FramePixels(path, top, frames)
    warnings: list[str] = []
    try:
        _check_series_headers(frames, folder, params)
        frames, lps = _geometry(frames, folder, params, warnings, values=pixels.values)
    except ScanError as exc:
        if exc.source in (None, str(path)):
            raise
        # the series checks name the folder; every frame here is in this one file
        raise ScanError(path, exc.reason) from None
    n, rows, cols = len(frames), top.rows, top.cols
    check_memory((cols, rows, n), max(top.bits_allocated // 8, 1), path, params=params)
    stack = pixels.stack(frames, warnings)
    note = lossy_note([top.lossy])
    if note is not None:
        warnings.append(note)
    sop_name = UID(top.sop_class).name if top.sop_class else "multi-frame DICOM"
    logger.debug("read %d of %d frames of %s (%s)", n, top.n_frames, path, sop_name)
    return Loaded(
        array=stack.transpose(2, 1, 0),
        affine=LPS_TO_RAS @ lps,
        format="dicom",
        sha256=pixels.sha256,
        modality=top.modality,
        series_uid=top.series_uid,
        n_files=1,
        warnings=warnings,
        phi=dict(top.phi),
        meta={
            "transfer_syntax": top.transfer_syntax,
            "slice_thickness_mm": frames[0].slice_thickness_mm,
            "n_slices": n,
            "n_frames": top.n_frames,
            "sop_class": sop_name,
        },
    )
