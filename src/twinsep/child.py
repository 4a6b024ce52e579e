"""Run one pure function in a child process, to use the second core (issue 10).

Threads do not help work that holds the GIL (PyMaxflow's max-flow, marching cubes,
fast-simplification's decimation). A stage whose work does not depend on the stage
before it can have that work started early (``Stage.early`` in :mod:`twinsep.plan`)
with :func:`start_child`: a fresh interpreter ("spawn", safe in a process that runs
threads) receives the function and its arguments through a pipe (pickled, sent from a
thread so that the plan goes on meanwhile), runs it, and sends back its result or its
exception and its log records (re-emitted in the parent). :meth:`ChildJob.result`
returns the child's result, re-raises the exceptions the caller names, and otherwise
(the child died, was killed, or raised something else) computes the result in the
parent with the caller's fallback. The child runs the same code on equal copies of the
arrays, so its result is the one the stage would compute.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _child(conn: Connection, level: int) -> None:
    """Child process: receive ``(fn, args, kwargs)``, run it and send ``("ok", result,
    records)`` or ``("error", exception, records)``; log records of the ``twinsep``
    loggers at ``level`` and above go back to the parent."""
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record.msg = record.getMessage()  # arguments may not pickle
            record.args = None
            record.exc_info = None
            records.append(record)

    root = logging.getLogger("twinsep")
    root.setLevel(level)
    root.addHandler(_Keep(level))
    root.propagate = False
    try:
        fn, args, kwargs = conn.recv()
        result = fn(*args, **kwargs)
        conn.send(("ok", result, records))
    except Exception as exc:  # sent to the parent, which decides
        conn.send(("error", exc, records))
    finally:
        conn.close()


def _send(conn: Connection, payload: Any) -> None:
    """Send ``payload``; a child that is gone already is noticed by the receiver."""
    try:
        conn.send(payload)
    except (OSError, ValueError) as exc:
        logger.debug("child job: sending the arguments failed (%s)", exc)


class ChildJob(Generic[T]):
    """A function running in a child process (see the module notes).

    Attributes
    ----------
    name : str
        What runs (for the log).
    started_s : float
        ``time.perf_counter()`` at the start, s.
    """

    def __init__(self, name: str, process: Any, conn: Connection, sender: threading.Thread) -> None:
        self.name = name
        self.started_s = time.perf_counter()
        self._process = process
        self._conn = conn
        self._sender = sender

    @property
    def elapsed_s(self) -> float:
        """Seconds since the start, s."""
        return time.perf_counter() - self.started_s

    def result(
        self,
        fallback: Callable[[], T],
        *,
        passthrough: tuple[type[BaseException], ...] = (),
    ) -> T:
        """The child's result; its exceptions of the ``passthrough`` types are raised;
        any other failure returns ``fallback()`` (computed here, logged)."""
        try:
            self._sender.join()
            status, payload, records = self._conn.recv()
        except (EOFError, OSError) as exc:  # the child died (killed, out of memory)
            status, payload, records = "lost", exc, []
        finally:
            self._conn.close()
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
        for record in records:
            logging.getLogger(record.name).handle(record)
        if status == "ok":
            logger.debug("%s: child result taken %.1f s after the start", self.name, self.elapsed_s)
            return payload  # type: ignore[no-any-return]
        if status == "error" and isinstance(payload, passthrough):
            raise payload
        logger.warning("%s: the child process failed (%r); computing it here", self.name, payload)
        return fallback()

    def cancel(self) -> None:
        """Stop the child (its result will not be taken)."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)
        self._sender.join(timeout=10)  # its send fails once the child is gone
        self._conn.close()

    def kill_for_test(self) -> None:
        """Kill the child as the system would (out of memory); for tests."""
        self._process.kill()
        self._process.join(timeout=10)


def start_child(fn: Callable[..., T], *args: Any, name: str, **kwargs: Any) -> ChildJob[T] | None:
    """Start ``fn(*args, **kwargs)`` in a child process (``fn`` a module-level function,
    its arguments picklable); None when no process can be started."""
    mp = multiprocessing.get_context("spawn")
    here, there = mp.Pipe(duplex=True)
    level = logging.getLogger("twinsep").getEffectiveLevel()
    process = mp.Process(target=_child, args=(there, level), name=f"twinsep-{name}", daemon=True)
    try:
        process.start()
    except OSError as exc:
        logger.warning(
            "%s: cannot start a child process (%s); computing it in the stage", name, exc
        )
        here.close()
        there.close()
        return None
    there.close()  # the child holds its end
    sender = threading.Thread(
        target=_send, args=(here, (fn, args, kwargs)), name=f"twinsep-{name}-send", daemon=True
    )
    sender.start()
    logger.debug("%s started in process %s", name, process.pid)
    return ChildJob(name, process, here, sender)
