"""Fusion type and axes of the real CT twins on turned grids and under turned affines.

The regression check for the fusion frames' storage invariance (docs/orientation.md,
"Frames under a turned affine"). Two real-CT cases (``real-ct-vertical``, truth vertical
180 deg; ``real-ct-angular``, truth angular 118.1 deg; ``twinsep.realanatomy.realct``,
needs ``make realdata``) are used two ways:

* **resampled**: the fused CT resampled (SimpleITK linear, -1024 HU outside, cropped to
  the body + 12 voxels; ``fusion_axes_table``'s builder) onto a grid turned by each of
  :data:`TURNS`, so the scanner's stair-steps and partial volume are those of another
  grid (other voxels). The anatomy keeps its world position, so the truth is unchanged.
* **same voxels**: the unturned copy's labels and twins with their affine turned about
  the volume's centre (what a DICOM or NRRD with other direction cosines gives). The
  truth turns with the affine; the frames must turn with it, so the row also gives the
  axes' and faces' angle to the unturned copy's frames turned alike (0 when exact).

Every copy is segmented and its twins assigned once (``segment_ct``, ``assign_twins``)
and cached as ``.npz`` in ``$TWINSEP_TURNED_CACHE`` (default ``<tmp>/twinsep_turned_frames``;
the segmenting commit is recorded beside each file: delete the folder when the
segmentation changes), so re-running after a change of the fusion frames costs only
``analyse_fusion`` (about 26 runs). The first run segments 14 real-CT copies (about
20-30 min on two cores). ``TWINSEP_TURNED_CASES`` (comma-separated row names, e.g.
``real-ct-angular_o30``) limits the rows; ``TWINSEP_TURNED_BEFORE`` names an earlier
``turned_frames.json`` whose type and angle are printed beside.

Reported per row: the fusion type and axis angle against the truth, each twin's long-axis
error (deg) against the case builder's truth (head A's up +z, head B's ``b_rotation @ z``),
and which cut cue each twin's frame used (``cavity``: the cranial cut, ``body``: the
neck / body cut face, ``-``: none).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.fusion import analyse_fusion
from twinsep.fusion.axes import angle_deg
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fusion_axes_table import _cache, _crop_body, _truth  # noqa: E402

from grids import resample_oblique, rotation_matrix  # noqa: E402

CASES = ("real-ct-vertical", "real-ct-angular")
"""The real-CT cases (``twinsep.realanatomy.realct.build_real_ct_case``)."""

TURNS: dict[str, tuple[tuple[float, float, float], float]] = {
    "z10": ((0.0, 0.0, 1.0), 10.0),
    "y25": ((0.0, 1.0, 0.0), 25.0),
    "t15": ((0.3, 1.0, 0.2), 15.0),
    "o20": ((1.0, 0.3, 0.5), 20.0),
    "o30": ((1.0, 0.3, 0.5), 30.0),
    "xy40": ((1.0, 1.0, 0.0), 40.0),
}
"""Grid / affine turns (axis, deg): small and large, about world axes and oblique ones."""


def cache_dir() -> Path:
    """The segmentation cache folder (``$TWINSEP_TURNED_CACHE`` or a temp folder)."""
    env = os.environ.get("TWINSEP_TURNED_CACHE")
    return Path(env) if env else Path(tempfile.gettempdir()) / "twinsep_turned_frames"


def _commit() -> str:
    if os.environ.get("TWINSEP_BLIND_COMMIT"):
        return os.environ["TWINSEP_BLIND_COMMIT"]
    proc = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "unknown"


def build_cache(cache: Path, cases: tuple[str, ...] = CASES) -> None:
    """Segment and assign the unturned and every resampled copy of ``cases`` once."""
    from twinsep.realanatomy import realct

    cache.mkdir(parents=True, exist_ok=True)
    z = np.array([0.0, 0.0, 1.0])
    for name in cases:
        if all((cache / f"{name}_{k}.npz").exists() for k in ("orig", *TURNS)):
            continue
        case, ct, facts = realct.build_real_ct_case(name)
        truth = _truth(facts["type"], facts["axis_angle_deg"], case.b_rotation @ z, case)
        truth["segmented_at"] = _commit()
        arr = ct.array.astype(np.int16)
        _cache(cache / f"{name}_orig", Volume(arr, ct.affine, {"kind": "CT"}), truth)
        for tag, (axis, deg) in TURNS.items():
            if (cache / f"{name}_{tag}.npz").exists():
                continue
            a2, f2 = _crop_body(
                *resample_oblique(arr, ct.affine, rotation_matrix(np.array(axis), deg))
            )
            _cache(cache / f"{name}_{tag}", Volume(a2, f2, {"kind": "CT"}), truth)


def turned_affine(affine: np.ndarray, shape: tuple[int, ...], rot: np.ndarray) -> np.ndarray:
    """``affine`` turned by ``rot`` about the volume's centre (the same voxels)."""
    centre = affine[:3, :3] @ ((np.asarray(shape, float) - 1.0) / 2.0) + affine[:3, 3]
    turn = np.eye(4)
    turn[:3, :3] = rot
    turn[:3, 3] = centre - rot @ centre
    return turn @ affine


