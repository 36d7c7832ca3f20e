"""The operator's flatten against the real daemon and the simulator: REDUCING, entries canceled, one
market sell per strategy position, positions flat, HTS holdings untouched, nothing re-enters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.clock import kst
from bot.domain.orders import OrderCanceled, OrderDenied, OrderFilled, OrderSubmitted, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState
from bot.engine.kernel import Kernel
from bot.engine.kernel_types import Flatten, FlattenStarted, StateChanged
from bot.market.ticks import floor_to_tick
from bot.store import StoreReader
from tests.engine.daemon_support import daemon, daemon_config, one_buy, until

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 10)
SPEED = 4.0  # simulated seconds per second: the scheduled buys and the market steps come sooner


def _held(kernel: Kernel, strategy: str, code: str) -> int:
    return kernel.portfolio.position(strategy, code).qty


async def test_flatten_sells_every_strategy_position_and_nothing_reenters(
    make_sim: Any, tmp_path: Path
) -> None:
    """Two strategy positions and a resting entry: REDUCING, the entry canceled, two market sells, flat."""
    second = one_buy("000660", krw=700_000).model_copy(update={"name": "buyer2"})
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(krw=700_000), second)
        async with daemon(sim, cfg, events) as kernel:
            await until(
                lambda: _held(kernel, "buyer", "005930") > 0 and _held(kernel, "buyer2", "000660") > 0, 20
            )
            await until(lambda: not kernel.portfolio.working(), 20)
            sim.faults.inject_external_order(code="035720", side="buy", qty=4)  # an HTS buy, market
            await until(lambda: _held(kernel, "_external", "035720") == 4, 20)
            low = floor_to_tick(sim.market.last_price("005930") * 85 // 100)
            await kernel.execute("buyer", SubmitOrder("buyer", "005930", Side.BUY, 1, OrderType.LIMIT, low))
            await until(lambda: any(o.side is Side.BUY and o.order_no for o in kernel.portfolio.working()))
            posts_before = len(sim.stats.order_posts)

            await kernel.post(Flatten("operator", "test"))
            await until(lambda: any(isinstance(e, FlattenStarted) for e in events))
            started = next(e for e in events if isinstance(e, FlattenStarted))
            assert (started.positions, started.orders, started.canceled, started.skipped) == (2, 2, 1, ())
            assert kernel.risk.state is TradingState.REDUCING
            assert any(isinstance(e, StateChanged) and e.state is TradingState.REDUCING for e in events)
            await until(
                lambda: _held(kernel, "buyer", "005930") == 0 and _held(kernel, "buyer2", "000660") == 0, 20
            )
            await until(lambda: any(isinstance(e, OrderCanceled) and e.side is Side.BUY for e in events))

            after = sim.stats.order_posts[posts_before:]
            sells = [body for api, body in after if api == "kt10001"]
            assert sorted((b["stk_cd"], b["trde_tp"], b["ord_uv"]) for b in sells) == [
                ("000660", "3", ""),
                ("005930", "3", ""),
            ]
            assert "kt10000" not in [api for api, _ in after]  # no re-entry
            assert _held(kernel, "_external", "035720") == 4  # HTS holdings are not touched
            flatten_orders = [
                e.command for e in events if isinstance(e, OrderSubmitted) and e.command.reason == "flatten"
            ]
            assert {(c.strategy, c.is_exit, c.order_type) for c in flatten_orders} == {
                ("buyer", True, OrderType.MARKET),
                ("buyer2", True, OrderType.MARKET),
            }
            assert not [e for e in events if isinstance(e, OrderDenied) and e.command in flatten_orders]

            for strategy in ("buyer", "buyer2"):
                fills = [e for e in events if isinstance(e, OrderFilled) and e.strategy == strategy]
                buys = [f for f in fills if f.side is Side.BUY]
                sells_f = [f for f in fills if f.side is Side.SELL]
                assert all(f.realized_pnl is None for f in buys) and sells_f
                bought = sum(f.qty * f.price for f in buys)
                sold = sum(f.qty * f.price for f in sells_f)
                costs = sum(f.fee + f.tax for f in sells_f)
                assert sum(f.realized_pnl or 0 for f in sells_f) == sold - bought - costs
                assert all(f.tax > 0 for f in sells_f)
        async with StoreReader.open(tmp_path / "journal.sqlite3") as reader:
            assert (await reader.read_trading_state()).state is TradingState.REDUCING


async def test_flatten_with_nothing_held_reports_zero_and_still_reduces(
    make_sim: Any, tmp_path: Path
) -> None:
    """A flatten with no positions sends nothing, says so, and still stops new entries."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        async with daemon(sim, cfg, events) as kernel:
            await kernel.post(Flatten("slack:U0123ABCDEF", "end of day"))
            await until(lambda: any(isinstance(e, FlattenStarted) for e in events))
            started = next(e for e in events if isinstance(e, FlattenStarted))
            assert (started.by, started.positions, started.orders, started.canceled) == (
                "slack:U0123ABCDEF",
                0,
                0,
                0,
            )
            assert kernel.risk.state is TradingState.REDUCING
            await kernel.execute("buyer", SubmitOrder("buyer", "005930", Side.BUY, 1, OrderType.MARKET, 0))
            denial = next(e for e in events if isinstance(e, OrderDenied))
            assert denial.rule == "trading_state"
            assert sim.stats.order_posts == []
