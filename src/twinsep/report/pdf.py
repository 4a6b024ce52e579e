"""Print ``report.html`` to PDF with headless Chromium (Debian's ``chromium``)."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from pathlib import Path

from twinsep.chromium import PRINT_FLAGS, find_chromium

logger = logging.getLogger(__name__)

#: The flags of a PDF print (kept under this name for callers of this module).
CHROMIUM_FLAGS = PRINT_FLAGS

__all__ = ["CHROMIUM_FLAGS", "find_chromium", "html_to_pdf"]


def html_to_pdf(html_path: Path, pdf_path: Path, *, timeout_s: float = 120.0) -> None:
    """Print an HTML file to PDF, atomically.

    Raises
    ------
    RuntimeError
        If no Chromium is installed or printing fails.
    """
    exe = find_chromium()
    if exe is None:
        raise RuntimeError("no chromium found; install Debian's 'chromium' to write report.pdf")
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp{os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="twinsep-chromium-") as profile:
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp}",
            html_path.absolute().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(
            f"chromium could not print the report (exit {proc.returncode}): "
            f"{proc.stderr.decode(errors='replace')[-300:]}"
        )
    os.replace(tmp, pdf_path)
