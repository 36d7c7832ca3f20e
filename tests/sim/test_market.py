"""The seeded synthetic market: determinism, KRX sessions, tick grid, limits, VI and speed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.clock import kst
from bot.market.ticks import InstrumentKind, is_on_tick, price_limits
from bot.sim.conditions import ConditionBook, ConditionChange
from bot.sim.market import VI_HALT, Market, Phase, StepResult, phase_at
from bot.sim.universe import LISTINGS

DAY = kst(2026, 11, 20)


@dataclass
class Day:
    """Everything one seeded day produced, recorded step by step."""

    market: Market
    results: list[StepResult] = field(default_factory=list)
    changes: list[tuple[datetime, ConditionChange]] = field(default_factory=list)
    cpu_s: float = 0.0


@pytest.fixture(scope="module")
def day() -> Day:
    """A whole KRX day (08:30 to 15:40, one step per second) of seed 1, with conditions recomputed."""
    start = DAY.replace(hour=8, minute=30)
    market = Market(1, start)
    book = ConditionBook(market)
    record = Day(market)
    now = start
    cpu0 = time.process_time()
    for _ in range(7 * 3600 + 10 * 60):
        now += timedelta(seconds=1)
        record.results.append(market.step(now))
        record.changes.extend((now, c) for c in book.update())
    record.cpu_s = time.process_time() - cpu0
    return record


def test_universe_has_well_known_codes_on_the_tick_grid() -> None:
    """The seeded list holds a few dozen real KRX names, an ETF, and bases on the tick grid."""
    codes = {listing.code: listing for listing in LISTINGS}
    assert len(codes) >= 30
    assert codes["005930"].name == "삼성전자" and codes["000660"].name == "SK하이닉스"
    assert codes["069500"].kind is InstrumentKind.ETF
    for required in (
        "373220",
        "207940",
        "005380",
        "000270",
        "068270",
        "035420",
        "035720",
        "005490",
        "105560",
        "055550",
        "051910",
        "006400",
        "012330",
        "247540",
        "086520",
        "196170",
        "028300",
    ):
        assert required in codes
    for listing in LISTINGS:
        assert is_on_tick(listing.base, listing.kind), listing


def test_phases_follow_the_krx_timetable() -> None:
    """Before 08:30 nothing, 08:30 opening auction, 09:00 continuous, 15:20 closing auction, 15:30 closed."""
    assert phase_at(DAY.replace(hour=8, minute=29, second=59)) is Phase.PRE_OPEN
    assert phase_at(DAY.replace(hour=8, minute=30)) is Phase.OPENING_AUCTION
    assert phase_at(DAY.replace(hour=9)) is Phase.CONTINUOUS
    assert phase_at(DAY.replace(hour=15, minute=19, second=59)) is Phase.CONTINUOUS
    assert phase_at(DAY.replace(hour=15, minute=20)) is Phase.CLOSING_AUCTION
    assert phase_at(DAY.replace(hour=15, minute=30)) is Phase.CLOSED
    assert phase_at(kst(2026, 11, 21, 10)) is Phase.CLOSED  # Saturday


def test_same_seed_same_market_and_different_seed_differs() -> None:
    """Two markets with one seed print identical trades; another seed does not."""

    def run(seed: int) -> list[tuple[str, int, int]]:
        market = Market(seed, DAY.replace(hour=9))
        now = DAY.replace(hour=9)
        out = []
        for _ in range(300):
            now += timedelta(seconds=1)
            out += [(t.code, t.price, t.qty) for t in market.step(now).trades]
        return out

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_prices_stay_on_the_grid_and_inside_the_daily_band(day: Day) -> None:
    """Every print of the day is on the instrument's tick grid and within ±30 % of the base."""
    for result in day.results:
        for trade in result.trades:
            s = day.market.symbol(trade.code)
            lower, upper = price_limits(s.base, s.kind)
            assert lower <= trade.price <= upper, trade
            assert is_on_tick(trade.price, s.kind), trade


