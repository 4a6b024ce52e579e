"""HTTP server of the local viewer: the page, the plan's files and a small API.

Routes (GET and HEAD only)::

    /                     the page (bundled static ``index.html``)
    /static/<file>        bundled page assets (JS, CSS)
    /plan.json            the plan
    /plan/<path>          any file inside the plan folder (e.g. ``plan/models/A_skin.glb``)
    /api/info             JSON: the scene's face count and budgets (answers at once)
    /api/slices/info      JSON: slice counts, spacing, overlays (reads the volumes on the
                          first call; the page asks only once the scene is drawn)
    /api/scene.glb?lod=   ``models/scene.glb`` within the face budget of ``preview``
                          (coarse first picture), ``desktop`` or ``vr``
    /api/slices?axis=axial&index=N[&window_hu=&level_hu=&overlay=twins|labels|none&alpha=]
                          PNG of one CT slice with the twin / tissue overlay; pixel size
                          and slice position in the ``X-Pixel-Mm`` / ``X-Position-Mm``
                          headers

Safety: the server binds 127.0.0.1 unless another address is asked for explicitly
(then it warns: patient anatomy becomes reachable from the network, without
authentication or encryption); it answers 404 to any path that leaves the plan folder
(see :mod:`twinsep.viewer.paths`), and 403 to a ``Host`` header that is not the
address it serves, so that a web page elsewhere cannot read the plan through DNS
rebinding.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import mimetypes
import shutil
import socket
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twinsep.errors import ConfigError, InputError
from twinsep.plan import read_plan
from twinsep.viewer.paths import request_segments, resolve_inside
from twinsep.viewer.scene import LodParams, SceneSource
from twinsep.viewer.slices import SliceParams, SliceStack

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ViewerServer", "is_loopback", "make_server", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

_TYPES = {
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".stl": "model/stl",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".csv": "text/csv; charset=utf-8",
    ".ics": "text/calendar; charset=utf-8",
    ".gz": "application/gzip",
    ".png": "image/png",
    ".pdf": "application/pdf",
}

#: Same-origin only; blob:/data: for textures that GLTFLoader unpacks from a GLB.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' blob: data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and every loopback IP address (127.0.0.0/8, ::1)."""
    h = host.strip("[]")
    if h.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def _content_type(name: str) -> str:
    lower = name.lower()
    for suffix, ctype in _TYPES.items():
        if lower.endswith(suffix):
            return ctype
    guess, _ = mimetypes.guess_type(name)
    return guess or "application/octet-stream"


def static_root() -> Traversable:
    """The bundled page assets (package data ``twinsep/viewer/static``)."""
    return resources.files("twinsep.viewer").joinpath("static")


