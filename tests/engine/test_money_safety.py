"""Money-safety scenarios of reliability-matrix.md against the real daemon and the simulator.

R4: an order whose outcome is unknown is never sent twice; R7: a fill reported twice (WebSocket
and REST) is booked once; R10: a daemon stopped with a working order adopts it and its missed
fills on restart. Each test checks the broker's side (what the simulator processed) and ours.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from bot.clock import kst
from bot.domain.account import OrderAction, OrderEvent, OrderStatus
from bot.domain.market import FeedDown, FeedResynced, TimerFired
from bot.domain.orders import IntentState, OrderDenied, OrderFilled, OrderUnknown, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState
from bot.engine.kernel import Kernel
from bot.engine.kernel_types import Reconcile, Reconciled, StateChanged, StrategyDisabled
from bot.market.ticks import floor_to_tick
from bot.store import StoreReader
from tests.engine.daemon_support import daemon, daemon_config, one_buy, until

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 10)
SPEED = 4.0  # simulated seconds per second: the scheduled buys and the market steps come sooner


def _orders(kernel: Kernel) -> list[Any]:
    return [o for o in kernel.portfolio.orders() if o.strategy == "buyer"]


@pytest.mark.parametrize("mode", ["hang", "500"])
async def test_r4_lost_reply_never_sends_twice(make_sim: Any, tmp_path: Path, mode: str) -> None:
    """The broker accepts the order but the reply is lost: one order at the broker, adopted by shape."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        sim.faults.lose_next_order_reply(mode)
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(), request_timeout_s=1.0, order_timeout_s=1.0)
        async with daemon(sim, cfg, events) as kernel:
            await until(lambda: any(isinstance(e, OrderUnknown) for e in events))
            await until(lambda: bool(_orders(kernel)) and bool(_orders(kernel)[0].order_no))
            order = _orders(kernel)[0]
            assert [a for a, _ in sim.stats.order_posts] == ["kt10000"]
            assert order.order_no in sim.exchange.orders
            assert order.state in (IntentState.ACCEPTED, IntentState.PARTIALLY_FILLED, IntentState.FILLED)
        async with StoreReader.open(tmp_path / "journal.sqlite3") as reader:
            rows = await reader.orders()
        assert [(r.intent.intent_id, r.intent.order_no) for r in rows] == [(order.intent_id, order.order_no)]


async def test_r4_server_error_before_accept_is_unknown_and_not_resent(make_sim: Any, tmp_path: Path) -> None:
    """A 500 before the broker processed anything: UNKNOWN, never resent, then NOT_PLACED after the watch."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="09:10:05"), request_timeout_s=1.0, order_timeout_s=1.0)
        async with daemon(sim, cfg, events) as kernel:
            kernel._unknown_recheck_s = 0.05  # test speed: check the broker every 50 ms
            await until(lambda: kernel.market.info("005930") is not None)  # the symbol lookup is done
            sim.faults.fail_rest(1, status=500)
            await until(lambda: any(isinstance(e, OrderUnknown) for e in events))
            await until(lambda: _orders(kernel)[0].state is IntentState.NOT_PLACED)
            assert sim.stats.order_posts == []
            assert sim.stats.rest_calls["kt10000"] == 1  # the one answered with HTTP 500, never processed


async def test_r4_reply_held_past_client_timeout(make_sim: Any, tmp_path: Path) -> None:
    """The reply comes after the client gave up: UNKNOWN first, then the 접수 push resolves it; one order."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="09:10:05"), request_timeout_s=0.5, order_timeout_s=0.5)
        async with daemon(sim, cfg, events) as kernel:
            await until(lambda: kernel.market.info("005930") is not None)  # the symbol lookup is done
            sim.faults.hang_next_reply(2.0)
            await until(lambda: any(isinstance(e, OrderUnknown) for e in events))
            await until(lambda: bool(_orders(kernel)[0].order_no))
            assert [a for a, _ in sim.stats.order_posts] == ["kt10000"]


