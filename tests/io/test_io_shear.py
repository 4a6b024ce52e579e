"""Tilt correction of sheared grids: twinsep.io.shear and its use in load_scan."""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.io import LoadParams, load_scan
from twinsep.io.shear import orthogonal_grid, shear_drift_mm
from twinsep.volume import apply_affine, spacing_from_affine

RADIUS_MM = 30.0
CENTRE_MM = np.array([4.0, -7.0, 12.0])


def tilted_affine(
    tilt_deg: float, pixel_mm: float = 0.8, slice_mm: float = 2.5, perm: tuple[int, ...] = (0, 1, 2)
) -> np.ndarray:
    """Gantry tilt about x: rows along x, columns along the tilted y, table along z.

    ``perm`` reorders the array axes (the slice axis need not be the last one).
    """
    a = math.radians(tilt_deg)
    m = np.array(
        [
            [pixel_mm, 0.0, 0.0],
            [0.0, pixel_mm * math.cos(a), 0.0],
            [0.0, pixel_mm * math.sin(a), slice_mm],
        ]
    )
    aff = np.eye(4)
    aff[:3, :3] = m[:, list(perm)]
    aff[:3, 3] = (-60.0, -70.0, -45.0)
    return aff


def ball(affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """int16 CT of a 30 mm ball of 40 HU in air (-1000 HU), sampled at the voxel centres."""
    ijk = np.indices(shape).reshape(3, -1).T
    r = np.linalg.norm(apply_affine(affine, ijk) - CENTRE_MM, axis=1).reshape(shape)
    return np.where(r <= RADIUS_MM, 40, -1000).astype(np.int16)


def _shape_for(perm: tuple[int, ...]) -> tuple[int, int, int]:
    base = (150, 180, 40)  # x 120 mm, tilted y 144 mm, 40 slices of 2.5 mm
    return (base[perm[0]], base[perm[1]], base[perm[2]])


@pytest.mark.parametrize("perm", [(0, 1, 2), (2, 0, 1)])
def test_orthogonal_grid_keeps_geometry(perm: tuple[int, ...]) -> None:
    aff = tilted_affine(18.0, perm=perm)
    shape = _shape_for(perm)
    ct = ball(aff, shape)
    before = ct.copy()
    arr, new_aff, corr = orthogonal_grid(ct, aff, max_drift_mm=0.4)
    assert corr is not None
    np.testing.assert_array_equal(ct, before)  # input untouched
    assert arr.dtype == np.int16
    # tilt recovered to 0.01 deg (an exact function of the affine)
    assert abs(corr.tilt_deg - 18.0) < 0.01
    m = new_aff[:3, :3]
    gram = m.T @ m
    assert np.allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-9)  # orthogonal axes
    # in-plane voxel sizes kept, slice distance = 2.5 cos(18 deg) (perpendicular)
    sp = spacing_from_affine(new_aff)
    assert sorted(round(s, 6) for s in sp) == sorted(
        round(s, 6) for s in (0.8, 0.8, 2.5 * math.cos(math.radians(18.0)))
    )
    # the ball's volume and centre in world mm survive; a voxel of 0.8 x 0.8 x 2.38 mm
    # gives a staircase volume error well under 2 % at r = 30 mm, and a wrong shear
    # direction moves the centre by tens of mm
    inside = arr > -480
    vol_ml = inside.sum() * abs(np.linalg.det(m)) / 1000.0
    true_ml = 4.0 / 3.0 * math.pi * RADIUS_MM**3 / 1000.0
    assert abs(vol_ml / true_ml - 1.0) < 0.02
    centre = apply_affine(new_aff, np.argwhere(inside).mean(axis=0))
    assert np.linalg.norm(centre - CENTRE_MM) < 0.5
    # every new slice is an old slice: the slice-axis index maps to whole old indices
    c = int(np.argmax(sp))
    probe = np.array([[3.0, 5.0, 7.0], [10.0, 20.0, 30.0]])
    old = apply_affine(np.linalg.inv(aff) @ new_aff, probe)
    old_c = int(np.argmax(spacing_from_affine(aff)))
    assert np.allclose(old[:, old_c], np.round(old[:, old_c]), atol=1e-6)
    assert c == old_c


