"""A neck's own walls inside its cut give the axis alone, not averaged with the skull base.

Where the scan ends through the neck and the neck's end slab leans from the cut (here:
the neck lies behind the brain centre, as the spine does), the walls just inside the cut
are a tube whose axis, followed back up, reaches the brain centre: that is the neck.
It was averaged with the skull-base estimate (weight 1 against 2), which leans on its
own: bench_blind_clinical vt90-c15-all-1.2mm read 175.4 deg for 180 (twin A's walls 0.9
deg off, its skull base 32 deg off at weight 0.4: 4.8 deg). A neck confirmed at its end
is used alone; now so is one read from its walls inside a cut.

The hand-made pair of ``handmade_pairs.py`` (vertex to vertex), each straight neck 32 mm
behind its head's centre and ending in a flat cut 72 mm below it, inside the grid; the
truth is the construction's axes. Before (cf9ebb3): twins A / B 2.76 / 2.64 deg off on
2 mm (axis angle 174.7), 4.13 / 4.13 on 2.5 mm (171.8); after 0.0 / 0.0 and 0.02 / 0.02.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from twinsep.fusion import analyse_fusion
from twinsep.fusion.axes import angle_deg
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
from handmade_pairs import make_pair  # noqa: E402


@pytest.mark.parametrize("spacing_mm", [2.0, 2.5])
def test_neck_walls_inside_the_cut_give_the_axis_alone(spacing_mm: float) -> None:
    shape = (int(100 / spacing_mm), int(130 / spacing_mm), int(250 / spacing_mm))
    pair = make_pair(
        shape=shape,
        spacing=(spacing_mm,) * 3,
        neck_back_mm=32.0,
        neck_length_mm=72.0,
    )
    fa = analyse_fusion(Volume(pair.labels, pair.affine), Volume(pair.twins, pair.affine))
    for name, axis in (("A", pair.axis_a), ("B", pair.axis_b)):
        frame = fa.frames[name]
        # the walls' own precision (smoothed normals) is about 1 deg
        assert angle_deg(frame.axis, axis) < 1.0, (name, frame.notes)
        assert any("neck's axis at the cut (its walls) alone" in n for n in frame.notes), name
