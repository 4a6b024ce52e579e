"""The .seg.nrrd opens in ITK/Slicer with the right geometry, names and colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from twinsep.interop.slicer import colour_tables, read_seg_nrrd, write_seg_nrrd
from twinsep.volume import Volume, apply_affine


def _oblique_affine() -> np.ndarray:
    t = np.deg2rad(17.0)
    rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.8, -1.1, 2.5])  # anisotropic, one flipped axis
    aff[:3, 3] = [12.5, -40.0, 7.25]
    return aff


def _volumes() -> tuple[Volume, Volume]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, size=(12, 9, 7)).astype(np.uint8)
    twins = np.where(labels > 0, 1 + (np.arange(12)[:, None, None] >= 6), 0).astype(np.uint8)
    twins = np.broadcast_to(twins, labels.shape).copy()
    aff = _oblique_affine()
    return Volume(labels, aff), Volume(twins, aff)


def test_seg_nrrd_round_trip_geometry_and_values(tmp_path: Path) -> None:
    labels, twins = _volumes()
    path = tmp_path / "twins.seg.nrrd"
    segs = write_seg_nrrd(labels, twins, path, colour_a="#7B3FA0", colour_b="#F28C28")
    vol, header = read_seg_nrrd(path)
    assert np.allclose(vol.affine, labels.affine, atol=1e-9)
    expected = np.where(labels.array > 0, (twins.array - 1) * 5 + labels.array, 0)
    assert np.array_equal(vol.array, expected)
    assert len(segs) == 10 and header["Segment0_Name"] == "Twin A soft tissue"
    assert header["Segment5_Name"] == "Twin B soft tissue"
    assert header["Segment0_Color"] == f"{0x7B / 255:.6f} {0x3F / 255:.6f} {0xA0 / 255:.6f}"
    assert header["Segmentation_MasterRepresentation"] == "Binary labelmap"


def test_seg_nrrd_world_coordinates_match_itk(tmp_path: Path) -> None:
    """An independent reader (ITK, LPS) puts voxel (3, 4, 5) at the same world point."""
    labels, twins = _volumes()
    path = tmp_path / "twins.seg.nrrd"
    write_seg_nrrd(labels, twins, path, colour_a="#7B3FA0", colour_b="#F28C28")
    img = sitk.ReadImage(str(path))
    lps = np.array(img.TransformContinuousIndexToPhysicalPoint((3.0, 4.0, 5.0)))
    ras = apply_affine(labels.affine, [3, 4, 5])
    assert np.allclose(lps * [-1, -1, 1], ras, atol=1e-6)
    arr = sitk.GetArrayFromImage(img)  # [k, j, i]
    assert arr[5, 4, 3] == (
        labels.array[3, 4, 5] and (twins.array[3, 4, 5] - 1) * 5 + labels.array[3, 4, 5]
    )


def test_colour_tables_list_every_label_once() -> None:
    tables = colour_tables("#7B3FA0", "#F28C28")
    rows = [ln.split() for ln in tables["labels.ctbl"].splitlines() if not ln.startswith("#")]
    assert [r[1] for r in rows] == ["background", "soft_tissue", "bone", "brain", "csf", "vessel"]
    assert [int(r[0]) for r in rows] == list(range(6))
    rows = [ln.split() for ln in tables["twins.ctbl"].splitlines() if not ln.startswith("#")]
    assert rows[1] == ["1", "twin_A", "123", "63", "160", "255"]
    assert rows[2] == ["2", "twin_B", "242", "140", "40", "255"]


def test_combined_labels_equals_int16_formula_on_any_values() -> None:
    """The in-place uint8 arithmetic equals the plain formula (modulo 256) for every
    value pair, including values outside the label contract and zeros on either side."""
    from twinsep.interop.slicer import combined_labels

    lab, tw = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    lab = lab.astype(np.uint8)[:, :, None]
    tw = tw.astype(np.uint8)[:, :, None]
    expected = np.where(
        (lab > 0) & (tw > 0), (tw.astype(np.int16) - 1) * 5 + lab.astype(np.int16), 0
    ).astype(np.uint8)
    before = (lab.copy(), tw.copy())
    assert np.array_equal(combined_labels(lab, tw), expected)
    assert np.array_equal(lab, before[0]) and np.array_equal(tw, before[1])  # inputs kept


def test_segment_extents_and_bytes_are_reproducible(tmp_path: Path) -> None:
    """Each segment's extent is the first/last index per axis of its voxels (an absent
    segment gets Slicer's empty extent), and two writes give identical bytes (no time
    stamp in the header)."""
    labels, twins = _volumes()
    lab = labels.array.copy()
    lab[lab == 4] = 3  # CSF absent
    labels = labels.with_array(lab)
    first, second = tmp_path / "a.seg.nrrd", tmp_path / "b.seg.nrrd"
    segs = write_seg_nrrd(labels, twins, first, colour_a="#7B3FA0", colour_b="#F28C28")
    write_seg_nrrd(labels, twins, second, colour_a="#7B3FA0", colour_b="#F28C28")
    assert first.read_bytes() == second.read_bytes()
    vol, header = read_seg_nrrd(first)
    for n, seg in enumerate(segs):
        idx = np.argwhere(vol.array == seg.label_value)
        if len(idx) == 0:
            assert header[f"Segment{n}_Extent"] == "0 -1 0 -1 0 -1"
            continue
        lo, hi = idx.min(axis=0), idx.max(axis=0)
        want = " ".join(f"{a} {b}" for a, b in zip(lo, hi, strict=True))
        assert header[f"Segment{n}_Extent"] == want
    assert header["Segment3_Extent"] == "0 -1 0 -1 0 -1"  # twin A CSF
