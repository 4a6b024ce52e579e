"""Path traversal: every way out of the plan folder answers 404."""

from __future__ import annotations

import http.client
import os
from pathlib import Path

import pytest

from twinsep.viewer import ViewerServer
from twinsep.viewer.paths import request_segments, resolve_inside


@pytest.mark.parametrize(
    "path",
    [
        "/../etc/passwd",
        "/plan/../../etc/passwd",
        "/plan/%2e%2e/%2e%2e/etc/passwd",
        "/plan/%2E%2E/plan.json",
        "/plan/%252e%252e/%252e%252e/etc/passwd",
        "/plan/%25252e%25252e/x",
        "/plan/..%2f..%2fetc%2fpasswd",
        "/plan/..%252f..%252fetc/passwd",
        "/plan/models%2fscene.glb",
        "/plan/..%5c..%5cetc",
        "/plan/..\\..\\etc",
        "//etc/passwd",
        "/plan//etc/passwd",
        "/plan/%2fetc/passwd",
        "/plan/.cache/x.pkl",
        "/plan/C:/Windows",
        "/plan/%00plan.json",
        "/plan/%ff%fe",
    ],
)
def test_request_segments_refuses_tricks(path: str) -> None:
    assert request_segments(path) is None


def test_request_segments_accepts_plain_paths() -> None:
    assert request_segments("/plan/models/scene.glb") == ["plan", "models", "scene.glb"]
    assert request_segments("/plan/a%20b.txt") == ["plan", "a b.txt"]
    assert request_segments("/") == []


def test_resolve_inside_follows_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "ok.txt").write_text("ok")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.symlink(secret, root / "link.txt")
    os.symlink(root / "ok.txt", root / "inner.txt")
    assert resolve_inside(root, ["ok.txt"]) == (root / "ok.txt").resolve()
    assert resolve_inside(root, ["inner.txt"]) == (root / "ok.txt").resolve()
    assert resolve_inside(root, ["link.txt"]) is None
    assert resolve_inside(root, ["missing.txt"]) is None
    assert resolve_inside(root, []) is None


def _status(srv: ViewerServer, raw_path: str) -> int:
    # http.client sends the path as given (no normalisation by a client library)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"127.0.0.1:{srv.port}")
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "/plan/../plan/plan.json",
        "/plan/%2e%2e/plan/plan.json",
        "/plan/%252e%252e/plan/plan.json",
        "/plan/models%2f..%2f..%2fplan/plan.json",
        "/static/../../plan.py",
        "/static/%2e%2e/server.py",
        "/plan/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/plan//etc/passwd",
        "/plan/outside.txt",
        "/plan/.hidden",
        "/nothing-here",
    ],
)
def test_server_answers_404(server: ViewerServer, path: str) -> None:
    assert _status(server, path) == 404


def test_symlink_out_of_plan_is_404(server: ViewerServer, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not for the browser")
    link = server.plan_dir / "outside.txt"
    os.symlink(outside, link)
    try:
        assert _status(server, "/plan/outside.txt") == 404
    finally:
        link.unlink()


def test_plain_files_are_served(server: ViewerServer) -> None:
    assert _status(server, "/plan.json") == 200
    assert _status(server, "/plan/models/scene.glb") == 200
    assert _status(server, "/") == 200
    assert _status(server, "/static/viewer.js") == 200
