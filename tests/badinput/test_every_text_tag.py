"""No value of any DICOM text element reaches an output (without --keep-phi).

A small CT series (classic and Enhanced CT) carries a unique marker in every text-like
element of the data dictionary (about 1 600: names, IDs, dates, times, UIDs, addresses,
descriptions, comments, code strings, nested sequences, private blocks in odd groups;
``text_tags.py``). The loader's record of the scan, ``twinsep --json check``, the
plan folder of a load-only plan and the DICOM-SEG written from those headers are
searched for every marker, its other date/time spellings and its hashes. Until session
27 ``seg.dcm`` held the source's study, series, instance and frame-of-reference UIDs and
a patient pseudonym that was the SHA-256 of the patient ID (docs/io.md "Red-team round 5").
The series UID's hash is what ``--series`` takes, so plan.json and ``check`` show it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from badinput.text_tags import write_marked
from phi_bytes import all_bytes
from twinsep.cli import app
from twinsep.interop.dicomseg import find_sources, write_dicom_seg
from twinsep.io import load_scan
from twinsep.plan import PlanOptions, run_plan
from twinsep.volume import Volume

#: Made by the scanner, kept on purpose (the SEG's equipment: what made the image).
KEPT = frozenset({"Manufacturer", "ManufacturerModelName", "SoftwareVersions"})


def _volume() -> Volume:
    aff = np.diag([-0.9, 1.1, 2.0, 1.0])
    aff[:3, 3] = [40.0, -20.0, 5.0]
    ct = np.full((16, 14, 9), -1000, np.int16)
    ct[3:13, 2:12, 1:8] = 40
    ct[5:9, 4:8, 3:6] = 900
    ct += np.random.default_rng(2).integers(-20, 20, ct.shape).astype(np.int16)
    return Volume(ct, aff)


def _hits(blob: bytes, needles: dict[bytes, str]) -> list[str]:
    blob = blob.upper()
    return sorted({f"{n.decode()} ({where})" for n, where in needles.items() if n in blob})


@pytest.mark.parametrize("kind", ["series", "enhanced"])
def test_no_text_element_reaches_an_output(tmp_path: Path, kind: str) -> None:
    given, markers = write_marked(_volume(), tmp_path, kind)
    assert len(markers.where) > 1000
    needles = markers.needles(allowed=lambda where: where == "SeriesInstanceUID")
    scan = load_scan(given)
    info = scan.info
    assert _hits(repr(info).encode() + repr(scan.volume.affine).encode(), needles) == []

    result = CliRunner().invoke(app, ["--json", "check", str(given)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)  # the summary is there, and holds no marker
    assert _hits(result.output.replace(str(given), "").encode(), needles) == []

    out = tmp_path / "plan"
    run_plan(PlanOptions(scan_path=given), out, stages=[])
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert files
    assert {str(p.relative_to(out)): _hits(all_bytes(p), needles) for p in files} == {
        str(p.relative_to(out)): [] for p in files
    }

    # the DICOM-SEG from these headers: a twin x tissue map on the scan's grid
    labels = (scan.volume.array > -500).astype(np.uint8) + (scan.volume.array > 500)
    twins = np.where(labels > 0, 1 + (np.indices(labels.shape)[0] >= 8), 0).astype(np.uint8)
    sources = find_sources(given, info.series_uid_hash)
    seg = tmp_path / "seg.dcm"
    write_dicom_seg(
        scan.volume.with_array(labels),
        scan.volume.with_array(twins),
        sources,
        seg,
        colour_a="#7B3FA0",
        colour_b="#F28C28",
    )
    kept = {n: w for n, w in needles.items() if w not in KEPT}
    assert _hits(seg.read_bytes(), kept) == []
    # --keep-phi: the SEG for the hospital's archive keeps the patient and the UIDs
    # (and the search finds them: it searches what it should)
    control = tmp_path / "kept.dcm"
    write_dicom_seg(
        scan.volume.with_array(labels),
        scan.volume.with_array(twins),
        sources,
        control,
        colour_a="#7B3FA0",
        colour_b="#F28C28",
        keep_phi=True,
    )
    found = " ".join(_hits(control.read_bytes(), kept))
    assert "(PatientName)" in found and "(StudyInstanceUID)" in found
