"""Parameter pieces shared by the shipped plugins: order specs, percentages, symbols, times of day.

Percentages may be written as floats in TOML (`3.0`, `1.25`) but must be whole basis points; each
plugin converts them to `int` basis points once (`pct_to_bp`), and every price comparison is then
done in integer KRW (`price_at_or_above`, `price_at_or_below`).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from bot.domain.values import OrderType, check_stock_code
from bot.engine.strategy import StrategyParams

BP = 10_000  # basis points in 100 %


def _whole_bp(pct: float) -> float:
    """Refuse percentages finer than a basis point (0.01 %), so the int conversion is exact."""
    bp = pct * 100
    if abs(bp - round(bp)) > 1e-6:
        raise ValueError(f"a percentage may have at most 2 decimals (whole basis points), got {pct}")
    return pct


def _naive_time(t: time) -> time:
    """Times of day are Korea time by definition; an explicit offset would be ambiguous."""
    if t.tzinfo is not None:
        raise ValueError(f"give a time of day without a UTC offset (it is always Korea time), got {t}")
    return t


def _codes(codes: tuple[str, ...]) -> tuple[str, ...]:
    """Six-character stock codes, each listed once."""
    for code in codes:
        check_stock_code(code)
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise ValueError(f"symbols must be listed once each, repeated: {', '.join(dupes)}")
    return codes


def _false_is_none(value: object) -> object:
    """TOML has no null: `false` switches an optional time off."""
    return None if value is False else value


Pct = Annotated[float, Field(gt=0, le=100), AfterValidator(_whole_bp)]
TimeOfDay = Annotated[time, AfterValidator(_naive_time)]
OptionalTime = Annotated[TimeOfDay | None, BeforeValidator(_false_is_none)]  # `false` = off
Symbols = Annotated[tuple[str, ...], Field(min_length=1, max_length=100), AfterValidator(_codes)]


class OrderSpec(StrategyParams):
    """How an order is priced: `limit` from the last price moved `offset_ticks` across, or `market`."""

    order: Literal["limit", "market"] = Field(
        default="limit", description="'limit' (tick-aligned from the last price) or 'market'"
    )
    offset_ticks: int = Field(
        default=0,
        ge=0,
        le=10,
        description="limit only: ticks more aggressive than the last price (buy higher, sell lower)",
    )

    @model_validator(mode="after")
    def _offset_needs_limit(self) -> OrderSpec:
        if self.order == "market" and self.offset_ticks:
            raise ValueError("offset_ticks applies to limit orders only (a market order has no price)")
        return self

    @property
    def order_type(self) -> OrderType:
        """The domain order type."""
        return OrderType.MARKET if self.order == "market" else OrderType.LIMIT


class OrderParams(StrategyParams):
    """Order handling every shipped plugin shares: pricing, timeouts, back-off and attempt caps."""

    entry: OrderSpec = Field(default=OrderSpec(), description="how entries are priced")
    close_exit: OrderSpec = Field(
        default=OrderSpec(order="market"),
        description="how the forced exit before the close is priced (market or an aggressive limit)",
    )
    entry_timeout_s: int = Field(
        default=30, ge=1, le=3_600, description="cancel an entry still unfilled after this many seconds"
    )
    exit_timeout_s: int = Field(
        default=30, ge=1, le=3_600, description="cancel and re-price an exit still unfilled after this long"
    )
    retry_s: int = Field(
        default=10, ge=1, le=3_600, description="wait this long before retrying a denied or rejected order"
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="entries per symbol per day, and failed exits before giving up until the close",
    )


class TradeParams(OrderParams):
    """Sizing and exit rules of a plugin that opens one position per symbol and manages it to flat.

    Price rules compare the last trade with the position's average cost (cost basis / shares,
    before fees and tax) in integer KRW: take-profit at ceil(avg × (1 + tp)), stop-loss at
    floor(avg × (1 − sl)), trailing stop at floor(high × (1 − trail)).
    """

    position_krw: int | None = Field(
        default=None, gt=0, description="KRW per position (default: budget_krw // max_positions)"
    )
    exit: OrderSpec = Field(
        default=OrderSpec(order="market"),
        description="how take-profit, stop, trailing, max-hold and signal exits are priced",
    )
    take_profit_pct: Pct | None = Field(default=None, description="sell when price >= average cost + this %")
    stop_loss_pct: Pct | None = Field(default=None, description="sell when price <= average cost - this %")
    trailing_stop_pct: Pct | None = Field(
        default=None, description="sell when price <= highest price since entry - this %"
    )
    trailing_activation_pct: Pct | None = Field(
        default=None,
        description="arm the trailing stop once the high reached average cost + this % (default: at once)",
    )
    max_hold_minutes: int | None = Field(
        default=None, ge=1, le=24 * 60, description="sell a position held this many minutes"
    )
    exit_before_close: OptionalTime = Field(
        default=time(15, 15),
        description="at this time cancel working entries and sell everything (false: hold overnight)",
    )
    no_entry_after: OptionalTime = Field(default=None, description="open no new position from this time")
    allow_reentry: bool = Field(
        default=False, description="allow a new entry into a symbol already traded and exited today"
    )


def pct_to_bp(pct: float | None) -> int:
    """A validated percentage as whole basis points (0 when unset)."""
    return 0 if pct is None else round(pct * 100)


def price_at_or_above(cost_basis: int, qty: int, bp: int) -> int:
    """The lowest integer price at which `qty` shares worth `cost_basis` have gained `bp` basis points."""
    return -(-cost_basis * (BP + bp) // (BP * qty))


def price_at_or_below(cost_basis: int, qty: int, bp: int) -> int:
    """The highest integer price at which `qty` shares worth `cost_basis` have lost `bp` basis points."""
    return cost_basis * (BP - bp) // (BP * qty)


def today_at(now: datetime, at: time) -> datetime:
    """`at` on the same (Korea-time) day as `now`."""
    return now.replace(hour=at.hour, minute=at.minute, second=at.second, microsecond=at.microsecond)


class DailyTime:
    """`today_at(now, at)` for one time of day, kept for the day of the last call (asked on every tick).

    A `now` in the same time zone and in [that day's midnight, the next midnight) gets the kept
    value: two datetime comparisons instead of a `replace`.
    """

    __slots__ = ("_at", "_end", "_start", "_tz", "_value")

    def __init__(self, at: time) -> None:
        self._at = at
        self._tz: object = None
        self._start = self._end = self._value = datetime.min

    def __call__(self, now: datetime) -> datetime:
        """`at` on the same day as `now` (exactly `today_at(now, at)`)."""
        if now.tzinfo is self._tz and self._start <= now < self._end:
            return self._value
        self._value = today_at(now, self._at)
        self._start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        self._end = self._start + timedelta(days=1)
        self._tz = now.tzinfo
        return self._value
