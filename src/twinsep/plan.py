"""The plan runner: runs the stages in order into a plan folder, with a cache.

Design (see ``docs/CONTRACTS.md`` and ``docs/PLAN-FOLDER.md``):

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
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import os
import pickle
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from twinsep import __version__
from twinsep.errors import InputError, OutputError
from twinsep.labels import DEFAULT_COLOUR_A, DEFAULT_COLOUR_B, hex_to_rgb

logger = logging.getLogger(__name__)

SCHEMA = "twinsep.plan/1"
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
CACHE_DIR = ".cache"
#: How the warning of a re-run that kept an earlier twinsep's results begins
#: (:class:`EarlierPlan`); made again by every re-run, so not carried over.
KEPT_PREFIX = "re-run: "
PLAN_JSON = "plan.json"
#: Names of the copies of the user's team and stage files kept in the plan folder.
TEAM_COPY = "team.yaml"
STAGE_FILE_COPY = "stage-file.yaml"

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

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view (paths as strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = (
                str(v) if isinstance(v, Path) else (list(v) if isinstance(v, tuple) else v)
            )
        return out


@dataclass(frozen=True)
class Stage:
    """One step of the pipeline.

    Parameters
    ----------
    name : str
        Short name, used for the cache and in ``plan.json`` timings.
    run : callable
        ``run(ctx) -> result``: pure, writes no files, returns a picklable result.
    write : callable
        ``write(result, ctx, out_dir) -> dict``: writes the stage's files into the plan
        work folder and returns the ``plan.json`` sections it owns.
    depends : tuple of str
        Stages whose results ``run`` reads.
    uses : tuple of str
        ``PlanOptions`` fields that ``run`` reads (they enter the cache key). ``"scan"``
        and ``"mr"`` mean the scans themselves (their checksums enter the key).
    params : object
        Frozen dataclass of tunable numbers, recorded in ``plan.json``.
    early : callable, optional
        ``early(ctx) -> job or None``: starts part of ``run`` ahead of time (e.g. in a
        child process) as soon as stage ``early_after`` has its result, when this stage
        is not cached; ``run`` takes the job from ``ctx.early_jobs`` (jobs not taken are
        stopped with ``job.cancel()`` when the plan ends). Must not change the result.
        A job with a ``stage_done(name, ctx)`` method is told of every later stage
        that has its result (e.g. to start the part that needs that result).
    early_after : str
        The stage after which ``early`` is called.
    prepare : callable, optional
        ``prepare(ctx) -> object or None``: readies what ``early`` will use (e.g. starts
        its child process, which imports its modules meanwhile) as soon as stage
        ``prepare_after`` has its result, when this stage is not cached; the object is
        in ``ctx.prepared`` under this stage's name for ``early`` to take (objects not
        taken are stopped with ``.cancel()`` when the plan ends). Must not change the
        result.
    prepare_after : str
        The stage after which ``prepare`` is called.
    """

    name: str
    run: Callable[[StageContext], Any]
    write: Callable[[Any, StageContext, Path], dict[str, Any]]
    depends: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    params: Any = None
    early: Callable[[StageContext], Any] | None = None
    early_after: str = ""
    prepare: Callable[[StageContext], Any] | None = None
    prepare_after: str = ""


class StageContext:
    """What a stage sees: options, scans (loaded lazily), earlier results, warnings."""

    def __init__(
        self,
        options: PlanOptions,
        *,
        results: dict[str, Any] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        self.options = options
        self.results: dict[str, Any] = dict(results or {})
        self.warnings: list[str] = []
        self.stage_name = ""
        self.params: Any = None
        self._progress = progress
        self._scan: Any = None
        self._mr: Any = None
        self._edited: Any = None
        #: plan.json sections written so far (read by the report stage).
        self.sections: dict[str, Any] = {}
        #: wall time (s) and peak memory (MB) of the stages run so far.
        self.timings_s: dict[str, float] = {}
        self.peak_rss_mb: dict[str, float] = {}
        self.input_info: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {}
        #: the cache key of each stage's result in this run (set by :func:`run_plan`).
        self.keys: dict[str, str] = {}
        #: the published plan folder this run replaces (a re-run, ``--force``), if any.
        self.previous_dir: Path | None = None
        #: jobs started by ``Stage.early`` for stages still to run, by stage name.
        self.early_jobs: dict[str, Any] = {}
        #: what ``Stage.prepare`` readied for the ``early`` of stages still to run.
        self.prepared: dict[str, Any] = {}
        #: the plan's background writer (set by :func:`run_plan`) and its pending writes.
        self._writer: ThreadPoolExecutor | None = None
        self._writes: list[Future[Any]] = []
        self._named_writes: dict[str, Future[Any]] = {}

    # scans -------------------------------------------------------------------
    @property
    def scan(self) -> Any:
        """The main scan as a :class:`twinsep.io.Scan`, loaded on first use."""
        if self._scan is None:
            from twinsep.io import load_scan

            self._require(Path(self.options.scan_path), "--scan", "scan")
            scan = load_scan(
                self.options.scan_path,
                series_uid=self.options.series_uid,
                keep_phi=self.options.keep_phi,
            )
            self._same_as_recorded(scan, "sha256", Path(self.options.scan_path), "scan")
            self._scan = scan
        return self._scan

    @property
    def mr(self) -> Any:
        """The optional MR scan, loaded on first use (None when not given)."""
        if self.options.mr_path is None:
            return None
        if self._mr is None:
            from twinsep.io import load_scan
            from twinsep.io.dicom import SeriesChoiceError

            self._require(Path(self.options.mr_path), "--mr", "MR")
            try:
                mr = load_scan(
                    self.options.mr_path,
                    series_uid=self.options.mr_series_uid,
                    modality="MR",  # the CT series of a CD holding both studies never count
                    keep_phi=self.options.keep_phi,
                )
            except SeriesChoiceError as exc:
                raise exc.for_option("--mr-series") from None
            self._same_as_recorded(mr, "mr_sha256", Path(self.options.mr_path), "MR")
            if mr.info.modality == "CT":
                # a CT given as the MR registers perfectly to the CT, and its bright bone
                # was then taken for venous signal (26 mL of "sinuses" on a phantom)
                how = (
                    "its value range looks like Hounsfield units"
                    if mr.info.modality_guessed
                    else "its DICOM modality is CT"
                )
                raise InputError(
                    self.options.mr_path,
                    f"--mr needs an MR, and this is a CT ({how}); give the CT as the scan "
                    "and the MR with --mr",
                )
            self._mr = mr
        return self._mr

    @property
    def edited(self) -> Any:
        """The user's segmentation (:class:`twinsep.interop.edited.EditedSegmentation`)
        placed on the scan's grid and checked, read on first use; None when not given."""
        if self.options.segmentation_path is None:
            return None
        if self._edited is None:
            from twinsep.interop.edited import read_edited_segmentation

            if self.input_info.get("segmentation"):
                # a re-run of an existing plan: say how to give the files again
                self._require(
                    Path(self.options.segmentation_path), "--segmentation", "segmentation"
                )
                if self.options.twin_map_path is not None:
                    self._require(Path(self.options.twin_map_path), "--twin-map", "twin map")
            edited = read_edited_segmentation(
                self.options.segmentation_path,
                self.scan.volume,
                twin_map=self.options.twin_map_path,
            )
            if not self.options.keep_phi:
                edited = _withhold_names(edited, self.scan)
            recorded = (self.input_info.get("segmentation") or {}).get("sha256")
            if recorded and recorded != edited.files[0].sha256:
                # a re-run of a plan whose cache keys hold the recorded checksum
                raise InputError(
                    self.options.segmentation_path,
                    "has changed since the plan was made; plan again with "
                    "'twinsep plan SCAN --segmentation FILE --out DIR --force'",
                )
            self._edited = edited
        return self._edited

    def _same_as_recorded(self, loaded: Any, key: str, path: Path, what: str) -> None:
        """Raise :class:`InputError` when a re-run reads a scan (``key``: ``"sha256"``
        or ``"mr_sha256"`` of the plan's ``input``) other than the one the plan was made
        from: the cache keys and plan.json hold the recorded checksum, so a stage
        recomputed from another scan would be filed under the plan's."""
        recorded = self.input_info.get(key)
        got = getattr(getattr(loaded, "info", None), "sha256", None)
        if recorded and got and got != recorded:
            raise InputError(
                path,
                f"is not the {what} this plan was made from (sha256 {got[:12]}..., the "
                f"plan's {recorded[:12]}...); give the plan's own {what}, or plan again "
                "with 'twinsep plan SCAN --out DIR --force'",
            )

    def _require(self, path: Path, option: str, what: str) -> None:
        """Raise :class:`InputError` when a scan that a stage must read again is not there
        (a plan keeps only its file name, or none when the name held patient identifiers);
        the message names the option that gives it."""
        stage = self.stage_name or "plan"
        if option in ("--segmentation", "--twin-map"):
            # not options of the re-run commands: the plan is made again with them
            how = (
                "plan again with 'twinsep plan SCAN --segmentation FILE [--twin-map FILE] "
                "--out DIR --force'"
            )
        else:
            how = f"give it with {option}, or plan again with 'twinsep plan SCAN --out DIR --force'"
        if is_withheld(path.name):
            # a PACS/CD folder named after the patient: its name was never recorded
            raise InputError(
                option,
                f"stage {stage} must be recomputed and needs the {what}, whose name the "
                f"plan does not keep (it held patient identifiers); {how}",
            )
        if not path.exists():
            raise InputError(
                path,
                f"stage {stage} must be recomputed and needs the {what}, which is not there "
                f"(a plan keeps only the {what}'s file name); {how}",
            )

    def previous_file(self, name: str) -> Path | None:
        """The file ``name`` of the plan folder this run replaces, when the running
        stage's result there is this run's (the same cache key in that plan's cache:
        the file was written from the same inputs); None otherwise. For a file a re-run
        cannot write again (``seg.dcm`` needs the source DICOM, which a plan does not
        keep)."""
        prev, key = self.previous_dir, self.keys.get(self.stage_name)
        if prev is None or key is None:
            return None
        if not (prev / CACHE_DIR / f"{self.stage_name}-{key}.pkl").is_file():
            return None
        path = prev / name
        return path if path.is_file() else None

    def set_scan(self, scan: Any) -> None:
        """Provide an already-loaded main scan (avoids loading it twice)."""
        self._scan = scan

    def set_mr(self, scan: Any) -> None:
        """Provide an already-loaded MR scan."""
        self._mr = scan

    # results -----------------------------------------------------------------
    def result(self, name: str) -> Any:
        """Result of an earlier stage.

        Raises
        ------
        KeyError
            If that stage has not run (or is not part of the pipeline).
        """
        if name not in self.results:
            raise KeyError(f"stage {name!r} has no result (ran: {sorted(self.results)})")
        return self.results[name]

    def has(self, name: str) -> bool:
        """True when stage ``name`` has a result."""
        return name in self.results

    def warn(self, text: str) -> None:
        """Record an assumption or doubt, in plain words, for ``plan.json`` warnings."""
        msg = " ".join(text.split())
        # INFO, not WARNING: every warning reaches plan.json, the report and the CLI summary.
        logger.info("%s: %s", self.stage_name or "plan", msg)
        self.warnings.append(f"{self.stage_name}: {msg}" if self.stage_name else msg)

    def plan_so_far(self) -> dict[str, Any]:
        """The ``plan.json`` document as it stands (used by the report stage)."""
        return assemble_plan(
            self.options,
            self.input_info,
            self.sections,
            self.warnings,
            self.timings_s,
            self.peak_rss_mb,
            self.parameters,
        )

    def defer_write(self, write: Callable[[], object], *, name: str | None = None) -> None:
        """Write a file of the plan in the background.

        ``write()`` runs on the plan's writer thread, in the order deferred, while the
        next stages compute (gzip and file writes release the GIL); it must only read
        results, which no stage modifies. :func:`run_plan` waits for every deferred
        write, and raises the first error, before ``plan.json`` is written and the
        plan folder published; a later stage that reads the file waits for it with
        :meth:`wait_written` (``name``: the file's name in the plan folder). Without a
        writer (a context made outside :func:`run_plan`) ``write()`` runs here and now.
        """
        if self._writer is None:
            write()
            return
        fut = self._writer.submit(write)
        self._writes.append(fut)
        if name is not None:
            self._named_writes[name] = fut

    def wait_written(self, name: str) -> None:
        """Wait until the deferred write of file ``name`` (if any) has ended; its error,
        if it failed, is raised."""
        fut = self._named_writes.get(name)
        if fut is not None:
            fut.result()

    def finish_writes(self, *, raise_errors: bool = True) -> None:
        """Wait for the deferred writes (:meth:`defer_write`); the first error is raised
        once all have ended, unless ``raise_errors`` is False."""
        errors = []
        for fut in self._writes:
            exc = fut.exception()
            if exc is not None:
                errors.append(exc)
        self._writes.clear()
        self._named_writes.clear()
        if errors and raise_errors:
            raise errors[0]

    def progress(self, fraction: float, text: str = "") -> None:
        """Report progress of the running stage (0..1)."""
        if self._progress is not None:
            self._progress(self.stage_name, max(0.0, min(1.0, fraction)), text)


