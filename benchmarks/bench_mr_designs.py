"""MR alone on generated T1 heads of many designs (``tests/t1_heads.py``), scored against
their truth.

One head each, 96^3 at 1.5 mm: cortex 2-5 mm thick, folds 0-12 mm, CSF layer 1.5-8 mm
(an infant's benign enlargement of the subarachnoid spaces reaches 4-10 mm), a
myelinated or a newborn's contrast (white matter darker than grey), fat or none, bias,
3 or 6 % Rician noise, round or ellipsoidal. ``segment.mr.segment_mr_t1`` runs in
process. Columns: Dice per label, the dark/bright and CSF/grey levels the plan reports,
the warnings beyond the standing MR-alone one (their first 60 characters), CPU seconds.

These heads are ours, not blind: they test that the MR-alone rules hold over designs
the blind phantom and Colin27 do not show, not the accuracy on a real infant.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

_TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(_TESTS) not in sys.path:
    sys.path.insert(0, str(_TESTS))
_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from run_all import code_state, code_text  # noqa: E402

from t1_heads import DESIGNS, affine, make_head  # noqa: E402
from twinsep import labels as L  # noqa: E402
from twinsep.segment.mr import segment_mr_t1  # noqa: E402
from twinsep.volume import Volume  # noqa: E402

_LABELS = (("soft", L.SOFT_TISSUE), ("bone", L.BONE), ("brain", L.BRAIN), ("csf", L.CSF))


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    n = int(a.sum()) + int(b.sum())
    return 2.0 * float((a & b).sum()) / n if n else 1.0


def run_design(name: str) -> dict[str, Any]:
    """Plan design ``name`` from its T1 alone; its row."""
    d = DESIGNS[name]
    t1, truth = make_head(d)
    t0 = time.process_time()
    res = segment_mr_t1(Volume(t1, affine(d), {"source": "t1.nii"}))
    cpu = time.process_time() - t0
    out = res.labels.array
    return {
        "name": name,
        "dice": {k: round(_dice(out == c, truth == c), 4) for k, c in _LABELS},
        "levels": dict(res.hu_thresholds),
        "warnings": [w.removeprefix("MR alone: ")[:60] for w in res.warnings[1:]],
        "cpu_s": round(cpu, 1),
    }


def _markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"twinsep at {code_text(code_state())}",
        "",
        "| design | soft | bone | brain | CSF | dark/bright | CSF/grey | warnings | CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        d, lv = r["dice"], r["levels"]
        warn = "; ".join(r["warnings"]) or "-"
        lines.append(
            f"| {r['name']} | {d['soft']:.3f} | {d['bone']:.3f} | {d['brain']:.3f} "
            f"| {d['csf']:.3f} | {lv['dark_tissue']:.0f} | {lv['csf_grey']:.0f} | {warn} "
            f"| {r['cpu_s']:.1f} |"
        )
    return "\n".join(lines)


def run(out_dir: Path) -> dict[str, Any]:
    rows = []
    for name in DESIGNS:
        rows.append(run_design(name))
        print(f"mr_designs {name}: {rows[-1]['dice']}", flush=True)
    return {
        "title": "MR alone on generated T1 head designs",
        "code": code_state(),
        "rows": rows,
        "markdown": _markdown(rows),
    }
