"""Command line: ``twinsep`` (typer + rich). A parser plus one call per command.

Exit codes: 0 success, 2 bad input (one line naming the file and the reason, nothing
written), 1 internal error (traceback only with ``--debug``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from twinsep import __version__
from twinsep.errors import InputError
from twinsep.labels import DEFAULT_COLOUR_A, DEFAULT_COLOUR_B
from twinsep.readout import hours_text
from twinsep.words import counted

app = typer.Typer(
    name="twinsep",
    help=(
        "Plan the surgical separation of craniopagus twins from their CT/MR scans. "
        "A planning aid for the surgical team, not a medical device: every number must be "
        "checked by the team."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True)
out_console = Console()


class _State:
    """Global flags of one invocation (held by the typer context, not module state)."""

    def __init__(self, quiet: bool = False, as_json: bool = False, debug: bool = False) -> None:
        self.quiet = quiet
        self.as_json = as_json
        self.debug = debug


def _state(ctx: typer.Context) -> _State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, _State) else _State()


def _print_version(value: bool) -> None:
    if value:
        out_console.print(f"twinsep {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    ctx: typer.Context,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable JSON summary on stdout.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """twinsep: craniopagus separation planning."""
    ctx.obj = _State(quiet=quiet, as_json=as_json, debug=debug)
    level = logging.DEBUG if debug else (logging.ERROR if quiet or as_json else logging.WARNING)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True
    )
    if not debug:
        _quiet_readers()


#: Readers that report the quirks of every file they open (a truncated sibling in a DICOM
#: folder, an odd VR) through their own logger and ``warnings``; what matters for the scan
#: reaches the user as twinsep's own one-line error or plan warning.
_READER_MODULES = ("pydicom", "nibabel", "highdicom")


class _ReaderNoise(logging.Filter):
    """Drops the readers' records at every level (they reset their own logger levels on
    import). Their ERROR records too: a file a reader cannot use becomes twinsep's own
    one-line error, and a second line with the reader's wording broke that contract
    (nibabel logs "vox offset 100 too low ..." at ERROR before raising)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] not in _READER_MODULES


#: Reader loggers that get a stderr handler of their own when the reader is imported.
_READER_OWN_HANDLERS = ("nibabel.global",)


def _quiet_readers() -> None:
    """Keep the readers' own log lines and Python warnings off stderr (``--debug`` shows them),
    also the lines of a handler a reader attaches to its own logger on import (nibabel's
    ``nibabel.global`` prints to stderr by itself): that logger gets the filter itself."""
    import warnings

    noise = _ReaderNoise()
    for handler in logging.getLogger().handlers:
        handler.addFilter(noise)
    for name in _READER_OWN_HANDLERS:
        logging.getLogger(name).addFilter(noise)
    for name in _READER_MODULES:
        warnings.filterwarnings("ignore", module=name)


def _fail(state: _State, exc: BaseException) -> None:
    """Map an exception to the exit code contract."""
    if isinstance(exc, InputError):
        err_console.print(f"error: {exc.one_line()}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if state.debug:
        raise exc
    err_console.print(
        f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())} "
        "(run again with --debug for the traceback)",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(1)


@contextmanager
def _guard(state: _State) -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - the CLI is the one place that maps all errors
        _fail(state, exc)


@contextmanager
def _progress(state: _State) -> Iterator[Callable[[str, float, str], None] | None]:
    """A rich progress bar, one task per stage (disabled with --quiet / --json)."""
    if state.quiet or state.as_json or not err_console.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.fields[stage]:<12}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as prog:
        tasks: dict[str, Any] = {}

        def update(stage: str, fraction: float, text: str) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task(text, total=1.0, stage=stage)
            prog.update(tasks[stage], completed=fraction, description=text)

        yield update


def _emit(state: _State, summary: dict[str, Any], human: Callable[[], None]) -> None:
    if state.as_json:
        sys.stdout.write(json.dumps(summary, indent=2, default=str) + "\n")
    elif not state.quiet:
        human()


def _parse_point(text: str | None) -> tuple[float, float, float] | None:
    if text is None:
        return None
    parts = text.replace(";", ",").split(",")
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise InputError("--twin-a", f"{text!r} is not three numbers X,Y,Z in mm") from None
    if len(vals) != 3:
        raise InputError("--twin-a", f"{text!r} is not three numbers X,Y,Z in mm")
    return (vals[0], vals[1], vals[2])


