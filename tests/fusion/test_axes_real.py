"""Long axis and face of real anatomy (Colin27 cases) and of the direction lattice.

Truth of the real cases comes from the case builder's own transform
(``FusedCase.b_rotation``): head A keeps the MNI frame (+z vertex, +y face), head B is
``b_rotation`` applied to it.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from real_cases import colin_case
from twinsep.fusion import FusionAnalysis, analyse_fusion
from twinsep.fusion.axes import angle_deg, fibonacci_directions
from twinsep.realanatomy.colin import colin_paths


def test_fibonacci_directions_cover_the_sphere_evenly() -> None:
    d = fibonacci_directions(600)
    assert np.allclose(np.linalg.norm(d, axis=1), 1.0)
    # an even lattice has a mean close to 0 and every point's nearest neighbour about
    # sqrt(4 pi / n) rad away (8.3 deg for n = 600); 3-14 deg catches clumping or gaps
    assert np.linalg.norm(d.mean(axis=0)) < 0.01
    cos = d @ d.T
    np.fill_diagonal(cos, -1.0)
    nn = np.degrees(np.arccos(cos.max(axis=1)))
    assert 3.0 < nn.min() and nn.max() < 14.0


def _true_angles(rot: np.ndarray) -> tuple[float, float]:
    ua, fa = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    ub, fb = rot @ ua, rot @ fa
    shared = (ua - ub) / np.linalg.norm(ua - ub)
    pa = fa - fa @ shared * shared
    pb = fb - fb @ shared * shared
    return angle_deg(ua, ub), angle_deg(pa, pb)


@functools.cache
def _fusion(name: str) -> FusionAnalysis:
    """``analyse_fusion`` of a Colin27 case's construction (truth labels and twins), once
    per process (about 10 s each)."""
    case, _, _ = colin_case(name)
    return analyse_fusion(case.labels, case.twins, contrast=False)


needs_colin = pytest.mark.skipif(
    colin_paths() is None, reason="Colin27 (Debian mricron-data) not installed: make realdata"
)


@needs_colin
@pytest.mark.slow  # same worker as test_realdata (tests/conftest.py SAME_WORKER)
@pytest.mark.parametrize(
    "name",
    # real-vertical measured 178.3 deg (165.6 before the cut-face cue: each head's axis
    # leaned 11-14 deg toward its face), real-angular 119.0 against 118.1
    ["real-angular", "real-vertical"],
)
def test_real_case_axis_angle_within_10_deg(name: str) -> None:
    case, _, truth = colin_case(name)
    want_angle, _ = _true_angles(case.b_rotation)
    assert want_angle == pytest.approx(truth["axis_angle_deg"], abs=0.1)
    fa = _fusion(name)
    # the type must follow the construction (angular below 140 deg)
    assert fa.type == truth["type"]
    # issue 5 target: long-axis angle within 10 deg of the construction
    assert abs(fa.axis_angle_deg - want_angle) < 10.0


@needs_colin
@pytest.mark.slow  # same worker as test_realdata (tests/conftest.py SAME_WORKER)
def test_real_vertical_faces_and_rotation_follow_the_construction() -> None:
    # Head B is head A turned 180 deg about the anterior-posterior axis, then 30 deg
    # about the union axis: the faces are 30 deg apart (O'Connell type I, < 40). The
    # face was measured about the skull-base estimate (which leans 14-20 deg toward the
    # face and 9 deg sideways on Colin27) and only projected on the final axis' plane:
    # each copy's face read 9-11 deg toward its own right, which, the copies being
    # turned upside down relative to each other, adds up: rotation 49.8 deg (type III).
    case, _, truth = colin_case("real-vertical")
    fa = _fusion("real-vertical")
    rot = case.b_rotation
    face_a, face_b = np.array([0.0, 1.0, 0.0]), rot @ np.array([0.0, 1.0, 0.0])
    faces = {"A": face_a, "B": face_b} if case.b_copy_twin == 2 else {"A": face_b, "B": face_a}
    _, want_rotation = _true_angles(rot)
    assert want_rotation == pytest.approx(truth["face_angle_deg"], abs=0.1)
    for k, face in faces.items():
        # each twin's long axis is 4-7 deg off (docs/orientation.md); a face read about
        # it inherits at most that tilt: 6 deg, where the bug read 9.0 and 10.9
        assert angle_deg(fa.frames[k].face_dir, face) < 6.0, k
    # the O'Connell limit I/III lies 10 deg away; 6 deg catches the 19.8 deg error
    assert fa.rotation_deg is not None
    assert abs(fa.rotation_deg - want_rotation) < 6.0
