"""Segmentation and twin-assignment accuracy, and speed against plain scipy.

Rows: Dice per label and twin-assignment accuracy outside a 15 mm band around the true
twin boundary, on every phantom kind (``twinsep.phantom`` when present) at two noise
levels (10 and 30 HU) and three grid sizes, on the analytic infant twins of
``twinsep.realanatomy`` (1.0 and 1.5 mm), and on the real-anatomy cases (Colin27,
skipped when not installed), and on two copies of a real head CT (Debian
invesalius-examples; twin accuracy against exact truth, Dice only as agreement with the
single-head segmentation, see ``twinsep.realanatomy.realct``). Timing: segment + assign
on a 512x512x400 CT (analytic twins resampled), and the same large-scale steps with plain
scipy (label, distance_transform_edt, binary_fill_holes) for the ratio.

The phantom grid sizes and why: size 256 gives 1.17-1.35 mm voxels, the coarse end of
the 0.5-1.25 mm of clinical head CT planned for craniopagus separation, so these rows are
the ones the issue-4 targets are about; sizes 128 (2.3-2.7 mm) and 96 (3.1-3.6 mm) are
coarser than any planning scan and show how each label degrades with partial volume
(and they run in well under a second). A method tuned on coarse grids can get worse on
fine ones (a one-voxel rule that is one voxel of 3 mm is three voxels at 1.2 mm), which
is why the fine rows are here. The markdown starts with a summary per label and spacing
group (range and rows meeting the target), then every row.
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

from twinsep import labels as L
from twinsep.io import save_volume
from twinsep.realanatomy.fuse import FusionConfig, fuse_heads
from twinsep.realanatomy.head import analytic_head
from twinsep.realanatomy.synth_ct import labels_to_ct
from twinsep.segment import morph, segment_ct
from twinsep.twins import assign_twins
from twinsep.volume import Volume

BAND_MM = 15.0
PHANTOM_SIZES = (96, 128, 256)
"""Phantom grid sizes: 3.1-3.6 mm, 2.3-2.7 mm and 1.17-1.35 mm voxels (module docstring)."""
TARGETS = {
    "dice_soft_tissue": 0.95,
    "dice_bone": 0.95,
    "dice_brain": 0.92,
    "dice_csf": 0.80,
    "dice_vessel": 0.85,
    "twin_acc_outside_band": 0.995,
}
"""Issue-4 targets per row key (Dice, and the twin-accuracy share outside the band)."""


def _dice(a: np.ndarray, b: np.ndarray) -> float | None:
    n = int(a.sum() + b.sum())
    return None if n == 0 else round(2 * float((a & b).sum()) / n, 4)


def _score(
    name: str,
    truth_lab: np.ndarray,
    truth_tw: np.ndarray,
    ct: Volume,
    extra: dict,
    kept: dict[str, Any] | None = None,
) -> dict:
    """Dice per label, twin accuracy outside the band and the contrast call of one CT;
    ``kept`` (if given) receives the segmented label array under ``"labels"``."""
    row: dict[str, Any] = {"case": name, **extra}
    t0 = time.perf_counter()
    try:
        seg = segment_ct(ct)
        res = assign_twins(seg.labels)
    except Exception as exc:  # noqa: BLE001 - a benchmark row records the failure
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row
    row["seconds"] = round(time.perf_counter() - t0, 2)
    p = seg.labels.array
    for v, n in L.TISSUE_NAMES.items():
        row[f"dice_{n}"] = _dice(truth_lab == v, p == v)
    sp = ct.spacing_mm
    a, b = truth_tw == 1, truth_tw == 2
    d = np.where(a, morph.distance_to_mm(b, sp), morph.distance_to_mm(a, sp))
    m = (truth_tw > 0) & (res.twins.array > 0) & (d > BAND_MM)
    row["twin_acc_outside_band"] = round(float((res.twins.array[m] == truth_tw[m]).mean()), 5)
    row["contrast"] = seg.contrast
    if kept is not None:
        kept["labels"] = p
    return row


def _analytic_rows() -> list[dict]:
    rows = []
    head = analytic_head(1.0)
    for kind, cfg in (
        ("analytic-vertical", FusionConfig(twist_deg=30.0)),
        (
            "analytic-angular",
            FusionConfig(contact_a=(0, 1, 1), contact_b=(0, -1, 1), twist_deg=0.0),
        ),
    ):
        for spacing in (1.0, 1.5):
            case = fuse_heads(head, FusionConfig(**{**cfg.__dict__, "spacing_mm": spacing}))
            for noise in (10.0, 30.0):
                ct = labels_to_ct(
                    case.labels.array,
                    case.labels.spacing_mm,
                    rng=np.random.default_rng(0),
                    noise_hu=noise,
                    texture=case.texture,
                    table=case.table,
                )
                rows.append(
                    _score(
                        kind,
                        case.labels.array,
                        case.twins.array,
                        Volume(ct, case.labels.affine),
                        {"spacing_mm": spacing, "noise_hu": noise},
                    )
                )
    return rows


def _phantom_rows() -> list[dict]:
    try:
        from twinsep.phantom import PHANTOM_KINDS, make_phantom
    except ImportError:
        return []
    rows = []
    for kind in PHANTOM_KINDS:
        for size in PHANTOM_SIZES:
            for noise in (10.0, 30.0):
                ph = make_phantom(kind, size=size, seed=0, noise_hu=noise)
                rows.append(
                    _score(
                        f"phantom-{kind}",
                        ph.labels.array,
                        ph.twins.array,
                        ph.ct,
                        {
                            "spacing_mm": round(ph.ct.spacing_mm[0], 2),
                            "noise_hu": noise,
                            "size": size,
                        },
                    )
                )
    return rows


def _real_rows() -> list[dict]:
    from twinsep.realanatomy.colin import CONFIGS, build_real_case, colin_paths

    if colin_paths() is None:
        return [{"case": n, "error": "Colin27 not installed (make realdata)"} for n in CONFIGS]
    rows = []
    for name in CONFIGS:
        case, ct, truth = build_real_case(name)
        rows.append(
            _score(
                name, case.labels.array, case.twins.array, ct, {"spacing_mm": 1.5, "noise_hu": 15.0}
            )
        )
    return rows


def _real_ct_rows() -> list[dict]:
    """Two copies of a real head CT (Cranium.inv3): twin accuracy against the exact owner
    truth; the Dice columns are AGREEMENT with twinsep's segmentation of the single CT
    carried through the same fusion, not accuracy (a real CT has no voxel truth)."""
    from twinsep.realanatomy.realct import CONFIGS, build_real_ct_case, inv3_path

    if inv3_path() is None:
        return [
            {"case": n, "error": "Cranium.inv3 (invesalius-examples) not installed (make realdata)"}
            for n in CONFIGS
        ]
    rows = []
    for name in CONFIGS:
        t0 = time.perf_counter()
        case, ct, facts = build_real_ct_case(name)
        extra = {
            "spacing_mm": facts["spacing_mm"],
            "noise_hu": "real",
            "dice_reference": "single-head segmentation through the fusion (agreement)",
            "build_s": round(time.perf_counter() - t0, 1),
        }
        rows.append(_score(name, case.labels.array, case.twins.array, ct, extra))
    return rows


def _timing() -> dict:
    """Segment + assign a 512x512x400 CT; and plain-scipy versions of the heavy steps.

    Each figure is given as wall seconds (``*_s``) and as CPU seconds of the process
    (``*_cpu_s``): on the shared 2-core host the wall time grows with the load average
    (at load 20 a process gets a tenth of a core), its CPU time much less, so the CPU
    figures and their ratio are the ones to compare between runs."""
    from scipy import ndimage as ndi

    head = analytic_head(1.0)
    case = fuse_heads(head, FusionConfig(spacing_mm=0.5 * 1.0, table=True))
    lab = case.labels.array
    shape = (512, 512, 400)
    lab = _fit(lab, shape)
    ct = labels_to_ct(lab, (0.5, 0.5, 0.5), rng=np.random.default_rng(0), noise_hu=20.0)
    vol = Volume(ct, np.diag([0.5, 0.5, 0.5, 1.0]))
    with tempfile.TemporaryDirectory() as tmp:
        scan = Path(tmp) / "ct.nii.gz"
        save_volume(vol, scan)
        ours, ours_cpu, peak_mb = _segment_assign_child(scan)
    body = ct > -400
    t0, c0 = time.perf_counter(), time.process_time()
    ndi.label(body)
    ndi.binary_fill_holes(body)
    ndi.distance_transform_edt(body, sampling=(0.5, 0.5, 0.5))
    plain, plain_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    morph.component_sizes(body)
    morph.fill_holes(body)
    morph.distance_mm(body, (0.5, 0.5, 0.5))
    same_steps_ours = time.perf_counter() - t0
    same_steps_ours_cpu = time.process_time() - c0
    return {
        "shape": list(shape),
        "segment_assign_s": round(ours, 2),
        "segment_assign_cpu_s": round(ours_cpu, 2),
        "peak_rss_mb": round(peak_mb, 0),
        "label_fill_edt_scipy_s": round(plain, 2),
        "label_fill_edt_cc3d_edt_s": round(same_steps_ours, 2),
        "ratio_scipy_over_ours": round(plain / max(same_steps_ours, 1e-6), 2),
        "label_fill_edt_scipy_cpu_s": round(plain_cpu, 2),
        "label_fill_edt_cc3d_edt_cpu_s": round(same_steps_ours_cpu, 2),
        "ratio_scipy_over_ours_cpu": round(plain_cpu / max(same_steps_ours_cpu, 1e-6), 2),
        "load_1m": round(os.getloadavg()[0], 1),
    }


_CHILD = """
import json, sys, time
from twinsep.io import load_scan
from twinsep.segment import segment_ct
from twinsep.twins import assign_twins
vol = load_scan(sys.argv[1]).volume
t0, c0 = time.perf_counter(), time.process_time()
assign_twins(segment_ct(vol).labels)
s, cpu = time.perf_counter() - t0, time.process_time() - c0
# VmHWM, not ru_maxrss: ru_maxrss keeps the forking parent's peak across exec
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0]
print(json.dumps({"s": s, "cpu_s": cpu, "peak_mb": int(hwm.split()[1]) / 1024}))
"""


def _segment_assign_child(scan: Path) -> tuple[float, float, float]:
    """Segment + assign ``scan`` in a fresh process: (wall and CPU seconds without the
    read, peak RSS MB).

    A fresh process makes the peak the pipeline's own (read + segment + assign), not the
    benchmark's, which builds the 512 phantom first.
    """
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(scan)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"segment + assign of {scan} failed: {proc.stderr.strip()[-800:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(out["s"]), float(out["cpu_s"]), float(out["peak_mb"])


def _fit(a: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    out = np.zeros(shape, a.dtype)
    sl_in, sl_out = [], []
    for n, m in zip(a.shape, shape, strict=True):
        k = min(n, m)
        sl_in.append(slice((n - k) // 2, (n - k) // 2 + k))
        sl_out.append(slice((m - k) // 2, (m - k) // 2 + k))
    out[tuple(sl_out)] = a[tuple(sl_in)]
    return out


def _groups(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """Rows grouped for the summary: phantoms by grid size (finest first), analytic, real."""
    out = []
    for size in sorted(PHANTOM_SIZES, reverse=True):
        grp = [r for r in rows if r.get("size") == size]
        if grp:
            out.append((f"phantoms size {size}", grp))
    out.append(("analytic", [r for r in rows if r["case"].startswith("analytic-")]))
    colin = [r for r in rows if r["case"].startswith("real-") and "dice_reference" not in r]
    out.append(("Colin27", colin))
    out.append(
        (
            "real CT, Dice = agreement with the single-head segmentation",
            [r for r in rows if "dice_reference" in r],
        )
    )
    return [(name, grp) for name, grp in out if grp]


def _summary(rows: list[dict]) -> str:
    """Per label and spacing group: Dice range and how many rows meet the issue-4 target."""
    groups = _groups(rows)
    head = ["label [target]"]
    for name, grp in groups:
        sp = [r["spacing_mm"] for r in grp]
        head.append(f"{name}, {min(sp)}-{max(sp)} mm ({len(grp)} rows)")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, target in TARGETS.items():
        cells = [f"{key.removeprefix('dice_')} [{target}]"]
        for _, grp in groups:
            vals = [r[key] for r in grp if r.get(key) is not None]
            failed = sum("error" in r for r in grp)
            if not vals:
                cells.append("-" if not failed else f"{failed} failed")
                continue
            met = sum(v >= target for v in vals)
            cell = f"{min(vals)}-{max(vals)}, {met} of {len(vals)}"
            cells.append(cell + (f", {failed} failed" if failed else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _markdown(rows: list[dict], timing: dict | None) -> str:
    cols = ["case", "spacing_mm", "noise_hu"] + [f"dice_{n}" for n in L.TISSUE_NAMES.values()]
    cols += ["twin_acc_outside_band", "seconds"]
    lines = [_summary(rows), ""]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | " + f"failed: {r['error']} |")
            continue
        lines.append(
            "| " + " | ".join("-" if r.get(c) is None else str(r.get(c)) for c in cols) + " |"
        )
    if timing:
        lines.append("")
        lines.append(
            f"512x512x400 CT: segment + assign {timing['segment_assign_s']} s, peak RSS of a fresh process "
            f"(read + segment + assign) {timing['peak_rss_mb']} MB; label+fill+EDT with plain scipy "
            f"{timing['label_fill_edt_scipy_s']} s vs cc3d/edt {timing['label_fill_edt_cc3d_edt_s']} s "
            f"(x{timing['ratio_scipy_over_ours']})."
        )
        if "segment_assign_cpu_s" in timing:
            lines.append(
                f"CPU seconds (load average {timing['load_1m']}): segment + assign "
                f"{timing['segment_assign_cpu_s']} s; label+fill+EDT plain scipy "
                f"{timing['label_fill_edt_scipy_cpu_s']} s vs cc3d/edt "
                f"{timing['label_fill_edt_cc3d_edt_cpu_s']} s "
                f"(x{timing['ratio_scipy_over_ours_cpu']})."
            )
    return "\n".join(lines)


def run(out_dir: Path, *, timing: bool = True) -> dict:
    """Run the benchmark; write ``segment_rows.json`` into ``out_dir``."""
    rows = _phantom_rows() + _analytic_rows() + _real_rows() + _real_ct_rows()
    t = _timing() if timing else None
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "segment_rows.json").write_text(
        json.dumps({"rows": rows, "timing": t}, indent=2) + "\n"
    )
    return {
        "title": "Segmentation accuracy",
        "rows": rows,
        "timing": t,
        "markdown": _markdown(rows, t),
    }


if __name__ == "__main__":
    import sys

    print(
        run(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results"), timing=False)[
            "markdown"
        ]
    )
