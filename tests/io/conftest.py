"""Fixtures of the io tests (builders in ``io_volumes``)."""

from __future__ import annotations

import pytest
from io_volumes import make_volume

from twinsep.volume import Volume


@pytest.fixture
def ct_volume() -> Volume:
    return make_volume("oblique")
