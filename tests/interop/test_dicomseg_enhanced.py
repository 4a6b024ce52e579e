"""DICOM-SEG of a multi-frame (Enhanced CT) source: frames on the source planes,
references to the source frames, no PHI, same bytes every run, and the export stage's
warning in each case (source gone, source unusable, written).

Ground truth: a generated 48³ oblique CT written as one Enhanced CT file with its frames
shuffled (``write_enhanced_dicom``: frame n holds slice ``frames[n]``, transposed), and
label maps drawn in world mm on the loaded grid.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from types import SimpleNamespace

import highdicom as hd
import numpy as np
import pydicom
import pytest
from dicomseg_checks import assert_seg_reproduces

from twinsep.interop import stage as export_stage
from twinsep.interop.dicomseg import (
    SourceGoneError,
    SourceUnusableError,
    find_sources,
    write_dicom_seg,
)
from twinsep.interop.slicer import combined_labels
from twinsep.io import load_scan
from twinsep.io.enhanced_write import write_enhanced_dicom
from twinsep.volume import Volume

NAME = "ROE^RICHARD^ENHANCEDSEG"
PID = "PID-31415926"
N = 48
COLOURS = {"colour_a": "#7B3FA0", "colour_b": "#F28C28"}


def _oblique_affine() -> np.ndarray:
    """RAS affine rotated 23 deg about a skew axis, anisotropic voxels (0.7, 0.9, 1.6 mm)."""
    axis = np.array([1.0, -2.0, 2.5]) / np.linalg.norm([1.0, -2.0, 2.5])
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    t = np.radians(23.0)
    rot = np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.7, 0.9, 1.6])
    aff[:3, 3] = (-21.5, 14.25, 63.0)
    return aff


def _write_source(path: Path, *, frames: list[int] | None, shared_groups: bool) -> Path:
    rng = np.random.default_rng(7)
    c = (np.arange(N) - (N - 1) / 2) / (N / 2)
    r = np.sqrt(c[:, None, None] ** 2 + c[None, :, None] ** 2 + c[None, None, :] ** 2)
    ct = np.where(r < 0.9, 40, -1000).astype(np.int16)
    ct += rng.integers(-15, 16, ct.shape, dtype=np.int16)
    return write_enhanced_dicom(
        Volume(ct, _oblique_affine()),
        path,
        frames=frames,
        shared_groups=shared_groups,
        patient_name=NAME,
        patient_id=PID,
    )


def _labels_on(grid: Volume) -> tuple[Volume, Volume]:
    """Tissue and twin maps drawn in world mm: a ball (soft tissue) with a bone shell,
    a vessel rod, split between the twins by a world plane (not a grid axis)."""
    ijk = np.indices(grid.shape).reshape(3, -1).T
    xyz = grid.world_coords(ijk).reshape(*grid.shape, 3)
    centre = grid.world_coords((np.array(grid.shape) - 1) / 2)
    d = xyz - centre
    radius = np.linalg.norm(d, axis=-1)
    labels = np.zeros(grid.shape, np.uint8)
    labels[radius < 24.0] = 1
    labels[(radius >= 18.0) & (radius < 24.0)] = 2
    labels[(np.hypot(d[..., 0], d[..., 1]) < 3.0) & (radius < 18.0)] = 5
    twins = np.where(labels > 0, np.where(d @ np.array([0.6, 0.8, 0.0]) > 1.5, 2, 1), 0)
    return grid.with_array(labels), grid.with_array(twins.astype(np.uint8))


def _case(tmp_path: Path, *, frames: list[int] | None = None, shared_groups: bool = True):
    src = _write_source(tmp_path / "ct.dcm", frames=frames, shared_groups=shared_groups)
    scan = load_scan(src)
    labels, twins = _labels_on(scan.volume)
    return src, scan, labels, twins


def _shuffled() -> list[int]:
    return [int(k) for k in np.random.default_rng(11).permutation(N)]


@pytest.mark.parametrize("shared_groups", [True, False], ids=["shared", "per-frame"])
def test_enhanced_source_round_trip(tmp_path: Path, shared_groups: bool) -> None:
    frames = _shuffled()
    src, scan, labels, twins = _case(tmp_path, frames=frames, shared_groups=shared_groups)
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    sources = find_sources(src, scan.info.series_uid_hash)
    assert len(sources) == 1 and int(sources[0].NumberOfFrames) == N
    header_before = copy.deepcopy(sources[0])
    out = tmp_path / "seg.dcm"
    present = write_dicom_seg(labels, twins, sources, out, **COLOURS)
    assert len(present) == 6  # A and B x soft tissue, bone, vessel

    # the SEG's own geometry puts every segment on exactly its voxels
    assert assert_seg_reproduces(out, labels, twins) == 6

    seg = hd.seg.segread(out)
    # one referenced instance: a new UID for the source's (session 27), never its own
    (src_uid,) = {
        str(s.ReferencedSOPInstanceUID)
        for s in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    }
    assert src_uid != str(sources[0].SOPInstanceUID)
    assert str(sources[0].SOPInstanceUID).encode() not in out.read_bytes()
    # each SEG frame references the source frame at its own plane
    positions = {
        n + 1: np.asarray(item.PlanePositionSequence[0].ImagePositionPatient, float)
        for n, item in enumerate(
            pydicom.dcmread(src, stop_before_pixels=True).PerFrameFunctionalGroupsSequence
        )
    }
    referenced = set()
    for item in seg.PerFrameFunctionalGroupsSequence:
        ref = item.DerivationImageSequence[0].SourceImageSequence[0]
        assert str(ref.ReferencedSOPInstanceUID) == src_uid
        number = int(ref.ReferencedFrameNumber)
        referenced.add(number)
        here = np.asarray(item.PlanePositionSequence[0].ImagePositionPatient, float)
        np.testing.assert_allclose(here, positions[number], atol=1e-4)  # DS precision
    assert referenced == set(range(1, N + 1))

    # independent of geometry: source frame n holds slice frames[n - 1] transposed
    combined = combined_labels(labels.array, twins.array)
    number = next(d.SegmentNumber for d in seg.SegmentSequence if d.SegmentLabel == "Twin B bone")
    for n in (1, N // 2, N):
        got = seg.get_pixels_by_source_frame(
            source_sop_instance_uid=src_uid,
            source_frame_numbers=[n],
            segment_numbers=[number],
        )[0, :, :, 0]
        k = frames[n - 1]
        np.testing.assert_array_equal(got.astype(bool), (combined[:, :, k] == 7).T)

    raw = out.read_bytes()
    assert NAME.encode() not in raw and PID.encode() not in raw and b"ENHANCEDSEG" not in raw
    assert str(pydicom.dcmread(out).PatientName) == "Anonymous^"
    assert str(sources[0].PatientName) == NAME  # the caller's headers are not changed
    assert sources[0] == header_before
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    again = tmp_path / "again.dcm"
    write_dicom_seg(labels, twins, find_sources(src, None), again, **COLOURS)
    assert again.read_bytes() == raw  # same input, same bytes


def test_enhanced_keep_phi(tmp_path: Path) -> None:
    src, scan, labels, twins = _case(tmp_path)
    out = tmp_path / "seg.dcm"
    write_dicom_seg(labels, twins, find_sources(src, None), out, keep_phi=True, **COLOURS)
    ds = pydicom.dcmread(out)
    assert str(ds.PatientName) == NAME and str(ds.PatientID) == PID


def test_duplicated_frames_give_one_plane_referencing_both(tmp_path: Path) -> None:
    # the loader keeps one of two identical frames at one position; the SEG has one
    # frame per segment there, referencing both source frames
    frames = [9, 5, 9, *[k for k in range(N) if k not in (5, 9)]]  # copies 1 and 3
    src, scan, labels, twins = _case(tmp_path, frames=frames)
    out = tmp_path / "seg.dcm"
    present = write_dicom_seg(labels, twins, find_sources(src, None), out, **COLOURS)
    assert_seg_reproduces(out, labels, twins)
    seg = pydicom.dcmread(out)
    assert int(seg.NumberOfFrames) == N * len(present)
    refs = [
        sorted(
            int(r.ReferencedFrameNumber) for r in i.DerivationImageSequence[0].SourceImageSequence
        )
        for i in seg.PerFrameFunctionalGroupsSequence
    ]
    assert refs.count([1, 3]) == len(present)


def _ctx(scan_path: Path, info_hash: str | None, labels: Volume, twins: Volume) -> SimpleNamespace:
    """The part of a StageContext the export stage's ``write`` uses."""
    warnings: list[str] = []
    results = {"segment": SimpleNamespace(labels=labels), "separate": SimpleNamespace(twins=twins)}
    return SimpleNamespace(
        result=results.__getitem__,
        has=results.__contains__,
        options=SimpleNamespace(scan_path=scan_path, keep_phi=False, **COLOURS),
        input_info={"format": "dicom", "series_uid_hash": info_hash},
        warn=warnings.append,
        warnings=warnings,
    )


