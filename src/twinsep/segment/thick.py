"""Plain-words warnings for CT grids too coarse for thin infant structures.

What a thick slice costs was measured twice. On phantoms averaged into thick slices
(``benchmarks/bench_grids.py``, docs/segmentation.md "Thick-slice, tilted and permuted
grids") every label stays within 0.025 Dice of the 0.83 mm grid at 2.5 mm slices except
vessels (up to 0.07), while at 5 mm a 2 mm infant vault, the CSF layers and the sinuses
are averaged across the slice. On the real-CT twins (``twinsep.realanatomy.realct``, a
real head CT; docs/segmentation.md "Slice thickness on the real-CT twins") the CSF
volume grows with the slice much earlier: +1 % at 1.5 mm, +4-6 % at 2 mm, +11-13 % at
2.5 mm, +20-21 % at 3 mm and +37-41 % at 4 mm against the same CT on its 1 mm grid, the
same at 0.5 and 1 mm in-plane (it is the slice in mm that averages a 1-3 mm CSF layer);
at 0.4 x 0.4 x 3 mm the CSF reads +22 % (+28 % was measured on a test CT upsampled
linearly from 1 mm, which over-reads the bone's spill; with spline upsampling the
0.4 mm grids read 0.5-2.4 % above 1 mm in-plane, docs/segmentation.md) and the long-axis angle was 4 deg off until the fusion frames were strided per
axis in mm (570a690: 1.3 deg). The plan therefore warns above
2 mm, saying by how much CSF, brain and bone moved at the nearest measured slice
thickness. Slices thicker than their step (an overlapping reconstruction, e.g. DICOM
SliceThickness 3 mm every 1 mm) are judged by their thickness: each voxel averages that
much anatomy across the slices, whatever the grid (:func:`resolved_mm`).

A CT without contrast in 5 mm slices is no longer taken for contrast on the phantoms
(along x, y or z, ``segment.vessels``) nor on a plain real CT in 4.5-6 mm slices (its
skull base's partial volume is refused by its texture, ``segment.vessels.plateau``), but
there the sinus evidence is mostly bone partial volume and the call rests on the neck
vessels or a lumen several slices long, so a contrast call is still questioned above 3
mm. A surgeon reading the plan must know that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["THICKNESS_ROUNDING", "ThickSliceParams", "resolved_mm", "thick_slice_warnings"]

#: What was measured at each slice thickness (mm): the real-CT twins (vertical and
#: angular, 1 mm in-plane; the vertical one also at 0.5 mm, and planned through the CLI at
#: 0.4 mm) resampled with a box slice profile from their 1 mm grid and segmented, against
#: the 1 mm segmentation; the axis angles at 0.4 mm in-plane are in-process plans since
#: 570a690 (frames strided per axis; before, 3.6-4.6 deg); the CSF at 0.4 mm in-plane is
#: the same CT upsampled with cubic splines (in-process segment_ct: 2 mm 432.0 mL, 3 mm
#: 490.3 mL against 403.6 on the 1 mm grid; linear upsampling read +11 % / +28 % as CLI
#: plans, an artefact of the test input, docs/segmentation.md); at 5 mm the phantoms of
#: ``bench_grids`` (no real-CT row). Read
#: by the warning, lowest first; the row quoted is the thickest one not thicker than the
#: scan's slices.
_MEASURED: tuple[tuple[float, str], ...] = (
    (
        2.0,
        "CSF mL +4 to +7 % (the most at 0.4 mm in-plane), brain mL -1.3 to -1.6 %, bone mL "
        "+2.5 to +3.5 %, CSF Dice 0.82-0.83 and the angle between the twins' long axes "
        "0.6 deg off (2.5 at 0.4 mm in-plane)",
    ),
    (
        2.5,
        "CSF mL +11 to +15 %, brain mL -1.8 to -2.2 %, bone mL -1 to -2 % (one twin's "
        "-4 %), CSF Dice 0.80-0.81 and the angle between the twins' long axes 0.1-0.4 deg "
        "off (1.7 at 0.4 mm in-plane)",
    ),
    (
        3.0,
        "CSF mL +20 to +22 %, brain mL -2.4 to -3.5 %, bone mL -1 to -3 % (one twin's "
        "-5 %), CSF Dice 0.77 and the angle between the twins' long axes 0.8-1.6 deg off "
        "(0.6-1.3 at 0.4 mm in-plane)",
    ),
    (
        4.0,
        "CSF mL +37 to +41 %, brain mL -5.0 to -5.7 %, bone mL -4 to -6 %, CSF Dice "
        "0.68-0.69 and the angle between the twins' long axes 2.5-3.5 deg off",
    ),
)
_PHANTOM_5MM = (
    "on phantoms in 5 mm slices bone Dice was 0.88-0.93, CSF 0.55-0.66, vessels "
    "0.41-0.73 against 0.97, 0.85-0.87 and 0.86-0.88 at 0.83 mm"
)


@dataclass(frozen=True)
class ThickSliceParams:
    """When a grid is called too coarse.

    Attributes
    ----------
    warn_voxel_mm : float
        Largest voxel size (mm) beyond which the plan warns. 2.0 mm: the first measured
        slice thickness at which the real-CT twins' CSF volume is off by more than 10 %
        or their CSF Dice falls by more than 0.05 against the 1 mm grid is 2.5 mm
        (+11 to +13 %, Dice 0.80 for 0.87 at 1.5 mm); at 2 mm it is +4 to +6 %. On the
        phantoms CSF Dice fell by at most 0.025 up to 2.5 mm and by 0.064 at 3 mm.
        Clinical planning CT is 0.5-1.25 mm (NOTES.md), so a thicker series is a
        reconstruction choice the team can usually undo.
    warn_ratio : float
        Slice-to-in-plane ratio from which a grid whose largest voxel is exactly
        ``warn_voxel_mm`` is warned too. 5.0: planned through the CLI, the real-CT
        vertical twins at 0.4 x 0.4 x 2 mm (ratio 5) read CSF +11 % and the long-axis
        angle 3.6 deg off, against +6 % at 0.5 x 0.5 x 2 (ratio 4) and +4 % and 0.6 deg
        at 1 x 1 x 2 mm. Measured again in session 25: the +11 % was mostly the test
        CT's linear upsampling (+7 % with splines) and the angle the fusion frames'
        one-step thinning (2.5 deg after 570a690); the rule is kept as the cautious side. Thinner slices at such ratios were not measured.
    contrast_question_mm : float
        Largest voxel size (mm) beyond which a contrast call is questioned as well
        (bone partial volume falls in the contrast band, the sinuses are averaged
        away; measured at 5 mm, bench_grids). 3.0 mm.
    """

    warn_voxel_mm: float = 2.0
    warn_ratio: float = 5.0
    contrast_question_mm: float = 3.0


def _measured_effect(slice_mm: float) -> str:
    """The measured effect of the thickest measured slice not thicker than ``slice_mm``."""
    if slice_mm >= 5.0:
        return _PHANTOM_5MM
    quoted = [(t, text) for t, text in _MEASURED if t <= slice_mm + 1e-6]
    t, text = quoted[-1] if quoted else _MEASURED[0]
    return f"on the real-CT twins in {t:g} mm slices {text} against the same CT on a 1 mm grid"


#: Relative excess of SliceThickness over the slice step that is still the step
#: (rounded decimal text); real overlapping reconstructions exceed it by 7-100 %
#: (0.75 mm slices every 0.7 mm, 1.25 every 0.625).
THICKNESS_ROUNDING = 0.01


def resolved_mm(
    spacing_mm: tuple[float, float, float], slice_thickness_mm: float | None = None
) -> tuple[float, float, float]:
    """The size (mm) of the detail each voxel axis resolves: the grid step, and across
    the slices (axis k) the slice thickness when the slices are thicker than their step.

    An overlapping series (3 mm slices every 1 mm) is on a 1 mm grid, but each voxel
    averages 3 mm of anatomy along k: the overlap interpolates, it does not bring back
    what the slice averaged. Slices thinner than their step (gaps) resolve the step.
    A thickness that is missing, not finite or not positive is ignored, and so is one
    within :data:`THICKNESS_ROUNDING` of the step (SliceThickness is written as
    rounded text: 3.13302 mm slices every 3.133016 mm are not an overlap).
    """
    out = tuple(float(s) for s in spacing_mm)
    t = slice_thickness_mm
    if t is None or not math.isfinite(t) or t <= out[2] * (1.0 + THICKNESS_ROUNDING):
        return out[0], out[1], out[2]
    return out[0], out[1], float(t)


def thick_slice_warnings(
    spacing_mm: tuple[float, float, float],
    *,
    contrast: bool,
    slice_thickness_mm: float | None = None,
    params: ThickSliceParams = ThickSliceParams(),
) -> list[str]:
    """Warnings for a CT whose largest resolved voxel size (:func:`resolved_mm`) exceeds
    ``params.warn_voxel_mm`` (or equals it with ``params.warn_ratio`` times the smallest).

    Parameters
    ----------
    spacing_mm : length-3 tuple of float
        Voxel sizes (mm) along i, j, k.
    contrast : bool
        Whether the segmentation declared intravenous contrast.
    slice_thickness_mm : float, optional
        The slices' thickness (mm) across axis k, when the file says it (DICOM
        SliceThickness; NIfTI, NRRD and MetaImage do not). Slices thicker than their
        step are judged by their thickness, and the warning says so.
    params : ThickSliceParams
        Thresholds.

    Returns
    -------
    list of str
        Empty for fine grids; otherwise one warning saying what is affected and by how
        much (measured), plus one about the contrast call when contrast was declared and
        the largest resolved size exceeds ``params.contrast_question_mm``.
    """
    resolved = resolved_mm(spacing_mm, slice_thickness_mm)
    largest = max(resolved)
    at_bound = largest >= params.warn_voxel_mm - 1e-6
    steep = largest >= params.warn_ratio * min(resolved) - 1e-6
    if largest <= params.warn_voxel_mm and not (at_bound and steep):
        return []
    sizes = " x ".join(f"{s:.2g}" for s in spacing_mm)
    if resolved[2] > spacing_mm[2]:
        what = (
            f"slices {resolved[2]:.3g} mm thick (the DICOM SliceThickness) every "
            f"{spacing_mm[2]:.3g} mm (voxels of {sizes} mm) average {resolved[2]:.3g} mm "
            f"across the slices, coarser than {params.warn_voxel_mm:g} mm (the overlap "
            "interpolates, it does not restore the detail)"
        )
    else:
        n_coarse = sum(r > params.warn_voxel_mm + 1e-6 for r in resolved)
        where = {2: "along two axes", 3: "along every axis"}.get(n_coarse, "along one axis")
        what = f"voxels of {sizes} mm are coarser than {params.warn_voxel_mm:g} mm {where}"
    out = [
        f"{what}: the 2 mm infant skull and the CSF layers are averaged across a voxel, "
        "so CSF reads high, brain low and thin bone is less reliable "
        f"({_measured_effect(largest)}); read the CSF and brain mL with that margin, "
        "and reconstruct the series at 2 mm or finer if the raw data allow"
    ]
    if contrast and largest > params.contrast_question_mm:
        out.append(
            f"contrast was detected, but on slices of {largest:.1f} mm partial volume of "
            "bone falls in the contrast range and the sinuses are averaged away, so the "
            "call rests on the neck vessels or on a sinus lumen several slices long (a "
            "phantom in 5 mm slices had 0.2 mL of sinus evidence with contrast and none "
            "without; in a plain real CT in 5 and 6 mm slices 6-8 mL of the skull base "
            "reached the contrast range and was told from blood only by its texture): "
            "check that this CT had intravenous contrast before trusting any sinus or "
            "vessel in the plan"
        )
    return out
