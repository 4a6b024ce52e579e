"""End to end on a small phantom: files, determinism, crash-resume, PHI, inputs untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from phi_bytes import all_bytes
from twinsep.plan import work_dir_for

pytestmark = pytest.mark.slow  # four whole plans of an 80-voxel phantom

PATIENT_NAME = "ZZTESTPATIENT^MARIA"
PATIENT_ID = "ZZID-31415926"
BIRTH_DATE = "20250317"
SIZE = 80  # voxels along the longest axis: small enough for CI, big enough for anatomy
# (the size of the shared reference plan, tests/conftest.py vertical_ii_plan)


def _twinsep(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _stable_plan(plan_dir: Path) -> dict[str, Any]:
    plan = json.loads((plan_dir / "plan.json").read_text())
    for key in ("created", "timings_s", "peak_rss_mb"):
        plan.pop(key, None)
    return plan


@pytest.fixture(scope="module")
def phantom_dir(vertical_ii_plan: tuple[Path, Path]) -> Path:
    """The folder that holds ``nifti/`` (vertical-II, SIZE voxels, seed 3)."""
    return vertical_ii_plan[0].parent


@pytest.fixture(scope="module")
def reference_plan(vertical_ii_plan: tuple[Path, Path]) -> Path:
    """The phantom planned by ``python -m twinsep.cli plan``, which left its input as it
    was (the session fixture ``vertical_ii_plan`` of tests/conftest.py, which
    test_plan_edited.py also reads)."""
    return vertical_ii_plan[1]


def test_plan_folder_has_every_output(reference_plan: Path) -> None:
    for name in (
        "plan.json",
        "labels.nii.gz",
        "twins.nii.gz",
        "separation.nii.gz",
        "report.html",
        "schedule.csv",
        "schedule.ics",
        "gantt.svg",
        "twins.seg.nrrd",
        "models/scene.glb",
    ):
        assert (reference_plan / name).is_file(), name
    plan = json.loads((reference_plan / "plan.json").read_text())
    for key in (
        "schema",
        "version",
        "created",
        "input",
        "twins",
        "fusion",
        "shared",
        "separation",
        "skin",
        "bone",
        "models",
        "schedule",
        "warnings",
        "timings_s",
        "peak_rss_mb",
    ):
        assert key in plan, key
    assert plan["input"]["deidentified"] is True


def test_the_scan_file_name_reaches_no_output(reference_plan: Path) -> None:
    """The reference plan's CT is a NIfTI named after a patient, in a folder named after
    the patient (tests/conftest.py ``NAMED_SCAN``): no output byte and nothing the CLI
    printed holds those names; plan.json calls the scan by a neutral name beside its
    SHA-256. Before session 26 plan.json, report.html and two stage results named it."""
    needles = (b"ZZDOE", b"ZZJOHN", b"MRN12345678", b"87654321_CT")
    hits = []
    for p in sorted(q for q in reference_plan.rglob("*") if q.is_file()):
        blob = (all_bytes(p) + str(p.relative_to(reference_plan)).encode()).upper()
        hits += [(str(p.relative_to(reference_plan)), n.decode()) for n in needles if n in blob]
    printed = (reference_plan.parent / "cli_output.txt").read_bytes().upper()
    hits += [("stdout/stderr", n.decode()) for n in needles if n in printed]
    assert hits == []
    plan = json.loads((reference_plan / "plan.json").read_text())
    assert plan["input"]["path"] == "scan (name not recorded: --keep-phi records it)"
    assert len(plan["input"]["sha256"]) == 64


def test_twin_volumes_describe_the_written_twin_map(reference_plan: Path) -> None:
    """plan.json's per-twin volumes are those of twins.nii.gz (the map after the
    separation surface moved the boundary), counted here from the two label files."""
    import nibabel as nib

    from twinsep import labels as L

    plan = json.loads((reference_plan / "plan.json").read_text())
    lab_img = nib.load(reference_plan / "labels.nii.gz")
    lab = np.asarray(lab_img.dataobj)
    tw = np.asarray(nib.load(reference_plan / "twins.nii.gz").dataobj)
    vox_ml = float(abs(np.linalg.det(lab_img.affine[:3, :3]))) / 1000.0
    moved = plan["separation"]["moved_ml"]
    assert moved["A_to_B"] + moved["B_to_A"] > 0, "the cut moved nothing: the test is void"
    for t, name in L.TWIN_NAMES.items():
        entry = plan["twins"][name]
        for v, tn in L.TISSUE_NAMES.items():
            want = np.count_nonzero((tw == t) & (lab == v)) * vox_ml
            assert entry["tissue_ml"][tn] == pytest.approx(want, abs=2e-3), (name, tn)
        want = np.count_nonzero((tw == t) & (lab > 0)) * vox_ml - entry["expander_fill_ml"]
        assert entry["volume_ml"] == pytest.approx(want, abs=5e-3), name


def test_one_expander_insertion_day_in_every_output(reference_plan: Path) -> None:
    """plan.json's skin and schedule, the CSV, the calendar, the Gantt and the report
    give the expander operation one day before the separation (session 29: the skin
    section counted from the fills' lead while the schedule could date the operation
    earlier)."""
    import csv
    from datetime import datetime, timedelta

    plan = json.loads((reference_plan / "plan.json").read_text())
    skin = plan["skin"]
    day = skin["insertion_days_before_separation"]
    assert isinstance(day, int) and skin["latest_insertion_days_before_separation"] <= day
    (op,) = [
        o for o in plan["schedule"]["earlier_operations"] if "expander" in o["operation"].lower()
    ]
    assert op["days_before_separation"] == day
    assert op["p90_min"] >= op["p50_min"] > 0  # the preparatory day's P50 / P90 too
    name = op["operation"]
    with open(reference_plan / "schedule.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["operation"] == name]
    assert rows and {r["days_before_separation"] for r in rows} == {str(day)}
    ics = (reference_plan / "schedule.ics").read_bytes().decode().replace("\r\n ", "")
    on = (datetime(2000, 1, 3) - timedelta(days=day)).strftime("%Y%m%d")  # nominal day
    events = [e for e in ics.split("BEGIN:VEVENT")[1:] if f"CATEGORIES:{name}" in e]
    assert events and all(f"DTSTART:{on}" in e for e in events)
    gantt = (reference_plan / "gantt.html").read_text()
    assert gantt[gantt.index(f"<td>{name}</td>") :].split("</td>")[1] == f"<td>{day}"
    report = (reference_plan / "report.html").read_text()
    assert f"inserted {day} days before the separation operation" in report


def test_two_runs_give_the_same_plan(
    reference_plan: Path, phantom_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "again"
    proc = _twinsep("plan", str(phantom_dir / "nifti" / "ct.nii.gz"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert _stable_plan(out) == _stable_plan(reference_plan)
    # every other output byte for byte (plan.json and report.html carry the run's times)
    names = sorted(
        str(p.relative_to(reference_plan))
        for p in reference_plan.rglob("*")
        if p.is_file() and ".cache" not in p.parts and p.name not in ("plan.json", "report.html")
    )
    assert "twins.seg.nrrd" in names and "skin_plan.svg" in names
    for name in names:
        assert (out / name).read_bytes() == (reference_plan / name).read_bytes(), name


def test_killed_run_resumes_to_the_same_plan(
    reference_plan: Path, phantom_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    work = work_dir_for(out)
    cmd = [
        sys.executable,
        "-m",
        "twinsep.cli",
        "--quiet",
        "plan",
        str(phantom_dir / "nifti" / "ct.nii.gz"),
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # kill once a few stage results are in the cache (the stage count is fixed, not random,
    # so the test is reproducible: the third finished stage)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((work / ".cache").glob("*.pkl"))) >= 3:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the plan finished before it could be killed")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "a killed run must not leave a plan folder"
    proc2 = _twinsep("--json", "plan", str(phantom_dir / "nifti" / "ct.nii.gz"), "--out", str(out))
    assert proc2.returncode == 0, proc2.stderr
    summary = json.loads(proc2.stdout)
    assert len(summary["cached"]) >= 3, summary
    assert _stable_plan(out) == _stable_plan(reference_plan)


def test_no_phi_in_any_output(tmp_path: Path) -> None:
    from twinsep.phantom import make_phantom, write_phantom

    src = tmp_path / "dicom"
    ph = make_phantom("vertical-II", size=SIZE, seed=3)
    write_phantom(
        ph, src, dicom=True, patient_name=PATIENT_NAME, patient_id=PATIENT_ID, birth_date=BIRTH_DATE
    )
    # a PACS-style export: the folder is named after the patient, and the headers carry
    # identifiers beyond name/ID/birth date (a sweep found these in plan.json,
    # report.html, the stage cache and seg.dcm)
    ct = src / "ZZTESTPATIENT_MARIA_ZZID-31415926"
    (src / "ct").rename(ct)
    for f in ct.iterdir():
        ds = pydicom.dcmread(f)
        ds.ConsultingPhysicianName = "ZZCONSULT^DR"
        ds.StudyDescription = "CT head ZZTESTPATIENT twins"
        ds.PatientComments = "mother ZZMOTHER"
        ds.InstitutionName = "ZZINSTITUTE"
        ds.save_as(f, enforce_file_format=True)
    assert any(PATIENT_NAME.encode() in p.read_bytes() for p in ct.iterdir())
    out = tmp_path / "plan"
    proc = _twinsep("plan", str(ct), "--out", str(out), "--pdf")
    assert proc.returncode == 0, proc.stderr
    assert (out / "seg.dcm").is_file()
    needles = [
        PATIENT_NAME.encode(),
        PATIENT_NAME.split("^")[0].encode(),
        PATIENT_ID.encode(),
        BIRTH_DATE.encode(),
        PATIENT_NAME.encode("utf-16-le"),
        b"ZZCONSULT",
        b"ZZMOTHER",
        b"ZZINSTITUTE",
    ]
    assert not any(n in (proc.stdout + proc.stderr).encode() for n in needles)
    for p in sorted(q for q in out.rglob("*") if q.is_file()):
        blob = all_bytes(p)
        for needle in needles:
            assert needle not in blob, f"{needle!r} found in {p.relative_to(out)}"
