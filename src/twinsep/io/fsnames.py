"""File names that are not UTF-8 text: opened by SimpleITK, shown in outputs.

Linux file names are bytes. A scan copied from another system's export may be named in
Latin-1 ("Sch\\xe4del.nii.gz"); Python holds such a name with surrogate escapes, and
SimpleITK's string conversion of it aborts the whole process (``std::logic_error:
basic_string::_S_construct null not valid``, exit 134, no message: found by the red-team
sweep of 2026-11-28). Such a path is opened through a symbolic link whose name is UTF-8:
to the file's folder when only the folder's name is the problem (a detached header then
still finds its data file beside it), else to the file itself. The same name written
into plan.json or the report raised UnicodeEncodeError after every stage had run (exit 1):
:func:`printable_name` shows each such byte as ``\\xNN``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["is_utf8", "itk_openable", "itk_writable", "printable_name"]


def is_utf8(text: str) -> bool:
    """True when ``text`` encodes as UTF-8 (no surrogate-escaped bytes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_name(name: str) -> str:
    """``name`` as UTF-8 text: each byte that is not UTF-8 shown as ``\\xNN``.

    Parameters
    ----------
    name : str
        A file name or path as Python holds it (surrogate escapes for such bytes).

    Returns
    -------
    str
        ``name`` itself when it is UTF-8, else its bytes decoded with backslash escapes.
    """
    if is_utf8(name):
        return name
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def itk_openable(path: Path, stack: contextlib.ExitStack) -> str:
    """A name for ``path`` that SimpleITK can take, valid while ``stack`` is open.

    Parameters
    ----------
    path : Path
        An existing file.
    stack : contextlib.ExitStack
        Owns the temporary folder of the link, when one is needed.

    Returns
    -------
    str
        ``str(path)`` when it is UTF-8, else a path through a symbolic link.
    """
    text = str(path)
    if is_utf8(text):
        return text
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="twinsep-itk-")))
    if is_utf8(path.name):
        (tmp / "folder").symlink_to(path.parent.absolute(), target_is_directory=True)
        return str(tmp / "folder" / path.name)
    suffix = path.suffix if is_utf8(path.suffix) else ""
    link = tmp / f"scan{suffix}"
    link.symlink_to(path.absolute())
    return str(link)


def itk_writable(path: Path, stack: contextlib.ExitStack) -> str:
    """A name SimpleITK can write ``path`` to; the file reaches ``path`` when ``stack``
    closes (written beside a UTF-8 temporary name, then moved).

    Parameters
    ----------
    path : Path
        The file to write (its folder exists).
    stack : contextlib.ExitStack
        Closing it moves the written file to ``path`` and removes the temporary folder.

    Returns
    -------
    str
        ``str(path)`` when it is UTF-8, else the temporary name.
    """
    text = str(path)
    if is_utf8(text):
        return text
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="twinsep-itk-")))
    side = tmp / f"out{path.suffix if is_utf8(path.suffix) else ''}"

    def move() -> None:
        if side.exists():
            shutil.move(str(side), str(path))

    stack.callback(move)  # runs before the folder is removed (last in, first out)
    return str(side)