def _row(fa: Any, truth: dict[str, Any], rot: np.ndarray, seconds: float) -> dict[str, Any]:
    row: dict[str, Any] = {
        "type": fa.type,
        "axis_angle_deg": round(float(fa.axis_angle_deg), 2),
        "truth_type": truth["type"],
        "truth_angle_deg": round(float(truth["axis_angle_deg"]), 1),
        "seconds": round(seconds, 1),
    }
    for n in ("A", "B"):
        frame = fa.frames[n]
        up = rot @ np.asarray(truth["up"][n], float)
        row[f"axis_err_{n}_deg"] = round(angle_deg(frame.axis, up), 2)
        cues = frame.cue_dirs or {}
        row[f"cut_{n}"] = "cavity" if "cut" in cues else "body" if "body_cut" in cues else "-"
    return row


def _wanted(name: str) -> bool:
    only = os.environ.get("TWINSEP_TURNED_CASES")
    return not only or name in {s.strip() for s in only.split(",")}


def evaluate(cache: Path, cases: tuple[str, ...] = CASES) -> list[dict[str, Any]]:
    """Rows for every cached copy (``resampled``) and every turned affine (``same voxels``)."""
    rows: list[dict[str, Any]] = []
    eye = np.eye(3)
    for name in cases:
        ref = None
        d = np.load(cache / f"{name}_orig.npz")
        truth = json.loads((cache / f"{name}_orig.json").read_text())
        lab, tw, aff = d["labels"], d["twins"], d["affine"]
        for tag in ("orig", *TURNS):
            row_name = f"{name}_{tag}"
            if tag != "orig" and not _wanted(row_name) and not _wanted(f"{row_name}_affine"):
                continue
            if tag != "orig" and _wanted(row_name):
                dd = np.load(cache / f"{row_name}.npz")
                t0 = time.perf_counter()
                fa = analyse_fusion(
                    Volume(dd["labels"], dd["affine"]),
                    Volume(dd["twins"], dd["affine"]),
                    contrast=False,
                )
                r = _row(fa, truth, eye, time.perf_counter() - t0)
                rows.append({"case": row_name, "storage": "resampled", **r})
            if tag == "orig" or _wanted(f"{row_name}_affine"):
                rot = (
                    eye
                    if tag == "orig"
                    else rotation_matrix(np.array(TURNS[tag][0]), TURNS[tag][1])
                )
                a2 = turned_affine(aff, lab.shape, rot)
                t0 = time.perf_counter()
                fa = analyse_fusion(Volume(lab, a2), Volume(tw, a2), contrast=False)
                r = _row(fa, truth, rot, time.perf_counter() - t0)
                if tag == "orig":
                    ref = fa
                    rows.append({"case": row_name, "storage": "original", **r})
                    continue
                if ref is not None:
                    for n in ("A", "B"):
                        r[f"axis_apart_{n}_deg"] = round(
                            angle_deg(rot.T @ fa.frames[n].axis, ref.frames[n].axis), 3
                        )
                        r[f"face_apart_{n}_deg"] = round(
                            angle_deg(rot.T @ fa.frames[n].face_dir, ref.frames[n].face_dir), 3
                        )
                rows.append({"case": f"{row_name}_affine", "storage": "same voxels", **r})
    return rows


