"""DICOM-SEG (highdicom) of the twin x tissue segments, when the input was DICOM.

Two kinds of source are referenced:

* a classic series (one file per slice): each source slice gets one frame per segment;
* one multi-frame (Enhanced CT/MR) file: each distinct plane of its frames gets one
  frame per segment, placed from the file's functional groups (the same reading as the
  loader, :func:`twinsep.io.enhanced.frame_planes`) and referenced to the source frame(s)
  at that plane, whatever the frame order in the file.

Frames are taken from the label volume at the voxel positions of the source plane
(world mm through both affines), so the SEG lines up with the source whatever its slice
order. Unless ``keep_phi``, highdicom sees only an allow-list of each source header
(UIDs, modality, geometry: :data:`SOURCE_ATTRIBUTES`) with the Patient and Study
module's Type 2 attributes emptied, a pseudonymous patient ID and new UIDs in place of
the source's study, series, instance and frame-of-reference UIDs (:data:`SOURCE_UIDS`,
replaced consistently within the SEG, as DICOM PS3.15's confidentiality profile
replaces UIDs), so nothing of the source's patient, study or equipment but the make of
the scanner reaches the SEG; its own time stamps are left out. The pseudonym and every
UID are derived from the source UIDs and the labels, never from an identifier alone, so
one plan gives the same bytes every run and no value can be traced back by hashing
candidate IDs. With ``keep_phi`` the SEG keeps the source's patient module and
references the source by its own UIDs (a SEG to file in the hospital's PACS beside the
CT) and records when it was written.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from twinsep import __version__
from twinsep.errors import ScanError
from twinsep.interop.slicer import Segment, combined_labels, segments
from twinsep.io.atomic import atomic_output
from twinsep.io.enhanced import FramePlane, frame_planes
from twinsep.labels import hex_to_rgb
from twinsep.volume import LPS_TO_RAS, Volume, world_to_voxel

logger = logging.getLogger(__name__)

#: A source plane lies on another when their positions are closer than this (mm): the
#: tolerance highdicom uses to match SEG planes to source frames, far below any voxel.
SAME_PLANE_MM: float = 1e-3

#: Orientation cosines and pixel spacings of the frames of one multi-frame source must
#: agree to this (cosine units, and mm): one SEG frame set has one orientation and one
#: pixel grid; the loader applies the same rule to the frames it stacks.
FRAME_AGREEMENT: float = 1e-4


class SourceGoneError(FileNotFoundError):
    """The source DICOM series is no longer where the plan read it."""


class SourceUnusableError(ValueError):
    """The source DICOM is there but a SEG cannot reference it (the reason says why)."""


class EmptySegmentationError(ValueError):
    """No voxel carries both a tissue and a twin label: a SEG would hold no segment."""


def is_multiframe(ds: Dataset) -> bool:
    """Whether a header is a multi-frame image placed by functional groups (Enhanced CT/MR,
    legacy-converted enhanced...), as opposed to one slice of a classic series."""
    if "SegmentSequence" in ds:  # a SEG is never a source image
        return False
    return (
        "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds
    ) and "NumberOfFrames" in ds


def series_datasets(folder: Path, series_uid_hash: str | None) -> list[Dataset]:
    """Headers (no pixel data) of the series in ``folder`` whose UID hashes to the given
    prefix (any series when None), in file-name order: slices with a top-level
    ImagePositionPatient and multi-frame images (:func:`is_multiframe`), not localizers
    and not files without Rows/Columns (a structured report filed in the series), which
    the loader leaves out of the volume too."""
    out: list[Dataset] = []
    for p in sorted(q for q in Path(folder).rglob("*") if q.is_file()):
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True)
        except Exception:  # noqa: BLE001 - non-DICOM files are skipped, as on load
            continue
        uid = str(getattr(ds, "SeriesInstanceUID", ""))
        if not uid or ("ImagePositionPatient" not in ds and not is_multiframe(ds)):
            continue
        if "Rows" not in ds or "Columns" not in ds:
            continue  # not an image (a report in the series): the loader left it out too
        if "LOCALIZER" in str(ds.get("ImageType", "")).upper():
            continue  # a scout exported inside the series: left out of the volume on load
        if series_uid_hash and not hashlib.sha256(uid.encode()).hexdigest().startswith(
            series_uid_hash
        ):
            continue
        out.append(ds)
    return out


def find_sources(scan_path: Path, series_uid_hash: str | None) -> list[Dataset]:
    """The source headers a SEG of the plan of ``scan_path`` references.

    Parameters
    ----------
    scan_path : Path
        The scan the plan was made from: a DICOM folder or one file of it.
    series_uid_hash : str or None
        Prefix of the sha256 of the loaded SeriesInstanceUID (``plan.json``).

    Returns
    -------
    list of Dataset
        The classic series' slices, or the one multi-frame file.

    Raises
    ------
    SourceGoneError
        ``scan_path`` is gone, or no file of that series is left there.
    SourceUnusableError
        The series mixes single- and multi-frame files, or has several multi-frame
        files, and the scan was given as a folder (which one was loaded is unknown).
    """
    given = Path(scan_path)
    if not given.exists():
        raise SourceGoneError(f"the source DICOM series is no longer at {given.name}")
    folder = given.parent if given.is_file() else given
    found = series_datasets(folder, series_uid_hash)
    if not found:
        raise SourceGoneError(
            f"the source DICOM series is no longer at {given.name} (no file of it is left)"
        )
    multi = [d for d in found if is_multiframe(d)]
    if given.is_file():
        named = [d for d in found if Path(str(d.filename)).resolve() == given.resolve()]
        if named and is_multiframe(named[0]):
            return named
        if named:
            return one_per_position([d for d in found if not is_multiframe(d)], given)
    if not multi:
        return one_per_position(found, None)
    if len(multi) == len(found) == 1:
        return multi
    raise SourceUnusableError(
        f"its series in {given.name} holds {len(multi)} multi-frame and "
        f"{len(found) - len(multi)} single-frame files; plan the multi-frame file itself"
    )


#: Two slices closer than this along the normal (mm) are one plane: the loader's
#: ``LoadParams.duplicate_position_tol_mm``.
_SAME_PLANE_MM = 0.01


def one_per_position(slices: list[Dataset], prefer: Path | None) -> list[Dataset]:
    """One slice per plane: the loader keeps one of the identical copies an export holds
    at one position (docs/io.md "Duplicates") and refuses different images there, so
    the others are copies; highdicom refuses a source with two slices on one plane
    ("Plane positions must not contain duplicates"), which left a plan of such a
    series without ``seg.dcm``. The file the user named is kept, else the first in
    file-name order. Slices without usable geometry are kept as they are."""
    if len(slices) < 2:
        return slices
    try:
        iop = np.asarray(slices[0].ImageOrientationPatient, dtype=float)
        normal = np.cross(iop[:3], iop[3:])
        pos = [float(np.asarray(d.ImagePositionPatient, dtype=float) @ normal) for d in slices]
    except (AttributeError, TypeError, ValueError):
        return slices
    named = None if prefer is None else prefer.resolve()
    groups: list[list[int]] = []
    for i in sorted(range(len(slices)), key=lambda i: pos[i]):
        if groups and pos[i] - pos[groups[-1][0]] < _SAME_PLANE_MM:
            groups[-1].append(i)
        else:
            groups.append([i])
    if len(groups) == len(slices):
        return slices
    kept = [
        min(g, key=lambda i: (Path(str(slices[i].filename)).resolve() != named, i)) for g in groups
    ]
    return [slices[i] for i in sorted(kept)]


#: What the SEG may take from a source header without ``keep_phi``: the references
#: (UIDs), the modality, the geometry highdicom places the frames with, and the make of
#: the scanner (its acquisition item in ContributingEquipmentSequence). highdicom
#: copies the source's whole Patient and Study modules (and its acquisition equipment,
#: institution included) into the SEG; an allow-list rather than a list of identifying
#: attributes, because those are open-ended (consulting physician, patient comments,
#: other-IDs sequences, study description with a name in it...).
SOURCE_ATTRIBUTES: tuple[str, ...] = (
    "SpecificCharacterSet",
    "SOPClassUID",
    "SOPInstanceUID",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "FrameOfReferenceUID",
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "SoftwareVersions",
    "Rows",
    "Columns",
    "PixelSpacing",
    "ImageOrientationPatient",
    "ImagePositionPatient",
    "SliceThickness",
    "SpacingBetweenSlices",
    "NumberOfFrames",
    "SharedFunctionalGroupsSequence",
    "PerFrameFunctionalGroupsSequence",
)

#: Type 2 attributes of the Patient, General Study and Frame of Reference modules that a
#: SEG carries, and their values without ``keep_phi`` (the patient ID becomes a pseudonym).
ANONYMOUS_VALUES: dict[str, str] = {
    "PatientName": "Anonymous^",
    "PatientBirthDate": "",
    "PatientSex": "",
    "StudyDate": "",
    "StudyTime": "",
    "ReferringPhysicianName": "",
    "StudyID": "",
    "AccessionNumber": "",
    # free text of the Frame of Reference module (Type 2), which the new frame-of-reference
    # UID no longer ties to the source (session 27's sweep found it copied as written)
    "PositionReferenceIndicator": "",
}


#: The source UIDs a SEG made without ``keep_phi`` carries as new UIDs
#: (:func:`pseudonymous_uid`): DICOM UIDs are identifiers (PS3.15 Table E.1-1, action U)
#: - scanners build them from their serial number and the acquisition time, and they
#: link the SEG to the patient's study in the hospital's archive. The SEG's
#: references stay consistent (every frame points at the replaced instance UID).
SOURCE_UIDS: tuple[str, ...] = (
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
)


def pseudonymous_uid(uid: str, seed: str) -> str:
    """A new UID standing for the source ``uid`` in a SEG written without ``keep_phi``.

    Parameters
    ----------
    uid : str
        The source UID.
    seed : str
        The SEG's seed (a hash of the source instance UIDs and the label voxels): the
        same plan maps the same UID to the same new one, and the new UID cannot be
        recomputed from the source UID alone.

    Returns
    -------
    str
        A UID under pydicom's root, a hash of ``seed`` and ``uid``.
    """
    return str(pydicom.uid.generate_uid(entropy_srcs=[seed, "source-uid", str(uid)]))


def _anonymous_source(ds: Dataset, pseudo_id: str, seed: str) -> Dataset:
    """The part of a source header the SEG may see: :data:`SOURCE_ATTRIBUTES` (elements
    shared with ``ds``, which is not changed), :data:`ANONYMOUS_VALUES` with the
    pseudonymous ``PatientID``, and new UIDs for :data:`SOURCE_UIDS`; everything else
    highdicom would copy is left behind."""
    d = Dataset({ds[name].tag: ds[name] for name in SOURCE_ATTRIBUTES if name in ds})
    for name, value in {**ANONYMOUS_VALUES, "PatientID": pseudo_id}.items():
        setattr(d, name, value)
    for name in SOURCE_UIDS:
        if name in ds:  # a new element: the source's own stays as it was
            d[ds[name].tag] = DataElement(
                ds[name].tag, "UI", pseudonymous_uid(ds[name].value, seed)
            )
    if hasattr(ds, "file_meta"):
        d.file_meta = ds.file_meta
    return d


def _header_copy(ds: Dataset) -> Dataset:
    """A dataset with its own element table (elements shared until replaced), so that
    replacing a top-level element leaves ``ds`` as it was."""
    d = Dataset({tag: ds[tag] for tag in ds.keys()})
    if hasattr(ds, "file_meta"):
        d.file_meta = ds.file_meta
    return d


def _plane_labels(
    labels: np.ndarray,
    affine: np.ndarray,
    position_lps_mm: np.ndarray,
    orientation: np.ndarray,
    spacing_mm: tuple[float, float],
    shape: tuple[int, int],
) -> np.ndarray:
    """The label values at every pixel of one source plane (``(rows, cols)``).

    ``orientation`` is ImageOrientationPatient (LPS cosines along a row, then down a
    column), ``spacing_mm`` PixelSpacing (between rows, then columns); voxels outside
    the label grid read 0.
    """
    rows, cols = shape
    dr, dc = spacing_mm  # row spacing, column spacing
    lps_to_ras = np.array([-1.0, -1.0, 1.0])
    # the plane is affine in (row, column): map its first pixel and one step along a row
    # and down a column to voxel indices, then broadcast (3 points instead of rows x cols)
    corner = world_to_voxel(affine, (np.asarray(position_lps_mm) * lps_to_ras)[None])[0]
    inv3 = np.linalg.inv(np.asarray(affine, dtype=np.float64))[:3, :3]
    step_c = inv3 @ (dc * np.asarray(orientation[:3]) * lps_to_ras)
    step_r = inv3 @ (dr * np.asarray(orientation[3:]) * lps_to_ras)
    r = np.arange(rows, dtype=np.float64)[:, None]
    c = np.arange(cols, dtype=np.float64)[None, :]
    inside = np.ones((rows, cols), dtype=bool)
    idx = []
    for k in range(3):
        ax = np.rint(corner[k] + r * step_r[k] + c * step_c[k]).astype(np.int64)
        inside &= (ax >= 0) & (ax < labels.shape[k])
        idx.append(ax)
    out = np.zeros((rows, cols), dtype=labels.dtype)
    out[inside] = labels[idx[0][inside], idx[1][inside], idx[2][inside]]
    return out


def _frames(labels: np.ndarray, affine: np.ndarray, ds: Dataset) -> np.ndarray:
    """The combined label values sampled at every pixel of one source slice."""
    dr, dc = (float(v) for v in ds.PixelSpacing)
    return _plane_labels(
        labels,
        affine,
        np.asarray(ds.ImagePositionPatient, dtype=float),
        np.asarray(ds.ImageOrientationPatient, dtype=float),
        (dr, dc),
        (int(ds.Rows), int(ds.Columns)),
    )


def _distinct_planes(src: Dataset) -> list[FramePlane]:
    """The frames of a multi-frame source, one per distinct position (first in file order);
    refuses frames that differ in orientation or pixel spacing."""
    path = Path(str(getattr(src, "filename", None) or "source DICOM"))
    try:
        planes = frame_planes(src, path)
    except ScanError as exc:
        raise SourceUnusableError(f"{path.name}: {exc.reason}") from None
    iop = np.asarray(planes[0].orientation)
    spacing = np.asarray(planes[0].pixel_spacing_mm)
    for pl in planes[1:]:
        if not np.allclose(pl.orientation, iop, atol=FRAME_AGREEMENT, rtol=0.0):
            raise SourceUnusableError(
                f"{path.name}: frame {pl.frame_number} has another orientation than frame 1"
            )
        if not np.allclose(pl.pixel_spacing_mm, spacing, atol=FRAME_AGREEMENT, rtol=0.0):
            raise SourceUnusableError(
                f"{path.name}: frame {pl.frame_number} has another pixel spacing than frame 1"
            )
    # copies of a plane sit next to each other once sorted along the normal (n log n,
    # not an n x n distance table: whole-body enhanced CTs have thousands of frames)
    pos = np.array([pl.position_lps_mm for pl in planes])
    order = np.argsort(pos @ np.cross(iop[:3], iop[3:]), kind="stable")
    keep: list[int] = []
    run = [int(order[0])]
    for prev, cur in zip(order[:-1], order[1:], strict=True):
        if np.linalg.norm(pos[cur] - pos[prev]) < SAME_PLANE_MM:
            run.append(int(cur))
        else:
            keep.append(min(run))
            run = [int(cur)]
    keep.append(min(run))
    return [planes[i] for i in sorted(keep)]


def _for_highdicom(src: Dataset, plane: FramePlane) -> Dataset:
    """The source header with the orientation and pixel measures in the shared functional
    group, where highdicom reads them (they may be per frame or top-level in the file).

    Only this copy changes; the SEG references the source by its UIDs and frame numbers.
    """
    import highdicom as hd

    d = _header_copy(src)
    shared_seq = src.get("SharedFunctionalGroupsSequence")
    shared = copy.deepcopy(shared_seq[0]) if shared_seq else Dataset()
    if "PlaneOrientationSequence" not in shared:
        shared.PlaneOrientationSequence = hd.PlaneOrientationSequence(
            coordinate_system=hd.CoordinateSystemNames.PATIENT,
            image_orientation=list(plane.orientation),
        )
    if "PixelMeasuresSequence" not in shared:
        shared.PixelMeasuresSequence = hd.PixelMeasuresSequence(
            pixel_spacing=list(plane.pixel_spacing_mm),
            slice_thickness=plane.slice_thickness_mm,
        )
    # a new element: the copy shares its elements with the source, which stays as it was
    d[0x52009229] = DataElement(0x52009229, "SQ", DicomSequence([shared]))
    return d


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
        The source headers (see :func:`find_sources`): the slices of a classic series,
        or one multi-frame (Enhanced CT/MR) image. Not modified.
    path : Path
        Output ``seg.dcm``.
    colour_a, colour_b : str
        Code colours; each segment's recommended display colour is its twin's shade.
    keep_phi : bool
        Keep the source patient identifiers and the SEG's time stamps (off by default).

    Returns
    -------
    list of Segment
        The segments present in the SEG (empty segments are left out).

    Raises
    ------
    SourceUnusableError
        No sources, several multi-frame sources, or a multi-frame source whose frames
        cannot be placed (no position, orientation or spacing; frames that differ in
        orientation or spacing), or that highdicom refuses.
    EmptySegmentationError
        No labelled voxel to write.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    if not sources:
        raise SourceUnusableError("no source DICOM slices to reference")
    multi = [d for d in sources if is_multiframe(d)]
    if multi and len(sources) > 1:
        raise SourceUnusableError(
            f"{len(multi)} multi-frame images among {len(sources)} sources; a SEG "
            "references one multi-frame image or a series of single-frame slices"
        )
    combined = combined_labels(labels.array, twins.array)
    present = [s for s in segments(colour_a, colour_b) if (combined == s.label_value).any()]
    if not present:
        raise EmptySegmentationError("no labelled voxels to write as DICOM-SEG")
    srcs = list(sources)
    geometry: dict[str, object] = {}
    if multi:
        planes = _distinct_planes(srcs[0])
        shape = (int(srcs[0].Rows), int(srcs[0].Columns))
        pixel = np.zeros((len(planes), *shape, len(present)), dtype=bool)
        for f, pl in enumerate(planes):
            frame = _plane_labels(
                combined,
                labels.affine,
                np.asarray(pl.position_lps_mm),
                np.asarray(pl.orientation),
                pl.pixel_spacing_mm,
                shape,
            )
            for s, seg in enumerate(present):
                pixel[f, :, :, s] = frame == seg.label_value
        srcs = [_for_highdicom(srcs[0], planes[0])]
        geometry["plane_positions"] = [
            hd.PlanePositionSequence(
                coordinate_system=hd.CoordinateSystemNames.PATIENT,
                image_position=list(pl.position_lps_mm),
            )
            for pl in planes
        ]
    else:
        pixel = np.zeros(
            (len(srcs), int(srcs[0].Rows), int(srcs[0].Columns), len(present)), dtype=bool
        )
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
    if not keep_phi:
        # the pseudonym is the plan's, not a hash of the patient ID (an 8-digit ID is
        # found again by hashing every candidate in a minute)
        pseudo = "TWINSEP-" + hashlib.sha256(f"{uid_seed} patient".encode()).hexdigest()[:12]
        srcs = [_anonymous_source(d, pseudo, uid_seed) for d in srcs]
    try:
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
            **geometry,  # type: ignore[arg-type]
        )
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        # highdicom's refusals of a source it cannot reference (missing frame of
        # reference, module attributes...): the plan goes on without seg.dcm
        raise SourceUnusableError(f"highdicom refused the source ({exc})") from exc
    _fix_variable_fields(seg_ds, uid_seed, keep_phi=keep_phi)
    with atomic_output(Path(path)) as tmp:
        seg_ds.save_as(tmp, enforce_file_format=True)
    return present


#: Dummy content date and time written without ``keep_phi``: Content Date/Time are
#: Type 1 in the SEG's Multi-frame Functional Groups module, and the Basic Application
#: Level Confidentiality Profile (DICOM PS3.15 Table E.1-1, action "Z/D") replaces such a
#: date with a non-empty dummy value when the IOD requires one.
DUMMY_CONTENT_DATE = "19000101"
DUMMY_CONTENT_TIME = "000000"


def _fix_variable_fields(seg_ds: Dataset, uid_seed: str, *, keep_phi: bool) -> None:
    """Make the SEG a function of its inputs: highdicom draws a random dimension
    organisation UID and stamps the creation time; without ``keep_phi`` the content
    date/time (Type 1) get the dummy values above, the series date/time (Type 3) are
    emptied and the creation stamps removed, so that one plan gives the same bytes."""
    dim_uid = pydicom.uid.generate_uid(entropy_srcs=[uid_seed, "dimension-organisation"])
    for elem in seg_ds.iterall():
        if elem.keyword == "DimensionOrganizationUID":
            elem.value = dim_uid
    if keep_phi:
        return
    values = {"ContentDate": DUMMY_CONTENT_DATE, "ContentTime": DUMMY_CONTENT_TIME}
    for name in ("ContentDate", "ContentTime", "SeriesDate", "SeriesTime"):
        if name in seg_ds:  # a new element: never edit one that may be the source's
            seg_ds[name] = DataElement(seg_ds[name].tag, seg_ds[name].VR, values.get(name, ""))
    for name in ("InstanceCreationDate", "InstanceCreationTime"):
        if name in seg_ds:
            del seg_ds[name]
    for item in seg_ds.get("ContributingEquipmentSequence") or []:
        if "ContributionDateTime" in item:
            del item.ContributionDateTime


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


__all__ = [
    "LPS_TO_RAS",
    "EmptySegmentationError",
    "SourceGoneError",
    "SourceUnusableError",
    "find_sources",
    "is_multiframe",
    "series_datasets",
    "write_dicom_seg",
]
