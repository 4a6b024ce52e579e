"""DICOM series reader (pydicom): header pass, geometry checks, then pixels.

Pass 1 reads every file's header with pixel data *deferred* (``defer_size``): the
value of (7FE0,0010) is skipped, but its presence, file offset and length are kept,
so missing pixel data is detected and pass 2 can read the pixels with one
``read`` per file (the same read feeds the SHA-256). This is the speed of
``stop_before_pixels`` plus the knowledge of where the pixels are.

Geometry (all in DICOM's LPS, converted to RAS at the end):

* slice normal ``n = row_cosines × column_cosines`` (from ImageOrientationPatient);
  slices are sorted by ``ImagePositionPatient · n`` -- never by file name or
  InstanceNumber;
* voxel axis ``i`` runs along a row (column index), ``j`` down the columns (row
  index), ``k`` along ``n``; so ``array[i, j, k] = slice_k.pixels[j, i]``;
* slice distances must be uniform within ``max(abs_tol, rel_tol × median)``;
  a distance equal to ``m × spacing`` (m ≥ 2) is reported as ``m - 1`` missing slices;
  two slices closer than the absolute tolerance are duplicates;
* **gantry tilt** (slice positions drifting sideways, off the normal, by more than
  half a pixel over the stack) is refused rather than resampled: the affine of a
  tilted stack is sheared, which NRRD/MHA and most downstream tools cannot store,
  and silently resampling would move anatomy. The message says how to correct it.
* gaps between slices (SpacingBetweenSlices / position step larger than
  SliceThickness) are accepted: what matters for the grid is that positions are
  uniform; a warning notes that the gaps were not imaged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import pydicom.multival
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from twinsep.errors import ScanError
from twinsep.io._loaded import Loaded, head_bytes, sha256_file, sha256_of_hashes
from twinsep.io.checks import LoadParams, check_memory
from twinsep.io.decoders import decoder_available, missing_decoders
from twinsep.io.fsnames import printable_name
from twinsep.io.lossy import lossy_compression, lossy_note
from twinsep.io.padding import PaddingMask, padding_range
from twinsep.volume import LPS_TO_RAS
from twinsep.words import counted, noun

logger = logging.getLogger(__name__)

__all__ = [
    "read_dicom",
    "is_dicom_file",
    "series_uid_hash",
    "PHI_KEYWORDS",
    "SeriesChoiceError",
]

#: Header keywords treated as identifying; kept only with ``keep_phi=True``.
PHI_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "OtherPatientIDs",
    "InstitutionName",
    "InstitutionAddress",
    "AccessionNumber",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "StationName",
    "StudyDate",
    "StudyDescription",
    "SeriesDescription",
)

#: SOP classes that hold pixels on a patient grid but are not a scan, and why.
_NOT_A_SCAN = {
    "1.2.840.10008.5.1.4.1.1.66.4": (
        "a DICOM segmentation (SEG), not a scan; load the CT or MR it was drawn on"
    ),
    "1.2.840.10008.5.1.4.1.1.481.2": "an RT dose grid, not a scan; load the planning CT",
    "1.2.840.10008.5.1.4.1.1.30": (
        "a parametric map (derived values), not a scan; load the CT or MR it came from"
    ),
}

#: Media Storage Directory (a CD's DICOMDIR): an index of the files, not an image.
_DICOMDIR_SOP = "1.2.840.10008.1.3.10"
_PIXEL_TAG = 0x7FE00010
_NATIVE_LE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}
#: Largest share of an unsigned image's pixels whose bits above BitsStored may be set.
#: DICOM reads only the stored bits: the bits above held overlay planes (ACR-NEMA; text
#: and graphics, a small share of the pixels), which masking rightly drops. A writer that
#: understates BitsStored (12 for values of 15 bits, as with RescaleIntercept -8192 and
#: slope 0.5) sets them in nearly every pixel, and masking leaves noise: refused.
_HIGH_BITS_MAX_SHARE = 0.5
#: The same for a signed image, whose bits above BitsStored repeat its sign bit or are
#: zero (pydicom sign-extends from HighBit whatever they hold). A signed image with overlay
#: planes has no use; a writer that understates BitsStored leaves the values beyond its
#: range - padding of -3024 under BitsStored 12 (the corners outside a round field of
#: view, 21 % of a slice) read as +1072 HU - so a share far below that is refused.
_SIGNED_OUT_OF_RANGE_MAX_SHARE = 0.01
_DEFER_BYTES = 256


def series_uid_hash(uid: str) -> str:
    """First 16 hex digits of the SHA-256 of a SeriesInstanceUID."""
    return hashlib.sha256(uid.encode("ascii", "replace")).hexdigest()[:16]


@dataclass
class _Header:
    """What pass 1 keeps of one image file."""

    path: Path
    series_uid: str
    modality: str
    description: str
    rows: int
    cols: int
    iop: np.ndarray | None
    ipp: np.ndarray | None
    pixel_spacing: tuple[float, float] | None
    slope: float
    inter: float
    bits_allocated: int
    bits_stored: int
    pixel_repr: int
    samples: int
    n_frames: int
    transfer_syntax: str
    has_pixels: bool
    pixel_tell: int | None
    pixel_length: int | None
    slice_thickness_mm: float | None
    phi: dict[str, str] = field(default_factory=dict)
    sop_class: str = ""
    frame: int | None = None
    """Frame index (0-based) when this record is one frame of a multi-frame file."""
    image_type: tuple[str, ...] = ()
    """ImageType values, upper case (e.g. ``("ORIGINAL", "PRIMARY", "AXIAL")``)."""
    series_number: int | None = None
    kernel: str = ""
    """ConvolutionKernel (CT reconstruction kernel), backslashes joined by ``/``."""
    contrast: bool = False
    """A ContrastBolusAgent is named in the header."""
    sequence: str = ""
    """MR only: sequence name (or scanning sequence), TR and TE, to tell series apart."""
    bad_rescale: str | None = None
    """Why RescaleSlope/RescaleIntercept cannot be used (present but not a finite number,
    or a zero slope); None when they are absent (1 and 0) or usable."""
    bad_position: str | None = None
    """Which of ImageOrientationPatient / ImagePositionPatient is present but damaged
    (not 6 / 3 finite numbers); None when both are absent or readable."""
    high_bit: int | None = None
    """HighBit as written (None when absent); pixel values must end at BitsStored - 1."""
    padding: tuple[int, int] | None = None
    """Stored values declared as padding (PixelPaddingValue[, PixelPaddingRangeLimit]),
    :func:`twinsep.io.padding.padding_range`."""
    palette: bool = False
    """PhotometricInterpretation PALETTE COLOR: the values index a colour table."""
    lossy: str | None = None
    """Why the image lost information to compression (:func:`twinsep.io.lossy.lossy_compression`),
    or None."""

    @property
    def is_localizer(self) -> bool:
        """A scout / topogram / survey image (ImageType holds LOCALIZER)."""
        return "LOCALIZER" in self.image_type


def is_dicom_file(path: Path) -> bool:
    """True when the file has the DICOM preamble (``DICM`` at byte 128)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def looks_like_raw_dicom(head: bytes) -> bool:
    """Whether a file's first bytes start preamble-less DICOM: a group 0x0008 element
    (old exports, no file meta), or the file meta group 0x0002 in explicit VR (a file
    written without its 128-byte preamble and ``DICM``; pydicom reads both, and such
    files without a suffix were "not DICOM" until session 27)."""
    if len(head) < 8 or head[3:4] != b"\x00":
        return False
    if head[:2] == b"\x08\x00":
        return True
    return head[:2] == b"\x02\x00" and head[4:6].isalpha() and head[4:6].isupper()


def _looks_like_raw_dicom(path: Path) -> bool:
    return looks_like_raw_dicom(head_bytes(path, 8))


