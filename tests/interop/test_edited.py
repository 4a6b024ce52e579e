"""The user's edited segmentation is read, placed on the CT's grid and checked exactly.

Every map here is small and made in the test; the expected result is the map itself
(placed voxel for voxel) or one line naming the file and what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from slicer_resave import slicer_resave
from twinsep.errors import InputError
from twinsep.interop.edited import (
    EditedParams,
    place_on_grid,
    read_edited_segmentation,
    read_slicer_segments,
)
from twinsep.interop.slicer import combined_labels, write_seg_nrrd
from twinsep.volume import LPS_TO_RAS, Volume

SHAPE = (14, 12, 10)


def _ct_affine() -> np.ndarray:
    """An oblique, anisotropic CT grid with one axis running against the world."""
    t = np.deg2rad(11.0)
    rot = np.array([[np.cos(t), 0, -np.sin(t)], [0, 1, 0], [np.sin(t), 0, np.cos(t)]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.7, -0.9, 1.5])
    aff[:3, 3] = [-30.25, 41.5, 12.0]
    return aff


@pytest.fixture(scope="module")
def ct() -> Volume:
    return Volume(np.zeros(SHAPE, np.int16), _ct_affine())


@pytest.fixture(scope="module")
def maps() -> tuple[np.ndarray, np.ndarray]:
    """Two touching 'heads': twin A in i < 7, twin B beyond; all five tissues in each,
    background around them."""
    lab = np.zeros(SHAPE, np.uint8)
    tw = np.zeros(SHAPE, np.uint8)
    lab[2:12, 2:10, 2:8] = 1
    lab[3:11, 3:9, 3:7] = 2
    lab[4:10, 4:8, 4:6] = 3
    lab[5:9, 5:7, 4:6] = 4
    lab[6:8, 5:6, 5:6] = 5
    tw[lab > 0] = 1
    tw[7:][lab[7:] > 0] = 2
    return lab, tw


def _write_nifti(arr: np.ndarray, affine: np.ndarray, path: Path) -> Path:
    nib.save(nib.Nifti1Image(arr, affine), str(path))
    return path


def _seg(maps: tuple[np.ndarray, np.ndarray], ct: Volume, path: Path) -> Path:
    lab, tw = maps
    write_seg_nrrd(
        Volume(lab, ct.affine), Volume(tw, ct.affine), path, colour_a="#7B3FA0", colour_b="#F28C28"
    )
    return path


# ---------------------------------------------------------------------------------
# placement on the CT's grid
# ---------------------------------------------------------------------------------
def test_same_grid_is_placed_as_is(ct: Volume, maps: tuple[np.ndarray, np.ndarray]) -> None:
    lab, _ = maps
    out = place_on_grid(lab, ct.affine, ct, source=Path("x"))
    assert np.array_equal(out, lab)


def test_sub_box_with_flipped_and_swapped_axes_lands_on_its_voxels(
    ct: Volume, maps: tuple[np.ndarray, np.ndarray]
) -> None:
    """A cropped box stored with axes 0 and 2 swapped and axis 1 reversed (another
    order and sign of the same voxels) lands on exactly the voxels it came from."""
    lab, _ = maps
    lo = np.array([2, 1, 3])
    box = lab[2:12, 1:11, 3:8]
    stored = np.flip(np.transpose(box, (2, 1, 0)), axis=1)
    # file index (a, b, c) -> CT index (lo0 + c, lo1 + (n1 - 1 - b), lo2 + a)
    n1 = box.shape[1]
    m = np.zeros((4, 4))
    m[0, 2] = 1
    m[1, 1] = -1
    m[2, 0] = 1
    m[:3, 3] = [lo[0], lo[1] + n1 - 1, lo[2]]
    m[3, 3] = 1
    out = place_on_grid(stored, ct.affine @ m, ct, source=Path("x"))
    expected = np.zeros_like(lab)
    expected[2:12, 1:11, 3:8] = box
    assert np.array_equal(out, expected)


def test_rounding_of_the_origin_is_tolerated(
    ct: Volume, maps: tuple[np.ndarray, np.ndarray]
) -> None:
    lab, _ = maps
    aff = ct.affine.copy()
    aff[:3, 3] += ct.affine[:3, :3] @ np.array([0.01, -0.02, 0.0])  # 0.02 voxel
    assert np.array_equal(place_on_grid(lab, aff, ct, source=Path("x")), lab)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("spacing", "voxel size"),
        ("rotated", "turned"),
        ("offgrid", "off the CT's grid"),
        ("outside", "outside the CT"),
    ],
)
def test_another_grid_is_refused_naming_what_differs(
    ct: Volume, maps: tuple[np.ndarray, np.ndarray], change: str, words: str
) -> None:
    lab, _ = maps
    aff = ct.affine.copy()
    if change == "spacing":
        aff[:3, :3] = aff[:3, :3] * 1.02  # 2 % larger voxels
    elif change == "rotated":
        t = np.deg2rad(3.0)
        rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
        aff[:3, :3] = rot @ aff[:3, :3]
    elif change == "offgrid":
        aff[:3, 3] += ct.affine[:3, :3] @ np.array([0.3, 0.0, 0.0])
    else:
        aff[:3, 3] += ct.affine[:3, :3] @ np.array([5.0, 0.0, 0.0])  # tissue reaches i = 16
    with pytest.raises(InputError) as err:
        place_on_grid(lab, aff, ct, source=Path("edit.nii.gz"))
    line = err.value.one_line()
    assert line.startswith("edit.nii.gz: ") and words in line and "\n" not in line
    if change == "rotated":
        assert "3.00 deg" in line
    if change == "offgrid":
        assert "0.30 voxel" in line


def test_background_outside_the_ct_is_fine(ct: Volume, maps: tuple[np.ndarray, np.ndarray]) -> None:
    """A file larger than the CT whose extra voxels are background fits."""
    lab, _ = maps
    big = np.zeros((SHAPE[0] + 4, SHAPE[1], SHAPE[2]), np.uint8)
    big[2 : 2 + SHAPE[0]] = lab
    aff = ct.affine.copy()
    aff[:3, 3] -= ct.affine[:3, :3] @ np.array([2.0, 0, 0])
    assert np.array_equal(place_on_grid(big, aff, ct, source=Path("x")), lab)


# ---------------------------------------------------------------------------------
# Slicer .seg.nrrd as twinsep writes it and as Slicer saves it again
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("layers", "ras"), [(False, False), (True, False), (True, True)])
def test_slicer_resaved_segmentation_gives_the_same_maps(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray], layers: bool, ras: bool
) -> None:
    lab, tw = maps
    written = _seg(maps, ct, tmp_path / "twins.seg.nrrd")
    direct = read_edited_segmentation(written, ct)
    assert np.array_equal(direct.labels, lab) and np.array_equal(direct.twins, tw)
    resaved = tmp_path / "edited.seg.nrrd"
    slicer_resave(written, resaved, layers=layers, ras=ras)
    got = read_edited_segmentation(resaved, ct)
    assert np.array_equal(got.labels, lab) and np.array_equal(got.twins, tw)
    assert got.kind == "slicer" and got.supplied == "tissues and twins"
    assert got.files[0].name == "edited.seg.nrrd" and len(got.files[0].sha256) == 64


def _segments_file(tmp_path: Path, ct: Volume, layers: np.ndarray, segs: list[tuple]) -> Path:
    header: dict[str, object] = {
        "space": "left-posterior-superior",
        "space origin": (LPS_TO_RAS @ ct.affine)[:3, 3],
        "encoding": "gzip",
    }
    dirs = (LPS_TO_RAS @ ct.affine)[:3, :3].T
    if layers.ndim == 4:
        header["space directions"] = np.vstack([np.full(3, np.nan), dirs])
        header["kinds"] = ["list", "domain", "domain", "domain"]
    else:
        header["space directions"] = dirs
    for n, (name, value, layer) in enumerate(segs):
        header[f"Segment{n}_Name"] = name
        header[f"Segment{n}_LabelValue"] = str(value)
        header[f"Segment{n}_Layer"] = str(layer)
    path = tmp_path / "s.seg.nrrd"
    nrrd.write(str(path), layers, header, index_order="F")
    return path


def test_overlapping_segments_are_refused_with_their_voxel_count(
    tmp_path: Path, ct: Volume
) -> None:
    data = np.zeros((2, *SHAPE), np.uint8)
    data[0, 2:6, 2:6, 2:6] = 1  # twin A bone, 64 voxels
    data[1, 4:8, 2:6, 2:6] = 1  # twin B bone: 2 x 4 x 4 = 32 voxels shared
    path = _segments_file(tmp_path, ct, data, [("Twin A bone", 1, 0), ("Twin B bone", 1, 1)])
    with pytest.raises(InputError) as err:
        read_slicer_segments(path)
    line = err.value.one_line()
    assert "32 voxels are claimed by two segments" in line and "'Twin A bone'" in line


def test_unknown_segment_name_is_named(tmp_path: Path, ct: Volume) -> None:
    data = np.zeros(SHAPE, np.uint8)
    data[2:6, 2:6, 2:6] = 1
    data[7:9, 2:6, 2:6] = 2
    path = _segments_file(tmp_path, ct, data, [("Twin A bone", 1, 0), ("Segment_3", 2, 0)])
    with pytest.raises(InputError) as err:
        read_slicer_segments(path)
    assert "'Segment_3'" in err.value.one_line() and "not one of twinsep's segments" in str(
        err.value
    )


def test_voxels_of_no_segment_are_refused(tmp_path: Path, ct: Volume) -> None:
    data = np.zeros(SHAPE, np.uint8)
    data[2:6, 2:6, 2:6] = 1
    data[8, 8, 8] = 7
    path = _segments_file(tmp_path, ct, data, [("twin a BONE", 1, 0)])  # names: any case
    with pytest.raises(InputError, match=r"1 voxels \(layer 0, value\(s\) 7\)"):
        read_slicer_segments(path)


def test_empty_slicer_segmentation_is_refused(tmp_path: Path, ct: Volume) -> None:
    path = _segments_file(tmp_path, ct, np.zeros((1, 1, 1), np.uint8), [("Twin A bone", 1, 0)])
    with pytest.raises(InputError, match="holds no segment voxels"):
        read_slicer_segments(path)


# ---------------------------------------------------------------------------------
# label maps and their checks
# ---------------------------------------------------------------------------------
def test_label_map_with_and_without_twin_map(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray]
) -> None:
    lab, tw = maps
    lp = _write_nifti(lab, ct.affine, tmp_path / "labels.nii.gz")
    tp = _write_nifti(tw, ct.affine, tmp_path / "twins.nii.gz")
    only = read_edited_segmentation(lp, ct)
    assert only.twins is None and only.supplied == "tissues"
    assert np.array_equal(only.labels, lab)
    both = read_edited_segmentation(lp, ct, twin_map=tp)
    assert np.array_equal(both.twins, tw) and both.warnings == ()
    prov = both.provenance()
    assert prov["file"] == "labels.nii.gz" and prov["twin_map"]["file"] == "twins.nii.gz"  # type: ignore[index]


def _bad(case: str, lab: np.ndarray, tw: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    lab, tw = lab.copy(), tw.copy()
    if case == "value":
        lab[3, 3, 3] = 9
        return lab, tw, "1 voxels hold value(s) 9, outside 0..5"
    if case == "twin_value":
        tw[3, 3, 3] = 3
        return lab, tw, "1 voxels hold value(s) 3, outside 0..2"
    if case == "orphan":
        tw[3:5, 3, 3] = 0
        return lab, tw, "2 tissue voxels of labels.nii.gz have no twin"
    if case == "owner_without_tissue":
        tw[0, 0, 0:3] = 1
        return lab, tw, "3 voxels here belong to a twin but are background"
    if case == "twin_missing":
        tw[tw == 2] = 1
        return lab, tw, "holds no voxel of twin B"
    if case == "apart":
        # the first layer of twin B (i = 7) erased: no face between the twins left
        lab[7] = 0
        tw[7] = 0
        return lab, tw, "twin A and twin B do not touch anywhere"
    lab[:] = 0
    tw[:] = 0
    return lab, tw, "holds no tissue"


@pytest.mark.parametrize(
    "case",
    ["value", "twin_value", "orphan", "owner_without_tissue", "twin_missing", "apart", "empty"],
)
def test_bad_maps_are_refused_in_one_line(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray], case: str
) -> None:
    lab, tw, words = _bad(case, *maps)
    lp = _write_nifti(lab, ct.affine, tmp_path / "labels.nii.gz")
    tp = _write_nifti(tw, ct.affine, tmp_path / "twins.nii.gz")
    with pytest.raises(InputError) as err:
        read_edited_segmentation(lp, ct, twin_map=tp)
    line = err.value.one_line()
    assert words in line and "\n" not in line, line
    named = "twins.nii.gz" if case in ("twin_value", "orphan", "owner_without_tissue") else None
    assert line.split(": ")[0].endswith(
        named or ("twins.nii.gz" if case in ("twin_missing", "apart") else "labels.nii.gz")
    )


def test_a_twin_in_pieces_is_a_warning_with_its_ml(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray]
) -> None:
    """Three voxels of twin A's soft tissue painted apart from it: 3 voxel volumes."""
    lab, tw = maps
    lab, tw = lab.copy(), tw.copy()
    lab[12:13, 11, 9] = 1
    tw[12:13, 11, 9] = 1
    lab[0, 0, 0:2] = 1
    tw[0, 0, 0:2] = 1
    lp = _write_nifti(lab, ct.affine, tmp_path / "labels.nii.gz")
    tp = _write_nifti(tw, ct.affine, tmp_path / "twins.nii.gz")
    got = read_edited_segmentation(lp, ct, twin_map=tp)
    (w,) = got.warnings
    apart_ml = 3 * ct.voxel_volume_mm3 / 1000.0
    assert w.startswith("twin A is in 3 pieces") and f"{apart_ml:.2f} mL lie apart" in w


