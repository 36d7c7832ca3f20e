"""The kernel: the single task that owns trading state and turns events into checked orders.

Every input — feed events, broker order pushes, router outcomes, timers, operator state changes —
arrives on one inbox and is handled to completion before the next (no locks, a total order of
events, replayable). For each event the kernel updates the market state and the portfolio, asks
the interested strategies (synchronous, no I/O), passes their commands through the risk gate and
hands approved ones to the router. Journal writes are awaited (nothing lost, invariant 3); a
failing store halts trading. It also beats a heartbeat the systemd watchdog reads, and publishes
`FeedStorm` when the feed drops STORM_COUNT times within STORM_WINDOW.

This module holds the run loop and the dispatch; the behaviour is layered in small modules, each a
base class of the next: `kernel_core` (state, journal, strategy calls, the risk-then-router path)
→ `kernel_fills` (order events, fill booking) → `kernel_reconcile` (the broker's view merged) →
`kernel_flatten` (the operator's exit-everything) → `Kernel`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bot.config import StrategyConfig
from bot.domain.account import BalanceEvent, OrderEvent
from bot.domain.market import (
    ConditionExit,
    ConditionHit,
    ConditionSnapshot,
    FeedAuthFailed,
    FeedDown,
    FeedResynced,
    OrderBook,
    SessionChanged,
    SessionKickedEvent,
    Tick,
    TimerFired,
    ViReleased,
    ViTriggered,
)
from bot.domain.orders import (
    Command,
    IntentState,
    OrderAccepted,
    OrderDenied,
    OrderRejected,
    OrderSubmitted,
    OrderUnknown,
)
from bot.domain.position import PositionState
from bot.domain.values import TradingState
from bot.engine.kernel_flatten import Flattening
from bot.engine.kernel_types import (
    BrokerView,
    FeedStorm,
    Flatten,
    KernelInput,
    OperatorState,
    Reconcile,
    Reconfigure,
    StateChanged,
    StrategySlot,
)
from bot.engine.market_state import SymbolInfo
from bot.engine.orderstate import OrderFacts
from bot.engine.portfolio import WorkingOrder
from bot.engine.router import JournalFailed
from bot.engine.strategy import Strategy, StrategyContext
from bot.errors import KiwoomBotError
from bot.store import FillSource, Queued

log = structlog.get_logger(__name__)

STORM_COUNT = 5  # this many feed drops ...
STORM_WINDOW = timedelta(minutes=10)  # ... within this long are a reconnect storm (FeedStorm)
JOURNAL_BEHIND = 10_000  # journal writes queued by the kernel whose outcome is not checked yet

# Journal states of an intent whose fate the broker has not confirmed: reconciled before trading.
_UNACKNOWLEDGED = frozenset({IntentState.PENDING_SEND, IntentState.SENT, IntentState.UNKNOWN})


class Kernel(Flattening):
    """Owns the portfolio, the risk gate's state and the strategies; one event at a time."""

    _feed_downs: tuple[datetime, ...] = ()  # FeedDown times inside the storm window
    _storm_at: datetime | None = None  # when the last FeedStorm was published

    # ------------------------------------------------------------------ wiring
    def add_strategy(self, config: StrategyConfig, plugin: Strategy, condition_seq: str = "") -> StrategySlot:
        """Register a configured plugin before `run`."""
        ctx = StrategyContext(
            config,
            self.clock,
            self.portfolio,
            self.market,
            venue=self.venue,
            on_timer=self.timers.set,
            on_watch=self._on_watch,
        )
        slot = StrategySlot(config, plugin, ctx, condition_seq)
        self.slots[config.name] = slot
        return slot

    def _on_watch(self, strategy: str, code: str, on: bool) -> None:
        slot = self.slots[strategy]
        if not on:
            slot.watched.discard(code)
            self._on_watch_removed(code)
            return
        slot.watched.add(code)
        if self._tg is not None:
            self._tg.start_soon(self._subscribe, code)

    async def _subscribe(self, code: str) -> None:
        """Subscribe ticks and fetch name/limits for a symbol, off the kernel's path."""
        try:
            with anyio.fail_after(30):
                await self.feed.watch([code])
                if self.market.info(code) is None:
                    info = await self.broker.stock_info(code)
                    await self._post(
                        SymbolInfo(info.code, info.name, info.base_price, info.upper_limit, info.lower_limit)
                    )
        except (KiwoomBotError, TimeoutError) as exc:
            log.warning("symbol_setup_failed", code=code, error=str(exc))

    async def execute(self, strategy: str, cmd: Command) -> None:
        """Run one command through the same risk gate and router as a plugin's (operator, tests)."""
        await self._execute(self.slots[strategy], cmd)

    async def post(self, item: KernelInput) -> None:
        """Put an input on the kernel's inbox (operator commands, replays, tests)."""
        await self._post(item)

    async def _unsubscribe(self, code: str) -> None:
        """Stop ticks nobody needs any more (fewer frames, less work), off the kernel's path."""
        try:
            with anyio.fail_after(30):
                await self.feed.unwatch([code])
        except (KiwoomBotError, TimeoutError) as exc:
            log.warning("symbol_unwatch_failed", code=code, error=str(exc))

    # ------------------------------------------------------------------ lifecycle
    async def run(
        self,
        inbox: MemoryObjectReceiveStream[KernelInput],
        inbox_send: MemoryObjectSendStream[KernelInput],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Recover, reconcile, start the strategies, report ready, then process events until cancelled."""
        self._inbox = inbox_send
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self._behind, behind = anyio.create_memory_object_stream[tuple[Queued[Any], str]](JOURNAL_BEHIND)
            tg.start_soon(self._watch_journal, behind)
            await self._recover()
            await self._reconcile("startup")
            self.synced = True
            for slot in list(self.slots.values()):
                self._deliver_start(slot)
            await self._flush_commands()
            tg.start_soon(self._poll_trading_state)
            self.heartbeat = time.monotonic()
            task_status.started()
            log.info("kernel_ready", strategies=len(self.slots), state=self.risk.state)
            while True:
                item: KernelInput = None
                with anyio.move_on_after(1.0):  # wake at least once a second to beat the heartbeat
                    item = await inbox.receive()
                if item is not None:  # handled outside the timeout: an event is never cut in half
                    await self.process(item)
                if not self.wedged:
                    self.heartbeat = time.monotonic()

    async def _recover(self) -> None:
        """Load the journal: working intents, positions, today's realized P&L and the kill switch."""
        today = self.clock.now().date()
        for rec in await self.store.load_working_intents():
            facts = OrderFacts(
                qty=rec.command.qty,
                sent=True,
                unknown=rec.state in _UNACKNOWLEDGED,
                order_no=rec.order_no,
                filled_qty=rec.filled_qty,
                filled_amount=rec.filled_amount,
            )
            order = WorkingOrder.from_command(rec.intent_id, rec.command, rec.created_at)
            self.portfolio.add_order(replace(order, facts=facts))
        for row in await self.store.positions():
            self.portfolio.set_position(
                row.strategy,
                row.code,
                PositionState(row.qty, row.cost_basis, row.realized_pnl, row.fees, row.taxes),
                row.updated_at,
            )
        self.portfolio.realized_today = sum(
            d.realized_pnl for d in await self.store.daily_pnl(start=today, end=today)
        )
        state = await self.store.read_trading_state()
        self.risk.state = state.state
        self._state_version = state.version
        self._intent_seq = len(await self.store.orders(trade_date=today))

    async def _poll_trading_state(self) -> None:
        """Pick up a kill switch thrown from another process within a second."""
        while True:
            await anyio.sleep(1.0)
            try:
                record = await self.store.read_trading_state()
            except KiwoomBotError as exc:
                log.warning("trading_state_poll_failed", error=str(exc))
                continue
            if record.version != self._state_version:
                self._state_version = record.version
                await self._post(OperatorState(record.state, record.reason, record.changed_by))

    # ------------------------------------------------------------------ dispatch
    async def process(self, item: KernelInput) -> None:
        """Handle one input completely (strategies called, commands checked and routed).

        The run loop calls this for each inbox item; a replay calls it directly, one item at a time.
        """
        self.stats.events += 1
        if type(item) is Tick:  # the hot path: most inputs are trade prints, most cause no fill
            fills = self._tick_fills(item)
            if fills:
                for event in fills:
                    await self._on_order_event(event, FillSource.LOCAL)
            self._deliver_tick(item)
        else:
            await self._handle(item)
        if self._pending:
            await self._flush_commands()

    async def _handle(self, item: KernelInput) -> None:
        if isinstance(item, Tick):
            await self._on_tick(item)
        elif isinstance(item, OrderEvent):
            await self._on_order_event(item, FillSource.WS)
        elif isinstance(item, ConditionHit | ConditionExit):
            await self._on_condition(item)
        elif isinstance(item, TimerFired):
            slot = self.slots.get(item.strategy)
            if slot is not None:
                self._deliver(slot, item)
        elif isinstance(item, ViTriggered | ViReleased):
            self.market.on_vi(item)
            if self.local_fills is not None:
                for event in self.local_fills.on_vi(item):
                    await self._on_order_event(event, FillSource.LOCAL)
            for slot in self.slots.values():
                if item.code in slot.watched:
                    self._deliver(slot, item)
        elif isinstance(item, SessionChanged):  # a new phase (and, at the first one, a new day)
            self.sink(item)
            for slot in self.slots.values():
                self._deliver(slot, item)
        elif isinstance(item, SymbolInfo):
            known = self.market.info(item.code) is not None
            self.market.set_info(item)
            if not known:  # the journal remembers names for the operator's tables
                await self._journal(
                    "stock_info",
                    {"name": item.name, "base_price": item.base_price, "upper": item.upper_limit,
                     "lower": item.lower_limit},
                    code=item.code,
                )  # fmt: skip
        elif isinstance(item, OrderSubmitted):
            self._update(item.intent_id, lambda f: f.with_sent())
        elif isinstance(item, OrderAccepted):
            await self._on_accepted(item)
        elif isinstance(item, OrderRejected):
            self._update(item.intent_id, lambda f: f.with_rejected())
            self.stats.rejected += 1
            self._to_owner(item.strategy, item)
        elif isinstance(item, OrderUnknown):
            self._update(item.intent_id, lambda f: f.with_unknown())
            self.stats.unknown += 1
            self.sink(item)
            await self._journal("order_unknown", {"intent_id": item.intent_id, "reason": item.reason})
            self._schedule_reconcile("order_unknown")
        elif isinstance(item, OrderDenied):  # a cancel/modify the broker refused
            # Usually the order filled or was canceled in the meantime and its push is on the way;
            # the broker's view settles it either way.
            self._schedule_reconcile("cancel_refused")
            self._to_owner(item.command.strategy, item)
        elif isinstance(item, JournalFailed):
            order = self.portfolio.order(item.intent_id)
            if order is not None and order.state is IntentState.PENDING_SEND:  # never sent
                self.portfolio.set_facts(item.intent_id, order.facts.with_rejected())
            await self._set_state(TradingState.HALTED, f"journal write failed: {item.error}", "store")
        elif isinstance(item, OperatorState):
            if item.state is not self.risk.state:
                self.risk.state = item.state
                self.sink(StateChanged(item.state, item.reason, item.by, self.clock.now()))
            if item.state is TradingState.ACTIVE:
                self._flattening = False  # resumed: late entry fills are the strategies' again
        elif isinstance(item, Reconcile):
            await self._reconcile(item.reason)
        elif isinstance(item, BrokerView):
            await self._apply_broker_view(item)
        elif isinstance(item, Reconfigure):
            self._reconfigure(item)
        elif isinstance(item, FeedAuthFailed):
            self.sink(item)
            await self._journal("reconnect", {"event": "auth_failed", "reason": item.reason})
        elif isinstance(item, FeedDown):
            self.synced = False
            self.sink(item)
            await self._journal("reconnect", {"event": "down", "reason": item.reason})
            self._watch_storm(item)
        elif isinstance(item, Flatten):
            await self._flatten(item)
        elif isinstance(item, FeedResynced):
            self.stats.reconnects += 1
            self.sink(item)
            await self._journal("reconnect", {"event": "resynced", "reconnects": item.reconnects})
            await self._reconcile("resync")  # entries stay paused until its answer is applied
        elif isinstance(item, SessionKickedEvent):
            self.synced = False
            self.sink(item)
            await self._set_state(TradingState.HALTED, f"feed kicked: {item.message}", "feed")
        elif isinstance(item, BalanceEvent | OrderBook | ConditionSnapshot):
            pass  # holdings come from fills; books and snapshots are not used by the shipped rules

    async def _on_tick(self, tick: Tick) -> None:
        for event in self._tick_fills(tick):
            await self._on_order_event(event, FillSource.LOCAL)
        self._deliver_tick(tick)

    def _tick_fills(self, tick: Tick) -> list[OrderEvent]:
        """Note the print; what it filled of the local (dry-run) orders, applied before strategies see it."""
        self.stats.ticks += 1
        self.market.on_tick(tick)
        return self.local_fills.on_tick(tick) if self.local_fills is not None else []

    def _deliver_tick(self, tick: Tick) -> None:
        code = tick.code
        for slot in self.slots.values():
            if code in slot.watched:
                self._deliver(slot, tick)

    async def _on_condition(self, event: ConditionHit | ConditionExit) -> None:
        hit = isinstance(event, ConditionHit)
        if hit:
            self.stats.condition_hits += 1
        interested = [s for s in self.slots.values() if s.condition_seq and s.condition_seq == event.seq]
        if interested:
            self.sink(event)
            await self._journal(
                "condition_hit" if hit else "condition_exit",
                {"seq": event.seq, **({"name": info.name} if (info := self.market.info(event.code)) else {})},
                code=event.code,
            )
        for slot in interested:
            self._deliver(slot, event)

    # ------------------------------------------------------------------ strategies
    def _reconfigure(self, item: Reconfigure) -> None:
        """Apply a reloaded strategy set: removed ones stop, new or changed ones start afresh.

        A changed strategy gets a new plugin instance; its positions and working orders stay in the
        portfolio and the plugin adopts them in `on_start`. Unchanged ones keep running untouched.
        """
        wanted = {cfg.name: (cfg, plugin, seq) for cfg, plugin, seq in item.strategies}
        for name, slot in list(self.slots.items()):
            if name not in wanted:
                slot.enabled = False
                del self.slots[name]
                for code in list(slot.watched):
                    self._on_watch_removed(code)
        started = []
        for name, (cfg, plugin, seq) in wanted.items():
            old = self.slots.get(name)
            if old is not None and old.config == cfg and old.condition_seq == seq and old.enabled:
                continue
            slot = self.add_strategy(cfg, plugin, seq)
            if old is not None:
                slot.watched |= old.watched
            started.append(slot)
        for slot in started:
            self._deliver_start(slot)
        log.info(
            "strategies_reloaded", running=sorted(self.slots), restarted=[s.config.name for s in started]
        )

    def _on_watch_removed(self, code: str) -> None:
        if not any(code in s.watched for s in self.slots.values()) and self.portfolio.symbol_qty(code) == 0:
            if self._tg is not None:
                self._tg.start_soon(self._unsubscribe, code)

    def _watch_storm(self, down: FeedDown) -> None:
        """Publish `FeedStorm` when STORM_COUNT drops fall within STORM_WINDOW (once per window)."""
        start = down.time - STORM_WINDOW
        self._feed_downs = (*(t for t in self._feed_downs if t > start), down.time)
        if len(self._feed_downs) < STORM_COUNT:
            return
        if self._storm_at is not None and down.time - self._storm_at < STORM_WINDOW:
            return
        self._storm_at = down.time
        log.warning("feed_storm", count=len(self._feed_downs), window_s=int(STORM_WINDOW.total_seconds()))
        self.sink(FeedStorm(len(self._feed_downs), int(STORM_WINDOW.total_seconds()), down.time))
