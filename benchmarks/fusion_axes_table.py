"""Fusion type and long-axis angle on axis-aligned and oblique grids (docs/orientation.md).

Rows: the 12 phantom kinds at size 96 (seed 0) on the axis-aligned grid and rendered
directly on two rotated grids (``make_phantom(..., affine=...)``: exact truth on that
grid); the Colin27 cases ``real-vertical`` / ``real-angular`` (1.5 mm); the real-CT cases
``real-ct-vertical`` / ``real-ct-angular`` (1 mm) as built and resampled (SimpleITK
linear, -1024 HU outside, cropped to the body + 12 voxels) onto grids rotated 20 deg
about z, 30 deg about (1, 0.3, 0.5) and 45 deg about x. Every CT goes through
``segment_ct`` and ``assign_twins`` (cached as ``.npz`` in the cache folder, so the
fusion stage can be re-run in seconds after a change of ``fusion/axes.py``), then
``analyse_fusion``. Truth: the phantom's ``truth.json`` (type, axis angle, each twin's
long axis) and the case builders' own rotations (head A's up is +z, head B's
``b_rotation @ z``).

Not part of ``run_all.py`` (the real-CT rows need ``make realdata`` and about 10 min of
segmentation on two cores the first time). Usage::

    python benchmarks/fusion_axes_table.py CACHE_DIR OUT.json [--compare BEFORE.json]

prints a markdown table (with the ``BEFORE.json`` type and angle beside when given).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from twinsep.fusion import analyse_fusion
from twinsep.fusion.axes import angle_deg
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from grids import resample_oblique, rotation_matrix  # noqa: E402

ROTATIONS: dict[str, tuple[tuple[float, float, float], float]] = {
    "z20": ((0.0, 0.0, 1.0), 20.0),
    "o30": ((1.0, 0.3, 0.5), 30.0),
    "x45": ((1.0, 0.0, 0.0), 45.0),
}
"""Grid rotations (axis, deg) of the oblique rows; phantoms use ``o30`` and ``x45``."""

CROP_MARGIN_VX = 12
"""Voxels kept around the body (HU > -500) when an oblique real-CT copy is cropped."""


def _crop_body(arr: np.ndarray, aff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = arr > -500
    lo, hi = [], []
    for ax in range(3):
        hit = np.flatnonzero(m.any(axis=tuple(a for a in range(3) if a != ax)))
        lo.append(max(int(hit[0]) - CROP_MARGIN_VX, 0))
        hi.append(min(int(hit[-1]) + 1 + CROP_MARGIN_VX, arr.shape[ax]))
    out = aff.copy()
    out[:3, 3] = aff[:3, :3] @ np.array(lo, float) + aff[:3, 3]
    return np.ascontiguousarray(arr[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]), out


def _cache(path: Path, ct: Volume, truth: dict[str, Any]) -> None:
    from twinsep.segment import segment_ct
    from twinsep.twins.assign import assign_twins

    if path.with_suffix(".npz").exists():
        return
    seg = segment_ct(ct)
    tw = assign_twins(seg.labels)
    np.savez_compressed(
        path.with_suffix(".npz"),
        labels=seg.labels.array,
        twins=tw.twins.array,
        affine=seg.labels.affine,
    )
    path.with_suffix(".json").write_text(json.dumps(truth))


def build_cache(cache: Path) -> None:
    """Segment and assign every row's CT once (skips rows already cached)."""
    from twinsep.phantom import PHANTOM_KINDS, make_phantom

    cache.mkdir(parents=True, exist_ok=True)
    for kind in PHANTOM_KINDS:
        ref = make_phantom(kind, size=96, seed=0)
        grids = {"aa": None} | {k: ROTATIONS[k] for k in ("o30", "x45")}
        for tag, rot in grids.items():
            if (cache / f"{kind}_{tag}.npz").exists():
                continue
            if rot is None:
                ph = ref
            else:
                aff = np.eye(4)
                aff[:3, :3] = rotation_matrix(np.array(rot[0]), rot[1]) * np.asarray(
                    ref.truth.spacing_mm
                )
                ph = make_phantom(kind, seed=0, affine=aff)
            t = ph.truth
            truth = {
                "type": t.type,
                "axis_angle_deg": t.axis_angle_deg,
                "up": {n: (-np.asarray(t.twins[n].long_axis)).tolist() for n in ("A", "B")},
            }
            _cache(cache / f"{kind}_{tag}", ph.ct, truth)
    z = np.array([0.0, 0.0, 1.0])
    from twinsep.realanatomy.colin import build_real_case, colin_paths

    if colin_paths() is not None:
        for name in ("real-vertical", "real-angular"):
            if (cache / f"{name}.npz").exists():
                continue
            case, ct, facts = build_real_case(name)
            truth = _truth(facts["type"], facts["axis_angle_deg"], case.b_rotation @ z, case)
            _cache(cache / name, ct, truth)
    from twinsep.realanatomy import realct

    if realct.inv3_path() is not None:
        for name in ("real-ct-vertical", "real-ct-angular"):
            if all((cache / f"{name}_{k}.npz").exists() for k in ("orig", *ROTATIONS)):
                continue
            case, ct, facts = realct.build_real_ct_case(name)
            truth = _truth(facts["type"], facts["axis_angle_deg"], case.b_rotation @ z, case)
            arr = ct.array.astype(np.int16)
            _cache(cache / f"{name}_orig", Volume(arr, ct.affine, {"kind": "CT"}), truth)
            for tag, (axis, deg) in ROTATIONS.items():
                a2, f2 = _crop_body(
                    *resample_oblique(arr, ct.affine, rotation_matrix(np.array(axis), deg))
                )
                _cache(cache / f"{name}_{tag}", Volume(a2, f2, {"kind": "CT"}), truth)


