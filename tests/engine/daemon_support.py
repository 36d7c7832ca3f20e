"""Run the real daemon (`bot.app.run_daemon`) against a test-controlled simulator over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from bot.app import Daemon, run_daemon
from bot.config import BotConfig, BrokerConfig, MarketConfig, StoreConfig, StrategyConfig, ThrottleConfig
from bot.engine.kernel import Kernel
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints, Simulator

ENV = {"KIWOOM_APPKEY": SIM_APPKEY, "KIWOOM_SECRETKEY": SIM_SECRETKEY}


def daemon_config(ep: SimEndpoints, tmp: Path, *strategies: StrategyConfig, **broker: Any) -> BotConfig:
    """A `paper`-mode config pointed at the simulator's URLs (any Kiwoom-compatible endpoint)."""
    return BotConfig(
        broker=BrokerConfig(
            mode="paper",
            rest_url=ep.rest_url,
            ws_url=ep.ws_url,
            state_dir=tmp / "state",
            throttle=ThrottleConfig(requests_per_s=50),
            **broker,
        ),
        market=MarketConfig(no_entry_after_open_min=0, no_entry_before_close_min=0),
        store=StoreConfig(path=tmp / "journal.sqlite3"),
        strategy=strategies,
    )


def one_buy(code: str = "005930", krw: int = 1_000_000, at: str = "09:10:05") -> StrategyConfig:
    """A strategy that buys `krw` of one symbol at a given time (scheduled_rebalance)."""
    return StrategyConfig(
        name="buyer",
        plugin="scheduled_rebalance",
        budget_krw=krw * 2,
        max_positions=1,
        params={"symbols": [code], "krw_per_symbol": krw, "buy_at": at, "sell_at": False},
    )


@asynccontextmanager
async def daemon(sim: Simulator, cfg: BotConfig, events: list[object]) -> AsyncIterator[Kernel]:
    """The daemon running in this task group until the block ends (cancelled like a stop)."""
    async with anyio.create_task_group() as tg:
        handle: Daemon = await tg.start(
            partial(run_daemon, cfg, source="test", sink=events.append, clock=sim.clock, env=ENV)
        )
        yield handle.kernel
        tg.cancel_scope.cancel()


async def until(check: Callable[[], bool | Awaitable[bool]], within: float = 15.0) -> None:
    """Wait (bounded) for a condition that has no event to wait on."""
    with anyio.fail_after(within):
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await anyio.sleep(0.02)
