"""Segmentation and twin assignment on thick-slice, permuted and gantry-tilted grids.

The accuracy floors of the other tests are all on isotropic grids; clinical head CT is
often 0.4-0.9 mm in-plane with 2.5-5 mm slices, acquired sagittally or coronally, or
tilted. The phantom is rendered straight on each grid (``make_phantom(spacing_mm=...)``
or ``affine=...``), so its truth is the anatomy at the voxel centres of that grid.
Floors are the values measured at commit time minus a margin (0.005 for soft tissue,
bone and brain, 0.01 for CSF and vessels, whose Dice moves more with the grid), and the
issue-4 twin target (0.995 outside the 15 mm band). The sweep with the drops against
the isotropic grid is ``benchmarks/bench_grids.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from seg_metrics import dice, twin_scores
from twinsep import labels as L
from twinsep.io import LoadParams
from twinsep.io.shear import orthogonal_grid
from twinsep.phantom import make_phantom
from twinsep.segment import segment_ct
from twinsep.twins import assign_twins
from twinsep.volume import Volume, apply_affine

pytestmark = pytest.mark.slow  # thick-slice and tilted phantoms segmented and planned

TWIN_TARGET = 0.995
"""Issue-4 twin-assignment target outside the 15 mm band."""

# label -> floor on the 1.0 x 1.0 x 3.0 mm vertical-I phantom (measured - margin)
# measured 0.9882 / 0.9589 / 0.9813 / 0.8317 / 0.8475
THICK_FLOORS = {
    L.SOFT_TISSUE: 0.983,
    L.BONE: 0.953,
    L.BRAIN: 0.976,
    L.CSF: 0.821,
    L.VESSEL: 0.837,
}
# the same phantom as a sagittal acquisition: 3 mm slices along x, axes permuted/flipped
# measured 0.9875 / 0.9433 / 0.9793 / 0.7828 / 0.8242
SAGITTAL_FLOORS = {
    L.SOFT_TISSUE: 0.982,
    L.BONE: 0.938,
    L.BRAIN: 0.974,
    L.CSF: 0.772,
    L.VESSEL: 0.814,
}
# 18 deg gantry tilt, 1.2 x 1.2 mm pixels, 2.5 mm slice steps, corrected at load
# measured 0.978 / 0.9388 / 0.9829 / 0.8362 / 0.8845 (scored at the scan's own voxels)
TILT_FLOORS = {
    L.SOFT_TISSUE: 0.973,
    L.BONE: 0.933,
    L.BRAIN: 0.977,
    L.CSF: 0.826,
    L.VESSEL: 0.874,
}


def _scores(truth: Volume, twins: Volume, labels: np.ndarray, owner: np.ndarray) -> dict:
    out: dict = {v: dice(truth.array == v, labels == v) for v in THICK_FLOORS}
    out["twin"] = twin_scores(twins.array, owner, truth.spacing_mm)
    return out


def _check(scores: dict, floors: dict) -> None:
    for v, floor in floors.items():
        assert scores[v] >= floor, f"label {L.TISSUE_NAMES[v]}: Dice {scores[v]:.4f} < {floor}"
    acc, a_kept = scores["twin"]
    assert acc >= TWIN_TARGET
    assert a_kept >= TWIN_TARGET  # the DESIGN A/B rule picks the same twin as the truth


@pytest.mark.parametrize(
    ("axes", "floors"),
    [
        (np.diag([1.0, 1.0, 3.0]), THICK_FLOORS),
        (np.array([[0.0, 0.0, 3.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]), SAGITTAL_FLOORS),
    ],
    ids=["axial-3mm", "sagittal-3mm"],
)
def test_thick_slices(axes: np.ndarray, floors: dict) -> None:
    ph = make_phantom("vertical-I", seed=0, noise_hu=10.0, affine=axes)
    seg = segment_ct(ph.ct)
    assert seg.contrast  # contrast phantom: detection must not flip on thick slices
    res = assign_twins(seg.labels)
    _check(_scores(ph.labels, ph.twins, seg.labels.array, res.twins.array), floors)


def _tilted_axes(tilt_deg: float, pixel_mm: float, slice_mm: float) -> np.ndarray:
    a = math.radians(tilt_deg)
    return np.array(
        [
            [pixel_mm, 0.0, 0.0],
            [0.0, pixel_mm * math.cos(a), 0.0],
            [0.0, pixel_mm * math.sin(a), slice_mm],
        ]
    )


def test_gantry_tilt_is_corrected_and_planned() -> None:
    ph = make_phantom("angular-frontal", seed=0, noise_hu=10.0, affine=_tilted_axes(18.0, 1.2, 2.5))
    ct = ph.ct
    max_drift = LoadParams().tilt_max_fraction_of_pixel * min(ct.spacing_mm)
    arr, aff, corr = orthogonal_grid(ct.array, ct.affine, max_drift_mm=max_drift)
    assert corr is not None and abs(corr.tilt_deg - 18.0) < 0.01
    seg = segment_ct(Volume(arr, aff, dict(ct.meta)))
    res = assign_twins(seg.labels)
    # back to the scan's own voxel centres (nearest) to compare with the truth there
    ijk = np.indices(ct.shape).reshape(3, -1).T
    back = np.rint(apply_affine(np.linalg.inv(aff) @ ct.affine, ijk)).astype(np.intp)
    assert np.all((back >= 0) & (back < np.asarray(arr.shape)))  # the grid lost nothing
    sel = tuple(back.T)
    labels = seg.labels.array[sel].reshape(ct.shape)
    owner = res.twins.array[sel].reshape(ct.shape)
    _check(_scores(ph.labels, ph.twins, labels, owner), TILT_FLOORS)