# Header values are decoded from pydicom's raw elements: converting every DS value
# through pydicom's validated types costs ~70 µs per element, which made the header
# pass 4x slower than the pixel pass. Text VRs (DS, IS, CS, UI, LO, SH) are ASCII/latin-1
# strings separated by backslashes; binary VRs (US) are converted by pydicom.


def _elem_value(ds: pydicom.Dataset, tag: int) -> object:
    elem = ds.get_item(tag, keep_deferred=True)
    return None if elem is None else elem.value


def _text(ds: pydicom.Dataset, tag: int) -> str | None:
    """Value of a text element as one string (multi-values joined with a backslash)."""
    val = _elem_value(ds, tag)
    if val is None:
        return None
    if isinstance(val, bytes | bytearray):
        return bytes(val).decode("latin-1").strip("\x00 ")
    if isinstance(val, list | tuple | pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in val)
    return str(val).strip()


def _floats(ds: pydicom.Dataset, tag: int, n: int) -> np.ndarray | None:
    txt = _text(ds, tag)
    if not txt:
        return None
    try:
        vals = [float(v) for v in txt.split("\\")]
    except ValueError:
        return None
    if len(vals) != n or not all(math.isfinite(v) for v in vals):
        return None
    return np.asarray(vals, dtype=np.float64)


def _number(ds: pydicom.Dataset, tag: int, default: float) -> float:
    arr = _floats(ds, tag, 1)
    return default if arr is None else float(arr[0])


def _uint(ds: pydicom.Dataset, tag: int, default: int | None) -> int | None:
    """Binary (US) or text (IS) integer element."""
    elem = ds.get_item(tag, keep_deferred=True)
    if elem is None or elem.value is None:
        return default
    if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes) and elem.VR == "US":
        raw = elem.value
        if len(raw) < 2:
            return default
        return int.from_bytes(raw[:2], "little" if elem.is_little_endian else "big")
    try:
        return int(float(ds[tag].value))
    except (TypeError, ValueError):
        return default


#: Tags of :data:`PHI_KEYWORDS`, in the same order.
_PHI_TAGS = tuple(int(pydicom.datadict.tag_for_keyword(kw) or 0) for kw in PHI_KEYWORDS)

#: Decoded identifiers by (tag, VR, raw value, SpecificCharacterSet): the files of one
#: series repeat the same raw values, and pydicom's decoding of a person name or text
#: costs 0.1-0.2 ms a value (a third of the header pass of a series carrying names).
PhiMemo = dict[tuple[int, str, bytes, str], str]


def _phi_values(
    ds: pydicom.Dataset, *, skip_damaged: bool = False, memo: PhiMemo | None = None
) -> dict[str, str]:
    """The identifying top-level values of ``ds`` (:data:`PHI_KEYWORDS`) that are not empty.

    ``skip_damaged``: an element that cannot be decoded is left out and the others kept
    (a file that is not an image, read only for its identifiers); otherwise the error
    propagates (an image's header is then refused as malformed). ``memo`` keeps the
    decoded values of the raw elements already seen (one per folder read): an element
    whose raw bytes and character set were decoded before is not decoded again.
    """
    phi: dict[str, str] = {}
    charset = _text(ds, 0x00080005) or ""
    for kw, tag in zip(PHI_KEYWORDS, _PHI_TAGS, strict=True):
        elem = ds.get_item(tag, keep_deferred=True)
        if elem is None:
            continue
        raw = elem.value if isinstance(elem, RawDataElement) else None
        key = (tag, str(elem.VR), bytes(raw), charset) if isinstance(raw, bytes) else None
        if memo is not None and key is not None and key in memo:
            val = memo[key]
        else:
            try:
                val = str(ds[kw].value)
            except Exception:
                if not skip_damaged:
                    raise
                continue
            if memo is not None and key is not None:
                memo[key] = val
        if val:
            phi[kw] = val
    return phi


def _read_header(
    path: Path, identifiers: dict[str, str] | None = None, memo: PhiMemo | None = None
) -> _Header | str:
    """Pass-1 header of one file, or a short reason why it is not an image.

    ``identifiers`` (when given) receives the identifying values (:data:`PHI_KEYWORDS`)
    of a DICOM file that is not an image (a dose report names the patient too): an
    image keeps its own in ``phi``. ``memo``: see :func:`_phi_values`.
    """
    try:
        ds = pydicom.dcmread(path, defer_size=_DEFER_BYTES)
    except InvalidDicomError:
        if not _looks_like_raw_dicom(path):
            return "not DICOM"
        try:
            ds = pydicom.dcmread(path, defer_size=_DEFER_BYTES, force=True)
        except Exception:
            return "not DICOM"
    except PermissionError:
        return "permission denied"
    except Exception as exc:  # corrupt files raise many types
        return f"unreadable DICOM ({type(exc).__name__})"
    got = _header_from_dataset(path, ds, memo)
    if isinstance(got, str) and identifiers is not None:
        identifiers.update(_phi_values(ds, skip_damaged=True, memo=memo))
    return got


def _frame_measures(ds: pydicom.Dataset) -> pydicom.Dataset | None:
    """The Pixel Measures item of a multi-frame file: shared by all frames, else the first
    frame's (None when there is none or it cannot be parsed)."""
    try:
        for key in (0x52009229, 0x52009230):  # Shared / PerFrameFunctionalGroupsSequence
            groups = ds.get(key)
            if groups is not None and len(groups.value) > 0:
                measures = groups.value[0].get(0x00289110)  # PixelMeasuresSequence
                if measures is not None and len(measures.value) > 0:
                    return measures.value[0]
    except Exception:  # a damaged sequence leaves the listing without these two facts
        return None
    return None


