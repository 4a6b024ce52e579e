"""Atomic output helpers: write to a temporary sibling, then rename.

A reader never sees a half-written file: the data go to a temporary file in the
destination folder (same file system, so :func:`os.replace` is atomic) and are renamed
over the destination only after they were written and flushed. On any error the
temporary file is removed and the destination is left as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from twinsep.errors import OutputError

logger = logging.getLogger(__name__)

__all__ = ["atomic_output", "atomic_write_bytes", "atomic_write_text", "atomic_output_dir"]


def _check_parent(path: Path) -> None:
    parent = path.parent
    if not parent.exists():
        raise OutputError(path, f"the folder {parent} does not exist; create it first")
    if not parent.is_dir():
        raise OutputError(path, f"{parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(path, f"the folder {parent} is not writable (permission denied)")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path that is renamed to ``path`` when the block succeeds.

    The temporary file lives in the destination folder and keeps the destination's
    suffixes (so libraries that choose a format from the suffix still work).

    Parameters
    ----------
    path : path-like
        Final destination. Its folder must exist and be writable.

    Yields
    ------
    Path
        Where the caller should write. It does not exist yet.

    Raises
    ------
    OutputError
        If the destination folder is missing or not writable.
    """
    dest = Path(path)
    _check_parent(dest)
    suffix = "".join(dest.suffixes)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=f".tmp{suffix}", dir=dest.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(dest, "nothing was written to the temporary file")
        os.replace(tmp, dest)
        logger.debug("wrote %s", dest)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_output_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``path`` when the block succeeds.

    ``path`` must not exist, or be an empty folder (it is replaced).

    Raises
    ------
    OutputError
        If ``path`` exists and is a file or a non-empty folder.
    """
    dest = Path(path)
    _check_parent(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise OutputError(dest, "already exists and is not an empty folder; choose a new folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield tmp
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
        logger.debug("wrote folder %s", dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_output(path) as tmp:
        _fsync_write(tmp, data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default) and return the path."""
    return atomic_write_bytes(path, text.encode(encoding))
