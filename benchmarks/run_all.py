"""Run every benchmark in this folder; write ``<out>/<name>.json``, ``<name>.md`` and ``results.md``.

Each ``bench_*.py`` module exposes ``run(out_dir: Path) -> dict`` returning
``{"title": str, "rows": [dict, ...], "markdown": str}``; machines are shared and noisy,
so each benchmark compares against a real alternative in the same run and reports ratios.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any


def load_benchmark(path: Path) -> ModuleType:
    """Import the benchmark module at ``path`` (a ``bench_*.py`` of this folder).

    The module is registered in ``sys.modules`` under its file stem before it runs:
    ``dataclasses`` looks a class's module up by name, so a module holding a dataclass
    fails to import otherwise.
    """
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


def code_state() -> dict[str, Any]:
    """The commit a benchmark ran (or planned) with and any uncommitted twinsep sources
    (the checkout is shared): ``TWINSEP_BLIND_SRC`` / ``TWINSEP_BLIND_COMMIT`` name a
    git-archive snapshot that the CLI subprocesses run; otherwise git is asked."""
    root = Path(__file__).resolve().parents[1]
    if os.environ.get("TWINSEP_BLIND_SRC"):
        return {
            "commit": os.environ.get("TWINSEP_BLIND_COMMIT", "snapshot"),
            "src": os.environ["TWINSEP_BLIND_SRC"],
            "uncommitted_src": [],
        }

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return proc.stdout.strip()

    dirty = [
        line.split(maxsplit=1)[-1] for line in git("status", "--porcelain", "src").splitlines()
    ]
    commit = git("rev-parse", "--short", "HEAD")
    if not commit:  # a git-archive snapshot: no repository to ask
        commit = os.environ.get("TWINSEP_BLIND_COMMIT", "unknown (not a git checkout)")
    return {"commit": commit, "uncommitted_src": dirty}


def code_text(code: Mapping[str, Any]) -> str:
    """:func:`code_state` in words: the commit, whether a snapshot planned, what was
    uncommitted."""
    text = str(code["commit"]) + (" (git archive snapshot)" if code.get("src") else "")
    if code.get("uncommitted_src"):
        text += f" (uncommitted: {', '.join(code['uncommitted_src'])})"
    return text


def write_result(out_dir: Path, name: str, result: dict[str, Any]) -> None:
    """Write ``<name>.json`` (and ``<name>.md`` when the result has markdown) atomically.

    Each file is written beside its target and renamed over it, so an interrupted run
    leaves the previous result, never half a file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [(f"{name}.json", json.dumps(result, indent=2, default=str) + "\n")]
    if "markdown" in result:
        files.append((f"{name}.md", str(result["markdown"]) + "\n"))
    for fname, text in files:
        tmp = out_dir / f".{fname}.tmp"
        tmp.write_text(text)
        tmp.replace(out_dir / fname)


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).parent
    only = set(sys.argv[2:])
    sections = []
    for path in sorted(here.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        mod = load_benchmark(path)
        t0 = time.perf_counter()
        result = mod.run(out_dir)
        result["wall_s"] = round(time.perf_counter() - t0, 2)
        result.setdefault("code", code_state())
        write_result(out_dir, name, result)
        print(f"{name}: done in {result['wall_s']} s", flush=True)
    # results.md gathers every benchmark's latest JSON, so a partial run keeps the others
    for path in sorted(out_dir.glob("*.json")):
        try:
            result = json.loads(path.read_text())
        except ValueError:
            continue
        if "markdown" in result:
            sections.append(f"## {result.get('title', path.stem)}\n\n{result['markdown']}\n")
    (out_dir / "results.md").write_text("# twinsep benchmarks\n\n" + "\n".join(sections))
    print(f"results in {out_dir}/results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results")))