def _header_from_dataset(
    path: Path, ds: pydicom.Dataset, memo: PhiMemo | None = None
) -> _Header | str:
    """Pass-1 header of a dataset read with deferred pixel data, or why it is not an image
    (``memo``: see :func:`_phi_values`)."""
    try:
        meta = getattr(ds, "file_meta", None)
        media_sop = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
        if media_sop == _DICOMDIR_SOP or 0x00041220 in ds:
            return "a DICOMDIR (the index of a CD or USB export)"
        rows = _uint(ds, 0x00280010, None)
        cols = _uint(ds, 0x00280011, None)
        if rows is None or cols is None:
            if (_text(ds, 0x00080060) or "") == "SR":
                return "a structured report (SR, e.g. a dose report), not an image"
            return "DICOM without an image (no Rows/Columns)"
        ps = _floats(ds, 0x00280030, 2)
        elem = ds.get_item(_PIXEL_TAG, keep_deferred=True)
        has_pixels = elem is not None or 0x7FE00008 in ds or 0x7FE00009 in ds
        tell = getattr(elem, "value_tell", None) if elem is not None else None
        length = getattr(elem, "length", None) if elem is not None else None
        if length is not None and length == 0xFFFFFFFF:
            length = None
        ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
        if not ts:
            ts = "1.2.840.10008.1.2"
        phi = _phi_values(ds, memo=memo)
        bits_allocated = _uint(ds, 0x00280100, 16) or 16
        thick = _number(ds, 0x00180050, float("nan"))
        if (ps is None or math.isnan(thick)) and (_uint(ds, 0x00280008, 1) or 1) > 1:
            # an enhanced (multi-frame) file keeps them in its functional groups; a
            # listing of the study's volumes shows them as for classic series
            measures = _frame_measures(ds)
            if measures is not None:
                if ps is None:
                    ps = _floats(measures, 0x00280030, 2)
                if math.isnan(thick):
                    thick = _number(measures, 0x00180050, float("nan"))
        return _Header(
            path=path,
            series_uid=_text(ds, 0x0020000E) or "(no SeriesInstanceUID)",
            modality=_text(ds, 0x00080060) or "(none)",
            description=phi.get("SeriesDescription", "").strip(),
            rows=rows,
            cols=cols,
            iop=_floats(ds, 0x00200037, 6),
            ipp=_floats(ds, 0x00200032, 3),
            pixel_spacing=None if ps is None else (float(ps[0]), float(ps[1])),
            slope=_number(ds, 0x00281053, 1.0),
            inter=_number(ds, 0x00281052, 0.0),
            bits_allocated=bits_allocated,
            bits_stored=_uint(ds, 0x00280101, bits_allocated) or bits_allocated,
            pixel_repr=_uint(ds, 0x00280103, 0) or 0,
            samples=_uint(ds, 0x00280002, 1) or 1,
            n_frames=_uint(ds, 0x00280008, 1) or 1,
            transfer_syntax=ts,
            has_pixels=bool(has_pixels),
            pixel_tell=None if tell is None else int(tell),
            pixel_length=None if length is None else int(length),
            slice_thickness_mm=None if math.isnan(thick) else thick,
            phi=phi,
            sop_class=_text(ds, 0x00080016) or "",
            image_type=tuple(
                v.strip().upper() for v in (_text(ds, 0x00080008) or "").split("\\") if v.strip()
            ),
            series_number=_uint(ds, 0x00200011, None),
            kernel=(_text(ds, 0x00181210) or "").replace("\\", "/"),
            contrast=bool(_text(ds, 0x00180010)),
            sequence=_mr_sequence(ds),
            bad_rescale=_bad_rescale(ds),
            high_bit=_uint(ds, 0x00280102, None),
            padding=padding_range(ds, _uint(ds, 0x00280103, 0) or 0),
            bad_position=_bad_position(ds),
            lossy=lossy_compression(ds, ts, path),
            palette=(_text(ds, 0x00280004) or "").strip().upper() == "PALETTE COLOR",
        )
    except Exception as exc:  # a malformed element in an otherwise DICOM file
        return f"malformed DICOM header ({type(exc).__name__}: {exc})"


def _bad_rescale(ds: pydicom.Dataset) -> str | None:
    """Why the top-level rescale cannot be used, or None.

    A RescaleSlope or RescaleIntercept that is present but not a finite number was read
    as 1 / 0 without a word: a CT stored as 0..4095 with a damaged intercept -1024 was
    planned 1024 HU too bright. The value itself is not shown (a damaged text field may
    hold anything, a name included).
    """
    for tag, name in ((0x00281053, "RescaleSlope"), (0x00281052, "RescaleIntercept")):
        if _text(ds, tag) and _floats(ds, tag, 1) is None:
            return (
                f"{name} is present but not a number, so the stored values cannot be "
                "converted to the scan's units (HU); export the series again"
            )
    if _number(ds, 0x00281053, 1.0) == 0.0:
        return "RescaleSlope is 0: every voxel would read the intercept"
    return None


def _bad_position(ds: pydicom.Dataset) -> str | None:
    """The name of a position element that is present but not readable, or None.

    A damaged ImagePositionPatient was reported as missing ("no ImagePositionPatient ...
    a screenshot or secondary capture is not a scan"), which sends the user looking for
    the wrong fault. The damaged text itself is not shown (it may hold anything).
    """
    for tag, name, n in (
        (0x00200037, "ImageOrientationPatient", 6),
        (0x00200032, "ImagePositionPatient", 3),
    ):
        if _text(ds, tag) and _floats(ds, tag, n) is None:
            return name
    return None


def _mr_sequence(ds: pydicom.Dataset) -> str:
    """``"*tfl3d1, TR 2000 ms, TE 3 ms"`` for an MR image ("" otherwise or when unknown)."""
    if (_text(ds, 0x00080060) or "") != "MR":
        return ""
    parts = [_text(ds, 0x00180024) or (_text(ds, 0x00180020) or "").replace("\\", "/")]
    for name, tag in (("TR", 0x00180080), ("TE", 0x00180081), ("TI", 0x00180082)):
        value = _number(ds, tag, float("nan"))
        if math.isfinite(value):
            parts.append(f"{name} {value:.4g} ms")
    return ", ".join(p for p in parts if p)


def _list_files(folder: Path, *, recursive: bool, max_files: int) -> list[Path]:
    """Files of a folder (sorted; recursively without following folder links)."""
    out: list[Path] = []
    if recursive:
        for root, dirs, files in os.walk(folder, followlinks=False):
            dirs.sort()
            out.extend(Path(root) / f for f in sorted(files))
            if len(out) > max_files:
                break
    else:
        out = sorted(p for p in folder.iterdir() if not p.is_dir())
    if len(out) > max_files:
        raise ScanError(
            folder,
            f"holds more than {max_files} files; point at the folder of one series "
            "rather than a whole archive",
        )
    return out


