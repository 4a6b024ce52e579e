"""Reconstruct on the phantom suite, against truth computed from the truth labels."""

from __future__ import annotations

import re

import numpy as np
import pytest
import trimesh

from twinsep.phantom import make_phantom
from twinsep.reconstruct.stage import reconstruct

from .synthetic import rotation
from .test_defects import voxel_cut_area_mm2, voxel_interface_area_mm2


def _oblique_affine(size_mm: float) -> np.ndarray:
    aff = np.eye(4)
    aff[:3, :3] = rotation((0.3, 1.0, 0.2), 25.0) @ np.diag([size_mm, size_mm, size_mm * 1.2])
    return aff


KINDS = ["vertical-I", "angular-frontal", "vertical-partial", "angular-parietal-partial"]


@pytest.fixture(scope="module", params=KINDS + ["angular-occipital/oblique"])
def case(request):
    kind, _, variant = request.param.partition("/")
    kw = {"affine": _oblique_affine(3.5)} if variant == "oblique" else {}
    ph = make_phantom(kind, size=80, seed=2, **kw)
    return ph, reconstruct(ph.labels, ph.twins)


def test_defect_areas_within_ten_percent_of_label_truth(case) -> None:
    ph, r = case
    for t, name in ((1, "A"), (2, "B")):
        d = r.defects[name]
        truth = {
            "scalp": voxel_interface_area_mm2(ph.labels, ph.twins, t, (1, 2, 3, 4, 5)),
            # bone and dura at the cut, not in the voxel layer next to it
            "bone": voxel_cut_area_mm2(ph.labels, ph.twins, t, (2, 3, 4, 5)),
            "dura": voxel_cut_area_mm2(ph.labels, ph.twins, t, (3, 4, 5)),
        }
        # the target: within 10 % of the truth from the truth labels
        assert d.scalp_defect_area_mm2 == pytest.approx(truth["scalp"], rel=0.10)
        # smaller ones are a ring of a few coarse voxels (the partial unions' bone: 300-900
        # mm² at 4.2 mm voxels, whose half-voxel reading the extrapolation to the cut
        # moves by a third to two thirds)
        if truth["bone"] > 1000:
            assert d.bone_defect_area_mm2 == pytest.approx(truth["bone"], rel=0.10)
        if truth["dura"] > 1000:
            assert d.dura_exposed_area_mm2 == pytest.approx(truth["dura"], rel=0.10)
    # and the phantom's own bridge area (plane integral on a 0.4 mm grid)
    assert r.defects["A"].scalp_defect_area_mm2 == pytest.approx(ph.truth.bridge_area_mm2, rel=0.10)


def test_plan_covers_or_states_shortfall(case) -> None:
    _, r = case
    for name, plan in r.skin.items():
        need = r.defects[name].scalp_defect_area_mm2
        if plan.shortfall_mm2 > 0:
            m = re.fullmatch(
                rf"scalp of twin {name} can provide (\d+) mm² of the (\d+) mm² needed "
                r"\(short by (\d+) mm²\)",
                plan.message,
            )
            assert m, plan.message
            assert int(m.group(2)) == round(need)
        else:
            # covered: realised gain (with efficiency) at least the defect
            assert plan.provided_mm2 >= need * (1 - 1e-9)


def test_meshes_closed_and_on_their_twin(case) -> None:
    ph, r = case
    for key, m in r.meshes.items():
        tm = trimesh.Trimesh(m.vertices, m.faces, process=True)
        assert tm.is_watertight, key
        d = r.defects[m.twin]
        c = tm.vertices.mean(axis=0)
        if "expander" in key:
            # expanders lie on their own twin: nearer its brain centre than the other's
            other = r.defects["B" if m.twin == "A" else "A"].brain_centre_mm
            assert np.linalg.norm(c - d.brain_centre_mm) < np.linalg.norm(c - other), key
        else:
            # a template covers its own twin's wound (its centre within a wound radius)
            radius = np.sqrt(d.scalp_defect_area_mm2 / np.pi)
            assert np.linalg.norm(c - d.defect_centroid_mm) < radius, key


