"""What a stage is (:class:`Stage`) and what it sees while it runs (:class:`StageContext`:
the options, the scans loaded on first use, earlier results, warnings and the plan's
deferred writes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinsep.errors import InputError
from twinsep.plan_cache import CACHE_DIR
from twinsep.plan_json import assemble_plan
from twinsep.plan_names import WITHHELD_NOTE, _withhold_names, is_withheld
from twinsep.plan_options import PlanOptions, ProgressFn

logger = logging.getLogger(__name__)


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
        (a plan keeps its path only with ``--keep-phi``, else a neutral name);
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
            # a plan made without --keep-phi records no input file's name
            why = (
                "it held patient identifiers"
                if path.name.endswith(WITHHELD_NOTE)
                else "names of input files are recorded only with --keep-phi"
            )
            raise InputError(
                option,
                f"stage {stage} must be recomputed and needs the {what}, whose name the "
                f"plan does not keep ({why}); {how}",
            )
        if not path.exists():
            raise InputError(
                path,
                f"stage {stage} must be recomputed and needs the {what}, which is not there; {how}",
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
