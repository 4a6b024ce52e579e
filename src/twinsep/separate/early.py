"""The min-cut of the ``separate`` stage, started early in a worker process (issue 10).

:func:`twinsep.separate.mincut.min_cut_twins` reads only the tissue labels and the
twins, not the fusion analysis that the ``separate`` stage runs after. On a large scan
its max-flow is the longest serial step of the plan (about 7 s of one core on the
512 x 512 x 400 CT, holding the GIL), so the plan runner starts it in a child process
as soon as the ``twins`` stage has its result (``Stage.early``); it then runs on the
second core while the ``fusion`` stage runs, and the ``separate`` stage takes its
result. The child calls the same function on the same arrays (pickled), so the cut is
the same as one computed in the stage; when the child fails for any reason other than
a :class:`~twinsep.errors.SeparationError` (which is raised as in the stage), the stage
computes the cut itself.

Small scans are cut in the stage: starting a process (a fresh interpreter importing
numpy, scipy and the min-cut modules) costs about 1-2 s of CPU, more than a cut of a
few million voxels.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

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


def _child(conn: Connection, params: CutParams, level: int) -> None:
    """Child process: receive ``(labels, twins)``, run the cut and send
    ``("ok", result, records)`` or ``("error", exception, records)`` back; log records
    at ``level`` and above are sent back for the parent's handlers."""
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record.msg = record.getMessage()  # arguments may not pickle
            record.args = None
            records.append(record)

    root = logging.getLogger("twinsep")
    root.setLevel(level)
    root.addHandler(_Keep(level))
    root.propagate = False
    try:
        labels, twins = conn.recv()
        result = min_cut_twins(labels, twins, params=params)
        conn.send(("ok", result, records))
    except Exception as exc:  # sent to the parent, which decides
        conn.send(("error", exc, records))
    finally:
        conn.close()


@dataclass
class EarlyCut:
    """A cut running in a child process (see the module notes).

    Attributes
    ----------
    params : CutParams
        The parameters it was started with (the stage checks they are its own).
    started_s : float
        ``time.perf_counter()`` when it was started.
    """

    params: CutParams
    started_s: float
    _process: Any
    _conn: Connection
    _sender: threading.Thread

    def result(self, labels: Volume, twins: Volume) -> CutResult:
        """The cut: from the child, or computed here when the child failed.

        Raises
        ------
        SeparationError
            As :func:`min_cut_twins` (raised by the child or here).
        """
        try:
            self._sender.join()
            status, payload, records = self._conn.recv()
        except (EOFError, OSError) as exc:  # the child died (killed, out of memory)
            logger.warning("early min-cut process failed (%s); cutting in the stage", exc)
            status, payload, records = "lost", None, []
        finally:
            self._conn.close()
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
        for record in records:
            logging.getLogger(record.name).handle(record)
        if status == "ok":
            logger.debug("early min-cut taken %.1f s after its start", self.elapsed_s)
            return payload  # type: ignore[no-any-return]
        if status == "error" and isinstance(payload, SeparationError):
            raise payload
        if status == "error":
            logger.warning("early min-cut raised %r; cutting in the stage", payload)
        return min_cut_twins(labels, twins, params=self.params)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the start, s."""
        return time.perf_counter() - self.started_s

    def cancel(self) -> None:
        """Stop the child (the plan ended before the stage took the cut)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)
        self._sender.join(timeout=10)  # its send fails once the child is gone
        self._conn.close()


def start_cut(labels: Volume, twins: Volume, *, params: CutParams) -> EarlyCut | None:
    """Start :func:`min_cut_twins` in a child process; None on grids smaller than
    ``EARLY_MIN_VOXELS`` (the stage cuts them itself) or when no process can be started.
    """
    if labels.array.size < EARLY_MIN_VOXELS:
        return None
    # "spawn": a fresh interpreter, safe in a process that runs threads
    mp = multiprocessing.get_context("spawn")
    here, there = mp.Pipe(duplex=True)
    level = logging.getLogger("twinsep").getEffectiveLevel()
    process = mp.Process(
        target=_child, args=(there, params, level), name="twinsep-min-cut", daemon=True
    )
    try:
        process.start()
    except OSError as exc:
        logger.warning("cannot start the early min-cut process (%s); cutting in the stage", exc)
        here.close()
        there.close()
        return None
    there.close()  # the child holds its end
    # The arrays go through the pipe from a thread: the child reads them only once its
    # interpreter is up, and the plan goes on meanwhile (the write releases the GIL).
    sender = threading.Thread(
        target=_send, args=(here, (labels, twins)), name="twinsep-min-cut-send", daemon=True
    )
    sender.start()
    logger.debug("early min-cut started in process %s", process.pid)
    return EarlyCut(
        params=params,
        started_s=time.perf_counter(),
        _process=process,
        _conn=here,
        _sender=sender,
    )


def _send(conn: Connection, payload: Any) -> None:
    """Send ``payload``; a child that is gone already is noticed by the receiver."""
    try:
        conn.send(payload)
    except (OSError, ValueError) as exc:
        logger.debug("early min-cut: sending the arrays failed (%s)", exc)
