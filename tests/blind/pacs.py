"""Whole imaging studies as they arrive from a hospital PACS export or a patient CD.

A planning engineer rarely gets one clean series. A CT study holds a scout (topogram),
several reconstructions of one acquisition (soft and bone kernels, thin and thick, axial
plus a coronal MPR), a dose report (structured report) and a dose screen (secondary
capture with burnt-in text); an MR study holds T1, T2-like and venogram series. Every
file carries the patient's identifiers where real exports put them: the patient and
study modules, physicians, descriptions, other patient IDs, comments, private tags of
two vendors, the SR's text content, the DICOMDIR's records, and the file and folder
names of the export.

Layouts (``write_study``):

* ``"pacs"`` - a folder named after the patient, one sub-folder per series named by
  its number and description, files named after the patient and the instance;
* ``"flat"`` - every file of every series in one folder, named by SOP instance UID;
* ``"cd"`` - a DICOMDIR and the File-set's ``PT000000/ST000000/SE00000n/IM00000n``
  (pydicom's ``FileSet``), as burnt on a patient CD.

Compression (``syntax``): explicit little endian, RLE Lossless or JPEG-LS Lossless
(pydicom's encoders), JPEG Lossless process 14 first-order (the usual CD syntax; encoded
through GDCM, which pydicom also decodes it with), or a study whose images claim a syntax
with no decoder in the environment (``"no-decoder"``: HTJ2K Lossless): its fragments are
not real codestreams, which is enough to test that the reader refuses before decoding.

Everything is deterministic: UIDs derive from the study's identity and the series, and
no date or time of the run is written. Nothing here is imported by twinsep.
"""

from __future__ import annotations

import copy
import hashlib
import io
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    HTJ2KLossless,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)
from scipy import ndimage as ndi

from twinsep.io import write_dicom_series
from twinsep.volume import LPS_TO_RAS, Volume

__all__ = [
    "IDENTITY",
    "Identity",
    "Series",
    "ct_study",
    "dose_screen",
    "dose_sr",
    "mr_study",
    "write_study",
    "zip_folder",
]

_PREFIX = "1.2.826.0.1.3680043.8.498.77."
_SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"  # X-Ray Radiation Dose SR Storage
Syntax = Literal["explicit", "rle", "jpegls", "jpeg-lossless", "no-decoder"]
Layout = Literal["pacs", "flat", "cd"]


@dataclass(frozen=True)
class Identity:
    """The patient and visit identifiers written into a study (fictional, distinctive)."""

    family: str = "QUIMBY"
    given: str = "ZELDA"
    patient_id: str = "MRN4471923"
    birth_date: str = "20250314"
    accession: str = "ACC88231X"
    institution: str = "SAINT ELSEWHERE CHILDRENS"
    physician: str = "HOUSEMAN^GREGOR"
    other_id: str = "NHS9051177"

    @property
    def name(self) -> str:
        return f"{self.family}^{self.given}"

    def tokens(self) -> list[bytes]:
        """Byte strings that must not appear in any output unless ``--keep-phi``."""
        words = [
            self.family,
            self.given,
            self.patient_id,
            self.birth_date,
            self.accession,
            "ELSEWHERE",
            "HOUSEMAN",
            self.other_id,
        ]
        out: list[bytes] = []
        for w in words:
            out += [w.encode(), w.lower().encode(), w.title().encode()]
        return out


IDENTITY = Identity()


@dataclass
class Series:
    """One series of a study: its datasets (in instance order) and what it is."""

    number: int
    role: str
    """What the series is, for tests: 'scout', 'soft', 'bone', 'thick', 'mpr', 'sr', 'sc', ...
    """
    datasets: list[Dataset]

    @property
    def uid(self) -> str:
        return str(self.datasets[0].SeriesInstanceUID)


def _digest(vol: Volume) -> str:
    return hashlib.sha256(np.ascontiguousarray(vol.array).tobytes()).hexdigest()


def _uid(*parts: object) -> str:
    return str(generate_uid(prefix=_PREFIX, entropy_srcs=[str(p) for p in parts]))