def test_orthogonal_and_slightly_sheared_grids_are_left_alone() -> None:
    aff = tilted_affine(0.0)
    ct = ball(aff, (150, 180, 40))
    arr, new_aff, corr = orthogonal_grid(ct, aff, max_drift_mm=0.4)
    assert corr is None and arr is ct and new_aff is aff
    # 0.005 deg over 40 slices of 2.5 mm drifts 0.009 mm: below the threshold
    tiny = tilted_affine(0.005)
    assert shear_drift_mm(tiny, (150, 180, 40)) < 0.4
    assert orthogonal_grid(ct, tiny, max_drift_mm=0.4)[2] is None
    # 18 deg drifts (40 - 1) * 2.5 * sin(18 deg) = 30.1 mm
    assert (
        abs(
            shear_drift_mm(tilted_affine(18.0), (150, 180, 40))
            - 39 * 2.5 * math.sin(math.radians(18.0))
        )
        < 1e-6
    )


def test_load_scan_corrects_a_tilted_nifti(tmp_path: Path) -> None:
    aff = tilted_affine(15.0)
    shape = (150, 180, 40)
    rng = np.random.default_rng(0)
    # noise: a two-valued image is refused as a label map
    ct = (ball(aff, shape) + rng.normal(0.0, 5.0, shape)).astype(np.int16)
    path = tmp_path / "tilted.nii.gz"
    nib.save(nib.Nifti1Image(ct, aff), path)
    stat = path.stat()
    scan = load_scan(path)
    assert path.stat().st_mtime_ns == stat.st_mtime_ns  # input never modified
    assert any("gantry tilt of about 15.0°" in w for w in scan.info.warnings)
    m = scan.volume.affine[:3, :3]
    gram = m.T @ m
    assert np.allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-6)
    assert scan.info.shape == scan.volume.shape  # the info describes the grid we work on
    centre = scan.volume.centroid_mm(scan.volume.array > -480)
    assert np.linalg.norm(centre - CENTRE_MM) < 0.5
    # a plain (orthogonal) NIfTI loads unchanged, with no tilt warning
    flat = tmp_path / "flat.nii.gz"
    aff0 = tilted_affine(0.0)
    nib.save(
        nib.Nifti1Image((ball(aff0, shape) + rng.normal(0.0, 5.0, shape)).astype(np.int16), aff0),
        flat,
    )
    s0 = load_scan(flat)
    assert s0.volume.shape == shape
    assert not any("tilt" in w for w in s0.info.warnings)
    assert LoadParams().tilt_max_fraction_of_pixel > 0


def test_pipeline_refuses_a_sheared_volume_it_was_not_given_through_load_scan() -> None:
    from twinsep.errors import InputError
    from twinsep.io.shear import check_orthogonal
    from twinsep.segment import segment_ct
    from twinsep.twins import assign_twins
    from twinsep.volume import Volume

    aff = tilted_affine(18.0)
    shape = (150, 180, 40)
    with pytest.raises(InputError, match=r"sheared \(gantry tilt of about 18\.0°"):
        check_orthogonal(aff, shape, "ct.nii.gz")
    with pytest.raises(InputError, match="ct.nii.gz: .*load_scan"):
        segment_ct(Volume(ball(aff, shape), aff, {"source": "ct.nii.gz"}))
    labels = Volume(np.zeros(shape, np.uint8), aff, {"source": "labels.nii.gz"})
    with pytest.raises(InputError, match="labels.nii.gz: .*sheared"):
        assign_twins(labels)
    # rotated, flipped or permuted orthogonal grids pass
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))
    rot = np.eye(4)
    rot[:3, :3] = q @ np.diag([0.8, 0.8, 2.5])
    check_orthogonal(rot, shape, "ct.nii.gz")
    check_orthogonal(tilted_affine(0.0, perm=(2, 0, 1)), (40, 150, 180), "ct.nii.gz")