def _rel(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (else its name), as UTF-8 text for messages."""
    try:
        return printable_name(str(path.relative_to(folder)))
    except ValueError:
        return printable_name(path.name)


def _label(h: _Header, folder: Path) -> str:
    """A slice's name in messages: its file, or its frame (1-based) in a multi-frame file.

    (Errors about the frames of one file name that file as their source.)
    """
    return _rel(h.path, folder) if h.frame is None else f"frame {h.frame + 1}"


def _labels(hs: list[_Header], folder: Path, limit: int = 3) -> str:
    shown = ", ".join(_label(h, folder) for h in hs[:limit])
    return shown + (f" and {len(hs) - limit} more" if len(hs) > limit else "")


def _names(paths: list[Path], folder: Path, limit: int = 3) -> str:
    shown = ", ".join(_rel(p, folder) for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _names_withheld(paths: list[Path], folder: Path, phi: Mapping[str, str], limit: int = 3) -> str:
    """Like :func:`_names`, for text that reaches the outputs (warnings, plan.json).

    Exports name files and folders after the patient ("DOE_JANE/IM_DOE_0001.dcm");
    a name with a part of the patient's name, ID, birth date or accession number from
    the header (:func:`twinsep.io.scan.path_names_patient`) is not shown.
    """
    from twinsep.io.scan import path_names_patient  # scan imports this module

    def named(p: Path) -> bool:
        return any(path_names_patient(part, phi) for part in Path(_rel(p, folder)).parts)

    hidden = [p for p in paths if named(p)]
    shown = [p for p in paths if not named(p)]
    text = _names(shown, folder, limit) if shown else ""
    if hidden:
        text += ("; " if text else "") + (
            f"{counted(len(hidden), 'file')} whose names hold patient identifiers (names withheld)"
        )
    return text


class SeriesChoiceError(ScanError):
    """A folder holds several series that could each be the scan, and none was chosen.

    ``listing`` describes the candidates (image facts only); :meth:`for_option` words the
    message for the option that chooses (``--series`` for the CT, ``--mr-series`` for the MR).
    """

    def __init__(self, source: str | Path, n: int, listing: str, option: str = "--series") -> None:
        self.n = n
        self.listing = listing
        self.option = option
        super().__init__(
            source,
            f"the folder holds {n} DICOM series that could each be the scan; twinsep does "
            f"not guess which reconstruction to plan: choose one with {option} HASH "
            f"(or its SeriesInstanceUID): {listing}",
        )

    def for_option(self, option: str) -> SeriesChoiceError:
        """The same error asking for ``option`` instead."""
        assert self.source is not None
        return SeriesChoiceError(self.source, self.n, self.listing, option)


def _plane(h: _Header) -> str:
    """Axial, coronal, sagittal or oblique, from the slice normal."""
    if h.iop is None:
        return "no position"
    normal = np.abs(np.cross(h.iop[:3], h.iop[3:]))
    axis = int(np.argmax(normal))
    if normal[axis] < math.cos(math.radians(10.0)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _describe(uid: str, hs: list[_Header]) -> str:
    """One series in a listing: image facts only (descriptions may hold a name)."""
    h = hs[0]
    number = "" if h.series_number is None else f"#{h.series_number} "
    size = f"{h.cols}×{h.rows} px"
    if h.pixel_spacing is not None:
        size += f" of {h.pixel_spacing[1]:g}×{h.pixel_spacing[0]:g} mm"
    facts = [h.modality]
    if len(hs) == 1 and h.n_frames > 1:
        facts.append(f"one multi-frame file of {h.n_frames} frames")
    else:
        facts.append(f"{_plane(h)}, {len(hs)} files")
    facts.append(size)
    if h.slice_thickness_mm is not None:
        facts.append(f"{h.slice_thickness_mm:g} mm slices")
    if h.kernel:
        facts.append(f"kernel {h.kernel}")
    if h.sequence:
        facts.append(h.sequence)
    if h.image_type[:1] == ("DERIVED",):
        facts.append("derived" + (f" {h.image_type[2].lower()}" if len(h.image_type) > 2 else ""))
    if h.contrast:
        facts.append("contrast")
    return f"{number}{series_uid_hash(uid)} ({', '.join(facts)})"


def _not_a_volume(hs: list[_Header], orientation_tol: float) -> str | None:
    """Why a series cannot be a 3D scan by itself (``None`` when it may be one).

    Localizers, images without a position (secondary captures, screenshots), colour
    images, single images and images lying in different planes (a scout's AP and
    lateral views whose ImageType does not say LOCALIZER) are never what a user means
    when a study folder holds a real volume beside them. ``orientation_tol`` is the
    largest difference between the ImageOrientationPatient values of one stack's
    slices (:class:`~twinsep.io.checks.LoadParams`).
    """
    h = hs[0]
    if all(x.is_localizer for x in hs):
        return "localizer (scout)"
    if len(hs) == 1 and h.n_frames > 1:
        return None
    if any(x.iop is None or x.ipp is None for x in hs):
        return "secondary capture (no position)"
    if any(x.samples != 1 or x.palette for x in hs):
        return "colour image"
    if len(hs) == 1:
        return "single image"
    iops = [x.iop for x in hs if x.iop is not None]
    if any(float(np.max(np.abs(o - iops[0]))) > orientation_tol for o in iops):
        return "series of images in several planes (a localizer or scout?)"
    return None


def _drop_localizers(groups: dict[str, list[_Header]]) -> int:
    """Remove localizer images from series that also hold other images; how many."""
    n = 0
    for uid, hs in groups.items():
        keep = [h for h in hs if not h.is_localizer]
        if keep and len(keep) < len(hs):
            n += len(hs) - len(keep)
            groups[uid] = keep
    return n


def _choose_series(
    groups: dict[str, list[_Header]],
    series_uid: str | None,
    source: Path,
    warnings: list[str],
    modality: str | None = None,
    *,
    orientation_tol: float,
) -> list[_Header]:
    """The series to load: the one asked for, the only one, or the only volume.

    A study folder (PACS or CD export) holds localizers, dose reports and screen captures
    beside the scan: when exactly one series can be a volume it is taken and the others
    are listed in ``warnings``; several volumes (kernels, thicknesses, MPRs, phases) are
    refused with a listing to choose from (:class:`SeriesChoiceError`). With
    ``modality``, series of another modality are not candidates either (the MR of a CD
    that holds the CT study too).
    """

    def not_a_volume(hs: list[_Header]) -> str | None:
        why = _not_a_volume(hs, orientation_tol)
        if why is None and modality is not None and hs[0].modality != modality:
            return f"{hs[0].modality}, not {modality}"
        return why

    def order(kv: tuple[str, list[_Header]]) -> tuple[int, int]:
        sn = kv[1][0].series_number
        return (sn if sn is not None else 1 << 30, -len(kv[1]))

    def listing(items: list[tuple[str, list[_Header]]]) -> str:
        parts = []
        for uid, hs in sorted(items, key=order):
            why = not_a_volume(hs)
            text = _describe(uid, hs)
            parts.append(text if why is None else f"{text[:-1]}, not a volume: {why})")
        return "; ".join(parts)

    if series_uid is not None:
        for uid, hs in groups.items():
            if uid == series_uid or series_uid_hash(uid).startswith(series_uid.lower()):
                return hs
        raise ScanError(
            source,
            f"no series with UID or hash {series_uid!r}; the folder holds: "
            f"{listing(list(groups.items()))}",
        )
    if len(groups) == 1:
        return next(iter(groups.values()))
    why_not = {uid: not_a_volume(hs) for uid, hs in groups.items()}
    volumes = [(uid, hs) for uid, hs in groups.items() if why_not[uid] is None]
    others = Counter(w for w in why_not.values() if w is not None)
    other_text = ", ".join(f"{n} {w}" for w, n in sorted(others.items()))
    if len(volumes) > 1:
        tail = f" (not volumes, left out: {other_text})" if others else ""
        raise SeriesChoiceError(source, len(volumes), listing(volumes) + tail)
    if not volumes:
        raise ScanError(
            source,
            f"the folder holds {len(groups)} DICOM series and none is a 3D scan "
            f"({other_text}): {listing(list(groups.items()))}",
        )
    warnings.append(
        f"the folder holds {len(groups)} series; loaded the only one that is a volume "
        f"({_describe(*volumes[0])}); left out: {other_text}"
    )
    return volumes[0][1]


def _check_series_headers(hs: list[_Header], source: Path, params: LoadParams) -> None:
    """Consistency checks across the slices of one series (no pixels read yet)."""
    for h in hs:
        why = _NOT_A_SCAN.get(h.sop_class)
        if why is not None:
            raise ScanError(h.path, why)
    mods = Counter(h.modality for h in hs)
    if len(mods) > 1:
        detail = ", ".join(f"{m} in {n} files" for m, n in mods.most_common())
        odd = [h.path for h in hs if h.modality != mods.most_common(1)[0][0]]
        raise ScanError(
            source,
            f"mixed modalities in one series ({detail}; e.g. {_names(odd, source, 2)}); "
            "a scan must be one modality",
        )
    for h in hs:
        if not h.has_pixels:
            raise ScanError(h.path, "DICOM image without pixel data (PixelData element missing)")
        if h.samples != 1:
            raise ScanError(
                h.path,
                f"colour image ({h.samples} samples per pixel); twinsep needs grey-level CT/MR",
            )
        if h.palette:
            raise ScanError(
                h.path,
                "palette-colour image (PhotometricInterpretation PALETTE COLOR): its values "
                "index a colour table and are not CT or MR values; give the grey-level series",
            )
        if h.n_frames > 1:
            raise ScanError(
                h.path,
                f"a multi-frame file ({h.n_frames} frames) inside a series of {len(hs)} "
                "files; a multi-frame (enhanced) scan is read from one file: give that file "
                "or a folder holding only it",
            )
        if h.bad_position is not None:
            raise ScanError(
                h.path,
                f"{h.bad_position} is present but damaged (not "
                f"{6 if h.bad_position == 'ImageOrientationPatient' else 3} numbers), so the "
                "slice cannot be placed in space; export the series again",
            )
        if h.iop is None or h.ipp is None:
            missing = "ImageOrientationPatient" if h.iop is None else "ImagePositionPatient"
            raise ScanError(
                h.path,
                f"no {missing}: the slice cannot be placed in space (a screenshot or "
                "secondary capture is not a scan)",
            )
        if h.pixel_spacing is None:
            raise ScanError(h.path, "no PixelSpacing: the voxel size is unknown")
        if h.bad_rescale is not None:
            raise ScanError(h.path, h.bad_rescale)
        if h.high_bit is not None and h.high_bit != h.bits_stored - 1:
            # ACR-NEMA's layout (values in the high bits, HighBit 15 of 12 stored bits):
            # read as low bits, every value would be 16 times too large, without a word
            raise ScanError(
                h.path,
                f"HighBit {h.high_bit} with BitsStored {h.bits_stored}: the pixel values "
                f"are not stored in the low bits (DICOM requires HighBit = BitsStored - 1 "
                f"= {h.bits_stored - 1}), which twinsep does not read; export the series "
                "again (e.g. gdcmconv --raw)",
            )
        if min(h.pixel_spacing) <= 0:
            raise ScanError(
                h.path,
                f"PixelSpacing {h.pixel_spacing} mm: zero or negative spacing is impossible",
            )
    ref = hs[0]
    assert ref.iop is not None and ref.pixel_spacing is not None
    for h in hs[1:]:
        assert h.iop is not None and h.pixel_spacing is not None
        if (h.rows, h.cols) != (ref.rows, ref.cols):
            raise ScanError(
                source,
                f"slices differ in size: {_label(ref, source)} is {ref.rows}×{ref.cols}, "
                f"{_label(h, source)} is {h.rows}×{h.cols} (rows×columns)",
            )
        if float(np.max(np.abs(h.iop - ref.iop))) > params.orientation_tol:
            raise ScanError(
                source,
                "inconsistent orientation between slices: ImageOrientationPatient of "
                f"{_label(ref, source)} is {np.round(ref.iop, 5).tolist()}, of "
                f"{_label(h, source)} {np.round(h.iop, 5).tolist()}",
            )
        rel = np.abs(np.subtract(h.pixel_spacing, ref.pixel_spacing)) / np.asarray(
            ref.pixel_spacing
        )
        if float(rel.max()) > 1e-4:
            raise ScanError(
                source,
                f"inconsistent pixel spacing between slices: {_label(ref, source)} has "
                f"{ref.pixel_spacing} mm, {_label(h, source)} {h.pixel_spacing} mm",
            )


def _drop_identical_copies(
    hs: list[_Header],
    ipp: np.ndarray,
    pos: np.ndarray,
    source: Path,
    params: LoadParams,
    warnings: list[str],
    prefer: Path | None,
    values: Callable[[_Header], np.ndarray] | None = None,
) -> tuple[list[_Header], np.ndarray, np.ndarray]:
    """Keep one file of each group of slices at the same position with equal values.

    Exports often hold the same image twice (copied, or re-encoded under another
    transfer syntax). Slices at one position whose rescaled values are identical are
    one image: one is kept (the file the user named, else an uncompressed one) and the
    others are reported. Slices at one position with different values are a real
    conflict (two acquisitions) and raise. ``values`` gives a slice's rescaled values
    (default: read from its file).
    """
    get_values = _values if values is None else values
    if len(hs) < 2:
        return hs, ipp, pos
    groups: list[list[int]] = [[0]]
    for i in range(1, len(hs)):
        if pos[i] - pos[groups[-1][0]] < params.duplicate_position_tol_mm:
            groups[-1].append(i)
        else:
            groups.append([i])
    if all(len(g) == 1 for g in groups):
        return hs, ipp, pos
    if len(groups) == 1:
        named = prefer if prefer is not None else hs[0].path
        shown = _rel(named, source) if hs[0].frame is None else _label(hs[0], source)
        what = "files of the series" if hs[0].frame is None else "frames of the file"
        try:  # the same image exported n times, or n images given one position
            same = np.array_equal(get_values(hs[0]), get_values(hs[-1]))
        except ScanError:
            same = True  # undecodable: judged as before, by the positions alone
        if not same:
            raise ScanError(
                prefer or source,
                f"all {len(hs)} {what} ({_labels(hs, source)}) lie at one position but hold "
                "different images: ImagePositionPatient is the same in each (damaged or "
                "blanked by an export or anonymiser?), or they were taken over time at one "
                "place (a dynamic series); twinsep needs slices at different positions - "
                "export the series again with its positions",
            )
        raise ScanError(
            prefer or source,
            f"2D image: all {len(hs)} {what} ({_labels(hs, source)}) "
            f"lie at one position, so there is a single slice (shown: {shown}); "
            "twinsep needs a 3D volume",
        )
    keep: list[int] = []
    dropped: list[_Header] = []
    for g in groups:
        if len(g) == 1:
            keep.append(g[0])
            continue
        ranked = sorted(
            g,
            key=lambda i: (hs[i].path != prefer, not _fast_path_ok(hs[i]), str(hs[i].path)),
        )
        ref_values = get_values(hs[ranked[0]])
        for other in ranked[1:]:
            if not np.array_equal(get_values(hs[other]), ref_values):
                raise ScanError(
                    source,
                    f"duplicated slice position with different images: "
                    f"{_label(hs[ranked[0]], source)} and {_label(hs[other], source)} both "
                    f"lie at {pos[g[0]]:.3f} mm along the slice normal; remove one or split "
                    "the acquisitions",
                )
        keep.append(ranked[0])
        dropped.extend(hs[i] for i in ranked[1:])
    keep.sort()
    unit = noun(len(dropped), "file" if dropped[0].frame is None else "frame")
    which = (
        _labels(dropped, source)
        if dropped[0].frame is not None
        else _names_withheld([h.path for h in dropped], source, dropped[0].phi)
    )
    warnings.append(
        f"ignored {len(dropped)} {unit} holding the same image as another at the same "
        f"position: {which}"
    )
    return [hs[i] for i in keep], ipp[keep], pos[keep]


def _geometry(
    hs: list[_Header],
    source: Path,
    params: LoadParams,
    warnings: list[str],
    prefer: Path | None = None,
    values: Callable[[_Header], np.ndarray] | None = None,
) -> tuple[list[_Header], np.ndarray]:
    """Sort slices along the normal, check spacing and tilt, return (sorted, LPS affine).

    Used for classic series (one slice per file) and for the frames of a multi-frame
    file alike; ``values`` reads one slice's rescaled values when duplicates are compared.
    """
    ref = hs[0]
    assert ref.iop is not None and ref.pixel_spacing is not None
    norms = (float(np.linalg.norm(ref.iop[:3])), float(np.linalg.norm(ref.iop[3:])))
    if min(norms) < 0.5 or max(norms) > 1.5:
        raise ScanError(
            ref.path,
            f"ImageOrientationPatient {ref.iop.tolist()} does not hold two unit vectors",
        )
    row = ref.iop[:3] / norms[0]
    col = ref.iop[3:] / norms[1]
    if abs(float(row @ col)) > 1e-3:
        raise ScanError(
            ref.path,
            f"ImageOrientationPatient {ref.iop.tolist()}: row and column directions are not "
            "perpendicular",
        )
    normal = np.cross(row, col)
    normal /= np.linalg.norm(normal)
    if len(hs) < 2:
        raise ScanError(
            source,
            f"2D image: the series has a single slice ({_label(ref, source)}); "
            "twinsep needs a 3D volume",
        )
    ipp = np.stack([h.ipp for h in hs if h.ipp is not None])
    pos = ipp @ normal
    order = np.argsort(pos, kind="stable")
    hs = [hs[i] for i in order]
    ipp = ipp[order]
    pos = pos[order]
    hs, ipp, pos = _drop_identical_copies(
        hs, ipp, pos, source, params, warnings, prefer, values=values
    )
    if len(hs) < 2:
        raise ScanError(
            prefer or source,
            f"2D image: the series has a single distinct slice ({_label(hs[0], source)}); "
            "twinsep needs a 3D volume",
        )
    diffs = np.diff(pos)
    d = float(np.median(diffs))
    tol = min(params.slice_position_tol_mm, params.slice_position_rel_tol * d)
    missing: list[tuple[int, int]] = []
    odd: list[int] = []
    for idx, g in enumerate(diffs):
        if abs(g - d) <= 2 * tol:
            continue
        m = int(round(g / d))
        if m >= 2 and abs(g - m * d) <= 2 * tol:
            missing.append((idx, m - 1))
        else:
            odd.append(idx)
    if odd:
        i = odd[0]
        vals = sorted({round(float(diffs[j]), 3) for j in odd})
        raise ScanError(
            source,
            f"non-uniform slice spacing: most slices are {d:.4g} mm apart but "
            f"{_label(hs[i], source)} -> {_label(hs[i + 1], source)} is "
            f"{diffs[i]:.4g} mm ({counted(len(odd), 'irregular step')}, distances {vals[:5]} mm; "
            f"tolerance ±{2 * tol:.3g} mm); resample the series to uniform slices",
        )
    if missing:
        i, m = missing[0]
        total = sum(n for _, n in missing)
        raise ScanError(
            source,
            f"missing {noun(total, 'slice')}: the gap between {_label(hs[i], source)} and "
            f"{_label(hs[i + 1], source)} is {diffs[i]:.4g} mm = {m + 1} × the "
            f"{d:.4g} mm spacing ({counted(total, 'slice')} missing in "
            f"{counted(len(missing), 'gap')}); "
            "export the complete series",
        )
    # Every slice must sit on a uniform grid (least-squares line through the positions).
    ks = np.arange(len(pos), dtype=np.float64)
    step, start = (float(c) for c in np.polyfit(ks, pos, 1))
    resid = pos - (start + step * ks)
    worst = int(np.argmax(np.abs(resid)))
    if abs(resid[worst]) > tol:
        raise ScanError(
            source,
            f"non-uniform slice spacing: {_label(hs[worst], source)} lies "
            f"{resid[worst]:+.3f} mm off a uniform {step:.4g} mm grid (tolerance ±{tol:.3g} mm); "
            "resample the series to uniform slices",
        )
    total_vec = ipp[-1] - ipp[0]
    along = float(total_vec @ normal)
    drift = total_vec - along * normal
    drift_mm = float(np.linalg.norm(drift))
    if drift_mm > params.tilt_max_fraction_of_pixel * min(ref.pixel_spacing):
        tilt_deg = math.degrees(math.atan2(drift_mm, along))
        raise ScanError(
            source,
            f"gantry tilt of about {tilt_deg:.2f}°: slice positions drift {drift_mm:.2f} mm "
            "sideways (off the slice normal) across the stack; twinsep does not resample "
            "tilted stacks - reconstruct the series without tilt or correct it first "
            "(e.g. dcm2niix corrects gantry tilt)",
        )
    thick = ref.slice_thickness_mm
    if thick is not None and thick > 0 and step > thick + tol:
        warnings.append(
            f"slices are {step:.3g} mm apart but only {thick:.3g} mm thick: the "
            f"{step - thick:.3g} mm gaps between slices were not imaged"
        )
    lps = np.eye(4)
    lps[:3, 0] = row * ref.pixel_spacing[1]
    lps[:3, 1] = col * ref.pixel_spacing[0]
    lps[:3, 2] = normal * step
    lps[:3, 3] = ipp[0] + (start - pos[0]) * normal  # slice 0 at its place on the grid
    return hs, lps


def _fast_path_ok(h: _Header) -> bool:
    return (
        h.transfer_syntax in _NATIVE_LE
        and h.bits_allocated == 16
        and h.pixel_tell is not None
        and h.pixel_length is not None
        and h.pixel_length >= h.rows * h.cols * 2
        and 1 <= h.bits_stored <= 16
    )


def _decode_fallback(h: _Header, n_frames: int = 1) -> np.ndarray:
    """Pixels through pydicom's decoders (compressed, big-endian, 8/32-bit...).

    ``(rows, cols)`` for a single-frame file; ``(n_frames, rows, cols)`` for all the
    frames of a multi-frame file.
    """
    ts = UID(h.transfer_syntax)
    try:
        ds = pydicom.dcmread(h.path)
    except Exception as exc:
        raise ScanError(h.path, f"cannot re-read the file ({type(exc).__name__})") from None
    if ts.is_compressed and not decoder_available(ts):
        install = missing_decoders(ts)
        raise ScanError(
            h.path,
            f"pixel data compressed as {ts.name} ({ts}) and no decoder for it is installed"
            + (f": pydicom reads it with {install}" if install else "")
            + "; or export the series uncompressed or as JPEG Lossless, JPEG-LS, "
            "JPEG 2000 or RLE, which twinsep decodes",
        )
    try:
        arr = np.asarray(ds.pixel_array)
    except Exception as exc:
        # e.g. 12-bit JPEG Extended, a lossy syntax of old PACS archives that neither GDCM
        # nor Pillow reads (pylibjpeg-libjpeg would: GPL-3.0, docs/DECISIONS.md)
        install = missing_decoders(ts) if ts.is_compressed else None
        todo = (
            (f"; pydicom's other decoder for it is not installed: {install}" if install else "")
            + "; or ask for the series uncompressed or losslessly compressed (JPEG "
            "Lossless, JPEG-LS, JPEG 2000, RLE), which twinsep decodes - a lossy copy has "
            "lost detail anyway"
            if ts.is_compressed
            else ""
        )
        raise ScanError(
            h.path, f"cannot decode pixel data ({ts.name}): {type(exc).__name__}: {exc}{todo}"
        ) from None
    want = (h.rows, h.cols) if n_frames == 1 else (n_frames, h.rows, h.cols)
    if arr.shape != want:
        raise ScanError(
            h.path, f"pixel data has shape {arr.shape}, header says {'×'.join(map(str, want))}"
        )
    return arr


def _read_and_hash(path: Path) -> tuple[bytes, str]:
    """Whole file and its SHA-256 (both release the GIL: run in worker threads)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ScanError(path, f"cannot be read ({exc.strerror})") from None
    return data, hashlib.sha256(data).hexdigest()


def _pixels_from_bytes(h: _Header, data: bytes) -> np.ndarray:
    """Stored values ``(rows, cols)`` of a native little-endian 16-bit file's bytes."""
    npx = h.rows * h.cols
    assert h.pixel_tell is not None
    if len(data) < h.pixel_tell + 2 * npx:
        raise ScanError(h.path, "truncated: the pixel data ends before the image does")
    dt = "<i2" if h.pixel_repr == 1 else "<u2"
    raw = np.frombuffer(data, dtype=dt, count=npx, offset=h.pixel_tell).reshape(h.rows, h.cols)
    if h.bits_stored >= 16:
        return raw
    read: np.ndarray
    if h.pixel_repr == 0:
        low = np.uint16((1 << h.bits_stored) - 1)
        read = raw & low
        share, need = _HIGH_BITS_MAX_SHARE, int(raw.max()).bit_length()
    else:  # two's complement in the low bits, sign-extended as pydicom does
        shift = 16 - h.bits_stored
        bits = raw.view("<u2")
        read = (bits << np.uint16(shift)).view("<i2") >> shift
        # the bits above are the sign's repeats or zeros (a writer that masked them);
        # anything else is a value beyond the stored bits
        above = bits >> np.uint16(h.bits_stored)
        neg = ((bits >> np.uint16(h.bits_stored - 1)) & 1).astype(bool)
        wrong = (above != 0) & ~(neg & (above == (1 << shift) - 1))
        share = _SIGNED_OUT_OF_RANGE_MAX_SHARE
        need = 1 + max(int(raw.max()).bit_length(), (-int(raw.min()) - 1).bit_length())
    differ = int(np.count_nonzero(read != raw if h.pixel_repr == 0 else wrong))
    if differ > share * npx:
        raise ScanError(
            h.path,
            f"BitsStored {h.bits_stored}, but {differ / npx:.0%} of the pixels hold "
            f"{'signed ' if h.pixel_repr else ''}values beyond {h.bits_stored} bits (from "
            f"{int(raw.min())} to {int(raw.max())}, which need {need} bits): the header "
            f"understates the bits stored, and the {h.bits_stored} low bits that DICOM "
            "says to read would give a wrong image; correct BitsStored and HighBit (e.g. "
            f"{need} and {need - 1}) or export the series again",
        )
    return read


def _raw_pixels(h: _Header) -> tuple[np.ndarray, str]:
    """Stored pixel values ``(rows, cols)`` of one file (no rescale) and the file's SHA-256."""
    if not _fast_path_ok(h):
        return _decode_fallback(h), sha256_file(h.path)
    data, digest = _read_and_hash(h.path)
    return _pixels_from_bytes(h, data), digest


def _values(h: _Header) -> np.ndarray:
    """Rescaled values of one slice as float64 (used to compare duplicates)."""
    raw, _ = _raw_pixels(h)
    return raw.astype(np.float64) * h.slope + h.inter


#: Files read ahead by the worker threads (bounds the memory held in flight).
_READ_AHEAD = 8


def _read_pixels(hs: list[_Header], warnings: list[str]) -> tuple[np.ndarray, list[str]]:
    """Pass 2: stack ``(n, rows, cols)`` with rescale applied; also the file hashes.

    Two worker threads read and hash the next files while this thread converts the
    current one (file reads and hashlib release the GIL). Declared padding values are
    read by :class:`twinsep.io.padding.PaddingMask`'s rule (warned in ``warnings``).
    """
    n, rows, cols = len(hs), hs[0].rows, hs[0].cols
    stack = np.empty((n, rows, cols), dtype=_stack_dtype(hs))
    padding = PaddingMask(stack.shape, [h.padding for h in hs])
    hashes: list[str] = []
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="twinsep-dicom") as pool:
        pending: deque[Future[tuple[bytes, str]] | None] = deque()

        def submit(i: int) -> None:
            h = hs[i]
            pending.append(pool.submit(_read_and_hash, h.path) if _fast_path_ok(h) else None)

        for i in range(min(_READ_AHEAD, n)):
            submit(i)
        for k, h in enumerate(hs):
            fut = pending.popleft()
            if k + _READ_AHEAD < n:
                submit(k + _READ_AHEAD)
            if fut is None:
                raw, digest = _raw_pixels(h)
            else:
                data, digest = fut.result()
                raw = _pixels_from_bytes(h, data)
            hashes.append(digest)
            padding.note(k, raw, h.padding)
            stack = _put_slice(stack, k, raw, h)
    stack, note = padding.apply(stack)
    if note is not None:
        warnings.append(note)
    return stack, hashes


