"""``load_scan``: open any supported scan, validate it, describe it without PHI.

Dispatch by suffix (``.nii``/``.nii.gz``, ``.hdr``/``.img`` NIfTI pairs,
``.nrrd``/``.nhdr``, ``.mha``/``.mhd``),
by folder (DICOM series) or, for other names, by the file's magic bytes. Every
reader returns the array indexed ``[i, j, k]`` with its RAS affine; the common
checks (shape, spacing, singular affine, NaN/inf, label maps) and the modality
guess are applied here, once, for all formats.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from twinsep.errors import ScanError
from twinsep.io._loaded import Loaded, head_bytes
from twinsep.io.checks import (
    LoadParams,
    air_fraction,
    check_affine,
    check_ct_values,
    check_not_atlas,
    check_not_label_map,
    check_readable_path,
    check_shape,
    fill_highest_float_outside_fov,
    fill_lowest_float_outside_fov,
    fill_nan_outside_fov,
    guess_modality,
    normalise_dtype,
)
from twinsep.io.dicom import is_dicom_file, looks_like_raw_dicom, read_dicom, series_uid_hash
from twinsep.io.formats import PAIR_SUFFIXES, read_itk, read_nifti, read_nifti_pair
from twinsep.io.pair_content import content_kind, image_file_kind
from twinsep.io.shear import orthogonal_grid
from twinsep.io.unsupported import unsupported_reason
from twinsep.volume import Volume, orientation_code, spacing_from_affine

logger = logging.getLogger(__name__)

#: Offset of CT numbers stored unsigned without a rescale intercept (air -1024 HU reads 0).
CT_OFFSET_HU = 1024.0

__all__ = ["Scan", "ScanInfo", "load_scan", "detect_format", "describe_scan"]

ScanFormat = Literal["dicom", "nifti", "nrrd", "mha"]
Modality = Literal["CT", "MR", "OT"]


class ScanInfo(BaseModel):
    """Facts about a loaded scan, safe to write into ``plan.json``.

    Never holds patient name, ID, birth date, institution, accession number or
    referring physician unless ``load_scan(..., keep_phi=True)`` was asked, and then
    only inside ``phi``.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    """The path given to :func:`load_scan`, as given."""
    sha256: str
    """SHA-256 of the file, or of the sorted concatenation of the series files' hashes."""
    format: ScanFormat
    modality: Modality
    modality_guessed: bool
    """True when the modality was guessed from the value range (no header tag)."""
    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    affine: list[list[float]]
    """Voxel-to-world RAS mm, row-major 4x4."""
    orientation: str
    value_range: tuple[float, float]
    """Minimum and maximum voxel value (HU for CT)."""
    dtype: str
    n_files: int
    deidentified: bool
    """True when no identifying header value is kept (``phi`` is None)."""
    series_uid_hash: str | None = None
    """First 16 hex digits of the SHA-256 of the DICOM SeriesInstanceUID."""
    warnings: list[str] = []
    phi: dict[str, str] | None = None
    """Identifying header values (only with ``keep_phi=True``)."""
    path_names_patient: bool = False
    """True when the name of the given file or folder holds an identifying header value
    (:func:`path_names_patient`): outputs then record a neutral name instead of it."""


@dataclass(frozen=True)
class Scan:
    """A validated scan: the volume and what is known about it.

    ``identifiers`` holds the header values that a file or folder name is checked
    against (:meth:`names_patient`: patient name, IDs, birth date, accession number),
    also without ``keep_phi``. They stay in memory: not shown, and not pickled (a stage
    result that held a scan would not carry them into the plan's cache).
    """

    volume: Volume
    info: ScanInfo
    identifiers: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def names_patient(self, path: str | Path) -> bool:
        """Whether the last part of ``path`` (another file the user gave with this scan,
        e.g. their segmentation) holds one of this scan's identifying header values
        (:func:`path_names_patient`)."""
        return path_names_patient(path, self.identifiers)

    def __getstate__(self) -> dict[str, object]:
        return {"volume": self.volume, "info": self.info}

    def __setstate__(self, state: dict[str, object]) -> None:
        object.__setattr__(self, "volume", state["volume"])
        object.__setattr__(self, "info", state["info"])
        object.__setattr__(self, "identifiers", {})


_SUFFIX_FORMATS = (
    (".nii.gz", "nifti"),
    (".nii", "nifti"),
    (".hdr", "nifti"),  # a NIfTI pair (header); Analyze 7.5 is refused by its reader
    (".img", "nifti"),  # a NIfTI pair (voxels)
    (".nrrd", "nrrd"),
    (".nhdr", "nrrd"),
    (".mha", "mha"),
    (".mhd", "mha"),
    (".dcm", "dicom"),
    (".dicom", "dicom"),
    (".ima", "dicom"),
)


