"""Red-team sweep (session 27): a marker in every DICOM text element, through whole plans.

Not a test (pytest does not collect it; ``test_every_text_tag.py`` is its fast part): a
script that writes the 64-voxel vertical-II phantom as a classic series and as an
Enhanced CT whose every text-like element carries a unique marker (``text_tags.py``),
runs ``twinsep --json plan --pdf``, ``report --pdf``, ``schedule``, ``check`` and
``--json check`` in subprocesses from a source tree, and searches every output byte
(gzip, zip, PDF and PNG streams opened: ``phi_bytes.all_bytes``) and stdout/stderr (the
path given excepted) for every marker, its other date/time spellings and its hashes.
docs/io.md "Red-team round 5".

Usage::

    python tests/badinput/sweep_text_tags.py SRC_TREE OUT_DIR [series|enhanced ...]

``SRC_TREE`` holds ``src/`` and ``tests/`` (a ``git archive`` snapshot); 2-10 minutes a
layout on 2 loaded cores, most of it the search.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

_PY = sys.executable
_CLI = "import sys; from twinsep.cli import main; sys.argv[0] = 'twinsep'; main()"


def build(out: Path, layout: str) -> tuple[Path, Any]:
    """Write the marked input of ``layout``; returns its path and the markers."""
    from badinput.text_tags import write_marked
    from twinsep.phantom import make_phantom

    root = out / "inputs" / layout
    shutil.rmtree(root, ignore_errors=True)
    return write_marked(make_phantom("vertical-II", size=64, seed=0).ct, root, layout)


def run(out: Path, layout: str, env: dict[str, str]) -> dict[str, Any]:
    """Plan the marked input of ``layout`` and search every output for the markers."""
    from phi_bytes import all_bytes

    given, markers = build(out, layout)
    needles = markers.needles()
    plan = out / f"plan_{layout}"
    shutil.rmtree(plan, ignore_errors=True)
    stdio, exits = "", {}
    for args in (
        ["--json", "plan", str(given), "--out", str(plan), "--pdf"],
        ["report", str(plan), "--pdf"],
        ["schedule", str(plan)],
        ["--json", "check", str(given)],
        ["check", str(given)],
    ):
        r = subprocess.run(
            ["nice", "-n", "5", _PY, "-c", _CLI, *args], env=env, capture_output=True, text=True
        )
        exits[" ".join(a for a in args if not a.startswith("/"))] = r.returncode
        stdio += r.stdout + r.stderr
    typed = stdio.replace(str(given), "").upper().encode()
    files = sorted(p for p in plan.rglob("*") if p.is_file())
    hits: dict[str, list[str]] = {}
    for f in files:
        blob = all_bytes(f).upper()
        found = sorted({where for n, where in needles.items() if n in blob})
        if found:
            hits[str(f.relative_to(plan))] = found
    return {
        "layout": layout,
        "exits": exits,
        "markers": len(markers.where),
        "files": len(files),
        "file_hits": hits,
        "stdio_hits": sorted({where for n, where in needles.items() if n in typed}),
    }


def main(argv: list[str]) -> None:
    tree, out = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    sys.path[:0] = [str(tree / "src"), str(tree / "tests")]
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tree / "src"), "OPENBLAS_NUM_THREADS": "1"}
    for layout in argv[2:] or ["series", "enhanced"]:
        print(json.dumps(run(out, layout, env)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
