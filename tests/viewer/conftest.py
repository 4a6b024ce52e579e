"""Fixtures of the viewer tests: a sample plan folder and a running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from twinsep.viewer import ViewerServer, make_server
from twinsep.viewer.sample import SampleTruth, write_sample_plan


@pytest.fixture(scope="module")
def sample_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleTruth]:
    folder = tmp_path_factory.mktemp("viewer") / "plan"
    truth = write_sample_plan(folder)
    return folder, truth


@pytest.fixture(scope="module")
def server(sample_plan: tuple[Path, SampleTruth]) -> Iterator[ViewerServer]:
    srv = make_server(sample_plan[0], "127.0.0.1", 0)
    srv.serve_in_thread()
    yield srv
    srv.shutdown()
    srv.server_close()