def _sniff(path: Path) -> str | None:
    head = head_bytes(path, 352)
    kind = content_kind(head)  # DICM preamble, NRRD, MetaImage, single-file NIfTI
    if kind is not None:
        return "nifti" if kind == "nifti-single" else kind
    if (len(head) >= 348 and head[344:348] == b"ni1\x00") or head[4:8] == b"ni2\x00":
        return "nifti"  # the header of a pair
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if looks_like_raw_dicom(head):
        return "dicom"
    return None


def detect_format(path: Path) -> str:
    """Return ``"dicom"``, ``"nifti"``, ``"nrrd"`` or ``"mha"`` for ``path``.

    Raises
    ------
    ScanError
        When neither the suffix nor the content identify a supported format.
    """
    if path.is_dir():
        return "dicom"
    name = path.name.lower()
    for suf, fmt in _SUFFIX_FORMATS:
        if name.endswith(suf):
            if fmt == "dicom" and not is_dicom_file(path) and _sniff(path) is not None:
                break  # a misnamed file: trust the content below
            if suf in PAIR_SUFFIXES:  # generic names: a disc image, DICOM, ENVI ...
                kind = image_file_kind(path)
                if kind in ("dicom", "nrrd", "mha"):
                    return kind
                why = unsupported_reason(path) if kind is None else None
                if why is not None:
                    raise ScanError(path, why)
            return fmt
    sniffed = _sniff(path)
    if sniffed in ("dicom", "nifti", "nrrd", "mha"):
        return sniffed
    why = unsupported_reason(path)
    if why is not None:
        raise ScanError(path, why)
    if sniffed == "gzip" and name.endswith(".gz"):
        return "nifti"
    raise ScanError(
        path,
        "not a recognised scan format (expected a DICOM folder or file, .nii, .nii.gz, "
        "a .hdr/.img NIfTI pair, .nrrd, .nhdr, .mha or .mhd)",
    )


def _read(
    path: Path, fmt: str, series_uid: str | None, modality: str | None, params: LoadParams
) -> Loaded:
    if fmt == "dicom":
        return read_dicom(path, series_uid=series_uid, modality=modality, params=params)
    if series_uid is not None:
        raise ScanError(path, f"series_uid applies to DICOM only, not to {fmt} files")
    if fmt == "nifti":
        if path.suffix.lower() in PAIR_SUFFIXES and image_file_kind(path) != "nifti-single":
            return read_nifti_pair(path, params=params)
        return read_nifti(path, params=params)
    return read_itk(path, fmt, params=params)


def load_scan(
    path: str | Path,
    *,
    series_uid: str | None = None,
    modality: str | None = None,
    keep_phi: bool = False,
    params: LoadParams = LoadParams(),
) -> Scan:
    """Load and validate a CT or MR scan.

    Parameters
    ----------
    path : str or Path
        A DICOM folder (one series), one DICOM file of a series, ``.nii``/``.nii.gz``,
        ``.hdr``/``.img`` NIfTI pair, ``.nrrd``/``.nhdr`` or ``.mha``/``.mhd``.
    series_uid : str, optional
        DICOM SeriesInstanceUID (or a prefix of ``series_uid_hash``) to pick one of
        several series in a folder.
    modality : str, optional
        DICOM only: when a folder holds several series and none was asked for, only
        series of this Modality (``"MR"`` for ``--mr``) are candidates. Other formats
        and a chosen series are not affected.
    keep_phi : bool
        Keep identifying DICOM header values in ``info.phi``. Off by default.
    params : LoadParams
        Validation thresholds.

    Returns
    -------
    Scan
        ``volume.array`` is int16 (integer data that fits) or float32, indexed
        ``[i, j, k]``; ``volume.affine`` maps it to world RAS mm.

    Raises
    ------
    ScanError
        For every unusable input, with one line naming the file and the reason.
        The input is never modified.
    """
    p = Path(path)
    check_readable_path(p)
    fmt = detect_format(p)
    try:
        loaded = _read(p, fmt, series_uid, modality, params)
    except ScanError:
        raise
    except MemoryError:
        raise ScanError(p, "not enough memory to load this scan") from None
    except PermissionError:
        raise ScanError(p, "permission denied (cannot read); check file permissions") from None
    except OSError as exc:
        raise ScanError(p, f"cannot be read ({exc.strerror or exc})") from None
    return _finish(p, loaded, keep_phi=keep_phi, params=params)


