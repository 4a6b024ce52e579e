"""The ``plan.json`` document: its schema and the names of the files a plan keeps, its
assembly from the stages' sections, reading it back, and the options of an existing
plan.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from twinsep import __version__
from twinsep.errors import InputError
from twinsep.io.fsnames import printable_name
from twinsep.plan_names import records_names, scan_display_name
from twinsep.plan_options import PATH_OPTIONS, PlanOptions

SCHEMA = "twinsep.plan/1"


PLAN_JSON = "plan.json"


#: Names of the copies of the user's team and stage files kept in the plan folder.
TEAM_COPY = "team.yaml"


STAGE_FILE_COPY = "stage-file.yaml"


def assemble_plan(
    options: PlanOptions,
    info: dict[str, Any],
    sections: dict[str, Any],
    warnings: list[str],
    timings: dict[str, float],
    peaks: dict[str, float],
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """Build the ``plan.json`` document (schema ``twinsep.plan/1``)."""
    input_section = {
        k: info.get(k)
        for k in (
            "path",
            "sha256",
            "modality",
            "shape",
            "spacing_mm",
            "affine",
            "deidentified",
            "format",
            "orientation",
        )
    }
    if info.get("mr_sha256"):
        input_section["mr_sha256"] = info["mr_sha256"]
    if info.get("segmentation"):
        # file names only (no folders), checksums, what the user supplied
        input_section["segmentation"] = info["segmentation"]
    if not options.keep_phi:
        # no input file's name without --keep-phi (a built-in case's is twinsep's own)
        input_section["path"] = scan_display_name(
            str(info.get("path", "")),
            names_patient=bool(info.get("path_names_patient")),
            keep_phi=records_names(options),
        )
    elif isinstance(given := input_section.get("path"), str):
        input_section["path"] = printable_name(given)  # --keep-phi: the path as given
    opts = options.to_json()
    if options.team_path is not None:
        opts["team_path"] = TEAM_COPY
    if options.stages_path is not None:
        opts["stages_path"] = STAGE_FILE_COPY
    if not options.keep_phi:
        for k in PATH_OPTIONS:
            if opts.get(k):
                opts[k] = Path(opts[k]).name
        # the scan and the MR by a neutral name; one named after the patient (a PACS/CD
        # export folder) as withheld
        for k, flag, what in (
            ("scan_path", "path_names_patient", "scan"),
            ("mr_path", "mr_path_names_patient", "MR"),
        ):
            if opts.get(k):
                opts[k] = scan_display_name(
                    opts[k],
                    names_patient=bool(info.get(flag)),
                    keep_phi=records_names(options),
                    what=what,
                )
        # the user's segmentation files: the names input.segmentation records (checked
        # against the scan's identifiers when the files were read), also on a re-run
        seg = info.get("segmentation") or {}
        for k, recorded in (
            ("segmentation_path", seg.get("file")),
            ("twin_map_path", (seg.get("twin_map") or {}).get("file")),
        ):
            if opts.get(k) and recorded:
                opts[k] = recorded
        # a full SeriesInstanceUID is an identifier (PS3.15): recorded as its hash, which
        # --series accepts as well
        from twinsep.io.dicom import series_uid_hash

        for k in ("series_uid", "mr_series_uid"):
            if opts.get(k) and "." in str(opts[k]):
                opts[k] = series_uid_hash(str(opts[k]))
    for k in PATH_OPTIONS:  # a Latin-1 file name made plan.json unwritable (exit 1)
        if isinstance(opts.get(k), str):
            opts[k] = printable_name(opts[k])
    plan: dict[str, Any] = {
        "schema": SCHEMA,
        "version": __version__,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "input": input_section,
        "options": opts,
        "colours": {"A": options.colour_a, "B": options.colour_b},
    }
    for key in (
        "twins",
        "fusion",
        "shared",
        "separation",
        "skin",
        "bone",
        "models",
        "schedule",
        "report",
    ):
        if key in sections:
            plan[key] = sections[key]
    for key, value in sections.items():
        if key not in plan:
            plan[key] = value
    loaded = list(info.get("warnings") or []) + list(info.get("mr_warnings") or [])
    plan["warnings"] = list(dict.fromkeys(loaded + warnings))
    plan["parameters"] = parameters
    plan["timings_s"] = timings
    plan["peak_rss_mb"] = peaks
    return plan


def read_plan(plan_dir: Path) -> dict[str, Any]:
    """Read ``plan.json`` of a plan folder.

    Raises
    ------
    InputError
        If the folder holds no readable plan.
    """
    path = Path(plan_dir) / PLAN_JSON
    if not path.is_file():
        raise InputError(
            plan_dir,
            "is not a twinsep plan folder (no plan.json); "
            "make one with 'twinsep plan SCAN --out DIR'",
        )
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(path, f"cannot be read as JSON ({exc})") from None
    if plan.get("schema") != SCHEMA:
        raise InputError(path, f"schema {plan.get('schema')!r} is not {SCHEMA!r}")
    return plan


def options_from_plan(plan: dict[str, Any], plan_dir: Path, **overrides: Any) -> PlanOptions:
    """Rebuild the options of an existing plan (to re-run it with some changed).

    The scan path recorded in the plan must still exist (it is stored in full only with
    ``--keep-phi``; otherwise pass ``scan_path`` in ``overrides``).
    """
    raw = dict(plan.get("options") or {})
    for k in PATH_OPTIONS:
        if raw.get(k) is not None:
            p = Path(raw[k])
            in_plan = k in ("team_path", "stages_path")  # copies kept in the plan folder
            # a name found neither here nor in the plan folder stays as recorded: the
            # message that asks for the file names what the user gave, not a path in
            # the plan folder
            if not p.is_absolute() and (
                in_plan or (not p.exists() and (Path(plan_dir) / p).exists())
            ):
                p = Path(plan_dir) / p
            raw[k] = p
    # overrides come from the command line: paths as the user typed them (relative to cwd)
    raw.update({k: v for k, v in overrides.items() if v is not None})
    for k in ("twin_a_mm", "weight_kg", "age_months", "hct_pct"):  # JSON lists -> tuples
        if raw.get(k) is not None:
            raw[k] = tuple(float(v) for v in raw[k])
    known = {f.name for f in dataclasses.fields(PlanOptions)}
    return PlanOptions(**{k: v for k, v in raw.items() if k in known})