async def test_r7_duplicate_fill_reports_are_booked_once(make_sim: Any, tmp_path: Path) -> None:
    """The same 체결 replayed on the feed and a REST reconciliation afterwards add nothing."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(krw=700_000))
        async with daemon(sim, cfg, events) as kernel:
            await until(lambda: bool(_orders(kernel)) and _orders(kernel)[0].state is IntentState.FILLED, 20)
            order = _orders(kernel)[0]
            fills = [e for e in events if isinstance(e, OrderFilled)]
            last = fills[-1]
            duplicate = OrderEvent(
                order.order_no, "0000000", order.code, "", OrderStatus.FILLED, OrderAction.NEW, order.side,
                order.qty, order.price, 0, order.facts.filled_amount, last.fill_no, last.price, last.qty,
                last.time, 0, 0, "", order.venue, "보통",
            )  # fmt: skip
            await kernel.post(duplicate)
            await kernel.post(duplicate)
            await kernel.post(Reconcile("test"))
            await until(lambda: kernel.stats.reconciles >= 2)
            assert kernel.stats.fills == len(fills)
            held = kernel.portfolio.position("buyer", order.code).qty
            assert held == order.qty == sum(h.qty for h in sim.exchange.holdings().values())
        async with StoreReader.open(tmp_path / "journal.sqlite3") as reader:
            booked = await reader.fills()
        assert sum(f.qty for f in booked) == order.qty


async def test_r10_restart_adopts_working_order_and_missed_fills(make_sim: Any, tmp_path: Path) -> None:
    """Stopped right after the order is accepted; it fills while down; the next start books the fill."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(krw=700_000))
        async with daemon(sim, cfg, events) as kernel:
            await until(lambda: bool(_orders(kernel)) and bool(_orders(kernel)[0].order_no))
            intent_id, order_no = _orders(kernel)[0].intent_id, _orders(kernel)[0].order_no
        await until(lambda: sim.exchange.orders[order_no].open_qty == 0, 20)  # filled while we were down
        events2: list[object] = []
        async with daemon(sim, cfg, events2) as kernel2:
            order = kernel2.portfolio.order(intent_id)
            assert order is not None and order.state is IntentState.FILLED
            assert kernel2.portfolio.position("buyer", order.code).qty == order.qty
            assert kernel2.stats.differences == 0
        async with StoreReader.open(tmp_path / "journal.sqlite3") as reader:
            booked = await reader.fills()
        assert sum(f.qty for f in booked) == order.qty
        assert [a for a, _ in sim.stats.order_posts] == ["kt10000"]


async def test_r21_dry_run_fills_locally_and_never_calls_an_order_endpoint(
    make_sim: Any, tmp_path: Path
) -> None:
    """In dry-run the live feed drives local fills; the broker sees market-data reads only."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(krw=700_000))
        cfg = cfg.model_copy(
            update={
                "broker": cfg.broker.model_copy(update={"mode": "dry-run", "dry_run_cash_krw": 5_000_000})
            }
        )
        async with daemon(sim, cfg, events) as kernel:
            await until(lambda: any(isinstance(e, OrderFilled) for e in events), 20)
            assert kernel.portfolio.position("buyer", "005930").qty > 0
        assert sim.stats.order_posts == []
        assert not {"kt10000", "kt10001", "kt10002", "kt10003"} & set(sim.stats.rest_calls)
        assert sim.exchange.orders == {}


async def test_r19_external_order_is_adopted_and_counted(make_sim: Any, tmp_path: Path) -> None:
    """An order placed from HTS is adopted as `_external`, and its fill becomes an external position."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path)
        async with daemon(sim, cfg, events) as kernel:
            kernel._unknown_recheck_s = 0.05  # test speed
            price = sim.market.last_price("005930")
            resting = sim.faults.inject_external_order(
                code="005930", side="buy", qty=3, price=price * 8 // 10 // 100 * 100
            )
            sim.faults.inject_external_order(code="000660", side="buy", qty=2)  # market: fills next step

            def adopted() -> bool:
                return any(o.external and o.order_no == resting for o in kernel.portfolio.orders())

            await until(adopted)
            await until(lambda: kernel.portfolio.position("_external", "000660").qty == 2, 20)
            assert kernel.portfolio.working_buy_notional(kernel.market, code="005930") > 0
            assert sim.stats.order_posts == []  # the bot itself placed nothing