def _finish(path: Path, loaded: Loaded, *, keep_phi: bool, params: LoadParams) -> Scan:
    source = path
    arr = loaded.array
    shape3 = check_shape(arr.shape, source)
    if arr.ndim != 3:
        arr = arr.reshape(shape3, order="F" if arr.flags.f_contiguous else "C")
    check_affine(loaded.affine, source, params=params)
    arr, nan_note = fill_nan_outside_fov(arr, source, min_fraction=params.nan_fov_min_fraction)
    arr, pad_note = fill_lowest_float_outside_fov(arr, min_fraction=params.nan_fov_min_fraction)
    arr, top_note = fill_highest_float_outside_fov(
        arr, source, min_fraction=params.nan_fov_min_fraction
    )
    arr = normalise_dtype(arr, source)
    few_values = check_not_label_map(arr, source, params=params)
    if few_values is None:
        voxel_mm3 = float(abs(np.linalg.det(np.asarray(loaded.affine, dtype=float)[:3, :3])))
        check_not_atlas(arr, voxel_mm3, source, params=params)
    warnings = list(loaded.warnings)
    warnings += [note for note in (nan_note, pad_note, top_note) if note is not None]
    if few_values is not None:
        warnings.append(few_values)
    # a sheared (tilted, uncorrected) grid is put on orthogonal axes once, here
    arr, grid_affine, shear = orthogonal_grid(
        arr,
        np.asarray(loaded.affine, dtype=np.float64),
        max_drift_mm=params.tilt_max_fraction_of_pixel * min(spacing_from_affine(loaded.affine)),
    )
    if shear is not None:
        warnings.append(shear.message())
    vmin, vmax = float(arr.min()), float(arr.max())
    modality: str
    guessed = loaded.modality is None
    if loaded.modality is None:
        modality = guess_modality(vmin, vmax, params=params)
        air = air_fraction(arr, params.ct_min_hu) if modality == "CT" else 1.0
        if air < params.ct_min_air_fraction:
            modality = "MR"  # a few undershooting voxels of an MR, no air around a head
        if modality == "CT":
            check_ct_values(vmin, vmax, source, guessed=True, params=params)
        note = (
            f"modality guessed as {modality} from the value range {vmin:g}..{vmax:g} "
            f"({'looks like' if modality == 'CT' else 'does not look like'} Hounsfield units)"
        )
        if air < params.ct_min_air_fraction:
            note += (
                f": only {air:.2%} of the voxels lie at or below {params.ct_min_hu:g}, where "
                f"a CT's air fills at least {params.ct_min_air_fraction:.0%} (values below "
                "it at a few edges are an MR's resampling overshoot)"
            )
        if modality == "MR" and vmin >= 0.0 and vmax >= CT_OFFSET_HU + params.ct_max_hu:
            # CT numbers stored with +1024 and no rescale intercept read 0..4095: the range
            # cannot tell them from an MR, so say how to give such a CT
            note += (
                "; if this is a CT stored as CT number + 1024 without a rescale intercept, "
                "convert it to Hounsfield units (e.g. NIfTI scl_inter -1024) and plan it again"
            )
        elif modality == "MR" and loaded.array.dtype == np.uint8:
            # a CT saved for display (window/level applied, 8-bit grey) reads 0..255 like
            # an 8-bit MR and was planned as an MR alone (session 26 sweep: a vertical
            # phantom called angular, twins +37 %); the range cannot tell, so say so
            note += (
                "; if this is a CT saved for display (8-bit grey levels after a window), "
                "its Hounsfield units are lost: give the original CT"
            )
        warnings.append(note)
    elif loaded.modality in ("CT", "MR"):
        modality = loaded.modality
        if modality == "CT":
            check_ct_values(vmin, vmax, source, guessed=False, params=params)
    else:
        modality = "OT"
        warnings.append(
            f"DICOM modality {loaded.modality!r} is neither CT nor MR; segmentation assumes CT or MR"
        )
    affine = np.asarray(grid_affine, dtype=np.float64)
    meta = {"modality": modality, "format": loaded.format, **loaded.meta}
    if shear is not None:
        # read by twinsep.interop.edited: a user's map drawn on the file as stored
        meta["tilt_corrected_deg"] = round(float(shear.tilt_deg), 2)
    volume = Volume(arr, affine, meta)
    phi = dict(loaded.phi) if keep_phi else None
    info = ScanInfo(
        path=str(path),
        sha256=loaded.sha256,
        format=loaded.format,  # type: ignore[arg-type]
        modality=modality,  # type: ignore[arg-type]
        modality_guessed=guessed,
        shape=volume.shape,
        spacing_mm=spacing_from_affine(affine),
        affine=affine.tolist(),
        orientation=orientation_code(affine),
        value_range=(vmin, vmax),
        dtype=str(arr.dtype),
        n_files=loaded.n_files,
        deidentified=not phi,
        series_uid_hash=None if loaded.series_uid is None else series_uid_hash(loaded.series_uid),
        warnings=warnings,
        phi=phi or None,
        path_names_patient=path_names_patient(path, loaded.phi),
    )
    for w in warnings:
        logger.info("%s: %s", path, w)
    identifiers = {k: str(v) for k, v in loaded.phi.items() if k in _PATH_PHI_KEYWORDS}
    return Scan(volume=volume, info=info, identifiers=identifiers)


