"""The intact-head ellipsoid of the shared bone (``fusion.shared.fit_head``) against
known ellipsoids.

Analytic: points on an ellipsoid in a twin's frame give back its semi-axes, and a fit
whose long (vertex) semi-axis would exceed both others is held at the longer of them.
Generated: the phantom's heads are ellipsoids with known centre, semi-axes and axes
(``twinsep.phantom``); a vertex-to-vertex union hides each vertex inside the other head,
and the neck's cut surface (brought within reach by the spinal canal's CSF) drew the
long semi-axis out to 99-104 mm for 61-64 mm (docs/separation.md, "Shared bone of
total vertical forms").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twinsep import phantom
from twinsep.fusion import analyse_fusion
from twinsep.fusion import shared as shared_mod
from twinsep.fusion.axes import TwinFrame
from twinsep.phantom.anatomy import HeadParams


def _frame(axis: np.ndarray, face: np.ndarray, centre: np.ndarray) -> TwinFrame:
    return TwinFrame(
        twin="A",
        brain_centre_mm=centre,
        axis=axis,
        face_dir=face,
        neck_mm=centre - 80.0 * axis,
        vertex_mm=centre + 60.0 * axis,
        neck_ml=0.0,
        face_ml=0.0,
        face_strength=1.0,
        axis_strength=1.0,
    )


def _semi_axes(coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Semi-axes (long, face, right), mm, and centre in the frame, mm, of a fit."""
    centre = -coef[3:] / (2.0 * coef[:3])
    k = 1.0 + float(np.sum(coef[:3] * centre**2))
    return np.sqrt(k / coef[:3]), centre


def _ellipsoid_points(
    semi: tuple[float, float, float], centre: np.ndarray, basis: np.ndarray, n: int = 4000
) -> np.ndarray:
    rng = np.random.default_rng(0)
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return np.asarray(centre + (u * np.asarray(semi)) @ basis)


def test_points_on_a_head_shaped_ellipsoid_give_its_semi_axes() -> None:
    # an oblique frame, the centre off the brain centre: the bound (long <= face) holds
    # for the truth, so it must not move the fit (1e-6 mm: exact points)
    axis = np.array([0.3, -0.2, 0.93])
    axis /= np.linalg.norm(axis)
    face = np.cross(axis, [1.0, 0.0, 0.0])
    face /= np.linalg.norm(face)
    basis = np.stack([axis, face, np.cross(axis, face)])
    brain = np.array([10.0, -5.0, 30.0])
    head_centre = brain + 4.0 * axis
    pts = _ellipsoid_points((62.0, 73.0, 63.0), head_centre, basis)
    fit = shared_mod.fit_head(pts, _frame(axis, face, brain), trim_keep=1.0)
    assert fit is not None
    semi, centre = _semi_axes(fit[1])
    np.testing.assert_allclose(semi, [62.0, 73.0, 63.0], atol=1e-6)
    np.testing.assert_allclose(centre, [4.0, 0.0, 0.0], atol=1e-6)


def test_a_long_axis_longer_than_both_others_is_held_at_the_longer_one() -> None:
    # points of a tall ellipsoid (long 90 mm, face 70, right 60): the fit may not be
    # higher than it is long, so its long semi-axis equals its face one (the bound is
    # active), and it stays an ellipsoid near the points (within 10 mm of 70-90)
    axis, face = np.eye(3)[2], np.eye(3)[1]
    basis = np.stack([axis, face, np.cross(axis, face)])
    pts = _ellipsoid_points((90.0, 70.0, 60.0), np.zeros(3), basis)
    fit = shared_mod.fit_head(pts, _frame(axis, face, np.zeros(3)), trim_keep=1.0)
    assert fit is not None
    semi, _ = _semi_axes(fit[1])
    assert semi[0] == pytest.approx(max(semi[1], semi[2]), rel=1e-9)
    assert 70.0 <= semi[0] <= 90.0


