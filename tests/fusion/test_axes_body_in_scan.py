"""A scan that holds the body: its cut through the chest is no cue to the head's axis.

Infants' planning CTs often reach down to the chest; a head of an angular union lies
tilted in the scanner, so the scan's last slice crosses the trunk and arms far below the
head, on a large flat patch whose normal is the scanner's axis. Taken as a cut "just
below the cavity" it gave the bodies blind angular unions 176-178 deg for 120
(docs/orientation.md, 'Bodies in the scan'). A patch farther than ``AxisParams.body_cut_reach_mm``
from the cavity's bulk (``_below_cavity_mm``, checked here against analytic distances)
that disagrees with the skull-base cues is now no cue; the whole-frame effect is
measured on the bodies blind cases in docs/orientation.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep.fusion.axes import _below_cavity_mm, _Plane
from twinsep.fusion.params import FusionParams

SPACING_MM = 2.5
SHAPE = (64, 64, 120)


def _world(idx_mask: np.ndarray) -> np.ndarray:
    """World mm of a mask's voxels: voxel centres, the grid centred at the origin."""
    centre = (np.array(SHAPE) - 1) / 2.0
    return (np.argwhere(idx_mask) - centre) * SPACING_MM


def _cavity(cord_mm: float) -> np.ndarray:
    """A 45 mm ball of brain with a 4 mm spinal cord running ``cord_mm`` below it."""
    p = _world(np.ones(SHAPE, bool)).reshape(*SHAPE, 3)
    ball = np.linalg.norm(p, axis=-1) <= 45.0
    cord = (np.hypot(p[..., 0], p[..., 1]) <= 4.0) & (p[..., 2] <= 0.0) & (p[..., 2] >= -cord_mm)
    return ball | cord


@pytest.mark.parametrize("plane_z_mm", [-60.0, -100.0, -140.0])
@pytest.mark.parametrize("cord_mm", [0.0, 130.0])
def test_distance_from_the_cavity_bulk(plane_z_mm: float, cord_mm: float) -> None:
    """The bulk (deeper than 12 mm inside the cavity) of a 45 mm ball reaches 33 mm
    from its centre (voxel centres: within one voxel); the plane at z lies |z| - 33 mm
    beyond it whether or not a spinal cord runs down to the plane (the cord, 4 mm in
    radius, has no bulk: with the whole cavity the distance would be |z| - 130)."""
    cavity = _cavity(cord_mm)
    plane = _Plane(
        normal=np.array([0.0, 0.0, -1.0]),
        centre_mm=np.array([0.0, 0.0, plane_z_mm]),
        area_mm2=5000.0,
    )
    spacing = (SPACING_MM, SPACING_MM, SPACING_MM)
    got = _below_cavity_mm(plane, cavity, _world, spacing, FusionParams().scalp_skull_mm)
    assert got == pytest.approx(-plane_z_mm - 33.0, abs=SPACING_MM)