def test_auctions_print_once_and_nothing_trades_outside_continuous_hours(day: Day) -> None:
    """No prints before 09:00 or during 15:20-15:30; one auction print per symbol at 09:00 and at 15:30."""
    opening = next(r for r in day.results if r.now == DAY.replace(hour=9))
    assert {t.code for t in opening.trades if t.auction} == set(day.market.codes)
    for result in day.results:
        if result.phase in (Phase.PRE_OPEN, Phase.OPENING_AUCTION, Phase.CLOSING_AUCTION):
            assert result.trades == ()
    closing = next(r for r in day.results if r.now == DAY.replace(hour=15, minute=30))
    assert sorted(t.code for t in closing.trades) == sorted(day.market.codes)
    after = [r for r in day.results if r.now > DAY.replace(hour=15, minute=30)]
    assert after and all(r.trades == () for r in after)


def test_static_vi_halts_a_symbol_for_two_minutes(day: Day) -> None:
    """A static VI fires at ±10 % of its reference; the symbol does not trade until released 2 min later."""
    triggers = [(r.now, e) for r in day.results for e in r.vi if e.active]
    assert triggers, "seed 1 should see at least one VI in a day"
    for when, event in triggers:
        assert abs(event.price - event.ref) * 10 >= event.ref
        release = [
            (r.now, e)
            for r in day.results
            for e in r.vi
            if e.code == event.code and not e.active and r.now > when
        ]
        assert release, event
        released_at = release[0][0]
        assert released_at - when == VI_HALT or released_at == DAY.replace(hour=15, minute=30)
        halted = [r for r in day.results if when <= r.now < released_at]
        assert all(t.code != event.code for r in halted for t in r.trades)


def test_prices_move_realistically(day: Day) -> None:
    """Most names close within ±5 % and some move enough for the conditions to churn."""
    moves = [abs(s.price - s.base) * 100 / s.base for s in day.market.states()]
    assert sum(m <= 5 for m in moves) >= len(moves) // 2
    assert max(m for m in moves) >= 3


def test_conditions_churn_through_the_day(day: Day) -> None:
    """Each saved condition gains and loses members as prices and volumes move."""
    for seq in ("0", "1", "2"):
        kinds = {c.kind for _, c in day.changes if c.seq == seq}
        assert kinds == {"I", "D"}, (seq, kinds)


def test_a_day_costs_a_few_seconds_of_cpu(day: Day) -> None:
    """A whole day of 30+ symbols, one step per second, with conditions, stays within a few CPU seconds."""
    assert len(day.market.codes) >= 30
    assert day.cpu_s < 8.0, day.cpu_s


def test_starting_mid_session_opens_on_the_first_step() -> None:
    """A market created at 10:00 does its opening match on its first step."""
    start = DAY.replace(hour=10)
    market = Market(3, start)
    result = market.step(start + timedelta(seconds=1))
    assert {t.code for t in result.trades if t.auction} == set(market.codes)


def test_next_day_uses_the_close_as_base() -> None:
    """Crossing midnight makes the last price the new base price and resets the day's range."""
    market = Market(5, DAY.replace(hour=15, minute=29))
    market.step(DAY.replace(hour=15, minute=29, second=30))
    market.step(DAY.replace(hour=15, minute=30))
    close = market.last_price("005930")
    market.step(kst(2026, 11, 23, 8, 0))
    s = market.symbol("005930")
    assert s.base == close and s.open == 0 and s.cum_vol == 0


def test_extra_listings_add_calm_synthetic_symbols_on_the_tick_grid() -> None:
    """SimSettings.extra_listings adds that many named symbols after the well-known ones."""
    from bot.market.ticks import is_on_tick
    from bot.sim import SimSettings, Simulator
    from bot.sim.universe import LISTINGS

    sim = Simulator(SimSettings(extra_listings=18))
    codes = list(sim.market.codes)
    assert len(codes) == len(LISTINGS) + 18 and codes[-1] == "900018"
    assert sim.market.name("900001") == "시뮬종목001"
    assert all(is_on_tick(sim.market.last_price(c)) for c in codes[-18:])
