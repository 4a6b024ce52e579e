"""The plan warns about voxels too coarse for thin infant structures (segment.thick)."""

from __future__ import annotations

from twinsep.segment.thick import ThickSliceParams, thick_slice_warnings


def test_fine_and_2_5_mm_grids_get_no_warning() -> None:
    assert thick_slice_warnings((0.45, 0.45, 0.625), contrast=True) == []
    assert thick_slice_warnings((0.6, 0.6, 2.5), contrast=True) == []
    assert thick_slice_warnings((3.0, 3.0, 3.0), contrast=False) == []  # at the bound


def test_5_mm_slices_warn_and_question_the_contrast_call() -> None:
    plain = thick_slice_warnings((0.6, 0.6, 5.0), contrast=False)
    assert len(plain) == 1 and "0.6 x 0.6 x 5 mm" in plain[0]
    enhanced = thick_slice_warnings((5.0, 0.6, 0.6), contrast=True)  # any axis
    assert len(enhanced) == 2 and "5.0 mm" in enhanced[1] and "contrast" in enhanced[1]
    # the threshold is the parameter, not a constant in the function
    assert thick_slice_warnings((0.6, 0.6, 2.5), contrast=False, params=ThickSliceParams(2.0))