def test_twin_map_with_a_slicer_file_is_refused(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray]
) -> None:
    seg = _seg(maps, ct, tmp_path / "twins.seg.nrrd")
    tp = _write_nifti(maps[1], ct.affine, tmp_path / "twins.nii.gz")
    with pytest.raises(InputError, match="already say which twin"):
        read_edited_segmentation(seg, ct, twin_map=tp)


def test_inputs_are_not_modified(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray]
) -> None:
    lab, tw = maps
    before = (lab.tobytes(), tw.tobytes(), ct.affine.tobytes())
    place_on_grid(lab, ct.affine, ct, source=Path("x"), params=EditedParams())
    combined_labels(lab, tw)
    assert (lab.tobytes(), tw.tobytes(), ct.affine.tobytes()) == before


def test_cache_keys_follow_the_files_not_their_paths(tmp_path: Path) -> None:
    """The segment, twins (and so every later) stage's key changes with the files'
    checksum, and only with it: a changed edit re-plans, a moved file does not."""
    from twinsep.plan import PlanOptions, _pipeline, stage_key

    def keys(seg: str, digest: str | None) -> dict[str, str]:
        options = PlanOptions(scan_path=tmp_path / "ct.nii.gz", segmentation_path=Path(seg))
        digests = {"scan": "s" * 64, "segmentation": digest}
        out: dict[str, str] = {}
        for stage in _pipeline():
            out[stage.name] = stage_key(stage, options, digests, out)
        return out

    a = keys("/x/labels.nii.gz", "1" * 64)
    assert a == keys("/elsewhere/edited.nii.gz", "1" * 64)
    b = keys("/x/labels.nii.gz", "2" * 64)
    assert all(a[name] != b[name] for name in a)


