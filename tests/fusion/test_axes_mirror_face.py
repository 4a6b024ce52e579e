"""The face direction in the head's plane of bilateral symmetry (fusion.axes._mirror_face).

The face was read as the mean direction of the tissue beyond the skull, perpendicular to
the long axis. That tissue lies 30-60 deg from the axis, so brain or CSF labels spilled
one-sidedly under the skull base (shortening the distance to the cavity on that side)
and a long axis leaning sideways turned the face: Colin27 real-angular read rotation
141.5 deg for 180 on its segmented labels (faces 18.3 / 14.8 deg off), docs/orientation.md
'Colin27 real-angular: the face off the midline'. Ground truth here: the hand-made
pairs of ``handmade_pairs.py`` (world mm, symmetric heads with nose, chin, ears, neck).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from blind.bodies import make_bodies
from blind.bodies_cases import bodies_cases
from blind.phantom3 import GridParams
from twinsep import labels as L
from twinsep.fusion import analyse_fusion
from twinsep.fusion.axes import _mirror_face, angle_deg
from twinsep.fusion.params import AxisParams
from twinsep.volume import Volume

sys.path.insert(0, str(Path(__file__).parent))
from handmade_pairs import R_SCALP, make_pair  # noqa: E402


def _spill(pair, lateral_mm: float, front_mm: float, down_mm: float, radius_mm: float):
    """The pair's labels with a ball of CSF (``radius_mm``) reaching from each head's
    cavity into the tissue below its skull on one side (``lateral_mm`` toward the
    head's own left, ``front_mm`` toward its face, ``down_mm`` below its centre): the
    segmentation error of Colin27's skull base, on one side only."""
    lab = pair.labels.copy()
    ijk = np.indices(lab.shape).reshape(3, -1).T.astype(np.float64)
    xyz = (ijk @ pair.affine[:3, :3].T + pair.affine[:3, 3]).reshape(lab.shape + (3,))
    half = (2 * R_SCALP + 12.0) / 2  # make_pair's centres lie on z (vertex bridge)
    for centre_z, up, face, twin in (
        (-half, pair.axis_a, pair.face_a, L.TWIN_A),
        (half, pair.axis_b, pair.face_b, L.TWIN_B),
    ):
        side = np.cross(up, face)
        c = np.array([0.0, 0.0, centre_z]) + side * lateral_mm + face * front_mm - up * down_mm
        ball = (np.linalg.norm(xyz - c, axis=-1) <= radius_mm) & (pair.twins == twin)
        lab[ball & (lab > 0)] = L.CSF
    return Volume(lab, pair.affine.copy()), Volume(pair.twins.copy(), pair.affine.copy())


@pytest.mark.parametrize("roll_deg", [0.0, 30.0])
def test_face_stays_on_the_midline_with_csf_spilled_on_one_side(roll_deg: float) -> None:
    """A ball of CSF 11 mm across reaches from each cavity (radius 32 mm) into the tissue
    below the skull, 16 mm to one side: measured before, the faces turned 6.3-7.8 deg
    toward the other side (the axes 2.1-3.5 deg off, as without the spill) and the
    rotation read 14.0 / 42.9 deg for 0 / 30; after, faces 2.1-3.5 deg (the axes' own
    tilt), rotation 0.1 / 29.9."""
    pair = make_pair(roll_deg=roll_deg)
    labels, twins = _spill(pair, 16.0, 14.0, 26.0, 11.0)
    fa = analyse_fusion(labels, twins)
    for name, face in (("A", pair.face_a), ("B", pair.face_b)):
        # the spill-free pair reads 2.2-3.6 deg (each axis' tilt); 5 deg catches 6.3-7.8
        assert angle_deg(fa.frames[name].face_dir, face) < 5.0, name
    assert fa.rotation_deg is not None
    # 4 deg: the spill-free pair reads 0.0 / 30.4; before the change 14.0 / 42.9
    assert abs(fa.rotation_deg - pair.rotation_deg) < 4.0


@pytest.mark.slow  # the bodies render, about 10-25 s
@pytest.mark.filterwarnings("error::RuntimeWarning")  # a flat patch that holds nothing
def test_face_of_a_head_under_an_arm() -> None:
    """The blind bodies case ``vt-c15-overhead-s3`` (phantom3 vertical total union, 0 deg
    rotation, shoulders, chests and arms; twin head_a's right arm lies over the other
    twin's head) rendered at 4 mm, truth labels: the arm beyond the skull pulled one
    face 60.1 deg off, rotation 60.1 (O'Connell III for I) with mirror planes searched
    within 30 deg of the measured face, and at 2.5 mm 56.9 deg (the segmented plan's
    labels 69.1); searched within 85 deg, 0.4 deg, rotation 0.4."""
    case = bodies_cases()["vt-c15-overhead-s3"]
    grid = GridParams(shape=None, spacing_mm=(4.0, 4.0, 4.0))
    ph, _, _ = make_bodies(replace(case, base=replace(case.base, grid=grid)))
    fa = analyse_fusion(Volume(ph.labels, ph.affine), Volume(ph.twins, ph.affine))
    for name in ("A", "B"):
        face = np.asarray(ph.truth["face_dir"][name], dtype=np.float64)
        # without the arm these heads read 0.1-2.5 deg (blind 24, docs/orientation.md)
        assert angle_deg(fa.frames[name].face_dir, face) < 5.0, name
    assert fa.rotation_deg is not None
    assert abs(fa.rotation_deg - float(ph.truth["rotation_deg"])) < 5.0
    assert fa.oconnell == "I"


def _head(azimuth_deg: float | None) -> tuple[np.ndarray, np.ndarray]:
    """A head of tissue on a 2 mm grid centred at the world origin, long axis +z: half
    ellipsoids 44 mm to the front and 50 mm to the back of the centre (a head's occiput
    reaches farther than its forehead: the plane across the face, which the search
    reaches, is then no near-symmetry plane; it fit 0.4-0.5 mm against 0.0-0.16 with
    44 mm to the back too), 72 mm across and 80 mm high with a nose (a ball of
    radius 10 mm, 42 mm from the centre, 30 deg below the equator) and a jaw (radius
    14 mm, 34 mm, 55 deg below), its face turned by
    ``azimuth_deg`` from +y about +z; with None a plain ball of radius 40 mm.
    Returns (mask, affine)."""
    n = 56
    aff = np.diag([2.0, 2.0, 2.0, 1.0])
    aff[:3, 3] = -2.0 * (n - 1) / 2
    ijk = np.indices((n, n, n)).reshape(3, -1).T.astype(np.float64)
    xyz = ijk @ aff[:3, :3].T + aff[:3, 3]
    if azimuth_deg is None:
        return (np.linalg.norm(xyz, axis=1) <= 40.0).reshape(n, n, n), aff
    az = np.radians(azimuth_deg)
    front = np.array([-np.sin(az), np.cos(az), 0.0])
    left = np.array([np.cos(az), np.sin(az), 0.0])
    local = np.stack([xyz @ left, xyz @ front, xyz[:, 2]], axis=1)
    half_mm = np.where(local[:, 1] >= 0.0, 44.0, 50.0)
    scale = np.stack([np.full_like(half_mm, 36.0), half_mm, np.full_like(half_mm, 40.0)], 1)
    body = np.linalg.norm(local / scale, axis=1) <= 1.0
    for dist_mm, el_deg, r_mm in ((42.0, -30.0, 10.0), (34.0, -55.0, 14.0)):  # nose, jaw
        el = np.radians(el_deg)
        tip = dist_mm * (np.cos(el) * front + np.sin(el) * np.array([0.0, 0.0, 1.0]))
        body |= np.linalg.norm(xyz - tip, axis=1) <= r_mm
    return body.reshape(n, n, n), aff


def _mirror(body: np.ndarray, aff: np.ndarray, face: np.ndarray):
    return _mirror_face(
        axis=np.array([0.0, 0.0, 1.0]),
        face=face,
        centre_mm=np.zeros(3),
        body=body,
        free=np.ones_like(body),
        affine=aff,
        offset=np.zeros(3, dtype=np.int64),
        spacing=(2.0, 2.0, 2.0),
        params=AxisParams(),
    )


@pytest.mark.parametrize("azimuth_deg", [-17.0, 0.0, 5.0, 12.0])
def test_mirror_plane_holds_the_nose(azimuth_deg: float) -> None:
    """A head whose face is turned by a known azimuth, the face given as +y: the mirror
    plane through the face turns it there (to the search's step and the 2 mm grid); the
    sign follows the given face."""
    body, aff = _head(azimuth_deg)
    found = _mirror(body, aff, np.array([0.0, 1.0, 0.0]))
    assert found is not None
    az = np.radians(azimuth_deg)
    want = np.array([-np.sin(az), np.cos(az), 0.0])
    assert angle_deg(found[0], want) < 2.0
    assert abs(found[1] - abs(azimuth_deg)) < 2.0


def test_mirror_plane_refused_on_a_round_head() -> None:
    """A plain ball is mirror-symmetric in every plane through its centre: no plane is
    distinct, the measured face is kept (None)."""
    body, aff = _head(None)
    assert _mirror(body, aff, np.array([0.0, 1.0, 0.0])) is None


def test_mirror_plane_does_not_depend_on_the_start() -> None:
    """The plane is searched over a full half-turn fixed by the long axis alone, so the
    head turned 12 deg gives the same face (on the given face's side) from measured
    faces 85 deg to either side of it. Before, the search was anchored on the measured
    face and reached 85 deg from it: from 88 deg off it returned a plane 3 deg from the
    truth's, and the planes' scores (hence the acceptance) moved with the start."""
    body, aff = _head(12.0)
    az = np.radians(12.0)
    want = np.array([-np.sin(az), np.cos(az), 0.0])
    z = np.array([0.0, 0.0, 1.0])
    found = []
    for start_deg in (-88.0, -50.0, -20.0, 0.0, 25.0, 60.0, 88.0):
        t = np.radians(start_deg)
        start = np.cos(t) * want + np.sin(t) * np.cross(z, want)
        got = _mirror(body, aff, start)
        assert got is not None, start_deg
        assert angle_deg(got[0], want) < 1.0, start_deg
        assert abs(got[1] - abs(start_deg)) < 1.0, start_deg
        found.append(got[0])
    assert max(angle_deg(f, found[0]) for f in found) < 1.0


def _shear(k: float, narrow: float = 1.0):
    """A deformational plagiocephaly of the round test cranium (a parallelogram seen from
    above: one side's occiput flattened, its forehead and ear shifted forward, by ``k``
    mm per mm across), made ``narrow`` times narrower first; the face stays symmetric."""
    return lambda p: np.stack([p[:, 0] * narrow, p[:, 1] - k * p[:, 0], p[:, 2]], axis=1)


def _scale(sx: float, sy: float = 1.0, sz: float = 1.0):
    """A cranium ``1 / s`` times as large along each local axis (x across, y front)."""
    return lambda p: p * np.array([sx, sy, sz])


DEFORMED = {
    # shear 0.15 / 0.30 (8.5 / 16.7 deg) on the round cranium: the skin's best plane lies
    # 47 deg off (the sheared ball's long diagonal), contrast 1.02-1.07: refused
    "plagiocephaly-0.15": {"cranium_a": _shear(0.15)},
    "plagiocephaly-0.30": {"cranium_b": _shear(-0.30)},
    # shear 0.2 / 0.3 on a cranium 85 % as wide as long: plane 22 / 27 deg off, 1.20 / 1.04
    "brachy-plagiocephaly-0.20": {"cranium_a": _shear(0.20, 39.0 / 33.0)},
    "brachy-plagiocephaly-0.30": {"cranium_a": _shear(0.30, 39.0 / 33.0)},
    # long narrow heads (77 % as wide as long; B also 92 % as high), a smaller twin
    "scaphocephaly": {
        "cranium_a": _scale(39.0 / 30.0),
        "cranium_b": _scale(39.0 / 30.0, 1.0, 39.0 / 36.0),
    },
    "smaller-twin": {"cranium_b": _scale(1.0 / 0.85, 1.0 / 0.85, 1.0 / 0.85)},
}


@pytest.mark.parametrize("name", sorted(DEFORMED))
def test_face_of_deformed_heads(name: str) -> None:
    """Deformed crania on the hand-made pair (rotation 30 deg), the face (nose, chin) and
    neck symmetric about the true midline: each face within 3 deg of the truth (the
    symmetric pair reads 0.0) and the rotation within 3 deg. A plane of the deformed
    skin alone, taken as the midline, would turn a sheared head's face by 22-47 deg."""
    pair = make_pair(roll_deg=30.0, **DEFORMED[name])
    fa = analyse_fusion(Volume(pair.labels, pair.affine), Volume(pair.twins, pair.affine))
    for twin, face in (("A", pair.face_a), ("B", pair.face_b)):
        axis = fa.frames[twin].axis
        face_t = face - np.dot(face, axis) * axis
        assert angle_deg(fa.frames[twin].face_dir, face_t) < 3.0, twin
    assert fa.rotation_deg is not None
    assert abs(fa.rotation_deg - pair.rotation_deg) < 3.0


@pytest.mark.parametrize("shear", [0.05, 0.10])
def test_face_of_a_long_sheared_head(shear: float) -> None:
    """A long narrow cranium (77 % as wide as long) sheared by 0.05 / 0.10 (2.9 / 5.7
    deg): a long head keeps a distinct plane, and the skin's best one lies 3.4 / 7.8 deg
    from the protrusions' face (0.2 / 0.6 deg off) with contrast 3.3 / 2.2; taken before,
    the face read 2.9 / 7.0 deg off. The skin below the brain centre (face, jaw, neck)
    alone has its plane 2.5 / 5.3 deg from the whole skin's (at most 0.9 on the 168
    phantom, blind, bodies, shapes and real label sets of docs/orientation.md): the
    plane is refused and the face is the protrusions'."""
    pair = make_pair(roll_deg=0.0, cranium_a=_shear(shear, 39.0 / 30.0))
    fa = analyse_fusion(Volume(pair.labels, pair.affine), Volume(pair.twins, pair.affine))
    axis = fa.frames["A"].axis
    face_t = pair.face_a - np.dot(pair.face_a, axis) * axis
    assert angle_deg(fa.frames["A"].face_dir, face_t) < 2.0
