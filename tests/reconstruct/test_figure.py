"""Skin-plan figure helpers and the bounded wound-distance search the defects rely on."""

from __future__ import annotations

import numpy as np
from matplotlib.path import Path
from scipy.spatial import cKDTree

from twinsep.reconstruct.figure import _triangles_path, label_alignment


def test_triangles_path_covers_the_union_whatever_the_turn() -> None:
    # the same triangle clockwise and counter-clockwise (top and bottom of a closed
    # mesh), plus a disjoint one: the non-zero fill must cover both, not cancel them
    ccw = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    tri = np.stack([ccw, ccw[::-1], ccw + [10.0, 0.0]])
    path = _triangles_path(tri)
    inside = np.array([[1.0, 1.0], [11.0, 1.0]])
    outside = np.array([[3.0, 3.0], [6.0, 1.0], [-1.0, 0.5]])
    assert path.contains_points(inside).all()
    assert not path.contains_points(outside).any()
    # one closed sub-path of four vertices per triangle
    assert len(path.vertices) == 4 * len(tri)
    assert (path.codes[3::4] == Path.CLOSEPOLY).all()


def test_bounded_search_answers_the_margin_test_exactly() -> None:
    # measure_defects and plan_bone only ask "nearer than / farther than the margin";
    # a query bounded just above the margin must answer that exactly, including a
    # point exactly at the margin (returned finite, not inf)
    rng = np.random.default_rng(4)
    theta = rng.uniform(0, 0.6, 3000)
    phi = rng.uniform(0, 2 * np.pi, 3000)
    cap = 60.0 * np.stack(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], axis=1
    )
    pts = rng.normal(0.0, 40.0, (4000, 3))
    margin = 15.0
    pts[0] = cap[0] + [0.0, 0.0, margin]  # a point at (about) the margin
    tree = cKDTree(cap)
    full = tree.query(pts)[0]
    bounded = tree.query(pts, distance_upper_bound=float(np.nextafter(margin, np.inf)))[0]
    np.testing.assert_array_equal(full < margin, bounded < margin)
    np.testing.assert_array_equal(full > margin, bounded > margin)
    near = full <= margin
    np.testing.assert_array_equal(bounded[near], full[near])
    assert np.isinf(bounded[~near]).all()


def _skin_plan(defect: float, provided: float, shortfall: float, n: int) -> object:
    from twinsep.reconstruct.expanders import TwinSkinPlan

    return TwinSkinPlan(
        twin="A",
        defect_area_mm2=defect,
        required_mm2=1.4 * defect,
        provided_mm2=provided,
        capacity_mm2=provided,
        shortfall_mm2=shortfall,
        provided_if_largest_fails_mm2=0.0,
        expanders=("A1",) * n,  # type: ignore[arg-type]  # only counted by the title
        message="",
    )


def test_skin_title_shows_the_counted_gain_in_mm2_and_says_short_or_covered() -> None:
    from twinsep.reconstruct.figure import skin_title

    # vertical-II 128's twin A: the title read "defect 125 cm², available scalp 151 cm²"
    short = skin_title(_skin_plan(12489.0, 4750.0, 7739.0, 1))  # type: ignore[arg-type]
    assert short == (
        "Twin A: scalp defect 12,489 mm²; skin gain counted 4,750 mm² (1 new expander): "
        "short by 7,739 mm²"
    )
    assert "cm²" not in short and "available" not in short
    covered = skin_title(_skin_plan(4000.0, 5600.0, 0.0, 2))  # type: ignore[arg-type]
    assert covered.endswith("(2 new expanders): covered, 40 % over-expansion")
    less = skin_title(_skin_plan(4000.0, 4400.0, 0.0, 1))  # type: ignore[arg-type]
    assert less.endswith("covered, 10 % over-expansion of the 40 % aimed at")
    none = skin_title(_skin_plan(3000.0, 0.0, 0.0, 0))  # type: ignore[arg-type]
    assert none.endswith("(0 new expanders): short by 3,000 mm²")


def test_labels_behind_the_head_extend_inwards() -> None:
    assert label_alignment(179.0) == "right" and label_alignment(-179.0) == "left"
    assert label_alignment(0.0) == "center" and label_alignment(139.0) == "center"
