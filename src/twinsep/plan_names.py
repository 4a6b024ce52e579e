"""Names of the user's files that hold patient identifiers, and the neutral names that
outputs and messages give them instead (without ``--keep-phi``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from twinsep.io.fsnames import printable_name

#: What follows the neutral name given to a file whose name holds patient identifiers.
WITHHELD_NOTE = "(name withheld: it holds patient identifiers)"


#: What outputs and messages call the scan when its file or folder name holds an
#: identifying header value (a DICOM folder named after the patient,
#: ``ScanInfo.path_names_patient``) and ``--keep-phi`` was not given.
WITHHELD_PATH = f"scan {WITHHELD_NOTE}"


def withheld_name(what: str) -> str:
    """The neutral name that outputs give a file of the user's (``what``: "scan",
    "segmentation", "twin map") whose name holds patient identifiers."""
    return f"{what} {WITHHELD_NOTE}"


def is_withheld(name: str) -> bool:
    """True for a name made by :func:`withheld_name`."""
    return name.endswith(WITHHELD_NOTE)


def names_patient(scan: Any, path: str | Path) -> bool:
    """Whether the name of ``path`` (a file given with ``scan``) holds one of the scan's
    identifying header values (:meth:`twinsep.io.Scan.names_patient`); False for a scan
    without them (a NIfTI, a stand-in)."""
    check = getattr(scan, "names_patient", None)
    return bool(check is not None and check(path))


def scan_display_name(path: str | Path, *, names_patient: bool, keep_phi: bool) -> str:
    """How ``plan.json``, stage results and error messages name a scan: the last part of
    the path given, or :data:`WITHHELD_PATH` when that name holds patient identifiers
    (without ``keep_phi``)."""
    if names_patient and not keep_phi:
        return WITHHELD_PATH
    return printable_name(Path(str(path)).name)  # a Latin-1 name broke plan.json (exit 1)


def _withhold_names(edited: Any, scan: Any) -> Any:
    """The user's segmentation (:class:`twinsep.interop.edited.EditedSegmentation`) with
    the name of each of its files that holds one of the scan's identifying header values
    replaced by :func:`withheld_name` (``DOE_JANE_seg.nrrd`` from a CT of Jane Doe):
    plan.json, the report, the stage results and the plan's cache show that name."""
    from twinsep.interop.edited import InputFile

    files = tuple(
        InputFile(withheld_name(what), f.sha256) if names_patient(scan, f.name) else f
        for f, what in zip(edited.files, ("segmentation", "twin map"), strict=False)
    )
    return dataclasses.replace(edited, files=files)
