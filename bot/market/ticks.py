"""Tick sizes (2023 table, ETF/ETN exception) and daily price limits (±30 %) of the KRX.

Facts: krx-market-rules.md §5 and §6. Every price is an int in KRW.
"""

from __future__ import annotations

from enum import StrEnum

# (lower bound inclusive, tick) for stocks since 2023-01-25; KOSPI, KOSDAQ and KONEX alike.
_STOCK_BANDS: tuple[tuple[int, int], ...] = (
    (500_000, 1_000),
    (200_000, 500),
    (50_000, 100),
    (20_000, 50),
    (5_000, 10),
    (2_000, 5),
    (0, 1),
)

PRICE_LIMIT_RATE_PCT = 30


class InstrumentKind(StrEnum):
    """Which tick table applies."""

    STOCK = "stock"
    ETF = "etf"  # ETFs and ETNs share a table since 2023-12-18


def tick_size(price: int, kind: InstrumentKind = InstrumentKind.STOCK) -> int:
    """The tick of the band that `price` falls in (lower bound inclusive)."""
    if price < 0:
        raise ValueError(f"price must be >= 0, got {price}")
    if kind is InstrumentKind.ETF:
        return 1 if price < 2_000 else 5
    for lower, tick in _STOCK_BANDS:
        if price >= lower:
            return tick
    raise AssertionError("unreachable")


def is_on_tick(price: int, kind: InstrumentKind = InstrumentKind.STOCK) -> bool:
    """Whether `price` is a valid order price on the tick grid."""
    return price > 0 and price % tick_size(price, kind) == 0


def floor_to_tick(price: int, kind: InstrumentKind = InstrumentKind.STOCK) -> int:
    """The highest on-grid price <= `price` (for buy limits: never pay more than intended)."""
    if price <= 0:
        raise ValueError(f"price must be > 0, got {price}")
    return price - price % tick_size(price, kind)


def ceil_to_tick(price: int, kind: InstrumentKind = InstrumentKind.STOCK) -> int:
    """The lowest on-grid price >= `price` (for sell limits: never accept less than intended)."""
    floored = floor_to_tick(price, kind)
    if floored == price:
        return price
    # The next grid point above `floored` uses the tick of `floored`'s band; when that lands on a band
    # boundary it is still on the coarser grid because ticks nest.
    return floored + tick_size(floored, kind)


def add_ticks(price: int, n: int, kind: InstrumentKind = InstrumentKind.STOCK) -> int:
    """Move an on-grid price `n` ticks up (n > 0) or down (n < 0), crossing bands correctly."""
    for _ in range(abs(n)):
        if n > 0:
            price += tick_size(price, kind)
        else:
            below = price - 1
            if below <= 0:
                raise ValueError("cannot move below the lowest tick")
            price = floor_to_tick(below, kind)
    return price


def price_limits(base: int, kind: InstrumentKind = InstrumentKind.STOCK) -> tuple[int, int]:
    """The (lower, upper) daily limit prices for a base price (기준가격), KRX arithmetic.

    The 30 % amount is truncated to the base band's tick; upper is then truncated to its own band's
    tick; lower needs no rounding because ticks nest. Example: base 157,500 → (110,300, 204,500).
    """
    if base <= 0:
        raise ValueError(f"base price must be > 0, got {base}")
    base_tick = tick_size(base, kind)
    amount = base * PRICE_LIMIT_RATE_PCT // 100
    amount -= amount % base_tick
    upper = floor_to_tick(base + amount, kind)
    lower = max(base - amount, 1)
    return lower, upper
