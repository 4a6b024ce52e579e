"""The CLI holds OpenBLAS to one thread unless the user chose (issue 10), and the
world coordinates it computes do not depend on the BLAS thread count."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import twinsep.cli as cli


def test_main_sets_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setattr(cli, "app", lambda **_: None)  # main() calls app(args=...)
    cli.main()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_main_keeps_the_users_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    monkeypatch.setattr(cli, "app", lambda **_: None)  # main() calls app(args=...)
    cli.main()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "3"


_CODE = """
import sys, numpy as np
from twinsep.volume import apply_affine
rng = np.random.default_rng(4)
idx = rng.integers(0, 512, size=(300_000, 3))
aff = np.eye(4)
aff[:3, :3] = rng.normal(size=(3, 3))  # oblique: every product term counts
aff[:3, 3] = rng.normal(size=3) * 100
sys.stdout.buffer.write(apply_affine(aff, idx).tobytes())
"""


def test_world_coordinates_do_not_depend_on_blas_threads() -> None:
    out = []
    for n in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": n}
        run = subprocess.run(
            [sys.executable, "-c", _CODE], env=env, capture_output=True, check=True, timeout=120
        )
        out.append(np.frombuffer(run.stdout, dtype=np.float64))
    assert out[0].size == 900_000
    np.testing.assert_array_equal(out[0], out[1])