def _landmarks_world(truth_twin: dict) -> dict[str, np.ndarray]:
    """Face, eyes and ears of a phantom head in world mm, from its truth frame.

    Local head coordinates (mm, before the twin's scale) of :class:`HeadParams`: +x the
    head's right, +y the face, +z up; world = centre + scale (x right + y face + z up).
    """
    from twinsep.phantom.anatomy import HeadParams

    hp = HeadParams()
    right = np.asarray(truth_twin["right_dir"], dtype=float)
    face = np.asarray(truth_twin["face_dir"], dtype=float)
    up = np.cross(right, face)
    c = np.asarray(truth_twin["head_centre_mm"], dtype=float)
    s = float(truth_twin["scale"])

    def world(p: tuple[float, float, float]) -> np.ndarray:
        return c + s * (p[0] * right + p[1] * face + p[2] * up)

    nose = hp.nose_centre_mm
    ear_x = hp.skin_semi_axes_mm[0] - 2.0
    eye = hp.eye_centre_mm
    a, b, cz = hp.skin_semi_axes_mm
    z_fore = 12.0  # a little above the brain centre, below the vertex union
    return {
        "nose tip": world((nose[0], nose[1] + hp.nose_semi_axes_mm[1], nose[2])),
        "right eye": world(eye),
        "left eye": world((-eye[0], eye[1], eye[2])),
        "right ear": world((ear_x, -6.0, -14.0)),
        "left ear": world((-ear_x, -6.0, -14.0)),
        "forehead": world((0.0, b * np.sqrt(1 - (z_fore / cz) ** 2), z_fore)),
        "occiput": world((0.0, -b * np.sqrt(1 - (0.0 / cz) ** 2), 0.0)),
    }


@pytest.fixture(scope="module", params=["plain", "oblique"])
def oriented(request):
    """vertical-II phantom (union at the vertex), plain or on a rotated anisotropic grid,
    with each twin's frame found from its anatomy by the fusion stage's function."""
    from twinsep.fusion.axes import twin_frame
    from twinsep.reconstruct.defects import HeadFrame

    aff = _oblique_affine(3.5) if request.param == "oblique" else np.diag([3.5, 3.5, 4.2, 1.0])
    ph = make_phantom("vertical-II", size=80, seed=3, affine=aff)
    frames = {}
    for t, name in ((1, "A"), (2, "B")):
        f = twin_frame(ph.labels, ph.twins, t)
        frames[name] = HeadFrame(f.axis, f.face_dir, f.face_strength)
    return ph, frames, reconstruct(ph.labels, ph.twins, frames=frames)


def test_face_ears_excluded_and_scalp_kept_in_any_orientation(oriented) -> None:
    from scipy.spatial import cKDTree

    ph, frames, r = oriented
    truth = ph.truth.model_dump()["twins"]
    for name in ("A", "B"):
        d = r.defects[name]
        # the face direction came from the anatomy (fusion), not from array axes
        cos_face = float(np.dot(frames[name].face_dir, truth[name]["face_dir"]))
        assert cos_face > np.cos(np.radians(25.0)), name
        avail = cKDTree(d.skin.points_mm[d.available])
        lm = _landmarks_world(truth[name])
        # nose tip and eyes (globe radius 9 mm + lids): no available scalp within 15 mm;
        # ear centres (pinna up to 19 mm from its centre): none within 20 mm
        for key, mm in (("nose tip", 15.0), ("right eye", 15.0), ("left eye", 15.0)):
            assert avail.query(lm[key])[0] > mm, (name, key)
        for key in ("right ear", "left ear"):
            assert avail.query(lm[key])[0] > 20.0, (name, key)
        # the forehead above the brows and the occiput stay available (within a coarse
        # voxel or two of the landmark on the skin)
        for key in ("forehead", "occiput"):
            assert avail.query(lm[key])[0] < 8.0, (name, key)


def test_available_scalp_does_not_depend_on_array_axes(oriented) -> None:
    ph, _, r = oriented
    # the same heads in world mm on both grids: the same available scalp. 10 % covers
    # the different voxel staircase (3.5 x 3.5 x 4.2 mm, rotated or not) and the about
    # 1 deg by which the anatomical axes differ between the grids (each degree moves
    # the edges of the ~40 deg band by ~2.5 %); "up" taken from an array axis would
    # move the face/neck limits by tens of degrees
    ref = {"A": 0.0, "B": 0.0}
    plain = make_phantom("vertical-II", size=80, seed=3, affine=np.diag([3.5, 3.5, 4.2, 1.0]))
    if np.allclose(plain.labels.affine[:3, :3], ph.labels.affine[:3, :3]):
        pytest.skip("this parametrisation is the reference itself")
    from twinsep.fusion.axes import twin_frame
    from twinsep.reconstruct.defects import HeadFrame, measure_defects

    frames = {}
    for t, name in ((1, "A"), (2, "B")):
        f = twin_frame(plain.labels, plain.twins, t)
        frames[name] = HeadFrame(f.axis, f.face_dir, f.face_strength)
    d = measure_defects(plain.labels, plain.twins, frames=frames)
    for name in ref:
        assert r.defects[name].available_scalp_area_mm2 == pytest.approx(
            d[name].available_scalp_area_mm2, rel=0.10
        )
