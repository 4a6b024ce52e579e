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

A process can also be started ahead of its first call (:func:`start_spare`): it imports
the modules the call will need, and receives the leading arguments already known,
while the plan computes the others; :func:`start_child` then sends it the call and the
remaining arguments instead of starting a fresh interpreter (the min-cut's process is
started once ``segment`` ends with the tissue labels, so the interpreter start, the
imports and half of the arrays leave the min-cut's own path).

A later stage can queue more work on the same child with :meth:`ChildJob.then`: the
child calls ``fn(result, *args, **kwargs)`` with the first call's result and
arguments once it has sent that result, so the arrays it already holds are not
pickled and sent again and no second interpreter starts (the part meshes follow the
min-cut this way). A follow-up's result is used only when the first result was taken
from the child; otherwise (the first call failed, was computed in the parent, or its
job was cancelled) the follow-up's caller computes its own fallback.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def _child(conn: Connection, level: int, preload: tuple[str, ...] = (), head: bool = False) -> None:
    """Child process: import the ``preload`` modules, receive (with ``head``) a tuple of
    leading arguments and then ``(fn, args, kwargs)``, run ``fn(*leading, *args,
    **kwargs)`` and send ``("ok", result, records)`` or ``("error", exception,
    records)``; then run each follow-up ``(fn2, kwargs2)`` received as ``fn2(result,
    *leading, *args, **kwargs2)`` and send its reply the same way, until the parent
    closes the pipe (before the first call too: a spare process not used ends). Log
    records of the ``twinsep`` loggers at ``level`` and above go back to the parent
    with the reply of the call that made them.
    """
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record.msg = record.getMessage()  # arguments may not pickle
            record.args = None
            record.exc_info = None
            records.append(record)

    def reply(status: str, payload: Any) -> None:
        conn.send((status, payload, list(records)))
        records.clear()

    root = logging.getLogger("twinsep")
    root.setLevel(level)
    root.addHandler(_Keep(level))
    root.propagate = False
    try:
        for module in preload:
            try:
                importlib.import_module(module)
            except Exception:  # noqa: BLE001 - the call imports what it needs and reports it
                logging.getLogger(__name__).debug("preloading %s failed", module)
        try:
            leading = conn.recv() if head else ()
            fn, args, kwargs = conn.recv()
        except EOFError:  # a spare process the plan did not use
            return
        args = (*leading, *args)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # sent to the parent, which decides
            reply("error", exc)
            return  # follow-ups need the result: the parent sees them lost
        reply("ok", result)
        while True:
            try:
                then_fn, then_kwargs = conn.recv()
            except EOFError:  # the parent closed the pipe: no more work
                return
            try:
                reply("ok", then_fn(result, *args, **then_kwargs))
            except Exception as exc:
                reply("error", exc)
    finally:
        conn.close()


def _send(conn: Connection, payload: Any) -> None:
    """Send ``payload``; a child that is gone already is noticed by the receiver."""
    try:
        conn.send(payload)
    except (OSError, ValueError) as exc:
        logger.debug("child job: sending the arguments failed (%s)", exc)


class _Channel:
    """The parent's end of one child: its process, its pipe and the replies received,
    shared by the first call and its follow-ups (replies arrive in the order of the
    calls). The pipe is closed and the process joined when no call waits any more.
    """

    def __init__(self, process: Any, conn: Connection, sender: threading.Thread) -> None:
        self.process = process
        self.conn = conn
        self.sender = sender
        self.lock = threading.Lock()  # the pipe's reading end, the replies, the calls waiting
        self.send_lock = threading.Lock()  # the chain of sender threads
        self.replies: list[tuple[str, Any, list[logging.LogRecord]]] = []
        self.n_calls = 1
        self.waiting = {0}  # calls whose reply is still to be taken
        self.first_taken = False  # the first call's result came from the child
        self.first_dropped = False  # the first call was cancelled or failed

    def queue(self, payload: Any) -> int | None:
        """Send a follow-up (from a thread, after what was sent before); its call
        index, or None when the pipe is closed already."""
        with self.send_lock:
            with self.lock:
                if self.conn.closed or self.first_dropped or self.first_taken:
                    return None
                index = self.n_calls
                self.n_calls += 1
                self.waiting.add(index)
            before = self.sender

            def send() -> None:
                before.join()
                _send(self.conn, payload)

            self.sender = threading.Thread(target=send, name=before.name, daemon=True)
            self.sender.start()
            return index

    def reply(self, index: int) -> tuple[str, Any, list[logging.LogRecord]]:
        """The reply to call ``index`` (read from the pipe as needed); ``("lost", exc,
        [])`` when the child is gone or the pipe closed before it came."""
        with self.lock:
            while len(self.replies) <= index:
                if self.conn.closed:
                    return "lost", EOFError("the child's pipe is closed"), []
                try:
                    self.sender.join()
                    self.replies.append(self.conn.recv())
                except (EOFError, OSError) as exc:  # the child died (killed, out of memory)
                    self._close()
                    return "lost", exc, []
            return self.replies[index]

    def done(self, index: int, *, cancel: bool = False) -> None:
        """Call ``index`` needs no reply any more. The child is stopped when no call
        waits (it ends on its own once the pipe closes; killed when cancelled) or when
        the first call is cancelled (the follow-ups need its result)."""
        with self.lock:
            self.waiting.discard(index)
            if (cancel and index == 0) or not self.waiting:
                self._close(terminate=cancel)

    def _close(self, terminate: bool = False) -> None:
        if terminate and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)
        self.sender.join(timeout=10)  # done, or its send fails once the child is gone
        if not self.conn.closed:
            self.conn.close()  # a waiting child sees EOF and ends
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)


