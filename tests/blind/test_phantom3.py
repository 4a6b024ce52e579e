"""The blind phantom generator itself: truth maps, the twin A rule, storage, geometry.

Small grids (48-64 voxels a side) so that the module stays fast; the plans are in
``test_blind.py``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from blind.cases import blind_cases
from blind.phantom3 import (
    LABEL_OF,
    MATERIALS,
    Case,
    CtParams,
    GridParams,
    Phantom3,
    UnionParams,
    make_case,
    material_hu,
    write_case,
)
from blind.score import dice, plane_distance_mm

_SMALL = GridParams(shape=(56, 56, 56))


@pytest.fixture(scope="module")
def vertical() -> Phantom3:
    return make_case(
        Case(
            "t-vertical",
            UnionParams(kind="vertical", completeness="total", overlap_mm=16.0, rotation_deg=90.0),
            CtParams(noise_hu=0.0, psf_fwhm_mm=0.0, cupping_hu=0.0),
            _SMALL,
            seed=3,
        )
    )


@pytest.fixture(scope="module")
def angular() -> Phantom3:
    return make_case(
        Case(
            "t-angular",
            UnionParams(kind="angular", completeness="partial", tilt_deg=30.0, overlap_mm=6.0),
            CtParams(noise_hu=10.0),
            _SMALL,
            seed=4,
        )
    )


def _world(ph: Phantom3) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in ph.labels.shape], indexing="ij"), -1)
    return idx.reshape(-1, 3) @ ph.affine[:3, :3].T + ph.affine[:3, 3]


@pytest.mark.parametrize("which", ["vertical", "angular"])
def test_truth_maps_are_consistent(which: str, request: pytest.FixtureRequest) -> None:
    ph: Phantom3 = request.getfixturevalue(which)
    assert set(np.unique(ph.labels)) == {0, 1, 2, 3, 4, 5}
    assert set(np.unique(ph.twins)) == {0, 1, 2}
    # every tissue voxel has exactly one twin, background none
    assert np.array_equal(ph.twins > 0, ph.labels > 0)
    # no tissue of one head lies beyond the boundary plane outside the bridge
    assert ph.truth["cross_plane_voxels"] == 0


@pytest.mark.parametrize("which", ["vertical", "angular"])
def test_twin_a_is_the_design_rule_twin(which: str, request: pytest.FixtureRequest) -> None:
    ph: Phantom3 = request.getfixturevalue(which)
    w = _world(ph)
    ca = w[(ph.twins == 1).ravel()].mean(axis=0)
    cb = w[(ph.twins == 2).ravel()].mean(axis=0)
    axis = int(np.argmax(np.abs(cb - ca)))
    assert ca[axis] < cb[axis]
    # and the truth's boundary plane has twin A on its negative side
    dist = plane_distance_mm(ph.labels.shape, ph.affine, ph.truth)
    assert np.median(dist[ph.twins == 1]) < -20.0
    assert np.median(dist[ph.twins == 2]) > 20.0


def test_flip_swaps_which_head_is_twin_a() -> None:
    base = Case("t-flip", UnionParams(kind="vertical", overlap_mm=16.0), CtParams(), _SMALL)
    a = make_case(base)
    b = make_case(replace(base, union=replace(base.union, flip=True)))
    assert a.truth["twin_a_head"] == "head_a"
    assert b.truth["twin_a_head"] == "head_b"


def test_fusion_truth_angles(vertical: Phantom3, angular: Phantom3) -> None:
    # vertical: axes in line, face rotation = the construction's spin
    assert vertical.truth["type"] == "vertical"
    assert vertical.truth["axis_angle_deg"] == pytest.approx(180.0, abs=1e-6)
    assert vertical.truth["rotation_deg"] == pytest.approx(90.0, abs=1e-6)
    # angular: coplanar tilts of 30 deg each -> 180 - 60 = 120 deg
    assert angular.truth["type"] == "angular"
    assert angular.truth["axis_angle_deg"] == pytest.approx(120.0, abs=1e-6)


def test_deterministic_and_seeded() -> None:
    case = Case("t-seed", UnionParams(), CtParams(noise_hu=20.0), GridParams(shape=(40, 40, 40)))
    a, b = make_case(case), make_case(case)
    assert np.array_equal(a.ct_hu, b.ct_hu) and np.array_equal(a.labels, b.labels)
    c = make_case(replace(case, seed=1))
    assert not np.array_equal(a.ct_hu, c.ct_hu)


def test_storage_order_keeps_the_world() -> None:
    """LPS or sagittal storage of the same case: the same world points, truth and CT
    (noise included)."""
    case = Case("t-ras", UnionParams(), CtParams(noise_hu=20.0), GridParams(shape=(40, 40, 40)))
    ras = make_case(case)
    lps = make_case(replace(case, grid=replace(case.grid, orientation="LPS")))
    assert np.allclose(lps.affine[:3, :3], np.diag([-1.0, -1.0, 1.0]) * ras.affine[0, 0])
    assert np.array_equal(lps.labels, ras.labels[::-1, ::-1, :])
    assert np.allclose(lps.ct_hu, ras.ct_hu[::-1, ::-1, :], atol=0.01)
    sag = make_case(replace(case, grid=replace(case.grid, orientation="sagittal")))
    # sagittal: i -> A, j -> S, k -> L, so world (x, y, z)[a, b, c] = sag[b, c, -a]
    back = np.transpose(sag.ct_hu, (2, 0, 1))[::-1, :, :]
    assert np.array_equal(np.transpose(sag.labels, (2, 0, 1))[::-1, :, :], ras.labels)
    assert np.allclose(back, ras.ct_hu, atol=0.01)


def test_partial_volume_and_pure_voxels(vertical: Phantom3) -> None:
    """Without noise/PSF/cupping, a voxel whose 3x3x3 neighbourhood is one material has
    exactly that material's HU; voxels on a bone edge lie between soft tissue and bone."""
    hu = material_hu(contrast=True)
    white = hu[[i for i, m in enumerate(MATERIALS) if m[0] == "white"][0]]
    assert np.isclose(vertical.ct_hu, white, atol=1e-3).sum() > 100
    bone = vertical.labels == 2
    edge = bone & (vertical.ct_hu < 900.0) & (vertical.ct_hu > 100.0)
    assert edge.sum() > 0.2 * bone.sum()  # 2-4 mm bone on ~5 mm voxels: mostly mixed
    assert set(np.unique(LABEL_OF)) == {0, 1, 2, 3, 4, 5}