def _identify(ds: Dataset, ident: Identity, study_uid: str, description: str) -> None:
    """Write the identifiers where exports put them (standard and private tags)."""
    ds.PatientName = ident.name
    ds.PatientID = ident.patient_id
    ds.PatientBirthDate = ident.birth_date
    ds.PatientSex = "F"
    ds.PatientAge = "001Y"
    ds.OtherPatientIDs = [ident.other_id, ident.patient_id]
    ds.PatientAddress = f"12 {ident.family} LANE"
    ds.PatientComments = f"twin of {ident.family} {ident.given}"
    ds.InstitutionName = ident.institution
    ds.InstitutionAddress = f"{ident.institution}, 1 HOSPITAL ROAD"
    ds.ReferringPhysicianName = ident.physician
    ds.PerformingPhysicianName = ident.physician
    ds.OperatorsName = ident.physician
    ds.AccessionNumber = ident.accession
    ds.StudyID = ident.accession[:16]
    ds.StudyDate = "20260102"
    ds.StudyTime = "101500"
    ds.StudyDescription = f"CTA HEAD {ident.family}"
    ds.SeriesDescription = f"{ident.family} {ident.given} {description}"
    ds.StationName = "ELSEWHERE-CT1"
    ds.StudyInstanceUID = study_uid
    # free-text and person-name attributes exports also fill with the name, ID or dates
    # (a red-team pass added them: twinsep reads none, and none may reach an output)
    ds.ProtocolName = f"HEAD {ident.family}"
    ds.ImageComments = f"{ident.given} {ident.family} {ident.patient_id}"
    ds.OtherPatientNames = [f"{ident.family}^Z", ident.name]
    ds.PatientBirthName = ident.name
    ds.PatientMotherBirthName = f"{ident.family}^MOTHER"
    ds.PatientTelephoneNumbers = f"{ident.family} 555 0100"
    ds.AdditionalPatientHistory = f"{ident.family} {ident.given} born {ident.birth_date}"
    ds.RequestingPhysician = ident.physician
    ds.NameOfPhysiciansReadingStudy = ident.physician
    ds.PhysiciansOfRecord = ident.physician
    ds.RequestedProcedureDescription = f"CT {ident.family} {ident.patient_id}"
    ds.PerformedProcedureStepDescription = f"CT {ident.family}"
    ds.IssuerOfPatientID = ident.institution
    item = Dataset()
    item.AccessionNumber = ident.accession
    item.RequestedProcedureID = ident.patient_id
    ds.RequestAttributesSequence = DicomSequence([item])
    # Siemens CSA-like and GE-like private blocks holding the name and ID
    ds.private_block(0x0029, "SIEMENS CSA HEADER", create=True).add_new(
        0x10, "OB", f"PatientName={ident.name};ID={ident.patient_id}".encode().ljust(64, b"\0")
    )
    ds.private_block(0x0009, "GEMS_IDEN_01", create=True).add_new(
        0x02, "LO", f"{ident.family} {ident.given}"
    )


def _from_volume(
    vol: Volume,
    *,
    modality: str,
    study_uid: str,
    frame_uid: str,
    number: int,
    description: str,
    image_type: Sequence[str],
    kernel: str | None,
    ident: Identity,
    tmp: Path,
) -> list[Dataset]:
    """A series of ``vol`` (written by twinsep's own writer, then dressed as an export)."""
    tmp.mkdir(parents=True, exist_ok=True)
    folder = tmp / f"s{number}"
    paths = write_dicom_series(vol, folder, modality=modality)
    out: list[Dataset] = []
    series_uid = _uid(study_uid, "series", number)
    for n, p in enumerate(paths):
        ds = pydicom.dcmread(p)
        _identify(ds, ident, study_uid, description)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = _uid(series_uid, n)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesNumber = number
        ds.InstanceNumber = n + 1
        ds.ImageType = list(image_type)
        if kernel is not None:
            ds.ConvolutionKernel = kernel
        out.append(ds)
    return out


def _coronal(vol: Volume) -> Volume:
    """The same voxels as a coronal stack (slices of constant j), for an axis-aligned volume.

    ``B[i, m, j] = A[i, j, nk - 1 - m]``: rows run along A's i, columns from the top
    slice down, slices along A's j. World positions are unchanged.
    """
    a = vol.array
    nk = a.shape[2]
    b = np.ascontiguousarray(a[:, :, ::-1].transpose(0, 2, 1))
    aff = np.eye(4)
    aff[:3, 0] = vol.affine[:3, 0]
    aff[:3, 1] = -vol.affine[:3, 2]
    aff[:3, 2] = vol.affine[:3, 1]
    aff[:3, 3] = vol.affine[:3, 3] + (nk - 1) * vol.affine[:3, 2]
    return Volume(b, aff)


