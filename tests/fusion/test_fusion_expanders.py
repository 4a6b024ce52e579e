"""Scalp expanders already in place are left out of the twins' frames (``exclude``).

A hand-made vertical pair (``handmade_pairs``, rotation 20 deg) gets a saline dome of
about 90 mL (35 deg half-angle, 40 mm high over the skull) on each flank of each head,
78 deg from the junction direction, as craniopagus teams place them. The domes stretch
the bodies along the junction: the bridge length read off the body's waist drops from
33.6 to 14.4 mm and the rotation moves by 3 deg. Given the domes as ``exclude`` the
analysis is that of the pair without them.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.fusion import analyse_fusion
from twinsep.volume import Volume, apply_affine

sys.path.insert(0, str(Path(__file__).parent))
from handmade_pairs import R_BONE, make_pair  # noqa: E402

HALF_ANGLE = math.radians(35.0)
HEIGHT_MM = 40.0
POLAR = math.radians(78.0)


@pytest.fixture(scope="module")
def pair_with_domes():
    p = make_pair(shape=(100, 100, 100), spacing=(2.4, 2.4, 2.4), roll_deg=20.0)
    xyz = apply_affine(p.affine, np.indices(p.labels.shape).reshape(3, -1).T)
    lab, tw = p.labels.copy(), p.twins.copy()
    domes = np.zeros(lab.shape, dtype=bool)
    for t, face in ((L.TWIN_A, p.face_a), (L.TWIN_B, p.face_b)):
        c = xyz[((p.twins == t) & (p.labels == L.BRAIN)).ravel()].mean(axis=0)
        o = xyz[((p.twins == 3 - t) & (p.labels == L.BRAIN)).ravel()].mean(axis=0)
        j = (o - c) / np.linalg.norm(o - c)
        lat = np.cross(j, face)
        lat /= np.linalg.norm(lat)
        for side in (1.0, -1.0):
            d = math.cos(POLAR) * j + math.sin(POLAR) * side * lat
            rel = xyz - c
            r = np.linalg.norm(rel, axis=1)
            ang = np.arccos(np.clip(rel @ d / np.maximum(r, 1e-9), -1.0, 1.0))
            rise = HEIGHT_MM * np.sqrt(np.clip(1.0 - (ang / HALF_ANGLE) ** 2, 0.0, 1.0))
            dome = ((ang <= HALF_ANGLE) & (r > R_BONE) & (r <= R_BONE + rise + 3.0)).reshape(
                lab.shape
            )
            dome &= np.isin(lab, (L.BACKGROUND, L.SOFT_TISSUE)) & ((tw == 0) | (tw == t))
            lab[dome] = L.SOFT_TISSUE
            tw[dome] = t
            domes |= dome
    return p, lab, tw, domes


def _fusion(labels: np.ndarray, twins: np.ndarray, affine: np.ndarray, **kw):
    return analyse_fusion(Volume(labels, affine), Volume(twins, affine), **kw)


def test_expanders_left_out_of_the_frames(pair_with_domes) -> None:
    p, lab, tw, domes = pair_with_domes
    plain = _fusion(p.labels, p.twins, p.affine)
    with_domes = _fusion(lab, tw, p.affine)
    excluded = _fusion(lab, tw, p.affine, exclude=domes)
    # the domes do move the analysis (measured: bridge 33.6 -> 14.4 mm, rotation +3.4)
    assert abs(with_domes.bridge.length_mm - plain.bridge.length_mm) > 10.0
    # left out, they leave the pair's own reading (identical on this grid)
    assert excluded.type == plain.type == "vertical"
    assert excluded.bridge.length_mm == pytest.approx(plain.bridge.length_mm, abs=2.5)
    assert abs(excluded.axis_angle_deg - plain.axis_angle_deg) < 1.0
    assert excluded.rotation_deg is not None and plain.rotation_deg is not None
    assert abs(excluded.rotation_deg - plain.rotation_deg) < 1.0
    # the boundary between the twins is measured on the full map (domes included)
    assert excluded.bridge.area_mm2 == pytest.approx(with_domes.bridge.area_mm2)


def test_exclude_on_another_grid_is_refused(pair_with_domes) -> None:
    p, lab, tw, domes = pair_with_domes
    with pytest.raises(ValueError, match="grid"):
        _fusion(lab, tw, p.affine, exclude=domes[:-1])
