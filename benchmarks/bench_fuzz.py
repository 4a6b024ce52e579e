"""Long fuzz of the DICOM loader: random header mutations for a fixed time budget.

The property is the one of ``tests/io/test_fuzz_dicom.py``: ``load_scan`` either returns a
scan or raises ``ScanError``. Budget: ``TWINSEP_FUZZ_S`` seconds (default 600, the
issue's ten minutes). Mutations come from a seeded numpy generator (reproducible).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np


def _value(rng: np.random.Generator) -> object:
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return None
    if kind == 1:
        return int(rng.integers(-(2**31), 2**31))
    if kind == 2:
        return float(
            rng.choice([np.nan, np.inf, -np.inf, 0.0, 1e-30, 1e30, float(rng.normal(0, 100))])
        )
    if kind == 3:
        return "".join(chr(int(c)) for c in rng.integers(32, 0x2FF, int(rng.integers(0, 20))))
    if kind == 4:
        return [float(v) for v in rng.normal(0, 10, int(rng.integers(0, 7)))]
    return bytes(rng.integers(0, 256, int(rng.integers(0, 64)), dtype=np.uint8))


def run(out_dir: Path) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[1] / "tests" / "io" / "test_fuzz_dicom.py"
    spec = importlib.util.spec_from_file_location("twinsep_fuzz_property", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    TAGS, mutate_and_load = mod.TAGS, mod.mutate_and_load

    budget_s = float(os.environ.get("TWINSEP_FUZZ_S", "600"))
    rng = np.random.default_rng(20261125)
    cases = crashes = 0
    first: list[str] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="twinsep-fuzz-") as tmp:
        while time.perf_counter() - t0 < budget_s:
            tag = str(rng.choice(TAGS))
            try:
                mutate_and_load(Path(tmp), int(rng.integers(0, 8)), tag, _value(rng))
            except Exception:  # noqa: BLE001 - counting what escapes is the point
                crashes += 1
                if len(first) < 5:
                    first.append(f"{tag}: {traceback.format_exc(limit=2)[-400:]}")
            cases += 1
    elapsed = time.perf_counter() - t0
    md = (
        "| cases | seconds | unhandled exceptions |\n|---|---|---|\n"
        f"| {cases} | {elapsed:.0f} | {crashes} |"
    )
    return {
        "title": "DICOM header fuzz",
        "rows": [{"cases": cases, "seconds": elapsed, "unhandled": crashes, "examples": first}],
        "markdown": md,
    }