def test_a_new_segment_of_a_known_name_is_merged(tmp_path: Path, ct: Volume) -> None:
    """A sinus painted as a second "Twin A vessel" segment, in its own layer and over
    part of the first: one tissue of one twin, so no clash; the union is read."""
    data = np.zeros((2, *SHAPE), np.uint8)
    data[0, 2:6, 2:6, 2:6] = 1  # "Twin A vessel", 64 voxels
    data[1, 4:8, 2:6, 2:6] = 3  # "twin a vessel" again, 64 voxels, 32 of them shared
    data[0, 8:12, 2:6, 2:6] = 2  # "Twin B bone"
    segs = [("Twin A vessel", 1, 0), ("Twin B bone", 2, 0), ("twin a vessel", 3, 1)]
    code, _ = read_slicer_segments(_segments_file(tmp_path, ct, data, segs))
    assert int(np.count_nonzero(code == 5)) == 96  # 64 + 64 - 32, code (A, vessel) = 5
    assert int(np.count_nonzero(code == 7)) == 64  # (B, bone) = 5 + 2


# ---------------------------------------------------------------------------------
# NRRD space units (pynrrd, like ITK, does not apply them)
# ---------------------------------------------------------------------------------
def _with_units(src: Path, dst: Path, units: list[str], factor: float) -> Path:
    """``src`` rewritten with its world coordinates divided by ``factor`` and said to be
    in ``units``: the same voxels at the same places, in another length unit."""
    data, header = nrrd.read(str(src), index_order="F")
    header["space directions"] = np.asarray(header["space directions"], float) / factor
    header["space origin"] = np.asarray(header["space origin"], float) / factor
    header["space units"] = units
    nrrd.write(str(dst), data, header, index_order="F")
    return dst


