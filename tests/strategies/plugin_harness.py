"""A kernel stand-in for plugin tests over the real StrategyContext, Portfolio, MarketState and ManualClock.

Events are delivered the way the kernel delivers them: market state and portfolio first, then the
plugin's hook. Every command is recorded; a submitted order becomes an accepted working order in
the portfolio (or, when `deny_rule` is set, an `OrderDenied` delivered straight back, as the risk
gate would). The broker's side — fills, cancel confirmations, rejections — is played by the test.
A plugin that answers its own outcomes with new orders without end trips `MAX_CASCADE`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.clock import ManualClock, kst
from bot.config import StrategyConfig
from bot.domain.market import ConditionExit, ConditionHit, Tick, TimerFired, ViKind, ViReleased, ViTriggered
from bot.domain.orders import (
    CancelOrder,
    Command,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
)
from bot.domain.values import Side, Venue
from bot.engine.market_state import MarketState, SymbolInfo
from bot.engine.portfolio import Portfolio, WorkingOrder
from bot.engine.strategy import Strategy, StrategyContext, StrategyEvent, build_strategy

DAY = (2026, 3, 10)  # a Tuesday
MAX_CASCADE = 10


def at(hour: int, minute: int = 0, second: int = 0, day: tuple[int, int, int] = DAY) -> datetime:
    """An instant on the test trading day (KST)."""
    return kst(*day, hour, minute, second)


class Harness:
    """One strategy wired to real engine objects, driven by hand."""

    def __init__(
        self,
        plugin: str,
        params: dict[str, Any],
        *,
        budget_krw: int = 3_000_000,
        max_positions: int = 3,
        start: datetime | None = None,
    ) -> None:
        self.config = StrategyConfig(
            name="s1", plugin=plugin, budget_krw=budget_krw, max_positions=max_positions, params=params
        )
        self.strategy: Strategy = build_strategy(self.config, "test.toml", 0)
        self.clock = ManualClock(start or at(9, 0))
        self.portfolio = Portfolio()
        self.market = MarketState()
        self.timers: dict[str, datetime] = {}
        self.watched: set[str] = set()
        self.commands: list[Command] = []
        self.deny_rule = ""  # non-empty: the risk gate denies submits (of `deny_side`, or all)
        self.deny_side: Side | None = None
        self._ids = itertools.count(1)
        self._cum: dict[str, int] = {}
        self._hi_lo: dict[str, tuple[int, int]] = {}
        self.ctx = StrategyContext(
            self.config,
            self.clock,
            self.portfolio,
            self.market,
            venue=Venue.KRX,
            on_timer=self._on_timer,
            on_watch=self._on_watch,
        )

    # --- the kernel's side ---------------------------------------------------------------
    def _on_timer(self, strategy: str, key: str, when: datetime) -> None:
        assert strategy == "s1"
        self.timers[key] = when

    def _on_watch(self, strategy: str, code: str, on: bool) -> None:
        assert strategy == "s1"
        if on:
            self.watched.add(code)
        else:
            self.watched.discard(code)

    def start(self) -> list[Command]:
        """Run `on_start` and process what it returns."""
        return self._process(self.strategy.on_start(self.ctx), 0)

    def deliver(self, event: StrategyEvent, depth: int = 0) -> list[Command]:
        """Hand one event to the plugin; returns every command this caused (denials included)."""
        return self._process(self.strategy.on_event(event, self.ctx), depth)

    def _process(self, cmds: Sequence[Command], depth: int) -> list[Command]:
        assert depth < MAX_CASCADE, "the plugin keeps answering its own outcomes with new orders"
        out: list[Command] = []
        for cmd in cmds:
            assert cmd.strategy == "s1"
            self.commands.append(cmd)
            out.append(cmd)
            if isinstance(cmd, SubmitOrder):
                if self.deny_rule and self.deny_side in (None, cmd.side):
                    denied = OrderDenied(cmd, self.deny_rule, "denied by the test", self.clock.now())
                    out += self.deliver(denied, depth + 1)
                    continue
                intent_id = f"i{next(self._ids)}"
                order = WorkingOrder.from_command(intent_id, cmd, self.clock.now())
                self.portfolio.add_order(order)
                self.portfolio.set_facts(intent_id, order.facts.with_order_no(f"o{intent_id}"))
        return out

    # --- time ------------------------------------------------------------------------------
    def advance_to(self, when: datetime) -> list[Command]:
        """Move the clock to `when`, firing every timer due on the way in time order."""
        out: list[Command] = []
        while True:
            due = sorted((t, k) for k, t in self.timers.items() if t <= when)
            if not due:
                break
            fire_at, key = due[0]
            del self.timers[key]
            if fire_at > self.clock.now():
                self.clock.set(fire_at)
            out += self.deliver(TimerFired("s1", key, self.clock.now()))
        if when > self.clock.now():
            self.clock.set(when)
        return out

    def advance(self, seconds: float) -> list[Command]:
        """Move the clock forward by `seconds`, firing due timers."""
        return self.advance_to(self.clock.now() + timedelta(seconds=seconds))

    # --- market events -------------------------------------------------------------------
    def tick(
        self,
        code: str,
        price: int,
        *,
        qty: int = 100,
        cum_volume: int | None = None,
        high: int | None = None,
        low: int | None = None,
        when: datetime | None = None,
    ) -> list[Command]:
        """A trade print (the clock moves to `when` first); delivered only if the strategy watches it."""
        out = self.advance_to(when) if when is not None else []
        self._cum[code] = cum_volume if cum_volume is not None else self._cum.get(code, 0) + abs(qty)
        hi, lo = self._hi_lo.get(code, (price, price))
        hi = high if high is not None else max(hi, price)  # the feed's day high/low unless given
        lo = low if low is not None else min(lo, price)
        self._hi_lo[code] = (hi, lo)
        tick = Tick(
            code=code,
            time=self.clock.now(),
            price=price,
            qty=qty,
            cum_volume=self._cum[code],
            change=0,
            change_rate_bp=0,
            open=price,
            high=hi,
            low=lo,
            best_ask=price,
            best_bid=price,
        )
        self.market.on_tick(tick)
        if code in self.watched:
            out += self.deliver(tick)
        return out

    def hit(self, code: str) -> list[Command]:
        """The strategy's condition inserted `code`."""
        return self.deliver(ConditionHit("1", code, self.clock.now()))

    def leave(self, code: str) -> list[Command]:
        """The strategy's condition deleted `code`."""
        return self.deliver(ConditionExit("1", code, self.clock.now()))

    def vi(self, code: str, on: bool) -> list[Command]:
        """A VI starts (on) or ends for `code`."""
        event: ViTriggered | ViReleased
        if on:
            event = ViTriggered(code, code, self.clock.now(), 0, ViKind.DYNAMIC)
        else:
            event = ViReleased(code, code, self.clock.now())
        self.market.on_vi(event)
        return self.deliver(event)

    def set_info(self, code: str, base: int, lower: int, upper: int) -> None:
        """Record a symbol's base price and daily limits."""
        self.market.set_info(SymbolInfo(code, code, base, upper, lower))

    # --- the broker's side ------------------------------------------------------------------
    def fill(
        self, intent_id: str, qty: int | None = None, price: int | None = None, fee: int = 0
    ) -> list[Command]:
        """Fill (part of) a working order at its limit price (or `price`), then tell the plugin."""
        order = self.portfolio.order(intent_id)
        assert order is not None and order.state.is_working, f"{intent_id} is not working"
        qty = order.remaining_qty if qty is None else qty
        price = price if price is not None else order.price
        assert 0 < qty <= order.remaining_qty and price > 0
        now = self.clock.now()
        self.portfolio.apply_fill(order.strategy, order.code, order.side, qty, price, fee, 0, now)
        filled = order.filled_qty + qty
        facts, booked, _ = order.facts.with_cum_fill(filled, order.facts.filled_amount + qty * price)
        assert booked == qty
        self.portfolio.set_facts(intent_id, facts)
        event = OrderFilled(
            intent_id=intent_id,
            strategy=order.strategy,
            order_no=order.order_no,
            fill_no=f"f{next(self._ids)}",
            code=order.code,
            side=order.side,
            qty=qty,
            price=price,
            fee=fee,
            tax=0,
            cum_qty=filled,
            remaining_qty=order.qty - filled,
            time=now,
        )
        return self.deliver(event)

    def confirm_cancel(self, intent_id: str) -> list[Command]:
        """The broker canceled the remaining quantity of a working order."""
        order = self.portfolio.order(intent_id)
        assert order is not None and order.state.is_working
        remaining = order.remaining_qty
        self.portfolio.set_facts(intent_id, order.facts.with_canceled())
        return self.deliver(
            OrderCanceled(
                intent_id, order.strategy, order.order_no, order.code, order.side, remaining, self.clock.now()
            )
        )

    def reject(self, intent_id: str, reason: str = "주문가능금액 부족") -> list[Command]:
        """The broker refused an order."""
        order = self.portfolio.order(intent_id)
        assert order is not None
        self.portfolio.set_facts(intent_id, order.facts.with_rejected())
        return self.deliver(
            OrderRejected(
                intent_id, order.strategy, order.code, order.side, reason, "855056", self.clock.now()
            )
        )

    # --- looking --------------------------------------------------------------------------
    def working(self, code: str | None = None, side: Side | None = None) -> list[WorkingOrder]:
        """The strategy's working orders, optionally for one symbol and side."""
        return [o for o in self.portfolio.working("s1", code) if side is None or o.side is side]

    def only_working(self, code: str, side: Side) -> WorkingOrder:
        """The single working order of a symbol and side."""
        orders = self.working(code, side)
        assert len(orders) == 1, orders
        return orders[0]

    def held(self, code: str) -> int:
        """Shares the strategy holds."""
        return self.portfolio.position("s1", code).qty


def submits(cmds: Sequence[Command]) -> list[SubmitOrder]:
    """The order submissions among commands."""
    return [c for c in cmds if isinstance(c, SubmitOrder)]


def cancels(cmds: Sequence[Command]) -> list[CancelOrder]:
    """The cancel requests among commands."""
    return [c for c in cmds if isinstance(c, CancelOrder)]


def summary(cmds: Sequence[Command]) -> list[tuple[object, ...]]:
    """Commands as comparable tuples: (side, code, order_type, qty, price) or ('cancel', intent_id)."""
    out: list[tuple[object, ...]] = []
    for c in cmds:
        if isinstance(c, SubmitOrder):
            out.append((str(c.side), c.code, str(c.order_type), c.qty, c.price))
        elif isinstance(c, CancelOrder):
            out.append(("cancel", c.intent_id))
    return out