class ChildJob(Generic[T]):
    """A function running in a child process (see the module notes).

    Attributes
    ----------
    name : str
        What runs (for the log).
    started_s : float
        ``time.perf_counter()`` at the start, s.
    """

    def __init__(self, name: str, channel: _Channel, index: int = 0) -> None:
        self.name = name
        self.started_s = time.perf_counter()
        self._channel = channel
        self._index = index

    @property
    def _process(self) -> Any:
        return self._channel.process

    @property
    def elapsed_s(self) -> float:
        """Seconds since the start, s."""
        return time.perf_counter() - self.started_s

    def then(self, fn: Callable[..., Any], *, name: str, **kwargs: Any) -> ChildJob[Any] | None:
        """Queue ``fn(result, *args, **kwargs)`` in the same child after this job (the
        first call: its ``args`` and result stay in the child, nothing is sent again);
        None when the child is gone or this job's result is taken already.

        The follow-up's :meth:`result` uses the child's reply only when this job's
        result was taken from the child (:meth:`result` returned it); otherwise it
        returns its fallback.
        """
        if self._index != 0:
            raise ValueError("follow-ups are queued on the first call of a child")
        index = self._channel.queue((fn, kwargs))
        if index is None:
            return None
        logger.debug("%s queued after %s", name, self.name)
        return ChildJob(name, self._channel, index)

    def result(
        self,
        fallback: Callable[[], T],
        *,
        passthrough: tuple[type[BaseException], ...] = (),
    ) -> T:
        """The child's result; its exceptions of the ``passthrough`` types are raised;
        any other failure returns ``fallback()`` (computed here, logged)."""
        channel = self._channel
        try:
            status, payload, records = channel.reply(self._index)
            if self._index == 0:
                channel.first_taken = status == "ok"
                channel.first_dropped = status != "ok"
        finally:
            channel.done(self._index)
        for record in records:
            logging.getLogger(record.name).handle(record)
        if self._index and status == "ok" and not channel.first_taken:
            # computed from a first result the caller did not use: not this plan's input
            logger.debug("%s: the first result was not taken; computing it here", self.name)
            return fallback()
        if status == "ok":
            logger.debug("%s: child result taken %.1f s after the start", self.name, self.elapsed_s)
            return payload  # type: ignore[no-any-return]
        if status == "error" and isinstance(payload, passthrough):
            raise payload
        logger.warning("%s: the child process failed (%r); computing it here", self.name, payload)
        return fallback()

    def cancel(self) -> None:
        """Stop the child (this result will not be taken). Cancelling the first call
        stops the follow-ups too (they need its result)."""
        if self._index == 0:
            self._channel.first_dropped = True
        self._channel.done(self._index, cancel=True)

    def kill_for_test(self) -> None:
        """Kill the child as the system would (out of memory); for tests."""
        self._channel.process.kill()
        self._channel.process.join(timeout=10)