def defer_write(ctx: Any, write: Callable[[], object], *, name: str | None = None) -> None:
    """``ctx.defer_write(write, name=name)`` (:meth:`StageContext.defer_write`), or
    ``write()`` now for a context without a writer (a stage's ``write`` called on its
    own)."""
    defer = getattr(ctx, "defer_write", None)
    if defer is None:
        write()
    else:
        defer(write, name=name)


def wait_written(ctx: Any, name: str) -> None:
    """``ctx.wait_written(name)`` (:meth:`StageContext.wait_written`); nothing for a
    context without deferred writes."""
    wait = getattr(ctx, "wait_written", None)
    if wait is not None:
        wait(name)


def _pipeline() -> list[Stage]:
    """The stages in order. Modules are imported here so that ``plan`` stays light."""
    from twinsep import stages

    return stages.pipeline()


# ----------------------------------------------------------------------------
# hashing and cache
# ----------------------------------------------------------------------------
def _stable(obj: Any) -> Any:
    """Convert parameters/options to a JSON-stable structure for hashing."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _stable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _stable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_stable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return obj.tolist()
    if hasattr(obj, "value") and hasattr(obj, "name"):  # enums
        return obj.value
    return obj


def params_to_json(params: Any) -> Any:
    """JSON-ready view of a stage's parameter dataclass (None stays None)."""
    if params is None:
        return None
    return json.loads(json.dumps(_stable(params), default=str))


