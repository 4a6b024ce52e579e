"""The shapes layer (unequal, deformed heads; unusual junction sites): its truth.

Generator checks only. Most use the implicit heads without rendering (poses, warps,
flattening, cephalic index: analytic truth); one module fixture renders a 3 mm angular
lateral union of a hydrocephalic plagiocephalic twin with a small scaphocephalic one
(about 10 s on an idle core). The plans are measured by
``benchmarks/bench_blind_shapes.py``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from blind.phantom3 import (
    Case,
    CtParams,
    GridParams,
    HeadParams,
    Phantom3,
    UnionParams,
    _Head,
    _Pair,
    _ray_extent,
)
from blind.shapes import (
    HYDRO,
    HYDRO_HEAD,
    PLAGIO_RIGHT,
    SCAPHO,
    ShapeParams,
    ShapesCase,
    _ShapedHead,
    make_shapes,
    place_heads,
)
from blind.shapes_cases import baseline_cases, shapes_cases

_GRID = GridParams(shape=None, spacing_mm=(3.0, 3.0, 3.0))
_CT = CtParams(contrast=True, noise_hu=0.0, supersample=1)


def _head(length_mm: float = 135.0, shape: ShapeParams | None = None) -> _Head:
    head = _Head(HeadParams(length_mm=length_mm), np.random.default_rng(0))
    return head if shape is None else _ShapedHead(head, shape)


@pytest.mark.parametrize(
    "union",
    [
        UnionParams(kind="vertical", rotation_deg=90.0),
        UnionParams(kind="angular", tilt_deg=30.0, site_deg=180.0),
        UnionParams(kind="angular", tilt_deg=42.5, site_deg=90.0, rotation_deg=90.0),
        UnionParams(kind="angular", tilt_deg=40.0, site_deg=0.0, flip=True),
    ],
    ids=["vt90", "at120-occ", "at95-lat-r90", "at100-front-flip"],
)
def test_place_heads_reproduces_phantom3(union: UnionParams) -> None:
    # the layer's own pose code, on phantom3's heads, must put them where phantom3 does:
    # a wrong half turn or a missing table-plane turn would move a head by tens of mm
    pair = _Pair(Case("t", union, _CT, _GRID))
    want = [(p.rot.copy(), p.centre.copy()) for p in pair.poses]
    normal = pair.plane_normal.copy()
    place_heads(pair, None, None)
    for (rot, centre), got in zip(want, pair.poses, strict=True):
        assert np.allclose(got.rot, rot, atol=1e-9)
        assert np.allclose(got.centre, centre, atol=1e-6)
    assert np.allclose(pair.plane_normal, normal, atol=1e-9)


def test_per_head_junction_gives_the_analytic_axis_angle() -> None:
    # twin A joined at its vertex, twin B at its parietal region 80 deg from its vertex,
    # coplanar: the long axes meet at 180 - 0 - 80 = 100 deg
    case = Case("t", UnionParams(kind="angular", tilt_deg=30.0, site_deg=90.0), _CT, _GRID)
    pair = _Pair(case)
    place_heads(pair, (0.0, 90.0), (80.0, 90.0))
    va, vb = pair.vertex_dir(0), pair.vertex_dir(1)
    angle = math.degrees(math.acos(float(np.clip(va @ vb, -1, 1))))
    assert angle == pytest.approx(100.0, abs=1e-6)
    # both long axes in the table plane (world x-z): no y component
    assert abs(va[1]) < 1e-9 and abs(vb[1]) < 1e-9


def test_plagiocephaly_shear_moves_the_right_side_forward() -> None:
    # a point of the regular skull surface at x moves forward by plagio_mm * x / half
    # width; the shaped skull must pass through the moved point (within 0.3 mm: the
    # distance scaling is approximate, a wrong shear sign would be 2 x 9 mm off)
    reg = _head()
    shaped = _head(shape=ShapeParams(plagio_mm=9.0))
    half_width = 56.0 * reg.s
    for az in range(0, 360, 30):
        u = np.array([math.sin(math.radians(az)), math.cos(math.radians(az)), 0.1])
        u /= np.linalg.norm(u)
        p = u * _ray_extent(reg, u)
        moved = p + np.array([0.0, 9.0 * p[0] / half_width, 0.0])
        assert abs(shaped.skull_distance(moved[None, :])[0]) < 0.3


def test_flattening_depth() -> None:
    # the vault is cut flat_mm deep along the flattening direction; the smooth edge
    # (radius k) may take up to k/4 more
    p = ShapeParams(flat_mm=10.0, flat_az_deg=135.0, flat_k_mm=12.0)
    u = np.array([math.sin(math.radians(135.0)), math.cos(math.radians(135.0)), 0.0])
    lost = _ray_extent(_head(), u) - _ray_extent(_head(shape=p), u)
    assert 10.0 - 0.2 <= lost <= 10.0 + 12.0 / 4 + 0.2
    # the opposite (left-posterior) occiput is untouched
    v = u * np.array([-1.0, 1.0, 1.0])
    assert _ray_extent(_head(shape=p), v) == pytest.approx(_ray_extent(_head(), v), abs=0.05)


def test_cephalic_index() -> None:
    # phantom3's template: width 112 / length 134; a (0.88, 1.10) stretch scales it by
    # 0.8: a scaphocephalic index (< 0.75)
    from blind.shapes import _measure

    reg = _measure(_head())
    assert reg["cephalic_index"] == pytest.approx(112.0 / 134.0, abs=0.01)
    sca = _measure(_head(shape=SCAPHO))
    assert sca["cephalic_index"] == pytest.approx(112.0 / 134.0 * 0.88 / 1.10, abs=0.01)
    assert sca["skull_length_mm"] == pytest.approx(reg["skull_length_mm"] * 1.10, abs=1.0)


_CASE = ShapesCase(
    "t-shapes",
    Case(
        "t-shapes",
        UnionParams(
            kind="angular", completeness="total", overlap_mm=16.0, tilt_deg=42.5, site_deg=90.0
        ),
        _CT,
        _GRID,
        head_a=HYDRO_HEAD,
        head_b=HeadParams(length_mm=108.0),
        seed=1,
    ),
    shape_a=replace(HYDRO, plagio_mm=PLAGIO_RIGHT.plagio_mm, flat_mm=PLAGIO_RIGHT.flat_mm),
    shape_b=SCAPHO,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered() -> Phantom3:
    return make_shapes(_CASE)


def test_rendered_truth_is_consistent(rendered: Phantom3) -> None:
    ph = rendered
    assert set(np.unique(ph.labels)) == {0, 1, 2, 3, 4, 5}
    assert np.array_equal(ph.twins > 0, ph.labels > 0)  # every tissue voxel has a twin
    assert ph.truth["type"] == "angular"
    assert ph.truth["axis_angle_deg"] == pytest.approx(95.0, abs=0.01)  # 180 - 2 x 42.5
    assert ph.truth["cross_plane_voxels"] == 0


def test_rendered_sizes_and_hydrocephalus(rendered: Phantom3) -> None:
    sh: dict[str, Any] = rendered.truth["shapes"]  # type: ignore[assignment]
    tw = sh["twins"]
    big = next(t for t in "AB" if tw[t]["head"] == "head_a")
    small = next(t for t in "AB" if tw[t]["head"] == "head_b")
    assert sh["smaller_twin"] == small
    # 108 / 160 mm heads: volume about (0.675)^3 = 0.31 of the big one's, the hydrocephalic
    # head's thin vault and the scaphocephalic narrowing aside; a head of the wrong size
    # (or both heads the same) lands far outside
    assert 0.22 < sh["tissue_ratio_small_to_big"] < 0.45
    # hydrocephalus: most of the big twin's intracranial content is CSF; the small,
    # regular brain's CSF (subarachnoid space, ventricles) is a small share
    share = {t: tw[t]["csf_ml"] / (tw[t]["csf_ml"] + tw[t]["brain_ml"]) for t in "AB"}
    assert share[big] > 0.45
    assert share[small] < 0.3
    assert tw[small]["cephalic_index"] < 0.75  # scaphocephalic
    assert tw[big]["skull_length_mm"] > 150.0  # macrocephalic


def test_benchmark_cases_are_named_and_have_baselines() -> None:
    cases, bases = shapes_cases(), baseline_cases()
    assert all(name == c.name for name, c in cases.items())
    assert set(bases) == set(cases)
    # every baseline is a regular-shape phantom3 case of the same CT kind
    for name, c in cases.items():
        assert bases[name].ct.contrast == c.base.ct.contrast
        assert bases[name].grid == c.base.grid
