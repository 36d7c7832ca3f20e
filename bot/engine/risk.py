"""The risk gate: every command passes here before it can reach the broker (design invariant 4).

`RiskGate.check(command, portfolio, now)` answers `Approved` or `Denied(rule, reason)`; the kernel
publishes a denial as an `OrderDenied` event everyone sees. The trading state (ACTIVE / REDUCING /
HALTED) is the kill switch: REDUCING allows only exits, HALTED allows cancels and, if configured,
exits. The gate itself never changes the state except through `breach_daily_loss`, which the
kernel applies and persists.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.config import RiskConfig, StrategyConfig
from bot.domain.orders import CancelOrder, Command, IntentState, ModifyOrder, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState, Venue
from bot.engine.market_state import MarketState
from bot.engine.portfolio import Portfolio, reserve_price
from bot.market.ticks import InstrumentKind, is_on_tick


@dataclass(frozen=True, slots=True)
class Approved:
    """The command may go to the broker."""

    command: Command


@dataclass(frozen=True, slots=True)
class Denied:
    """The command may not go out; `rule` names the limit (for reports), `reason` explains it."""

    command: Command
    rule: str
    reason: str


Decision = Approved | Denied

_UNCONFIRMED = frozenset({IntentState.PENDING_SEND, IntentState.SENT, IntentState.UNKNOWN})
_IMMEDIATE = frozenset({OrderType.LIMIT_IOC, OrderType.MARKET_IOC, OrderType.LIMIT_FOK, OrderType.MARKET_FOK})


class MarketGuard(Protocol):
    """The market clock's answer to "may this order go out now?" (sessions, holidays, windows)."""

    def order_block(self, venue: Venue, when: datetime, order_type: OrderType) -> str | None:
        """Why no order of this type may be sent now (closed, wrong phase), or None."""
        ...

    def entry_block(self, venue: Venue, when: datetime) -> str | None:
        """Why no new position may be opened now (e.g. first minutes after the open), or None."""
        ...


def won(amount: int) -> str:
    """KRW with thousands separators, for denial reasons."""
    return f"{amount:,}원"


