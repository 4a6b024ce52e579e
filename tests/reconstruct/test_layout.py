"""The reconstruct stage does not depend on how the scan's array is stored.

The same voxels in another array layout (axes permuted, two reversed; the affine
changed to match) must give the same defects, expanders and bone templates. Marching
cubes triangulates by array axes, so before the stage meshed on one canonical layout
the plan of this case changed with the layout (measured at c189dc5, axes (2, 0, 1) with
two reversed: twin B's second expander 24 mm away, its third 4 mm, the available scalp
20024 vs 20027 mm2, the bone template 1126 vs 1134 mm2).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from twinsep.reconstruct.stage import reconstruct, sections
from twinsep.volume import Volume

from .synthetic import head_frames, rotation, two_heads


def _relaid(vol: Volume, order: tuple[int, int, int], flips: tuple[int, ...]) -> Volume:
    """``vol``'s voxels with array axes ``order`` and ``flips`` reversed (same world)."""
    arr, aff = np.transpose(vol.array, order), vol.affine.copy()
    aff[:3, :3] = vol.affine[:3, :3][:, list(order)]
    for ax in flips:
        arr = np.flip(arr, axis=ax)
        aff[:3, 3] += aff[:3, ax] * (arr.shape[ax] - 1)
        aff[:3, ax] = -aff[:3, ax]
    return Volume(np.ascontiguousarray(arr), aff)


def test_same_plan_for_every_layout() -> None:
    labels, twins, _ = two_heads(
        half_distance_mm=50.0, spacing_mm=(3.0, 3.0, 3.0), rot=rotation((1.0, 2.0, 0.5), 20.0)
    )
    frames = head_frames()
    ref = sections(reconstruct(labels, twins, frames=frames, separation_date=date(2027, 3, 1)))
    assert ref["skin"]["expanders"]
    for order, flips in (((2, 0, 1), (0, 2)), ((1, 0, 2), (1,))):
        got = sections(
            reconstruct(
                _relaid(labels, order, flips),
                _relaid(twins, order, flips),
                frames=frames,
                separation_date=date(2027, 3, 1),
            )
        )
        assert got == ref, (order, flips)