class Spare:
    """A child process started ahead of its first call (:func:`start_spare`).

    Attributes
    ----------
    name : str
        What it is for (for the log).
    process : multiprocessing.Process
    conn : Connection
        The parent's end of its pipe.
    """

    def __init__(
        self,
        name: str,
        process: Any,
        conn: Connection,
        head: tuple[Any, ...],
        sender: threading.Thread,
    ) -> None:
        self.name = name
        self.process = process
        self.conn = conn
        self.head = head
        self.sender = sender
        self.used = False

    def take(self, args: tuple[Any, ...]) -> tuple[Any, Connection, threading.Thread] | None:
        """The process, its pipe and the thread sending the leading arguments, for a
        first call whose arguments ``args`` begin with those very objects; None when
        they do not, or when it is gone or was taken or cancelled already (it is ended
        then, and the caller starts a fresh process)."""
        same = len(args) >= len(self.head) and all(
            a is b for a, b in zip(self.head, args, strict=False)
        )
        if not same or self.used or self.conn.closed or not self.process.is_alive():
            self.cancel()
            return None
        self.used = True
        return self.process, self.conn, self.sender

    def cancel(self) -> None:
        """End the process unless a call was given to it (it ends on its own once its
        pipe closes)."""
        if self.used:
            return
        self.used = True
        if self.process.is_alive() and self.sender.is_alive():
            self.process.terminate()  # it may be reading the leading arguments
            self.process.join(timeout=10)
        # the send fails (and is caught) once the child is gone; the pipe is closed only
        # after it: closed under the sending thread's write, the thread died with a
        # TypeError traceback on stderr beside a plan's one-line refusal
        self.sender.join(timeout=10)
        if not self.conn.closed:
            self.conn.close()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)


def _spawn(
    name: str, preload: tuple[str, ...], head: bool = False
) -> tuple[Any, Connection] | None:
    """A fresh interpreter running :func:`_child` and the parent's end of its pipe."""
    mp = multiprocessing.get_context("spawn")
    here, there = mp.Pipe(duplex=True)
    level = logging.getLogger("twinsep").getEffectiveLevel()
    process = mp.Process(
        target=_child, args=(there, level, preload, head), name=f"twinsep-{name}", daemon=True
    )
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
    return process, here


def start_spare(
    *, name: str, preload: tuple[str, ...] = (), head: tuple[Any, ...] = ()
) -> Spare | None:
    """Start a child process that imports the ``preload`` modules, receives the leading
    arguments ``head`` of its first call (sent from a thread) and waits for the call
    (given by :func:`start_child` with ``spare=`` and arguments that begin with these
    same objects); None when no process can be started. A spare not used is ended with
    :meth:`Spare.cancel`."""
    started = _spawn(name, tuple(preload), head=True)
    if started is None:
        return None
    process, here = started
    sender = threading.Thread(
        target=_send, args=(here, tuple(head)), name=f"twinsep-{name}-send", daemon=True
    )
    sender.start()
    logger.debug("%s: spare process %s started", name, process.pid)
    return Spare(name, process, here, tuple(head), sender)


def start_child(
    fn: Callable[..., T], *args: Any, name: str, spare: Spare | None = None, **kwargs: Any
) -> ChildJob[T] | None:
    """Start ``fn(*args, **kwargs)`` in a child process (``fn`` a module-level function,
    its arguments picklable): in ``spare`` when it is given, still running and holds the
    leading ones of these arguments (only the others are sent), else in a fresh one;
    None when no process can be started."""
    taken = spare.take(args) if spare is not None else None
    before: threading.Thread | None = None
    if spare is not None and taken is not None:
        process, here, before = taken
        payload = (fn, args[len(spare.head) :], kwargs)
    else:
        fresh = _spawn(name, ())
        if fresh is None:
            return None
        process, here = fresh
        payload = (fn, args, kwargs)

    def send() -> None:
        if before is not None:
            before.join()  # the leading arguments go first
        _send(here, payload)

    sender = threading.Thread(target=send, name=f"twinsep-{name}-send", daemon=True)
    sender.start()
    logger.debug("%s started in process %s", name, process.pid)
    return ChildJob(name, _Channel(process, here, sender))
