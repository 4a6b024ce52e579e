"""Shared phantoms for the phantom tests (built once per session, small grids)."""

from __future__ import annotations

from functools import cache

import pytest

from twinsep.phantom import Phantom, make_phantom


@cache
def cached_phantom(kind: str, size: int = 64, noise_hu: float = 0.0, **kw: object) -> Phantom:
    """Build (once) a phantom; tests must not modify its arrays."""
    return make_phantom(kind, size=size, noise_hu=noise_hu, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def phantom_cache():
    return cached_phantom
