"""The command line keeps its contract: exit codes, one-line errors, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from badinput.corpus import CASES
from twinsep.cli import app
from twinsep.plan import work_dir_for

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_on_bad_input_exits_2_and_writes_nothing(name: str, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    case = CASES[name](tmp_path / "in")
    if name == "unreadable_file" and os.geteuid() == 0:
        pytest.skip("root reads chmod-000 files")
    out = tmp_path / "plan"
    args = ["plan", str(case.path), "--out", str(out)]
    if case.series_uid:
        args += ["--series", case.series_uid]
    code, stdout, stderr = _invoke(*args)
    assert code == 2, (stdout, stderr)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert case.names in lines[0]
    assert "Traceback" not in stderr + stdout
    assert not out.exists() and not work_dir_for(out).exists()


def test_check_bad_input_exits_2(tmp_path: Path) -> None:
    case = CASES["gantry_tilt"](tmp_path)
    code, _, stderr = _invoke("check", str(case.path))
    assert code == 2 and "tilt" in stderr.lower()


def test_unknown_options_are_input_errors(tmp_path: Path) -> None:
    case = CASES["nan_values"](tmp_path)  # never reached: options are checked first
    code, _, stderr = _invoke(
        "plan", str(case.path), "--out", str(tmp_path / "p"), "--colour-a", "violet"
    )
    assert code == 2 and "--colour-a" in stderr
    code, _, stderr = _invoke(
        "plan", str(case.path), "--out", str(tmp_path / "p"), "--twin-a", "1,2"
    )
    assert code == 2 and "--twin-a" in stderr
    code, _, stderr = _invoke("demo", "--case", "nope", "--out", str(tmp_path / "d"))
    assert code == 2 and "nope" in stderr


def test_missing_plan_folder_is_input_error(tmp_path: Path) -> None:
    code, _, stderr = _invoke("report", str(tmp_path / "none"))
    assert code == 2 and "plan.json" in stderr


def test_plan_names_a_missing_input_as_missing(tmp_path: Path) -> None:
    """A new plan of a path that is not there says so (it said the plan must be
    recomputed and needs the scan, which a new plan never had); so for --mr."""
    out = tmp_path / "plan"
    code, _, stderr = _invoke("plan", str(tmp_path / "nowhere.nii.gz"), "--out", str(out))
    assert code == 2 and stderr.strip() == f"error: {tmp_path / 'nowhere.nii.gz'}: does not exist"
    scan = tmp_path / "ct.nii.gz"
    scan.write_bytes(b"")
    args = ["plan", str(scan), "--mr", str(tmp_path / "t1.nii.gz"), "--out", str(out)]
    code, _, stderr = _invoke(*args)
    assert code == 2 and stderr.strip() == f"error: {tmp_path / 't1.nii.gz'}: does not exist"
    assert not out.exists() and not work_dir_for(out).exists()


def test_view_refuses_a_network_address(tmp_path: Path) -> None:
    """The viewer listens on loopback only: another --host is a one-line exit 2."""
    code, stdout, stderr = _invoke("view", str(tmp_path), "--host", "0.0.0.0", "--no-browser")
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, (stdout, stderr)
    assert "--host" in lines[0] and "127.0.0.1 only" in lines[0]


def test_subprocess_exit_code_and_single_line(tmp_path: Path) -> None:
    """The installed entry point, not just the in-process runner."""
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "notes.txt" in proc.stderr


def test_global_flags_after_the_command() -> None:
    from twinsep.cli import hoist_global_flags

    assert hoist_global_flags(["plan", "ct.nii", "--out", "p", "--json"]) == [
        "--json",
        "plan",
        "ct.nii",
        "--out",
        "p",
    ]
    assert hoist_global_flags(["--quiet", "check", "x", "-q", "--debug"]) == [
        "--quiet",
        "-q",
        "--debug",
        "check",
        "x",
    ]
    assert hoist_global_flags(["check", "--", "--json"]) == ["check", "--", "--json"]
    assert hoist_global_flags(["--version"]) == ["--version"]


def test_json_after_the_command_through_the_entry_point(tmp_path: Path) -> None:
    import numpy as np

    from twinsep.io import save_volume
    from twinsep.volume import Volume

    arr = np.random.default_rng(1).normal(0, 300, (12, 10, 8)).astype(np.int16)
    arr[0, 0, 0], arr[1, 1, 1] = -1000, 1500
    path = tmp_path / "ct.nii.gz"
    save_volume(Volume(arr, np.diag([0.5, 0.5, 1.0, 1.0])), path)
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "check", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["shape"] == [12, 10, 8]


def test_version_and_help() -> None:
    code, stdout, _ = _invoke("--version")
    assert code == 0 and stdout.startswith("twinsep ")
    code, stdout, _ = _invoke("--help")
    assert code == 0
    for command in ("demo", "plan", "phantom", "view", "rehearse", "schedule", "report", "check"):
        assert command in stdout


def test_phantom_list_needs_no_folder() -> None:
    code, stdout, _ = _invoke("phantom", "--list")
    assert code == 0 and "vertical-II" in stdout.split()
    code, _, stderr = _invoke("phantom")  # no folder and no --list: one line, exit 2
    assert code == 2 and "OUT" in stderr and len(stderr.strip().splitlines()) == 1


def test_json_summary_of_check(tmp_path: Path) -> None:
    import numpy as np

    from twinsep.io import save_volume
    from twinsep.volume import Volume

    rng = np.random.default_rng(0)
    arr = rng.normal(0, 300, (20, 18, 16)).astype(np.int16)
    arr[0, 0, 0] = -1000
    arr[1, 1, 1] = 1500
    path = tmp_path / "ct.nii.gz"
    save_volume(Volume(arr, np.diag([0.5, 0.5, 1.0, 1.0])), path)
    code, stdout, _ = _invoke("--json", "check", str(path))
    assert code == 0
    info = json.loads(stdout)
    assert info["shape"] == [20, 18, 16] and info["spacing_mm"] == [0.5, 0.5, 1.0]


def _series_with_truncated_sibling(folder: Path) -> Path:
    """A 16x16x6 CT series plus a truncated RLE file of another series in the same folder
    (pydicom warns about it through its logger and ``warnings`` when the folder is read)."""
    import numpy as np
    import pydicom
    from pydicom.uid import RLELossless

    from twinsep.io import write_dicom_series
    from twinsep.volume import Volume

    values = (np.arange(16 * 16 * 6).reshape(16, 16, 6) % 1500 - 500).astype(np.int16)
    write_dicom_series(Volume(values, np.diag([1.0, 1.0, 2.0, 1.0])), folder / "ser")
    ds = pydicom.dcmread(sorted((folder / "ser").iterdir())[0])
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.99"
    ds.compress(RLELossless)
    ds.save_as(folder / "rle.dcm", enforce_file_format=True)
    blob = (folder / "rle.dcm").read_bytes()
    (folder / "ser" / "zz_truncated.dcm").write_bytes(blob[:-40])
    return folder / "ser"


def test_reader_noise_stays_off_stderr(tmp_path: Path) -> None:
    series = _series_with_truncated_sibling(tmp_path)
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    cmd = [sys.executable, "-m", "twinsep.cli", "check", str(series)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "--debug", "check", str(series)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert debug.returncode == 0
    assert "zz_truncated.dcm" in debug.stderr  # --debug still shows what the reader said


def test_reader_error_logs_stay_off_stderr(tmp_path: Path) -> None:
    """nibabel logs a bad vox_offset at ERROR (through a stderr handler of its own and the
    root logger) before it raises: the user sees twinsep's one line only."""
    import struct

    import numpy as np

    from twinsep.io import save_volume
    from twinsep.volume import Volume

    path = tmp_path / "offset.nii"
    save_volume(Volume(np.arange(8000, dtype=np.int16).reshape(20, 20, 20) - 1000, np.eye(4)), path)
    raw = bytearray(path.read_bytes())
    struct.pack_into("<f", raw, 108, 100.0)  # vox_offset inside the 352-byte header
    path.write_bytes(bytes(raw))
    cmd = [sys.executable, "-m", "twinsep.cli", "check", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), proc.stderr
    assert "vox offset" in lines[0]


