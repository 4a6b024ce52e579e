"""Write a :class:`Volume` as a classic single-frame DICOM series (pydicom).

Used by phantoms and tests. The series is reproducible byte for byte: UIDs are
derived from a hash of the voxel data, the affine and the given identifiers
(``pydicom.uid.generate_uid(entropy_srcs=...)``), and no date or time is written.

Geometry: slice ``k`` holds ``array[:, :, k].T`` (rows = j, columns = i);
ImageOrientationPatient holds the LPS directions of i then j, ImagePositionPatient
the LPS position of voxel (0, 0, k). A DICOM stack is always right-handed
(k along row × column), so a left-handed affine is written with its slices in
the opposite order; the world position of every voxel is kept exactly.
Stored values are int16 with RescaleSlope/RescaleIntercept chosen so that integer
data within int16 are exact; other data are quantised to 65 536 levels.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid
from pydicom.valuerep import format_number_as_ds

from twinsep.errors import InputError
from twinsep.io.atomic import atomic_output_dir
from twinsep.volume import LPS_TO_RAS, Volume

logger = logging.getLogger(__name__)

__all__ = ["write_dicom_series"]

_SOP_CLASS = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
}
_IMPLEMENTATION_UID = "1.2.826.0.1.3680043.8.498.1"
_UID_PREFIX = "1.2.826.0.1.3680043.8.498."


def _ds(x: float) -> str:
    """A DS string of at most 16 characters keeping as many digits as fit."""
    v = float(x)
    if v == 0.0 or abs(v) < 1e-12:
        return "0"
    return format_number_as_ds(v)


def _quantise(array: np.ndarray) -> tuple[np.ndarray, float, float]:
    """int16 stored values with (slope, intercept) so that value = stored*slope + intercept."""
    a = np.asarray(array)
    if np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_):
        lo, hi = int(a.min()), int(a.max())
        if lo >= -32768 and hi <= 32767:
            return a.astype(np.int16), 1.0, 0.0
        if hi - lo <= 65535:
            return (a.astype(np.int64) - (lo + 32768)).astype(np.int16), 1.0, float(lo + 32768)
    af = a.astype(np.float64)
    if np.all(af == np.round(af)) and af.min() >= -32768 and af.max() <= 32767:
        return af.astype(np.int16), 1.0, 0.0
    flo, fhi = float(af.min()), float(af.max())
    slope = (fhi - flo) / 65535.0 if fhi > flo else 1.0
    inter = flo + 32768.0 * slope
    stored = np.clip(np.round((af - inter) / slope), -32768, 32767).astype(np.int16)
    return stored, float(slope), float(inter)


def image_header(
    sop_class_uid: str,
    sop_uid: str,
    modality: str,
    *,
    patient_name: str = "",
    patient_id: str = "",
    birth_date: str = "",
) -> Dataset:
    """A new image dataset with its file meta and the patient/study fields every writer sets.

    Parameters
    ----------
    sop_class_uid : str
        SOP Class UID (CT/MR Image Storage, or their Enhanced classes).
    sop_uid : str
        SOP Instance UID of the new image.
    modality : str
        ``"CT"`` or ``"MR"``.
    patient_name, patient_id, birth_date : str
        Patient fields as given (test data only; empty by default).

    Returns
    -------
    pydicom.dataset.Dataset
        Explicit VR little endian, no date or time, manufacturer ``twinsep``.
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(_IMPLEMENTATION_UID)
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ""
    ds.StudyTime = ""
    ds.AccessionNumber = ""
    ds.Modality = modality
    ds.Manufacturer = "twinsep"
    ds.ReferringPhysicianName = ""
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth_date
    ds.PatientSex = ""
    return ds