def _parse_pair(option: str, text: str | None) -> tuple[float, ...] | None:
    """``"A,B"`` as numbers (the count is checked with the values, by PlanOptions)."""
    if text is None:
        return None
    try:
        return tuple(float(p) for p in text.replace(";", ",").split(","))
    except ValueError:
        raise InputError(option, f"{text!r} is not numbers A,B (twin A's, then twin B's)") from None


#: The blood-estimate options of ``plan`` and of the re-runs (``schedule``, ``report``).
WeightOption = Annotated[
    str | None,
    typer.Option(
        "--weight-kg", help="Weights A,B (kg) on the day: each twin's blood volume estimate."
    ),
]
AgeOption = Annotated[
    str | None,
    typer.Option(
        "--age-months",
        help="Ages A,B in months (corrected for prematurity): the blood volume's age band.",
    ),
]
HctOption = Annotated[
    str | None,
    typer.Option("--hct", help="Starting haematocrits A,B (%): the allowable blood loss."),
]
HctMinOption = Annotated[
    float | None,
    typer.Option("--hct-min", help="Lowest acceptable haematocrit (%, default 25)."),
]


def _blood(
    weight: str | None, age: str | None, hct: str | None, hct_min: float | None
) -> dict[str, Any]:
    """The blood options as PlanOptions fields (checked there)."""
    return {
        "weight_kg": _parse_pair("--weight-kg", weight),
        "age_months": _parse_pair("--age-months", age),
        "hct_pct": _parse_pair("--hct", hct),
        "hct_min_pct": hct_min,
    }


def _plan_summary(run: Any) -> dict[str, Any]:
    plan = run.plan
    return {
        "out": str(run.out_dir),
        "computed": run.computed,
        "cached": run.cached,
        # results of the twinsep that made the plan, kept by a re-run without the scan
        "kept": getattr(run, "kept", []),
        "fusion": plan.get("fusion", {}).get("classification") if plan.get("fusion") else None,
        "warnings": plan.get("warnings", []),
        "report": str(run.out_dir / "report.html")
        if (run.out_dir / "report.html").exists()
        else None,
    }


def _blood_lines(blood: dict[str, Any]) -> list[str]:
    """The summary's blood lines: each twin's figures when given, the high-risk stages."""
    if not blood:
        return []
    lines = []
    for twin, b in (blood.get("twins") or {}).items():
        if b.get("ebv_ml") is None:
            if b.get("status") == "partly given":  # a figure was asked for: say why none
                lines.append(
                    f"blood, twin {twin}: not computed ({', '.join(b.get('missing') or [])} "
                    "not given)"
                )
            continue
        text = f"blood, twin {twin}: estimated volume {b['ebv_ml']:.0f} mL"
        if b.get("mabl_ml") is not None:
            text += f", allowable loss {b['mabl_ml']:.0f} mL to Hct {b['hct_min_pct']:g} %"
        else:
            text += f", allowable loss not computed ({', '.join(b.get('missing') or [])} not given)"
        lines.append(text + " (estimate, not a transfusion protocol)")
    high = blood.get("high_risk_stages") or []
    if high:
        stages = "stages" if len(high) != 1 else "stage"
        lines.append(f"bleeding risk high in {stages} {', '.join(str(n) for n in high)}")
    elif blood.get("vessels_visible") is False:
        # as the report's card: no stage flagged is not "no stage bleeds" on a CT without
        # contrast (the summary said nothing there until 2026-11-28)
        lines.append(
            "bleeding risk high in no stage, but the scan shows no veins (a CT without "
            "contrast): which vessels each cut divides is not known"
        )
    return lines


