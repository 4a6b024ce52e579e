"""Contrast-filled vessels and dural sinuses: a Hessian tube test and the sinus rule.

Entry point: :func:`find_vessels` (used by ``segment_ct``). It runs the sinus rule on a
*work grid* of about ``VesselParams.work_grid_mm`` (block means of the CT; the fine grid
itself when it is already that coarse), then delineates the vessels on the fine grid
by their half-maximum edge. The rule concerns millimetre structures (a 1.5 mm bone
rim, sinuses 3-7 mm across), so a thin-slice CT gains nothing from running it at
0.5 mm, where it would cost seconds per distance transform.

The rule is split by job (each module's docstring gives its measurements):

* :mod:`.find` - the entry point: the rule on the work grid, delineation on the fine grid;
* :mod:`.contrast` - the levels the rule reads, its result, and the contrast call;
* :mod:`.sinus` - the sinus rule (:func:`sinus_mask`), with the later rules it applies;
* :mod:`.tube` - the Hessian tube test (:func:`tubular_mask`);
* :mod:`.thin` - thin layers that are no evidence, and per-axis margins;
* :mod:`.rim` - the bone rim's rules (rim pieces, bone profile, sutures, rim plateau,
  the blurred rim);
* :mod:`.blur` - the scan's edge spread along each axis, read off the inner table;
* :mod:`.encased` - cancellous bone inside a cortex is no vessel (:func:`bone_encased`);
* :mod:`.plateau` - the lumen plateau (:func:`lumen_is_plateau`, :func:`lumen_below_ceiling`);
* :mod:`.lumen` - lumen and background medians;
* :mod:`.grid` - voxel-grid helpers (block means, face steps, component filters).

The names below are re-exported so that ``from twinsep.segment.vessels import ...``
keeps working.
"""

from __future__ import annotations

from twinsep.segment.vessels.contrast import (
    SinusResult,
    VesselLevels,
    contrast_detected,
    contrast_doubt,
    core_seed_hu,
)
from twinsep.segment.vessels.encased import bone_encased
from twinsep.segment.vessels.find import find_vessels
from twinsep.segment.vessels.grid import _block_mean
from twinsep.segment.vessels.lumen import _interior_median, _interior_sample_flat, _interior_values
from twinsep.segment.vessels.plateau import _plateau_check, lumen_below_ceiling, lumen_is_plateau
from twinsep.segment.vessels.rim import (
    _bone_side,
    bone_profile,
    rim_pieces,
    rim_plateau,
    suture_gaps,
)
from twinsep.segment.vessels.sinus import sinus_mask
from twinsep.segment.vessels.thin import _thin_layer, between_dark, dilate_per_axis_mm
from twinsep.segment.vessels.tube import tubular_mask

__all__ = [
    "SinusResult",
    "VesselLevels",
    "_block_mean",
    "_bone_side",
    "_interior_median",
    "_interior_sample_flat",
    "_interior_values",
    "_plateau_check",
    "_thin_layer",
    "between_dark",
    "bone_encased",
    "bone_profile",
    "contrast_detected",
    "contrast_doubt",
    "core_seed_hu",
    "dilate_per_axis_mm",
    "find_vessels",
    "lumen_below_ceiling",
    "lumen_is_plateau",
    "rim_pieces",
    "rim_plateau",
    "sinus_mask",
    "suture_gaps",
    "tubular_mask",
]