def _thick(vol: Volume, factor: int = 2) -> Volume:
    """Slabs of ``factor`` slices averaged (a thick reconstruction on the same FOV)."""
    a = vol.array.astype(np.float32)
    nk = (a.shape[2] // factor) * factor
    slab = a[:, :, :nk].reshape(a.shape[0], a.shape[1], nk // factor, factor).mean(axis=3)
    aff = vol.affine.copy()
    aff[:3, 3] = aff[:3, 3] + aff[:3, 2] * (factor - 1) / 2.0
    aff[:3, 2] = aff[:3, 2] * factor
    return Volume(np.round(slab).astype(np.int16), aff)


def _sharpened(vol: Volume) -> Volume:
    """A bone-kernel look: the same grid with edges enhanced (unsharp mask)."""
    a = vol.array.astype(np.float32)
    sharp = a + 0.8 * (a - ndi.gaussian_filter(a, 1.0))
    return Volume(np.clip(np.round(sharp), -1024, 3071).astype(np.int16), vol.affine)


def _localizers(
    vol: Volume, *, study_uid: str, frame_uid: str, series_uid: str, number: int, ident: Identity
) -> list[Dataset]:
    """An AP and a lateral topogram (projections of the volume) as two CT LOCALIZER images."""
    a = vol.array.astype(np.float32)
    lps = LPS_TO_RAS @ vol.affine
    sp = np.abs(np.diag(vol.affine)[:3])
    out: list[Dataset] = []
    # lateral: project along i (x); image rows along y (P), columns down z
    views = (
        ("LATERAL", a.mean(axis=0), [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], (sp[2], sp[1])),
        ("AP", a.mean(axis=1), [1.0, 0.0, 0.0, 0.0, 0.0, -1.0], (sp[2], sp[0])),
    )
    top = lps[:3, 3] + lps[:3, 2] * (a.shape[2] - 1)
    for n, (view, proj, iop, ps) in enumerate(views):
        img = np.round(proj[:, ::-1].T).astype(np.int16)  # rows from the top down
        ds = _base(_CT, _uid(series_uid, "loc", n), "CT")
        _identify(ds, ident, study_uid, f"TOPOGRAM {view}")
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesNumber = number
        ds.InstanceNumber = n + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
        ds.ImageOrientationPatient = iop
        ds.ImagePositionPatient = [float(v) for v in top]
        ds.PixelSpacing = [float(ps[0]), float(ps[1])]
        ds.SliceThickness = 0
        _pixels(ds, img)
        out.append(ds)
    return out


_CT = "1.2.840.10008.5.1.4.1.1.2"


def _base(sop_class: str, sop_uid: str, modality: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = _PREFIX + "1"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.Modality = modality
    return ds


def _pixels(ds: Dataset, img: np.ndarray, *, rescale: bool = True) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(img.shape[0]), int(img.shape[1])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    if rescale:
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
    ds.PixelData = np.ascontiguousarray(img).astype("<i2").tobytes()


def _single(
    sop_class: str, modality: str, study_uid: str, number: int, ident: Identity, description: str
) -> Dataset:
    """The one object of series ``number`` (instance 1), identified as ``ident``."""
    series_uid = _uid(study_uid, "series", number)
    ds = _base(sop_class, _uid(series_uid, 0), modality)
    _identify(ds, ident, study_uid, description)
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = number
    ds.InstanceNumber = 1
    return ds


def dose_sr(study_uid: str, number: int, ident: Identity) -> Dataset:
    """A CT dose report (X-Ray Radiation Dose SR) whose content names the patient."""
    ds = _single(_DOSE_SR, "SR", study_uid, number, ident, "DOSE REPORT")
    ds.ContentDate = "20260102"
    ds.ContentTime = "101700"
    ds.ValueType = "CONTAINER"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    concept = Dataset()
    concept.CodeValue = "113701"
    concept.CodingSchemeDesignator = "DCM"
    concept.CodeMeaning = "X-Ray Radiation Dose Report"
    ds.ConceptNameCodeSequence = DicomSequence([concept])
    text = Dataset()
    text.RelationshipType = "CONTAINS"
    text.ValueType = "TEXT"
    text.TextValue = f"Patient {ident.name} ({ident.patient_id}), DLP 312 mGy.cm"
    ds.ContentSequence = DicomSequence([text])
    return ds


def dose_screen(study_uid: str, number: int, ident: Identity) -> Dataset:
    """A dose screen: an RGB secondary capture with the name burnt into the pixels."""
    ds = _single(_SC, "CT", study_uid, number, ident, "PATIENT PROTOCOL")
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.ImageType = ["DERIVED", "SECONDARY", "OTHER"]
    img = np.zeros((48, 64, 3), dtype=np.uint8)
    img[8:16, 4:60] = 255  # the "text"
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "RGB"
    ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = 48, 64
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = img.tobytes()
    return ds


def ct_study(
    ct: Volume,
    tmp: Path,
    *,
    ident: Identity = IDENTITY,
    scout_in_series: bool = False,
    extra: Sequence[str] = ("bone", "thick", "mpr"),
) -> list[Series]:
    """A CT study of ``ct`` (int16 HU, axis-aligned RAS affine).

    Series 1 topogram (2 images), 2 soft-kernel thin axial (``ct`` itself), then those
    of ``extra``: 3 bone kernel, 4 thick axial, 5 coronal MPR; 501 dose report (SR),
    502 dose screen (RGB secondary capture). With ``scout_in_series`` the topogram's
    images carry the soft-kernel series' UID (as some scanners export them).
    """
    # one study per patient and volume: two studies never share UIDs
    study_uid = _uid(ident.patient_id, ident.accession, "ct-study", _digest(ct))
    frame_uid = _uid(study_uid, "frame")
    common = {"study_uid": study_uid, "frame_uid": frame_uid, "ident": ident, "tmp": tmp}
    series = [
        Series(
            2,
            "soft",
            _from_volume(
                ct,
                modality="CT",
                number=2,
                description="AX 1.0 H31s",
                image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
                kernel="H31s",
                **common,  # type: ignore[arg-type]
            ),
        )
    ]
    makers = {
        "bone": (3, _sharpened(ct), "AX 1.0 H70h", ("ORIGINAL", "PRIMARY", "AXIAL"), "H70h"),
        "thick": (4, _thick(ct), "AX 2.0 H31s", ("DERIVED", "SECONDARY", "AXIAL"), "H31s"),
        "mpr": (5, _coronal(ct), "COR MPR H31s", ("DERIVED", "SECONDARY", "MPR"), "H31s"),
    }
    for role in extra:
        number, vol, desc, itype, kernel = makers[role]
        dss = _from_volume(
            vol,
            modality="CT",
            number=number,
            description=desc,
            image_type=itype,
            kernel=kernel,
            **common,  # type: ignore[arg-type]
        )
        series.append(Series(number, role, dss))
    scout_uid = series[0].uid if scout_in_series else _uid(study_uid, "series", 1)
    scouts = _localizers(
        ct, study_uid=study_uid, frame_uid=frame_uid, series_uid=scout_uid, number=1, ident=ident
    )
    if scout_in_series:
        series[0].datasets.extend(scouts)
    else:
        series.insert(0, Series(1, "scout", scouts))
    series.append(Series(501, "sr", [dose_sr(study_uid, 501, ident)]))
    series.append(Series(502, "sc", [dose_screen(study_uid, 502, ident)]))
    return series


def mr_study(images: dict[str, Volume], tmp: Path, *, ident: Identity = IDENTITY) -> list[Series]:
    """An MR study: one series per named image (e.g. ``{"t1": ..., "venogram": ...}``)."""
    study_uid = _uid(
        ident.patient_id, ident.accession, "mr-study", *(_digest(v) for v in images.values())
    )
    frame_uid = _uid(study_uid, "frame")
    out: list[Series] = []
    for n, (role, vol) in enumerate(images.items()):
        number = 100 * (n + 1)
        dss = _from_volume(
            vol,
            modality="MR",
            study_uid=study_uid,
            frame_uid=frame_uid,
            number=number,
            description=role.upper(),
            image_type=("ORIGINAL", "PRIMARY", "M", "ND"),
            kernel=None,
            ident=ident,
            tmp=tmp,
        )
        for ds in dss:  # what tells the series apart without their descriptions
            ds.SequenceName, tr, te, agent = _MR_SEQUENCES.get(role, ("*se2d1", 500, 15, ""))
            ds.RepetitionTime, ds.EchoTime = tr, te
            if agent:
                ds.ContrastBolusAgent = agent
        out.append(Series(number, role, dss))
    return out


#: Sequence name, TR and TE (ms), contrast agent of the MR series ``mr_study`` writes.
_MR_SEQUENCES = {
    "t1": ("*tfl3d1_16ns", 2000, 2.9, ""),
    "t2": ("*spc_314ns", 3200, 410, ""),
    "venogram": ("*fl3d1", 5.1, 2.2, "GADOBUTROL"),
    "tof": ("*fl3d1r_t70", 22, 3.6, ""),
}


def _encode(ds: Dataset, syntax: Syntax) -> Dataset:
    if syntax == "explicit" or "PixelData" not in ds or ds.SamplesPerPixel != 1:
        return ds
    if syntax == "rle":
        ds.compress(RLELossless)
    elif syntax == "jpegls":
        ds.compress(JPEGLSLossless)
    elif syntax == "jpeg-lossless":
        return _jpeg_lossless(ds)
    else:  # a syntax without a decoder here: the fragments are not codestreams (never decoded)
        frame = hashlib.sha256(bytes(ds.PixelData)).digest()
        ds.PixelData = encapsulate([b"\xff\xd8" + frame + b"\xff\xd9"])
        ds["PixelData"].VR = "OB"
        ds.file_meta.TransferSyntaxUID = HTJ2KLossless
    return ds


def _jpeg_lossless(ds: Dataset) -> Dataset:
    """``ds`` re-encoded as JPEG Lossless process 14, selection value 1, by GDCM."""
    import gdcm

    return gdcm_encode(ds, gdcm.TransferSyntax.JPEGLosslessProcess14_1)


def gdcm_encode(ds: Dataset, syntax: int) -> Dataset:
    """``ds`` re-encoded by GDCM in ``syntax`` (a ``gdcm.TransferSyntax`` constant).

    pydicom has no encoder for the JPEG syntaxes; GDCM's ``ImageChangeTransferSyntax``
    works on files, so the dataset goes through a temporary folder and is read back.
    """
    import gdcm

    with tempfile.TemporaryDirectory(prefix="twinsep-pacs-") as tmp:
        raw, enc = Path(tmp) / "raw.dcm", Path(tmp) / "enc.dcm"
        ds.save_as(raw, enforce_file_format=True)
        reader = gdcm.ImageReader()
        reader.SetFileName(str(raw))
        if not reader.Read():
            raise RuntimeError("GDCM cannot read the uncompressed image")
        change = gdcm.ImageChangeTransferSyntax()
        change.SetTransferSyntax(gdcm.TransferSyntax(syntax))
        change.SetInput(reader.GetImage())
        if not change.Change():
            raise RuntimeError(f"GDCM cannot encode the image as {gdcm.TransferSyntax(syntax)}")
        writer = gdcm.ImageWriter()
        writer.SetFileName(str(enc))
        writer.SetFile(reader.GetFile())
        writer.SetImage(change.GetOutput())
        if not writer.Write():
            raise RuntimeError("GDCM cannot write the encoded image")
        return pydicom.dcmread(enc)


def write_study(
    series: Sequence[Series],
    root: Path,
    *,
    layout: Layout = "pacs",
    syntax: Syntax = "explicit",
    ident: Identity = IDENTITY,
) -> Path:
    """Write the study under ``root``; returns the folder a user would give to twinsep.

    ``"pacs"``: ``root/<FAMILY>_<GIVEN>_<ID>/<number>_<description>/<FAMILY>_<n>.dcm``;
    ``"flat"``: ``root/<FAMILY>_<GIVEN>/<SOPInstanceUID>.dcm``; ``"cd"``:
    ``root/CD/DICOMDIR`` + ``root/CD/PT000000/...`` (the CD's root is returned).
    """
    root.mkdir(parents=True, exist_ok=True)
    if layout == "cd":
        from pydicom.fileset import FileSet

        fs = FileSet()
        for s in series:
            for ds in s.datasets:
                fs.add(_encode(copy.deepcopy(ds), syntax))
        top = root / "CD"
        fs.write(top)
        return top
    top = root / (
        f"{ident.family}_{ident.given}_{ident.patient_id}"
        if layout == "pacs"
        else f"{ident.family}_{ident.given}"
    )
    for s in series:
        desc = str(s.datasets[0].get("SeriesDescription", s.role)).replace(" ", "_")
        folder = top / f"{s.number:03d}_{desc}" if layout == "pacs" else top
        folder.mkdir(parents=True, exist_ok=True)
        for n, ds in enumerate(s.datasets):
            name = (
                f"{ident.family}_{s.number}_{n + 1:04d}.dcm"
                if layout == "pacs"
                else f"{ds.SOPInstanceUID}.dcm"
            )
            _encode(copy.deepcopy(ds), syntax).save_as(folder / name, enforce_file_format=True)
    return top


def zip_folder(folder: Path, dest: Path) -> Path:
    """The folder as a zip archive (what a PACS web export downloads), deterministic."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(q for q in folder.rglob("*") if q.is_file()):
            info = zipfile.ZipInfo(str(p.relative_to(folder.parent)), (1980, 1, 1, 0, 0, 0))
            zf.writestr(info, p.read_bytes(), zipfile.ZIP_DEFLATED)
    dest.write_bytes(buf.getvalue())
    return dest
