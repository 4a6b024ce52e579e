"""Long axis of heads whose scan ends inside the cranial cavity (no neck, partial face).

Real head CTs often end at the skull base or C1: the brain (or the tissue below it)
meets the scan's cut face and no neck is shown. Ground truth: ``twinsep.phantom`` heads at a random affine whose voxels
beyond a plane (known normal, known tilt to the long axis) are removed, as a scan's
field of view would; and the real-CT case ``real-ct-vertical`` (two copies of a real
adult head CT cut at the skull base), truth from the case builder's own rotation.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twinsep import labels as L
from twinsep import phantom
from twinsep.fusion import analyse_fusion, twin_frame
from twinsep.fusion.axes import angle_deg
from twinsep.realanatomy import realct
from twinsep.volume import Volume


def _cut_phantom(kind: str, seed: int, depth_fraction: float, tilt_deg: float):
    """Phantom at a random affine, each head cut by a plane through its brain.

    The plane lies ``depth_fraction`` of the brain's depth below the brain centroid,
    its normal ``tilt_deg`` from the head's down direction (about a random axis
    perpendicular to it). Everything of that twin beyond the plane is background.
    Returns (labels, twins, {twin: (true up, cut normal)}).
    """
    rng = np.random.default_rng(seed)
    spacing = rng.uniform(2.6, 3.2, 3)
    aff = np.eye(4)
    aff[:3, :3] = Rotation.random(random_state=seed).as_matrix() * spacing
    aff[:3, 3] = -aff[:3, :3] @ (np.array([50, 50, 50]) / 2.0)
    ph = phantom.make_phantom(kind, seed=seed, affine=aff, table=False)
    lab = ph.labels.array.copy()
    tw = ph.twins.array.copy()
    truth = {}
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        # truth long_axis points from the vertex to the neck
        down = np.asarray(ph.truth.twins[name].long_axis, dtype=float)
        helper = np.cross(down, rng.normal(size=3))
        normal = Rotation.from_rotvec(np.radians(tilt_deg) * helper / np.linalg.norm(helper))
        normal_v = normal.apply(down)
        body = np.argwhere(tw == t)
        body_w = ph.labels.world_coords(body)
        brain_w = ph.labels.world_coords(np.argwhere((tw == t) & (lab == L.BRAIN)))
        centre = brain_w.mean(axis=0)
        depth = float(((brain_w - centre) @ down).max())
        beyond = (body_w - centre) @ normal_v > depth_fraction * depth
        sel = tuple(body[beyond].T)
        lab[sel] = L.BACKGROUND
        tw[sel] = 0
        truth[name] = (-down, normal_v)
    return Volume(lab, aff), Volume(tw, aff), truth


@pytest.mark.parametrize(("kind", "seed"), [("vertical-II", 3), ("angular-parietal", 4)])
def test_head_cut_across_its_axis_gets_its_axis_from_the_cut(kind: str, seed: int) -> None:
    labels, twins, truth = _cut_phantom(kind, seed, depth_fraction=0.7, tilt_deg=0.0)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        f = twin_frame(labels, twins, t)
        assert f.cue_dirs is not None and "cut" in f.cue_dirs
        # the skull-base cues alone are 70-76 deg off on these cut heads (the previous
        # detector); the cut's normal is the axis up to the voxel grid
        assert angle_deg(f.axis, truth[name][0]) < 5.0
    fa = analyse_fusion(labels, twins)
    true_angle = angle_deg(truth["A"][0], truth["B"][0])
    assert fa.type == ("vertical" if true_angle >= 140.0 else "angular")
    assert abs(fa.axis_angle_deg - true_angle) < 8.0
    # each twin's cut is told once, naming that twin once
    for name in ("A", "B"):
        told = [w for w in fa.warnings if "scan ends inside the head" in w and f"twin {name}:" in w]
        assert len(told) == 1 and told[0].count("twin ") == 1, fa.warnings


@pytest.mark.parametrize(("kind", "seed"), [("vertical-II", 3), ("angular-parietal", 4)])
def test_head_cut_below_the_cavity_gets_its_axis_from_the_cut(kind: str, seed: int) -> None:
    # the scan ends below the brain (skull base, upper neck): the cavity stays closed,
    # the tissue meets air across the cut; the previous detector took the face for a
    # neck here (63-65 deg off)
    labels, twins, truth = _cut_phantom(kind, seed, depth_fraction=1.3, tilt_deg=0.0)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        f = twin_frame(labels, twins, t)
        assert f.cue_dirs is not None and "body_cut" in f.cue_dirs and "cut" not in f.cue_dirs
        assert angle_deg(f.axis, truth[name][0]) < 5.0


def test_oblique_cut_costs_at_most_its_tilt() -> None:
    # a scan whose cut is 15 deg off the head's axis (gantry tilt, flexed head): the
    # cut's normal is then 15 deg off and the axis with it; documented limitation
    labels, twins, truth = _cut_phantom("vertical-I", 5, depth_fraction=0.7, tilt_deg=15.0)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        f = twin_frame(labels, twins, t)
        err = angle_deg(f.axis, truth[name][0])
        assert angle_deg(-f.axis, truth[name][1]) < 5.0
        assert 10.0 < err < 18.0


def test_closed_cranium_has_no_cut_face() -> None:
    # whole heads (scalp and skull all round, fontanelle under scalp): no cut cue, and
    # the phantom's axes are what they were (neck found)
    ph = phantom.make_phantom("vertical-III", seed=1, size=96, table=False)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        f = twin_frame(ph.labels, ph.twins, t)
        assert f.cue_dirs is not None
        assert "cut" not in f.cue_dirs and "body_cut" not in f.cue_dirs
        up = -np.asarray(ph.truth.twins[name].long_axis, dtype=float)
        assert angle_deg(f.axis, up) < 6.0


@pytest.mark.realdata
@pytest.mark.skipif(
    realct.inv3_path() is None,
    reason="Cranium.inv3 (Debian invesalius-examples) not installed: make realdata",
)
def test_real_ct_vertical_is_vertical_with_axes_within_10_deg() -> None:
    case, _, facts = realct.build_real_ct_case("real-ct-vertical", spacing_mm=3.0)
    z, y = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    rot = case.b_rotation
    copy2 = case.b_copy_twin
    up = {copy2: rot @ z, 3 - copy2: z}
    face = {copy2: rot @ y, 3 - copy2: y}
    fa = analyse_fusion(case.labels, case.twins, contrast=False)
    for name, t in (("A", L.TWIN_A), ("B", L.TWIN_B)):
        # measured 5.8 / 6.0 deg at 3 mm (59.7 / 59.6 before the cut-face cue), 5.27 /
        # 5.18 at 94caf67 (the skull base's lean toward the face a third of the mean),
        # 0.14 / 0.45 since only its lean across the face is averaged with the cut
        assert angle_deg(fa.frames[name].axis, up[t]) < 2.0
    shared = (up[1] - up[2]) / np.linalg.norm(up[1] - up[2])
    pa = face[1] - face[1] @ shared * shared
    pb = face[2] - face[2] @ shared * shared
    want_rot = angle_deg(pa, pb)
    assert facts["type"] == "vertical"
    assert fa.type == "vertical"
    assert abs(fa.axis_angle_deg - 180.0) < 3.0  # 169.8 at 94caf67, 179.6 now
    assert abs(fa.rotation_deg - want_rot) < 15.0
    # the union is at the vertex (the old axes called it occipital)
    assert fa.site == "vertex"
