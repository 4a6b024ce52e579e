"""How a measured quantity is written for the people who read the plan: one rule per
quantity, used by every output that states it (warnings, stage texts, report, run sheets,
Gantt charts, CLI summary).

Until 2026-11-28 one vessel read "2 mm" in the warnings and "1.9 mm" in the report's
crossings table, and one operation "22 h 23 min" in ``gantt.html`` and "22.4 h" on the
run sheets, in the report and in the CLI (docs/DECISIONS.md, "One number, one way").

* **A vessel's width: whole millimetres.** The width of a vessel crossing is
  ``2 sqrt(area / pi)`` of its section on the cut, and the section's edge is the
  segmentation's, uncertain by about half a voxel on each side: the width is uncertain
  by about one voxel spacing (0.4-3 mm on the scans planned; the section of a 7 mm tube
  reads within 1.9 mm of it at 2 mm voxels, ``tests/separate/test_separate.py``). A tenth
  of a millimetre is noise at every such spacing; a whole millimetre is not finer than
  the measurement even on a 0.5 mm scan. Halves round up (2.5 mm reads "3 mm"); a
  section under half a millimetre reads "under 1 mm" (not "0 mm"). ``plan.json`` keeps
  the measured value (``diameter_mm``, 0.1 mm) for programs; the rules that compare a
  width with a threshold a person reads (``BloodParams.large_vessel_mm``) compare the
  width as written here, so a vessel that reads "3 mm" is at least 3 mm wide.
* **An operation's or a shift's length: hours to one decimal** ("22.4 h"), beside the
  minutes where a table gives minutes; a step's own time stays in minutes.
"""

from __future__ import annotations

import math


def vessel_width_mm(diameter_mm: float) -> int:
    """A vessel's width as its users read it: whole millimetres, halves up.

    Parameters
    ----------
    diameter_mm : float
        The measured width (``separation.vessel_crossings[].diameter_mm``), mm.

    Returns
    -------
    int
        The width rounded to the nearest millimetre (2.5 -> 3; Python's ``round`` and
        ``f"{x:.0f}"`` would give 2), mm.
    """
    return int(math.floor(float(diameter_mm) + 0.5))


def vessel_width_text(diameter_mm: float) -> str:
    """A vessel's width in words: ``"2 mm"``, or ``"under 1 mm"`` for a section under
    half a millimetre.

    Parameters
    ----------
    diameter_mm : float
        The measured width, mm.

    Returns
    -------
    str
    """
    mm = vessel_width_mm(diameter_mm)
    return "under 1 mm" if mm < 1 else f"{mm} mm"


def hours_text(minutes: float) -> str:
    """A length of time in hours to one decimal: ``hours_text(1343)`` is ``"22.4 h"``.

    Parameters
    ----------
    minutes : float
        The length, min.

    Returns
    -------
    str
    """
    return f"{float(minutes) / 60.0:.1f} h"
