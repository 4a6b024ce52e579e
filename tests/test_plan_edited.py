"""A plan made from the user's edited segmentation (``twinsep plan --segmentation``).

One 80-voxel phantom is planned automatically (the plan that test_e2e.py also reads,
``vertical_ii_plan`` in tests/conftest.py); its own ``labels.nii.gz`` /
``twins.nii.gz`` and its ``twins.seg.nrrd`` (as written, and saved again the way Slicer
does) are fed back and must give the same plan; an edit must show up in the planned
volumes by exactly its mL; every bad segmentation is a one-line exit 2 that writes
nothing and leaves the input files as they were.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import nibabel as nib
import nrrd
import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from slicer_resave import slicer_resave
from twinsep.cli import app
from twinsep.plan import work_dir_for

pytestmark = pytest.mark.slow  # five plans of an 80-voxel phantom

runner = CliRunner()


def _plan(scan: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--quiet", "plan", str(scan), "--out", str(out), *extra])
    return result.exit_code, result.stderr


def _array(path: Path) -> np.ndarray:
    return np.asarray(nib.load(str(path)).dataobj)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plan_json(d: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((d / "plan.json").read_text())
    return data


def _numbers(plan: dict[str, Any]) -> dict[str, Any]:
    """The sections a user map must reproduce: twins, fusion, shared and separation
    (without the min-cut's graph size and what it moved, which a kept boundary lacks)."""
    sep = {k: v for k, v in plan["separation"].items() if k != "graph"}
    return {
        "twins": plan["twins"],
        "fusion": plan["fusion"],
        "shared": plan["shared"],
        "separation": sep,
    }


@pytest.fixture(scope="module")
def phantom(vertical_ii_plan: tuple[Path, Path]) -> Path:
    """The folder of the phantom's ``ct``, ``labels`` and ``twins`` (read-only)."""
    return vertical_ii_plan[0]


@pytest.fixture(scope="module")
def reference(vertical_ii_plan: tuple[Path, Path]) -> Path:
    """The phantom's automatic plan (``twinsep --quiet plan``; read-only)."""
    return vertical_ii_plan[1]


def _same_plan(ref: Path, got: Path) -> None:
    for name in ("labels.nii.gz", "twins.nii.gz", "separation.nii.gz"):
        assert np.array_equal(_array(ref / name), _array(got / name)), name
    assert _numbers(_plan_json(ref)) == _numbers(_plan_json(got))


def test_own_label_maps_give_the_same_plan(phantom: Path, reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    lab, tw = reference / "labels.nii.gz", reference / "twins.nii.gz"
    code, err = _plan(phantom / "ct.nii.gz", out, "--segmentation", str(lab), "--twin-map", str(tw))
    assert code == 0, err
    _same_plan(reference, out)
    plan = _plan_json(out)
    seg = plan["input"]["segmentation"]
    # no input file's name without --keep-phi (docs/io.md "Input file names in outputs")
    assert seg["file"] == "segmentation (name not recorded: --keep-phi records it)"
    assert seg["sha256"] == _sha(lab)
    assert seg["twin_map"] == {
        "file": "twin map (name not recorded: --keep-phi records it)",
        "sha256": _sha(tw),
    }
    assert seg["supplied"] == "tissues and twins"
    assert plan["options"]["segmentation_path"] == seg["file"]
    assert plan["separation"]["graph"]["moved_vx"] == 0  # the boundary is kept
    assert plan["segmentation"]["source"] == "user"
    html = (out / "report.html").read_text()
    assert "were supplied by the user, not computed by twinsep" in html
    assert "segment (skipped: the user's segmentation was read)" in html
    assert "coded (the user's segmentation sets twin A)" in html


def test_own_tissue_map_alone_gives_the_same_plan(
    phantom: Path, reference: Path, tmp_path: Path
) -> None:
    """Tissues only: the twins are assigned and cut as usual, to the same voxels."""
    out = tmp_path / "plan"
    code, err = _plan(
        phantom / "ct.nii.gz", out, "--segmentation", str(reference / "labels.nii.gz")
    )
    assert code == 0, err
    _same_plan(reference, out)
    assert _plan_json(out)["separation"]["graph"] == _plan_json(reference)["separation"]["graph"]


def test_slicer_segmentation_as_written_and_as_resaved_gives_the_same_plan(
    phantom: Path, reference: Path, tmp_path: Path
) -> None:
    written = reference / "twins.seg.nrrd"
    resaved = tmp_path / "edited.seg.nrrd"
    # cropped to the segments, reordered, empty ones dropped, twin B in a second layer
    # of a 4-D array, RAS space
    slicer_resave(written, resaved, layers=True, ras=True)
    assert nrrd.read_header(str(resaved))["dimension"] == 4
    for i, seg in enumerate((written, resaved)):
        out = tmp_path / f"plan{i}"
        code, err = _plan(phantom / "ct.nii.gz", out, "--segmentation", str(seg))
        assert code == 0, err
        _same_plan(reference, out)
        assert _plan_json(out)["input"]["segmentation"]["file"].startswith("segmentation (")


def test_an_edit_shows_up_by_exactly_its_volume(
    phantom: Path, reference: Path, tmp_path: Path
) -> None:
    """A block of bridge voxels moved from twin B to twin A, and a piece of twin A's
    scalp erased: the planned twins move by exactly those mL."""
    lab = _array(reference / "labels.nii.gz").copy()
    tw = _array(reference / "twins.nii.gz").copy()
    img = nib.load(str(reference / "labels.nii.gz"))
    voxel_ml = float(abs(np.linalg.det(img.affine[:3, :3]))) / 1000.0
    # a B voxel on the boundary (an A voxel among its 6 neighbours), and the B voxels
    # within 2 voxels of it
    b_next_to_a = np.argwhere((tw == 2) & ndimage.binary_dilation(tw == 1))
    p = b_next_to_a[len(b_next_to_a) // 2]
    box = tuple(slice(int(c) - 2, int(c) + 3) for c in p)
    block = np.zeros(tw.shape, bool)
    block[box] = tw[box] == 2
    moved_ml = int(block.sum()) * voxel_ml
    tw[block] = 1
    # twin A's outermost soft tissue: the voxels of a 3-voxel cube at its scalp's edge
    scalp = np.argwhere((lab == 1) & (tw == 1))
    q = scalp[np.argmin(scalp[:, 0])]
    cube = tuple(slice(int(c) - 1, int(c) + 2) for c in q)
    erase = np.zeros(tw.shape, bool)
    erase[cube] = (lab[cube] == 1) & (tw[cube] == 1)
    erased_ml = int(erase.sum()) * voxel_ml
    lab[erase] = 0
    tw[erase] = 0
    assert moved_ml > 0.2 and erased_ml > 0.05  # the edit is not nothing
    lp, tp = tmp_path / "labels_edited.nii.gz", tmp_path / "twins_edited.nii.gz"
    nib.save(nib.Nifti1Image(lab, img.affine), str(lp))
    nib.save(nib.Nifti1Image(tw, img.affine), str(tp))
    out = tmp_path / "plan"
    code, err = _plan(phantom / "ct.nii.gz", out, "--segmentation", str(lp), "--twin-map", str(tp))
    assert code == 0, err
    assert np.array_equal(_array(out / "twins.nii.gz"), tw)  # the user's boundary is the cut
    assert np.array_equal(_array(out / "labels.nii.gz"), lab)
    ref, got = _plan_json(reference)["twins"], _plan_json(out)["twins"]
    # rounded to 0.001 mL per figure: 0.004 mL is far below one voxel (0.05 mL)
    tol = 0.004
    assert got["A"]["volume_ml"] == pytest.approx(
        ref["A"]["volume_ml"] + moved_ml - erased_ml, abs=tol
    )
    assert got["B"]["volume_ml"] == pytest.approx(ref["B"]["volume_ml"] - moved_ml, abs=tol)
    assert got["A"]["tissue_ml"]["soft_tissue"] - ref["A"]["tissue_ml"][
        "soft_tissue"
    ] == pytest.approx(int((block & (lab == 1)).sum()) * voxel_ml - erased_ml, abs=tol)


# ---------------------------------------------------------------------------------
# bad segmentations through the command line
# ---------------------------------------------------------------------------------
def _bad_inputs(phantom: Path, root: Path, case: str) -> tuple[list[str], str]:
    """Arguments after ``--out`` for one bad case, and the file name the error names."""
    img = nib.load(str(phantom / "labels.nii.gz"))
    lab = np.asarray(img.dataobj).astype(np.uint8)
    tw = np.asarray(nib.load(str(phantom / "twins.nii.gz")).dataobj).astype(np.uint8)
    aff = img.affine.copy()
    lp, tp = root / "labels.nii.gz", root / "twins.nii.gz"
    names = "labels.nii.gz"
    if case == "value":
        lab[40, 40, 40] = 7
    elif case == "orphan":
        tw[(lab > 0) & (tw == 1)] = 0
        names = "twins.nii.gz"
    elif case == "owner_without_tissue":
        tw[0, 0, 0] = 2
        lab[0, 0, 0] = 0
        names = "twins.nii.gz"
    elif case == "twin_missing":
        tw[tw == 2] = 1
        names = "twins.nii.gz"
    elif case == "empty":
        lab[:] = 0
        tw[:] = 0
    elif case == "spacing":
        aff[:3, :3] *= 1.5
    elif case == "rotated":
        t = np.deg2rad(10.0)
        rot = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
        aff[:3, :3] = rot @ aff[:3, :3]
    elif case == "offgrid":
        aff[:3, 3] += aff[:3, :3] @ np.array([0.5, 0, 0])
    elif case == "outside":
        aff[:3, 3] += aff[:3, :3] @ np.array([0, 0, 40.0])
    nib.save(nib.Nifti1Image(lab, aff), str(lp))
    nib.save(nib.Nifti1Image(tw, img.affine), str(tp))
    args = ["--segmentation", str(lp), "--twin-map", str(tp)]
    if case in ("overlap", "unknown_segment", "twin_map_with_slicer"):
        data = np.zeros((2, *lab.shape), np.uint8)
        data[0][(lab == 2) & (tw == 1)] = 1
        data[1][(lab == 2) & (tw == 2)] = 1
        data[1][(lab == 2) & (tw == 1)] = 1 if case == "overlap" else 0
        ras_to_lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine
        name = "Segment_7" if case == "unknown_segment" else "Twin B bone"
        header = {
            "space": "left-posterior-superior",
            "space directions": np.vstack([np.full(3, np.nan), ras_to_lps[:3, :3].T]),
            "space origin": ras_to_lps[:3, 3],
            "kinds": ["list", "domain", "domain", "domain"],
            "Segment0_Name": "Twin A bone",
            "Segment0_LabelValue": "1",
            "Segment0_Layer": "0",
            "Segment1_Name": name,
            "Segment1_LabelValue": "1",
            "Segment1_Layer": "1",
        }
        sp = root / "edited.seg.nrrd"
        nrrd.write(str(sp), data, header, index_order="F")
        args = ["--segmentation", str(sp)]
        names = "edited.seg.nrrd"
        if case == "twin_map_with_slicer":
            args += ["--twin-map", str(tp)]
            names = "twins.nii.gz"
    elif case == "twin_a_with_twin_map":
        args += ["--twin-a", "0,0,0"]
        names = "--twin-a"
    elif case == "mr_with_segmentation":
        args += ["--mr", str(phantom / "ct.nii.gz")]
        names = "--mr"
    elif case == "twin_map_alone":
        args = ["--twin-map", str(tp)]
        names = "--twin-map"
    elif case == "missing":
        args = ["--segmentation", str(root / "nowhere.nii.gz")]
        names = "nowhere.nii.gz"
    return args, names


BAD = {
    "value": "outside 0..5",
    "orphan": "have no twin",
    "owner_without_tissue": "belong to a twin but are background",
    "twin_missing": "no voxel of twin B",
    "empty": "holds no tissue",
    "spacing": "voxel size",
    "rotated": "turned 10.00 deg",
    "offgrid": "0.50 voxel off the CT's grid",
    "outside": "outside the CT",
    "overlap": "claimed by two segments",
    "unknown_segment": "'Segment_7'",
    "twin_map_with_slicer": "is a Slicer segmentation",
    "twin_a_with_twin_map": "leave --twin-a out",
    "mr_with_segmentation": "give one or the other",
    "twin_map_alone": "goes with the tissue label map",
    "missing": "not found",
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_segmentation_exits_2_in_one_line_and_writes_nothing(
    phantom: Path, tmp_path: Path, case: str
) -> None:
    root = tmp_path / "in"
    root.mkdir()
    args, names = _bad_inputs(phantom, root, case)
    before = {p.name: _sha(p) for p in [*root.iterdir(), phantom / "ct.nii.gz"]}
    out = tmp_path / "plan"
    code, err = _plan(phantom / "ct.nii.gz", out, *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert names in lines[0] and BAD[case] in lines[0], lines[0]
    assert not out.exists() and not work_dir_for(out).exists()
    after = {p.name: _sha(p) for p in [*root.iterdir(), phantom / "ct.nii.gz"]}
    assert after == before


def test_a_segmentation_inside_the_plan_folder_it_replaces_is_refused(
    phantom: Path, tmp_path: Path
) -> None:
    """Re-planning into the folder that holds the edited file (``--force``) would delete
    it with the old plan: exit 2, and the folder and the file stay as they were."""
    out = tmp_path / "plan"
    out.mkdir()
    (out / "plan.json").write_text("{}")
    edited = out / "labels.nii.gz"
    edited.write_bytes((phantom / "labels.nii.gz").read_bytes())
    before = _sha(edited)
    code, err = _plan(phantom / "ct.nii.gz", out, "--force", "--segmentation", str(edited))
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, err
    assert "lies in the plan folder plan, which this plan replaces" in lines[0]
    assert _sha(edited) == before and sorted(p.name for p in out.iterdir()) == [
        "labels.nii.gz",
        "plan.json",
    ]
    assert not work_dir_for(out).exists()
