"""The dry-run broker's working orders, symbol facts and fill rules (pure, no I/O).

The rules, stated once (the broker's module docstring explains why):
- A *taking* order trades at the print's opposite quote (buy: best ask, sell: best bid; the print's
  price when the quote is absent). Market orders always take; a limit order takes only on the first
  print after it arrived, only if it was marketable when submitted (or is IOC/FOK), and only if the
  quote is within its limit — otherwise it is treated as resting.
- A *resting* limit order fills at its own limit price when a print goes THROUGH it (buy: strictly
  below), or AT it once the shares queued ahead of it at that price have traded. The queue ahead is 0
  when the order opened a new price level (buy: above the best bid), and unknown when it joined an
  existing level — then only prints through the price fill it.
- Every fill is bounded by the print's traded quantity (`abs(Tick.qty)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.account import OrderAction
from bot.domain.market import Tick
from bot.domain.snapshots import StockInfo
from bot.domain.values import OrderType, Side, Venue
from bot.market.costs import Market
from bot.market.ticks import InstrumentKind, price_limits

NO_ORDER_NO = "0000000"  # FID 904 / orig_ord_no of an order that replaces nothing

MARKET_TYPES = frozenset({OrderType.MARKET, OrderType.MARKET_IOC, OrderType.MARKET_FOK})
IOC_TYPES = frozenset({OrderType.LIMIT_IOC, OrderType.MARKET_IOC})
FOK_TYPES = frozenset({OrderType.LIMIT_FOK, OrderType.MARKET_FOK})
IMMEDIATE_TYPES = IOC_TYPES | FOK_TYPES
QUOTE_PRICED_TYPES = frozenset({OrderType.BEST_LIMIT, OrderType.PRIORITY_LIMIT})

# FID 906 매매구분 text, as Kiwoom writes it (kiwoom-protocol.md §7.4).
TYPE_TEXT: dict[OrderType, str] = {
    OrderType.LIMIT: "보통",
    OrderType.MARKET: "시장가",
    OrderType.CONDITIONAL_LIMIT: "조건부지정가",
    OrderType.BEST_LIMIT: "최유리지정가",
    OrderType.PRIORITY_LIMIT: "최우선지정가",
    OrderType.LIMIT_IOC: "보통(IOC)",
    OrderType.MARKET_IOC: "시장가(IOC)",
    OrderType.LIMIT_FOK: "보통(FOK)",
    OrderType.MARKET_FOK: "시장가(FOK)",
}


@dataclass(slots=True)
class SymbolFacts:
    """What the broker knows of one symbol: reference data, the last print and whether a VI is on."""

    code: str
    name: str = ""
    base: int = 0
    upper: int = 0
    lower: int = 0
    market: Market = Market.KOSPI
    tax_exempt: bool = False
    kind: InstrumentKind = InstrumentKind.STOCK
    info: StockInfo | None = None
    info_date: date | None = None
    tick: Tick | None = None
    vi: bool = False

    def limits(self) -> tuple[int, int] | None:
        """(lower, upper) of the daily band, if known from reference data or the base price."""
        if self.upper > 0 and self.lower > 0:
            return self.lower, self.upper
        if self.info is not None and self.info.upper_limit > 0 and self.info.lower_limit > 0:
            return self.info.lower_limit, self.info.upper_limit
        base = self.base or (self.info.base_price if self.info is not None else 0)
        return price_limits(base, self.kind) if base > 0 else None

    def last_price(self) -> int:
        """The last traded price, else the fetched price, else the base price (0 if none)."""
        if self.tick is not None:
            return self.tick.price
        if self.info is not None and self.info.price > 0:
            return self.info.price
        return self.base or (self.info.base_price if self.info is not None else 0)

    def quote(self, side: Side) -> int:
        """The last print's quote on `side` of the book (best bid for BUY, best ask for SELL), 0 if none."""
        if self.tick is None:
            return 0
        return self.tick.best_bid if side is Side.BUY else self.tick.best_ask


