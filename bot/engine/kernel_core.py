"""The kernel's core: its state, the journal and trading-state writes, strategy calls and the path
every command takes (risk gate, then router). The kernel's behaviour modules build on it:
`kernel_fills` (order events and fill booking), `kernel_reconcile` (the broker's view applied),
`kernel_flatten` (the operator's exit-everything) and `kernel` (the run loop and dispatch).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import structlog
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bot.broker.port import Broker
from bot.clock import Clock
from bot.domain.account import OrderEvent
from bot.domain.orders import (
    CancelOrder,
    Command,
    ModifyOrder,
    OrderDenied,
    OrderSubmitted,
    SubmitOrder,
)
from bot.domain.values import Side, TradingState, Venue
from bot.engine.kernel_types import (
    EventSink,
    FeedControl,
    KernelInput,
    KernelStats,
    LocalFills,
    Reconcile,
    StateChanged,
    StrategyDisabled,
    StrategySlot,
)
from bot.engine.market_state import MarketState
from bot.engine.orderstate import OrderFacts
from bot.engine.portfolio import Portfolio, WorkingOrder
from bot.engine.risk import Approved, MarketGuard, RiskGate
from bot.engine.router import CancelJob, JournalFailed, Router, SubmitJob
from bot.engine.strategy import StrategyEvent
from bot.engine.timers import Timers
from bot.errors import KiwoomBotError
from bot.market.costs import CostModel
from bot.store import Queued, Store, StoreFailed

log = structlog.get_logger(__name__)


class KernelCore:
    """The kernel's state and the primitives its behaviour modules share (one task, no locks)."""

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
        guard: MarketGuard | None = None,
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
        self.guard = guard  # the market clock, asked which order type an exit may use now
        # (the strategy to tell about a denial — None for the operator's own commands, command)
        self._pending: list[tuple[StrategySlot | None, Command]] = []
        self._cancel_on_ack: dict[str, tuple[StrategySlot | None, CancelOrder]] = {}
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
        self._behind: MemoryObjectSendStream[tuple[Queued[Any], str]] | None = None  # see _write_behind

    async def _post(self, item: KernelInput) -> None:
        assert self._inbox is not None
        with anyio.fail_after(30):
            await self._inbox.send(item)

    def _update(self, intent_id: str, change: Callable[[OrderFacts], OrderFacts]) -> WorkingOrder | None:
        order = self.portfolio.order(intent_id)
        if order is None:
            return None
        return self.portfolio.set_facts(intent_id, change(order.facts))

    # ------------------------------------------------------------------ strategies
    def _deliver_start(self, slot: StrategySlot) -> None:
        self._run_plugin(slot, lambda: slot.plugin.on_start(slot.ctx))

    def _deliver(self, slot: StrategySlot, event: StrategyEvent) -> None:
        """`_run_plugin` for `on_event`, written out: it runs for every tick a strategy watches."""
        if not slot.enabled:
            return
        try:
            commands = list(slot.plugin.on_event(event, slot.ctx))
        except Exception as exc:  # a plugin bug must not stop the others
            self._disable(slot, exc)
            return
        if commands:
            self._pending.extend((slot, cmd) for cmd in commands)

    def _run_plugin(self, slot: StrategySlot, call: Callable[[], Sequence[Command]]) -> None:
        if not slot.enabled:
            return
        try:
            commands = list(call())
        except Exception as exc:  # a plugin bug must not stop the others
            self._disable(slot, exc)
            return
        self._pending.extend((slot, cmd) for cmd in commands)

    def _disable(self, slot: StrategySlot, exc: Exception) -> None:
        slot.enabled = False
        log.error("strategy_disabled", strategy=slot.config.name, error=repr(exc))
        self.sink(StrategyDisabled(slot.config.name, repr(exc), self.clock.now()))

    def _to_owner(self, strategy: str, event: StrategyEvent) -> None:
        slot = self.slots.get(strategy)
        if slot is not None:
            self._deliver(slot, event)

    async def _flush_commands(self) -> None:
        """Risk-check and route every command the strategies produced for the last event."""
        while self._pending:
            slot, cmd = self._pending.pop(0)
            await self._execute(slot, cmd)

    async def _execute(self, slot: StrategySlot | None, cmd: Command) -> OrderDenied | None:
        """Check one command and route it if approved; the denial if not (told to `slot`'s plugin)."""
        now = self.clock.now()
        if isinstance(cmd, ModifyOrder):
            return await self._deny(
                slot, cmd, "unsupported", "modify is not supported yet: cancel and re-enter"
            )
        if isinstance(cmd, CancelOrder):
            order = self.portfolio.order(cmd.intent_id)
            if order is not None and order.state.is_working and not order.order_no:
                # Not acknowledged yet: cancel the moment its number is known (or it is resolved).
                self._cancel_on_ack[cmd.intent_id] = (slot, cmd)
                return None
        if isinstance(cmd, SubmitOrder) and not self.accepting:
            return await self._deny(slot, cmd, "shutting_down", "the daemon is stopping: no new orders")
        if isinstance(cmd, SubmitOrder) and cmd.side is Side.BUY and not self.synced:
            return await self._deny(
                slot, cmd, "unsynced", "the feed is not synced with the broker: no entries"
            )
        decision = self.risk.check(cmd, self.portfolio, now)
        if not isinstance(decision, Approved):
            return await self._deny(slot, cmd, decision.rule, decision.reason)
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
        return None

    async def _deny(self, slot: StrategySlot | None, cmd: Command, rule: str, reason: str) -> OrderDenied:
        denial = OrderDenied(cmd, rule, reason, self.clock.now())
        self.stats.denied += 1
        self.stats.denials_by_rule[rule] = self.stats.denials_by_rule.get(rule, 0) + 1
        self.sink(denial)
        code = getattr(cmd, "code", "")
        await self._journal(
            "denial",
            {"rule": rule, "reason": reason},
            strategy=slot.config.name if slot else cmd.strategy,
            code=code,
        )
        if slot is not None:
            self._deliver(slot, denial)
        return denial

    def _release_cancel(self, intent_id: str) -> None:
        """A cancel asked for before the order had a number goes out now (if still useful)."""
        waiting = self._cancel_on_ack.pop(intent_id, None)
        order = self.portfolio.order(intent_id)
        if waiting is not None and order is not None and order.state.is_working and order.order_no:
            self._pending.append(waiting)

    # ------------------------------------------------------------------ reconciliation requests
    def _schedule_reconcile(self, reason: str) -> None:
        """Reconcile again shortly; requests made while one is pending share it."""
        if self._tg is not None and not self._reconcile_pending:
            self._reconcile_pending = True
            self._tg.start_soon(self._reconcile_later, reason)

    async def _reconcile_later(self, reason: str) -> None:
        await anyio.sleep(self._unknown_recheck_s)
        self._reconcile_pending = False
        await self._post(Reconcile(reason))

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
        now = self.clock.now()
        await self._write_behind(
            lambda: self.store.queue_journal(kind, detail, time=now, strategy=strategy, code=code),
            lambda: self.store.append_journal(kind, detail, time=now, strategy=strategy, code=code),
        )

    async def _journal_state(self, intent_id: str, detail: str, order_no: str | None = None) -> None:
        order = self.portfolio.order(intent_id)
        if order is None:
            return
        state, now, store = order.state, self.clock.now(), self.store
        await self._write_behind(
            lambda: store.queue_transition(intent_id, state, time=now, order_no=order_no, detail=detail),
            lambda: store.transition_intent(intent_id, state, time=now, order_no=order_no, detail=detail),
            intent_id,
        )

    async def _write_behind(
        self,
        queue: Callable[[], Queued[Any] | None],
        write: Callable[[], Awaitable[object]],
        intent_id: str = "",
    ) -> None:
        """Journal a change without waiting for its commit: the writer commits in the order changes are
        queued (a burst of fills in one transaction), and `_watch_journal` halts trading if one fails.
        Only an order's intent must be on disk before something acts on it (the router waits for that);
        fills, transitions and notes are facts the broker also keeps, so the kernel goes on with the next
        event meanwhile. Without the watcher (a replay or a test calling `process`), or with the writer's
        queue full (backpressure), this waits for the commit as before."""
        behind = self._behind
        try:
            queued = queue() if behind is not None else None
            if behind is None or queued is None:
                await write()
                return
            try:
                behind.send_nowait((queued, intent_id))
            except anyio.WouldBlock:
                with anyio.fail_after(30):
                    await behind.send((queued, intent_id))
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):  # the run loop (watcher) ended
                self._behind = None
                await queued.result()
        except StoreFailed as exc:
            await self._set_state(TradingState.HALTED, f"journal write failed: {exc}", "store")
        except KiwoomBotError as exc:  # a refused write (an unknown intent, a conflict): logged, not fatal
            log.error("journal_write_failed", error=str(exc))

    async def _watch_journal(self, queued: MemoryObjectReceiveStream[tuple[Queued[Any], str]]) -> None:
        """The outcomes of `_write_behind`'s writes, in order: a storage failure halts trading."""
        async with queued:
            async for write, intent_id in queued:
                try:
                    await write.result()
                except StoreFailed as exc:
                    await self._post(JournalFailed(intent_id, str(exc), self.clock.now()))
                except KiwoomBotError as exc:
                    log.error("journal_write_failed", write=write.label, error=str(exc))
