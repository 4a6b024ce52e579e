"""Float scans padded with their number type's lowest value outside the field of view.

``-3.4028235e38`` (float32's lowest value) is the no-data value of GDAL and of
resamplers that pad with the type's minimum; -3.4e38 and -1e30 are written too. Such a
value is finite, so the NaN rule did not see it, and the segmentation's smoothing mixed
it into the voxels beside the field of view's edge (session 26 sweep: -3.4e38 changed
80 voxels of a 64-voxel phantom, where -32768 padding changed none). It is now read as
missing field of view by the NaN rule's conditions
(``io.checks.fill_lowest_float_outside_fov``), with a warning.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.errors import ScanError
from twinsep.io import load_scan

_LOWEST = float(np.finfo(np.float32).min)


def _ct_with_round_fov(shape: tuple[int, int, int] = (24, 24, 12)) -> tuple[np.ndarray, np.ndarray]:
    """A float32 CT-like volume (-1000 air, 40 soft tissue, 1200 bone) and the mask of
    the corners outside a round field of view (air only)."""
    rng = np.random.default_rng(2)
    ct = np.full(shape, -1000.0, np.float32) + rng.normal(0, 5, shape).astype(np.float32)
    ct[6:18, 6:18, 2:10] = 40.0
    ct[10:14, 10:14, 4:8] = 1200.0
    ii, jj = np.mgrid[: shape[0], : shape[1]]
    outside = (ii - (shape[0] - 1) / 2) ** 2 + (jj - (shape[1] - 1) / 2) ** 2 > (shape[0] / 2) ** 2
    return ct, np.broadcast_to(outside[:, :, None], shape)


def _save(arr: np.ndarray, path: Path) -> Path:
    nib.save(nib.Nifti1Image(arr, np.diag([1.5, 1.5, 2.0, 1.0])), str(path))
    return path


@pytest.mark.parametrize(
    ("dtype", "pad"),
    [(np.float32, _LOWEST), (np.float64, _LOWEST), (np.float32, -3.4e38), (np.float64, -1e30)],
)
def test_no_data_padding_is_read_as_air(tmp_path: Path, dtype: type, pad: float) -> None:
    ct, outside = _ct_with_round_fov()
    padded = np.where(outside, pad, ct).astype(dtype)
    scan = load_scan(_save(padded, tmp_path / "ct.nii.gz"))
    arr = np.asarray(scan.volume.array)
    low = float(ct[~outside].min())
    assert float(arr.min()) == pytest.approx(low)  # was the padding
    np.testing.assert_allclose(arr[outside], low, rtol=1e-6)
    np.testing.assert_allclose(arr[~outside], ct[~outside], rtol=1e-6)
    (note,) = [w for w in scan.info.warnings if "no-data value" in w]
    assert note.startswith(f"{int(outside.sum())} voxels holding {float(dtype(pad)):g}"), note
    # the same as the NaN padding the loader already read as air
    nan = load_scan(_save(np.where(outside, np.nan, ct).astype(dtype), tmp_path / "nan.nii.gz"))
    np.testing.assert_array_equal(np.asarray(nan.volume.array), arr)


def test_a_few_lowest_values_inside_stay(tmp_path: Path) -> None:
    """Not a margin (inside the anatomy, under 1 % of the volume): left as stored."""
    ct, _ = _ct_with_round_fov()
    ct[12, 12, 6] = _LOWEST
    scan = load_scan(_save(ct, tmp_path / "ct.nii.gz"))
    assert float(np.asarray(scan.volume.array).min()) == _LOWEST
    assert not [w for w in scan.info.warnings if "no-data value" in w]


_HIGHEST = float(np.finfo(np.float32).max)


@pytest.mark.parametrize("pad", [_HIGHEST, 1e30])
def test_highest_no_data_padding_is_read_as_air(tmp_path: Path, pad: float) -> None:
    """+3.4e38 outside the field of view (red team round 6): was read as it stands and
    "guessed as CT from the value range -1000..3.4e+38", the padding the scan's
    brightest tissue."""
    ct, outside = _ct_with_round_fov()
    scan = load_scan(_save(np.where(outside, pad, ct).astype(np.float32), tmp_path / "ct.nii"))
    arr = np.asarray(scan.volume.array)
    low = float(ct[~outside].min())
    assert float(arr.max()) == pytest.approx(float(ct.max()))  # was the padding
    np.testing.assert_allclose(arr[outside], low, rtol=1e-6)
    np.testing.assert_allclose(arr[~outside], ct[~outside], rtol=1e-6)
    (note,) = [w for w in scan.info.warnings if "no-data value" in w]
    assert note.startswith(f"{int(outside.sum())} voxels holding {float(np.float32(pad)):g}")


def test_highest_values_inside_the_scan_are_refused(tmp_path: Path) -> None:
    """Read as they stand, 1e38 inside the head would be metal; refused as NaN is."""
    ct, _ = _ct_with_round_fov()
    ct[11, 11, 5] = 1e38
    with pytest.raises(
        ScanError, match=r"1 voxels hold values of 1e\+30 or more .*index \(11, 11, 5\)"
    ):
        load_scan(_save(ct, tmp_path / "ct.nii"))