def _earlier_line(operations: list[dict[str, Any]], separation_date: str | None = None) -> str:
    """The summary's line on the earlier operations (plan.json
    ``schedule.earlier_operations``): each one's stage, length and day (its date too when
    the plan has ``--separation-date``, as schedule.ics gives it). Until 2026-11-28 the
    summary gave the separation operation alone, and vertical-II's staged division, a
    19.2 h day of its own 56 days before it, was in the report only."""
    from datetime import date, timedelta

    try:
        day0 = date.fromisoformat(separation_date) if separation_date else None
    except ValueError:
        day0 = None
    parts = []
    for o in operations:
        text = f"{o.get('operation')} planned {hours_text(o.get('makespan_min') or 0)}"
        if o.get("p50_min") is not None and o.get("p90_min") is not None:
            text += f", P50 {hours_text(o['p50_min'])}, P90 {hours_text(o['p90_min'])}"
        days = o.get("days_before_separation")
        if days is not None:
            text += f", {days} days before"
            if day0 is not None:
                text += f": {(day0 - timedelta(days=int(days))).isoformat()}"
        parts.append(text)
    return f"earlier operations, each on its own day: {'; '.join(parts)}" if parts else ""


def _print_plan(run: Any) -> None:
    plan = run.plan
    out_console.print(f"[bold]Plan written to[/bold] {run.out_dir}")
    if plan.get("fusion"):
        f = plan["fusion"]
        cls = f.get("classification", {})
        text = f"{cls.get('stone_goodrich')} ({f.get('completeness')} {f.get('type')})"
        if cls.get("oconnell"):
            text += f", O'Connell type {cls['oconnell']}"
        out_console.print(f"  classification: {text}", soft_wrap=True)
    if plan.get("separation"):
        sep = plan["separation"]
        out_console.print(
            f"  separation: {counted(len(sep.get('stages', [])), 'stage')}, "
            f"{counted(len(sep.get('vessel_crossings', [])), 'vessel crossing')}",
            soft_wrap=True,
        )
    if plan.get("schedule"):
        s = plan["schedule"]
        when = (plan.get("options") or {}).get("separation_date")
        out_console.print(
            f"  operation{f' on {when}' if when else ''}: planned "
            f"{hours_text(s.get('makespan_min', 0))} (most-likely steps), "
            f"P50 {hours_text(s.get('p50_min', 0))}, P90 {hours_text(s.get('p90_min', 0))}",
            soft_wrap=True,
        )
        earlier = _earlier_line(s.get("earlier_operations") or [], when)
        if earlier:
            out_console.print(f"  {earlier}", markup=False, highlight=False, soft_wrap=True)
    for line in _blood_lines(plan.get("blood") or {}):
        out_console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
    warnings = plan.get("warnings", [])
    for w in warnings[:12]:
        out_console.print(f"  warning: {w}", markup=False, highlight=False, soft_wrap=True)
    if len(warnings) > 12:
        # "1 more warnings" read as a slip; the report lists them all under headings
        more = counted(len(warnings) - 12, "more warning")
        where = (
            "report.html and plan.json" if (run.out_dir / "report.html").exists() else "plan.json"
        )
        out_console.print(f"  ... and {more} in {where}", soft_wrap=True)
    report = run.out_dir / "report.html"
    if report.exists():
        out_console.print(f"  report: {report}", soft_wrap=True)
    if (run.out_dir / "models").is_dir():
        out_console.print(f"  models: {run.out_dir / 'models'}", soft_wrap=True)
        out_console.print(f"  3D / VR viewer: twinsep view {run.out_dir}", soft_wrap=True)
    out_console.print(
        f"  stages computed: {', '.join(run.computed) or '-'}; "
        f"from cache: {', '.join(run.cached) or '-'}",
        soft_wrap=True,
    )


