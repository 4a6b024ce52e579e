"""The top of the shoulders where the trunk widens slowly (``twins.body._knee``).

Truth: a round head (brain, skull, scalp; 55 mm), a neck (cylinder, 30 mm radius) and,
below a known shoulder plane, a trunk that widens fast (a step to an elliptic cylinder
80 x 55 mm) or slowly (a cone whose radius grows 0.35 mm per mm from the neck's), on a
96 x 96 x 100 grid of 2.5 mm voxels rotated against the body's axis (oblique, as the
neck is to a CT's slices). The head part is every tissue voxel above the shoulder
plane, counted exactly; without a trunk nothing is split.

Before the knee (the top of the run of 5 mm slabs above 1.25 times the neck, under the
first at 1.5 times) the cone's head held +22.9..+23.2 mL of trunk (level 102.5 mm for
95), the step's -7.0..-7.3 mL; with it +10.3..+11.3 and -7.0..-10.8 mL (a neck slab
of 5 mm is 14 mL).
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.twins.body import split_head_body
from twinsep.volume import Volume

SP = 2.5
SHAPE = (96, 96, 100)
Z_SH = -95.0  # the shoulder plane, mm below the head's centre along the body's axis


def _rotation(ax_deg: float, ay_deg: float) -> np.ndarray:
    a, b = np.radians(ax_deg), np.radians(ay_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    return ry @ rx


def _twin(trunk: str, tilt: tuple[float, float]) -> tuple[Volume, np.ndarray]:
    """Labels on the oblique grid and the head part (above the shoulder plane)."""
    m = _rotation(*tilt) * SP
    aff = np.eye(4)
    aff[:3, :3] = m
    aff[:3, 3] = np.array([0.0, 0.0, -55.0]) - m @ ((np.asarray(SHAPE) - 1) / 2.0)
    idx = np.indices(SHAPE).reshape(3, -1).T.astype(float)
    x, y, z = (idx @ m.T + aff[:3, 3]).T
    r = np.sqrt(x**2 + y**2 + z**2)
    lab = np.zeros(len(x), np.uint8)
    lab[(x**2 + (y + 5.0) ** 2 <= 30.0**2) & (z < -30.0) & (z >= Z_SH)] = L.SOFT_TISSUE
    lab[r <= 55.0] = L.SOFT_TISSUE
    lab[r <= 50.0] = L.BONE
    lab[r <= 45.0] = L.BRAIN
    if trunk == "step":
        lab[((x / 80.0) ** 2 + (y / 55.0) ** 2 <= 1.0) & (z < Z_SH)] = L.SOFT_TISSUE
    elif trunk == "cone":
        radius = 30.0 + 0.35 * (Z_SH - z)
        lab[(x**2 + (y + 5.0) ** 2 <= radius**2) & (z < Z_SH)] = L.SOFT_TISSUE
    return Volume(lab.reshape(SHAPE), aff), (z >= Z_SH).reshape(SHAPE)


@pytest.mark.parametrize("tilt", [(20.0, 12.0), (35.0, -20.0)], ids=["tilt20", "tilt35"])
@pytest.mark.parametrize("trunk", ["step", "cone", "none"])
def test_head_part_above_the_shoulders(trunk: str, tilt: tuple[float, float]) -> None:
    vol, head_part = _twin(trunk, tilt)
    lab = np.asarray(vol.array)
    a = split_head_body(vol, Volume((lab > 0).astype(np.uint8), vol.affine))["A"]
    vox_ml = SP**3 / 1000.0
    truth_head = float(((lab > 0) & head_part).sum()) * vox_ml
    if trunk == "none":  # a scan cut through the neck: nothing split
        assert a.shoulder_mm is None and a.body_ml == 0.0
        assert a.head_ml == pytest.approx(float((lab > 0).sum()) * vox_ml, abs=0.01)
        return
    assert a.shoulder_mm is not None and not a.shoulders_cut and a.limb_ml == 0.0
    # about a neck slab (14 mL); the old rule's cone was +23 mL
    assert a.head_ml == pytest.approx(truth_head, abs=15.0)
    assert a.shoulder_mm == pytest.approx(-Z_SH, abs=5.0)
    assert a.head_ml + a.body_ml == pytest.approx(float((lab > 0).sum()) * vox_ml, abs=0.01)
