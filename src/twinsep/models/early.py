"""The meshes of the ``models`` stage, started early (issue 10).

The part meshes read only the tissue labels and the twins as the min-cut refines them
(``CutResult.twins``, which the ``separate`` stage hands on unchanged); the
separation-stage meshes and the doll also read the stage numbers of the cut, known
when ``separate`` ends; only the expander and template meshes come from
``reconstruct``. On a large scan the meshes are therefore made ahead of the stage
(the plan runner's ``Stage.early``, started once ``twins`` has its result):

* the part meshes, the bulk of the work, follow the min-cut in its child process
  (:meth:`twinsep.child.ChildJob.then`): they start the moment the cut is found, while
  ``fusion`` ends and ``separate`` runs, on the labels and twins the child already
  holds (no second interpreter, nothing sent again);
* the separation-stage meshes and the doll are made in a thread of the plan once
  ``separate`` has its result (the runner calls :meth:`EarlyModels.stage_done`), while
  ``reconstruct`` runs;
* when the min-cut has no child (``separate`` cached, or the cut made in the stage),
  the whole :func:`build_models` is started in a child process once ``separate`` has
  its result, as before.

The ``models`` stage takes the :class:`ModelSet` and adds the reconstruction meshes.
Every piece is made by the same code on equal copies of the arrays, so the meshes are
those the stage would make; when a child fails, or the min-cut's result was not the
one the stage used, the stage makes that piece itself.

Grids too small for the min-cut's child (``separate.early.EARLY_MIN_VOXELS``) but of
at least ``EARLY_MIN_VOXELS`` here (Colin27 real-vertical, 5.3 M voxels) get the whole
:func:`build_models` in a child once ``separate`` has its result: ``reconstruct``, which
runs meanwhile, is one thread, so on two cores the meshing (6 s of CPU there,
fast-simplification holding the GIL for half of it) has a free core. Smaller scans (the
tests' 96^3) are meshed in the stage: the process start (1.4 s of CPU: spawn and the
meshing modules' imports) costs more than it can save.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from twinsep.child import ChildJob, start_child
from twinsep.errors import InputError
from twinsep.models.build import PartMesh, stage_meshes, twin_structure_meshes
from twinsep.models.doll import Doll
from twinsep.models.params import ModelParams
from twinsep.models.stage import ModelSet, _doll_or_none, build_models
from twinsep.models.surface import Mesh
from twinsep.volume import Volume

if TYPE_CHECKING:
    from twinsep.separate.mincut import CutResult

logger = logging.getLogger(__name__)

#: Grids of at least this many voxels get their meshes started early in a child
#: process (the process start costs about 1.4 s of CPU, the arrays pickled both ways
#: little at this size; below it the meshes take a few seconds, not worth a process).
#: Does not change any result. Was 20 M (the min-cut's threshold) until session 27.
EARLY_MIN_VOXELS = 4_000_000


def _build(
    labels: Volume,
    twins: Volume,
    cut: Volume | None,
    colours: dict[str, str],
    params: ModelParams,
) -> ModelSet:
    """:func:`build_models` without reconstruction meshes (run in the child)."""
    return build_models(labels, twins, cut=cut, reconstruction=(), colours=colours, params=params)


def _parts_after_cut(
    cut: CutResult,
    labels: Volume,
    twins: Volume,
    *,
    colours: dict[str, str],
    params: ModelParams,
) -> list[PartMesh]:
    """The part meshes of the twins refined by ``cut`` (run in the min-cut's child,
    after the cut: ``labels`` and ``twins`` are the min-cut's own arguments; the
    refined twins are built as ``separate.plan.plan_separation`` builds them)."""
    refined = twins.with_array(cut.twins)
    return twin_structure_meshes(labels, refined, colours=colours, params=params)


def _doll_and_stages(
    labels: Volume,
    twins: Volume,
    cut: Volume | None,
    colours: dict[str, str],
    params: ModelParams,
) -> tuple[list[Mesh], Doll | None]:
    """The separation-stage meshes and the doll, as :func:`build_models` makes them."""
    doll = _doll_or_none(labels, twins, colours=colours, params=params, cut=cut)
    seps = stage_meshes(cut, params=params) if cut is not None else []
    return seps, doll


@dataclass
class EarlyModels:
    """Meshes being made ahead of the stage (see the module notes).

    Attributes
    ----------
    colours : dict
        ``{"A": hex, "B": hex}`` they were started with.
    params : ModelParams
        The parameters they were started with (the stage checks both are its own).
    job : ChildJob or None
        The whole :func:`build_models` (no reconstruction meshes) in a child process.
    parts : ChildJob or None
        The part meshes, following the min-cut in its child.
    side : Future or None
        ``(separation meshes, doll)`` being made in a thread of the plan.
    """

    colours: dict[str, str]
    params: ModelParams
    job: ChildJob[ModelSet] | None = None
    parts: ChildJob[list[PartMesh]] | None = None
    side: Future[tuple[list[Mesh], Doll | None]] | None = None
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)

    def stage_done(self, name: str, ctx: Any) -> None:
        """Plan runner hook (a later stage has its result): once ``separate`` has its
        result, start the doll and separation meshes in a thread (the parts follow the
        cut) or, when the parts do not follow the cut, everything in a child."""
        if name != "separate" or self.job is not None or self.side is not None:
            return
        from twinsep.models.stage import _grids

        labels, twins, cut = _grids(ctx)
        if self.parts is None:
            self.job = _start_build(labels, twins, cut, self.colours, self.params)
            return
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="twinsep-doll")
        self.side = self._pool.submit(
            _doll_and_stages, labels, twins, cut, self.colours, self.params
        )

    def result(
        self,
        labels: Volume,
        twins: Volume,
        cut: Volume | None,
        reconstruction: Sequence[Mesh],
    ) -> ModelSet:
        """The models with ``reconstruction`` added: from the child and the thread, or
        made here for what they did not make.

        Raises
        ------
        InputError
            As :func:`build_models` (raised by the child or here).
        """
        if self.parts is None:
            if self.job is None:  # nothing was started (small grid, no child)
                built = _build(labels, twins, cut, self.colours, self.params)
            else:
                built = self.job.result(
                    lambda: _build(labels, twins, cut, self.colours, self.params),
                    passthrough=(InputError,),
                )
            return dataclasses.replace(built, reconstruction=list(reconstruction))
        if not labels.same_grid(twins):  # as build_models
            raise InputError(
                "twins", "is not on the grid of the tissue labels (shape or affine differ)"
            )
        try:
            if self.side is not None:
                seps, doll = self.side.result()
            else:
                seps, doll = _doll_and_stages(labels, twins, cut, self.colours, self.params)
        finally:
            self._shutdown()
        parts = self.parts.result(
            lambda: twin_structure_meshes(labels, twins, colours=self.colours, params=self.params),
            passthrough=(InputError,),
        )
        return ModelSet(parts, seps, list(reconstruction), doll, self.params)

    def cancel(self) -> None:
        """Stop the child and the thread (the plan ended before the stage took the
        meshes)."""
        for job in (self.job, self.parts):
            if job is not None:
                job.cancel()
        self._shutdown()

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _start_build(
    labels: Volume,
    twins: Volume,
    cut: Volume | None,
    colours: dict[str, str],
    params: ModelParams,
) -> ChildJob[ModelSet] | None:
    if labels.array.size < EARLY_MIN_VOXELS:
        return None
    return start_child(_build, labels, twins, cut, colours, params, name="models")


def start_models(
    labels: Volume,
    twins: Volume,
    *,
    cut: Volume | None,
    colours: dict[str, str],
    params: ModelParams,
) -> EarlyModels | None:
    """Start :func:`build_models` (no reconstruction meshes) in a child process; None on
    grids smaller than ``EARLY_MIN_VOXELS`` or when no process can be started."""
    job = _start_build(labels, twins, cut, colours, params)
    return None if job is None else EarlyModels(dict(colours), params, job=job)


def follow_cut(
    cut_job: ChildJob[CutResult] | None,
    labels: Volume,
    *,
    colours: dict[str, str],
    params: ModelParams,
) -> EarlyModels | None:
    """Models started before the cut is known (``Stage.early`` after ``twins``).

    With the min-cut running in a child (``cut_job``), the part meshes are queued there
    to follow the cut; the doll and separation meshes start once ``separate`` has its
    result (:meth:`EarlyModels.stage_done`). Without it, everything starts in a child
    then. None on grids smaller than ``EARLY_MIN_VOXELS`` (meshed in the stage).

    Parameters
    ----------
    cut_job : ChildJob or None
        The min-cut's child (:class:`twinsep.separate.early.EarlyCut` ``.job``), whose
        arguments are these ``labels`` and the ``twins`` stage's twins.
    labels : Volume
        Tissue labels (only their size is read here).
    colours : dict
        ``{"A": hex, "B": hex}``.
    params : ModelParams
    """
    if labels.array.size < EARLY_MIN_VOXELS:
        return None
    parts = None
    if cut_job is not None:
        parts = cut_job.then(
            _parts_after_cut, name="models-parts", colours=dict(colours), params=params
        )
    return EarlyModels(dict(colours), params, parts=parts)