async def test_stop_cancels_working_orders_when_configured(make_sim: Any, tmp_path: Path) -> None:
    """With cancel_working_orders_on_shutdown, a resting order is canceled at the broker on stop."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        cfg = cfg.model_copy(
            update={"risk": cfg.risk.model_copy(update={"cancel_working_orders_on_shutdown": True})}
        )
        async with daemon(sim, cfg, events) as kernel:
            low = floor_to_tick(sim.market.last_price("005930") * 85 // 100)
            await kernel.execute("buyer", SubmitOrder("buyer", "005930", Side.BUY, 2, OrderType.LIMIT, low))
            await until(lambda: bool(_orders(kernel)) and bool(_orders(kernel)[0].order_no))
            order_no = _orders(kernel)[0].order_no
            assert sim.exchange.orders[order_no].open_qty == 2
        assert sim.exchange.orders[order_no].open_qty == 0
        assert [a for a, _ in sim.stats.order_posts] == ["kt10000", "kt10003"]


class _Broken:
    """A plugin with a bug: every event raises."""

    def on_start(self, ctx: Any) -> list[Any]:
        return []

    def on_event(self, event: Any, ctx: Any) -> list[Any]:
        raise ZeroDivisionError("bug in the plugin")


async def test_a_failing_plugin_is_disabled_and_the_others_keep_running(
    make_sim: Any, tmp_path: Path
) -> None:
    """An exception in one strategy disables it, tells the operator, and the other still trades."""
    other = one_buy(krw=700_000).model_copy(update={"name": "other"})
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"), other)
        async with daemon(sim, cfg, events) as kernel:
            kernel.slots["buyer"].plugin = _Broken()  # type: ignore[assignment]
            await kernel.post(TimerFired("buyer", "any", sim.clock.now()))
            await until(lambda: any(isinstance(e, StrategyDisabled) for e in events))
            assert not kernel.slots["buyer"].enabled
            await until(lambda: any(isinstance(e, OrderFilled) and e.strategy == "other" for e in events), 20)


async def test_overfill_halts_trading(make_sim: Any, tmp_path: Path) -> None:
    """A fill report beyond the order quantity halts trading and persists HALTED."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(krw=700_000))
        async with daemon(sim, cfg, events) as kernel:
            await until(lambda: bool(_orders(kernel)) and _orders(kernel)[0].state is IntentState.FILLED, 20)
            order = _orders(kernel)[0]
            too_much = OrderEvent(
                order.order_no, "0000000", order.code, "", OrderStatus.FILLED, OrderAction.NEW, order.side,
                order.qty, order.price, -1, order.facts.filled_amount + order.price, "9999999",
                order.price, 1,
                sim.clock.now(), 0, 0, "", order.venue, "보통",
            )  # fmt: skip
            await kernel.post(too_much)
            await until(lambda: kernel.risk.state is TradingState.HALTED)
            assert any(isinstance(e, StateChanged) and "overfill" in e.reason for e in events)
        async with StoreReader.open(tmp_path / "journal.sqlite3") as reader:
            assert (await reader.read_trading_state()).state is TradingState.HALTED


async def test_a_journal_write_refused_behind_the_kernel_halts_trading(make_sim: Any, tmp_path: Path) -> None:
    """Notes and fills are journaled without the kernel waiting for the commit; one the disk refuses halts."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        async with daemon(sim, cfg, events) as kernel:
            store = kernel.store
            await store.set_max_page_count(await store.page_count())  # SQLITE_FULL at the next new page
            stats = store.writer_stats
            for n in range(40):  # one note at a time, until the disk refuses one
                commits = stats.transactions
                await kernel.post(FeedDown(f"{n} " + "x" * 3000, sim.clock.now()))
                await until(lambda c=commits: store.failed is not None or stats.transactions > c, 5)
                if store.failed is not None:
                    break
            # nothing is posted after the refused write: only its watcher can have halted trading
            await until(lambda: kernel.risk.state is TradingState.HALTED, 5)
            halts = [e for e in events if isinstance(e, StateChanged) and e.state is TradingState.HALTED]
            assert halts and halts[0].reason.startswith("journal write failed")
            assert store.failed is not None


async def test_r1_reconnect_pauses_entries_until_resync_reconciled(make_sim: Any, tmp_path: Path) -> None:
    """After a dropped socket the feed resubscribes, the broker is reconciled, then entries resume."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        async with daemon(sim, cfg, events) as kernel:
            assert kernel.synced
            sim.faults.drop_ws()
            await until(lambda: any(isinstance(e, FeedDown) for e in events))
            await until(lambda: any(isinstance(e, Reconciled) and e.reason == "resync" for e in events), 20)
            assert kernel.synced and kernel.stats.reconnects == 1
            assert any(isinstance(e, FeedResynced) for e in events)


async def test_r17_cli_kill_halts_a_running_daemon_within_a_second(make_sim: Any, tmp_path: Path) -> None:
    """`kiwoom-bot kill` from another process halts entries within ~1 s; `resume` re-arms them."""
    async with make_sim(start=START, speed=SPEED) as (sim, ep):
        events: list[object] = []
        cfg = daemon_config(ep, tmp_path, one_buy(at="15:00"))
        toml = tmp_path / "bot.toml"
        toml.write_text(f'[store]\npath = "{tmp_path / "journal.sqlite3"}"\n', encoding="utf-8")
        async with daemon(sim, cfg, events) as kernel:
            done = await anyio.run_process(
                [sys.executable, "-m", "bot", "kill", "--config", str(toml), "--reason", "test"], check=False
            )
            assert done.returncode == 0, done.stderr
            started = anyio.current_time()
            await until(lambda: kernel.risk.state is TradingState.HALTED, 5)
            assert anyio.current_time() - started < 2.5
            price = floor_to_tick(sim.market.last_price("005930"))
            await kernel.execute("buyer", SubmitOrder("buyer", "005930", Side.BUY, 1, OrderType.LIMIT, price))
            assert any(isinstance(e, OrderDenied) and e.rule == "trading_state" for e in events)
            done = await anyio.run_process(
                [sys.executable, "-m", "bot", "resume", "--config", str(toml)], check=False
            )
            assert done.returncode == 0
            await until(lambda: kernel.risk.state is TradingState.ACTIVE, 5)
