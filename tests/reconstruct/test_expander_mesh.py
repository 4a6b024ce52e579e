"""Expander meshes: on the twin's outer skull, the planned fill, under the lifted scalp."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from twinsep.reconstruct import expander_geometry as eg
from twinsep.reconstruct.defects import measure_defects
from twinsep.reconstruct.expanders import expander_mesh, plan_expanders

from .synthetic import R_BONE, R_SCALP, head_frames, rotation, two_heads

STRETCH = np.array([1.0, 1.15, 0.9])
SPACING = (2.0, 2.0, 2.5)
HALF_DISTANCE = 50.0


@pytest.fixture(scope="module")
def plans():
    # ellipsoidal heads on a rotated, anisotropic grid: the skull is curved unevenly
    labels, twins, _ = two_heads(
        half_distance_mm=HALF_DISTANCE,
        spacing_mm=SPACING,
        rot=rotation((1.0, 2.0, 0.5), 20.0),
        stretch=tuple(STRETCH),
    )
    return plan_expanders(measure_defects(labels, twins, frames=head_frames()))


def _radii(points: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance of points from a head's centre, and of its outer skull and skin along
    the same directions (ellipsoids of semi-axes R * STRETCH), mm."""
    rel = points - centre
    r = np.linalg.norm(rel, axis=1)
    k = np.linalg.norm(rel / r[:, None] / STRETCH, axis=1)
    return r, R_BONE / k, R_SCALP / k


def _expanders(plans):
    out = []
    for name, sign in (("A", -1.0), ("B", 1.0)):
        centre = np.array([0.0, 0.0, sign * HALF_DISTANCE])
        out += [(e, centre) for e in plans[name].expanders]
    assert out
    return out


def test_base_on_the_outer_skull_with_the_planned_fill(plans) -> None:
    """Closed, outward, one piece; the base within a voxel of the analytic outer skull
    (0.17 mm mean, 0.99 max measured); the planned fill."""
    for e, centre in _expanders(plans):
        m = trimesh.Trimesh(e.vertices_mm, e.faces, process=True)
        assert m.is_watertight and m.is_winding_consistent and m.volume > 0
        assert len(m.split(only_watertight=False)) == 1
        assert m.volume / 1000 == pytest.approx(e.target_ml, rel=0.01)
        # the base points: those at height 0 of the local mesh (same order)
        h_plan = eg.height_for_volume_mm(e.base, e.target_ml)
        local, _ = expander_mesh(e.base, h_plan, arc_radius_mm=e.arc_radius_mm)
        assert len(local) == len(e.vertices_mm)
        base = local[:, 2] == 0
        r, r_bone, _ = _radii(e.vertices_mm[base], centre)
        err = np.abs(r - r_bone)
        assert err.max() <= min(SPACING), e.label
        assert err.mean() <= 0.25 * min(SPACING), e.label


def test_dome_between_the_skull_and_the_lifted_scalp(plans) -> None:
    """Nothing inside the skull (a voxel's tolerance); nothing farther out than the skin
    lifted by the planned dome height (the scalp stretched over the filled expander,
    the allowance chosen), and the dome does rise: it reaches at least half that
    height above the skull."""
    for e, centre in _expanders(plans):
        r, r_bone, r_skin = _radii(e.vertices_mm, centre)
        h_plan = eg.height_for_volume_mm(e.base, e.target_ml)
        assert (r - r_bone).min() >= -min(SPACING), e.label
        assert (r - r_skin).max() <= h_plan + min(SPACING), e.label
        assert (r - r_bone).max() >= 0.5 * h_plan, e.label


@pytest.mark.parametrize(("width", "length"), [(60.0, 120.0), (100.0, 200.0), (40.0, 60.0)])
def test_box_expander_is_the_box_model_in_few_faces(width: float, length: float) -> None:
    """The box model's mesh encloses W L h and its dome exceeds the base by 2 h (L + W),
    in faces that grow with the footprint at the 3 mm step (a box subdivided to 3 mm
    edges was 24 576 faces at 60 x 120 mm, 86 016 at 100 x 200: 36 % of scene.glb)."""
    base = eg.ExpanderBase("rectangular", width, length)
    h = 0.6 * base.half_width_mm
    v, f = expander_mesh(base, h)
    m = trimesh.Trimesh(v, f, process=True)
    assert m.is_watertight and m.is_winding_consistent
    assert m.volume / 1000 == pytest.approx(eg.volume_ml(base, h), rel=1e-9)
    assert m.area - 2 * base.base_area_mm2 == pytest.approx(eg.gain_mm2(base, h), rel=1e-9)
    cells = width * length / 3.0**2
    assert len(f) <= 2 * 2 * cells * 1.5