# ---------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------
@app.command()
def plan(
    ctx: typer.Context,
    scan: Annotated[
        Path, typer.Argument(help="CT scan: DICOM folder, .nii/.nii.gz, .nrrd or .mha.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Plan folder to create.")],
    mr: Annotated[
        Path | None, typer.Option("--mr", help="Optional MR scan of the same twins.")
    ] = None,
    series: Annotated[
        str | None,
        typer.Option(
            "--series",
            help="DICOM series (hash or SeriesInstanceUID) when a folder has several.",
        ),
    ] = None,
    mr_series: Annotated[
        str | None,
        typer.Option("--mr-series", help="The same for the --mr folder (T1, venogram...)."),
    ] = None,
    team: Annotated[
        Path | None, typer.Option("--team", help="team.yaml for the OR schedule.")
    ] = None,
    stage_file: Annotated[
        Path | None, typer.Option("--stage-file", help="Edited stage list (YAML) to respect.")
    ] = None,
    stages: Annotated[
        int | None, typer.Option("--stages", help="Fix the number of venous-division stages.")
    ] = None,
    twin_a: Annotated[
        str | None, typer.Option("--twin-a", help="World point X,Y,Z (mm, RAS) inside twin A.")
    ] = None,
    segmentation: Annotated[
        Path | None,
        typer.Option(
            "--segmentation",
            help="Edited segmentation to plan from instead of segmenting: a Slicer "
            ".seg.nrrd (twin x tissue segments) or a tissue label map (0-5) on the CT's grid.",
        ),
    ] = None,
    twin_map: Annotated[
        Path | None,
        typer.Option(
            "--twin-map",
            help="Twin map (0-2) to go with a --segmentation tissue label map.",
        ),
    ] = None,
    colour_a: Annotated[
        str, typer.Option("--colour-a", help="Code colour of twin A.")
    ] = DEFAULT_COLOUR_A,
    colour_b: Annotated[
        str, typer.Option("--colour-b", help="Code colour of twin B.")
    ] = DEFAULT_COLOUR_B,
    seed: Annotated[int, typer.Option("--seed", help="Seed for every stochastic step.")] = 0,
    keep_phi: Annotated[
        bool,
        typer.Option(
            "--keep-phi",
            help="Keep patient identifiers in outputs: input paths as given, and seg.dcm with "
            "the source's patient, study and UIDs (off by default).",
        ),
    ] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write report.pdf.")] = False,
    separation_date: Annotated[
        str | None,
        typer.Option(
            "--separation-date",
            help="Planned separation date YYYY-MM-DD (expander fills get due dates).",
        ),
    ] = None,
    weight_kg: WeightOption = None,
    age_months: AgeOption = None,
    hct: HctOption = None,
    hct_min: HctMinOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing plan folder.")
    ] = False,
) -> None:
    """Plan a separation from the twins' scan(s) into a plan folder."""
    from twinsep.plan import PlanOptions, run_plan
    from twinsep.plan_options import require_given_files

    state = _state(ctx)
    with _guard(state):
        options = PlanOptions(
            scan_path=scan,
            mr_path=mr,
            series_uid=series,
            mr_series_uid=mr_series,
            twin_a_mm=_parse_point(twin_a),
            colour_a=colour_a,
            colour_b=colour_b,
            team_path=team,
            stages_path=stage_file,
            n_stages=stages,
            seed=seed,
            keep_phi=keep_phi,
            pdf=pdf,
            separation_date=separation_date,
            segmentation_path=segmentation,
            twin_map_path=twin_map,
            **_blood(weight_kg, age_months, hct, hct_min),
        )
        require_given_files(options)
        with _progress(state) as prog:
            run = run_plan(options, out, force=force, progress=prog)
        _emit(state, _plan_summary(run), lambda: _print_plan(run))


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Plan folder to create.")] = Path(
        "demo-plan"
    ),
    case: Annotated[
        str, typer.Option("--case", help="Built-in case (see 'twinsep demo --list').")
    ] = "vertical-II",
    list_cases: Annotated[bool, typer.Option("--list", help="List the built-in cases.")] = False,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write report.pdf.")] = False,
) -> None:
    """Plan a built-in case end to end, then print where to look (replaces OUT)."""
    from twinsep.cases import CASE_CACHE_DIR, available_cases, build_case
    from twinsep.plan import PlanOptions, run_plan

    state = _state(ctx)
    with _guard(state):
        if list_cases:
            cases = available_cases()
            listing = "\n".join(f"{k}: {v}" for k, v in cases.items())
            _emit(
                state,
                {"cases": cases},
                lambda: out_console.print(listing, soft_wrap=True, markup=False),
            )
            return
        scan_path = build_case(case, out.absolute().parent / CASE_CACHE_DIR)
        options = PlanOptions(scan_path=scan_path, pdf=pdf, case=case)
        with _progress(state) as prog:
            run = run_plan(options, out, force=True, progress=prog)
        _emit(state, _plan_summary(run), lambda: _print_plan(run))