def write_dicom_series(
    volume: Volume,
    folder: str | Path,
    *,
    patient_name: str = "",
    patient_id: str = "",
    birth_date: str = "",
    modality: str = "CT",
    series_description: str = "",
) -> list[Path]:
    """Write ``volume`` as a DICOM series into a new folder, atomically.

    Parameters
    ----------
    volume : Volume
        Data (HU for CT) and RAS affine. The affine's voxel axes must be orthogonal
        (DICOM cannot store shear).
    folder : str or Path
        Destination folder; must not exist or be empty.
    patient_name, patient_id, birth_date : str
        Written as given (empty by default: a de-identified series).
        ``birth_date`` is ``YYYYMMDD``.
    modality : {"CT", "MR"}
        Modality and SOP class.
    series_description : str
        SeriesDescription.

    Returns
    -------
    list of Path
        The written files in slice order (``IM00001.dcm`` ...).

    Raises
    ------
    InputError
        Sheared affine or unknown modality.
    OutputError
        The folder exists and is not empty, or its parent is not writable.
    """
    if modality not in _SOP_CLASS:
        raise InputError("modality", f"{modality!r} is not one of {sorted(_SOP_CLASS)}")
    dest = Path(folder)
    lps = LPS_TO_RAS @ volume.affine
    spacing = np.asarray(volume.spacing_mm)
    direction = lps[:3, :3] / spacing
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-6):
        raise InputError(dest, "the affine is sheared; a DICOM series cannot store it")
    array = volume.array
    origin = lps[:3, 3].copy()
    step = lps[:3, 2].copy()
    normal = np.cross(direction[:, 0], direction[:, 1])
    nk = array.shape[2]
    slice_order = list(range(nk))
    if float(normal @ direction[:, 2]) < 0:  # left-handed: reverse so k runs along +normal
        slice_order = slice_order[::-1]
    stored, slope, inter = _quantise(array)
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(stored).tobytes())
    digest.update(np.asarray(volume.affine, dtype="<f8").tobytes())
    digest.update(
        f"{patient_name}|{patient_id}|{birth_date}|{modality}|{series_description}".encode()
    )
    seed = digest.hexdigest()

    def uid(kind: str) -> str:
        return str(generate_uid(prefix=_UID_PREFIX, entropy_srcs=[seed, kind]))

    study_uid, series_uid, frame_uid = uid("study"), uid("series"), uid("frame")
    iop = [_ds(v) for v in (*direction[:, 0], *direction[:, 1])]
    ps = [_ds(spacing[1]), _ds(spacing[0])]  # row spacing (along j), column spacing (along i)
    paths: list[Path] = []
    with atomic_output_dir(dest) as tmp:
        for n, k in enumerate(slice_order):
            ds = image_header(
                _SOP_CLASS[modality],
                uid(f"sop{k}"),
                modality,
                patient_name=patient_name,
                patient_id=patient_id,
                birth_date=birth_date,
            )
            ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
            ds.SeriesDescription = series_description
            ds.SliceThickness = _ds(spacing[2])
            if modality == "CT":
                ds.KVP = ""
            else:
                ds.ScanningSequence = "RM"
                ds.SequenceVariant = "NONE"
                ds.ScanOptions = ""
                ds.MRAcquisitionType = "3D"
                ds.EchoTime = ""
                ds.RepetitionTime = ""
                ds.EchoTrainLength = ""
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = series_uid
            ds.StudyID = ""
            ds.SeriesNumber = 1
            ds.AcquisitionNumber = 1
            ds.InstanceNumber = n + 1
            pos = origin + k * step
            ds.ImagePositionPatient = [_ds(v) for v in pos]
            ds.ImageOrientationPatient = iop
            ds.FrameOfReferenceUID = frame_uid
            ds.PositionReferenceIndicator = ""
            ds.SliceLocation = _ds(float(pos @ normal))
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows = int(array.shape[1])
            ds.Columns = int(array.shape[0])
            ds.PixelSpacing = ps
            ds.BitsAllocated = 16
            ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = 1
            ds.RescaleIntercept = _ds(inter)
            ds.RescaleSlope = _ds(slope)
            if modality == "CT":
                ds.RescaleType = "HU"
            ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).astype("<i2").tobytes()
            name = f"IM{n + 1:05d}.dcm"
            pydicom.dcmwrite(tmp / name, ds, enforce_file_format=True)
            paths.append(dest / name)
    logger.debug("wrote %d DICOM slices to %s", len(paths), dest)
    return paths