@dataclass(slots=True)
class DryOrder:
    """One order held locally; modify creates a new DryOrder, as Kiwoom issues a new order number."""

    order_no: str
    orig_order_no: str  # the order this one replaced (modify), NO_ORDER_NO for a new order
    root_order_no: str  # the first order of a modify chain (the replies' base_orig_ord_no)
    action: OrderAction
    code: str
    name: str
    side: Side
    order_type: OrderType
    qty: int
    price: int  # limit price; 0 for market types
    venue: Venue
    accepted_at: datetime
    open_qty: int
    fresh: bool = True  # no print seen since arrival (IOC/FOK are decided on the first one)
    taking: bool = False  # may take the opposite quote on the first print (marketable, IOC or FOK)
    queue_ahead: int | None = None  # shares ahead at `price` (None: unknown, only prints through fill)
    filled_qty: int = 0
    filled_amount: int = 0
    fee: int = 0  # cumulative for the order (FID 938 semantics)
    tax: int = 0  # cumulative for the order (FID 939 semantics)

    @property
    def is_market(self) -> bool:
        """Whether the order has no limit price."""
        return self.order_type in MARKET_TYPES

    @property
    def immediate(self) -> bool:
        """IOC or FOK: only the first print after arrival may fill it; the rest is canceled."""
        return self.order_type in IMMEDIATE_TYPES

    @property
    def all_or_none(self) -> bool:
        """FOK: the first print fills all of it or none."""
        return self.order_type in FOK_TYPES

    @property
    def type_text(self) -> str:
        """FID 906 매매구분 text."""
        return TYPE_TEXT[self.order_type]

    def matches_venue(self, venue: Venue) -> bool:
        """Whether prints from `venue` can fill this order (SOR orders take any venue)."""
        return self.venue is Venue.SOR or self.venue is venue


@dataclass(frozen=True, slots=True)
class FillPlan:
    """What one print does to one order: a fill of `qty` at `price`, and queue shares it used up."""

    price: int
    qty: int
    queue_used: int = 0


def taking_price(side: Side, tick: Tick) -> int:
    """The price a taking order pays on this print: the opposite best quote, else the trade price."""
    quote = tick.best_ask if side is Side.BUY else tick.best_bid
    return quote if quote > 0 else tick.price


def within_limit(side: Side, price: int, limit: int) -> bool:
    """Whether `price` is at least as good as `limit` for `side`."""
    return price <= limit if side is Side.BUY else price >= limit


def marketable(side: Side, price: int, facts: SymbolFacts) -> bool:
    """Whether a limit at `price` crosses the last known opposite quote (the last price if no quote)."""
    opposite = facts.quote(side.opposite) or facts.last_price()
    return opposite > 0 and within_limit(side, opposite, price)


def queue_on_arrival(side: Side, price: int, facts: SymbolFacts) -> int | None:
    """Shares ahead of a new resting limit: 0 if it opens a better level than the quote, else unknown."""
    same_side = facts.quote(side)
    if same_side <= 0:
        return None
    better = price > same_side if side is Side.BUY else price < same_side
    return 0 if better else None


def plan_fill(order: DryOrder, tick: Tick, pool: int) -> FillPlan:
    """How much of `order` this print fills and at what price; `pool` is the print's volume still free."""
    volume = abs(tick.qty)
    if order.open_qty <= 0 or volume <= 0:
        return FillPlan(order.price, 0)
    if order.is_market or (order.fresh and order.taking):
        px = taking_price(order.side, tick)
        if order.is_market or within_limit(order.side, px, order.price):
            return FillPlan(px, min(order.open_qty, pool))
    through = tick.price < order.price if order.side is Side.BUY else tick.price > order.price
    if through:
        return FillPlan(order.price, min(order.open_qty, pool))
    if tick.price == order.price and order.queue_ahead is not None:
        used = min(order.queue_ahead, volume)
        return FillPlan(order.price, max(0, min(order.open_qty, pool, volume - used)), used)
    return FillPlan(order.price, 0)