@app.command()
def phantom(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Argument(help="Folder to write ct.nii.gz, labels, twins, truth.json."),
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="Phantom kind (see --list).")] = "vertical-II",
    size: Annotated[int, typer.Option("--size", help="Voxels along the longest axis.")] = 96,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    noise_hu: Annotated[
        float | None, typer.Option("--noise-hu", help="CT noise sigma in HU.")
    ] = None,
    no_contrast: Annotated[
        bool, typer.Option("--no-contrast", help="Vessels without contrast agent.")
    ] = False,
    dicom: Annotated[bool, typer.Option("--dicom", help="Write the CT as a DICOM series.")] = False,
    list_kinds: Annotated[bool, typer.Option("--list", help="List phantom kinds.")] = False,
) -> None:
    """Write a synthetic craniopagus CT with exact ground truth."""
    from twinsep.phantom import PHANTOM_KINDS, make_phantom, write_phantom

    state = _state(ctx)
    with _guard(state):
        if list_kinds:
            _emit(
                state,
                {"kinds": list(PHANTOM_KINDS)},
                lambda: out_console.print("\n".join(PHANTOM_KINDS)),
            )
            return
        if out is None:
            raise InputError("OUT", "missing: give the folder to write the phantom to")
        if kind not in PHANTOM_KINDS:
            raise InputError(
                "--kind", f"unknown phantom kind {kind!r}; choose one of {', '.join(PHANTOM_KINDS)}"
            )
        if not 24 <= size <= 1024:
            raise InputError("--size", f"{size} is not in 24..1024")
        kwargs: dict[str, Any] = {"size": size, "seed": seed, "contrast": not no_contrast}
        if noise_hu is not None:
            kwargs["noise_hu"] = noise_hu
        ph = make_phantom(kind, **kwargs)
        write_phantom(ph, out, dicom=dicom)
        summary = {"out": str(out), "truth": ph.truth.model_dump(mode="json")}
        _emit(state, summary, lambda: out_console.print(f"phantom {kind} written to {out}"))


@app.command()
def check(
    ctx: typer.Context,
    scan: Annotated[Path, typer.Argument(help="Scan to validate.")],
    series: Annotated[str | None, typer.Option("--series", help="DICOM SeriesInstanceUID.")] = None,
) -> None:
    """Validate a scan and describe it, or say exactly what is wrong (exit 2)."""
    from twinsep.io import describe_scan, load_scan

    state = _state(ctx)
    with _guard(state):
        s = load_scan(scan, series_uid=series)
        info = s.info.model_dump(mode="json")
        _emit(
            state,
            info,
            lambda: out_console.print(
                describe_scan(s), markup=False, highlight=False, soft_wrap=True
            ),
        )


#: ``--scan`` of the commands that re-run an existing plan.
ScanOption = Annotated[
    Path | None,
    typer.Option(
        "--scan",
        help="The plan's scan (a plan keeps only its file name): recompute what this twinsep "
        "computes otherwise. Without it, the plan's results are kept (after an update, with "
        "a warning).",
    ),
]

#: ``--mr`` of the commands that re-run an existing plan made with ``--mr``.
MrOption = Annotated[
    Path | None,
    typer.Option(
        "--mr",
        help="The plan's MR (if it was planned with --mr), when a stage that reads it must "
        "be recomputed.",
    ),
]


def _rerun(ctx: typer.Context, plan_dir: Path, **overrides: Any) -> None:
    """Re-run a plan folder with some options changed; print the summary."""
    from twinsep.plan import rerun_plan

    state = _state(ctx)
    with _guard(state):
        with _progress(state) as prog:
            run = rerun_plan(plan_dir, progress=prog, **overrides)
        _emit(state, _plan_summary(run), lambda: _print_plan(run))


@app.command()
def schedule(
    ctx: typer.Context,
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder.")],
    team: Annotated[
        Path | None, typer.Option("--team", help="team.yaml (default team if absent).")
    ] = None,
    scan: ScanOption = None,
    mr: MrOption = None,
    weight_kg: WeightOption = None,
    age_months: AgeOption = None,
    hct: HctOption = None,
    hct_min: HctMinOption = None,
) -> None:
    """Re-plan the operating-room choreography of a plan (other stages come from the cache)."""
    with _guard(_state(ctx)):
        blood = _blood(weight_kg, age_months, hct, hct_min)
    _rerun(ctx, plan_dir, team_path=team, scan_path=scan, mr_path=mr, **blood)


