"""Write a :class:`Volume` as one multi-frame Enhanced CT / MR DICOM file (pydicom).

Used by tests and benchmarks to make the files modern scanners export, including the
awkward ones: frames in any order, frames left out (a missing position), several
stacks, per-frame rescale, geometry in the shared or in the per-frame functional
groups. Geometry follows :func:`twinsep.io.write_dicom_series`: frame ``k`` holds
``array[:, :, k].T`` (rows = j, columns = i), ImageOrientationPatient holds the LPS
directions of i then j and ImagePositionPatient the LPS position of voxel (0, 0, k).
UIDs are derived from a hash of the data and options, and no date is written, so the
file is reproducible byte for byte.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

from twinsep.errors import InputError
from twinsep.io.atomic import atomic_output
from twinsep.io.dicom_write import _UID_PREFIX, _ds, _quantise, image_header
from twinsep.volume import LPS_TO_RAS, Volume

logger = logging.getLogger(__name__)

__all__ = ["write_enhanced_dicom"]

_SOP_CLASS = {
    "CT": "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image Storage
}


def _item(**values: object) -> DicomSequence:
    ds = Dataset()
    for key, val in values.items():
        setattr(ds, key, val)
    return DicomSequence([ds])


def write_enhanced_dicom(
    volume: Volume,
    path: str | Path,
    *,
    frames: Sequence[int] | None = None,
    stack_ids: Sequence[str] | None = None,
    rescale: Sequence[tuple[float, float]] | None = None,
    shared_groups: bool = True,
    modality: str = "CT",
    patient_name: str = "",
    patient_id: str = "",
) -> Path:
    """Write ``volume`` as one multi-frame Enhanced CT/MR file, atomically.

    Parameters
    ----------
    volume : Volume
        Data (HU for CT) and RAS affine with orthogonal voxel axes.
    path : str or Path
        Destination file (its folder must exist).
    frames : sequence of int, optional
        The slices ``k`` to write, in frame order (default: every slice, along the
        slice normal). Repeats, omissions and any order are allowed on purpose.
    stack_ids : sequence of str, optional
        StackID of each written frame (default ``"1"`` for all).
    rescale : sequence of (slope, intercept), optional
        Per written frame: stored = round((value - intercept) / slope). Default: one
        shared pair chosen so that integer data are exact.
    shared_groups : bool
        True: orientation, pixel measures and (default) rescale in the
        SharedFunctionalGroupsSequence; False: repeated in every frame's item.
    modality : {"CT", "MR"}
        Modality and SOP class.
    patient_name, patient_id : str
        Written as given (empty by default).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        Sheared affine, unknown modality, or option lengths that do not match ``frames``.
    """
    if modality not in _SOP_CLASS:
        raise InputError("modality", f"{modality!r} is not one of {sorted(_SOP_CLASS)}")
    dest = Path(path)
    lps = LPS_TO_RAS @ volume.affine
    spacing = np.asarray(volume.spacing_mm)
    direction = lps[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise InputError(dest, "the affine is sheared; DICOM cannot store it")
    array = np.asarray(volume.array)
    nk = array.shape[2]
    normal = np.cross(direction[:, 0], direction[:, 1])
    if frames is None:
        order = list(range(nk))
        frames = order[::-1] if float(normal @ direction[:, 2]) < 0 else order
    frames = [int(k) for k in frames]
    if not frames or min(frames) < 0 or max(frames) >= nk:
        raise InputError("frames", f"slice indices must lie in 0..{nk - 1}")
    stack_ids = ["1"] * len(frames) if stack_ids is None else list(stack_ids)
    if len(stack_ids) != len(frames):
        raise InputError("stack_ids", f"{len(stack_ids)} values for {len(frames)} frames")
    if rescale is not None and len(rescale) != len(frames):
        raise InputError("rescale", f"{len(rescale)} pairs for {len(frames)} frames")
    shared_stored, shared_slope, shared_inter = _quantise(array)
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(shared_stored).tobytes())
    digest.update(np.asarray(volume.affine, dtype="<f8").tobytes())
    digest.update(repr((frames, stack_ids, rescale, shared_groups, modality)).encode())
    digest.update(f"{patient_name}|{patient_id}".encode())
    seed = digest.hexdigest()

    def uid(kind: str) -> str:
        return str(generate_uid(prefix=_UID_PREFIX, entropy_srcs=[seed, kind]))

    origin, step = lps[:3, 3], lps[:3, 2]
    orientation = _item(
        ImageOrientationPatient=[_ds(v) for v in (*direction[:, 0], *direction[:, 1])]
    )
    measures = _item(
        PixelSpacing=[_ds(spacing[1]), _ds(spacing[0])], SliceThickness=_ds(spacing[2])
    )
    rtype = "HU" if modality == "CT" else "US"
    per_frame: list[Dataset] = []
    pixel_bytes: list[bytes] = []
    for n, k in enumerate(frames):
        group = Dataset()
        pos = origin + k * step
        group.FrameContentSequence = _item(
            StackID=stack_ids[n],
            InStackPositionNumber=k + 1,
            DimensionIndexValues=[int(stack_ids[n]) if stack_ids[n].isdigit() else 1, k + 1],
        )
        group.PlanePositionSequence = _item(ImagePositionPatient=[_ds(v) for v in pos])
        if not shared_groups:
            group.PlaneOrientationSequence = orientation
            group.PixelMeasuresSequence = measures
        if rescale is None:
            stored = shared_stored[:, :, k]
            if not shared_groups:
                group.PixelValueTransformationSequence = _item(
                    RescaleSlope=_ds(shared_slope),
                    RescaleIntercept=_ds(shared_inter),
                    RescaleType=rtype,
                )
        else:
            slope, inter = rescale[n]
            vals = (array[:, :, k].astype(np.float64) - inter) / slope
            stored = np.clip(np.round(vals), -32768, 32767).astype(np.int16)
            group.PixelValueTransformationSequence = _item(
                RescaleSlope=_ds(slope), RescaleIntercept=_ds(inter), RescaleType=rtype
            )
        per_frame.append(group)
        pixel_bytes.append(np.ascontiguousarray(stored.T).astype("<i2").tobytes())
    shared = Dataset()
    if shared_groups:
        shared.PlaneOrientationSequence = orientation
        shared.PixelMeasuresSequence = measures
        if rescale is None:
            shared.PixelValueTransformationSequence = _item(
                RescaleSlope=_ds(shared_slope),
                RescaleIntercept=_ds(shared_inter),
                RescaleType=rtype,
            )

    ds = image_header(
        _SOP_CLASS[modality],
        uid("sop"),
        modality,
        patient_name=patient_name,
        patient_id=patient_id,
    )
    ds.ImageType = ["DERIVED", "SECONDARY", "VOLUME", "NONE"]
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.StudyID = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.FrameOfReferenceUID = uid("frame")
    ds.PositionReferenceIndicator = ""
    ds.ContentDate = ""
    ds.ContentTime = ""
    ds.NumberOfFrames = len(frames)
    ds.DimensionOrganizationSequence = _item(DimensionOrganizationUID=uid("dimorg"))
    dims = []
    for pointer in ("StackID", "InStackPositionNumber"):
        d = Dataset()
        d.DimensionOrganizationUID = ds.DimensionOrganizationSequence[0].DimensionOrganizationUID
        d.DimensionIndexPointer = pydicom.datadict.tag_for_keyword(pointer)
        d.FunctionalGroupPointer = pydicom.datadict.tag_for_keyword("FrameContentSequence")
        dims.append(d)
    ds.DimensionIndexSequence = DicomSequence(dims)
    ds.SharedFunctionalGroupsSequence = DicomSequence([shared])
    ds.PerFrameFunctionalGroupsSequence = DicomSequence(per_frame)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = int(array.shape[1])
    ds.Columns = int(array.shape[0])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = b"".join(pixel_bytes)
    with atomic_output(dest) as tmp:
        pydicom.dcmwrite(tmp, ds, enforce_file_format=True)
    logger.debug("wrote %d frames to %s", len(frames), dest)
    return dest
