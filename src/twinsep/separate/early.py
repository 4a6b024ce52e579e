"""The min-cut of the ``separate`` stage, started early in a child process (issue 10).

:func:`twinsep.separate.mincut.min_cut_twins` reads only the tissue labels and the
twins, not the fusion analysis that the ``separate`` stage runs after. On a large scan
its max-flow is the longest serial step of the plan (about 7 s of one core on the
512 x 512 x 400 CT, holding the GIL), so the plan runner starts it in a child process
(:mod:`twinsep.child`) as soon as the ``twins`` stage has its result (``Stage.early``);
it then runs on the second core while the ``fusion`` stage runs, and the ``separate``
stage takes its result. The child calls the same function on equal copies of the
arrays, so the cut is the one the stage would compute; a
:class:`~twinsep.errors.SeparationError` in the child is raised in the stage, and any
other failure of the child makes the stage compute the cut itself.

The child process itself is started when ``segment`` ends (``Stage.prepare``,
:func:`spare_cut_process`): it imports the min-cut and meshing modules and receives the
tissue labels while ``twins`` runs, so that only the twins are sent when the cut
starts.

Small scans are cut in the stage: starting a process (a fresh interpreter importing
numpy, scipy and the min-cut modules) costs about 1-2 s of CPU, more than a cut of a
few million voxels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from twinsep.child import ChildJob, Spare, start_child, start_spare
from twinsep.errors import SeparationError
from twinsep.separate.mincut import CutResult, min_cut_twins
from twinsep.separate.params import CutParams
from twinsep.volume import Volume

logger = logging.getLogger(__name__)

#: Grids of at least this many voxels get their cut started early in a child process.
#: Below it the process start (about 1-2 s of CPU: a fresh interpreter importing numpy,
#: scipy and the min-cut modules, and the arrays pickled both ways) is not repaid: the
#: cut of a 256^3 grid (17 M voxels) takes about as long. Does not change any result.
EARLY_MIN_VOXELS = 20_000_000

#: Modules the min-cut's child imports before its first call: the min-cut's, and those
#: of the part meshes that follow the cut in the same process
#: (:func:`twinsep.models.early.follow_cut`; the VTK and decimation modules that their
#: functions import when first called).
PRELOAD = (
    "twinsep.separate.mincut",
    "twinsep.models.early",
    "vtkmodules.util.numpy_support",
    "vtkmodules.vtkCommonDataModel",
    "vtkmodules.vtkFiltersCore",
    "fast_simplification",
)


@dataclass
class EarlyCut:
    """A cut running in a child process (see the module notes).

    Attributes
    ----------
    params : CutParams
        The parameters it was started with (the stage checks they are its own).
    job : ChildJob
    """

    params: CutParams
    job: ChildJob[CutResult]

    def result(self, labels: Volume, twins: Volume) -> CutResult:
        """The cut: from the child, or computed here when the child failed.

        Raises
        ------
        SeparationError
            As :func:`min_cut_twins` (raised by the child or here).
        """
        return self.job.result(
            lambda: min_cut_twins(labels, twins, params=self.params),
            passthrough=(SeparationError,),
        )

    def cancel(self) -> None:
        """Stop the child (the plan ended before the stage took the cut)."""
        self.job.cancel()


def spare_cut_process(labels: Volume) -> Spare | None:
    """Start the min-cut's child process ahead of the cut: it imports ``PRELOAD`` and
    receives ``labels`` meanwhile (:func:`start_cut` then sends the twins only); None
    on grids smaller than ``EARLY_MIN_VOXELS``."""
    if labels.array.size < EARLY_MIN_VOXELS:
        return None
    return start_spare(name="min-cut", preload=PRELOAD, head=(labels,))


def start_cut(
    labels: Volume, twins: Volume, *, params: CutParams, spare: Spare | None = None
) -> EarlyCut | None:
    """Start :func:`min_cut_twins` in a child process (``spare`` when given, see
    :func:`spare_cut_process`); None on grids smaller than ``EARLY_MIN_VOXELS`` (the
    stage cuts them itself) or when no process can be started.
    """
    if labels.array.size < EARLY_MIN_VOXELS:
        if spare is not None:
            spare.cancel()
        return None
    job = start_child(min_cut_twins, labels, twins, name="min-cut", spare=spare, params=params)
    return None if job is None else EarlyCut(params, job)