@app.command()
def report(
    ctx: typer.Context,
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder.")],
    pdf: Annotated[bool, typer.Option("--pdf", help="Also write report.pdf.")] = False,
    scan: ScanOption = None,
    mr: MrOption = None,
    weight_kg: WeightOption = None,
    age_months: AgeOption = None,
    hct: HctOption = None,
    hct_min: HctMinOption = None,
) -> None:
    """(Re)write the case report of a plan folder."""
    with _guard(_state(ctx)):
        blood = _blood(weight_kg, age_months, hct, hct_min)
    _rerun(ctx, plan_dir, pdf=pdf, scan_path=scan, mr_path=mr, **blood)


@app.command()
def rehearse(
    ctx: typer.Context,
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder.")],
    stage_file: Annotated[
        Path | None, typer.Option("--stage-file", help="Rehearse an edited stage list instead.")
    ] = None,
) -> None:
    """Step-by-step virtual mock surgery: what each stage divides and what still connects."""
    from twinsep.rehearse import rehearse_plan

    state = _state(ctx)
    with _guard(state):
        result = rehearse_plan(plan_dir, stages_path=stage_file)
        _emit(state, result.to_json(), lambda: out_console.print(result.describe(), markup=False))


@app.command()
def view(
    ctx: typer.Context,
    plan_dir: Annotated[Path, typer.Argument(help="Plan folder.")],
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free port).")] = 8765,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Loopback bind address (default 127.0.0.1; others are refused)."
        ),
    ] = None,
    scan: Annotated[
        Path | None,
        typer.Option(
            "--scan",
            help="The plan's CT, for the slice views (the plan keeps only "
            "its file name unless --keep-phi).",
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser.")
    ] = False,
) -> None:
    """Serve the local 3D / VR viewer of a plan on 127.0.0.1 (Ctrl-C stops it)."""
    from twinsep.viewer import serve

    state = _state(ctx)
    with _guard(state):
        serve(plan_dir, host=host, port=port, open_browser=not no_browser, scan_path=scan)


#: The root callback's flags: also accepted after the command (``twinsep plan CT --out D
#: --json``), where users type them; main() moves them in front of the command.
_GLOBAL_FLAGS = frozenset({"--quiet", "-q", "--json", "--debug"})


def hoist_global_flags(argv: list[str]) -> list[str]:
    """Move the global flags that follow the command in front of it.

    Parameters
    ----------
    argv : list of str
        Command-line arguments without the program name.

    Returns
    -------
    list of str
        The same arguments with every ``--quiet``/``-q``/``--json``/``--debug`` that
        stands after the command (and before a ``--`` end-of-options marker) moved ahead
        of the command, in their order. None of the commands has an option of these
        names, and none of them takes a value, so nothing else changes meaning.
    """
    command = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if command is None:
        return list(argv)
    head, rest = list(argv[:command]), list(argv[command:])
    end = rest.index("--") if "--" in rest else len(rest)
    moved = [a for a in rest[:end] if a in _GLOBAL_FLAGS]
    kept = [a for a in rest[:end] if a not in _GLOBAL_FLAGS] + rest[end:]
    return head + moved + kept


def main() -> None:
    """Console-script entry point.

    Global flags typed after the command are moved in front of it
    (:func:`hoist_global_flags`). OpenBLAS is held to one thread unless the user set ``OPENBLAS_NUM_THREADS``: the
    plan runs its own work on two threads and child processes (issue 10), and BLAS
    threads on top of them only wait for a busy core (a (4 M, 3) x (3, 3) world-coordinate
    product took 1.0-1.4 s with 2 OpenBLAS threads on the loaded 2-core host, 0.18 s
    with 1). Results are the same: OpenBLAS splits a product by rows and columns, never
    along the sums (every output of the 512 CT plan is byte-identical with 1 or 2
    threads). Set before numpy is first imported (the commands import it lazily).
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    app(args=hoist_global_flags(sys.argv[1:]))


if __name__ == "__main__":
    main()