class RiskGate:
    """Checks commands against the configured limits, the market clock and the trading state."""

    def __init__(
        self,
        config: RiskConfig,
        strategies: dict[str, StrategyConfig],
        guard: MarketGuard,
        market: MarketState,
        state: TradingState = TradingState.ACTIVE,
    ) -> None:
        self._cfg = config
        self._strategies = strategies
        self._guard = guard
        self._market = market
        self.state = state
        self._recent: deque[datetime] = deque()

    def breach_daily_loss(self, portfolio: Portfolio) -> str | None:
        """A reason to halt if today's realized + unrealized loss exceeds the limit, else None."""
        pnl = portfolio.daily_pnl(self._market)
        if pnl <= -self._cfg.max_daily_loss_krw:
            return f"daily P&L {won(pnl)} breached the limit of -{won(self._cfg.max_daily_loss_krw)}"
        return None

    def check(self, cmd: Command, portfolio: Portfolio, now: datetime) -> Decision:
        """Approve or deny one command; an approval of an order counts toward the rate limit."""
        if isinstance(cmd, CancelOrder):
            return self._check_cancel(cmd, portfolio)
        if isinstance(cmd, ModifyOrder):
            decision = self._check_modify(cmd, portfolio, now)
        else:
            decision = self._check_submit(cmd, portfolio, now)
        if isinstance(decision, Approved):
            self._recent.append(now)
        return decision

    # --- per command kind -----------------------------------------------------------------
    def _check_cancel(self, cmd: CancelOrder, portfolio: Portfolio) -> Decision:
        order = portfolio.order(cmd.intent_id)
        if order is None or not order.state.is_working:
            return Denied(cmd, "unknown_order", f"no working order {cmd.intent_id} to cancel")
        if not order.order_no:
            return Denied(cmd, "not_acknowledged", "the order has no broker order number yet")
        return Approved(cmd)

    def _check_modify(self, cmd: ModifyOrder, portfolio: Portfolio, now: datetime) -> Decision:
        order = portfolio.order(cmd.intent_id)
        if order is None or not order.state.is_working or not order.order_no:
            return Denied(cmd, "unknown_order", f"no acknowledged working order {cmd.intent_id} to modify")
        if self.state is not TradingState.ACTIVE and not order.is_exit:
            return Denied(cmd, "trading_state", f"trading is {self.state}: only exits may be changed")
        if self.state is TradingState.HALTED and not self._cfg.exits_allowed_when_halted:
            return Denied(cmd, "trading_state", "trading is HALTED and exits are not allowed while halted")
        reason = self._guard.order_block(order.venue, now, order.order_type)
        if reason:
            return Denied(cmd, "market_hours", reason)
        denied = self._rate(cmd, now) or self._price_checks(cmd, order.code, order.side, cmd.new_price, True)
        if denied is None and order.side is Side.BUY:
            value = (cmd.new_qty or order.remaining_qty) * cmd.new_price
            if value > self._cfg.max_order_krw:
                denied = Denied(
                    cmd, "max_order", f"order value {won(value)} exceeds {won(self._cfg.max_order_krw)}"
                )
        return denied or Approved(cmd)

    def _check_submit(self, cmd: SubmitOrder, portfolio: Portfolio, now: datetime) -> Decision:
        entry = cmd.side is Side.BUY
        checks: tuple[Callable[[], Denied | None], ...] = (
            lambda: self._state(cmd),
            lambda: self._symbol_lists(cmd) if entry else None,
            lambda: self._market_clock(cmd, now, entry),
            lambda: self._vi(cmd, entry),
            lambda: self._price_checks(cmd, cmd.code, cmd.side, cmd.price, cmd.order_type.needs_price),
            lambda: self._no_duplicate(cmd, portfolio),
            lambda: self._rate(cmd, now),
            lambda: self._sell_quantity(cmd, portfolio) if not entry else None,
            lambda: self._entry_limits(cmd, portfolio) if entry else None,
        )
        for check in checks:
            denied = check()
            if denied is not None:
                return denied
        return Approved(cmd)

    # --- individual rules -----------------------------------------------------------------
    def _state(self, cmd: SubmitOrder) -> Denied | None:
        if self.state is TradingState.ACTIVE:
            return None
        if not cmd.is_exit or cmd.side is Side.BUY:
            return Denied(cmd, "trading_state", f"trading is {self.state}: no new positions")
        if self.state is TradingState.HALTED and not self._cfg.exits_allowed_when_halted:
            return Denied(cmd, "trading_state", "trading is HALTED and exits are not allowed while halted")
        return None

    def _symbol_lists(self, cmd: SubmitOrder) -> Denied | None:
        if cmd.code in self._cfg.deny_symbols:
            return Denied(cmd, "deny_list", f"{cmd.code} is on the deny list")
        if self._cfg.allow_symbols and cmd.code not in self._cfg.allow_symbols:
            return Denied(cmd, "allow_list", f"{cmd.code} is not on the allow list")
        return None

    def _market_clock(self, cmd: SubmitOrder, now: datetime, entry: bool) -> Denied | None:
        reason = self._guard.order_block(cmd.venue, now, cmd.order_type)
        if reason is None and entry:
            reason = self._guard.entry_block(cmd.venue, now)
        return Denied(cmd, "market_hours", reason) if reason else None

    def _vi(self, cmd: SubmitOrder, entry: bool) -> Denied | None:
        if not self._market.in_vi(cmd.code):
            return None
        if entry:
            return Denied(cmd, "vi", f"{cmd.code} is in a volatility interruption: no entries")
        if cmd.order_type in _IMMEDIATE:
            return Denied(cmd, "vi", f"{cmd.code} is in a VI auction: IOC/FOK orders cannot fill")
        return None

    def _price_checks(self, cmd: Command, code: str, side: Side, price: int, priced: bool) -> Denied | None:
        """Tick grid and daily band; no buys that could fill at the upper limit, no sells into limit-down.

        Deliberately asymmetric: an entry priced at the upper limit is refused even before the
        market gets there (it could fill at the worst price of the day), while an exit priced at
        the lower limit is a legitimate marketable exit and only a market already at limit-down
        refuses sells.
        """
        info = self._market.info(code)
        kind = InstrumentKind.ETF if info and info.is_etf else InstrumentKind.STOCK
        if priced and not is_on_tick(price, kind):
            return Denied(cmd, "tick_size", f"price {won(price)} is not on the tick grid")
        if info is None or not info.upper_limit:
            return None
        if priced and not info.lower_limit <= price <= info.upper_limit:
            return Denied(
                cmd,
                "price_band",
                f"price {won(price)} is outside today's band {won(info.lower_limit)}–{won(info.upper_limit)}",
            )
        last = self._market.last_price(code) or 0
        if side is Side.BUY and (last >= info.upper_limit or (priced and price >= info.upper_limit)):
            return Denied(
                cmd, "upper_limit", f"{code} is at its upper limit {won(info.upper_limit)}: no buys"
            )
        if side is Side.SELL and last and last <= info.lower_limit:
            return Denied(
                cmd, "lower_limit", f"{code} is at its lower limit {won(info.lower_limit)}: no sells"
            )
        return None

    def _no_duplicate(self, cmd: SubmitOrder, portfolio: Portfolio) -> Denied | None:
        side, qty, price, order_type = cmd.side, cmd.qty, cmd.price, cmd.order_type
        for order in portfolio.working(code=cmd.code):
            if order.side is not side:
                continue
            facts = order.facts
            if not facts.order_no and facts.state in _UNCONFIRMED:
                return Denied(
                    cmd,
                    "unresolved_order",
                    f"a {cmd.side} order for {cmd.code} is still unconfirmed ({order.state}); "
                    "it must be reconciled first",
                )
            if order.qty == qty and order.price == price and order.order_type is order_type:
                return Denied(cmd, "duplicate", f"an identical {cmd.side} order for {cmd.code} is working")
        return None

    def _rate(self, cmd: Command, now: datetime) -> Denied | None:
        while self._recent and (now - self._recent[0]).total_seconds() >= 60:
            self._recent.popleft()
        if len(self._recent) >= self._cfg.max_orders_per_minute:
            return Denied(cmd, "order_rate", f"{self._cfg.max_orders_per_minute} orders in the last minute")
        return None

    def _sell_quantity(self, cmd: SubmitOrder, portfolio: Portfolio) -> Denied | None:
        held = portfolio.position(cmd.strategy, cmd.code).qty
        selling = sum(
            o.remaining_qty for o in portfolio.working(cmd.strategy, cmd.code) if o.side is Side.SELL
        )
        if cmd.qty > held - selling:
            return Denied(
                cmd,
                "no_short",
                f"sell of {cmd.qty} exceeds the {held - selling} shares held and not being sold",
            )
        return None

    def _notional(self, cmd: SubmitOrder) -> int:
        """KRW an entry may cost: a market buy is reserved at the upper limit (rules §6)."""
        if cmd.order_type.needs_price:
            return cmd.qty * cmd.price
        return cmd.qty * reserve_price(self._market, cmd.code)

    def _entry_limits(self, cmd: SubmitOrder, portfolio: Portfolio) -> Denied | None:
        cfg = self._cfg
        notional = self._notional(cmd)
        if notional <= 0:
            return Denied(cmd, "no_price", f"no price known for {cmd.code}: cannot size the order")
        if notional > cfg.max_order_krw:
            return Denied(cmd, "max_order", f"order value {won(notional)} exceeds {won(cfg.max_order_krw)}")
        reserved = portfolio.buy_reservations(self._market, cmd.strategy, cmd.code)
        strat = self._strategies.get(cmd.strategy)
        if strat is not None:
            used = portfolio.held_cost(cmd.strategy) + reserved.strategy
            if used + notional > strat.budget_krw:
                return Denied(
                    cmd,
                    "strategy_budget",
                    f"{cmd.strategy} has {won(strat.budget_krw - used)} of its {won(strat.budget_krw)} left",
                )
            held_codes = {c for (_, c) in portfolio.positions(cmd.strategy)} | reserved.strategy_codes
            if cmd.code not in held_codes and len(held_codes) >= strat.max_positions:
                return Denied(
                    cmd, "strategy_positions", f"{cmd.strategy} already holds {len(held_codes)} symbols"
                )
        symbol_value = portfolio.market_value(self._market, cmd.code) + reserved.code
        if symbol_value + notional > cfg.max_position_krw:
            return Denied(
                cmd,
                "max_position",
                f"{cmd.code} would be {won(symbol_value + notional)} > {won(cfg.max_position_krw)}",
            )
        exposure = portfolio.market_value(self._market) + reserved.total
        if exposure + notional > cfg.max_gross_exposure_krw:
            return Denied(
                cmd,
                "max_exposure",
                f"gross exposure would be {won(exposure + notional)} > {won(cfg.max_gross_exposure_krw)}",
            )
        if portfolio.symbol_qty(cmd.code) == 0 and not portfolio.has_working(cmd.code):
            if portfolio.open_position_count() >= cfg.max_open_positions:
                return Denied(cmd, "max_positions", f"already {cfg.max_open_positions} open positions")
        if self.breach_daily_loss(portfolio):
            return Denied(cmd, "daily_loss", self.breach_daily_loss(portfolio) or "")
        return None
