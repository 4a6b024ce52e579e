"""Vessel pieces lying wholly in the bone's partial-volume rim (``segment.vessels.rim_pieces``).

A ridge of bone partial volume along the inner table, above a thin CSF layer, passes the
Hessian tube test at some scale; the rule drops a piece whose every voxel lies in the
rim and one of whose voxels is brighter than blood can be (lumen + 3 noise sigmas).
Truth: a generated volume whose answer is known voxel by voxel, and the independently
designed phantom (``tests/independent/phantom2.py``), where such ridges were 28-183
false vessel voxels per contrast row at 2.4 mm.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from seg_metrics import dice
from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.segment import segment_ct
from twinsep.segment.params import SegmentParams, VesselParams
from twinsep.segment.vessels import rim_pieces

sys.path.insert(0, str(Path(__file__).parents[1] / "independent"))
from phantom2 import Config, make_phantom2  # noqa: E402

#: The rule switched off (everything else as the defaults).
_OFF = replace(SegmentParams(), vessel=replace(VesselParams(), rim_piece_noise_k=0.0))


def test_rim_pieces_drops_bright_pieces_wholly_in_the_rim():
    """Four pieces on a 12 x 12 x 12 grid whose rim is the slab i in 2..4, blood top 300
    HU: (a) wholly in the rim with a voxel at 450 HU -> dropped; (b) wholly in the rim,
    no voxel above 300 HU -> kept (a sinus fragment against the table); (c) bright in
    the rim but one voxel beyond it -> kept (blood of its own there); (d) two voxels in
    the rim touching only at a corner (26-connected: one piece) with the bright voxel
    in one of them -> both dropped. The answer is exactly (a) + (d)."""
    shape = (12, 12, 12)
    rim = np.zeros(shape, bool)
    rim[2:5] = True
    sm = np.full(shape, 20.0, np.float32)
    vessel = np.zeros(shape, bool)
    a = (slice(2, 4), slice(1, 3), slice(1, 3))  # 8 voxels in the rim
    vessel[a] = True
    sm[a] = 280.0
    sm[2, 1, 1] = 450.0
    b = (slice(2, 5), slice(6, 8), slice(1, 2))  # 6 voxels, all <= 300 HU
    vessel[b] = True
    sm[b] = 300.0  # at the top exactly: not brighter than blood can be
    c = (slice(3, 6), slice(1, 2), slice(7, 9))  # i = 5 lies beyond the rim
    vessel[c] = True
    sm[c] = 290.0
    sm[3, 1, 7] = 500.0
    vessel[2, 9, 9] = True  # (d): two voxels meeting at a corner
    vessel[3, 10, 10] = True
    sm[2, 9, 9], sm[3, 10, 10] = 260.0, 400.0
    truth = np.zeros(shape, bool)
    truth[a] = True
    truth[2, 9, 9] = truth[3, 10, 10] = True
    before = (vessel.copy(), rim.copy(), sm.copy())
    got = rim_pieces(vessel, rim, sm, 300.0)
    np.testing.assert_array_equal(got, truth)
    # inputs unchanged
    for x, y in zip((vessel, rim, sm), before, strict=True):
        np.testing.assert_array_equal(x, y)
    # no vessel, or a top above every value: nothing to drop
    assert not rim_pieces(np.zeros(shape, bool), rim, sm, 300.0).any()
    assert not rim_pieces(vessel, rim, sm, 600.0).any()


def test_rim_pieces_on_the_independent_phantom():
    """Vertical partial fusion with contrast at 2.4 mm (rotated, mirrored; the
    benchmark's ``vertical-partial-c-n10-s3``). Measured (issue 4): vessel Dice 0.934
    with the rule, 0.843 without (177 false voxels in ridges along the inner table, no
    true one dropped). Floor 0.92 keeps most of the gain; the other labels may not lose
    more than 0.002, except CSF: 171 of the 177 dropped voxels are the first brain
    layer under the skull, which the brain/CSF step then calls CSF as it does the rest
    of that layer on this phantom (CSF 0.6047 -> 0.6008); floor 0.005 below."""
    ph = make_phantom2(
        Config(
            "vertical", total=False, rotation_deg=60.0, seed=3, noise_hu=10.0, mirror=True,
            spacing_mm=2.4,
        )
    )  # fmt: skip
    on = segment_ct(ph.ct).labels.array
    off = segment_ct(ph.ct, params=_OFF).labels.array
    truth = ph.labels
    d_on = dice(truth == L.VESSEL, on == L.VESSEL)
    d_off = dice(truth == L.VESSEL, off == L.VESSEL)
    assert d_on >= 0.92, f"vessel Dice {d_on:.3f} with the rule"
    assert d_on >= d_off + 0.05, f"with {d_on:.3f}, without {d_off:.3f}"
    for v in (L.SOFT_TISSUE, L.BONE, L.BRAIN, L.CSF):
        t = truth == v
        slack = 0.005 if v == L.CSF else 0.002
        assert dice(t, on == v) >= dice(t, off == v) - slack, v


def test_rim_pieces_keep_our_phantoms_sinus_fragments():
    """Our phantoms' sinus runs flat on the inner table; at 2.6 mm some of its fragments
    lie wholly in the bone rim, but no brighter than the lumen plus one noise sigma:
    the value test keeps them (dropping every rim-only piece cost this row 0.004 vessel
    Dice, 13 true voxels). Measured 0.848 with and without the rule; floor 0.84."""
    ph = make_phantom("angular-occipital-partial", size=128, seed=0, noise_hu=10.0)
    truth = ph.labels.array == L.VESSEL
    on = segment_ct(ph.ct).labels.array == L.VESSEL
    off = segment_ct(ph.ct, params=_OFF).labels.array == L.VESSEL
    np.testing.assert_array_equal(on, off)
    assert dice(truth, on) >= 0.84
