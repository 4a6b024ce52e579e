"""Local web 3D / VR viewer of a plan folder (``twinsep view DIR``).

The server (:mod:`twinsep.viewer.server`, standard-library ``http.server``) serves the
bundled page (``static/``, built from ``viewer/`` at the repository root with three.js),
the plan's files and a small API for CT slices and the decimated scene.
"""

from __future__ import annotations

from twinsep.viewer.server import DEFAULT_HOST, DEFAULT_PORT, ViewerServer, make_server, serve

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ViewerServer", "make_server", "serve"]