def test_export_stage_warnings(tmp_path: Path) -> None:
    src, scan, labels, twins = _case(tmp_path, frames=_shuffled())
    uid_hash = scan.info.series_uid_hash
    result = export_stage.ExportResult(dicom_input=True)

    written = tmp_path / "written"
    written.mkdir()
    ctx = _ctx(src, uid_hash, labels, twins)
    files = export_stage.write(result, ctx, written)["exports"]["files"]  # type: ignore[arg-type]
    assert "seg.dcm" in files and (written / "seg.dcm").is_file() and ctx.warnings == []

    # the folder given as the scan works the same
    ctx = _ctx(tmp_path, uid_hash, labels, twins)
    folder_out = tmp_path / "folder"
    folder_out.mkdir()
    export_stage.write(result, ctx, folder_out)  # type: ignore[arg-type]
    assert (folder_out / "seg.dcm").read_bytes() == (written / "seg.dcm").read_bytes()

    # a source whose frame lost its position: there, but cannot be referenced
    broken = tmp_path / "broken"
    broken.mkdir()
    ds = pydicom.dcmread(src)
    del ds.PerFrameFunctionalGroupsSequence[2].PlanePositionSequence
    ds.save_as(broken / "ct.dcm")
    out = tmp_path / "out_broken"
    out.mkdir()
    ctx = _ctx(broken / "ct.dcm", uid_hash, labels, twins)
    assert "seg.dcm" not in export_stage.write(result, ctx, out)["exports"]["files"]  # type: ignore[arg-type]
    assert ctx.warnings == [
        "seg.dcm not written: the source DICOM cannot be referenced: ct.dcm: frame 3 of 48 "
        "has no ImagePositionPatient (PlanePositionSequence, per frame or shared): the frame "
        "cannot be placed in space"
    ]
    assert not (out / "seg.dcm").exists()

    # the source removed after loading
    src.unlink()
    out = tmp_path / "out_gone"
    out.mkdir()
    ctx = _ctx(src, uid_hash, labels, twins)
    assert "seg.dcm" not in export_stage.write(result, ctx, out)["exports"]["files"]  # type: ignore[arg-type]
    assert ctx.warnings == ["seg.dcm not written: the source DICOM series is no longer at ct.dcm"]
    assert not (out / "seg.dcm").exists()


