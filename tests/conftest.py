"""Shared test fixtures: the anyio backend and the loopback simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from bot.clock import Clock
from bot.sim import SimEndpoints, SimSettings, Simulator

SimFactory = Callable[..., AbstractAsyncContextManager[tuple[Simulator, SimEndpoints]]]


@pytest.fixture
def anyio_backend() -> str:
    """uvicorn and websockets are asyncio libraries, so async tests run on asyncio only."""
    return "asyncio"


@pytest.fixture
async def sim_server() -> AsyncIterator[tuple[Simulator, SimEndpoints]]:
    """A simulator with default settings (speed 1.0) serving on 127.0.0.1 and a free port."""
    sim = Simulator(SimSettings())
    async with sim.serve(host="127.0.0.1", port=0) as ep:
        yield sim, ep


@pytest.fixture
def make_sim() -> SimFactory:
    """A factory: `async with make_sim(clock=..., **SimSettings overrides) as (sim, ep): ...`."""

    @asynccontextmanager
    async def factory(
        *, clock: Clock | None = None, **overrides: Any
    ) -> AsyncIterator[tuple[Simulator, SimEndpoints]]:
        sim = Simulator(SimSettings(**overrides), clock=clock)
        async with sim.serve(host="127.0.0.1", port=0) as ep:
            yield sim, ep

    return factory
