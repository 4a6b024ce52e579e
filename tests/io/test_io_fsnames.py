"""Scans whose file or folder names are not UTF-8 (Latin-1 bytes from another system).

Found by the red-team sweep (2026-11-28): SimpleITK aborted the whole process on such a
name (``std::logic_error``, exit 134, no message) - the NIfTI fast path and every NRRD /
MetaImage - and, read another way, the name broke plan.json and report.html after every
stage had run (UnicodeEncodeError, exit 1). The subprocess tests are the ones an abort
cannot take down with the test runner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from io_volumes import make_volume

from twinsep.io import load_scan, save_volume
from twinsep.io.fsnames import printable_name

_LATIN1 = b"sch\xe4del"  # "schädel" in Latin-1: not UTF-8


def _bytes_path(folder: Path, name: bytes) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), name)))


def test_printable_name_escapes_only_what_is_not_utf8() -> None:
    assert printable_name("ct_schädel.nii.gz") == "ct_schädel.nii.gz"
    name = os.fsdecode(_LATIN1 + b".nii.gz")
    assert printable_name(name) == "sch\\xe4del.nii.gz"
    printable_name(name).encode("utf-8")  # what plan.json and the report write


@pytest.mark.parametrize(
    ("where", "suffix"),
    [("file", ".nii.gz"), ("file", ".nrrd"), ("file", ".mha"), ("folder", ".nhdr")],
)
def test_a_latin1_name_loads_in_a_subprocess(tmp_path: Path, where: str, suffix: str) -> None:
    vol = make_volume("oblique", seed=6)
    if where == "folder":  # a detached header finds its data file beside it
        folder = _bytes_path(tmp_path, _LATIN1)
        folder.mkdir()
        import nrrd

        lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ vol.affine
        path = folder / "ct.nhdr"
        nrrd.write(
            str(path),
            vol.array,
            {
                "space": "left-posterior-superior",
                "space directions": lps[:3, :3].T.tolist(),
                "space origin": lps[:3, 3].tolist(),
            },
            detached_header=True,
        )
    else:
        path = _bytes_path(tmp_path, _LATIN1 + suffix.encode())
        save_volume(vol, path)
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "--json", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-400:])
    scan = load_scan(path)  # safe in-process once the subprocess survived
    np.testing.assert_array_equal(scan.volume.array, vol.array)
    np.testing.assert_allclose(scan.volume.affine, vol.affine, atol=1e-4)


def test_plan_json_names_a_latin1_scan_in_utf8(tmp_path: Path) -> None:
    from twinsep.plan import PlanOptions, assemble_plan

    path = _bytes_path(tmp_path, _LATIN1 + b".nii.gz")
    save_volume(make_volume("lps_axial", seed=2), path)
    info = load_scan(path).info.model_dump(mode="json")
    for keep_phi in (False, True):
        plan = assemble_plan(
            PlanOptions(scan_path=path, keep_phi=keep_phi), info, {}, [], {}, {}, {}
        )
        text = json.dumps(plan, ensure_ascii=False)
        text.encode("utf-8")  # raised UnicodeEncodeError: the plan was lost (exit 1)
        assert plan["input"]["path"] is not None
    assert "sch\\xe4del.nii.gz" in plan["options"]["scan_path"]  # --keep-phi: the name


def test_an_edited_map_named_in_latin1_is_recorded_in_utf8(tmp_path: Path) -> None:
    """--segmentation / --twin-map files named in Latin-1: their names reach plan.json
    (input.segmentation) and the report; the plan ended in UnicodeEncodeError (exit 1)."""
    from twinsep.interop.edited import read_edited_segmentation
    from twinsep.volume import Volume

    ct = make_volume("lps_axial", seed=2)
    lab = np.zeros(ct.shape, np.uint8)
    lab[2:18, 2:16, 2:10] = 1
    lab[5:15, 5:13, 4:8] = 3
    twins = np.where(lab > 0, 1, 0).astype(np.uint8)
    twins[10:][lab[10:] > 0] = 2
    lab_path = _bytes_path(tmp_path, b"lab_" + _LATIN1 + b".nii.gz")
    twin_path = _bytes_path(tmp_path, b"tw_" + _LATIN1 + b".nii.gz")
    save_volume(Volume(lab, ct.affine), lab_path)
    save_volume(Volume(twins, ct.affine), twin_path)
    edited = read_edited_segmentation(lab_path, ct, twin_map=twin_path)
    text = json.dumps(edited.provenance(), ensure_ascii=False)
    text.encode("utf-8")
    assert [f.name for f in edited.files] == ["lab_sch\\xe4del.nii.gz", "tw_sch\\xe4del.nii.gz"]
