"""Real-CT stressors: segmentation + twin assignment with each scanner effect of
``tests/realism/stressors.py`` alone and all together, against the unstressed row.

Cases: the two Colin27 real-anatomy cases (1.5 mm, no contrast) and phantoms at size
128 and 256 (contrast and plain). Per row: Dice per label, twin accuracy outside the
15 mm band (as ``bench_segment._score``), the contrast call against the truth, and for
air cells the share of their voxels labelled brain or CSF. ``--plan`` also runs
``twinsep plan`` end to end on the all-stressor CT of a few cases (exit code).

Run: ``.venv/bin/python benchmarks/bench_stressors.py [out_dir] [--plan | --plan-only]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_segment import _score  # noqa: E402

from realism import stressors as S  # noqa: E402
from twinsep import labels as L  # noqa: E402
from twinsep.volume import Volume  # noqa: E402

SINGLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sharp kernel", ("sharp_kernel",)),
    ("beam hardening", ("beam_hardening",)),
    ("diploe", ("diploe",)),
    ("air cells", ("air_cells",)),
    ("metal (shunt valve)", ("metal_implant",)),
    ("FBP noise, skull-base gain", ("correlated_noise",)),
    ("offset +20 HU", ("calibration_offset",)),
    ("offset -20 HU", ("offset_minus",)),
    ("clip -1024..3071", ("clipped_storage",)),
    ("FOV padding -3024", ("fov_padding",)),
    ("tube + lead", ("tubes_and_leads",)),
)
ALL = tuple(n for _, ns in SINGLE for n in ns if n != "offset_minus")


def _offset_minus(ct, labels, spacing_mm, rng):  # type: ignore[no-untyped-def]
    return S.calibration_offset(ct, labels, spacing_mm, rng, offset_hu=-20.0)


S.STRESSORS["offset_minus"] = _offset_minus


def score(
    name: str,
    truth_lab: np.ndarray,
    truth_tw: np.ndarray,
    ct: Volume,
    contrast_truth: bool,
    cells: np.ndarray | None,
) -> dict[str, Any]:
    """``bench_segment._score`` plus the contrast call and air cells taken as brain/CSF."""
    kept: dict[str, Any] = {}
    row = _score(name, truth_lab, truth_tw, ct, {}, kept)
    if "error" in row:
        return row
    p, sp = kept["labels"], ct.spacing_mm
    row["contrast"] = bool(row["contrast"])
    row["contrast_ok"] = row["contrast"] == contrast_truth
    if cells is not None and cells.any():
        row["air_cells_ml"] = round(float(cells.sum() * np.prod(sp) / 1000), 2)
        row["air_cells_as_brain_csf"] = round(float(np.isin(p[cells], (L.BRAIN, L.CSF)).mean()), 3)
    return row


def cases() -> list[tuple[str, np.ndarray, np.ndarray, Volume, bool]]:
    """(name, truth labels, truth twins, CT, contrast) of every case."""
    from twinsep.phantom import make_phantom
    from twinsep.realanatomy.colin import build_real_case, colin_paths

    out = []
    if colin_paths() is not None:
        for name in ("real-vertical", "real-angular"):
            cache = Path(tempfile.gettempdir()) / f"twinsep_stress_{name}.npz"
            if cache.is_file():
                z = np.load(cache)
                lab, tw, arr, aff = z["lab"], z["tw"], z["ct"], z["aff"]
            else:
                case, ct, _ = build_real_case(name)
                lab, tw, arr, aff = case.labels.array, case.twins.array, ct.array, ct.affine
                np.savez(cache, lab=lab, tw=tw, ct=arr, aff=aff)
            out.append((name, lab, tw, Volume(arr, aff, {"kind": "CT"}), False))
    for kind, size, contrast in (
        ("vertical-II", 128, True),
        ("angular-frontal", 128, False),
        ("vertical-partial", 128, True),
        ("vertical-II", 256, True),
        ("angular-parietal", 256, False),
    ):
        ph = make_phantom(kind, size=size, seed=0, noise_hu=10.0, contrast=contrast)
        tag = f"phantom-{kind}-{size}-{'contrast' if contrast else 'plain'}"
        out.append((tag, ph.labels.array, ph.twins.array, ph.ct, contrast))
    return out


def run_case(
    name: str, lab: np.ndarray, tw: np.ndarray, ct: Volume, contrast: bool
) -> list[dict[str, Any]]:
    """Every stressor alone and all together on one case. Diploe and air cells are adult
    bone (Colin27 only): the phantoms are infants, whose calvaria is a unilaminar plate
    without pneumatised cells (diploe forms from about age 4, the sinuses and mastoid
    cells pneumatise through childhood)."""
    rows = []
    sp = ct.spacing_mm
    adult = name.startswith("real-")
    conds = (("none", ()), *SINGLE, ("all", ALL))
    if not adult:
        conds = tuple(
            (c, tuple(n for n in ns if n not in S.ANATOMY))
            for c, ns in conds
            if not set(ns) <= set(S.ANATOMY) or not ns
        )
    for cond, names in conds:
        arr, lab2 = S.apply(names, np.asarray(ct.array), lab, sp, seed=0)
        cells = (lab2 == L.BACKGROUND) & (lab != L.BACKGROUND) if lab2 is not lab else None
        row = score(name, lab2, tw, ct.with_array(arr), contrast, cells)
        row["stressor"] = cond
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def plan_exit(ct: Volume, lab: np.ndarray, name: str) -> dict[str, Any]:
    """Run ``twinsep plan`` on the all-stressor CT; exit code and seconds."""
    from twinsep.io import save_volume

    names = ALL if name.startswith("real-") else tuple(n for n in ALL if n not in S.ANATOMY)
    arr, _ = S.apply(names, np.asarray(ct.array), lab, ct.spacing_mm, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        scan = Path(tmp) / "ct.nii.gz"
        save_volume(ct.with_array(arr), scan)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                str(ROOT / ".venv/bin/twinsep"),
                "--quiet",
                "plan",
                str(scan),
                "--out",
                str(Path(tmp) / "plan"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return {
            "case": name,
            "exit": proc.returncode,
            "seconds": round(time.perf_counter() - t0, 1),
            "stderr": proc.stderr.strip()[-300:],
        }


def markdown(rows: list[dict[str, Any]]) -> str:
    keys = [f"dice_{n}" for n in L.TISSUE_NAMES.values()] + ["twin_acc_outside_band"]
    head = [
        "case",
        "stressor",
        *[k.removeprefix("dice_") for k in keys],
        "contrast call",
        "air cells -> brain/CSF",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    base: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["stressor"] == "none":
            base[r["case"]] = r
        if "error" in r:
            lines.append(f"| {r['case']} | {r['stressor']} | failed: {r['error']} |")
            continue
        b = base.get(r["case"], {})
        cells = [r["case"], r["stressor"]]
        for k in keys:
            v = r.get(k)
            if v is None:
                cells.append("-")
            elif r["stressor"] == "none" or b.get(k) is None:
                cells.append(f"{v:.3f}")
            else:
                cells.append(f"{v:.3f} ({v - b[k]:+.3f})")
        cells.append(
            ("ok" if r["contrast_ok"] else "WRONG") + f" ({'yes' if r['contrast'] else 'no'})"
        )
        cells.append(
            f"{r['air_cells_as_brain_csf']:.2f} of {r['air_cells_ml']} mL"
            if "air_cells_ml" in r
            else "-"
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(out_dir: Path, *, plans: bool = False, only_plans: bool = False) -> dict[str, Any]:
    """Every case with each stressor alone and all together (``make bench`` entry point).

    Returns ``{"title", "rows", "plans", "markdown"}``; ``plans`` also runs ``twinsep
    plan`` on the all-stressor CT of the Colin27 and size-128 cases, ``only_plans`` runs
    those alone (and the caller keeps them apart from the Dice rows).
    """
    rows: list[dict[str, Any]] = []
    plan_rows: list[dict[str, Any]] = []
    for name, lab, tw, ct, contrast in cases():
        if not only_plans:
            rows += run_case(name, lab, tw, ct, contrast)
        if (plans or only_plans) and (name.startswith("real-") or "128" in name):
            plan_rows.append(plan_exit(ct, lab, name))
            print(json.dumps(plan_rows[-1]), flush=True)
    return {
        "title": "Real-CT stressors",
        "rows": rows,
        "plans": plan_rows,
        "markdown": markdown(rows) if rows else "",
    }


def main() -> None:
    out_dir = Path(next((a for a in sys.argv[1:] if not a.startswith("--")), "benchmarks/results"))
    only_plans = "--plan-only" in sys.argv
    result = run(out_dir, plans="--plan" in sys.argv, only_plans=only_plans)
    out_dir.mkdir(parents=True, exist_ok=True)
    if only_plans:
        (out_dir / "stressor_plans.json").write_text(json.dumps(result["plans"], indent=1) + "\n")
        return
    (out_dir / "stressors.json").write_text(json.dumps(result, indent=1) + "\n")
    print(result["markdown"])


if __name__ == "__main__":
    main()
