"""``twinsep.chromium``: the executable search and the shared flag sets."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from twinsep.chromium import PRINT_FLAGS, QUIET_FLAGS, WEBGL_FLAGS, find_chromium


def _exe(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_chromium_none_on_empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() is None


def test_find_chromium_prefers_debian_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    late = tmp_path / "a"
    early = tmp_path / "b"
    late.mkdir()
    early.mkdir()
    _exe(late, "google-chrome")
    monkeypatch.setenv("PATH", os.pathsep.join([str(late), str(early)]))
    assert find_chromium() == str(late / "google-chrome")
    _exe(early, "chromium")
    assert find_chromium() == str(early / "chromium")


def test_flag_sets_share_the_quiet_flags() -> None:
    for flags in (PRINT_FLAGS, WEBGL_FLAGS):
        assert set(QUIET_FLAGS) <= set(flags)
        assert len(set(flags)) == len(flags)
        assert sum(f.startswith("--headless") for f in flags) == 1
    assert "--no-pdf-header-footer" in PRINT_FLAGS
    assert "--use-angle=swiftshader" in WEBGL_FLAGS