def markdown(rows: list[dict[str, Any]], before: dict[str, dict[str, Any]] | None = None) -> str:
    """Markdown table of ``rows`` (with an earlier run's type and angle when given)."""
    lines = [
        "Fusion type / axis angle against the truth, each twin's long-axis error and cut cue; "
        "`resampled`: the CT on a turned grid (other voxels), `same voxels`: the original's "
        "labels under a turned affine (apart: the frames' axes / faces against the original's "
        "turned alike, 0 when exact).",
        "",
    ]
    head = ["case", "storage", "truth"] + (["before"] if before else [])
    head += [
        "type, angle",
        "axis error A / B (deg)",
        "cut cue A / B",
        "apart axes A / B, faces A / B (deg)",
        "s",
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["case"], r["storage"], f"{r['truth_type']} {r['truth_angle_deg']:.1f}"]
        if before:
            b = before.get(r["case"])
            cells.append(f"{b['type']} {b['axis_angle_deg']:.2f}" if b else "-")
        flag = "" if r["type"] == r["truth_type"] else " **wrong type**"
        cells.append(f"{r['type']} {r['axis_angle_deg']:.2f}{flag}")
        cells.append(f"{r['axis_err_A_deg']:.2f} / {r['axis_err_B_deg']:.2f}")
        cells.append(f"{r['cut_A']} / {r['cut_B']}")
        if "axis_apart_A_deg" in r:
            cells.append(
                f"{r['axis_apart_A_deg']:.3f} / {r['axis_apart_B_deg']:.3f}, "
                f"{r['face_apart_A_deg']:.3f} / {r['face_apart_B_deg']:.3f}"
            )
        else:
            cells.append("-")
        cells.append(f"{r['seconds']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for storage in ("resampled", "same voxels"):
        sel = [r for r in rows if r["storage"] == storage]
        if not sel:
            continue
        errs = [r[f"axis_err_{n}_deg"] for r in sel for n in ("A", "B")]
        out[storage] = {
            "rows": len(sel),
            "right_type": sum(r["type"] == r["truth_type"] for r in sel),
            "axis_err_mean_deg": round(float(np.mean(errs)), 2),
            "axis_err_max_deg": round(float(np.max(errs)), 2),
        }
        if storage == "same voxels":
            apart = [r.get(f"axis_apart_{n}_deg", 0.0) for r in sel for n in ("A", "B")]
            out[storage]["axis_apart_max_deg"] = round(float(np.max(apart)), 3)
    return out


def run(out_dir: Path) -> dict[str, Any]:
    """Build the cache (first run only) and evaluate every row."""
    from twinsep.realanatomy import realct

    if realct.inv3_path() is None:
        return {
            "title": "Turned grids and affines: real-CT fusion frames",
            "rows": [],
            "markdown": "not run: the real CT is not installed (make realdata)",
        }
    cache = cache_dir()
    build_cache(cache)
    rows = evaluate(cache)
    before_path = os.environ.get("TWINSEP_TURNED_BEFORE")
    before = None
    if before_path:
        before = {r["case"]: r for r in json.loads(Path(before_path).read_text())["rows"]}
    seg = {json.loads(p.read_text()).get("segmented_at", "?") for p in cache.glob("*.json")}
    summary = _summary(rows)
    text = markdown(rows, before)
    text += (
        "\n\nLabels segmented at " + ", ".join(sorted(seg)) + "; summary: " + json.dumps(summary)
    )
    return {
        "title": "Turned grids and affines: real-CT fusion frames",
        "rows": rows,
        "summary": summary,
        "segmented_at": sorted(seg),
        "markdown": text,
    }


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--build":
        build_cache(cache_dir(), tuple(sys.argv[2:]))
    else:
        out = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results")
        res = run(out)
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from run_all import code_state, write_result

        res.setdefault("code", code_state())
        write_result(out, "turned_frames", res)
        sys.stdout.write(res["markdown"] + "\n")
