"""Bind address, Host check, API answers and the plan folder left untouched."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import socket
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import twinsep.viewer.server as server_mod
from twinsep.errors import ConfigError, InputError
from twinsep.viewer import ViewerServer, make_server, serve
from twinsep.viewer.sample import SampleTruth


def _get(srv: ViewerServer, path: str, host: str | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host or f"127.0.0.1:{srv.port}"})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def _own_non_loopback_ipv4() -> list[str]:
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    except OSError:
        pass
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # a UDP "connect" sends nothing; it only picks this machine's outgoing address
        s.connect(("192.0.2.1", 9))
        found.add(s.getsockname()[0])
    except OSError:
        pass
    finally:
        s.close()
    return sorted(a for a in found if not a.startswith("127.") and a != "0.0.0.0")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_not_reachable_on_non_loopback_address(server: ViewerServer) -> None:
    addrs = _own_non_loopback_ipv4()
    if not addrs:
        pytest.skip("this machine has no non-loopback IPv4 address")
    assert server.server_address[0] == "127.0.0.1"
    for addr in addrs:
        with pytest.raises(OSError):
            socket.create_connection((addr, server.port), timeout=2).close()
    socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_non_loopback_host_refused_without_explicit_permission(
    sample_plan: tuple[Path, SampleTruth],
) -> None:
    with pytest.raises(ConfigError, match="loopback"):
        make_server(sample_plan[0], "0.0.0.0", 0)
    with pytest.raises(ConfigError, match="loopback"):
        make_server(sample_plan[0], "192.0.2.2", 0)


def test_serve_binds_loopback_by_default(
    sample_plan: tuple[Path, SampleTruth], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[ViewerServer] = []
    real = server_mod.make_server

    def spy(*args: Any, **kwargs: Any) -> ViewerServer:
        srv = real(*args, **kwargs)
        made.append(srv)
        threading.Timer(0.2, srv.shutdown).start()
        return srv

    monkeypatch.setattr(server_mod, "make_server", spy)
    serve(sample_plan[0], port=0, open_browser=False)
    assert made and made[0].server_address[0] == "127.0.0.1"
    # the CT is read on the first slice request, never at start (it would compete
    # with the first picture for the CPU)
    assert not made[0].slices.loaded


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.org"])
def test_non_loopback_host_is_refused_before_binding(
    host: str, sample_plan: tuple[Path, SampleTruth], monkeypatch: pytest.MonkeyPatch
) -> None:
    bound: list[Any] = []
    monkeypatch.setattr(server_mod, "_resolve_bind", lambda *a: bound.append(a) or ("x", 0))
    with pytest.raises(ConfigError, match="--host.*127.0.0.1 only"):
        serve(sample_plan[0], host=host, port=0, open_browser=False)
    assert bound == []  # refused before any address was resolved or bound


def test_bad_inputs_are_input_errors(tmp_path: Path, sample_plan: tuple[Path, SampleTruth]) -> None:
    with pytest.raises(InputError, match="not a folder"):
        make_server(tmp_path / "missing", "127.0.0.1", 0)
    with pytest.raises(InputError, match="plan.json"):
        make_server(tmp_path, "127.0.0.1", 0)
    with pytest.raises(ConfigError, match="port"):
        make_server(sample_plan[0], "127.0.0.1", 70000)
    with pytest.raises(InputError, match="--scan"):
        make_server(sample_plan[0], "127.0.0.1", 0, scan_path=tmp_path / "no-ct.nii.gz")
    with pytest.raises(ConfigError, match="--host"):
        make_server(sample_plan[0], "no-such-host.invalid", 0)


def test_port_in_use_is_a_config_error(
    server: ViewerServer, sample_plan: tuple[Path, SampleTruth]
) -> None:
    with pytest.raises(ConfigError, match="port"):
        make_server(sample_plan[0], "127.0.0.1", server.port)


def test_foreign_host_header_is_refused(server: ViewerServer) -> None:
    status, _, _ = _get(server, "/plan.json", host="evil.example:80")
    assert status == 403
    status, _, _ = _get(server, "/plan.json", host=f"localhost:{server.port}")
    assert status == 200


def test_info_and_scene(server: ViewerServer) -> None:
    status, headers, body = _get(server, "/api/info")
    assert status == 200
    info = json.loads(body)
    status, headers, body = _get(server, "/api/slices/info")
    slices = json.loads(body)
    assert slices["available"] and slices["source"] == "ct"
    assert slices["count"] == {"sagittal": 64, "coronal": 64, "axial": 64}
    # two icospheres of 5120 faces and two double-sided quads of 4 faces
    assert info["scene"]["faces"] == 2 * 5120 + 2 * 4
    status, headers, body = _get(server, "/api/scene.glb?lod=vr")
    assert status == 200 and body[:4] == b"glTF"
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert info["scene"]["budget_faces"]["preview"] == 150_000
    status, _, body = _get(server, "/api/scene.glb?lod=preview")
    assert status == 200 and body[:4] == b"glTF"
    status, _, body = _get(server, "/api/scene.glb?lod=phone")
    assert status == 400 and b"lod" in body


def test_slice_api(server: ViewerServer) -> None:
    status, headers, body = _get(server, "/api/slices?axis=axial&index=32&overlay=twins")
    assert status == 200 and headers["Content-Type"] == "image/png"
    img = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    assert img.shape == (64, 64, 3)
    assert headers["X-Pixel-Mm"] == "3,3"
    # index 32 of a 64-voxel axis from -94.5 mm at 3 mm: z = 1.5 mm
    assert float(headers["X-Position-Mm"]) == pytest.approx(1.5)
    for bad in (
        "axis=oblique&index=1",
        "axis=axial&index=64",
        "axis=axial&index=-1",
        "axis=axial",
        "axis=axial&index=x",
        "axis=axial&index=1&window_hu=0",
        "axis=axial&index=1&alpha=2",
        "axis=axial&index=1&overlay=rainbow",
    ):
        status, _, body = _get(server, f"/api/slices?{bad}")
        assert status == 400, bad
        assert json.loads(body)["error"]


def test_plan_folder_is_not_modified(tmp_path: Path) -> None:
    from twinsep.viewer.sample import write_sample_plan

    folder = tmp_path / "plan"
    write_sample_plan(folder, shape=(32, 32, 32))
    before = _digest(folder)
    srv = make_server(folder, "127.0.0.1", 0)
    srv.serve_in_thread()
    try:
        for path in (
            "/api/info",
            "/api/scene.glb",
            "/api/scene.glb?lod=preview",
            "/api/slices?axis=coronal&index=3",
            "/plan.json",
        ):
            assert _get(srv, path)[0] == 200
    finally:
        srv.shutdown()
        srv.server_close()
    assert _digest(folder) == before