@pytest.fixture(scope="module")
def vertex_union_fits() -> tuple[phantom.Phantom, dict[str, Any]]:
    ph = phantom.make_phantom("vertical-II", size=96, seed=0, table=False)
    fits: dict[str, Any] = {}
    real = shared_mod.fit_head

    def spy(points_mm: np.ndarray, frame: TwinFrame, **kw: Any) -> Any:
        out = real(points_mm, frame, **kw)
        fits[frame.twin] = out
        fits[frame.twin + "_points"] = points_mm
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shared_mod, "fit_head", spy)
        fa = analyse_fusion(ph.labels, ph.twins, contrast=True)
    fits["shared_bone_ml"] = fa.shared.shared_bone_ml
    return ph, fits


@pytest.mark.parametrize("twin", ["A", "B"])
def test_vertex_union_heads_match_the_phantom_heads(
    vertex_union_fits: tuple[phantom.Phantom, dict[str, Any]], twin: str
) -> None:
    ph, fits = vertex_union_fits
    truth = ph.truth.twins[twin]
    fit = fits[twin]
    assert fit is not None
    basis, coef = fit
    semi, centre = _semi_axes(coef)
    right, face = np.asarray(truth.right_dir), np.asarray(truth.face_dir)
    known = np.asarray(HeadParams().skin_semi_axes_mm) * truth.scale  # (right, face, up)
    # the fit's axes are the frame's (long, face, right): compare like with like
    assert abs(float(basis[1] @ np.cross(right, face))) > 0.99
    # measured long -0.2/-0.5 mm (62.3/60.6 for 62.5/61.1; before: 99.4/102.7), face
    # -1.7/-1.6, right -0.7/-0.8; 3 mm catches the extrapolation and a long axis taken
    # from the face axis (72-74 mm)
    assert semi[0] == pytest.approx(known[2], abs=3.0)
    assert semi[1] == pytest.approx(known[1], abs=3.0)
    assert semi[2] == pytest.approx(known[0], abs=3.0)
    # the fitted head's centre on the phantom's (measured 0.4 mm; 2 mm, under a voxel)
    fitted_centre = basis[0] + centre @ basis[1:]
    assert np.linalg.norm(fitted_centre - np.asarray(truth.head_centre_mm)) < 2.0


@pytest.mark.parametrize("twin", ["A", "B"])
def test_vertex_union_fit_points_lie_on_the_phantom_scalp(
    vertex_union_fits: tuple[phantom.Phantom, dict[str, Any]], twin: str
) -> None:
    # The scalp over the cranium only: every point within 0.95-1.09 of the known head's
    # radius (ears and skull base blend into it). Before, the neck's cut surface came
    # in (the spinal canal's CSF lies within 12 mm of it), at up to 1.64 of the radius,
    # 105 mm below the brain centre, and drew the long axis out.
    ph, fits = vertex_union_fits
    truth = ph.truth.twins[twin]
    pts = fits[twin + "_points"]
    right, face = np.asarray(truth.right_dir), np.asarray(truth.face_dir)
    axes = np.stack([right, face, np.cross(right, face)])
    known = np.asarray(HeadParams().skin_semi_axes_mm) * truth.scale
    loc = (pts - np.asarray(truth.head_centre_mm)) @ axes.T
    ratio = np.sqrt(((loc / known) ** 2).sum(axis=1))
    assert pts.shape[0] > 1000
    assert 0.9 < ratio.min() and ratio.max() < 1.2


def test_vertex_union_shared_bone_near_truth(
    vertex_union_fits: tuple[phantom.Phantom, dict[str, Any]],
) -> None:
    ph, fits = vertex_union_fits
    # truth 6.2 mL, read 5.0 (30.3 before: each twin's vault inside the other twin's
    # over-long head); 3 mL as for the other kinds (tests/fusion/test_evidence.py)
    assert fits["shared_bone_ml"] == pytest.approx(ph.truth.shared_bone_ml, abs=3.0)
