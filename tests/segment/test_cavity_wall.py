"""Where the cavity's wall rules act (``segment.cavity_wall``).

The plate rule is for a thin plate spread along a slab thicker than itself
(``has_slabs``). On an isotropic grid as coarse as the half-maximum window it read the
partial volume of the bone ring round the foramen magnum as a plate and cut the spinal
canal's CSF off the cavity: bench phantom vertical-I at 128 (2.34 mm, 30 HU), 37 truth
CSF voxels labelled soft tissue, CSF Dice 0.8017 -> 0.7993 (under issue 4's 0.80).
The acceptance tests of the rules are in test_cavity_skull_base.py (infant skull base,
also through a sharp kernel), test_kernel.py and test_contrast_doubt.py.
"""

from __future__ import annotations

from dataclasses import replace

from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.segment import segment_ct
from twinsep.segment.cavity_wall import has_slabs
from twinsep.segment.params import SegmentParams


def test_slabs() -> None:
    assert not has_slabs((2.34, 2.34, 2.34))
    assert not has_slabs((1.0, 1.0, 1.0 + 1e-9))  # float noise of an isotropic affine
    assert has_slabs((0.7, 0.7, 2.5))
    assert has_slabs((0.96, 0.96, 1.5))
    assert has_slabs((2.0, 0.9, 0.9))  # a sagittal stack


def test_isotropic_coarse_grid_keeps_the_spinal_canal() -> None:
    # rules on vs off on the same CT: truth CSF called soft tissue 551 vs 548 (the fat
    # rule's three noise voxels); with the plate rule on this grid, 585
    ph = make_phantom("vertical-I", size=128, seed=0, noise_hu=30.0)
    csf = ph.labels.array == L.CSF
    off = replace(SegmentParams(), cavity_plate_partial=False, cavity_fat_below_soft_hu=0.0)
    lost = {}
    for name, p in (("on", SegmentParams()), ("off", off)):
        lab = segment_ct(ph.ct, params=p).labels.array
        lost[name] = int((csf & (lab == L.SOFT_TISSUE)).sum())
    assert lost["on"] - lost["off"] <= 10, lost