def _file_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (sorted by relative path)."""
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(str(p.relative_to(path)).encode())
            h.update(_file_digest(p).encode())
        return h.hexdigest()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _segmentation_digest(input_info: dict[str, Any]) -> str | None:
    """Checksum of the user's segmentation and twin map (``input.segmentation``), or None
    for a plan made without them."""
    seg = input_info.get("segmentation")
    if not seg:
        return None
    twin_map = seg.get("twin_map") or {}
    return hashlib.sha256(f"{seg['sha256']}:{twin_map.get('sha256', '')}".encode()).hexdigest()


def _team_digest(options: PlanOptions) -> str | None:
    return None if options.team_path is None else _file_digest(options.team_path)


@functools.cache
def code_digest() -> str:
    """sha256 of twinsep's own source files (relative path and bytes, sorted by path).

    Part of every cache key: the package version alone is not bumped for every change,
    so a plan re-run after an update (or on another checkout) would reuse results that
    older code computed. Read once per process (~140 small files, a few ms).
    """
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def stage_key(
    stage: Stage, options: PlanOptions, digests: dict[str, str | None], dep_keys: dict[str, str]
) -> str:
    """Cache key of a stage: hash of everything its result depends on (the inputs, the
    package version and source code, the stage's parameters and options, and the keys of
    the stages it depends on)."""
    payload = {
        "stage": stage.name,
        "version": __version__,
        "code": code_digest(),
        "params": _stable(stage.params),
        "deps": {d: dep_keys[d] for d in stage.depends},
        # Every result is about one scan: its checksum always enters the key.
        "scan": digests.get("scan"),
        "uses": {},
    }
    for u in stage.uses:
        if u in ("scan", "mr"):
            payload["uses"][u] = digests.get(u)
        elif u == "team_path":
            payload["uses"][u] = digests.get("team")
        elif u == "stages_path":
            payload["uses"][u] = digests.get("stages")
        elif u in ("segmentation_path", "twin_map_path"):
            # the files' checksums (the file and its twin map), not their paths
            payload["uses"][u] = digests.get("segmentation")
        else:
            payload["uses"][u] = _stable(getattr(options, u))
    blob = json.dumps(payload, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def _cache_load(cache_dir: Path, name: str, key: str) -> Any | None:
    path = cache_dir / f"{name}-{key}.pkl"
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)  # noqa: S301 - our own cache files
        logger.debug("cache hit %s", path.name)
        return payload
    except Exception as exc:  # a damaged cache entry is recomputed
        logger.warning("ignoring damaged cache entry %s (%s)", path.name, exc)
        return None


def _cache_store(cache_dir: Path, name: str, key: str, payload: Any) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    for old in cache_dir.glob(f"{name}-*.pkl"):
        if old.name != f"{name}-{key}.pkl":
            old.unlink(missing_ok=True)
    tmp = cache_dir / f".{name}-{key}.pkl.tmp{os.getpid()}"
    with open(tmp, "wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, cache_dir / f"{name}-{key}.pkl")


# ----------------------------------------------------------------------------
# memory sampling
# ----------------------------------------------------------------------------
def _statm_pages(pid: str) -> int:
    """Resident pages of one process (0 when it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _child_pids(pid: str) -> list[str]:
    """Direct children of a process, from each of its threads' ``children`` list."""
    out: list[str] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += fh.read().split()
        except OSError:
            continue
    return out


def _rss_mb() -> float:
    """Current resident memory of this process and its descendants in MB (0 when unknown).

    Stages may hand work to child processes (``Stage.early``, ``twinsep.child``) that run
    beside the parent, so the plan's memory is the sum over the process tree.
    """
    total, todo, seen = 0, ["self"], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _statm_pages(pid)
        todo += _child_pids(pid)
    return total * os.sysconf("SC_PAGE_SIZE") / 1e6


class _PeakSampler:
    """Samples resident memory every ``interval_s`` in a thread; keeps the peak."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak_mb = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_mb = max(self.peak_mb, _rss_mb())

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_mb())


# ----------------------------------------------------------------------------
# the runner
# ----------------------------------------------------------------------------
@dataclass
class PlanRun:
    """What :func:`run_plan` did (returned to the CLI)."""

    out_dir: Path
    plan: dict[str, Any]
    cached: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    #: stages whose result an earlier twinsep computed, kept by a re-run (:class:`EarlierPlan`)
    kept: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EarlierPlan:
    """The plan folder a re-run (``twinsep schedule/report DIR``) starts from.

    A stage whose inputs the re-run does not change keeps the plan's own result when
    this twinsep's code differs from the code that made it (every cache key holds the
    code's digest): re-rendering the report or re-scheduling must not need the scan,
    which a plan does not keep (docs/DECISIONS.md, "A re-run after twinsep changed").

    Attributes
    ----------
    options : PlanOptions
        The options the plan was made with (:func:`options_from_plan` without overrides).
    keys : dict
        The cache key of each stage's result in the plan (plan.json ``cache.keys``);
        empty for a plan made before they were recorded (then the one result of each
        stage in the plan's cache is the plan's).
    version : str
        The version of the twinsep that made the kept results.
    """

    options: PlanOptions
    keys: dict[str, str]
    version: str


def _plan_key(plan_dir: Path, name: str, recorded: str | None) -> str | None:
    """The key of stage ``name``'s result in the cache of the published plan
    ``plan_dir``: ``recorded`` (plan.json ``cache.keys``) when its entry is there, else,
    for a plan that recorded none, the stage's only entry (a finished plan holds one per
    stage); None otherwise."""
    cache = plan_dir / CACHE_DIR
    if recorded is not None:
        return recorded if (cache / f"{name}-{recorded}.pkl").is_file() else None
    found = [q.stem[len(name) + 1 :] for q in cache.glob(f"{name}-*.pkl")]
    found = [k for k in found if len(k) == 24 and "-" not in k]
    return found[0] if len(found) == 1 else None


def _kept_warning(kept: Sequence[str], version: str) -> str:
    """The plan's warning when a re-run kept results of an earlier twinsep."""
    return (
        f"{KEPT_PREFIX}the results of {', '.join(kept)} are those of the twinsep that made "
        f"this plan (version {version}; this twinsep's code differs), kept as they were: "
        "recomputing them would need the scan. The other stages and the plan's files "
        "(report.html, the schedule, the models) were made by this twinsep from them, so "
        "the plan mixes two versions of twinsep; to recompute it wholly with this one, "
        "give the scan (--scan SCAN) or plan again with 'twinsep plan SCAN --out DIR --force'"
    )


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


