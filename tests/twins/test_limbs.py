"""A limb outside both heads belongs to the trunk it hangs from (``assign.limbs_to_trunks``).

Truth: a generated vertical pair (3 mm) of ball heads (brain, CSF, skull, scalp) joined
at the vertex, each with a neck and a trunk at its own end. Twin A's right arm runs from
its shoulder up along its own head and on over twin B's head, lying on B's scalp, as in
the blind bodies case ``vt-c15-overhead``; every arm voxel is twin A's. The growth from
the heads alone gives the arm's part beyond the junction to B; the trunk rule gives it
back to A. Without trunks in the scan nothing changes.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.twins import assign_twins
from twinsep.twins.params import TwinParams
from twinsep.volume import Volume

SP = 3.0
C_MM = 42.0  # head centres at z = -C (twin A) and +C (twin B): the brains overlap 6 mm
R = {"brain": 45.0, "csf": 48.0, "bone": 53.0, "scalp": 58.0}
ARM_R_MM = 18.0
OFF = TwinParams(trunk_mm=np.inf)  # the rule off: the heads' growth alone


def _segment_dist(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (mm) of points ``p`` (..., 3) from the segment ``a``-``b``."""
    ab = b - a
    t = np.clip(((p - a) @ ab) / float(ab @ ab), 0.0, 1.0)
    return np.linalg.norm(p - a - t[..., None] * ab, axis=-1)


def _pair(bodies: bool) -> tuple[Volume, np.ndarray]:
    """Labels of the pair, and the arm's voxels (empty without bodies)."""
    x = np.arange(-90.0, 90.0 + SP, SP)
    y = np.arange(-66.0, 66.0 + SP, SP)
    z = np.arange(-210.0, 210.0 + SP, SP)
    P = np.stack(np.meshgrid(x, y, z, indexing="ij"), -1)
    lab = np.zeros(P.shape[:3], np.uint8)
    for cz in (-C_MM, C_MM):
        d = np.linalg.norm(P - np.array([0.0, 0.0, cz]), axis=-1)
        for name, value in (
            ("scalp", L.SOFT_TISSUE),
            ("bone", L.BONE),
            ("csf", L.CSF),
            ("brain", L.BRAIN),
        ):
            lab[d <= R[name]] = value
    X, Y, Z = P[..., 0], P[..., 1], P[..., 2]
    reach = 210.0 if bodies else C_MM + 80.0  # without bodies the scan ends in the necks
    for s in (-1.0, 1.0):
        zz = s * Z  # along this twin's own neck, away from the union
        neck = (X**2 + Y**2 <= 30.0**2) & (zz > C_MM + 30.0) & (zz <= reach)
        lab[neck & (lab == 0)] = L.SOFT_TISSUE
        if bodies:
            trunk = ((X / 80.0) ** 2 + (Y / 55.0) ** 2 <= 1.0) & (zz > C_MM + 80.0)
            lab[trunk & (lab == 0)] = L.SOFT_TISSUE
    arm = np.zeros(lab.shape, bool)
    if bodies:
        # twin A (z < 0): shoulder -> elbow beside its own head -> hand over twin B's head
        sh, el, ha = (
            np.array(v) for v in ((76.0, 0.0, -125.0), (76.0, 0.0, -40.0), (60.0, 0.0, 80.0))
        )
        on = (_segment_dist(P, sh, el) <= ARM_R_MM) | (_segment_dist(P, el, ha) <= ARM_R_MM)
        arm = on & (lab == 0)
        lab[arm] = L.SOFT_TISSUE
    affine = np.diag([SP, SP, SP, 1.0])
    affine[:3, 3] = (x[0], y[0], z[0])
    return Volume(lab, affine), arm


@pytest.fixture(scope="module")
def with_bodies() -> tuple[Volume, np.ndarray]:
    return _pair(bodies=True)


def test_arm_over_the_other_head_follows_its_trunk(with_bodies: tuple[Volume, np.ndarray]) -> None:
    labels, arm = with_bodies
    lab = labels.array
    z = labels.world_coords(np.argwhere(arm))[:, 2]
    beyond = np.zeros(arm.shape, bool)
    beyond[tuple(np.argwhere(arm)[z > 0].T)] = True  # the arm over twin B's head
    vox_ml = SP**3 / 1000.0
    assert float(beyond.sum()) * vox_ml > 40.0
    off = assign_twins(labels, params=OFF).twins.array
    on = assign_twins(labels).twins.array
    # DESIGN's rule: twin A is the twin with the smaller z centroid, the one whose
    # brain lies below the junction
    brain_z = labels.world_coords(np.argwhere((lab == L.BRAIN) & (on == 1)))[:, 2]
    assert float(brain_z.mean()) < 0.0
    # the heads' growth alone gives most of the arm beyond the junction to twin B
    assert float((off[beyond] == 1).mean()) < 0.5
    # the trunk rule gives it to its own twin, A (measured 1.0 beyond, 0.999 whole)
    assert float((on[beyond] == 1).mean()) >= 0.95
    assert float((on[arm] == 1).mean()) >= 0.97
    # nothing else changes but a few outer scalp voxels under the arm (the skin-to-skin
    # contact is not in the labels): measured 38 voxels, 1.0 mL, 10.8-12 mm from B's CSF
    moved = (on != off) & ~arm
    assert float(moved.sum()) * vox_ml < 1.5
    assert (lab[moved] == L.SOFT_TISSUE).all()
    d_cb = np.linalg.norm(labels.world_coords(np.argwhere(moved)) - [0.0, 0.0, C_MM], axis=1)
    assert (d_cb <= R["scalp"] + 1.0).all()


def test_no_trunk_no_change() -> None:
    labels, _ = _pair(bodies=False)
    on = assign_twins(labels).twins.array
    off = assign_twins(labels, params=OFF).twins.array
    np.testing.assert_array_equal(on, off)
