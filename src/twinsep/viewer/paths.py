"""Map a request path to a file inside one folder, refusing every way out of it.

The viewer serves patient data, so a request may only reach files below the plan
folder (or the bundled static assets). A path is refused (the server answers 404) if,
after percent-decoding it up to :data:`MAX_DECODE_ROUNDS` times, any form of it holds

* a ``..`` or ``.`` segment, or a segment that starts with a dot (hidden files such as
  the stage cache ``.cache/`` are not served);
* an encoded slash or backslash (``%2f``, ``%252f``, ``%5c``...), a backslash, a NUL or other control character, or a drive letter (``C:``);
* an absolute path (``//etc/passwd`` once the leading slash is stripped), or an
  empty segment (``a//b``);

and, finally, if the resolved file (symbolic links followed) is not inside the folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

__all__ = ["MAX_DECODE_ROUNDS", "request_segments", "resolve_inside"]

#: How many rounds of percent-decoding are inspected: catches ``%2e`` (once),
#: ``%252e`` (twice) and ``%25252e`` (three times). A path that still changes after
#: this many rounds is refused as deliberately obfuscated.
MAX_DECODE_ROUNDS = 4

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
#: An encoded slash or backslash, however many times the ``%`` itself was encoded.
_ENCODED_SEPARATOR = re.compile(r"%(?:25)*(?:2[fF]|5[cC])")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _bad_segment(seg: str) -> bool:
    if seg.startswith("."):
        return True
    if _DRIVE.match(seg):
        return True
    return any(ord(c) < 32 or c in "\\\x7f" for c in seg)


def request_segments(url_path: str) -> list[str] | None:
    """Split the path of a URL (without query) into safe, decoded segments.

    Parameters
    ----------
    url_path : str
        The path part of the request target, still percent-encoded, e.g.
        ``"/models/scene.glb"``.

    Returns
    -------
    list of str or None
        The decoded segments (``["models", "scene.glb"]``), or None when the path is
        refused for any reason listed in the module docstring.
    """
    if _ENCODED_SEPARATOR.search(url_path):
        return None
    forms = [url_path]
    current = url_path
    for _ in range(MAX_DECODE_ROUNDS):
        try:
            decoded = unquote(current, errors="strict") if "%" in current else current
        except UnicodeDecodeError:
            return None
        if decoded == current:
            break
        forms.append(decoded)
        current = decoded
    else:
        if _PERCENT.search(current):
            return None
    for form in forms:
        if "\\" in form or "\x00" in form:
            return None
        body = form.lstrip("/") if form.startswith("/") else form
        if form.startswith("//") or body.startswith("/"):
            return None
        if body and "" in body.split("/"):
            return None  # "a//b" or a trailing slash: no file has such a name
        for seg in body.split("/"):
            if seg and _bad_segment(seg):
                return None
    # Segments come from the path decoded exactly once (what a browser meant);
    # the deeper decodings above were only inspected for tricks.
    once = forms[1] if len(forms) > 1 else forms[0]
    return [s for s in once.split("/") if s]


def resolve_inside(root: Path, segments: list[str]) -> Path | None:
    """The regular file ``root/segments...`` if it lies inside ``root``, else None.

    Parameters
    ----------
    root : Path
        Folder that bounds what may be served.
    segments : list of str
        Output of :func:`request_segments`.

    Returns
    -------
    Path or None
        The resolved (symbolic links followed) path of an existing regular file whose
        real location is inside the real location of ``root``; None otherwise.
    """
    if not segments:
        return None
    real_root = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(real_root.joinpath(*segments)))
    try:
        candidate.relative_to(real_root)
    except ValueError:
        return None
    if not candidate.is_file():
        return None
    return candidate
