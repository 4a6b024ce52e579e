"""A whole plan from a PACS export folder of a small phantom (``blind.pacs``).

The folder holds the axial series with its topogram exported inside it, a dose report
and a dose screen, every file and folder named after the patient, identifiers in every
tag where exports put them. One ``twinsep plan`` (subprocess, as a user runs it) must
load the only volume without the scouts, write a DICOM-SEG on its slices, leave no
identifier in any output byte (gzip members and zlib streams included, the stage cache
too, stdout and stderr) and leave the study untouched.

Before 2026-11-27 this input stopped with exit 2 ("slices differ in size"); loaded with
the scouts left out, the SEG export then died with exit 1; and the dose report's file
name put the patient's name into plan.json and report.html.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from blind.pacs import IDENTITY, ct_study, write_study
from phi_bytes import all_bytes
from tree_digest import tree_digest

pytestmark = pytest.mark.slow  # one whole plan of a 64-voxel phantom

SIZE = 64  # voxels along the longest axis: the smallest phantom that plans (about 15 s)


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, str]:
    from twinsep.phantom import make_phantom

    root = tmp_path_factory.mktemp("study")
    ct = make_phantom("vertical-II", size=SIZE, seed=3).ct
    series = ct_study(ct, root / "_work", extra=(), scout_in_series=True)
    study = write_study(series, root / "export", layout="pacs")
    before = tree_digest(study.parent)
    out = root / "plan"
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "plan", str(study), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(study.parent) == before, "the study was modified"
    return study, out, proc.stdout, proc.stderr


def test_the_study_plans_from_its_only_volume(planned: tuple[Path, Path, str, str]) -> None:
    _, out, _, _ = planned
    plan = json.loads((out / "plan.json").read_text())
    text = " ".join(plan["warnings"])
    assert "loaded the only one that is a volume" in text
    assert "left out 2 localizer (scout) images" in text
    assert plan["input"]["shape"][2] > 2  # the axial stack, not a topogram
    assert plan["input"]["path"].startswith("scan (name withheld")
    seg = out / "seg.dcm"
    assert seg.is_file(), "no DICOM-SEG: " + text


def test_no_identifier_in_any_output(planned: tuple[Path, Path, str, str]) -> None:
    _, out, stdout, stderr = planned
    tokens = IDENTITY.tokens()
    hits = []
    for p in sorted(q for q in out.rglob("*") if q.is_file()):
        data = all_bytes(p) + str(p.relative_to(out)).encode()
        hits += [(str(p.relative_to(out)), t.decode()) for t in tokens if t in data]
    for name, stream in (("stdout", stdout), ("stderr", stderr)):
        hits += [(name, t.decode()) for t in tokens if t in stream.encode()]
    assert hits == []


def test_a_rerun_keeps_what_the_loader_said(planned: tuple[Path, Path, str, str]) -> None:
    """``twinsep report DIR --scan STUDY`` re-runs the plan; the loader's warnings (which
    series of the study, the scouts left out) were dropped from plan.json by a re-run."""
    study, out, _, _ = planned
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "report", str(out), "--scan", str(study)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    text = " ".join(json.loads((out / "plan.json").read_text())["warnings"])
    assert "loaded the only one that is a volume" in text
    assert "left out 2 localizer (scout) images" in text
