"""Tick sizes and daily price limits (bot/market/ticks.py) against krx-market-rules.md §5–§6."""

from __future__ import annotations

import itertools

import pytest

from bot.market.ticks import (
    InstrumentKind,
    add_ticks,
    ceil_to_tick,
    floor_to_tick,
    is_on_tick,
    price_limits,
    tick_size,
)

ETF = InstrumentKind.ETF

# (last price of a band, first price of the next band, tick below, tick from the edge) — §5 table
STOCK_BAND_EDGES = [
    (1_999, 2_000, 1, 5),
    (4_999, 5_000, 5, 10),
    (19_999, 20_000, 10, 50),
    (49_999, 50_000, 50, 100),
    (199_999, 200_000, 100, 500),
    (499_999, 500_000, 500, 1_000),
]


@pytest.mark.parametrize(("below", "edge", "tick_below", "tick_edge"), STOCK_BAND_EDGES)
def test_stock_tick_band_edges(below: int, edge: int, tick_below: int, tick_edge: int) -> None:
    """The lower bound of each stock band is inclusive and the upper bound exclusive."""
    assert tick_size(below) == tick_below
    assert tick_size(edge) == tick_edge


@pytest.mark.parametrize(
    ("price", "tick"), [(1, 1), (1_000, 1), (3_000, 5), (10_000, 10), (100_000, 100), (1_000_000, 1_000)]
)
def test_stock_tick_inside_bands(price: int, tick: int) -> None:
    """Prices inside a band take that band's tick (the unified 2023 table for every market)."""
    assert tick_size(price) == tick


@pytest.mark.parametrize(("price", "tick"), [(1, 1), (1_999, 1), (2_000, 5), (50_000, 5), (1_000_000, 5)])
def test_etf_ticks(price: int, tick: int) -> None:
    """ETF/ETN ticks since 2023-12-18: 1 won below 2,000, 5 won from 2,000 at every price."""
    assert tick_size(price, ETF) == tick


def test_tick_sizes_nest() -> None:
    """Each tick divides the next, which the limit arithmetic relies on."""
    ticks = [1, 5, 10, 50, 100, 500, 1_000]
    assert sorted({tick_size(p) for p in (1, 2_000, 5_000, 20_000, 50_000, 200_000, 500_000)}) == ticks
    assert all(b % a == 0 for a, b in itertools.pairwise(ticks))


def test_tick_size_rejects_negative_price() -> None:
    """A negative price is refused with a message naming it."""
    with pytest.raises(ValueError, match="-5"):
        tick_size(-5)


@pytest.mark.parametrize(
    ("price", "on_tick"),
    [(0, False), (-5, False), (1_999, True), (2_003, False), (2_005, True), (20_010, False), (20_050, True)],
)
def test_is_on_tick(price: int, on_tick: bool) -> None:
    """Only positive prices on their own band's grid are valid order prices."""
    assert is_on_tick(price) is on_tick


def test_is_on_tick_etf_grid() -> None:
    """An ETF at 20,005 is on the 5-won grid although a stock there would need 50-won steps."""
    assert is_on_tick(20_005, ETF)
    assert not is_on_tick(20_005)


@pytest.mark.parametrize(
    ("price", "floor", "ceil"),
    [
        (4_999, 4_995, 5_000),
        (19_999, 19_990, 20_000),
        (20_049, 20_000, 20_050),
        (499_999, 499_500, 500_000),
        (157_550, 157_500, 157_600),
        (20_000, 20_000, 20_000),
    ],
)
def test_floor_and_ceil_to_tick(price: int, floor: int, ceil: int) -> None:
    """Buy limits round down and sell limits round up onto the grid, across band edges."""
    assert floor_to_tick(price) == floor
    assert ceil_to_tick(price) == ceil
    assert is_on_tick(floor) and is_on_tick(ceil)


def test_floor_to_tick_rejects_zero() -> None:
    """There is no order price at or below zero."""
    with pytest.raises(ValueError, match="price must be > 0"):
        floor_to_tick(0)


@pytest.mark.parametrize(
    ("price", "n", "expected"),
    [
        (19_990, 1, 20_000),
        (20_000, 1, 20_050),
        (20_000, -1, 19_990),
        (5_000, -1, 4_995),
        (2_000, -1, 1_999),
        (1_999, 1, 2_000),
        (199_900, 2, 200_500),
        (500_000, -1, 499_500),
        (10_000, 0, 10_000),
    ],
)
def test_add_ticks_crosses_bands(price: int, n: int, expected: int) -> None:
    """Moving by ticks uses the tick of the band each step starts from, both ways."""
    assert add_ticks(price, n) == expected


def test_add_ticks_cannot_go_below_one_won() -> None:
    """Stepping below the lowest tick is an error, not a zero or negative price."""
    with pytest.raises(ValueError, match="below the lowest tick"):
        add_ticks(1, -1)


@pytest.mark.parametrize(
    ("base", "lower", "upper"),
    [
        (9_940, 6_960, 12_920),  # amount 2,982 → 2,980
        (9_750, 6_830, 12_670),  # amount 2,925 → 2,920 (12,650 only under the pre-2023 table)
        (157_500, 110_300, 204_500),  # upper 204,700 truncated to the 500-won band
    ],
)
def test_price_limits_worked_examples(base: int, lower: int, upper: int) -> None:
    """The §6 worked examples of the ±30 % limit arithmetic."""
    assert price_limits(base) == (lower, upper)


@pytest.mark.parametrize(
    ("base", "lower", "upper"),
    [
        (10_000, 7_000, 13_000),
        (1_000, 700, 1_300),
        (2_000, 1_400, 2_600),  # amount 600 on the 5-won grid; lower falls into the 1-won band
        (50_000, 35_000, 65_000),
        (200_000, 140_000, 260_000),
        (500_000, 350_000, 650_000),
        (1_000_000, 700_000, 1_300_000),
        (4_995, 3_500, 6_490),  # amount 1,498 → 1,495 (5-won base tick); upper 6,490 on the 10-won grid
    ],
)
def test_price_limits_at_band_edges(base: int, lower: int, upper: int) -> None:
    """Limits for bases on band edges follow the same truncation rule."""
    assert price_limits(base) == (lower, upper)


def test_price_limits_are_on_grid_and_symmetric_in_base_ticks() -> None:
    """For every on-grid base below 1,000,000 both limits are on grid and lower = base − truncated amount."""
    base = 1
    while base < 1_000_000:
        lower, upper = price_limits(base)
        amount = base * 30 // 100
        amount -= amount % tick_size(base)
        assert lower == max(base - amount, 1)
        assert is_on_tick(lower) and is_on_tick(upper)
        assert upper == floor_to_tick(base + amount)
        base = add_ticks(base, 1)


@pytest.mark.parametrize(("base", "lower", "upper"), [(10_000, 7_000, 13_000), (1_999, 1_400, 2_595)])
def test_etf_price_limits(base: int, lower: int, upper: int) -> None:
    """ETF limits use the ETF grid: 1,999 → amount 599, upper 2,598 truncated to the 5-won band."""
    assert price_limits(base, ETF) == (lower, upper)


def test_price_limits_reject_non_positive_base() -> None:
    """A zero base price is refused."""
    with pytest.raises(ValueError, match="base price must be > 0"):
        price_limits(0)
