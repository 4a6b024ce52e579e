"""Contrast detection on 5 mm slices (issue 4, docs/segmentation.md, thick-slice grids).

A thick CT slice is the mean of the anatomy across the slice (a box slice profile), so
thin bone averaged with brain lands in the contrast band. The phantom is rendered noise
free on a grid with 1.25 mm steps along the slice axis and 1.67 mm in-plane (the sinus
rule's work grid on a 0.83 mm scan), and every four samples along x are averaged into one
5 mm slice, as ``benchmarks/bench_grids.py`` does; seeded 10 HU noise is added after.
Without contrast the CT must not be called enhanced and must get no vessel voxels (before
the per-axis thin-layer rule and the bone-side test of the neck evidence: 13.9 mL of
sinus evidence and 12.8 mL of neck "vessels", called enhanced, 73 mL of false vessels in
bench_grids); with contrast it must still be called enhanced.
"""

from __future__ import annotations

import numpy as np
import pytest

from twinsep import labels as L
from twinsep.phantom import make_phantom
from twinsep.segment import segment_ct
from twinsep.volume import Volume

SLICE_MM = 5.0
STEP_MM = 1.25
IN_PLANE_MM = 5.0 / 3.0
AXES = (0, 2)  # x: sagittal 5 mm slices; z: axial 5 mm slices


def _thick_ct(kind: str, contrast: bool, axis: int = 0) -> tuple[Volume, np.ndarray]:
    """CT averaged into 5 mm slices along ``axis``, and the truth at the slice centres."""
    AXIS = axis
    sp = [IN_PLANE_MM] * 3
    sp[AXIS] = STEP_MM
    ph = make_phantom(kind, seed=0, noise_hu=0.0, spacing_mm=sp, contrast=contrast)
    n = round(SLICE_MM / STEP_MM)
    a = np.moveaxis(ph.ct.array.astype(np.float32), AXIS, -1)
    m = a.shape[-1] // n
    slab = a[..., : m * n].reshape(*a.shape[:2], m, n).mean(axis=-1)
    hu = np.moveaxis(slab, -1, AXIS)
    rng = np.random.default_rng(1)
    hu = np.rint(hu + rng.normal(0.0, 10.0, hu.shape)).astype(np.int16)
    aff = ph.ct.affine.copy()
    aff[:3, AXIS] *= n
    aff[:3, 3] += ph.ct.affine[:3, AXIS] * (n - 1) / 2.0  # the slab's centre
    # truth: the render's label nearest the slab centre (between samples 1 and 2)
    lab = np.moveaxis(np.moveaxis(ph.labels.array, AXIS, -1)[..., 1 : m * n : n], -1, AXIS)
    return Volume(hu, aff, {"modality": "CT"}), lab


@pytest.mark.parametrize("axis", AXES)
def test_plain_blood_in_5mm_slices_is_not_called_contrast(axis: int) -> None:
    ct, truth = _thick_ct("vertical-partial", contrast=False, axis=axis)
    assert max(ct.spacing_mm) == pytest.approx(SLICE_MM)
    seg = segment_ct(ct)
    vessel_ml = float((seg.labels.array == L.VESSEL).sum()) * float(np.prod(ct.spacing_mm)) / 1e3
    assert not seg.contrast, seg.hu_thresholds
    assert vessel_ml < 0.5
    # the sinus evidence and the neck cue both stay below their thresholds
    assert seg.hu_thresholds["contrast_evidence_ml"] < 1.0
    assert seg.hu_thresholds["contrast_extracranial_ml"] < 12.0
    assert (truth == L.BONE).any()


@pytest.mark.parametrize("axis", AXES)
def test_contrast_in_5mm_slices_is_still_called_contrast(axis: int) -> None:
    ct, truth = _thick_ct("vertical-partial", contrast=True, axis=axis)
    seg = segment_ct(ct)
    assert seg.contrast, seg.hu_thresholds
    p, t = seg.labels.array == L.VESSEL, truth == L.VESSEL
    dice = 2.0 * float((p & t).sum()) / float(p.sum() + t.sum())
    assert dice >= 0.30  # a physical limit at 5 mm (bench_grids: 0.39-0.71), not noise
