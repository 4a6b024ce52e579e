"""segment.sinus_join: pieces of a coarse-grid sinus joined along their course.

Generated truth: 2x2-voxel tubes on a 3 mm grid (a 6 mm sinus), lumen 250 HU, in CSF
of 10 HU; the gap between two pieces holds 180 HU (a stretch of sinus that partial
volume with the inner table left out of the vessel label, labelled CSF), and the band's
floor is 130 HU (soft peak 40 + 90).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from twinsep.segment.morph import label_components
from twinsep.segment.params import VesselParams
from twinsep.segment.sinus_join import join_fragments

SP = (3.0, 3.0, 3.0)
FLOOR_HU, LUMEN_HU, GAP_HU, CSF_HU = 130.0, 250.0, 180.0, 10.0
SHAPE = (30, 14, 14)


def _tube(start: int, stop: int, j: int = 6, k: int = 6) -> np.ndarray:
    m = np.zeros(SHAPE, bool)
    m[start:stop, j : j + 2, k : k + 2] = True
    return m


def _scene(vessel: np.ndarray, gap: np.ndarray, gap_hu: float = GAP_HU):
    image = np.full(SHAPE, CSF_HU, np.float32)
    image[vessel] = LUMEN_HU
    image[gap] = gap_hu
    csf = ~vessel  # the whole box is cavity CSF apart from the vessel
    return image, csf


def _join(image, vessel, csf, spacing=SP, params=VesselParams()):
    return join_fragments(
        image, vessel, csf, spacing, floor_hu=FLOOR_HU, lumen_hu=LUMEN_HU, params=params
    )


def test_collinear_pieces_joined_through_the_gap_only() -> None:
    # pieces at i 2..11 and 14..25: a gap of two voxels (6 mm) along the tube
    vessel = _tube(2, 12) | _tube(14, 26)
    gap = _tube(12, 14)
    image, csf = _scene(vessel, gap)
    added = _join(image, vessel, csf)
    # the minimal path is one voxel across: the two gap voxels on the nearest line
    # (exactly 2; a tube-wide fill would be 8, a detour more)
    assert int(added.sum()) == 2
    assert not (added & ~gap).any()
    _, n = label_components(vessel | added, 26)
    assert n == 1


def test_long_gap_up_to_the_limit() -> None:
    # g missing voxels put the nearest voxels (g + 1) x 3 mm apart: 4 (15 mm) is joined
    # with exactly those 4 voxels, 5 (18 mm) is beyond the 16 mm limit
    for n_gap, expect in ((4, 4), (5, 0)):
        vessel = _tube(1, 9) | _tube(9 + n_gap, 21 + n_gap)
        gap = _tube(9, 9 + n_gap)
        image, csf = _scene(vessel, gap)
        got = int(_join(image, vessel, csf).sum())
        assert got == expect, (n_gap, got)


def test_gap_below_the_band_not_joined() -> None:
    # CSF at 10 HU between the pieces: no contrast there, nothing to follow
    vessel = _tube(2, 12) | _tube(14, 26)
    image, csf = _scene(vessel, _tube(12, 14), gap_hu=CSF_HU)
    assert not _join(image, vessel, csf).any()


def test_gap_not_csf_not_joined() -> None:
    # the gap is bone or another twin's wall (not CSF of the cavity): the path may not
    # cross it, as between two twins' sinuses touching across the dura and bone
    vessel = _tube(2, 12) | _tube(14, 26)
    gap = _tube(12, 14)
    image, csf = _scene(vessel, gap)
    wall = np.zeros(SHAPE, bool)
    wall[12:14] = True
    assert not _join(image, vessel, csf & ~wall).any()


def test_side_by_side_pieces_not_joined() -> None:
    # two parallel tubes 2 voxels apart over their whole length, band-valued between:
    # not ends facing each other
    vessel = _tube(4, 20, j=3) | _tube(4, 20, j=7)
    gap = np.zeros(SHAPE, bool)
    gap[4:20, 5:7, 6:8] = True
    image, csf = _scene(vessel, gap)
    assert not _join(image, vessel, csf).any()


def test_pieces_at_right_angles_not_joined() -> None:
    # one tube along i ending at i 11, another along j starting 2 voxels past its end
    # beside it: the gap runs along the first tube but across the second
    a = _tube(2, 12)
    b = np.zeros(SHAPE, bool)
    b[13:15, 8:14, 6:8] = True
    vessel = a | b
    gap = np.zeros(SHAPE, bool)
    gap[12:13, 6:8, 6:8] = True
    gap[12:15, 6:8, 6:8] |= ~b[12:15, 6:8, 6:8]
    image, csf = _scene(vessel, gap)
    assert not _join(image, vessel, csf).any()


def test_fine_grid_and_off_switch() -> None:
    vessel = _tube(2, 12) | _tube(14, 26)
    image, csf = _scene(vessel, _tube(12, 14))
    # 1.2 mm: the gap is 2.4 mm, within reach, but fine grids are left as they are
    assert not _join(image, vessel, csf, spacing=(1.2, 1.2, 1.2)).any()
    assert not _join(image, vessel, csf, params=VesselParams(join_max_gap_mm=0.0)).any()


def test_inputs_not_modified() -> None:
    vessel = _tube(2, 12) | _tube(14, 26)
    image, csf = _scene(vessel, _tube(12, 14))
    before = [hashlib.sha1(a.tobytes()).hexdigest() for a in (image, vessel, csf)]
    _join(image, vessel, csf)
    after = [hashlib.sha1(a.tobytes()).hexdigest() for a in (image, vessel, csf)]
    assert before == after


@pytest.mark.parametrize("lumen_hu", [float("nan"), FLOOR_HU])
def test_no_lumen_no_join(lumen_hu: float) -> None:
    vessel = _tube(2, 12) | _tube(14, 26)
    image, csf = _scene(vessel, _tube(12, 14))
    added = join_fragments(
        image, vessel, csf, SP, floor_hu=FLOOR_HU, lumen_hu=lumen_hu, params=VesselParams()
    )
    assert not added.any()