@pytest.mark.parametrize(("unit", "factor"), [("cm", 10.0), ("m", 1000.0), ("um", 0.001)])
def test_space_units_are_converted_to_mm(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray], unit: str, factor: float
) -> None:
    """A segmentation saved in cm (m, µm) is the same map on the CT's grid, with a
    warning; read as mm it was another voxel size (refused), or ten times too small."""
    lab, tw = maps
    written = _seg(maps, ct, tmp_path / "twins.seg.nrrd")
    edited = _with_units(written, tmp_path / f"in_{unit}.seg.nrrd", [unit] * 3, factor)
    got = read_edited_segmentation(edited, ct)
    assert np.array_equal(got.labels, lab) and np.array_equal(got.twins, tw)
    assert any(f"space units {unit} {unit} {unit}" in w for w in got.warnings)
    assert all("in_" not in w for w in got.warnings)  # the file's name is not repeated


def test_space_units_that_are_no_length_are_refused(
    tmp_path: Path, ct: Volume, maps: tuple[np.ndarray, np.ndarray]
) -> None:
    written = _seg(maps, ct, tmp_path / "twins.seg.nrrd")
    edited = _with_units(written, tmp_path / "odd.seg.nrrd", ["s", "s", "s"], 1.0)
    with pytest.raises(InputError) as exc:
        read_edited_segmentation(edited, ct)
    msg = exc.value.one_line()
    assert msg.startswith(str(edited)) and "space units 's'" in msg and "\n" not in msg


# ---------------------------------------------------------------------------------
# a label atlas given as the segmentation
# ---------------------------------------------------------------------------------
def test_a_label_atlas_is_refused_as_such_before_placement(tmp_path: Path, ct: Volume) -> None:
    """An atlas of 40 brain regions (values 1..40, like AAL's 1..116) is refused at once,
    naming it a label atlas and listing twinsep's tissue values: its regions are not
    tissues, and no mapping from an atlas's regions to tissues is defined (one atlas's
    "precentral gyrus" holds brain and CSF alike)."""
    atlas = np.zeros(SHAPE, np.uint8)
    atlas[1:13, 1:11, 1:9] = (np.arange(12 * 10 * 8).reshape(12, 10, 8) % 40 + 1).astype(np.uint8)
    p = _write_nifti(atlas, ct.affine, tmp_path / "aal_like.nii.gz")
    with pytest.raises(InputError) as err:
        read_edited_segmentation(p, ct)
    line = err.value.one_line()
    assert line.startswith(f"{p}: is not a tissue map") and "\n" not in line, line
    assert "(40 labels: a label atlas?" in line and "3 brain, 4 csf, 5 vessel" in line, line