@pytest.mark.parametrize("intercept", [0.0, -1024.0])
def test_written_nifti_reads_back_in_hu(
    intercept: float, angular: Phantom3, tmp_path: Path
) -> None:
    paths = write_case(angular, tmp_path, intercept=intercept)
    img = nib.load(str(paths["ct"]))
    assert img.get_data_dtype() == np.int16
    assert float(img.dataobj.inter) == intercept  # type: ignore[attr-defined]
    hu = np.asarray(img.dataobj, dtype=np.float64)
    assert np.abs(hu - angular.ct_hu).max() <= 0.5 + 1e-3  # rounding to int16 only
    assert np.allclose(img.affine, angular.affine)
    lab = np.asarray(nib.load(str(paths["labels"])).dataobj)
    assert np.array_equal(lab, angular.labels)


def test_dice_helper() -> None:
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    assert dice(a, b) is None
    a[0, :2] = True
    b[0, 1:3] = True
    assert dice(a, b) == pytest.approx(0.5)


def test_benchmark_cases_are_named_and_distinct() -> None:
    cases = blind_cases()
    assert len(cases) >= 12
    assert all(name == c.name for name, c in cases.items())
    kinds = {(c.union.kind, c.union.completeness, c.ct.contrast) for c in cases.values()}
    assert len(kinds) >= 6
