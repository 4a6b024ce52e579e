"""DICOM-SEG (highdicom) of the twin x tissue segments, when the input was DICOM.

Each source slice gets one frame per segment; frames are taken from the label volume at
the voxel positions of that slice (world mm through both affines), so the SEG lines up
with the source series whatever its slice order. The patient module copied from the
source is de-identified unless ``keep_phi``: name, ID, birth date, sex, age, institution,
accession number and referring physician are replaced or removed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from twinsep import __version__
from twinsep.interop.slicer import Segment, combined_labels, segments
from twinsep.io.atomic import atomic_output
from twinsep.labels import hex_to_rgb
from twinsep.volume import LPS_TO_RAS, Volume, world_to_voxel

logger = logging.getLogger(__name__)

#: Header attributes that identify a patient; blanked in the SEG unless keep_phi.
PHI_ATTRIBUTES: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientAddress",
    "InstitutionName",
    "InstitutionAddress",
    "AccessionNumber",
    "ReferringPhysicianName",
    "StudyID",
    "PerformingPhysicianName",
    "OperatorsName",
    "IssuerOfPatientID",
)


def series_datasets(folder: Path, series_uid_hash: str | None) -> list[Dataset]:
    """Headers (no pixel data) of the series in ``folder`` whose UID hashes to the given
    prefix (any series when None), in file-name order."""
    out: list[Dataset] = []
    for p in sorted(q for q in Path(folder).rglob("*") if q.is_file()):
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - non-DICOM files are skipped, as on load
            continue
        uid = str(getattr(ds, "SeriesInstanceUID", ""))
        if "ImagePositionPatient" not in ds or not uid:
            continue
        if series_uid_hash and not hashlib.sha256(uid.encode()).hexdigest().startswith(
            series_uid_hash
        ):
            continue
        out.append(ds)
    return out


def _deidentify(ds: Dataset, pseudo_id: str) -> Dataset:
    d = ds.copy()
    for name in PHI_ATTRIBUTES:
        if name in d:
            if name == "PatientName":
                d.PatientName = "Anonymous^"
            elif name == "PatientID":
                d.PatientID = pseudo_id
            else:
                d[name].value = ""
    return d


def _frames(labels: np.ndarray, affine: np.ndarray, ds: Dataset) -> np.ndarray:
    """The combined label values sampled at every pixel of one source slice."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    iop = np.asarray(ds.ImageOrientationPatient, dtype=float)
    ipp = np.asarray(ds.ImagePositionPatient, dtype=float)
    dr, dc = (float(v) for v in ds.PixelSpacing)  # row spacing, column spacing
    r, c = np.mgrid[0:rows, 0:cols]
    lps = ipp + c[..., None] * dc * iop[:3] + r[..., None] * dr * iop[3:]
    ras = lps * np.array([-1.0, -1.0, 1.0])
    ijk = np.rint(world_to_voxel(affine, ras.reshape(-1, 3))).astype(np.int64)
    inside = np.all((ijk >= 0) & (ijk < np.array(labels.shape)), axis=1)
    out = np.zeros(rows * cols, dtype=labels.dtype)
    ii = ijk[inside]
    out[inside] = labels[ii[:, 0], ii[:, 1], ii[:, 2]]
    return out.reshape(rows, cols)


