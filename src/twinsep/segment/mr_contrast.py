"""MR alone: a warning when an infant's T1 contrast may have turned white matter into CSF.

Before myelination (about the first 8-12 months) white matter is *darker* than grey
matter on a T1, the reverse of an adult's. The MR-alone rules hold for it while the white
matter stays clear of the CSF (generated newborn heads, white matter 250-380 against grey
520 and CSF 140: white matter labelled CSF 0.02-0.13 %). When it is nearly as dark as the
CSF (white matter 200 at 3 % noise) it fell below the dark/bright level, the cortex alone
was the brain core, the white matter it encloses was read as the enclosed CSF, and 25 % of
it was labelled CSF, most of the rest bone and soft tissue (brain Dice 0.40), without a
word.

The plan cannot tell such white matter from CSF by value. What it can see: the interior of
the cranial cavity (with what the cavity encloses: there the white matter was labelled
bone and soft tissue inside a cavity that was the cortex alone) reads darker than its
cortex (an infant's contrast, or large ventricles) and most of it is not labelled brain.
Then it says so.
"""

from __future__ import annotations

import numpy as np

from twinsep.segment import morph

#: Deeper than this (mm) from the cranial cavity's wall is the brain's interior: beyond
#: the cortex and an infant's widest extra-axial CSF (``MRParams.csf_layer_max_mm``).
INTERIOR_MM = 12.0
#: Within this (mm) of the wall, brain-labelled voxels stand for the cortex.
CORTEX_MM = 6.0


def infant_contrast_warning(
    sm: np.ndarray,
    region: np.ndarray,
    brain: np.ndarray,
    spacing_mm: tuple[float, float, float],
) -> str | None:
    """The plan's warning when the interior of ``region`` (the cranial cavity with what
    it encloses; deeper than :data:`INTERIOR_MM` from its wall) reads darker than its
    cortex (``brain`` voxels within :data:`CORTEX_MM` of the wall) and more than half of
    that interior is not labelled brain; None otherwise, or when either holds fewer than
    1000 voxels.

    Parameters
    ----------
    sm : ndarray of float
        The smoothed, bias-corrected T1.
    region : ndarray of bool
        The cranial cavity with what its sections enclose (``segment.mr.enclosed``).
    brain : ndarray of bool
        The voxels labelled brain.
    spacing_mm : (3,) float

    Returns
    -------
    str or None
    """
    depth = morph.distance_mm(region, spacing_mm)
    interior = region & (depth > INTERIOR_MM)
    cortex = brain & (depth <= CORTEX_MM)
    if int(interior.sum()) < 1000 or int(cortex.sum()) < 1000:
        return None
    inner, outer = float(np.median(sm[interior])), float(np.median(sm[cortex]))
    share = 1.0 - float(np.mean(brain[interior]))
    if inner >= outer or share <= 0.5:
        return None
    return (
        f"MR alone: {100 * share:.0f} % of the brain's interior (deeper than "
        f"{INTERIOR_MM:.0f} mm inside the cranial cavity) is not labelled brain and it "
        f"reads darker than the cortex ({inner:.0f} against {outer:.0f}): an infant's "
        "unmyelinated white matter nearly as dark as CSF, or large ventricles, which a T1 "
        "alone may not tell apart here. Check brain, CSF and bone against the T1"
    )
