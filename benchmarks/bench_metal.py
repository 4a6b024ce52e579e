"""Metal streaks (``segment.metal.find_metal_streaks``): CPU and wall time of the rule
against the code before its speed-up, in the same run, on CTs with metal and streaks.

Cases:

* ``at120-occ-c15-all-1.2mm``: the clinical blind case (``tests/blind/clinical.py``;
  137x213x244 at 1.2 mm; expander ports, a shunt valve, EEG electrodes; generated
  streaks), where the rule was profiled at 9.7 s;
* ``real-ct-angular 0.5 mm + 3 metal``: the real-CT twins (two copies of the Debian
  invesalius-examples head CT, ``twinsep.realanatomy.realct``) built at 1.0 mm and
  resampled linearly to 0.5 x 0.5 x 1.0 mm (428x588x371, a planning CT's in-plane
  spacing), with a shunt valve (12 x 8 x 4 mm), a port (10 x 10 x 2 mm) and a clip
  (3 mm) under the scalp at seeded places, and their streaks by forward projection and
  filtered back-projection (``tests/realism/metal_fbp.fbp_metal``, 360 angles).
  Skipped when the real CT is not installed (``make realdata``).

The old code is ``src/twinsep/segment/metal.py`` at ``OLD_REV`` (``git show``), run in
this process beside the new one, alternating, on the same array (the canonical layout,
as ``segment_ct`` passes it; uncropped). Per case: the best of ``REPS`` runs each (CPU
seconds of this process, and wall), the ratio old / new, and whether the two results
are identical (metal, streak voxels, replacement values, counts).

Run: ``.venv/bin/python benchmarks/bench_metal.py [out_dir]``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from twinsep.layout import to_canonical  # noqa: E402
from twinsep.segment import metal as metal_new  # noqa: E402
from twinsep.segment.ct import ct_statistics  # noqa: E402
from twinsep.volume import Volume  # noqa: E402

OLD_REV = "03e4935"
"""The last commit before the speed-up of ``find_metal_streaks``."""
REPS = 2


def _old_module(tmp: Path) -> ModuleType:
    """``segment/metal.py`` as of ``OLD_REV``, imported under another name."""
    src = subprocess.run(
        ["git", "show", f"{OLD_REV}:src/twinsep/segment/metal.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = tmp / "metal_old.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("twinsep_metal_old", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["twinsep_metal_old"] = mod
    spec.loader.exec_module(mod)
    return mod


def _clinical() -> Volume:
    from blind.clinical import make_clinical
    from blind.clinical_cases import clinical_cases

    ph, _ = make_clinical(clinical_cases()["at120-occ-c15-all-1.2mm"])
    return Volume(np.round(ph.ct_hu).astype(np.int16), ph.affine, {"kind": "CT"})


def _real_ct_with_metal() -> Volume:
    from scipy import ndimage as ndi

    from realism.metal_fbp import fbp_metal
    from twinsep.realanatomy.realct import build_real_ct_case

    _, ct, _ = build_real_ct_case("real-ct-angular", spacing_mm=1.0, reference=False)
    a = ndi.zoom(ct.array.astype(np.float32), (2, 2, 1), order=1, grid_mode=True, mode="nearest")
    aff = ct.affine.copy()
    aff[:3, :2] = aff[:3, :2] / 2.0
    aff[:3, 3] = ct.affine[:3, 3] + ct.affine[:3, :3] @ np.array([-0.25, -0.25, 0.0])
    a = np.rint(a).astype(np.int16)
    sp = (0.5, 0.5, 1.0)
    # places: scalp on the outer table (on the 1 mm grid), in the middle half of the
    # slices holding bone, 25 slices apart
    c = ndi.uniform_filter(a[::2, ::2, :].astype(np.float32), 3)
    bone, air = c > 400, c < -500
    ok = ((c > -100) & (c < 150)) & (ndi.distance_transform_edt(~bone) <= 2.5)
    ok &= ndi.distance_transform_edt(~air) > 3.0
    ks = np.flatnonzero(bone.any(axis=(0, 1)))
    span = int(ks[-1] - ks[0])
    ok[:, :, : ks[0] + span // 4] = False
    ok[:, :, ks[0] + 3 * span // 4 :] = False
    cand = np.argwhere(ok)
    chosen: list[np.ndarray] = []
    for q in np.random.default_rng(7).permutation(len(cand)):
        if all(abs(int(cand[q][2]) - int(o[2])) > 25 for o in chosen):
            chosen.append(cand[q])
        if len(chosen) == 3:
            break
    metal = np.zeros(a.shape, bool)
    sizes_mm = [(12.0, 8.0, 4.0), (10.0, 10.0, 2.0), (3.0, 3.0, 3.0)]  # valve, port, clip
    for p, size in zip(chosen, sizes_mm, strict=True):
        ctr = np.array([2 * p[0], 2 * p[1], p[2]], float)
        half = np.array(size) / 2.0
        r = np.ceil(half / np.array(sp)).astype(int) + 1
        lo = np.maximum(ctr.astype(int) - r, 0)
        hi = np.minimum(ctr.astype(int) + r + 1, a.shape)
        g = np.ogrid[tuple(slice(x0, x1) for x0, x1 in zip(lo, hi, strict=True))]
        rr = sum(((gi - ci) * s / h) ** 2 for gi, ci, s, h in zip(g, ctr, sp, half, strict=True))
        metal[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] |= rr <= 1.0
    out, _ = fbp_metal(a, metal, sp, np.random.default_rng(0))
    return Volume(out, aff, {"kind": "CT"})


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(
        np.array_equal(a.metal, b.metal)
        and np.array_equal(a.streak, b.streak)
        and np.array_equal(a.replacement, b.replacement)
        and (a.metal_ml, a.slices, a.lines) == (b.metal_ml, b.slices, b.lines)
    )


def bench_case(name: str, ct: Volume, old: ModuleType) -> dict[str, Any]:
    """Old and new rule on one CT, alternating; best CPU and wall of ``REPS`` each."""
    canon, _ = to_canonical(ct)
    soft = ct_statistics(canon).soft_hu
    arr, sp = canon.array, canon.spacing_mm
    times: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
    results: dict[str, Any] = {}
    for _ in range(REPS):
        for tag, mod in (("old", old), ("new", metal_new)):
            c0, w0 = time.process_time(), time.perf_counter()
            results[tag] = mod.find_metal_streaks(arr, sp, soft_hu=soft)
            times[tag].append((time.process_time() - c0, time.perf_counter() - w0))
    best = {k: (min(c for c, _ in v), min(w for _, w in v)) for k, v in times.items()}
    r = results["new"]
    return {
        "case": name,
        "shape": list(arr.shape),
        "spacing_mm": [round(s, 3) for s in sp],
        "metal_ml": None if r is None else r.metal_ml,
        "slices": None if r is None else r.slices,
        "lines": None if r is None else r.lines,
        "streak_voxels": None if r is None else int(r.replacement.size),
        "old_cpu_s": round(best["old"][0], 2),
        "new_cpu_s": round(best["new"][0], 2),
        "old_wall_s": round(best["old"][1], 2),
        "new_wall_s": round(best["new"][1], 2),
        "cpu_ratio": round(best["old"][0] / max(best["new"][0], 1e-9), 2),
        "identical": _same(results["old"], r),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"`find_metal_streaks` old ({OLD_REV}) vs new in one process, alternating, best of "
        f"{REPS}; CPU seconds of the process (the host is shared), wall in brackets.",
        "",
        "| case | shape | metal mL | slices / lines | streak voxels | old s | new s | "
        "old / new (CPU) | identical |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | {r['error']} |" + " |" * 7)
            continue
        lines.append(
            f"| {r['case']} | {'x'.join(map(str, r['shape']))} | {r['metal_ml']} | "
            f"{r['slices']} / {r['lines']} | {r['streak_voxels']} | {r['old_cpu_s']} "
            f"({r['old_wall_s']}) | {r['new_cpu_s']} ({r['new_wall_s']}) | "
            f"{r['cpu_ratio']} | {r['identical']} |"
        )
    return "\n".join(lines)


def run(out_dir: Path) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="twinsep-bench-metal-") as tmp:
        old = _old_module(Path(tmp))
        rows.append(bench_case("at120-occ-c15-all-1.2mm", _clinical(), old))
        try:
            ct = _real_ct_with_metal()
        except Exception as exc:  # noqa: BLE001 - the real CT may be absent
            rows.append({"case": "real-ct-angular 0.5 mm + 3 metal", "error": str(exc)[:200]})
        else:
            rows.append(bench_case("real-ct-angular 0.5 mm + 3 metal", ct, old))
    return {
        "title": "Metal streaks: find_metal_streaks before and after the speed-up",
        "rows": rows,
        "markdown": markdown(rows),
    }


if __name__ == "__main__":
    import json

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results")
    res = run(out)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run_all import write_result

    write_result(out, "metal", res)
    print(json.dumps(res["rows"], indent=2))
