"""Input files named after the patient reach no output of a plan (without --keep-phi).

A NIfTI, NRRD or MetaImage scan carries nothing that tells a patient's name from any
other file name (``DOE_JOHN_ct.nii.gz``, ``/data/Doe^John/ct.nii.gz``), so a plan made
without ``--keep-phi`` records no input file's name: plan.json's ``input.path`` and
``options``, the stage results and the report give a neutral name beside the file's
SHA-256 (docs/io.md, "Input file names in outputs"). Until session 26 the file's name
was recorded (plan.json, report.html and two stage-cache files of a 64-voxel plan held
it). Error lines still name the file as the user typed it: they go to the user's stderr.
The whole plan (report, models, schedule) is searched in tests/test_e2e.py, whose shared
reference plan is made from such a file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from phi_bytes import all_bytes
from twinsep.errors import InputError
from twinsep.plan import PlanOptions, read_plan, run_plan, unrecorded_name

#: Planted in the folder and file names only (the headers hold no identifier).
NEEDLES = (b"ZZDOE", b"ZZJOHN", b"12345678", b"87654321")
FOLDER = "Zzdoe^Zzjohn_MRN12345678"


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 48-voxel phantom's CT, tissue map and twin map, each named after the patient,
    in a folder named after the patient."""
    from twinsep.phantom import make_phantom, write_phantom

    root = tmp_path_factory.mktemp("names")
    write_phantom(make_phantom("vertical-II", size=48, seed=3), root / "ph")
    folder = root / FOLDER
    folder.mkdir()
    files = {
        "ct": folder / "ZZDOE_ZZJOHN_87654321_ct.nii.gz",
        "labels": folder / "ZZDOE_seg.nii.gz",
        "twins": folder / "ZZJOHN_12345678_twins.nii.gz",
    }
    for src, dst in (("ct", "ct"), ("labels", "labels"), ("twins", "twins")):
        shutil.copy(root / "ph" / f"{src}.nii.gz", files[dst])
    return files


def _stages() -> list:
    from twinsep.segment.stage import build_stage as segment
    from twinsep.twins.stage import build_stage as twins

    return [segment(), twins()]


def _hits(out: Path) -> dict[str, list[str]]:
    found = {}
    for p in sorted(q for q in out.rglob("*") if q.is_file()):
        blob = all_bytes(p).upper()
        hit = [n.decode() for n in NEEDLES if n in blob]
        if hit:
            found[str(p.relative_to(out))] = hit
    return found


def test_no_input_file_name_reaches_the_plan(named: dict[str, Path], tmp_path: Path) -> None:
    """plan.json, the label maps and the stage cache of the two stages that read the
    files (the scan's and the maps' names are their results' source)."""
    opts = PlanOptions(
        scan_path=named["ct"],
        segmentation_path=named["labels"],
        twin_map_path=named["twins"],
    )
    out = tmp_path / "plan"
    run_plan(opts, out, stages=_stages())
    plan = read_plan(out)
    assert plan["input"]["path"] == unrecorded_name("scan") == plan["options"]["scan_path"]
    assert plan["input"]["sha256"]  # what identifies the file instead
    seg = plan["input"]["segmentation"]
    assert seg["file"] == unrecorded_name("segmentation") == plan["options"]["segmentation_path"]
    assert seg["twin_map"]["file"] == unrecorded_name("twin map")
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert any(f.startswith(".cache/") for f in files) and "labels.nii.gz" in files
    assert _hits(out) == {}
    # --keep-phi records them (the search finds what it looks for)
    kept = tmp_path / "kept"
    run_plan(
        PlanOptions(
            scan_path=named["ct"],
            segmentation_path=named["labels"],
            twin_map_path=named["twins"],
            keep_phi=True,
        ),
        kept,
        stages=_stages(),
    )
    assert "plan.json" in _hits(kept)
    assert read_plan(kept)["input"]["path"] == str(named["ct"])


def test_an_mr_named_after_the_patient_is_not_named(named: dict[str, Path], tmp_path: Path) -> None:
    """An MR converted to NIfTI under the patient's name, with a CT that has no header
    identifiers to compare it with (before: ``options.mr_path`` held its name)."""
    mr = named["ct"].with_name("ZZJOHN_t1.nii.gz")
    img = nib.load(str(named["labels"]))
    rng = np.random.default_rng(0)
    values = np.asarray(img.dataobj, np.float32) * 150.0 + rng.normal(50.0, 5.0, img.shape)
    nib.save(nib.Nifti1Image(values.astype(np.float32), img.affine), str(mr))
    out = tmp_path / "plan"
    run = run_plan(PlanOptions(scan_path=named["ct"], mr_path=mr), out, stages=[])
    assert run.plan["options"]["mr_path"] == unrecorded_name("MR")
    assert _hits(out) == {}


def test_a_stage_error_names_the_file_as_typed(tmp_path: Path) -> None:
    """A refusal by a stage (here the CT segmentation: no soft tissue) starts with the
    path the user gave, not with the neutral name the stage results carry."""
    folder = tmp_path / FOLDER
    folder.mkdir()
    ct = folder / "ZZDOE_ZZJOHN_ct.nii.gz"
    rng = np.random.default_rng(1)
    arr = rng.integers(-1010, -990, (32, 32, 32)).astype(np.int16)
    arr[8:24, 8:24, 8:24] += 2500  # air and bone only: a CT without soft tissue
    nib.save(nib.Nifti1Image(arr, np.diag([2.0, 2.0, 2.0, 1.0])), str(ct))
    with pytest.raises(InputError) as err:
        run_plan(PlanOptions(scan_path=ct), tmp_path / "plan", stages=_stages()[:1])
    line = err.value.one_line()
    assert line.startswith(f"{ct}: has no soft-tissue peak"), line
    assert str(err.value) == line and "not recorded" not in line
    assert not (tmp_path / "plan").exists()


def test_a_demo_plan_keeps_its_case_file_name(named: dict[str, Path], tmp_path: Path) -> None:
    """A built-in case's scan is a file twinsep wrote (no patient): its name is kept, so
    that ``twinsep view`` finds it in the demo's case cache by that name."""
    scan = tmp_path / "ct.nii.gz"
    shutil.copy(named["ct"], scan)
    run = run_plan(PlanOptions(scan_path=scan, case="vertical-II"), tmp_path / "plan", stages=[])
    assert run.plan["input"]["path"] == "ct.nii.gz" == run.plan["options"]["scan_path"]
