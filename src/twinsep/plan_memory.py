"""Peak resident memory of the plan's process tree (the process and its children),
sampled on a thread while a stage runs.
"""

from __future__ import annotations

import os
import threading


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
