"""Positions, working orders and P&L per strategy: the state the risk gate and strategies read.

Owned by the kernel task alone (no locks): every change arrives as an applied event.
External orders and holdings (placed outside the bot) live under the strategy name `_external`
so they count in exposure and limits without belonging to any plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.orders import IntentState, SubmitOrder
from bot.domain.position import PositionState, apply_fill
from bot.domain.values import OrderType, Side, Venue
from bot.engine.market_state import MarketState
from bot.engine.orderstate import OrderFacts

EXTERNAL = "_external"


def reserve_price(market: MarketState, code: str) -> int:
    """The price a market buy may cost: the upper limit, else the last price (0 if unknown)."""
    info = market.info(code)
    if info is not None and info.upper_limit:
        return info.upper_limit
    return market.last_price(code) or 0


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """An order the engine tracks, from intent to terminal state."""

    intent_id: str
    strategy: str
    code: str
    side: Side
    qty: int
    price: int
    order_type: OrderType
    venue: Venue
    created_at: datetime
    facts: OrderFacts
    is_exit: bool = False
    external: bool = False

    @property
    def state(self) -> IntentState:
        """Where the order stands, derived from its facts."""
        return self.facts.state

    @property
    def order_no(self) -> str:
        """The broker's order number ("" until known)."""
        return self.facts.order_no

    @property
    def filled_qty(self) -> int:
        """Shares filled so far."""
        return self.facts.filled_qty

    @property
    def remaining_qty(self) -> int:
        """Shares still open (0 once terminal)."""
        return 0 if self.state.is_terminal else self.qty - self.filled_qty

    @classmethod
    def from_command(cls, intent_id: str, cmd: SubmitOrder, created_at: datetime) -> WorkingOrder:
        """A new order in PENDING_SEND built from a strategy's command."""
        return cls(
            intent_id=intent_id,
            strategy=cmd.strategy,
            code=cmd.code,
            side=cmd.side,
            qty=cmd.qty,
            price=cmd.price,
            order_type=cmd.order_type,
            venue=cmd.venue,
            created_at=created_at,
            facts=OrderFacts(qty=cmd.qty),
            is_exit=cmd.is_exit,
        )


@dataclass(frozen=True, slots=True)
class BuyReservations:
    """KRW reserved by open buy orders (market buys at the upper limit), and the symbols they are for."""

    total: int
    strategy: int  # the asking strategy's orders
    code: int  # the orders for the symbol asked about, any strategy
    strategy_codes: frozenset[str]  # symbols the asking strategy is buying


_FLAT = PositionState()  # frozen: shared by every lookup of a symbol not held (strategies ask per tick)


