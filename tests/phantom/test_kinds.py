"""Every kind carries the classification it was asked for, checked against its geometry."""

from __future__ import annotations

import cc3d
import numpy as np
import pytest

from twinsep import labels as lab
from twinsep.errors import ConfigError, InputError
from twinsep.phantom import PHANTOM_KINDS, kind_spec, make_phantom
from twinsep.phantom.truth import angle_deg, rotation_about_deg

REQUIRED = {
    "vertical-I",
    "vertical-II",
    "vertical-III",
    "vertical-partial",
    "angular-frontal",
    "angular-parietal",
    "angular-occipital",
    "angular-frontal-partial",
    "angular-parietal-partial",
    "angular-occipital-partial",
}


def test_catalogue_has_the_required_kinds_and_sinus_variants():
    assert REQUIRED <= set(PHANTOM_KINDS)
    sinus = {kind_spec(k).sinus_kind for k in PHANTOM_KINDS}
    assert sinus == {"superior_sagittal", "circular", "separate"}


def test_unknown_kind_is_a_one_line_input_error():
    with pytest.raises(ConfigError) as err:
        make_phantom("vertical-IV")
    assert isinstance(err.value, InputError)
    line = err.value.one_line()
    assert line.startswith("kind:") and "vertical-II" in line and "\n" not in line


@pytest.mark.parametrize("kind", PHANTOM_KINDS)
def test_truth_classification_matches_measured_geometry(kind, phantom_cache):
    ph = phantom_cache(kind)
    tr = ph.truth
    spec = kind_spec(kind)
    a, b = tr.twins["A"], tr.twins["B"]
    assert (tr.type, tr.completeness, tr.site, tr.sinus_kind) == (
        spec.type,
        spec.completeness,
        spec.site,
        spec.sinus_kind,
    )
    # Long-axis angle recomputed from the truth vertex and neck points.
    ax = angle_deg(np.subtract(a.neck_mm, a.vertex_mm), np.subtract(b.neck_mm, b.vertex_mm))
    assert ax == pytest.approx(tr.axis_angle_deg, abs=0.01)
    assert (ax >= 140.0) == (tr.type == "vertical")
    for t in (a, b):
        for v in (t.long_axis, t.face_dir, t.right_dir):
            assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-3)
        # The face direction is perpendicular to the head's right-left axis.
        assert abs(np.dot(t.face_dir, t.right_dir)) < 1e-3
    rot = rotation_about_deg(a.face_dir, b.face_dir, tr.bridge_normal)
    assert rot == pytest.approx(tr.rotation_deg, abs=0.01)
    if tr.type == "vertical":
        # Requested axial rotation is reproduced (collinear long axes).
        assert rot == pytest.approx(spec.rotation_deg, abs=0.5)
        assert ax > 175.0
    else:
        assert ax == pytest.approx(180.0 - 2 * spec.junction_polar_deg, abs=0.5)
    if tr.type == "vertical" and tr.completeness == "total":
        expected = "I" if rot < 40 else ("III" if rot < 140 else "II")
        assert tr.oconnell == expected
    else:
        assert tr.oconnell is None
    assert tr.shared_sinus == (tr.completeness == "total")


@pytest.mark.parametrize("kind", PHANTOM_KINDS)
def test_each_twin_is_one_piece_and_sinus_sharing_is_real(kind, phantom_cache):
    ph = phantom_cache(kind)
    labels, twins = ph.labels.array, ph.twins.array
    assert set(np.unique(labels)) <= set(range(6))
    assert np.array_equal(twins > 0, labels > 0)
    for t in (lab.TWIN_A, lab.TWIN_B):
        _, n = cc3d.connected_components(twins == t, connectivity=6, return_N=True)
        assert n == 1, f"twin {t} has {n} pieces"
    # Shared sinus <=> some vessel component holds voxels of both twins.
    vcc = cc3d.connected_components(labels == lab.VESSEL, connectivity=26)
    shared = np.intersect1d(np.unique(vcc[twins == 1]), np.unique(vcc[twins == 2]))
    shared = shared[shared > 0]
    assert (shared.size > 0) == ph.truth.shared_sinus
    # Brains touch across the boundary only in total forms (through the dural layer).
    brain = labels == lab.BRAIN
    touching = False
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        both = brain[tuple(lo)] & brain[tuple(hi)]
        touching |= bool(np.any(both & (twins[tuple(lo)] != twins[tuple(hi)])))
    assert not touching, "brains of different twins must be separated by the dural layer"
    assert (ph.truth.brain_contact_area_mm2 > 0) == (ph.truth.completeness == "total")


def test_twin_a_follows_the_design_rule(phantom_cache):
    ph = phantom_cache("angular-occipital")
    ca = ph.twins.centroid_mm(ph.twins.array == 1)
    cb = ph.twins.centroid_mm(ph.twins.array == 2)
    axis = int(np.argmax(np.abs(ca - cb)))
    assert ca[axis] < cb[axis]
    assert np.allclose(ca, ph.truth.twins["A"].centroid_mm, atol=1e-3)


def test_face_points_the_way_truth_says(phantom_cache):
    # The eye globes (local (+-17, 56, -16) mm) sit where face_dir says; behind is brain.
    ph = phantom_cache("vertical-III", size=96)
    for t in ph.truth.twins.values():
        r, f = np.array(t.right_dir), np.array(t.face_dir)
        up = np.cross(r, f)
        c = np.array(t.head_centre_mm)
        for side in (-1, 1):
            for y_local, expected in ((56.0, lab.SOFT_TISSUE), (-56.0, lab.BRAIN)):
                p = c + t.scale * (side * 17.0 * r + y_local * f - 16.0 * up)
                ijk = np.rint(
                    np.linalg.solve(ph.labels.affine[:3, :3], p - ph.labels.affine[:3, 3])
                )
                value = ph.labels.array[tuple(ijk.astype(int))]
                assert value == expected
                if expected == lab.SOFT_TISSUE:
                    # Vitreous HU (15) with no noise: well below soft tissue and above fat.
                    assert -20 < ph.ct.array[tuple(ijk.astype(int))] < 35
