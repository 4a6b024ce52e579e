"""The plan warns about voxels too coarse for thin infant structures (segment.thick)."""

from __future__ import annotations

import re
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from twinsep.plan import PlanOptions, StageContext
from twinsep.segment.result import TissueLabels
from twinsep.segment.stage import SegmentStageParams, build_stage
from twinsep.segment.thick import ThickSliceParams, thick_slice_warnings


def test_fine_and_2_mm_grids_get_no_warning() -> None:
    assert thick_slice_warnings((0.45, 0.45, 0.625), contrast=True) == []
    assert thick_slice_warnings((1.0, 1.0, 1.0), contrast=True) == []
    assert thick_slice_warnings((0.5, 0.5, 2.0), contrast=False) == []  # at the bound
    assert thick_slice_warnings((0.2, 0.2, 1.0), contrast=False) == []  # steep but thin


def test_2_mm_slices_warn_when_five_times_the_in_plane_step() -> None:
    """0.4 x 0.4 x 2 mm: CSF +7 %, the axis 2.5 deg off (real-CT twins, spline-upsampled)."""
    out = thick_slice_warnings((0.4, 0.4, 2.0), contrast=False)
    assert len(out) == 1 and "+4 to +7 % (the most at 0.4 mm in-plane)" in out[0]


@pytest.mark.parametrize(
    ("spacing", "csf_pct"),
    [
        ((0.45, 0.45, 2.5), "+11 to +15 %"),
        ((0.4, 0.4, 3.0), "+20 to +22 %"),  # the red-team case (docs/io.md)
        ((3.0, 0.5, 0.5), "+20 to +22 %"),  # any axis
        ((1.0, 1.0, 3.5), "+20 to +22 %"),  # the thickest measured row not thicker
        ((0.6, 0.6, 4.0), "+37 to +41 %"),
    ],
)
def test_thick_slices_warn_what_moves_and_by_how_much(
    spacing: tuple[float, float, float], csf_pct: str
) -> None:
    """2.5-4 mm slices warn, naming CSF, brain and bone with the measured change in %."""
    out = thick_slice_warnings(spacing, contrast=False)
    assert len(out) == 1
    w = out[0]
    assert "coarser than 2 mm" in w
    assert f"CSF mL {csf_pct}" in w
    assert re.search(r"brain mL -\d\.\d to -\d\.\d %", w) and "CSF Dice" in w
    assert "mm slices" in w and "1 mm grid" in w


@pytest.mark.parametrize(
    ("spacing", "where"),
    [
        ((0.45, 0.45, 2.5), "along one axis"),
        ((2.5, 0.6, 2.5), "along two axes"),
        ((2.3, 2.3, 2.3), "along every axis"),  # read "along one axis" before
        ((2.0, 2.0, 3.0), "along one axis"),  # 2 mm is not coarser than 2 mm
    ],
)
def test_the_warning_counts_the_coarse_axes(
    spacing: tuple[float, float, float], where: str
) -> None:
    (w,) = thick_slice_warnings(spacing, contrast=False)
    assert f"coarser than 2 mm {where}:" in w


def test_5_mm_slices_warn_and_question_the_contrast_call() -> None:
    plain = thick_slice_warnings((0.6, 0.6, 5.0), contrast=False)
    assert len(plain) == 1 and "0.6 x 0.6 x 5 mm" in plain[0]
    assert "5 mm slices bone Dice was 0.88-0.93" in plain[0]
    enhanced = thick_slice_warnings((5.0, 0.6, 0.6), contrast=True)  # any axis
    assert len(enhanced) == 2 and "5.0 mm" in enhanced[1] and "contrast" in enhanced[1]
    # what a plain real CT's skull base does on such slices is quoted (lead, 2026-11-28;
    # it was called contrast until the lumen plateau read slices over 4 mm, 2026-11-29)
    assert "in a plain real CT in 5 and 6 mm slices 6-8 mL of the skull base" in enhanced[1]


def test_contrast_is_questioned_only_above_its_own_bound() -> None:
    assert len(thick_slice_warnings((0.5, 0.5, 3.0), contrast=True)) == 1
    assert len(thick_slice_warnings((0.5, 0.5, 3.5), contrast=True)) == 2


def test_the_thresholds_are_parameters() -> None:
    assert thick_slice_warnings((0.6, 0.6, 1.5), contrast=False, params=ThickSliceParams(1.0))
    assert not thick_slice_warnings((1.0, 1.0, 3.0), contrast=False, params=ThickSliceParams(3.0))
    assert thick_slice_warnings((0.6, 0.6, 3.0), contrast=False, params=ThickSliceParams(3.0))
    loose = ThickSliceParams(warn_voxel_mm=1.0, contrast_question_mm=6.0)
    assert len(thick_slice_warnings((0.6, 0.6, 5.0), contrast=True, params=loose)) == 1


