"""Shared pieces of the simulator benchmarks: a timed simulator, a bench config, the daemon in-process.

`TimedSimulator` is the loopback simulator with its ASGI application wrapped (the simulator itself
is not changed): every WebSocket text frame containing a marker is timestamped the moment the
simulator hands it to the server for writing, and every REST request whose `api-id` header names a
watched TR is timestamped the moment it reaches the application (headers parsed, before the body
is read). Times are `time.perf_counter_ns()`, one process, one clock.
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import Daemon, run_daemon
from bot.clock import Clock
from bot.config import (
    BotConfig,
    BrokerConfig,
    MarketConfig,
    RiskConfig,
    StoreConfig,
    StrategyConfig,
    ThrottleConfig,
)
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints, SimSettings, Simulator

ENV = {"KIWOOM_APPKEY": SIM_APPKEY, "KIWOOM_SECRETKEY": SIM_SECRETKEY}
PLUGINS = Path(__file__).resolve().parent / "plugins"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Asgi = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


@dataclass(slots=True)
class Stopwatch:
    """Timestamps taken inside the simulator's ASGI app, and events a benchmark can wait on."""

    marker: str = "\x00"
    api_id: bytes = b"kt10000"
    writes: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    requested: anyio.Event = field(default_factory=anyio.Event)
    last_rest: int = 0  # perf_counter_ns of the latest REST request of any api-id

    def arm(self) -> None:
        """A fresh `requested` event for the next round."""
        self.requested = anyio.Event()


def timed(app: Asgi, watch: Stopwatch) -> Asgi:
    """Wrap an ASGI app so marked WebSocket writes and watched REST requests are timestamped."""

    async def wrapped(
        scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] == "websocket":

            async def send_timed(message: Message) -> None:
                if message["type"] == "websocket.send":
                    text = message.get("text")
                    if text is not None and watch.marker in text:
                        watch.writes.append(time.perf_counter_ns())
                await send(message)

            await app(scope, receive, send_timed)
            return
        if scope["type"] == "http":
            now = watch.last_rest = time.perf_counter_ns()
            if (b"api-id", watch.api_id) in scope.get("headers", ()):
                watch.requests.append(now)
                watch.requested.set()
        await app(scope, receive, send)

    return wrapped


class TimedSimulator(Simulator):
    """The simulator with its app wrapped by `timed` (nothing else differs)."""

    def __init__(self, settings: SimSettings, watch: Stopwatch) -> None:
        super().__init__(settings)
        self.watch = watch

    def app(self) -> Any:
        """The simulator's Starlette app inside the timing wrapper."""
        return timed(super().app(), self.watch)


def register_bench_plugins() -> None:
    """Let the plugin loader find `bench/plugins/*.py` as `strategies.<name>` (bench runs only)."""
    import strategies

    if str(PLUGINS) not in strategies.__path__:
        strategies.__path__.append(str(PLUGINS))


def bench_config(ep: SimEndpoints, tmp: Path, *strategies: StrategyConfig, **broker: Any) -> BotConfig:
    """A paper-mode config aimed at the simulator, with limits that never get in a benchmark's way."""
    return BotConfig(
        broker=BrokerConfig(
            mode="paper",
            rest_url=ep.rest_url,
            ws_url=ep.ws_url,
            state_dir=tmp / "state",
            throttle=ThrottleConfig(requests_per_s=10_000),
            **broker,
        ),
        risk=RiskConfig(
            max_order_krw=1_000_000_000,
            max_position_krw=10_000_000_000,
            max_gross_exposure_krw=10**12,
            max_open_positions=1_000,
            max_daily_loss_krw=10**12,
            max_orders_per_minute=1_000_000,
        ),
        market=MarketConfig(no_entry_after_open_min=0, no_entry_before_close_min=0),
        store=StoreConfig(path=tmp / "journal.sqlite3"),
        strategy=strategies,
    )


@asynccontextmanager
async def running_daemon(sim: Simulator, cfg: BotConfig) -> AsyncIterator[Daemon]:
    """`bot.app.run_daemon` in this process on the simulator's clock until the block ends."""
    async with running_daemon_on(cfg, sim.clock) as handle:
        yield handle


@asynccontextmanager
async def running_daemon_on(cfg: BotConfig, clock: Clock) -> AsyncIterator[Daemon]:
    """`bot.app.run_daemon` in this process on `clock` until the block ends."""
    async with anyio.create_task_group() as tg:
        handle: Daemon = await tg.start(
            partial(run_daemon, cfg, source="bench", sink=lambda _e: None, clock=clock, env=ENV)
        )
        yield handle
        tg.cancel_scope.cancel()


async def until(check: Callable[[], bool], within: float, every: float = 0.0005) -> bool:
    """Poll a condition (bounded); True once it holds, False when `within` seconds passed."""
    with anyio.move_on_after(within):
        while not check():  # noqa: ASYNC110 - a benchmark probe: the state it polls has no event
            await anyio.sleep(every)
        return True
    return False


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]