class Portfolio:
    """Every position and order of the account, attributed to the strategy that made it."""

    def __init__(self) -> None:
        self._positions: dict[tuple[str, str], PositionState] = {}
        self._opened_at: dict[tuple[str, str], datetime] = {}
        self._orders: dict[str, WorkingOrder] = {}
        self._working: dict[str, WorkingOrder] = {}  # the subset that may still trade (checked per tick)
        self._by_order_no: dict[str, str] = {}  # broker order number → intent id
        self.realized_today = 0

    def _index(self, order: WorkingOrder) -> None:
        if order.state.is_working:
            self._working[order.intent_id] = order
        else:
            self._working.pop(order.intent_id, None)
        if order.order_no:
            self._by_order_no.setdefault(order.order_no, order.intent_id)  # the first holder wins, as before

    # --- orders -------------------------------------------------------------------------
    def add_order(self, order: WorkingOrder) -> None:
        """Track a new order (intent or adopted external order)."""
        self._orders[order.intent_id] = order
        self._index(order)

    def order(self, intent_id: str) -> WorkingOrder | None:
        """An order by intent id."""
        return self._orders.get(intent_id)

    def set_facts(self, intent_id: str, facts: OrderFacts) -> WorkingOrder:
        """Record new facts about a tracked order and return the new version."""
        new = replace(self._orders[intent_id], facts=facts)
        self._orders[intent_id] = new
        self._index(new)
        return new

    def by_order_no(self, order_no: str) -> WorkingOrder | None:
        """The order holding a broker order number."""
        intent_id = self._by_order_no.get(order_no)
        return self._orders.get(intent_id) if intent_id is not None else None

    def orders(self) -> Iterator[WorkingOrder]:
        """Every tracked order."""
        return iter(self._orders.values())

    def working(self, strategy: str | None = None, code: str | None = None) -> list[WorkingOrder]:
        """Orders that may still trade, optionally for one strategy and/or symbol."""
        return [
            o
            for o in self._working.values()
            if (strategy is None or o.strategy == strategy) and (code is None or o.code == code)
        ]

    # --- positions ----------------------------------------------------------------------
    def position(self, strategy: str, code: str) -> PositionState:
        """A strategy's holding in a symbol (flat if none)."""
        pos = self._positions.get((strategy, code))
        return _FLAT if pos is None else pos

    def set_position(self, strategy: str, code: str, pos: PositionState, opened_at: datetime | None) -> None:
        """Load a position (startup from the journal, or adoption of an external holding)."""
        self._positions[(strategy, code)] = pos
        if opened_at is not None:
            self._opened_at[(strategy, code)] = opened_at

    def opened_at(self, strategy: str, code: str) -> datetime | None:
        """When the current position was opened (None when flat)."""
        return self._opened_at.get((strategy, code)) if self.position(strategy, code).qty else None

    def positions(self, strategy: str | None = None) -> dict[tuple[str, str], PositionState]:
        """Non-flat positions, keyed by (strategy, code)."""
        return {k: p for k, p in self._positions.items() if p.qty and (strategy is None or k[0] == strategy)}

    def apply_fill(
        self, strategy: str, code: str, side: Side, qty: int, price: int, fee: int, tax: int, when: datetime
    ) -> PositionState:
        """Book one fill into the strategy's position and today's realized P&L."""
        key = (strategy, code)
        before = self._positions.get(key, _FLAT)
        after = apply_fill(before, side, qty, price, fee, tax)
        self._positions[key] = after
        self.realized_today += after.realized_pnl - before.realized_pnl
        if before.qty == 0 and after.qty > 0:
            self._opened_at[key] = when
        elif after.qty == 0:
            self._opened_at.pop(key, None)
        return after

    def all_positions(self) -> dict[tuple[str, str], PositionState]:
        """Every position touched, flat ones included (for P&L reports)."""
        return dict(self._positions)

    def symbol_qty(self, code: str) -> int:
        """Shares of a symbol held across all strategies (external included)."""
        return sum(p.qty for (_, c), p in self._positions.items() if c == code)

    # --- aggregates for risk ------------------------------------------------------------
    def open_position_count(self) -> int:
        """Distinct symbols held or being bought (a burst of pending entries counts at once)."""
        held = {c for (_, c), p in self._positions.items() if p.qty}
        buying = {o.code for o in self._working.values() if o.side is Side.BUY}
        return len(held | buying)

    def working_buy_notional(
        self, market: MarketState, strategy: str | None = None, code: str | None = None
    ) -> int:
        """KRW reserved by open buy orders; a market buy is reserved at the upper limit (rules §6)."""
        total = 0
        for o in self._working.values():  # working orders are never terminal: remaining = qty - filled
            if o.side is Side.BUY and (strategy is None or o.strategy == strategy) and (
                code is None or o.code == code
            ):
                price = o.price if o.order_type.needs_price else reserve_price(market, o.code)
                total += (o.qty - o.facts.filled_qty) * price
        return total

    def buy_reservations(self, market: MarketState, strategy: str, code: str) -> BuyReservations:
        """What open buy orders reserve, totalled the ways the risk gate asks, in one pass over them
        (an entry's check runs on the order path: one pass instead of one per rule)."""
        total = by_strategy = by_code = 0
        strategy_codes: set[str] = set()
        for o in self._working.values():  # working orders are never terminal: remaining = qty - filled
            if o.side is not Side.BUY:
                continue
            price = o.price if o.order_type.needs_price else reserve_price(market, o.code)
            value = (o.qty - o.facts.filled_qty) * price
            total += value
            if o.strategy == strategy:
                by_strategy += value
                strategy_codes.add(o.code)
            if o.code == code:
                by_code += value
        return BuyReservations(total, by_strategy, by_code, frozenset(strategy_codes))

    def has_working(self, code: str) -> bool:
        """Whether any order for `code` (either side, any strategy) may still trade."""
        return any(o.code == code for o in self._working.values())

    def held_cost(self, strategy: str) -> int:
        """Cost basis of a strategy's holdings."""
        return sum(p.cost_basis for (s, _), p in self._positions.items() if s == strategy and p.qty)

    def budget_used(self, strategy: str, market: MarketState) -> int:
        """KRW a strategy has committed: cost of its holdings plus its open buy orders."""
        return self.held_cost(strategy) + self.working_buy_notional(market, strategy)

    def market_value(self, market: MarketState, code: str | None = None) -> int:
        """Holdings at last price (cost basis where no price is known)."""
        total = 0
        for (_, c), p in self.positions().items():
            if code is not None and c != code:
                continue
            last = market.last_price(c)
            total += p.qty * last if last else p.cost_basis
        return total

    def gross_exposure(self, market: MarketState) -> int:
        """Holdings at market plus open buy orders: what a fall of the market could cost."""
        return self.market_value(market) + self.working_buy_notional(market)

    def unrealized_pnl(self, market: MarketState) -> int:
        """Mark-to-market P&L of every holding."""
        total = 0
        for (_, c), p in self.positions().items():
            last = market.last_price(c)
            if last:
                total += p.unrealized_pnl(last)
        return total

    def daily_pnl(self, market: MarketState) -> int:
        """Today's realized P&L plus the unrealized P&L of what is held now."""
        return self.realized_today + self.unrealized_pnl(market)