def _plan_keys(
    stage_list: Sequence[Stage],
    options: PlanOptions,
    digests: dict[str, str | None],
    earlier: EarlierPlan | None,
    out_dir: Path,
    cache_dir: Path,
) -> tuple[dict[str, str], list[str]]:
    """The cache key of every stage's result in this run, and the stages that keep the
    result of an earlier twinsep (:class:`EarlierPlan`).

    A stage is kept when the re-run does not change what it reads (its key under
    ``earlier.options`` is its key under ``options``), this twinsep has no result for it,
    and the plan's cache holds one; it then keeps that result's key, and the keys of the
    stages after it hold that key (a result computed from a kept one is never taken for
    one computed from this twinsep's own).
    """
    keys: dict[str, str] = {}
    kept: list[str] = []
    if earlier is not None:
        before = dict(digests)
        # the plan's copies of its team and stage files (None when gone)
        team, stage_file = earlier.options.team_path, earlier.options.stages_path
        before["team"] = _file_digest(team) if team and Path(team).is_file() else None
        before["stages"] = (
            _file_digest(stage_file) if stage_file and Path(stage_file).is_file() else None
        )
    now: dict[str, str] = {}
    then: dict[str, str] = {}
    for s in stage_list:  # a key depends on definitions only, not on results
        key = stage_key(s, options, digests, keys)
        if earlier is not None:
            now[s.name] = stage_key(s, options, digests, now)
            then[s.name] = stage_key(s, earlier.options, before, then)
            if now[s.name] == then[s.name] and not (cache_dir / f"{s.name}-{key}.pkl").is_file():
                old = _plan_key(out_dir, s.name, earlier.keys.get(s.name))
                if old is not None:
                    key = old
                    kept.append(s.name)
        keys[s.name] = key
    return keys, kept


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
    except InputError:
        # Bad input discovered by a stage: nothing of this attempt is kept.
        ctx.finish_writes(raise_errors=False)
        shutil.rmtree(work, ignore_errors=True)
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
    return Path(str(path)).name


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
        input_section["path"] = scan_display_name(
            str(info.get("path", "")),
            names_patient=bool(info.get("path_names_patient")),
            keep_phi=False,
        )
    opts = options.to_json()
    if options.team_path is not None:
        opts["team_path"] = TEAM_COPY
    if options.stages_path is not None:
        opts["stages_path"] = STAGE_FILE_COPY
    if not options.keep_phi:
        for k in PATH_OPTIONS:
            if opts.get(k):
                opts[k] = Path(opts[k]).name
        # a scan or MR folder named after the patient (PACS/CD export) is withheld
        for k, flag in (("scan_path", "path_names_patient"), ("mr_path", "mr_path_names_patient")):
            if opts.get(k) and info.get(flag):
                opts[k] = WITHHELD_PATH
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
    if raw.get("twin_a_mm") is not None:
        raw["twin_a_mm"] = tuple(float(v) for v in raw["twin_a_mm"])
    known = {f.name for f in dataclasses.fields(PlanOptions)}
    return PlanOptions(**{k: v for k, v in raw.items() if k in known})


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
