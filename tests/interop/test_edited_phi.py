"""The user's segmentation files named after the patient (``--segmentation``,
``--twin-map``) and an MR converted under the patient's name (``--mr``): their names
never reach the plan folder without ``--keep-phi`` (DESIGN.md, "Patient names and IDs
never reach outputs").

A DICOM CT of "ZZDOE^ZZJANE" (ID ZZPID4471) is planned from its own label maps saved as
``ZZDOE_ZZJANE_seg.nii.gz`` and ``ZZPID4471_twins.nii.gz``: only the two stages that read
them run (segment, twins; the report shows plan.json's ``input.segmentation``), so a
test costs seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from phi_bytes import all_bytes
from twinsep.errors import InputError
from twinsep.plan import (
    WITHHELD_PATH,
    PlanOptions,
    StageContext,
    run_plan,
    withheld_name,
)

NAME, PID = "ZZDOE^ZZJANE", "ZZPID4471"
NEEDLES = (b"ZZDOE", b"ZZJANE", PID.encode())
SEG, TWINS = "ZZDOE_ZZJANE_seg.nii.gz", "ZZPID4471_twins.nii.gz"


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DICOM CT (``ct/``) and its label maps under the patient's name; twin B holds
    a stray cube of twin A's tissue (a piece apart from its main piece)."""
    from scipy import ndimage

    from twinsep.phantom import make_phantom, write_phantom

    root = tmp_path_factory.mktemp("phi")
    ph = make_phantom("vertical-II", size=64, seed=3)
    write_phantom(ph, root, dicom=True, patient_name=NAME, patient_id=PID, birth_date="20250101")
    (root / "labels.nii.gz").rename(root / SEG)
    img = nib.load(str(root / "twins.nii.gz"))
    twins = np.asarray(img.dataobj).astype(np.uint8)
    labels = np.asarray(nib.load(str(root / SEG)).dataobj)
    far = ndimage.distance_transform_edt(twins != 2)
    i, j, k = np.argwhere((twins == 1) & (labels > 0) & (far > 8))[0]
    cube = np.zeros(twins.shape, bool)
    cube[i : i + 2, j : j + 2, k : k + 2] = True
    twins[cube & (labels > 0)] = 2
    nib.save(nib.Nifti1Image(twins, img.affine), str(root / TWINS))
    (root / "twins.nii.gz").unlink()
    return root


def _stages() -> list:
    from twinsep.segment.stage import build_stage as segment
    from twinsep.twins.stage import build_stage as twins

    return [segment(), twins()]


def _plan(case: Path, out: Path, *, keep_phi: bool = False) -> dict:
    opts = PlanOptions(
        scan_path=case / "ct",
        segmentation_path=case / SEG,
        twin_map_path=case / TWINS,
        keep_phi=keep_phi,
    )
    run_plan(opts, out, stages=_stages())
    plan: dict = json.loads((out / "plan.json").read_text())
    return plan


def test_segmentation_files_named_after_the_patient_are_withheld(
    case: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan"
    plan = _plan(case, out)
    seg = plan["input"]["segmentation"]
    assert seg["file"] == withheld_name("segmentation") == plan["options"]["segmentation_path"]
    assert seg["twin_map"]["file"] == withheld_name("twin map")
    assert plan["options"]["twin_map_path"] == withheld_name("twin map")
    assert "twin map (name withheld" in plan["twin_assignment"]["rule"]
    # plan.json, the label maps and the stage cache (the labels' source, the twins' rule)
    files = sorted(q for q in out.rglob("*") if q.is_file())
    assert any(q.parent.name == ".cache" for q in files)
    for p in files:
        blob = all_bytes(p)
        for needle in NEEDLES:
            assert needle not in blob, f"{needle!r} found in {p.relative_to(out)}"
    # the stray piece is warned about once (read once, by the segment stage)
    pieces = [w for w in plan["warnings"] if "is in 2 pieces" in w]
    assert len(pieces) == 1 and pieces[0].startswith("segment: twin B is in 2 pieces")


def test_keep_phi_keeps_the_file_names(case: Path, tmp_path: Path) -> None:
    plan = _plan(case, tmp_path / "plan", keep_phi=True)
    assert plan["input"]["segmentation"]["file"] == SEG
    assert plan["input"]["segmentation"]["twin_map"]["file"] == TWINS
    assert plan["options"]["segmentation_path"] == str(case / SEG)


def test_a_withheld_segmentation_is_asked_for_plainly(tmp_path: Path) -> None:
    """A re-run that must read the segmentation again (a deleted cache) cannot find a
    withheld name: it says so and how to plan again (the re-run commands take no
    --segmentation)."""
    opts = PlanOptions(
        scan_path=tmp_path / "ct.nii.gz",
        segmentation_path=tmp_path / withheld_name("segmentation"),
    )
    ctx = StageContext(opts)
    ctx.input_info = {"segmentation": {"file": withheld_name("segmentation"), "sha256": "0"}}
    with pytest.raises(InputError) as err:
        ctx.edited  # noqa: B018 - reads the file
    line = err.value.one_line()
    assert line.startswith("--segmentation: stage plan must be recomputed"), line
    assert "twinsep plan SCAN --segmentation FILE" in line and "withheld" not in line


def test_an_mr_named_after_the_patient_is_withheld(case: Path, tmp_path: Path) -> None:
    """An MR converted to NIfTI under the patient's name has no header to tell it: its
    name is checked against the CT's identifiers."""
    seg = nib.load(str(case / SEG))
    rng = np.random.default_rng(0)
    mr_values = np.asarray(seg.dataobj, np.float32) * 150.0 + rng.normal(50.0, 5.0, seg.shape)
    mr = tmp_path / "ZZJANE_t1.nii.gz"
    nib.save(nib.Nifti1Image(mr_values.astype(np.float32), seg.affine), str(mr))
    out = tmp_path / "plan"
    run = run_plan(PlanOptions(scan_path=case / "ct", mr_path=mr), out, stages=[])
    assert run.plan["options"]["mr_path"] == WITHHELD_PATH
    assert b"ZZJANE" not in (out / "plan.json").read_bytes()
