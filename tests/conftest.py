"""Shared test fixtures: the anyio backend (the simulator and clients run on asyncio)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """uvicorn and websockets are asyncio libraries, so async tests run on asyncio only."""
    return "asyncio"
