"""The meshes of the ``models`` stage, started early in a child process (issue 10).

The part meshes, the separation-stage meshes and the doll (:func:`build_models`) read
only the tissue labels and the refined twins and cut of the ``separate`` stage; only
the expander and template meshes come from ``reconstruct``, which runs in between. On a
large scan the plan runner therefore starts them in a child process
(:mod:`twinsep.child`) as soon as ``separate`` has its result (``Stage.early``): they
are meshed there while ``reconstruct`` runs, and on a core the GIL and the
decimation lock of this process do not hold back. The ``models`` stage takes the
:class:`ModelSet` and adds the reconstruction meshes. The child runs the same code on
equal copies of the arrays, so the meshes are those the stage would make; when the
child fails, the stage makes them itself.

Small scans are meshed in the stage: the process start (about 1-2 s of CPU) costs more
than it can save.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from twinsep.child import ChildJob, start_child
from twinsep.errors import InputError
from twinsep.models.params import ModelParams
from twinsep.models.stage import ModelSet, build_models
from twinsep.models.surface import Mesh
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

#: Grids of at least this many voxels get their meshes started early in a child
#: process (the process start and the arrays pickled both ways cost about 1-2 s of
#: CPU, more than the overlap gains on a 256^3 grid). Does not change any result.
EARLY_MIN_VOXELS = 20_000_000


def _build(
    labels: Volume,
    twins: Volume,
    cut: Volume | None,
    colours: dict[str, str],
    params: ModelParams,
) -> ModelSet:
    """:func:`build_models` without reconstruction meshes (run in the child)."""
    return build_models(labels, twins, cut=cut, reconstruction=(), colours=colours, params=params)


@dataclass
class EarlyModels:
    """Meshes being made in a child process (see the module notes).

    Attributes
    ----------
    colours : dict
        ``{"A": hex, "B": hex}`` they were started with.
    params : ModelParams
        The parameters they were started with (the stage checks both are its own).
    job : ChildJob
    """

    colours: dict[str, str]
    params: ModelParams
    job: ChildJob[ModelSet]

    def result(
        self,
        labels: Volume,
        twins: Volume,
        cut: Volume | None,
        reconstruction: Sequence[Mesh],
    ) -> ModelSet:
        """The models with ``reconstruction`` added: from the child, or made here when
        the child failed.

        Raises
        ------
        InputError
            As :func:`build_models` (raised by the child or here).
        """
        built = self.job.result(
            lambda: _build(labels, twins, cut, self.colours, self.params),
            passthrough=(InputError,),
        )
        return dataclasses.replace(built, reconstruction=list(reconstruction))

    def cancel(self) -> None:
        """Stop the child (the plan ended before the stage took the meshes)."""
        self.job.cancel()


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
    if labels.array.size < EARLY_MIN_VOXELS:
        return None
    job = start_child(_build, labels, twins, cut, colours, params, name="models")
    return None if job is None else EarlyModels(dict(colours), params, job)
