"""The names outputs give the user's input files: without ``--keep-phi`` no input file's
name is recorded (a NIfTI named ``DOE_JOHN_ct.nii.gz`` carries nothing that would tell
a patient's name from any other), only a neutral name beside the file's SHA-256; a name
that holds one of the scan's identifying header values is named as withheld.
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


#: What follows the neutral name given to any other input file of a plan made without
#: ``--keep-phi`` (docs/io.md, "Input file names in outputs").
NOT_RECORDED_NOTE = "(name not recorded: --keep-phi records it)"


def unrecorded_name(what: str) -> str:
    """The neutral name that outputs give a file of the user's (``what``: "scan", "MR",
    "segmentation", "twin map") whose name is not recorded (no ``--keep-phi``)."""
    return f"{what} {NOT_RECORDED_NOTE}"


def records_names(options: Any) -> bool:
    """Whether outputs may name the input files of a plan made with ``options``
    (:class:`twinsep.plan_options.PlanOptions`): with ``--keep-phi``, or for a built-in
    case of ``twinsep demo`` (files twinsep wrote itself, found again by their name)."""
    return bool(getattr(options, "keep_phi", False) or getattr(options, "case", None))


def withheld_name(what: str) -> str:
    """The neutral name that outputs give a file of the user's (``what``: "scan",
    "segmentation", "twin map") whose name holds patient identifiers."""
    return f"{what} {WITHHELD_NOTE}"


def is_withheld(name: str) -> bool:
    """True for a name made by :func:`withheld_name` or :func:`unrecorded_name`."""
    return name.endswith((WITHHELD_NOTE, NOT_RECORDED_NOTE))


def names_patient(scan: Any, path: str | Path) -> bool:
    """Whether the name of ``path`` (a file given with ``scan``) holds one of the scan's
    identifying header values (:meth:`twinsep.io.Scan.names_patient`); False for a scan
    without them (a NIfTI, a stand-in)."""
    check = getattr(scan, "names_patient", None)
    return bool(check is not None and check(path))


def scan_display_name(
    path: str | Path, *, names_patient: bool, keep_phi: bool, what: str = "scan"
) -> str:
    """How ``plan.json`` and stage results name a scan (``what``: "scan" or "MR").

    Parameters
    ----------
    path : str or Path
        The path given.
    names_patient : bool
        Whether its name holds one of the scan's identifying header values.
    keep_phi : bool
        Whether names may be recorded (:func:`records_names`).

    Returns
    -------
    str
        With ``keep_phi`` the last part of the path; otherwise :data:`WITHHELD_PATH` when
        that name holds identifiers, else :func:`unrecorded_name` (a file name alone
        cannot be told to hold none: ``DOE_JOHN_ct.nii.gz``).
    """
    if keep_phi:
        return printable_name(Path(str(path)).name)  # a Latin-1 name broke plan.json (exit 1)
    return WITHHELD_PATH if names_patient else unrecorded_name(what)


def _withhold_names(edited: Any, scan: Any) -> Any:
    """The user's segmentation (:class:`twinsep.interop.edited.EditedSegmentation`) with
    the name of each of its files replaced: by :func:`withheld_name` when it holds one of
    the scan's identifying header values (``DOE_JANE_seg.nrrd`` from a CT of Jane Doe),
    else by :func:`unrecorded_name`: plan.json, the report, the stage results and the
    plan's cache show that name (without ``--keep-phi``)."""
    from twinsep.interop.edited import InputFile

    files = tuple(
        InputFile(
            withheld_name(what) if names_patient(scan, f.name) else unrecorded_name(what),
            f.sha256,
        )
        for f, what in zip(edited.files, ("segmentation", "twin map"), strict=False)
    )
    return dataclasses.replace(edited, files=files)


def name_as_given(exc: Any, options: Any) -> None:
    """Make an error of a stage (:class:`twinsep.errors.InputError`) that starts with the
    neutral name of an input file (:func:`unrecorded_name`: stage results carry no file
    names) start with the path the user gave instead: the line goes to the user's
    stderr, and DESIGN.md asks for the file to be named. A name withheld for holding
    identifiers stays withheld."""
    given = {
        unrecorded_name("scan"): options.scan_path,
        unrecorded_name("MR"): options.mr_path,
        unrecorded_name("segmentation"): options.segmentation_path,
        unrecorded_name("twin map"): options.twin_map_path,
    }
    path = given.get(exc.source or "")
    if path is not None:
        exc.source = printable_name(str(path))
        exc.args = (exc.one_line(),)