def _stack_dtype(hs: list[_Header]) -> type[np.generic]:
    """int16 when every slice maps stored integers to integers int16 can reach, else float32.

    (|intercept| <= 65536 and slope 1; a slice that leaves int16's range after all
    promotes the stack to float32 in :func:`_put_slice`.)
    """
    integral = all(
        h.slope == 1.0 and float(h.inter).is_integer() and abs(h.inter) <= 65536 for h in hs
    )
    return np.int16 if integral else np.float32


def _put_slice(stack: np.ndarray, k: int, raw: np.ndarray, h: _Header) -> np.ndarray:
    """Store slice ``k`` rescaled with ``h``'s slope/intercept; returns the (maybe promoted) stack."""
    if stack.dtype == np.int16:
        if raw.dtype == np.int16 and h.inter == 0.0:
            stack[k] = raw
            return stack
        val = raw.astype(np.int32)
        val += int(h.inter)
        if int(val.min()) < -32768 or int(val.max()) > 32767:
            stack = stack.astype(np.float32)
        stack[k] = val
    else:
        # a slope or intercept beyond float32 (RescaleIntercept -1e308) becomes +-inf here
        # without numpy's overflow warning on the user's stderr: the scan's finite-value
        # check then refuses it in one line
        with np.errstate(over="ignore", invalid="ignore"):
            stack[k] = raw.astype(np.float32) * np.float32(h.slope) + np.float32(h.inter)
    return stack


