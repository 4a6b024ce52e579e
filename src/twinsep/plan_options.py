"""The user's choices for one plan (:class:`PlanOptions`, recorded in ``plan.json``),
which of them hold a file's path, and the type of the CLI's progress callback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from twinsep.errors import InputError
from twinsep.labels import DEFAULT_COLOUR_A, DEFAULT_COLOUR_B, hex_to_rgb

#: The :class:`PlanOptions` fields that hold a file's path (kept as file names only in
#: plan.json without ``--keep-phi``, found again on a re-run).
PATH_OPTIONS: tuple[str, ...] = (
    "scan_path",
    "mr_path",
    "team_path",
    "stages_path",
    "segmentation_path",
    "twin_map_path",
)


ProgressFn = Callable[[str, float, str], None]
"""Progress callback ``(stage, fraction 0..1, text)`` supplied by the CLI."""


@dataclass(frozen=True)
class PlanOptions:
    """Everything the user chose for one plan (recorded in ``plan.json``).

    Parameters
    ----------
    scan_path : Path
        The CT (or MR) scan: DICOM folder, ``.nii``/``.nii.gz``, ``.nrrd`` or ``.mha``.
    mr_path : Path or None
        Optional MR scan registered to the CT.
    series_uid : str or None
        DICOM series to use when the folder holds several.
    mr_series_uid : str or None
        The same for the MR (``--mr-series``): an MR study holds T1, T2, FLAIR and
        venogram series.
    twin_a_mm : (x, y, z) or None
        World point (RAS mm) inside twin A; overrides the default A/B rule.
    colour_a, colour_b : str
        Code colours (``#RRGGBB``) of twin A and twin B.
    team_path : Path or None
        ``team.yaml`` for the operating-room schedule (default team when None).
    stages_path : Path or None
        User-edited stage file for the staged separation.
    n_stages : int or None
        Fix the number of venous-division stages (None: twinsep proposes).
    seed : int
        Seed for every stochastic step (Monte Carlo, solver).
    keep_phi : bool
        Keep patient identifiers in outputs (off by default).
    pdf : bool
        Also write ``report.pdf``.
    case : str or None
        Name of a built-in case when the scan came from ``twinsep demo``.
    separation_date : str or None
        Planned separation date ``YYYY-MM-DD`` (``--separation-date``); expander fills
        then get due dates counted back from it.
    segmentation_path : Path or None
        The user's edited segmentation (``--segmentation``): a Slicer ``.seg.nrrd`` of
        twin x tissue segments or a tissue label map on the CT's grid; the ``segment``
        (and ``twins``) stages take it instead of computing
        (:mod:`twinsep.interop.edited`).
    twin_map_path : Path or None
        Twin map (0/1/2) to go with a tissue label map (``--twin-map``).
    weight_kg, age_months, hct_pct : (float, float) or None
        Twin A's and twin B's weight (kg), postnatal age (months, corrected for
        prematurity) and starting haematocrit (percent) for the blood estimate
        (``--weight-kg``, ``--age-months``, ``--hct``; :mod:`twinsep.anaesthesia`).
    hct_min_pct : float or None
        Lowest acceptable haematocrit, percent (``--hct-min``; None: the default).
    """

    scan_path: Path
    mr_path: Path | None = None
    series_uid: str | None = None
    mr_series_uid: str | None = None
    twin_a_mm: tuple[float, float, float] | None = None
    colour_a: str = DEFAULT_COLOUR_A
    colour_b: str = DEFAULT_COLOUR_B
    team_path: Path | None = None
    stages_path: Path | None = None
    n_stages: int | None = None
    seed: int = 0
    keep_phi: bool = False
    pdf: bool = False
    case: str | None = None
    separation_date: str | None = None
    segmentation_path: Path | None = None
    twin_map_path: Path | None = None
    weight_kg: tuple[float, float] | None = None
    age_months: tuple[float, float] | None = None
    hct_pct: tuple[float, float] | None = None
    hct_min_pct: float | None = None

    def __post_init__(self) -> None:
        for name in ("colour_a", "colour_b"):
            value = getattr(self, name)
            try:
                hex_to_rgb(value)
            except ValueError as exc:
                raise InputError(f"--{name.replace('_', '-')}", str(exc)) from None
        if self.mr_series_uid is not None and self.mr_path is None:
            raise InputError("--mr-series", "chooses a series of the --mr scan; give --mr too")
        if self.twin_map_path is not None and self.segmentation_path is None:
            raise InputError(
                "--twin-map", "goes with the tissue label map given with --segmentation"
            )
        if self.segmentation_path is not None and self.mr_path is not None:
            # the MR only informs the segmentation, which the user's map replaces
            raise InputError(
                "--mr",
                "is used only to segment, and --segmentation supplies the segmentation: "
                "give one or the other",
            )
        if self.n_stages is not None and not 1 <= self.n_stages <= 12:
            raise InputError("--stages", f"number of stages {self.n_stages} is not in 1..12")
        if self.separation_date is not None:
            try:
                date.fromisoformat(self.separation_date)
            except (TypeError, ValueError):
                raise InputError(
                    "--separation-date",
                    f"{self.separation_date!r} is not a valid calendar date of the form YYYY-MM-DD",
                ) from None
        _check_blood(self)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view (paths as strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = (
                str(v) if isinstance(v, Path) else (list(v) if isinstance(v, tuple) else v)
            )
        return out


def _check_blood(options: PlanOptions) -> None:
    """Refuse a blood input out of its limits or without one value per twin (exit 2,
    naming the option; :mod:`twinsep.anaesthesia.blood`)."""
    from twinsep.anaesthesia import blood

    blood.check_pair("--weight-kg", options.weight_kg, blood.WEIGHT_KG_LIMITS, "kg")
    blood.check_pair("--age-months", options.age_months, blood.AGE_MONTHS_LIMITS, "months")
    blood.check_pair("--hct", options.hct_pct, blood.HCT_PCT_LIMITS, "%")
    blood.check_hct_min(options.hct_min_pct)


def require_given_files(options: PlanOptions) -> None:
    """Refuse a new plan whose scan or MR is not there.

    For ``twinsep plan``, whose paths the user has just given: a missing scan is named as
    missing before anything runs. (A re-run finds its scan again by the file name the
    plan kept and asks for it only when a stage must read it: the message then says how
    to give it, ``plan_context.StageContext._require``, which a new plan's missing scan
    also reached. The team, stage, segmentation and twin-map files are read by their own
    readers, which name a missing file as "not found".)

    Parameters
    ----------
    options : PlanOptions

    Raises
    ------
    InputError
        Naming the scan, else the MR, when it does not exist, is a broken or looping link,
        or cannot be read.
    """
    from twinsep.io.checks import check_readable_path

    for value in (options.scan_path, options.mr_path):
        if value is not None:
            check_readable_path(Path(value))
