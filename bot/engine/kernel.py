"""The kernel: the single task that owns trading state and turns events into checked orders.

Every input — feed events, broker order pushes, router outcomes, timers, operator state changes —
arrives on one inbox and is handled to completion before the next (no locks, a total order of
events, replayable). For each event the kernel updates the market state and the portfolio, asks
the interested strategies (synchronous, no I/O), passes their commands through the risk gate and
hands approved ones to the router. Journal writes are awaited (nothing lost, invariant 3); a
failing store halts trading. It also beats a heartbeat the systemd watchdog reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup, TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bot.broker.port import Broker
from bot.clock import Clock
from bot.config import StrategyConfig
from bot.domain.account import BalanceEvent, OrderAction, OrderEvent, OrderStatus
from bot.domain.market import (
    ConditionExit,
    ConditionHit,
    ConditionSnapshot,
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
    CancelOrder,
    Command,
    IntentRecord,
    IntentState,
    ModifyOrder,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderUnknown,
    SubmitOrder,
)
from bot.domain.position import PositionState
from bot.domain.values import OrderType, Side, TradingState, Venue
from bot.engine.kernel_types import (
    BrokerView,
    EventSink,
    FeedControl,
    KernelInput,
    KernelStats,
    LocalFills,
    OperatorState,
    Reconcile,
    Reconciled,
    Reconfigure,
    StateChanged,
    StrategyDisabled,
    StrategySlot,
)
from bot.engine.market_state import MarketState, SymbolInfo
from bot.engine.orderstate import OrderFacts, Overfill
from bot.engine.portfolio import EXTERNAL, Portfolio, WorkingOrder
from bot.engine.reconcile import holding_diffs, reconcile_orders
from bot.engine.risk import Approved, RiskGate
from bot.engine.router import CancelJob, JournalFailed, Router, SubmitJob
from bot.engine.strategy import Strategy, StrategyContext, StrategyEvent
from bot.engine.timers import Timers
from bot.errors import KiwoomBotError
from bot.market.costs import CostModel, Market, commission
from bot.store import Fill, FillSource, Store, StoreFailed

log = structlog.get_logger(__name__)

# Journal states of an intent whose fate the broker has not confirmed: reconciled before trading.
_UNACKNOWLEDGED = frozenset({IntentState.PENDING_SEND, IntentState.SENT, IntentState.UNKNOWN})


class Kernel:
    """Owns the portfolio, the risk gate's state and the strategies; one event at a time."""

    def __init__(
        self,
        *,
        clock: Clock,
        store: Store,
        broker: Broker,
        router: Router,
        risk: RiskGate,
        portfolio: Portfolio,
        market: MarketState,
        timers: Timers,
        costs: CostModel,
        feed: FeedControl,
        sink: EventSink,
        local_fills: LocalFills | None = None,
        venue: Venue = Venue.KRX,
        unknown_recheck_s: float = 5.0,
        unknown_give_up_checks: int = 6,
    ) -> None:
        self.clock = clock
        self.store = store
        self.broker = broker
        self.router = router
        self.risk = risk
        self.portfolio = portfolio
        self.market = market
        self.timers = timers
        self.costs = costs
        self.feed = feed
        self.sink = sink
        self.local_fills = local_fills
        self.venue = venue
        self._pending: list[tuple[StrategySlot, Command]] = []
        self._cancel_on_ack: dict[str, tuple[StrategySlot, CancelOrder]] = {}
        self._reconcile_pending = False
        self._fetching = False
        self.slots: dict[str, StrategySlot] = {}
        self.stats = KernelStats()
        self.heartbeat = time.monotonic()
        self.synced = False
        self.accepting = True  # False once a stop began: no new intents, cancels still go out
        self.wedged = False  # test hook: a wedged kernel stops beating (watchdog tests)
        self._unknown_recheck_s = unknown_recheck_s
        self._unknown_give_up = unknown_give_up_checks
        self._unknown_checks: dict[str, int] = {}
        self._orphans: dict[str, list[OrderEvent]] = {}
        self._intent_seq = 0
        self._inbox: MemoryObjectSendStream[KernelInput] | None = None
        self._tg: TaskGroup | None = None
        self._state_version = -1

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

    async def _post(self, item: KernelInput) -> None:
        assert self._inbox is not None
        with anyio.fail_after(30):
            await self._inbox.send(item)

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
        await self._handle(item)
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
        elif isinstance(item, Reconcile):
            await self._reconcile(item.reason)
        elif isinstance(item, BrokerView):
            await self._apply_broker_view(item)
        elif isinstance(item, Reconfigure):
            self._reconfigure(item)
        elif isinstance(item, FeedDown):
            self.synced = False
            self.sink(item)
            await self._journal("reconnect", {"event": "down", "reason": item.reason})
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

    def _update(self, intent_id: str, change: Callable[[OrderFacts], OrderFacts]) -> WorkingOrder | None:
        order = self.portfolio.order(intent_id)
        if order is None:
            return None
        return self.portfolio.set_facts(intent_id, change(order.facts))

    async def _on_tick(self, tick: Tick) -> None:
        self.stats.ticks += 1
        self.market.on_tick(tick)
        if self.local_fills is not None:
            for event in self.local_fills.on_tick(tick):
                await self._on_order_event(event, FillSource.LOCAL)
        for slot in self.slots.values():
            if tick.code in slot.watched:
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

    def _deliver_start(self, slot: StrategySlot) -> None:
        self._run_plugin(slot, lambda: slot.plugin.on_start(slot.ctx))

    def _deliver(self, slot: StrategySlot, event: StrategyEvent) -> None:
        if slot.enabled:
            self._run_plugin(slot, lambda: slot.plugin.on_event(event, slot.ctx))

    def _run_plugin(self, slot: StrategySlot, call: Callable[[], Sequence[Command]]) -> None:
        if not slot.enabled:
            return
        try:
            commands = list(call())
        except Exception as exc:  # a plugin bug must not stop the others
            slot.enabled = False
            log.error("strategy_disabled", strategy=slot.config.name, error=repr(exc))
            self.sink(StrategyDisabled(slot.config.name, repr(exc), self.clock.now()))
            return
        self._pending.extend((slot, cmd) for cmd in commands)

    def _to_owner(self, strategy: str, event: StrategyEvent) -> None:
        slot = self.slots.get(strategy)
        if slot is not None:
            self._deliver(slot, event)

    async def _flush_commands(self) -> None:
        """Risk-check and route every command the strategies produced for the last event."""
        while self._pending:
            slot, cmd = self._pending.pop(0)
            await self._execute(slot, cmd)

    async def _execute(self, slot: StrategySlot, cmd: Command) -> None:
        now = self.clock.now()
        if isinstance(cmd, ModifyOrder):
            await self._deny(slot, cmd, "unsupported", "modify is not supported yet: cancel and re-enter")
            return
        if isinstance(cmd, CancelOrder):
            order = self.portfolio.order(cmd.intent_id)
            if order is not None and order.state.is_working and not order.order_no:
                # Not acknowledged yet: cancel the moment its number is known (or it is resolved).
                self._cancel_on_ack[cmd.intent_id] = (slot, cmd)
                return
        if isinstance(cmd, SubmitOrder) and not self.accepting:
            await self._deny(slot, cmd, "shutting_down", "the daemon is stopping: no new orders")
            return
        if isinstance(cmd, SubmitOrder) and cmd.side is Side.BUY and not self.synced:
            await self._deny(slot, cmd, "unsynced", "the feed is not synced with the broker: no entries")
            return
        decision = self.risk.check(cmd, self.portfolio, now)
        if not isinstance(decision, Approved):
            await self._deny(slot, cmd, decision.rule, decision.reason)
            return
        if isinstance(cmd, SubmitOrder):
            self._intent_seq += 1
            intent_id = f"{now:%Y%m%d}-{self._intent_seq:05d}"
            self.portfolio.add_order(WorkingOrder.from_command(intent_id, cmd, now))
            self.stats.submitted += 1
            self.sink(OrderSubmitted(intent_id, cmd, now))
            await self.router.submit(SubmitJob(intent_id, cmd, now))
        elif isinstance(cmd, CancelOrder):
            order = self.portfolio.order(cmd.intent_id)
            assert order is not None  # the gate approved it, so it exists and has a number
            await self.router.submit(CancelJob(cmd.intent_id, cmd, order.order_no, order.code, order.venue))

    async def _deny(self, slot: StrategySlot, cmd: Command, rule: str, reason: str) -> None:
        denial = OrderDenied(cmd, rule, reason, self.clock.now())
        self.stats.denied += 1
        self.stats.denials_by_rule[rule] = self.stats.denials_by_rule.get(rule, 0) + 1
        self.sink(denial)
        code = getattr(cmd, "code", "")
        await self._journal("denial", {"rule": rule, "reason": reason}, strategy=slot.config.name, code=code)
        self._deliver(slot, denial)

    # ------------------------------------------------------------------ orders
    async def _on_accepted(self, event: OrderAccepted) -> None:
        order = self._update(event.intent_id, lambda f: f.with_order_no(event.order_no))
        if order is not None:
            self.sink(event)
        for pending in self._orphans.pop(event.order_no, []):
            await self._on_order_event(pending, FillSource.WS)
        self._release_cancel(event.intent_id)

    def _release_cancel(self, intent_id: str) -> None:
        """A cancel asked for before the order had a number goes out now (if still useful)."""
        waiting = self._cancel_on_ack.pop(intent_id, None)
        order = self.portfolio.order(intent_id)
        if waiting is not None and order is not None and order.state.is_working and order.order_no:
            self._pending.append(waiting)

    def _match_unnumbered(self, ev: OrderEvent) -> WorkingOrder | None:
        """An order we sent but whose number we do not know yet, of exactly this shape."""
        matches = [
            o
            for o in self.portfolio.working(code=ev.code)
            if not o.order_no and o.side is ev.side and o.qty == ev.order_qty and o.price == ev.order_price
        ]
        return matches[0] if len(matches) == 1 else None

    async def _on_order_event(self, ev: OrderEvent, source: FillSource) -> None:
        if ev.action is OrderAction.CANCEL:
            if ev.status in (OrderStatus.CONFIRMED, OrderStatus.CANCELED):
                original = self.portfolio.by_order_no(ev.orig_order_no)
                if original is not None and original.state.is_working:
                    remaining = original.remaining_qty
                    self.portfolio.set_facts(original.intent_id, original.facts.with_canceled())
                    await self._journal_state(original.intent_id, "canceled")
                    canceled = OrderCanceled(
                        original.intent_id,
                        original.strategy,
                        original.order_no,
                        original.code,
                        original.side,
                        remaining,
                        self.clock.now(),
                    )
                    self.sink(canceled)
                    self._to_owner(original.strategy, canceled)
            return
        if ev.action is OrderAction.MODIFY and ev.status is not OrderStatus.FILLED:
            # The bot never modifies (it cancels and re-enters); a modify from HTS is reconciled.
            log.warning("modify_event_ignored", order_no=ev.order_no, orig=ev.orig_order_no)
            self._schedule_reconcile("external_modify")
            return
        order = self.portfolio.by_order_no(ev.order_no)
        if order is None:
            order = self._match_unnumbered(ev)
            if order is not None:
                order = self.portfolio.set_facts(order.intent_id, order.facts.with_order_no(ev.order_no))
                await self._journal_state(order.intent_id, "order number from the 접수 push", ev.order_no)
                self._release_cancel(order.intent_id)
        if order is None:
            # Ours whose REST reply is still on the way, or an order placed outside the bot: the
            # reply replays it, else the broker's view (reconciliation) adopts it as external.
            self._orphans.setdefault(ev.order_no, []).append(ev)
            self._schedule_reconcile("unknown_order_event")
            return
        if ev.status is OrderStatus.REJECTED:
            self.portfolio.set_facts(order.intent_id, order.facts.with_rejected())
            await self._journal_state(order.intent_id, f"거부 push: {ev.reject_reason}")
            rejected = OrderRejected(
                order.intent_id, order.strategy, order.code, order.side, ev.reject_reason, "거부", ev.time
            )
            self.sink(rejected)
            self._to_owner(order.strategy, rejected)
            return
        if ev.status is OrderStatus.FILLED:
            await self._book_fill(
                order, ev.order_qty - ev.remaining_qty, ev.cum_fill_amount, ev.fill_no, source
            )

    async def _book_fill(
        self, order: WorkingOrder, cum_qty: int, cum_amount: int, fill_no: str, source: FillSource
    ) -> None:
        """Merge a cumulative fill report; book only what it adds (duplicates and replays add nothing)."""
        try:
            facts, qty, amount = order.facts.with_cum_fill(cum_qty, cum_amount)
        except Overfill as exc:
            await self._set_state(TradingState.HALTED, f"overfill on {order.order_no}: {exc}", "engine")
            return
        if qty == 0:
            return
        order = self.portfolio.set_facts(order.intent_id, facts)
        price = amount // qty if amount else order.price
        now = self.clock.now()
        gross = qty * price
        fee = commission(gross, self.costs.commission_rate)  # an estimate; the broker's own is reconciled
        tax = 0
        if order.side is Side.SELL:
            info = self.market.info(order.code)
            tax = self.costs.taxes.tax(gross, now.date(), Market.KOSPI, tax_exempt=bool(info and info.is_etf))
        strategy = EXTERNAL if order.external else order.strategy
        self.portfolio.apply_fill(strategy, order.code, order.side, qty, price, fee, tax, now)
        self.stats.fills += 1
        try:
            await self.store.apply_fill(
                Fill(
                    order.intent_id,
                    order.order_no,
                    fill_no or f"c{cum_qty:07d}",
                    order.code,
                    order.side,
                    qty,
                    price,
                    fee,
                    tax,
                    now,
                    source,
                ),
                new_state=order.state,
            )
        except StoreFailed as exc:
            await self._set_state(TradingState.HALTED, f"journal write failed: {exc}", "store")
        except KiwoomBotError as exc:
            log.error("fill_not_journaled", order_no=order.order_no, error=str(exc))
        filled = OrderFilled(
            order.intent_id,
            order.strategy,
            order.order_no,
            fill_no,
            order.code,
            order.side,
            qty,
            price,
            fee,
            tax,
            order.filled_qty,
            order.qty - order.filled_qty if order.state.is_working else 0,
            now,
        )
        self.sink(filled)
        self._to_owner(order.strategy, filled)
        breach = self.risk.breach_daily_loss(self.portfolio)
        if breach and self.risk.state is TradingState.ACTIVE:
            await self._set_state(TradingState.HALTED, breach, "risk")

    # ------------------------------------------------------------------ reconciliation
    def _schedule_reconcile(self, reason: str) -> None:
        """Reconcile again shortly; requests made while one is pending share it."""
        if self._tg is not None and not self._reconcile_pending:
            self._reconcile_pending = True
            self._tg.start_soon(self._reconcile_later, reason)

    async def _reconcile_later(self, reason: str) -> None:
        await anyio.sleep(self._unknown_recheck_s)
        self._reconcile_pending = False
        await self._post(Reconcile(reason))

    async def _fetch_broker_view(self, reason: str) -> BrokerView | None:
        """The broker's open orders, fills and holdings, with the engine's working orders as of the ask."""
        orders = tuple(self.portfolio.working())
        try:
            with anyio.fail_after(60):
                open_orders = await self.broker.open_orders()
                fills = await self.broker.fills()
                holdings = await self.broker.holdings()
        except (KiwoomBotError, TimeoutError) as exc:
            log.warning("reconcile_failed", reason=reason, error=str(exc))
            self._schedule_reconcile(reason)
            return None
        return BrokerView(reason, orders, tuple(open_orders), tuple(fills), tuple(holdings))

    async def _reconcile(self, reason: str) -> None:
        """At startup: fetch and apply inline (nothing runs before it). Later: fetch off the kernel loop
        (the kernel keeps handling events and beating) and apply when the answer comes back."""
        if not self.synced and self._tg is not None and self.stats.reconciles == 0:
            view = await self._fetch_broker_view(reason)
            if view is not None:
                await self._apply_broker_view(view)
            return
        if self._fetching or self._tg is None:
            return
        self._fetching = True
        self._tg.start_soon(self._fetch_and_post, reason)

    async def _fetch_and_post(self, reason: str) -> None:
        try:
            view = await self._fetch_broker_view(reason)
        finally:
            self._fetching = False
        if view is not None:
            await self._post(view)

    async def _apply_broker_view(self, view: BrokerView) -> None:
        """Merge a broker snapshot; only orders the engine knew when it asked are judged by it."""
        reason, holdings = view.reason, list(view.holdings)
        open_orders, fills = list(view.open_orders), list(view.fills)
        self.stats.reconciles += 1
        if reason == "resync":
            self.synced = True
        result = reconcile_orders(list(view.orders), open_orders, fills)
        detail: list[str] = []
        asked = {o.intent_id: o.order_no for o in view.orders}
        for sync in result.syncs:
            order = self.portfolio.order(sync.intent_id)
            if order is None or (order.order_no and asked.get(sync.intent_id) not in ("", order.order_no)):
                continue
            if not order.order_no:
                order = self.portfolio.set_facts(order.intent_id, order.facts.with_order_no(sync.order_no))
                await self._journal_state(order.intent_id, "adopted", sync.order_no)
                self._release_cancel(order.intent_id)
                detail.append(f"adopted {sync.order_no} for {order.intent_id}")
            await self._book_fill(
                order, sync.cum_qty, sync.cum_amount, f"r{sync.cum_qty:07d}", FillSource.REST
            )
            order = self.portfolio.order(sync.intent_id) or order
            if not sync.still_open and order.state.is_working:
                self.portfolio.set_facts(order.intent_id, order.facts.with_canceled())
                await self._journal_state(order.intent_id, "closed at broker")
        for intent_id in result.missing:
            checks = self._unknown_checks.get(intent_id, 0) + 1
            self._unknown_checks[intent_id] = checks
            if checks >= self._unknown_give_up:
                order = self._update(intent_id, lambda f: f.with_not_placed())
                await self._journal_state(intent_id, "not found at the broker")
                detail.append(f"{intent_id} not placed")
            else:
                self._schedule_reconcile("order_unknown")
        for ext in result.external_orders:
            # An order placed outside the bot (HTS/MTS): tracked under `_external` so exposure and
            # limits include it, and its fills are booked like ours (R19).
            self._intent_seq += 1
            intent_id = f"{self.clock.now():%Y%m%d}-{self._intent_seq:05d}-ext"
            cmd = SubmitOrder(
                EXTERNAL, ext.code, ext.side, ext.order_qty, OrderType.LIMIT, ext.order_price, ext.venue
            )
            order = replace(
                WorkingOrder.from_command(intent_id, cmd, self.clock.now()),
                external=True,
                facts=OrderFacts(qty=ext.order_qty, sent=True, order_no=ext.order_no),
            )
            try:
                await self.store.insert_intent(
                    IntentRecord(intent_id, cmd, order.state, order.created_at, ext.order_no, external=True)
                )
            except KiwoomBotError as exc:
                log.error("external_order_not_journaled", order_no=ext.order_no, error=str(exc))
                continue
            self.portfolio.add_order(order)
            await self._book_fill(
                order, ext.filled_qty, ext.cum_fill_amount, f"r{ext.filled_qty:07d}", FillSource.REST
            )
            detail.append(f"external order {ext.order_no} {ext.side} {ext.code} x{ext.order_qty} adopted")
        engine_qty: dict[str, int] = {}
        for (_, code), pos in self.portfolio.positions().items():
            engine_qty[code] = engine_qty.get(code, 0) + pos.qty
        for diff in holding_diffs(holdings, engine_qty):
            delta = diff.broker_qty - diff.engine_qty
            ext_pos = self.portfolio.position(EXTERNAL, diff.code)
            new_qty = ext_pos.qty + delta
            self.portfolio.set_position(
                EXTERNAL, diff.code, PositionState(new_qty, new_qty * diff.avg_price), self.clock.now()
            )
            try:
                await self.store.adjust_position(
                    EXTERNAL,
                    diff.code,
                    qty=new_qty,
                    avg_price=diff.avg_price,
                    time=self.clock.now(),
                    reason=f"reconcile ({reason}): broker {diff.broker_qty}, engine {diff.engine_qty}",
                )
            except KiwoomBotError as exc:
                log.error("position_adjust_failed", code=diff.code, error=str(exc))
            detail.append(f"holding {diff.code} broker {diff.broker_qty} engine {diff.engine_qty}")
        differences = sum(1 for d in detail if not d.startswith("adopted"))
        self.stats.differences += differences
        report = Reconciled(reason, len(result.syncs), differences, tuple(detail), self.clock.now())
        self.sink(report)
        await self._journal("reconcile", {"reason": reason, "differences": differences, "detail": detail})

    # ------------------------------------------------------------------ state and journal
    async def _set_state(self, state: TradingState, reason: str, by: str) -> None:
        if self.risk.state is state:
            return
        self.risk.state = state
        log.warning("trading_state_changed", state=state, reason=reason, by=by)
        self.sink(StateChanged(state, reason, by, self.clock.now()))
        try:
            record = await self.store.set_trading_state(state, reason, by, time=self.clock.now())
            self._state_version = record.version
        except KiwoomBotError as exc:
            log.error("trading_state_not_persisted", error=str(exc))

    async def _journal(
        self, kind: str, detail: dict[str, Any], *, strategy: str = "", code: str = ""
    ) -> None:
        try:
            await self.store.append_journal(kind, detail, time=self.clock.now(), strategy=strategy, code=code)
        except StoreFailed as exc:
            await self._set_state(TradingState.HALTED, f"journal write failed: {exc}", "store")
        except KiwoomBotError as exc:
            log.error("journal_append_failed", kind=kind, error=str(exc))

    async def _journal_state(self, intent_id: str, detail: str, order_no: str | None = None) -> None:
        order = self.portfolio.order(intent_id)
        if order is None:
            return
        try:
            await self.store.transition_intent(
                intent_id, order.state, time=self.clock.now(), order_no=order_no, detail=detail
            )
        except StoreFailed as exc:
            await self._set_state(TradingState.HALTED, f"journal write failed: {exc}", "store")
        except KiwoomBotError as exc:
            log.error("intent_transition_failed", intent_id=intent_id, error=str(exc))