def read_dicom(
    path: Path,
    *,
    series_uid: str | None = None,
    modality: str | None = None,
    params: LoadParams = LoadParams(),
) -> Loaded:
    """Read one DICOM series from a folder (recursively) or from one of its files.

    Parameters
    ----------
    path : Path
        A folder, or one DICOM file: then the series that file belongs to is loaded
        from the file's folder (not recursively). A DICOMDIR stands for its folder
        (searched recursively, as a folder is).
    series_uid : str, optional
        SeriesInstanceUID (or a prefix of its :func:`series_uid_hash`) to load when the
        folder holds several series.
    modality : str, optional
        When the folder holds several series and none was asked for, only series of
        this DICOM Modality (e.g. ``"MR"``) are candidates.
    params : LoadParams
        Tolerances.

    Returns
    -------
    Loaded
        Array ``[i, j, k]`` (i along rows, j down columns, k along the slice normal)
        and its RAS affine.

    Raises
    ------
    ScanError
        Empty folder, no image series, several series, inconsistent or missing slices,
        tilt, missing pixel data, undecodable compression, ...
    """
    # the multi-frame reader reuses this module's checks: imported here, not at the top
    from twinsep.io.enhanced import read_multiframe

    single = path if path.is_file() else None
    folder = path.parent if single is not None else path
    if single is None:
        return _read_series(None, folder, series_uid, params, read_multiframe, modality)
    head = _read_header(single)
    if isinstance(head, str) and head.startswith("a DICOMDIR"):
        # a CD's index names the files of the study on that CD: read the CD's folder;
        # errors still start with the path the user gave
        try:
            return _read_series(None, folder, series_uid, params, read_multiframe, modality)
        except SeriesChoiceError as exc:
            raise SeriesChoiceError(single, exc.n, exc.listing, exc.option) from None
        except ScanError as exc:
            where = "" if exc.source == str(folder) else f"{_rel(Path(str(exc.source)), folder)}: "
            raise ScanError(
                single, f"the study it indexes cannot be used: {where}{exc.reason}"
            ) from None
    if isinstance(head, str):
        raise ScanError(single, f"cannot be used as a scan: {head}")
    why = _NOT_A_SCAN.get(head.sop_class)
    if why is not None:
        raise ScanError(single, why)
    if series_uid is not None and not (
        series_uid == head.series_uid
        or series_uid_hash(head.series_uid).startswith(series_uid.lower())
    ):
        raise ScanError(
            single,
            f"the series asked for ({series_uid!r}) is not this file's series (hash "
            f"{series_uid_hash(head.series_uid)}); give the folder, or a file of that series",
        )
    if head.n_frames > 1:
        return read_multiframe(single, params=params)
    if head.samples != 1 or not head.has_pixels or head.iop is None or head.ipp is None:
        _check_series_headers([head], folder, params)  # the named file's own problem first
    return _read_series(single, folder, head.series_uid, params, read_multiframe)