def write_dicom_seg(
    labels: Volume,
    twins: Volume,
    sources: Sequence[Dataset],
    path: Path,
    *,
    colour_a: str,
    colour_b: str,
    keep_phi: bool = False,
) -> list[Segment]:
    """Write a binary DICOM-SEG of the twin x tissue segments, atomically.

    Parameters
    ----------
    labels, twins : Volume
        Tissue and twin label maps on the grid of the loaded series.
    sources : sequence of Dataset
        The source series' headers (see :func:`series_datasets`).
    path : Path
        Output ``seg.dcm``.
    colour_a, colour_b : str
        Code colours; each segment's recommended display colour is its twin's shade.
    keep_phi : bool
        Keep the source patient identifiers (off by default).

    Returns
    -------
    list of Segment
        The segments present in the SEG (empty segments are left out).
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if not sources:
        raise ValueError("no source DICOM slices to reference")
    combined = combined_labels(labels.array, twins.array)
    present = [s for s in segments(colour_a, colour_b) if (combined == s.label_value).any()]
    if not present:
        raise ValueError("no labelled voxels to write as DICOM-SEG")
    pseudo = (
        "TWINSEP-"
        + hashlib.sha256(str(getattr(sources[0], "PatientID", "")).encode()).hexdigest()[:12]
    )
    srcs = list(sources) if keep_phi else [_deidentify(d, pseudo) for d in sources]
    pixel = np.zeros((len(srcs), int(srcs[0].Rows), int(srcs[0].Columns), len(present)), dtype=bool)
    for f, ds in enumerate(srcs):
        frame = _frames(combined, labels.affine, ds)
        for s, seg in enumerate(present):
            pixel[f, :, :, s] = frame == seg.label_value
    tissue_codes = {
        "soft_tissue": codes.SCT.SoftTissue
        if hasattr(codes.SCT, "SoftTissue")
        else codes.SCT.Tissue,
        "bone": codes.SCT.Bone,
        "brain": codes.SCT.Brain,
        "csf": codes.SCT.CerebrospinalFluid
        if hasattr(codes.SCT, "CerebrospinalFluid")
        else codes.SCT.Tissue,
        "vessel": codes.SCT.BloodVessel if hasattr(codes.SCT, "BloodVessel") else codes.SCT.Tissue,
    }
    algo = hd.AlgorithmIdentificationSequence(
        name="twinsep",
        version=__version__,
        family=codes.cid7162.ArtificialIntelligence
        if hasattr(codes.cid7162, "ArtificialIntelligence")
        else codes.DCM.ProcessingAlgorithm,
    )
    descriptions = []
    for n, seg in enumerate(present, start=1):
        lab = hd.color.CIELabColor(*_rgb_to_lab(seg.colour_hex))
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=n,
                segment_label=seg.name,
                segmented_property_category=codes.SCT.Tissue,
                segmented_property_type=tissue_codes[seg.tissue],
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=algo,
                display_color=lab,
            )
        )
    uid_seed = hashlib.sha256(
        b"".join(str(d.SOPInstanceUID).encode() for d in srcs) + combined.tobytes()
    ).hexdigest()
    seg_ds = hd.seg.Segmentation(
        source_images=srcs,
        pixel_array=pixel,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=pydicom.uid.generate_uid(entropy_srcs=[uid_seed, "series"]),
        series_number=9001,
        sop_instance_uid=pydicom.uid.generate_uid(entropy_srcs=[uid_seed, "sop"]),
        instance_number=1,
        manufacturer="twinsep",
        manufacturer_model_name="twinsep",
        software_versions=__version__,
        device_serial_number="0",
        series_description="twinsep twin x tissue",
        omit_empty_frames=False,
    )
    if not keep_phi:
        for name in ("ContentDate", "ContentTime", "SeriesDate", "SeriesTime"):
            if name in seg_ds:
                seg_ds[name].value = ""
    with atomic_output(Path(path)) as tmp:
        seg_ds.save_as(tmp, enforce_file_format=True)
    return present


def _rgb_to_lab(hex_colour: str) -> tuple[float, float, float]:
    """sRGB ``#RRGGBB`` -> CIE L*a*b* (D65), as DICOM display colours want."""
    rgb = np.asarray(hex_to_rgb(hex_colour), dtype=float) / 255.0
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = (116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2]))
    return (
        float(np.clip(lab[0], 0, 100)),
        float(np.clip(lab[1], -128, 127)),
        float(np.clip(lab[2], -128, 127)),
    )


__all__ = ["LPS_TO_RAS", "series_datasets", "write_dicom_seg"]