def _stub_segmentation_and_tiny_ct(monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    """Stub the stage's segment_ct (the warning depends on the grid only); a tiny CT."""
    monkeypatch.setattr(
        "twinsep.segment.stage.segment_ct",
        lambda vol, params: TissueLabels(
            labels=vol.with_array(np.zeros(vol.shape, np.uint8)),
            contrast=False,
            hu_thresholds={},
        ),
    )
    ct = np.full((24, 24, 12), -1000, np.int16)
    ct[4:20, 4:20, 2:10] = np.random.default_rng(0).integers(0, 1200, (16, 16, 8))
    return ct


def _stage_warnings(scan: Path) -> list[str]:
    """The segment stage run on ``scan``; the plan's warnings."""
    ctx = StageContext(PlanOptions(scan_path=scan))
    ctx.params = SegmentStageParams()
    ctx.stage_name = "segment"
    build_stage().run(ctx)
    return list(ctx.warnings)


@pytest.mark.parametrize(("slice_mm", "warned"), [(1.0, False), (3.0, True)])
def test_the_segment_stage_warns_a_3_mm_ct_and_not_a_1_mm_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_mm: float, warned: bool
) -> None:
    """Through the stage on a tiny CT (the segmentation itself is stubbed: the warning
    depends on the grid only)."""
    ct = _stub_segmentation_and_tiny_ct(monkeypatch)
    path = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(ct, np.diag([0.5, 0.5, slice_mm, 1.0])), str(path))
    hits = [w for w in _stage_warnings(path) if "coarser than 2 mm" in w]
    assert bool(hits) is warned
    if warned:
        assert "CSF mL +20 to +22 %" in hits[0]


# ---------------------------------------------------------------------------------
# slices thicker than their step (an overlapping reconstruction)
# ---------------------------------------------------------------------------------
def test_overlapping_slices_are_judged_by_their_thickness() -> None:
    """3 mm slices every 1 mm average 3 mm across the slices: warned as 3 mm, saying
    that the thickness decided; the grid alone (1 mm) was not warned."""
    assert thick_slice_warnings((0.5, 0.5, 1.0), contrast=False) == []
    assert thick_slice_warnings((1.0, 1.0, 3.0), contrast=False, slice_thickness_mm=3.00001)[
        0
    ].startswith("voxels of 1 x 1 x 3 mm")  # the step itself, rounded: the grid's wording
    out = thick_slice_warnings((0.5, 0.5, 1.0), contrast=False, slice_thickness_mm=3.0)
    assert len(out) == 1
    w = out[0]
    assert "slices 3 mm thick (the DICOM SliceThickness) every 1 mm" in w
    assert "0.5 x 0.5 x 1 mm" in w and "CSF mL +20 to +22 %" in w
    # the contrast question follows the thickness too
    assert len(thick_slice_warnings((0.5, 0.5, 1.0), contrast=True, slice_thickness_mm=5.0)) == 2


@pytest.mark.parametrize("thickness", [None, 0.0, -2.0, float("nan"), 0.5, 1.0, 1.009])
def test_thickness_not_above_the_step_changes_nothing(thickness: float | None) -> None:
    """Gaps (thinner slices), the step itself (also as rounded text: found in the sweep,
    a 3.13302 mm thickness on a 3.133016 mm step was called an overlap), and missing
    or absurd values: the grid decides."""
    for spacing in ((0.5, 0.5, 1.0), (0.6, 0.6, 3.0)):
        assert thick_slice_warnings(
            spacing, contrast=True, slice_thickness_mm=thickness
        ) == thick_slice_warnings(spacing, contrast=True)


@pytest.mark.parametrize(("thickness", "warned"), [("1", False), ("3", True)])
def test_the_segment_stage_reads_the_dicom_slice_thickness(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thickness: str, warned: bool
) -> None:
    """A DICOM series on a 0.5 x 0.5 x 1 mm grid whose SliceThickness is 3 mm (an
    overlapping reconstruction) is warned through the stage; at 1 mm it is not."""
    import pydicom

    from twinsep.io.dicom_write import write_dicom_series
    from twinsep.volume import Volume

    ct = _stub_segmentation_and_tiny_ct(monkeypatch)
    folder = tmp_path / "series"
    for f in write_dicom_series(Volume(ct, np.diag([0.5, 0.5, 1.0, 1.0])), folder):
        ds = pydicom.dcmread(f)
        ds.SliceThickness = thickness
        ds.save_as(f)
    hits = [w for w in _stage_warnings(folder) if "SliceThickness" in w]
    assert bool(hits) is warned
    if warned:
        assert "slices 3 mm thick" in hits[0] and "CSF mL +20 to +22 %" in hits[0]