def _named_error(single: Path, folder: Path, n_files: int, exc: ScanError) -> ScanError:
    """Re-word an error found in another file of ``single``'s series so it starts with ``single``.

    The user named one file; its series is read from the file's folder, and the
    problem may be in another file (or in the series as a whole).
    """
    where = ""
    if exc.source is not None and exc.source != str(folder):
        where = f"{_rel(Path(exc.source), folder)}: "
    return ScanError(
        single,
        f"its series ({n_files} files in {folder}) cannot be used: {where}{exc.reason}",
    )


def _read_series(
    single: Path | None,
    folder: Path,
    series_uid: str | None,
    params: LoadParams,
    read_multiframe: Callable[..., Loaded],
    modality: str | None = None,
) -> Loaded:
    """The series of ``folder`` (the one holding ``single`` when a file was given).

    An error names no file of the folder whose name holds the patient's identifiers
    (:func:`_withhold_file_names`).
    """
    if single is not None:
        files = _list_files(folder, recursive=False, max_files=params.max_dicom_files)
    else:
        files = _list_files(folder, recursive=True, max_files=params.max_dicom_files)
        if not files:
            raise ScanError(folder, "empty folder: no files to read")
    identifiers: dict[str, str] = {}
    try:
        return _series_of_files(
            single, folder, files, series_uid, params, read_multiframe, modality, identifiers
        )
    except ScanError as exc:
        withheld = _withhold_file_names(exc, single, folder, files, identifiers)
        if withheld is exc:
            raise
        raise withheld from None


