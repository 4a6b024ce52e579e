"""Label atlases given as the scan are refused when loaded, saying what they are.

An atlas has more labels than a tissue map (AAL 116, Brodmann 41, JHU 48/189), so the
label-map rule (<= 16 values) let it pass, and the plan refused it late and for the
wrong reason ("no head-sized object" after segmenting, or a fusion "cephalopagus";
docs/io.md, red-team sweep). Generated here: a Voronoi atlas of 40 labels (truth by
construction) against scan-like volumes that must still load - a quantised smooth MR,
and a noise-free MR phantom with partial-volume edges (piecewise constant too, but
only its tissue values form regions of one value).
"""

from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from twinsep.errors import ScanError
from twinsep.io import load_scan
from twinsep.io.checks import LoadParams, check_not_atlas

N = 48


def _ball() -> np.ndarray:
    g = np.indices((N, N, N)).astype(float) - (N - 1) / 2
    return np.sqrt((g**2).sum(0)) < 0.45 * N


def _voronoi_atlas(n_labels: int = 40, seed: int = 5) -> np.ndarray:
    """Labels 1..n_labels: each voxel of a ball takes its nearest random seed's label."""
    rng = np.random.default_rng(seed)
    seeds = rng.uniform(0.1 * N, 0.9 * N, (n_labels, 3))
    g = np.indices((N, N, N)).reshape(3, -1).T.astype(float)
    nearest = np.argmin(((g[:, None, :] - seeds[None]) ** 2).sum(-1), axis=1)
    atlas = (nearest + 1).reshape(N, N, N).astype(np.uint8)
    atlas[~_ball()] = 0
    return atlas


def _pv_phantom(levels: tuple[int, ...] = (300, 900, 600, 150, 450)) -> np.ndarray:
    """A noise-free MR-range phantom: nested shells of five tissues averaged from a 3x
    finer grid, so every edge voxel holds its own partial-volume value."""
    f = 3
    g = np.indices((N * f,) * 3).astype(float) / f - (N - 1) / 2
    r = np.sqrt((g[0] / 1.0) ** 2 + (g[1] / 0.85) ** 2 + (g[2] / 0.95) ** 2)
    fine = np.zeros(r.shape)
    for radius, level in zip((21, 19, 16, 9, 5), levels, strict=True):
        fine[r < radius] = level
    coarse = fine.reshape(N, f, N, f, N, f).mean(axis=(1, 3, 5))
    return np.rint(coarse).astype(np.int16)


def _save(tmp_path: Path, name: str, arr: np.ndarray, zoom: float = 1.0) -> Path:
    p = tmp_path / name
    nib.save(nib.Nifti1Image(arr, np.diag([zoom, zoom, zoom, 1.0])), str(p))
    return p


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_a_voronoi_atlas_is_refused_as_an_atlas(tmp_path: Path, dtype: type) -> None:
    """uint8 like AAL, int16 like inia19, float like FSL's atlases."""
    atlas = _voronoi_atlas()
    # truth: Voronoi cells cut by a ball are convex, so each label is one region; those
    # of at least 0.25 mL (250 voxels of 1 mm^3) are the plateaus
    sizes = np.bincount(atlas.ravel())[1:]
    plateaus = int(np.count_nonzero(sizes >= 250))
    assert 16 < plateaus < 40
    p = _save(tmp_path, "atlas.nii.gz", atlas.astype(dtype))
    with pytest.raises(ScanError) as info:
        load_scan(p)
    line = info.value.one_line()
    assert line.startswith(f"{p}: looks like a label atlas"), line
    assert "41 distinct integer values (0..40)" in line and f"({plateaus} values)" in line
    # share of labelled voxels in plateaus: a few voxels at the cells' thin tips touch
    # their cell by an edge only (6-connected pieces), hence 2 points of tolerance
    share = 100.0 * sizes[sizes >= 250].sum() / sizes.sum()
    found = re.search(r"and (\d+)% of the non-background voxels", line)
    assert found is not None, line
    said = float(found.group(1))
    assert abs(said - share) <= 2.0, (said, share)


def test_the_plateau_size_is_in_ml() -> None:
    """The same labels on 0.25 mm voxels have regions of at most ~0.03 mL: none is a
    plateau, so the rule does not refuse (the bound is a volume, not a voxel count);
    a smaller bound refuses them again."""
    atlas = _voronoi_atlas()
    with pytest.raises(ScanError):
        check_not_atlas(atlas, 1.0, "a")
    check_not_atlas(atlas, 0.25**3, "a")
    with pytest.raises(ScanError):
        check_not_atlas(atlas, 0.25**3, "a", params=LoadParams(atlas_region_ml=0.004))


def test_a_few_labels_are_a_label_map_not_an_atlas(tmp_path: Path) -> None:
    p = _save(tmp_path, "few.nii.gz", _voronoi_atlas(n_labels=12))
    with pytest.raises(ScanError) as info:
        load_scan(p)
    assert "label map or mask" in info.value.one_line()


@pytest.mark.parametrize("levels", [(300, 900, 600, 150, 450), (30, 90, 60, 15, 45)])
def test_a_noise_free_phantom_with_partial_volume_edges_loads(
    tmp_path: Path, levels: tuple[int, ...]
) -> None:
    """Piecewise constant with hundreds of edge values, but only five values form
    regions of one value: not an atlas (why the rule counts plateau values)."""
    arr = _pv_phantom(levels)
    assert np.unique(arr).size > 16  # past the label-map rule
    scan = load_scan(_save(tmp_path, "phantom.nii.gz", arr))
    assert scan.info.modality == "MR"


def test_a_quantised_smooth_mr_loads(tmp_path: Path) -> None:
    """An 8-bit MR-like image (smoothed noise in a head-sized ball) on 1 mm voxels."""
    rng = np.random.default_rng(2)
    img = ndimage.gaussian_filter(rng.normal(size=(N, N, N)), 2.0)
    img = (img - img.min()) / np.ptp(img) * 200 + 30
    img[~_ball()] = 0
    scan = load_scan(_save(tmp_path, "t1.nii.gz", np.rint(img).astype(np.uint8)))
    assert scan.info.modality == "MR"


def test_a_noise_free_ct_with_many_labels_is_never_an_atlas(tmp_path: Path) -> None:
    """Values spanning Hounsfield units (air -1000, bone > 300) are a synthetic CT."""
    atlas = _voronoi_atlas().astype(np.int16)
    ct = np.where(atlas > 0, atlas * 40 - 400, -1000).astype(np.int16)
    assert load_scan(_save(tmp_path, "ct.nii.gz", ct)).info.modality == "CT"
