"""Head cores on a thick-slice cavity where a staircase bump passed as the second head.

``data/cavity_angular_parietal_5mm.npz`` is the coarse cranial cavity (2.5 x 2.5 x 5 mm
blocks) of the angular-parietal phantom rendered at 0.83 mm and averaged into 5 mm
slices along z (``benchmarks/bench_grids.py``, row thick-5.0-z), with the true twin of
each block (1 or 2, 0 outside). Before the rise rule, the depth threshold split it at
0.90 of the depth into one core spanning both heads and a one-voxel piece 0.04 mm above
the level, so a twin was 55 % right outside the band, even from the true labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twinsep.twins.heads import find_head_cores
from twinsep.twins.params import TwinParams

DATA = Path(__file__).parent / "data" / "cavity_angular_parietal_5mm.npz"


def test_staircase_bump_is_not_a_head() -> None:
    d = np.load(DATA)
    owner = d["owner"]
    sp = tuple(float(v) for v in d["spacing_mm"])
    cavity = owner > 0
    cores = find_head_cores(cavity, sp, TwinParams(), "cavity")  # type: ignore[arg-type]
    twins = []
    for core in (cores.core_a, cores.core_b):
        counts = np.bincount(owner[core], minlength=3)
        # a core is a head's deep middle: several blocks (the bump was 1), all one twin
        assert core.sum() >= 4
        assert counts[0] == 0 and min(counts[1], counts[2]) == 0
        twins.append(int(np.argmax(counts)))
    assert sorted(twins) == [1, 2]  # one core in each true head
