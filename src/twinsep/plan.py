"""The plan runner: runs the stages in order into a plan folder, with a cache.

Design (see ``docs/CONTRACTS.md``, the plan folder in the shared ``DESIGN.md`` and
``docs/DECISIONS.md`` "Plan folder and runs"):

* a stage is a pure function of the scan(s), earlier stage results, the options it
  declares in ``uses`` and its frozen parameter dataclass;
* each result is cached in ``.cache/<stage>-<key>.pkl`` where ``key`` hashes the input
  checksums, the package version and a digest of its source code, the stage's
  parameters, the options it uses and the keys of the stages it depends on, so a re-run
  recomputes only what changed (an updated twinsep recomputes everything) and a run
  killed half-way resumes where it stopped;
* all files go first into a hidden work folder beside the plan folder
  (``.<name>.twinsep-work``); only when every stage has succeeded is it renamed to the
  plan folder, so a failure never leaves a half-written plan. The work folder keeps the
  cache of a crashed run for the next attempt.

The runner's parts, each in its own module (their names are re-exported here, so
``from twinsep.plan import ...`` keeps working):

* :mod:`twinsep.plan_options` - the user's choices (:class:`PlanOptions`);
* :mod:`twinsep.plan_context` - what a stage is and sees (:class:`Stage`,
  :class:`StageContext`);
* :mod:`twinsep.plan_cache` - cache keys (:func:`stage_key`) and the result cache;
* :mod:`twinsep.plan_rerun` - a re-run's earlier plan and the results it keeps;
* :mod:`twinsep.plan_json` - the ``plan.json`` document: assembly and reading;
* :mod:`twinsep.plan_names` - names of the user's files that hold patient identifiers;
* :mod:`twinsep.plan_memory` - peak memory of a stage.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinsep.errors import InputError, OutputError
from twinsep.plan_cache import (
    CACHE_DIR,
    _cache_load,
    _cache_store,
    _file_digest,
    _segmentation_digest,
    _team_digest,
    params_to_json,
)
from twinsep.plan_cache import code_digest as code_digest
from twinsep.plan_cache import stage_key as stage_key
from twinsep.plan_context import Stage, StageContext
from twinsep.plan_context import defer_write as defer_write
from twinsep.plan_context import wait_written as wait_written
from twinsep.plan_json import (
    PLAN_JSON,
    STAGE_FILE_COPY,
    TEAM_COPY,
    assemble_plan,
    options_from_plan,
    read_plan,
)
from twinsep.plan_json import SCHEMA as SCHEMA
from twinsep.plan_memory import _PeakSampler
from twinsep.plan_memory import _rss_mb as _rss_mb
from twinsep.plan_names import WITHHELD_NOTE as WITHHELD_NOTE
from twinsep.plan_names import WITHHELD_PATH as WITHHELD_PATH
from twinsep.plan_names import is_withheld as is_withheld
from twinsep.plan_names import name_as_given, names_patient
from twinsep.plan_names import records_names as records_names
from twinsep.plan_names import scan_display_name as scan_display_name
from twinsep.plan_names import unrecorded_name as unrecorded_name
from twinsep.plan_names import withheld_name as withheld_name
from twinsep.plan_options import PATH_OPTIONS as PATH_OPTIONS
from twinsep.plan_options import PlanOptions, ProgressFn
from twinsep.plan_rerun import KEPT_PREFIX, EarlierPlan, _kept_warning, _plan_keys

logger = logging.getLogger(__name__)


def _pipeline() -> list[Stage]:
    """The stages in order. Modules are imported here so that ``plan`` stays light."""
    from twinsep import stages

    return stages.pipeline()


@dataclass
class PlanRun:
    """What :func:`run_plan` did (returned to the CLI)."""

    out_dir: Path
    plan: dict[str, Any]
    cached: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    #: stages whose result an earlier twinsep computed, kept by a re-run (:class:`EarlierPlan`)
    kept: list[str] = field(default_factory=list)


def work_dir_for(out_dir: Path) -> Path:
    """Hidden work folder used while a plan is being made."""
    out_dir = out_dir.absolute()
    return out_dir.parent / f".{out_dir.name}.twinsep-work"


def _check_output(out_dir: Path, force: bool) -> None:
    out_dir = out_dir.absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(out_dir, "exists and is not a folder; choose another --out")
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / PLAN_JSON).is_file():
            raise OutputError(
                out_dir,
                "exists, is not empty and is not a twinsep plan; choose an empty or new folder",
            )
        if not force:
            raise OutputError(out_dir, "already holds a plan; add --force to replace it")
    parent = out_dir.parent
    if not parent.exists():
        raise OutputError(out_dir, f"parent folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(out_dir, f"parent folder {parent} is not writable")


def _seed_cache(work: Path, out_dir: Path) -> None:
    """Reuse the cache of an existing finished plan, if any."""
    src = out_dir / CACHE_DIR
    dst = work / CACHE_DIR
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        for p in src.glob("*.pkl"):
            target = dst / p.name
            if not target.exists():
                try:
                    os.link(p, target)
                except OSError:
                    shutil.copy2(p, target)


def _publish(work: Path, out_dir: Path) -> None:
    """Atomically replace ``out_dir`` with the finished ``work`` folder."""
    out_dir = out_dir.absolute()
    trash = out_dir.parent / f".{out_dir.name}.twinsep-old"
    if trash.exists():
        shutil.rmtree(trash)
    if out_dir.exists():
        os.replace(out_dir, trash)
    os.replace(work, out_dir)
    if trash.exists():
        shutil.rmtree(trash, ignore_errors=True)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run_plan(
    options: PlanOptions,
    out_dir: Path,
    *,
    force: bool = False,
    stages: Sequence[Stage] | None = None,
    progress: ProgressFn | None = None,
    scan: Any = None,
    input_info: dict[str, Any] | None = None,
    earlier: EarlierPlan | None = None,
) -> PlanRun:
    """Run the pipeline into ``out_dir``.

    Stages run on two threads and child processes; the ``twinsep`` command also holds
    OpenBLAS to one thread (``twinsep.cli.main``), which a library caller gets by setting
    ``OPENBLAS_NUM_THREADS=1`` before numpy is first imported (same results, less
    waiting for a busy core on two cores).

    Parameters
    ----------
    options : PlanOptions
        The user's choices.
    out_dir : Path
        Plan folder to create (or replace with ``force``).
    force : bool
        Replace an existing plan folder (its cache is reused).
    stages : sequence of Stage, optional
        The pipeline (default: every stage twinsep has).
    progress : callable, optional
        ``progress(stage, fraction, text)``.
    scan : Scan, optional
        The main scan when already loaded (it is validated first either way).
    input_info : dict, optional
        The ``input`` section of an existing plan: re-run without reading the scan
        (stages whose cached result is valid do not need it; the others load it).
    earlier : EarlierPlan, optional
        The existing plan of a re-run in ``out_dir``: a stage whose key under
        ``earlier.options`` is its key under ``options`` (the re-run does not change
        its inputs) and which has no result of this twinsep's code keeps the plan's
        result, with a warning (:attr:`PlanRun.kept`).

    Returns
    -------
    PlanRun

    Raises
    ------
    InputError
        Bad scan, options, stage or team file, or unusable output folder. Nothing is
        written in that case.
    """
    out_dir = Path(out_dir).absolute()
    _check_output(out_dir, force)
    mr_digest: str | None = None
    mr_names_patient = False
    mr_warnings: list[str] = []
    stage_list = list(stages) if stages is not None else _pipeline()
    names = [s.name for s in stage_list]
    for s in stage_list:
        missing = [d for d in s.depends if d not in names[: names.index(s.name)]]
        if missing:
            raise ValueError(f"stage {s.name!r} depends on {missing}, which do not run before it")

    ctx = StageContext(options, progress=progress)
    if input_info is None:
        # Validate the input before anything is written: a bad scan leaves no trace.
        if scan is None:
            scan = ctx.scan
        ctx.set_scan(scan)
        input_info = scan.info.model_dump(mode="json")
        if options.mr_path is not None:
            ctx.mr  # noqa: B018 - validate now, before writing
            mr_digest = ctx.mr.info.sha256
            # each name is checked against both scans' identifiers: a CT from PACS and
            # an MR converted to NIfTI under the patient's name
            mr_names_patient = ctx.mr.info.path_names_patient or names_patient(
                scan, options.mr_path
            )
            if names_patient(ctx.mr, options.scan_path):
                input_info["path_names_patient"] = True
            # what the loader noted about the MR (which series of a study, slice gaps,
            # a guessed modality...) reaches plan.json as the CT's notes do
            mr_warnings = [f"MR: {w}" for w in ctx.mr.info.warnings]
        if options.segmentation_path is not None:
            for option, given in (
                ("--segmentation", options.segmentation_path),
                ("--twin-map", options.twin_map_path),
            ):
                if given is not None and out_dir in Path(given).absolute().parents:
                    # --force replaces that folder: the user's file would be lost
                    raise InputError(
                        given,
                        f"lies in the plan folder {out_dir.name}, which this plan replaces: "
                        f"copy it out of there and give the copy with {option}, or plan "
                        "into another folder",
                    )
            edited = ctx.edited  # read and checked now, before writing
            if edited.twins is not None and options.twin_a_mm is not None:
                raise InputError(
                    "--twin-a",
                    f"the twins come from {Path(options.segmentation_path).name}, which says "
                    "which twin is A: leave --twin-a out (or give tissues only)",
                )
            input_info = {**input_info, "segmentation": edited.provenance()}
    else:
        mr_digest = input_info.get("mr_sha256")
        mr_names_patient = bool(input_info.get("mr_path_names_patient"))
    for label, p in (("--team", options.team_path), ("--stage-file", options.stages_path)):
        if p is not None and not Path(p).is_file():
            raise InputError(p, f"{label} file does not exist")
    digests: dict[str, str | None] = {
        "scan": input_info["sha256"],
        "mr": mr_digest if options.mr_path is not None else None,
        "team": _team_digest(options) if options.team_path else None,
        "stages": _file_digest(options.stages_path) if options.stages_path else None,
        "segmentation": _segmentation_digest(input_info)
        if options.segmentation_path is not None
        else None,
    }
    if digests["mr"]:
        input_info = {
            **input_info,
            "mr_sha256": digests["mr"],
            "mr_path_names_patient": mr_names_patient,
            "mr_warnings": mr_warnings,
        }

    work = work_dir_for(out_dir)
    work.mkdir(parents=True, exist_ok=True)
    _seed_cache(work, out_dir)
    # The plan keeps a copy of the team and stage files it used, so that a re-run
    # (``twinsep schedule/report DIR``) finds them wherever the originals went.
    for src, name in ((options.team_path, TEAM_COPY), (options.stages_path, STAGE_FILE_COPY)):
        if src is not None and Path(src).absolute() != (work / name).absolute():
            shutil.copyfile(src, work / name)
    cache_dir = work / CACHE_DIR

    keys, keepable = _plan_keys(stage_list, options, digests, earlier, out_dir, cache_dir)
    ctx.keys = dict(keys)
    ctx.previous_dir = out_dir if (out_dir / PLAN_JSON).is_file() else None
    timings = ctx.timings_s
    peaks = ctx.peak_rss_mb
    sections = ctx.sections
    parameters = ctx.parameters
    ctx.input_info = input_info
    run_info = PlanRun(out_dir=out_dir, plan={})
    if keepable:
        assert earlier is not None
        ctx.warnings.append(_kept_warning(keepable, earlier.version))
    # Cache entries and the large files of a stage (label maps) are written on one
    # background thread while the next stages run; all are done before plan.json.
    ctx._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twinsep-write")
    try:
        for stage in stage_list:
            key = keys[stage.name]
            ctx.stage_name = stage.name
            ctx.params = stage.params
            parameters[stage.name] = params_to_json(stage.params)
            t0 = time.perf_counter()
            with _PeakSampler() as sampler:
                cached = _cache_load(cache_dir, stage.name, key)
                if cached is None and stage.name in keepable:
                    raise InputError(
                        out_dir,
                        f"the result of stage {stage.name} that the twinsep which made this "
                        "plan computed cannot be read by this twinsep; recompute the plan: "
                        "give the scan with --scan, or plan again with 'twinsep plan SCAN "
                        "--out DIR --force'",
                    )
                if cached is not None:
                    result, stage_warnings = cached
                    ctx.warnings.extend(stage_warnings)
                    (run_info.kept if stage.name in keepable else run_info.cached).append(
                        stage.name
                    )
                else:
                    n_before = len(ctx.warnings)
                    ctx.progress(0.0, "starting")
                    result = stage.run(ctx)
                    stage_warnings = ctx.warnings[n_before:]
                    ctx.defer_write(
                        functools.partial(
                            _cache_store, cache_dir, stage.name, key, (result, stage_warnings)
                        )
                    )
                    run_info.computed.append(stage.name)
                ctx.results[stage.name] = result
                _start_early(stage_list, stage.name, ctx, cache_dir, keys)
                sections.update(stage.write(result, ctx, work))
                ctx.progress(1.0, "done")
            timings[stage.name] = round(time.perf_counter() - t0, 3)
            peaks[stage.name] = round(sampler.peak_mb, 1)
            logger.debug(
                "stage %s: %.2f s, peak %.0f MB", stage.name, timings[stage.name], peaks[stage.name]
            )
        ctx.stage_name = ""
        ctx.finish_writes()
        plan = assemble_plan(
            options,
            input_info,
            sections,
            ctx.warnings,
            timings,
            peaks,
            parameters,
        )
        plan["cache"] = {"keys": dict(keys)}
        if run_info.kept:
            assert earlier is not None
            plan["cache"]["kept"] = {"stages": run_info.kept, "version": earlier.version}
        _write_json_atomic(work / PLAN_JSON, plan)
        _publish(work, out_dir)
    except InputError as exc:
        # Bad input discovered by a stage: nothing of this attempt is kept.
        ctx.finish_writes(raise_errors=False)
        shutil.rmtree(work, ignore_errors=True)
        name_as_given(exc, options)
        raise
    except Exception as exc:
        if not run_info.kept:
            raise
        # results of an earlier twinsep that this one cannot use (a class changed):
        # the plan must be recomputed, which needs the scan
        ctx.finish_writes(raise_errors=False)
        shutil.rmtree(work, ignore_errors=True)
        raise InputError(
            out_dir,
            f"stage {ctx.stage_name or 'plan'} cannot use the results of "
            f"{', '.join(run_info.kept)} that the twinsep which made this plan computed "
            f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); recompute the "
            "plan with this twinsep: give the scan with --scan, or plan again with "
            "'twinsep plan SCAN --out DIR --force'",
        ) from exc
    finally:
        ctx._writer.shutdown(wait=True)
        ctx._writer = None
        for job in [*ctx.early_jobs.values(), *ctx.prepared.values()]:
            job.cancel()
        ctx.early_jobs.clear()
        ctx.prepared.clear()
    run_info.plan = plan
    return run_info


def _start_early(
    stage_list: Sequence[Stage], done: str, ctx: StageContext, cache_dir: Path, keys: dict[str, str]
) -> None:
    """Tell the early jobs running that stage ``done`` has its result (their optional
    ``stage_done(done, ctx)``), then call ``prepare`` and ``early`` of the stages waiting
    for ``done`` that are not cached."""
    for running in list(ctx.early_jobs.values()):
        hook = getattr(running, "stage_done", None)
        if hook is not None:
            hook(done, ctx)
    for s in stage_list:
        hooks = (
            (s.prepare, s.prepare_after, ctx.prepared),
            (s.early, s.early_after, ctx.early_jobs),
        )
        for hook_fn, after, started in hooks:
            if hook_fn is None or after != done or s.name in ctx.results:
                continue
            if (cache_dir / f"{s.name}-{keys[s.name]}.pkl").is_file():
                continue
            job = hook_fn(ctx)
            if job is not None:
                started[s.name] = job


def loader_warnings(plan: dict[str, Any]) -> list[str]:
    """The warnings of an existing plan that came from loading its scan(s).

    Stage warnings carry their stage's name (``"segment: ..."``, :meth:`StageContext.warn`);
    the loaders' do not. A re-run keeps these (its stages' warnings are made again), so
    which series of a study was loaded, slice gaps, a guessed modality... are not lost.
    """
    prefixes = (*(f"{stage.name}: " for stage in _pipeline()), KEPT_PREFIX)
    return [w for w in plan.get("warnings") or [] if not w.startswith(prefixes)]


def rerun_plan(
    plan_dir: Path,
    *,
    progress: ProgressFn | None = None,
    **overrides: Any,
) -> PlanRun:
    """Re-run an existing plan in place with some options changed (e.g. ``team_path``).

    Stages whose inputs did not change come from the cache; the scan is read again only
    when a stage that needs it must be recomputed (its path is kept in the plan only
    with ``--keep-phi``; otherwise pass ``scan_path``).
    """
    plan_dir = Path(plan_dir).absolute()
    plan = read_plan(plan_dir)
    if overrides.get("mr_path") is not None and not (plan.get("options") or {}).get("mr_path"):
        # an MR added on a re-run would silently change the plan's modality
        raise InputError(
            overrides["mr_path"],
            "this plan was made without an MR, so --mr here would change it; plan again "
            "with 'twinsep plan SCAN --mr MR --out DIR --force'",
        )
    options = options_from_plan(plan, plan_dir, **overrides)
    info = dict(plan["input"])
    info["warnings"] = loader_warnings(plan)
    earlier = None
    if overrides.get("scan_path") is None:
        # without the scan, results of an earlier twinsep are kept (a scan given means
        # "recompute what must be": the whole plan, after an update)
        kept = (plan.get("cache") or {}).get("kept") or {}
        earlier = EarlierPlan(
            options=options_from_plan(plan, plan_dir),
            keys=dict((plan.get("cache") or {}).get("keys") or {}),
            version=str(kept.get("version") or plan.get("version") or "unknown"),
        )
    return run_plan(
        options, plan_dir, force=True, progress=progress, input_info=info, earlier=earlier
    )
