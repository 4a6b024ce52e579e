"""Colin27 real cases built once per test process.

``build_real_case`` takes 8-20 s (the Colin27 head, the fusion, the synthetic CT); the
modules that use the same case run on one xdist worker (``SAME_WORKER`` in
tests/conftest.py), which builds it once.
"""

from __future__ import annotations

import functools
from typing import Any

from twinsep.realanatomy.colin import build_real_case
from twinsep.realanatomy.fuse import FusedCase
from twinsep.volume import Volume


def colin_case(name: str, spacing_mm: float = 1.5) -> tuple[FusedCase, Volume, dict[str, Any]]:
    """``build_real_case(name, spacing_mm=spacing_mm)``, cached; its arrays are made
    read-only because every caller shares them."""
    return _built(name, float(spacing_mm))


@functools.cache
def _built(name: str, spacing_mm: float) -> tuple[FusedCase, Volume, dict[str, Any]]:
    case, ct, truth = build_real_case(name, spacing_mm=spacing_mm)
    for vol in (case.labels, case.twins, case.mr, ct):
        if vol is not None:
            vol.array.flags.writeable = False
    return case, ct, truth
