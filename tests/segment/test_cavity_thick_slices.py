"""Thick-slice head CT (``segment.cavity``): a head in 5-6 mm slices is found, with the
skull's cap (a plate tangent to the slices) lost between slice centres; coarser slices
are refused naming them (``SegmentParams.cavity_max_slice_mm``), not "not a head".

Before the per-axis wall (``cavity._one_voxel_beyond``), the wall of a cavity was what a
ball one *slice* wider reached: in the plane it reached through the skull into the scalp,
the wall read 0.53-0.66 skull for 0.67, and every case here was refused as "this does
not look like a head CT".
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from seg_metrics import dice
from twinsep.errors import ScanError
from twinsep.segment import segment_ct
from twinsep.segment.cavity import find_cranial_cavity

sys.path.insert(0, str(Path(__file__).parents[1] / "independent"))
from phantom2 import Config, make_phantom2  # noqa: E402
from test_cavity import _grid, _head  # noqa: E402


@pytest.mark.parametrize(
    ("spacing", "centre_mm"),
    [
        ((2.0, 2.0, 5.0), 1.5),
        ((2.0, 2.0, 6.0), 0.0),
        ((2.0, 2.0, 6.0), 3.0),  # the cap's plate between two slice centres
        ((2.0, 6.0, 2.0), 1.5),  # thick slices along another axis
        ((1.0, 1.0, 6.0), 1.5),
    ],
)
def test_a_head_in_thick_slices_is_found(
    spacing: tuple[float, float, float], centre_mm: float
) -> None:
    # a spherical infant skull (45 mm inside, 2.5 mm plate, 5 mm scalp) with a neck,
    # point-sampled: where the plate lies along the slices it falls between them
    x, y, z = _grid((60.0, 60.0, 62.0), spacing)
    bone, body, truth = _head(x, y, z, (0.0, 0.0, centre_mm))
    cav = find_cranial_cavity(bone, body, spacing, source="thick.nii.gz")
    assert cav.n_pockets == 1
    # measured 0.992-1.000; at d727c94 each case raised ScanError
    assert dice(cav.mask, truth) >= 0.98


@pytest.mark.parametrize(
    ("spacing", "words"),
    [
        ((2.0, 2.0, 6.5), "slices 6.5 mm apart"),
        ((7.0, 2.0, 2.0), "slices 7.0 mm apart"),
        ((7.0, 7.0, 7.0), "voxels 7.0 mm wide along 3 axes"),
    ],
)
def test_slices_coarser_than_the_limit_are_refused_naming_them(
    spacing: tuple[float, float, float], words: str
) -> None:
    x, y, z = _grid((60.0, 60.0, 62.0), spacing)
    bone, body, _truth = _head(x, y, z, (0.0, 0.0, 0.0))
    with pytest.raises(ScanError) as info:
        find_cranial_cavity(bone, body, spacing, source="thick.nii.gz")
    line = info.value.one_line()
    assert "\n" not in line
    assert line.startswith("thick.nii.gz: " + words), line
    assert "too thick to find the skull's inner surface" in line
    assert "reconstruct the series at 3 mm or thinner" in line
    assert "does not look like a head" not in line


def test_independent_twins_in_6mm_slices_are_segmented() -> None:
    """The independent phantom's vertical twins (seed 21) on 2.2 x 2.2 x 6 mm, the CT
    point-sampled (the skull's caps fall between slices): both cavities are found. At
    d727c94: "no skull enclosing a cranial cavity of at least 80 mL was found"."""
    ph = make_phantom2(
        Config(
            "vertical",
            rotation_deg=45.0,
            seed=21,
            noise_hu=10.0,
            aniso=(1.0, 1.0, 6.0 / 2.2),
            max_voxels=400,
        )
    )
    assert max(ph.ct.spacing_mm) == pytest.approx(6.0, abs=1e-6)
    lab = segment_ct(ph.ct).labels.array
    inside = np.isin(lab, (3, 4, 5))
    truth = np.isin(ph.labels, (3, 4, 5))
    assert dice(inside, truth) >= 0.97  # measured 0.9855
    for head in (1, 2):  # each twin's own cavity, not one head's alone
        own = truth & (ph.owner == head)
        assert float((inside & own).sum()) / float(own.sum()) >= 0.95