#: Identifying values shorter than this (characters, letters and digits only) are not
#: looked for in a path: a two-letter name part would match unrelated folder names.
MIN_PHI_TOKEN_CHARS = 3

#: Header values whose parts are looked for in the name of the given file or folder.
_PATH_PHI_KEYWORDS = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "PatientBirthDate",
    "AccessionNumber",
)


def _alnum(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def path_names_patient(path: str | Path, phi: Mapping[str, str]) -> bool:
    """Whether the last part of ``path`` holds a part of the patient's name, their ID(s),
    birth date or accession number from ``phi`` (case and separators ignored).

    PACS and CD exports often name the folder after the patient ("DOE_JANE_123456");
    ``plan.json`` records the name of what was given, so such a name must be withheld.
    Only what the header says can be found: a NIfTI named after the patient is not.
    """
    name = _alnum(Path(path).name)
    if not name:
        return False
    for key in _PATH_PHI_KEYWORDS:
        # "=" separates a name's alphabetic, ideographic and phonetic groups (PS3.5 6.2.1)
        for part in re.split(r"[\\^=\s,_\-.]+", str(phi.get(key, ""))):
            token = _alnum(part)
            # two ideographs name a person as surely as three letters (山田, 太郎)
            shortest = MIN_PHI_TOKEN_CHARS if token.isascii() else 2
            if len(token) >= shortest and token in name:
                return True
    return False


def _files_note(scan: Scan) -> str:
    """`` (N files)`` for a series or pair, `` (one multi-frame file, N frames)`` for one."""
    n_frames = scan.volume.meta.get("n_frames")
    if n_frames:
        return f" (one multi-frame file, {n_frames} frames, {scan.volume.meta.get('sop_class')})"
    return f" ({scan.info.n_files} files)" if scan.info.n_files > 1 else ""


def describe_scan(scan: Scan) -> str:
    """Multi-line, human-readable description of a scan for ``twinsep check``.

    Lists format, modality (and whether it was guessed), shape, voxel size, field of
    view, orientation code, value range, data type and every warning. Contains no
    identifying header value unless the scan was loaded with ``keep_phi=True``.
    """
    i = scan.info
    sx, sy, sz = i.spacing_mm
    fov = tuple(n * s for n, s in zip(i.shape, i.spacing_mm, strict=True))
    unit = "HU" if i.modality == "CT" else "(arbitrary units)"
    lines = [
        f"file:        {i.path}",
        f"format:      {i.format}" + _files_note(scan),
        f"modality:    {i.modality}"
        + (" (guessed from the value range)" if i.modality_guessed else ""),
        f"shape:       {i.shape[0]} × {i.shape[1]} × {i.shape[2]} voxels ({i.dtype})",
        f"spacing:     {sx:.4g} × {sy:.4g} × {sz:.4g} mm",
        f"extent:      {fov[0]:.1f} × {fov[1]:.1f} × {fov[2]:.1f} mm",
        f"orientation: {i.orientation} (voxel axes i, j, k point toward these world directions)",
        f"values:      {i.value_range[0]:g} .. {i.value_range[1]:g} {unit}",
        f"sha256:      {i.sha256}",
    ]
    if i.series_uid_hash:
        lines.append(f"series:      hash {i.series_uid_hash}")
    lines.append(
        "identity:    de-identified (no patient data kept)"
        if i.deidentified
        else "identity:    PATIENT DATA KEPT (--keep-phi)"
    )
    if i.warnings:
        lines.append(f"warnings ({len(i.warnings)}):")
        lines.extend(f"  - {w}" for w in i.warnings)
    else:
        lines.append("warnings:    none")
    return "\n".join(lines)
