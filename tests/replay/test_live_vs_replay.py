"""A dry-run session against the simulator, recorded by the daemon, replays to the orders and fills it
produced live.

What may differ, and is left out of the comparison: times. Live, the kernel books an order or a fill
at the simulated clock's "now" when it gets to it (the accelerated clock moves on while the event
travels); the replay books it at the recorded time of the frame that caused it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import kst
from bot.config import (
    BotConfig,
    BrokerConfig,
    MarketConfig,
    RecordConfig,
    StoreConfig,
    StrategyConfig,
    ThrottleConfig,
)
from bot.replay import ReplayResult, replay_file
from bot.sim import SimSettings, Simulator
from bot.store import FillRow, OrderRow, Store
from tests.engine.daemon_support import daemon, until

pytestmark = pytest.mark.anyio

# The simulator's market steps (one a simulated second) fall half a second away from the strategies'
# whole-second timers, so live the orders are placed well before the next print arrives, as in a
# replay (where a timer due at a frame's time always fires before the frame).
HALF_PAST = kst(2026, 11, 20, 9, 0, 52) + timedelta(milliseconds=500)  # ~1 s of real time to start up


def basket(name: str, codes: list[str], buy_at: str, sell_at: str) -> StrategyConfig:
    """A scheduled_rebalance strategy (timer-driven buys and sells)."""
    return StrategyConfig(
        name=name, plugin="scheduled_rebalance", budget_krw=4_000_000, max_positions=len(codes),
        params={"symbols": codes, "krw_per_symbol": 1_000_000, "buy_at": buy_at, "sell_at": sell_at,
                "entry": {"order": "market"}},
    )  # fmt: skip


def dry_run_config(rest_url: str, ws_url: str, tmp: Path, *strategies: StrategyConfig) -> BotConfig:
    """`dry-run` mode with market data from the simulator's URLs and a fixed starting cash."""
    return BotConfig(
        broker=BrokerConfig(
            mode="dry-run", rest_url=rest_url, ws_url=ws_url, state_dir=tmp / "state",
            throttle=ThrottleConfig(requests_per_s=50), dry_run_cash_krw=50_000_000,
        ),
        market=MarketConfig(no_entry_after_open_min=0, no_entry_before_close_min=0),
        store=StoreConfig(path=tmp / "live.sqlite3"),
        record=RecordConfig(enabled=True, dir=tmp / "recordings"),
        strategy=strategies,
    )  # fmt: skip


def order_keys(orders: list[OrderRow]) -> list[tuple[Any, ...]]:
    """What an order is, without when it happened."""
    return [
        (o.intent.intent_id, o.intent.command.strategy, o.intent.command.code, o.intent.command.side,
         o.intent.command.order_type, o.intent.command.qty, o.intent.command.price, o.intent.state,
         o.intent.order_no, o.intent.filled_qty, o.intent.filled_amount)
        for o in orders
    ]  # fmt: skip


def fill_keys(fills: list[FillRow]) -> list[tuple[Any, ...]]:
    """What a fill is, without when it was booked."""
    return [
        (f.order_no, f.intent_id, f.strategy, f.code, f.side, f.qty, f.price, f.fee, f.tax, f.realized_pnl)
        for f in fills
    ]


async def test_recorded_dry_run_replays_to_the_same_orders_and_fills(tmp_path: Path) -> None:
    """The live dry-run's journal and the replay's journal hold the same orders and fills."""
    sim = Simulator(SimSettings(start=HALF_PAST, speed=10.0, seed=3))
    strategies = (
        basket("pair", ["005930", "000660"], "09:01:03", "09:01:12"),
        basket("solo", ["035420"], "09:01:05", "09:01:14"),
    )
    events: list[object] = []
    async with sim.serve() as ep:
        cfg = dry_run_config(ep.rest_url, ep.ws_url, tmp_path, *strategies)
        async with daemon(sim, cfg, events) as kernel:  # type: ignore[arg-type]
            await until(lambda: kernel.stats.fills >= 6 and not kernel.portfolio.working()
                        and kernel.portfolio.open_position_count() == 0, within=20)  # fmt: skip
    async with Store.open(cfg.store.path) as store:
        live_orders, live_fills = await store.orders(), await store.fills()
    assert len(live_orders) == 6 and len(live_fills) >= 6
    (session,) = (tmp_path / "recordings").glob("*.jsonl.gz")  # what the daemon recorded
    assert session.name == "2026-11-20.1.jsonl.gz"
    replayed: ReplayResult = await replay_file(session, cfg, store_path=tmp_path / "replay.sqlite3")
    assert order_keys(replayed.orders) == order_keys(live_orders)
    assert fill_keys(replayed.fills) == fill_keys(live_fills)
    assert replayed.summary.stats.ticks > 0 and replayed.malformed == 0
    assert replayed.strategies["pair"].trades == 2
    assert replayed.strategies["solo"].trades == 1
