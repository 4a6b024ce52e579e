"""The user's segmentation with a CT stored with its gantry tilt (a sheared NIfTI), which
:func:`twinsep.io.load_scan` puts on an orthogonal grid: a map on that grid (the plan's
own ``labels.nii.gz``) is taken voxel for voxel; a map drawn on the file as stored is
refused, and the one-line reason says why and what to segment instead (never resampled).
"""

from __future__ import annotations

import math
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.errors import InputError
from twinsep.interop.edited import read_edited_segmentation
from twinsep.io import load_scan

TILT_DEG = 15.0


@pytest.fixture(scope="module")
def tilted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A phantom CT saved with a sheared affine (slices drift along j by tan 15 deg of
    the slice distance), its labels and that affine."""
    from twinsep.phantom import make_phantom

    root = tmp_path_factory.mktemp("tilt")
    ph = make_phantom("vertical-II", size=48, seed=3)
    sheared = np.array(ph.ct.affine, float)
    step = float(np.linalg.norm(sheared[:3, 2]))
    sheared[:3, 2] += (
        math.tan(math.radians(TILT_DEG)) * step * sheared[:3, 1] / np.linalg.norm(sheared[:3, 1])
    )
    path = root / "ct_tilted.nii.gz"
    nib.save(nib.Nifti1Image(np.asarray(ph.ct.array, np.int16), sheared), str(path))
    return path, np.asarray(ph.labels.array, np.uint8), sheared


def test_a_map_on_the_corrected_grid_is_taken_as_is(
    tilted: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    path, _, _ = tilted
    ct = load_scan(path).volume
    assert ct.shape != nib.load(str(path)).shape  # the grid was widened: it is another grid
    labels = np.where(ct.array > -300, 1, 0).astype(np.uint8)  # what the plan writes
    f = tmp_path / "labels.nii.gz"
    nib.save(nib.Nifti1Image(labels, ct.affine), str(f))
    got = read_edited_segmentation(f, ct)
    assert np.array_equal(got.labels, labels)


def test_a_map_drawn_on_the_file_as_stored_is_refused_saying_what_to_do(
    tilted: tuple[Path, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    path, labels, sheared = tilted
    ct = load_scan(path).volume
    f = tmp_path / "edited.nii.gz"
    nib.save(nib.Nifti1Image(labels, sheared), str(f))
    before = f.read_bytes()
    with pytest.raises(InputError) as err:
        read_edited_segmentation(f, ct)
    line = err.value.one_line()
    assert line.startswith(f"{f}: ") and "\n" not in line
    assert f"gantry tilt of about {TILT_DEG:.1f} deg" in line
    assert "labels.nii.gz or twins.seg.nrrd" in line and "tilt-corrected CT" in line
    assert f.read_bytes() == before