def _withhold_file_names(
    exc: ScanError,
    single: Path | None,
    folder: Path,
    files: list[Path],
    identifiers: Mapping[str, str],
) -> ScanError:
    """``exc`` without the names of ``folder``'s files that hold the patient's identifiers.

    Exports name files and folders after the patient (``DOE_JOHN/DOE_JOHN_0001.dcm``).
    An error line goes to stderr, and from there into tickets, CI logs and e-mails, so
    such a name (:func:`twinsep.io.scan.path_names_patient`, against the identifiers of
    every header read in the folder) is replaced by the file's place in the folder
    listing ("the folder's file 3 of 240 (name withheld ...)"); an error whose source
    was such a file starts with the folder the user gave. The file the user named
    (``single``) opens the line as given and is not withheld. Names without
    identifiers are kept: they tell the user which file to look at.

    Returns
    -------
    ScanError
        ``exc`` itself when nothing is withheld (a :class:`SeriesChoiceError` lists no
        file names), else a new error with the same reason otherwise.
    """
    from twinsep.io.scan import path_names_patient  # scan imports this module

    if not identifiers or isinstance(exc, SeriesChoiceError):
        return exc
    given = None if single is None else str(single)
    subs: dict[str, str] = {}
    for i, f in enumerate(files):
        if str(f) == given:
            continue
        rel = _rel(f, folder)
        if any(path_names_patient(part, identifiers) for part in Path(rel).parts):
            text = (
                f"the folder's file {i + 1} of {len(files)} (name withheld: it holds "
                "patient identifiers)"
            )
            subs[str(f)] = text
            subs[rel] = text
    if not subs:
        return exc
    source, reason = exc.source, exc.reason
    if source is not None and source in subs:
        reason = f"{subs[source]}: {reason}"
        source = given if given is not None else str(folder)
    for old in sorted(subs, key=len, reverse=True):  # whole paths before their tails
        reason = reason.replace(old, subs[old])
    if source == exc.source and reason == exc.reason:
        return exc
    return ScanError(source, reason)


def _merge_identifiers(into: dict[str, str], phi: Mapping[str, str]) -> None:
    """Add ``phi``'s values to ``into``; a second value of a keyword (a folder holding two
    patients) is joined with a backslash, DICOM's value separator, so both are looked for."""
    for key, value in phi.items():
        had = into.get(key)
        if had is None:
            into[key] = value
        elif value not in had.split("\\"):
            into[key] = f"{had}\\{value}"


def _series_of_files(
    single: Path | None,
    folder: Path,
    files: list[Path],
    series_uid: str | None,
    params: LoadParams,
    read_multiframe: Callable[..., Loaded],
    modality: str | None,
    identifiers: dict[str, str],
) -> Loaded:
    """:func:`_read_series` once the files are listed; ``identifiers`` receives the
    identifying values of every header read."""
    groups: dict[str, list[_Header]] = {}
    skipped: list[tuple[Path, str]] = []
    memo: PhiMemo = {}
    for f in files:
        found: dict[str, str] = {}
        got = _read_header(f, found, memo)
        _merge_identifiers(identifiers, found if isinstance(got, str) else got.phi)
        if isinstance(got, str):
            skipped.append((f, got))
        elif got.sop_class in _NOT_A_SCAN:  # a SEG or RT dose exported beside the scan
            skipped.append((f, _NOT_A_SCAN[got.sop_class].split(";")[0]))
        else:
            groups.setdefault(got.series_uid, []).append(got)
    if not groups:
        reasons = Counter(r for _, r in skipped)
        detail = "; ".join(f"{n} × {r}" for r, n in reasons.most_common(3))
        raise ScanError(
            folder,
            f"no DICOM image series found among {counted(len(files), 'file')} ({detail}; e.g. "
            f"{_names([p for p, _ in skipped], folder, 2)})",
        )
    warnings: list[str] = []
    n_scouts = _drop_localizers(groups)
    hs = _choose_series(
        groups, series_uid, folder, warnings, modality, orientation_tol=params.orientation_tol
    )
    if skipped:
        kinds = Counter(r for _, r in skipped)
        warnings.append(
            f"ignored {counted(len(skipped), 'file')} that "
            f"{'is' if len(skipped) == 1 else 'are'} not DICOM images of a scan ("
            + "; ".join(f"{n} × {r}" for r, n in kinds.most_common(4))
            + f"): {_names_withheld([p for p, _ in skipped], folder, identifiers)}"
        )
    if n_scouts:
        warnings.append(
            f"left out {counted(n_scouts, 'localizer (scout) image')} exported inside an "
            "image series"
        )
    if len(groups) > 1 and series_uid is not None:
        others = sum(len(v) for v in groups.values()) - len(hs)
        warnings.append(
            f"loaded 1 of {len(groups)} series in the folder; {counted(others, 'file')} of other "
            f"series {'was' if others == 1 else 'were'} ignored"
        )
    if len(hs) == 1 and hs[0].n_frames > 1:
        loaded = read_multiframe(hs[0].path, params=params)
        loaded.warnings[:0] = warnings
        return loaded
    if single is not None and len(hs) == 1:
        raise ScanError(
            single,
            "2D image: a single DICOM slice and no other slice of its series in the folder; "
            "twinsep needs a 3D volume",
        )
    try:
        return _load_series(hs, single, folder, params, warnings)
    except ScanError as exc:
        if single is None or exc.source == str(single):
            raise
        raise _named_error(single, folder, len(hs), exc) from None


def _load_series(
    hs: list[_Header], single: Path | None, folder: Path, params: LoadParams, warnings: list[str]
) -> Loaded:
    """Check, sort and read the chosen series' files."""
    source = single if single is not None else folder
    _check_series_headers(hs, folder, params)
    hs, lps = _geometry(hs, folder, params, warnings, prefer=single)
    n, rows, cols = len(hs), hs[0].rows, hs[0].cols
    check_memory((cols, rows, n), max(hs[0].bits_allocated // 8, 1), source, params=params)
    stack, hashes = _read_pixels(hs, warnings)
    note = lossy_note([h.lossy for h in hs])
    if note is not None:
        warnings.append(note)
    array = stack.transpose(2, 1, 0)
    affine = LPS_TO_RAS @ lps
    modality = hs[0].modality
    meta = {
        "transfer_syntax": hs[0].transfer_syntax,
        "slice_thickness_mm": hs[0].slice_thickness_mm,
        "n_slices": n,
    }
    phi = dict(hs[0].phi)
    logger.debug("read %d DICOM slices from %s", n, folder)
    return Loaded(
        array=array,
        affine=affine,
        format="dicom",
        sha256=sha256_of_hashes(hashes),
        modality=modality,
        series_uid=hs[0].series_uid,
        n_files=n,
        warnings=warnings,
        phi=phi,
        meta=meta,
    )