def test_find_sources_cases(tmp_path: Path) -> None:
    src, scan, _, _ = _case(tmp_path)
    with pytest.raises(SourceGoneError, match=r"no longer at ct\.dcm \(no file of it is left\)"):
        find_sources(src, "0" * 64)  # the file there now is another series
    other = tmp_path / "two"
    other.mkdir()
    for name in ("a.dcm", "b.dcm"):
        (other / name).write_bytes(src.read_bytes())
    with pytest.raises(SourceUnusableError, match=r"2 multi-frame and 0 single-frame files"):
        find_sources(other, scan.info.series_uid_hash)
    assert [Path(d.filename).name for d in find_sources(other / "b.dcm", None)] == ["b.dcm"]


def test_export_stage_warnings_for_a_classic_series(tmp_path: Path) -> None:
    from test_dicomseg import _case as classic_case

    folder, labels, twins = classic_case(tmp_path)
    uid_hash = load_scan(folder).info.series_uid_hash
    result = export_stage.ExportResult(dicom_input=True)
    out = tmp_path / "out"
    out.mkdir()
    ctx = _ctx(folder, uid_hash, labels, twins)
    assert "seg.dcm" in export_stage.write(result, ctx, out)["exports"]["files"]  # type: ignore[arg-type]
    assert ctx.warnings == []

    empty = tmp_path / "empty"
    empty.mkdir()
    ctx = _ctx(folder, uid_hash, labels.with_array(np.zeros(labels.shape, np.uint8)), twins)
    export_stage.write(result, ctx, empty)  # type: ignore[arg-type]
    assert ctx.warnings == ["seg.dcm not written: no labelled voxels to write as DICOM-SEG"]

    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    gone = tmp_path / "gone"
    gone.mkdir()
    ctx = _ctx(folder, uid_hash, labels, twins)
    export_stage.write(result, ctx, gone)  # type: ignore[arg-type]
    assert ctx.warnings == ["seg.dcm not written: the source DICOM series is no longer at ct"]
    assert not (gone / "seg.dcm").exists()
