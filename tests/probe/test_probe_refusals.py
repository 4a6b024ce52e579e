"""Inputs the issue says must be refused, from the probe phantom, through the installed CLI:
two heads that do not touch, a chest with no head (one head: ``bench_probe``, and
``tests/twins/test_assign.py`` in process). Each must exit 2 with one
line naming the file, no traceback, and leave no plan folder (DESIGN.md, "Bad input").

Coarse 5 mm grids keep each plan to a few seconds; ``benchmarks/bench_probe.py`` runs the
same refusals at 2.5 mm.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from probe.probe_phantom import ProbeCase, render

pytestmark = pytest.mark.slow  # a CLI process per case, 5-20 s

CASES = {
    "apart": ProbeCase("apart", kind="apart", gap_mm=20.0, spacing_mm=(5.0, 5.0, 5.0), seed=8),
    "torso": ProbeCase("torso", kind="torso", spacing_mm=(5.0, 5.0, 5.0), seed=9),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_with_one_line(name: str, tmp_path: Path) -> None:
    r = render(CASES[name])
    scan = tmp_path / f"{name}-ct.nii.gz"
    nib.save(nib.Nifti1Image(r.ct, r.affine), str(scan))
    before = scan.read_bytes()
    out = tmp_path / "plan"
    proc = subprocess.run(
        [sys.executable, "-m", "twinsep.cli", "--quiet", "plan", str(scan), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, lines[-5:])
    assert len(lines) == 1 and scan.name in lines[0], lines
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not any(out.iterdir())
    assert scan.read_bytes() == before
    assert np.count_nonzero(r.labels) > 0  # the scene was not empty
