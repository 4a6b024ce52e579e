"""Outside probe: ``twinsep plan`` on scans of a design it has never seen, scored from outside.

Two layers, each planned with ``twinsep --quiet plan SCAN --out DIR`` in a subprocess (as a
user would; a timeout of ``TWINSEP_PROBE_TIMEOUT_S``, default 900 s):

* **Probe phantoms** (``tests/probe/probe_phantom.py``, written for this probe without
  ``twinsep.phantom`` or the blind generators: superellipsoid heads, skulls of 1-6 mm with
  sutures and a fontanelle, sulci, ventricles, sinuses, necks, a table, scanner offsets;
  cases in ``tests/probe/probe_cases.py``): Dice per label, twin accuracy beyond 15 mm of
  the other twin, twin A by DESIGN.md's rule, fusion type and axis angle, the report
  written; the refusals (one head, two heads apart, a chest) must exit 2 with one line.
  One case is planned twice (labels, twins and plan.json without its clock fields must be
  the same bytes), one is written as a DICOM series holding a patient's name and ID (no
  output may hold them).
* **The real CT** (``twinsep.realanatomy.realct``'s twins of the InVesalius head CT, built
  at 2 mm, or 1 mm for the thick-slice copy; skipped when not installed) stored in odd
  ways: LPS-like (i, j reversed), the world turned 90 deg (same voxels), resampled onto a
  grid turned 25 / 30 deg, cropped through twin B's head, a 1 x 1 x 3 mm thick-slice copy
  (3 slices averaged). Scored on the exact owners (their voxels under -500 HU, the
  heads' air spaces, left out): twin A, twin accuracy, type, axis, rotation.

The alternative in the same run is the truth itself. ``TWINSEP_BLIND_SRC`` /
``TWINSEP_BLIND_COMMIT`` plan with a snapshot's ``src`` (``_blind_common.py``);
``TWINSEP_PROBE_CASES`` (comma-separated) runs only those rows; ``TWINSEP_PROBE_JOBS``
plans that many at once (default 2); ``TWINSEP_BLIND_KEEP`` keeps the cases and plans.

Run: ``python benchmarks/bench_probe.py [OUT_DIR]`` (20 plans, two at a time: 31 min at
load 20-37 on 2 cores at 9b28d5f; ``TWINSEP_PROBE_CASES`` for a part).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from _blind_common import cell  # noqa: E402
from run_all import code_state, code_text, write_result  # noqa: E402

from blind.score import plan_env, twinsep_command  # noqa: E402
from probe.probe_cases import PHANTOM_CASES, expected_exit  # noqa: E402
from probe.probe_phantom import face_rotation_deg, render  # noqa: E402
from probe.probe_score import files_holding, score, stable_digest  # noqa: E402

TWICE = "pv0-c15-2.5"  # planned twice: the bytes must agree
DICOM = "pv45-c15-scene35"  # written as a DICOM series with a patient's name and ID
PHI = ("PROBE^SECRETNAME", "PRB-778812")
KEYS = ("soft", "bone", "brain", "csf", "vessel")


@dataclass
class Job:
    """One plan to run: its input, the truth it is scored on and the exit it should give."""

    name: str
    what: str
    scan: Path
    expect: int
    labels: npt.NDArray[np.uint8] | None
    owner: npt.NDArray[np.uint8] | None
    affine: npt.NDArray[np.float64] | None
    truth_type: str | None
    truth_axis: float | None
    contrast: bool = True
    truth_rot: float | None = None


def _save(path: Path, arr: np.ndarray, aff: np.ndarray) -> Path:
    import nibabel as nib

    img = nib.Nifti1Image(arr, aff)
    img.set_qform(aff, code=1)
    img.set_sform(aff, code=1)
    nib.save(img, str(path))
    return path


def phantom_jobs(work: Path, only: set[str]) -> list[Job]:
    """Render each selected probe phantom into ``work`` (a DICOM series for ``DICOM``)."""
    from twinsep.io import write_dicom_series
    from twinsep.volume import Volume

    jobs = []
    for name, case in PHANTOM_CASES.items():
        if only and name not in only:
            continue
        r = render(case)
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        if name == DICOM:
            scan = d / "dicom"
            write_dicom_series(
                Volume(r.ct.astype(np.float32), r.affine),
                scan,
                patient_name=PHI[0],
                patient_id=PHI[1],
            )
            what = "DICOM series (patient name/ID inside)"
        else:
            scan = _save(d / "ct.nii.gz", r.ct, r.affine)
            what = "NIfTI"
        axis = case.axis_deg if case.kind in ("vertical", "angular") else None
        # the faces' rotation is O'Connell's measure on vertical unions only
        rot = face_rotation_deg(r.heads) if case.kind == "vertical" else None
        ttype = None if axis is None else ("vertical" if axis >= 140 else "angular")
        jobs.append(
            Job(
                name,
                what,
                scan,
                expected_exit(case),
                r.labels,
                r.owner,
                r.affine,
                ttype,
                axis,
                case.contrast,
                rot,
            )
        )
        if name == TWICE:
            jobs.append(
                Job(
                    name + "#2",
                    "the same scan again",
                    scan,
                    0,
                    r.labels,
                    r.owner,
                    r.affine,
                    ttype,
                    axis,
                    truth_rot=rot,
                )
            )
    return jobs


def _resample(
    arr: np.ndarray,
    aff: np.ndarray,
    new_aff: np.ndarray,
    shape: tuple[int, ...],
    order: int,
    cval: float,
) -> np.ndarray:
    from scipy import ndimage as ndi

    m = np.linalg.inv(aff) @ new_aff
    return ndi.affine_transform(
        arr, m[:3, :3], offset=m[:3, 3], output_shape=shape, order=order, cval=cval
    )


def _turned_grid(
    aff: np.ndarray, shape: tuple[int, ...], rot: np.ndarray, sp: np.ndarray
) -> tuple[np.ndarray, tuple[int, ...]]:
    """A grid of spacing ``sp`` along the columns of ``rot`` covering the scan's box."""
    corners = np.array(
        [[i, j, k] for i in (0, shape[0] - 1) for j in (0, shape[1] - 1) for k in (0, shape[2] - 1)]
    )
    world = corners @ aff[:3, :3].T + aff[:3, 3]
    q = world @ rot
    lo, hi = q.min(axis=0), q.max(axis=0)
    new = np.eye(4)
    new[:3, :3] = rot * sp[None, :]
    new[:3, 3] = rot @ lo
    return new, tuple(int(np.floor((hi[i] - lo[i]) / sp[i])) + 1 for i in range(3))