class ViewerServer(ThreadingHTTPServer):
    """A :class:`ThreadingHTTPServer` that knows its plan.

    Attributes
    ----------
    plan_dir : Path
        The plan folder served.
    plan : dict
        Its ``plan.json``.
    slices : SliceStack
        The volumes cut into slices on request.
    scene : SceneSource
        ``models/scene.glb`` per level of detail.
    url : str
        Address of the page, e.g. ``http://127.0.0.1:8765/``.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        family: socket.AddressFamily,
        *,
        plan_dir: Path,
        plan: dict[str, Any],
        slices: SliceStack,
        scene: SceneSource,
    ) -> None:
        self.address_family = family
        self.plan_dir = plan_dir
        self.plan = plan
        self.slices = slices
        self.scene = scene
        super().__init__(address, _Handler)
        host, port = address[0], int(self.server_address[1])
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/"
        names = {shown, "127.0.0.1", "localhost", "[::1]"}
        self.allowed_hosts = {f"{n}:{port}".lower() for n in names} | {n.lower() for n in names}

    def prepare_in_thread(self) -> threading.Thread:
        """Make the scene's preview and desktop levels in a daemon thread.

        The CT is not read here: it is read on the first slice request, which the page
        sends only after the scene is drawn, so the two never compete for the CPU.
        """
        t = threading.Thread(target=self.scene.warm, name="twinsep-viewer-lod", daemon=True)
        t.start()
        return t

    def serve_in_thread(self) -> threading.Thread:
        """Start ``serve_forever`` in a daemon thread (for tests); stop with ``shutdown``."""
        t = threading.Thread(target=self.serve_forever, name="twinsep-viewer", daemon=True)
        t.start()
        return t


class _Handler(BaseHTTPRequestHandler):
    server: ViewerServer
    server_version = "twinsep-viewer"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        logger.debug("%s " + format, self.address_string(), *args)

    # -- responses --------------------------------------------------------------------
    def _headers(self, status: int, ctype: str, length: int, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", _CSP)
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()

    def _send_bytes(
        self, data: bytes, ctype: str, status: int = 200, extra: dict[str, str] | None = None
    ) -> None:
        self._headers(status, ctype, len(data), extra or {})
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_json(self, obj: Any, status: int = 200) -> None:
        self._send_bytes(json.dumps(obj).encode("utf-8"), "application/json", status)

    def _error(self, status: HTTPStatus, text: str) -> None:
        self._send_json({"error": text, "status": int(status)}, int(status))

    def _send_file(self, path: Path) -> None:
        size = path.stat().st_size
        self._headers(200, _content_type(path.name), size, {})
        if self.command != "HEAD":
            with path.open("rb") as fh:
                shutil.copyfileobj(fh, self.wfile, 1 << 20)

    # -- dispatch -----------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 (stdlib naming)
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        host = (self.headers.get("Host") or "").lower()
        if host not in self.server.allowed_hosts:
            self._error(HTTPStatus.FORBIDDEN, f"Host {host!r} is not served here")
            return
        target = urlsplit(self.path)
        segments = request_segments(target.path)
        if segments is None:
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        try:
            self._route(segments, parse_qs(target.query))
        except InputError as exc:
            self._error(HTTPStatus.BAD_REQUEST, exc.one_line())
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client went away during %s", self.path)
        except Exception:
            logger.exception("viewer: error while answering %s", self.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (see the log)")

    def _route(self, seg: list[str], query: dict[str, list[str]]) -> None:
        srv = self.server
        if not seg or seg == ["index.html"]:
            self._static(["index.html"])
        elif seg[0] == "static":
            self._static(seg[1:])
        elif seg == ["plan.json"]:
            self._plan_file(["plan.json"])
        elif seg[0] == "plan":
            self._plan_file(seg[1:])
        elif seg == ["api", "info"]:
            self._send_json(_info(srv))
        elif seg == ["api", "slices", "info"]:
            self._send_json(srv.slices.info())  # waits for the volumes to be read
        elif seg == ["api", "scene.glb"]:
            lod = _one(query, "lod", "desktop")
            if not srv.scene.exists:
                self._error(HTTPStatus.NOT_FOUND, "the plan has no models/scene.glb")
                return
            self._send_bytes(srv.scene.get(lod), "model/gltf-binary")
        elif seg == ["api", "slices"]:
            self._slice(query)
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def _static(self, seg: list[str]) -> None:
        node: Traversable = static_root()
        for s in seg:
            node = node.joinpath(s)
        if not seg or not node.is_file():
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        self._send_bytes(node.read_bytes(), _content_type(seg[-1]))

    def _plan_file(self, seg: list[str]) -> None:
        path = resolve_inside(self.server.plan_dir, seg)
        if path is None:
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        self._send_file(path)

    def _slice(self, query: dict[str, list[str]]) -> None:
        axis = _one(query, "axis", "axial")
        index = _number(query, "index", None, int)
        if index is None:
            raise ConfigError("index", "is required (slice number from 0)")
        img = self.server.slices.render(
            axis,
            int(index),
            window_hu=_number(query, "window_hu", None, float),
            level_hu=_number(query, "level_hu", None, float),
            overlay=_one(query, "overlay", "twins"),
            alpha=_number(query, "alpha", None, float),
        )
        self._send_bytes(
            img.png,
            "image/png",
            extra={
                "X-Pixel-Mm": f"{img.pixel_mm[0]:.6g},{img.pixel_mm[1]:.6g}",
                "X-Position-Mm": f"{img.position_mm:.6g}",
            },
        )


def _one(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[-1] if values else default


def _number(query: dict[str, list[str]], name: str, default: Any, kind: type) -> Any:
    values = query.get(name)
    if not values:
        return default
    try:
        return kind(values[-1])
    except ValueError:
        raise ConfigError(name, f"{values[-1]!r} is not a {kind.__name__}") from None


def _info(srv: ViewerServer) -> dict[str, Any]:
    scene: dict[str, Any] = {"exists": srv.scene.exists}
    if srv.scene.exists:
        try:
            scene["faces"] = srv.scene.faces()
        except InputError as exc:
            scene["error"] = exc.one_line()
        scene["budget_faces"] = {
            "preview": srv.scene.params.preview_faces,
            "desktop": srv.scene.params.desktop_faces,
            "vr": srv.scene.params.vr_faces,
        }
    return {"scene": scene}


def _resolve_bind(host: str, port: int) -> tuple[str, socket.AddressFamily]:
    if not 0 <= int(port) <= 65535:
        raise ConfigError("--port", f"{port} is not a TCP port (0-65535; 0 picks a free one)")
    if host in ("", "0.0.0.0", "::"):
        return host or "0.0.0.0", socket.AF_INET6 if host == "::" else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError("--host", f"{host!r} is not an address of this machine ({exc})") from None
    family, _, _, _, sockaddr = infos[0]
    return str(sockaddr[0]), socket.AddressFamily(family)


def make_server(
    plan_dir: str | Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    scan_path: str | Path | None = None,
    slice_params: SliceParams = SliceParams(),
    lod_params: LodParams = LodParams(),
) -> ViewerServer:
    """Create (bind, but do not start) the viewer server of a plan folder.

    Parameters
    ----------
    plan_dir : path-like
        Plan folder holding ``plan.json``.
    host : str
        Bind address; a loopback address only (default ``127.0.0.1``; ``::1`` and
        ``localhost`` are accepted too). The viewer serves patient anatomy without
        authentication, so it never listens on a network interface.
    port : int
        TCP port; 0 picks a free one (read it back from ``server.port``).
    scan_path : path-like, optional
        The CT, when the plan does not record its full path (it does only with
        ``--keep-phi``); without it slices show the tissue labels.
    slice_params, lod_params
        Display defaults and face budgets.

    Returns
    -------
    ViewerServer
        Start it with ``serve_forever()`` (or ``serve_in_thread()`` in tests).

    Raises
    ------
    InputError
        If the folder is not a plan folder, or ``scan_path`` does not exist.
    ConfigError
        If the host is not a loopback address, cannot be resolved, or the port is
        invalid or in use.

    A ``scan_path`` that exists but cannot be read, or lies on another grid, is not an
    error: the slices then show the tissue labels and say why.
    """
    if not is_loopback(host):
        raise ConfigError(
            "--host",
            f"{host!r} is not a loopback address; the viewer serves patient anatomy "
            "without authentication and listens on 127.0.0.1 only (to view it from "
            "another machine, forward the port over SSH)",
        )
    folder = Path(plan_dir)
    if not folder.is_dir():
        raise InputError(folder, "is not a folder (expected a twinsep plan folder)")
    plan = read_plan(folder)
    if scan_path is not None and not Path(scan_path).exists():
        raise InputError("--scan", f"{scan_path} does not exist (give the plan's CT)")
    address, family = _resolve_bind(host, port)
    slices = SliceStack(
        folder.absolute(),
        plan,
        scan_path=None if scan_path is None else Path(scan_path),
        params=slice_params,
    )
    scene = SceneSource(folder.absolute(), params=lod_params)
    try:
        return ViewerServer(
            (address, int(port)),
            family,
            plan_dir=folder.absolute(),
            plan=plan,
            slices=slices,
            scene=scene,
        )
    except OSError as exc:
        raise ConfigError(
            "--port", f"cannot listen on {host}:{port} ({exc.strerror}); try --port 0"
        ) from None


def serve(
    plan_dir: str | Path,
    *,
    host: str | None = None,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
    scan_path: str | Path | None = None,
) -> None:
    """Serve a plan folder's viewer until interrupted (Ctrl-C).

    Parameters
    ----------
    plan_dir : path-like
        Plan folder.
    host : str, optional
        A loopback bind address (None: ``127.0.0.1``); any other is refused.
    port : int
        TCP port (0: any free port).
    open_browser : bool
        Open the page in the default browser once the server listens.
    scan_path : path-like, optional
        The CT, when the plan does not record its full path.
    """
    chosen = DEFAULT_HOST if host is None else host
    server = make_server(plan_dir, chosen, port, scan_path=scan_path)
    server.prepare_in_thread()
    logger.info("twinsep viewer: %s (Ctrl-C to stop)", server.url)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("viewer stopped")
    finally:
        server.server_close()