def test_a_ct_given_as_the_mr_is_refused(tmp_path: Path) -> None:
    """--mr with a CT: it registered perfectly and its bone became 'venous signal'
    (a sweep on an independent phantom: 26 mL of sinuses, 27 mL of bone lost). The plan
    validates the MR before it writes anything, through StageContext.mr."""
    import numpy as np

    from twinsep.errors import InputError
    from twinsep.io import save_volume
    from twinsep.plan import PlanOptions, StageContext
    from twinsep.volume import Volume

    arr = np.random.default_rng(5).integers(-1000, 1500, (24, 24, 24)).astype(np.int16)
    save_volume(Volume(arr, np.eye(4)), tmp_path / "other_ct.nii.gz")
    ctx = StageContext(
        PlanOptions(scan_path=tmp_path / "ct.nii.gz", mr_path=tmp_path / "other_ct.nii.gz")
    )
    with pytest.raises(InputError) as info:
        ctx.mr  # noqa: B018 - the property loads and checks the MR
    line = info.value.one_line()
    assert line.startswith(f"{tmp_path / 'other_ct.nii.gz'}: --mr needs an MR, and this is a CT")


@pytest.mark.parametrize(
    ("shape", "voxel_mm"),
    [((120, 140, 3), 1.0), ((64, 64, 2), 3.0)],
    ids=["3-slices-1mm", "2-slices-3mm"],
)
def test_a_thin_mr_slab_is_refused_not_crashed(
    tmp_path: Path, shape: tuple[int, int, int], voxel_mm: float
) -> None:
    """An MR a few slices thick (ITK's BrainProtonDensity3Slices.mha, 181x217x3) ended
    in exit 1 inside the MR bias-field fit (SimpleITK BinShrink "InputImage is too
    small", N4 "zero-valued spacing"); it has no head, so it is exit 2 in one line."""
    import numpy as np

    from twinsep.io import save_volume
    from twinsep.volume import Volume

    rng = np.random.default_rng(7)
    g = np.indices(shape).astype(float)
    c = (np.asarray(shape, dtype=float) - 1.0) / 2.0
    r = np.sqrt(sum(((g[a] - c[a]) / (shape[a] / 2.0)) ** 2 for a in range(3)))
    arr = np.where(r < 0.85, 400.0, np.where(r < 0.95, 100.0, 0.0)) + rng.normal(0, 10, shape)
    path = tmp_path / "slab.nii.gz"
    save_volume(Volume(arr.astype(np.int16), np.diag([voxel_mm] * 3 + [1.0])), path)
    out = tmp_path / "plan"
    code, stdout, stderr = _invoke("plan", str(path), "--out", str(out))
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert code == 2, (stdout, stderr)
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), stderr  # as typed
    assert "head-sized" in lines[0]
    assert not out.exists() and not work_dir_for(out).exists()