def _truth(kind: str, angle: float, b_up: np.ndarray, case: Any) -> dict[str, Any]:
    b_twin = "A" if int(getattr(case, "b_copy_twin", 2)) == 1 else "B"
    a_twin = "B" if b_twin == "A" else "A"
    return {
        "type": kind,
        "axis_angle_deg": angle,
        "up": {a_twin: [0.0, 0.0, 1.0], b_twin: [float(v) for v in b_up]},
    }


def evaluate(cache: Path) -> dict[str, dict[str, Any]]:
    """Fusion type, axis angle and each twin's axis error (deg) for every cached row."""
    rows: dict[str, dict[str, Any]] = {}
    for npz in sorted(cache.glob("*.npz")):
        truth = json.loads(npz.with_suffix(".json").read_text())
        d = np.load(npz)
        t0 = time.perf_counter()
        fa = analyse_fusion(
            Volume(d["labels"], d["affine"]), Volume(d["twins"], d["affine"]), contrast=False
        )
        row: dict[str, Any] = {
            "type": fa.type,
            "axis_angle_deg": round(fa.axis_angle_deg, 1),
            "truth_type": truth["type"],
            "truth_angle_deg": round(float(truth["axis_angle_deg"]), 1),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        for n in ("A", "B"):
            frame = fa.frames[n]
            row[f"axis_err_{n}_deg"] = round(angle_deg(frame.axis, np.asarray(truth["up"][n])), 1)
            cues = frame.cue_dirs or {}
            row[f"cut_{n}"] = "cavity" if "cut" in cues else "body" if "body_cut" in cues else "-"
        rows[npz.stem] = row
    return rows


def table(rows: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]] | None) -> str:
    """Markdown table of the rows (with the ``before`` type and angle when given)."""
    head = "| case | truth | "
    head += "before | " if before else ""
    head += "after | axis error A / B (deg) | cut cue A / B |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, r in rows.items():
        cells = [name, f"{r['truth_type']} {r['truth_angle_deg']:.1f}"]
        if before:
            b = before.get(name)
            cells.append(f"{b['type']} {b['axis_angle_deg']:.1f}" if b else "-")
        flag = "" if r["type"] == r["truth_type"] else " **wrong type**"
        cells.append(f"{r['type']} {r['axis_angle_deg']:.1f}{flag}")
        cells.append(f"{r['axis_err_A_deg']:.1f} / {r['axis_err_B_deg']:.1f}")
        cells.append(f"{r['cut_A']} / {r['cut_B']}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--compare", type=Path, default=None)
    args = ap.parse_args()
    build_cache(args.cache)
    rows = evaluate(args.cache)
    args.out.write_text(json.dumps(rows, indent=1))
    before = json.loads(args.compare.read_text()) if args.compare else None
    sys.stdout.write(table(rows, before) + "\n")


if __name__ == "__main__":
    main()