def real_ct_jobs(work: Path, only: set[str]) -> list[Job]:
    """The real CT's twins stored in odd ways (none when the CT is not installed)."""
    from twinsep.realanatomy.realct import build_real_ct_case, inv3_path

    sys.path.insert(0, str(TESTS))
    from probe.probe_phantom import rotation
    from storage_layouts import stored

    if inv3_path() is None:
        return []
    jobs: list[Job] = []
    cache: dict[tuple[str, float], tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]] = {}

    def built(name: str, sp: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if (name, sp) not in cache:
            case, ct, facts = build_real_ct_case(name, spacing_mm=sp, reference=False)
            cache[(name, sp)] = (
                ct.array.astype(np.int16),
                case.twins.array.astype(np.uint8),
                ct.affine.copy(),
                facts,
            )
        return cache[(name, sp)]

    def ras(
        a: np.ndarray, o: np.ndarray, f: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        return a, o, f, "as built (RAS, 2 mm)"

    def lps(
        a: np.ndarray, o: np.ndarray, f: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        a2, f2 = stored(a, f, (0, 1, 2), (0, 1))
        o2, _ = stored(o, f, (0, 1, 2), (0, 1))
        return a2, o2, f2, "LPS-like storage (i, j reversed; same voxels)"

    def turn90(
        a: np.ndarray, o: np.ndarray, f: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        t = np.eye(4)
        t[:3, :3] = rotation((1.0, 0.0, 0.0), 90.0)
        return a, o, t @ f, "world turned 90 deg about x (same voxels; long axis now A-P)"

    def oblique(deg: float) -> Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray, str]]:
        def make(
            a: np.ndarray, o: np.ndarray, f: np.ndarray
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
            rot = rotation((1.0, 0.4, 0.2), deg)
            new, shape = _turned_grid(f, a.shape, rot, np.array([2.0, 2.0, 2.0]))
            ct = _resample(a.astype(np.float32), f, new, shape, 1, -1000.0)
            ow = _resample(o, f, new, shape, 0, 0)
            return (
                np.rint(ct).astype(np.int16),
                ow.astype(np.uint8),
                new,
                f"resampled onto a grid turned {deg:g} deg (trilinear)",
            )

        return make

    def crop(
        a: np.ndarray, o: np.ndarray, f: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        kb = np.nonzero((o == 2).any(axis=(0, 1)))[0]
        cut = int(kb.max() - 0.45 * (kb.max() - kb.min()))
        f2 = f.copy()
        return (
            a[:, :, :cut].copy(),
            o[:, :, :cut].copy(),
            f2,
            f"cropped at slice {cut} of {a.shape[2]}: through twin B's cranium",
        )

    def thick(
        a: np.ndarray, o: np.ndarray, f: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        n = a.shape[2] // 3
        ct = a[:, :, : 3 * n].astype(np.float32).reshape(a.shape[0], a.shape[1], n, 3).mean(axis=3)
        ow = o[:, :, 1 : 3 * n : 3]
        f2 = f.copy()
        f2[:3, 2] *= 3.0
        f2[:3, 3] += f[:3, 2]  # the slab's centre: the middle 1 mm slice
        return (
            np.rint(ct).astype(np.int16),
            ow.copy(),
            f2,
            "1 x 1 x 3 mm thick slices (3 slices of 1 mm averaged)",
        )

    plans = [
        ("rct-v-ras", "real-ct-vertical", 2.0, ras),
        ("rct-v-lps", "real-ct-vertical", 2.0, lps),
        ("rct-v-turn90", "real-ct-vertical", 2.0, turn90),
        ("rct-v-obl25", "real-ct-vertical", 2.0, oblique(25.0)),
        ("rct-v-crop", "real-ct-vertical", 2.0, crop),
        ("rct-v-thick3", "real-ct-vertical", 1.0, thick),
        ("rct-a-ras", "real-ct-angular", 2.0, ras),
        ("rct-a-obl30", "real-ct-angular", 2.0, oblique(30.0)),
    ]
    for row, name, sp, make in plans:
        if only and row not in only:
            continue
        a, o, f, facts = built(name, sp)
        a2, o2, f2, what = make(a, o, f)
        # the owners cover each head's filled mask: its air spaces (paranasal sinuses,
        # mastoid cells, airway) are background by the contract, not tissue to own
        o2 = np.where(a2 > -500, o2, 0).astype(np.uint8)
        d = work / row
        d.mkdir(parents=True, exist_ok=True)
        scan = _save(d / "ct.nii.gz", a2, f2)
        jobs.append(
            Job(
                row,
                what,
                scan,
                0,
                None,
                o2,
                f2,
                facts["type"],
                float(facts["axis_angle_deg"]),
                contrast=False,
                truth_rot=float(facts["face_angle_deg"]) if facts["type"] == "vertical" else None,
            )
        )
    cache.clear()
    return jobs


def run_job(job: Job, plans: Path, timeout_s: float) -> dict[str, Any]:
    """Plan ``job.scan`` and score it; the row of the table."""
    plan = plans / job.name.replace("#", "_")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [*twinsep_command(), "--quiet", "plan", str(job.scan), "--out", str(plan), "--force"],
            capture_output=True,
            text=True,
            env=plan_env(),
            timeout=timeout_s,
            check=False,
        )
        code, text = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        code, text = -1, f"timeout after {timeout_s:g} s"
    row: dict[str, Any] = {
        "case": job.name,
        "what": job.what,
        "exit": code,
        "expect": job.expect,
        "plan_s": round(time.perf_counter() - t0, 1),
        "traceback": "Traceback" in text,
        "truth_type": job.truth_type,
        "truth_axis_deg": job.truth_axis,
        "truth_rotation_deg": job.truth_rot,
    }
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if code != 0:
        row["message"] = lines[-1][:300] if lines else ""
        row["one_line"] = len(lines) == 1
        row["plan_folder_left"] = plan.exists() and any(plan.iterdir())
        return row
    assert job.owner is not None and job.affine is not None
    row.update(score(plan, job.labels, job.owner, job.affine, contrast=job.contrast))
    row["digest"] = stable_digest(plan)
    if job.name == DICOM:
        row["phi_files"] = files_holding(plan, list(PHI))
    return row


def markdown(rows: list[dict[str, Any]], code: dict[str, Any], checks: list[str]) -> str:
    """The results table and the whole-run checks."""
    head = (
        f"twinsep at {code_text(code)}\n\n"
        "Probe phantoms (tests/probe, a design of their own) and the real CT stored oddly, "
        "planned with the CLI; Dice on truth labels at voxel centres (plain CT: vessel voxels "
        "left out); twin acc = true tissue voxels more than 15 mm from the other twin's "
        "tissue given the right twin; A ok = DESIGN.md's rule on the true owners; "
        "real-CT rows have exact owners but no voxel truth for labels.\n\n"
        "| case | input | exit (want) | soft | bone | brain | CSF | vessel | twin acc >15 mm "
        "(owned) | A ok | type (truth/plan) | axis deg (truth/plan) | rot deg (truth/plan) | "
        "report | plan s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    out = []
    for r in rows:
        ex = (
            f"{r['exit']} ({r['expect']})"
            if r["exit"] == r["expect"]
            else f"**{r['exit']}** ({r['expect']})"
        )
        if r["exit"] != 0:
            msg = str(r.get("message", "")).replace("|", "/")
            flag = (
                ""
                if r.get("one_line") and not r.get("traceback")
                else " **(not one line / traceback)**"
            )
            out.append(
                f"| {r['case']} | {r['what']} | {ex} | {msg}{flag} | | | | | | | | | | | {r['plan_s']} |"
            )
            continue
        d = r.get("dice") or {}
        tt = f"{cell(r['truth_type'])}/{cell(r.get('type'))}"
        if r["truth_type"] and r.get("type") != r["truth_type"]:
            tt = f"**{tt}**"
        out.append(
            f"| {r['case']} | {r['what']} | {ex} | "
            + " | ".join(cell(d.get(k)) for k in KEYS)
            + f" | {cell(r.get('twin_acc_15mm'), 4)} ({cell(r.get('twin_acc_owned_15mm'), 4)})"
            f" | {cell(r.get('twin_a_ok'))} | {tt} | "
            f"{cell(r['truth_axis_deg'], 1)}/{cell(r.get('axis_deg'), 1)} | "
            f"{cell(r.get('truth_rotation_deg'), 1)}/{cell(r.get('rotation_deg'), 1)} | "
            f"{cell(r.get('report'))} | {r['plan_s']} |"
        )
    return head + "\n".join(out) + "\n\n" + "\n".join(f"- {c}" for c in checks)


def whole_run_checks(rows: list[dict[str, Any]]) -> list[str]:
    """Determinism, PHI, tracebacks, exits: one line each."""
    by = {r["case"]: r for r in rows}
    checks = []
    a, b = by.get(TWICE), by.get(TWICE + "#2")
    if a and b and "digest" in a and "digest" in b:
        same = a["digest"] == b["digest"]
        checks.append(
            f"determinism ({TWICE} planned twice): labels, twins, plan.json "
            + ("identical" if same else f"**differ**: {a['digest']} / {b['digest']}")
        )
    if DICOM in by and "phi_files" in by[DICOM]:
        hits = by[DICOM]["phi_files"]
        checks.append(
            f"patient name / ID of the DICOM input ({DICOM}) in outputs: "
            + ("none" if not hits else f"**{', '.join(hits)}**")
        )
    tb = [r["case"] for r in rows if r.get("traceback")]
    checks.append("tracebacks: " + (", ".join(f"**{c}**" for c in tb) if tb else "none"))
    wrong = [f"{r['case']} {r['exit']} for {r['expect']}" for r in rows if r["exit"] != r["expect"]]
    checks.append("exit codes: " + ("as wanted" if not wrong else "**" + "; ".join(wrong) + "**"))
    return checks


def run(out_dir: Path) -> dict[str, Any]:
    """Render, plan and score every probe row; the result for ``run_all``."""
    only = {c for c in os.environ.get("TWINSEP_PROBE_CASES", "").split(",") if c}
    timeout_s = float(os.environ.get("TWINSEP_PROBE_TIMEOUT_S", "900"))
    n_jobs = int(os.environ.get("TWINSEP_PROBE_JOBS", "2"))
    keep = os.environ.get("TWINSEP_BLIND_KEEP")
    with tempfile.TemporaryDirectory(prefix="probe-", dir=keep or None) as tmp:
        work = Path(keep) if keep else Path(tmp)
        jobs = phantom_jobs(work / "cases", only) + real_ct_jobs(work / "cases", only)
        (work / "plans").mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            rows = list(pool.map(lambda j: run_job(j, work / "plans", timeout_s), jobs))
    code = code_state()
    checks = whole_run_checks(rows)
    return {
        "title": "Outside probe: independent phantoms and the real CT stored oddly (CLI)",
        "rows": rows,
        "checks": checks,
        "code": code,
        "markdown": markdown(rows, code, checks),
    }


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("benchmarks/results")
    res = run(out)
    write_result(out, "probe", res)
    print(res["markdown"])
