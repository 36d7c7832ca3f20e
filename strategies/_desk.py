"""The trade desk shared by the shipped plugins: one trade per symbol, from entry to flat.

A plugin decides *when* to enter; the desk sends the entry, cancels it when it goes stale, checks
the exit rules on every tick and timer, and drives the exit until the position is flat. What is
held and working is read from the portfolio through `ctx` (the kernel applies an order event to
the portfolio before the strategy sees it); the desk only remembers per-symbol facts the
portfolio cannot know: the high since entry, the exit decision, back-off and attempt counts.

No event can start a loop: a denied or rejected order is retried only after `retry` has passed
on the engine clock, entries are capped at `max_attempts` per symbol per day, and after
`max_attempts` failed exits the desk stops trying until the forced exit before the close.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.market import Tick
from bot.domain.orders import (
    CancelOrder,
    Command,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
)
from bot.domain.position import PositionState
from bot.domain.values import Side
from bot.engine.strategy import StrategyContext, WorkingOrder
from strategies._params import DailyTime, today_at
from strategies._rules import CLOSE, DeskRules, exit_rule

OrderEvent = OrderFilled | OrderCanceled | OrderRejected | OrderDenied
_TIMER_KINDS = ("entry_timeout", "exit_timeout", "max_hold", "retry", "cancel")


@dataclass(slots=True)
class Slot:
    """What the desk remembers about one symbol today."""

    high: int = 0  # highest price since the first entry fill (0 = nothing held)
    stop_price: int = 0  # an absolute stop a plugin set at entry (0 = none)
    exit_reason: str = ""  # sticky: once decided, the position is sold down to flat
    retry_at: datetime | None = None  # back-off after a denial or rejection
    entries: int = 0  # entries sent today
    exit_failures: int = 0
    held: bool = False  # a position existed at the last look (to notice the trade closing)
    traded: bool = False  # a position was opened and closed today


class Desk:
    """Sends entries, manages exits and stale orders for the symbols one plugin trades."""

    def __init__(self, rules: DeskRules) -> None:
        self.rules = rules
        self.closing = False  # after the forced exit: no new entries today
        self._slots: dict[str, Slot] = {}
        self._cancels: dict[str, datetime] = {}  # intent_id → when its cancel was requested
        self._cancel_denials: dict[str, int] = {}  # intent_id → cancels the gate refused
        self._day: date | None = None
        self._no_entry_after = None if rules.no_entry_after is None else DailyTime(rules.no_entry_after)
        self._blank = Slot()  # read (never written) for a symbol without memory yet

    # --- days and startup --------------------------------------------------------------
    def new_day(self, ctx: StrategyContext) -> bool:
        """Start a fresh trading day when the engine date moved on (or on the first call); True if it did.

        Per-day counters reset; positions carried overnight keep their high and any exit decision.
        """
        today = ctx.now().date()
        if today == self._day:
            return False
        self._day = today
        self.closing = False
        self._cancels.clear()
        self._cancel_denials.clear()
        for code, slot in list(self._slots.items()):
            if ctx.position(code).qty or ctx.working_orders(code):
                slot.entries, slot.traded, slot.exit_failures, slot.retry_at = 0, False, 0, None
            else:
                del self._slots[code]
        return True

    def start_day(self, ctx: StrategyContext) -> list[Command]:
        """Arm today's forced-exit timer, or run the forced exit at once when started after its time."""
        if self.rules.close_at is None:
            return []
        at = today_at(ctx.now(), self.rules.close_at)
        if ctx.now() >= at:
            return self.close_all(ctx)
        ctx.set_timer(at, CLOSE)
        return []

    def adopt(self, ctx: StrategyContext) -> list[str]:
        """Take over positions and orders that exist at startup (restart mid-day); returns their codes."""
        now = ctx.now()
        for code, pos in ctx.positions().items():
            slot = self.slot(code)
            tick = ctx.last_tick(code)
            slot.high = max(pos.avg_price, tick.price if tick else 0)
            slot.held = True
            self._arm_max_hold(code, ctx)
        for o in ctx.working_orders():
            self.slot(o.code)
            kind, timeout = ("entry_timeout", self.rules.entry_timeout)
            if o.side is Side.SELL:
                kind, timeout = ("exit_timeout", self.rules.exit_timeout)
            ctx.set_timer(max(now, o.created_at + timeout), f"{kind}:{o.code}")
        return sorted(self._slots)

    # --- reading -----------------------------------------------------------------------
    def slot(self, code: str) -> Slot:
        """The memory for a symbol (created on first use)."""
        return self._slots.setdefault(code, Slot())

    def traded_today(self, code: str) -> bool:
        """Whether a position in `code` was opened and closed today."""
        slot = self._slots.get(code)
        return slot is not None and slot.traded

    def idle(self, code: str, ctx: StrategyContext) -> bool:
        """Nothing held and no order working in `code`."""
        return not ctx.position(code).qty and not ctx.working_orders(code)

    def open_count(self, ctx: StrategyContext) -> int:
        """Symbols held or being bought: what `max_positions` limits."""
        return len(set(ctx.positions()) | {o.code for o in ctx.working_orders() if o.side is Side.BUY})

    def entries_open(self, ctx: StrategyContext) -> bool:
        """Whether new positions may be opened at all now (before `no_entry_after` and the close)."""
        cutoff = self._no_entry_after
        if self.closing:
            return False
        if cutoff is None:
            return True
        now = ctx.now()
        return now < cutoff(now)

    def can_enter(self, code: str, ctx: StrategyContext, *, top_up: bool = False) -> bool:
        """Whether a new entry in `code` may be sent now (never while one works or an exit is decided)."""
        if not self.entries_open(ctx):
            return False
        slot = self._slots.get(code, self._blank)
        # the symbol's own memory first (no lookups), then what the engine knows
        return not (
            slot.exit_reason
            or (slot.retry_at is not None and ctx.now() < slot.retry_at)
            or slot.entries >= self.rules.max_attempts
            or (slot.traded and not self.rules.allow_reentry)
            or ctx.working_orders(code)
            or (ctx.position(code).qty and not top_up)
            or ctx.in_vi(code)
        )

    # --- actions -----------------------------------------------------------------------
    def enter(
        self, code: str, krw: int, ctx: StrategyContext, reason: str, stop_price: int = 0
    ) -> list[Command]:
        """A buy for up to `krw` (capped by the budget left), priced by the entry spec; [] if too small."""
        spec = self.rules.entry
        cmd = ctx.buy(
            code,
            krw=min(krw, ctx.budget_left()),
            order_type=spec.order_type,
            offset_ticks=spec.offset_ticks,
            reason=reason,
        )
        if cmd is None:
            ctx.log.debug("entry_skipped", symbol=code, reason="too small for one share", krw=krw)
            return []
        slot = self.slot(code)
        slot.entries += 1
        slot.stop_price = stop_price
        ctx.set_timer(ctx.now() + self.rules.entry_timeout, f"entry_timeout:{code}")
        ctx.log.info("entry_sent", symbol=code, qty=cmd.qty, price=cmd.price, reason=reason)
        return [cmd]

    def exit(self, code: str, reason: str, ctx: StrategyContext) -> list[Command]:
        """Decide to leave `code` (sell what is held, cancel working entries) unless already leaving."""
        if self.idle(code, ctx):
            return []
        slot = self.slot(code)
        if not slot.exit_reason:
            slot.exit_reason = reason
            ctx.log.info("exit_decided", symbol=code, reason=reason)
        return self.step(code, ctx)

    def close_all(self, ctx: StrategyContext) -> list[Command]:
        """The forced exit: no more entries today; cancel every working order and sell everything."""
        self.closing = True
        codes = set(self._slots) | set(ctx.positions()) | {o.code for o in ctx.working_orders()}
        cmds: list[Command] = []
        for code in sorted(codes):
            cmds += self._cancel(ctx.working_orders(code), ctx, "close")
            if ctx.position(code).qty:
                slot = self.slot(code)
                slot.exit_reason, slot.exit_failures, slot.retry_at = CLOSE, 0, None
                ctx.log.info("exit_decided", symbol=code, reason=CLOSE)
                cmds += self.step(code, ctx)
        return cmds

    # --- events ------------------------------------------------------------------------
    def on_tick(self, tick: Tick, ctx: StrategyContext) -> list[Command]:
        """Track the high of a held symbol and apply the exit rules."""
        code = tick.code
        slot = self._slots.get(code)
        if slot is None:
            return []
        pos = ctx.position(code)
        if pos.qty and tick.price > slot.high:
            slot.high = tick.price
        return self._step(code, slot, pos, ctx)

    def on_order_event(self, event: OrderEvent, ctx: StrategyContext) -> list[Command]:
        """Book fills, back off after a denial or rejection, and move each affected symbol on."""
        if isinstance(event, OrderFilled):
            slot = self.slot(event.code)
            if event.side is Side.BUY:
                slot.high = max(slot.high, event.price)
                self._arm_max_hold(event.code, ctx)
            return self.step(event.code, ctx)
        if isinstance(event, OrderDenied):
            cmd = event.command
            if isinstance(cmd, CancelOrder):
                self._cancel_denied(cmd.intent_id, f"{event.rule}: {event.reason}", ctx)
                return []
            if not isinstance(cmd, SubmitOrder):
                return []
            self._failed(cmd.code, cmd.side, f"denied by {event.rule}: {event.reason}", ctx)
            return self.step(cmd.code, ctx)
        if isinstance(event, OrderRejected):
            self._failed(event.code, event.side, f"rejected: {event.reason}", ctx)
            return self.step(event.code, ctx)
        self._cancels.pop(event.intent_id, None)
        return self.step(event.code, ctx)

    def owns_timer(self, key: str) -> bool:
        """Whether a timer key is one the desk set."""
        return key == CLOSE or key.partition(":")[0] in _TIMER_KINDS

    def on_timer(self, key: str, ctx: StrategyContext) -> list[Command]:
        """Run the forced exit, cancel stale entries/exits, or move a symbol on (max-hold, retry)."""
        if key == CLOSE:
            return self.close_all(ctx)
        kind, _, code = key.partition(":")
        now = ctx.now()
        if kind == "cancel":  # `code` is an intent id here
            return self._cancel([o for o in ctx.working_orders() if o.intent_id == code], ctx, "retry")
        if kind == "entry_timeout":
            stale = [
                o
                for o in ctx.working_orders(code)
                if o.side is Side.BUY and o.created_at + self.rules.entry_timeout <= now
            ]
            return self._cancel(stale, ctx, "entry_timeout")
        if kind == "exit_timeout":
            if ctx.in_vi(code):  # a VI auction fills nothing for 2+ minutes: re-pricing would only churn
                ctx.set_timer(now + self.rules.exit_timeout, key)
                return []
            stale = [
                o
                for o in ctx.working_orders(code)
                if o.side is Side.SELL and o.created_at + self.rules.exit_timeout <= now
            ]
            return self._cancel(stale, ctx, "exit_timeout")
        return self.step(code, ctx)

    # --- the state machine -------------------------------------------------------------
    def step(self, code: str, ctx: StrategyContext) -> list[Command]:
        """Move one symbol on from what the portfolio says: notice a closed trade, decide and send exits."""
        slot = self._slots.get(code)
        if slot is None:
            return []
        return self._step(code, slot, ctx.position(code), ctx)

    def _step(self, code: str, slot: Slot, pos: PositionState, ctx: StrategyContext) -> list[Command]:
        """`step` with the symbol's memory and position already looked up (the per-tick path)."""
        working = ctx.working_orders(code)
        if not pos.qty and not working:
            if slot.held:
                ctx.log.info("trade_closed", symbol=code, reason=slot.exit_reason or "external")
                slot.traded = True
            slot.held, slot.high, slot.stop_price, slot.exit_reason, slot.exit_failures = False, 0, 0, "", 0
            return []
        if pos.qty:
            slot.held = True
            if not slot.exit_reason:
                self._decide_exit(code, slot, pos, ctx)
        if not slot.exit_reason:
            return []
        cmds = self._cancel([o for o in working if o.side is Side.BUY], ctx, "exit")
        now = ctx.now()
        if (
            pos.qty
            and slot.exit_failures < self.rules.max_attempts
            and (slot.retry_at is None or now >= slot.retry_at)
        ):
            spec = self.rules.close if slot.exit_reason == CLOSE else self.rules.exit
            sell = ctx.sell(
                code, order_type=spec.order_type, offset_ticks=spec.offset_ticks, reason=slot.exit_reason
            )
            if sell is not None:
                cmds.append(sell)
                ctx.set_timer(now + self.rules.exit_timeout, f"exit_timeout:{code}")
                ctx.log.info(
                    "exit_sent", symbol=code, qty=sell.qty, price=sell.price, reason=slot.exit_reason
                )
        return cmds

    def _decide_exit(self, code: str, slot: Slot, pos: PositionState, ctx: StrategyContext) -> None:
        """Apply the exit rules to a held position with the last trade seen (never a base price)."""
        tick = ctx.last_tick(code)
        held_for = None
        if self.rules.max_hold is not None:  # the only rule that reads it
            opened = ctx.opened_at(code)
            held_for = None if opened is None else ctx.now() - opened
        slot.exit_reason = exit_rule(
            self.rules,
            pos,
            last=tick.price if tick else 0,
            high=slot.high,
            stop_price=slot.stop_price,
            held_for=held_for,
        )
        if slot.exit_reason:
            ctx.log.info(
                "exit_decided", symbol=code, reason=slot.exit_reason, last=tick.price if tick else None
            )

    def _failed(self, code: str, side: Side, why: str, ctx: StrategyContext) -> None:
        """Back off after a denial or rejection; count failed exits and give up after `max_attempts`."""
        slot = self.slot(code)
        slot.retry_at = ctx.now() + self.rules.retry
        ctx.set_timer(slot.retry_at, f"retry:{code}")
        ctx.log.warning(
            "order_failed", symbol=code, side=str(side), why=why, retry_at=slot.retry_at.isoformat()
        )
        if side is Side.SELL:
            slot.exit_failures += 1
            if slot.exit_failures == self.rules.max_attempts:
                ctx.log.error(
                    "exit_given_up", symbol=code, failures=slot.exit_failures, reason=slot.exit_reason
                )

    def _cancel(self, orders: Iterable[WorkingOrder], ctx: StrategyContext, reason: str) -> list[Command]:
        """Cancels for orders not already asked to cancel within `retry`."""
        now = ctx.now()
        cmds: list[Command] = []
        for o in orders:
            asked = self._cancels.get(o.intent_id)
            if asked is not None and now < asked + self.rules.retry:
                continue
            self._cancels[o.intent_id] = now
            cmds.append(ctx.cancel(o, reason=reason))
            ctx.log.info("cancel_sent", symbol=o.code, intent_id=o.intent_id, side=str(o.side), reason=reason)
        return cmds

    def _cancel_denied(self, intent_id: str, why: str, ctx: StrategyContext) -> None:
        """A cancel the gate refused (e.g. no order number yet) is asked again after `retry`, a few times."""
        denials = self._cancel_denials.get(intent_id, 0) + 1
        self._cancel_denials[intent_id] = denials
        self._cancels.pop(intent_id, None)
        if denials > self.rules.max_attempts:
            ctx.log.error("cancel_given_up", intent_id=intent_id, denials=denials, why=why)
            return
        ctx.log.warning("cancel_denied", intent_id=intent_id, why=why)
        ctx.set_timer(ctx.now() + self.rules.retry, f"cancel:{intent_id}")

    def _arm_max_hold(self, code: str, ctx: StrategyContext) -> None:
        """A timer for the max-holding rule, from when the position was opened."""
        opened = ctx.opened_at(code)
        if self.rules.max_hold is not None and opened is not None:
            ctx.set_timer(max(ctx.now(), opened + self.rules.max_hold), f"max_hold:{code}")
