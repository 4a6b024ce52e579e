"""Headless Chromium: where it is, and the flags every use of it in twinsep shares.

The PDF report (``twinsep.report.pdf``), the viewer's browser tests and the viewer
benchmark all drive Debian's ``chromium`` headless, offline and without a sandbox
(root in CI). The flags live here once so the three cannot drift apart.
"""

from __future__ import annotations

import shutil

#: Flags for a quiet, offline, sandbox-free headless Chromium (no network, no updates).
QUIET_FLAGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

#: Printing HTML to PDF (``--print-to-pdf``): no header or footer on the pages.
PRINT_FLAGS: tuple[str, ...] = ("--headless", *QUIET_FLAGS, "--no-pdf-header-footer")

#: Rendering the WebGL viewer on a machine without a GPU (SwiftShader software GL).
WEBGL_FLAGS: tuple[str, ...] = (
    "--headless=new",
    *QUIET_FLAGS,
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
)

#: Executable names tried, in order (Debian's package first).
_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable on ``PATH``.

    Returns
    -------
    str or None
        The first of ``chromium``, ``chromium-browser``, ``google-chrome`` and ``chrome``
        found on ``PATH``, or None when there is none.
    """
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None
