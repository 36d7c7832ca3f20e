"""Kiwoom `trde_tp` codes allowed per phase (bot/market/order_rules.py) against krx-market-rules.md §10."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.clock import kst
from bot.domain.values import OrderType, Venue
from bot.market.calendar import TradingCalendar
from bot.market.order_rules import TradeType, trade_type_of
from bot.market.phases import Phase
from bot.market.sessions import MarketSessions

T = TradeType
KRX, NXT, SOR = Venue.KRX, Venue.NXT, Venue.SOR
IMMEDIATE = {T.LIMIT_IOC, T.MARKET_IOC, T.BEST_LIMIT_IOC, T.LIMIT_FOK, T.MARKET_FOK, T.BEST_LIMIT_FOK}
MID_AND_STOP = {T.STOP_LIMIT, T.MID_PRICE, T.MID_PRICE_IOC, T.MID_PRICE_FOK}


@pytest.fixture(scope="module")
def sessions() -> MarketSessions:
    """Sessions over the shipped calendar."""
    return MarketSessions(TradingCalendar.load())


def normal(h: int, m: int) -> datetime:
    return kst(2026, 3, 3, h, m)


@pytest.mark.parametrize(
    ("venue", "when", "expected"),
    [
        (KRX, normal(8, 35), {T.LIMIT, T.MARKET, T.CONDITIONAL_LIMIT, T.PRE_HOURS_CLOSING_PRICE}),
        (KRX, normal(8, 45), {T.LIMIT, T.MARKET, T.CONDITIONAL_LIMIT}),
        (KRX, normal(15, 25), {T.LIMIT, T.MARKET}),
        (KRX, normal(15, 35), {T.POST_CLOSE_CLOSING_PRICE}),
        (KRX, normal(15, 45), {T.POST_CLOSE_CLOSING_PRICE}),
        (KRX, normal(16, 30), {T.AFTER_HOURS_SINGLE_PRICE}),
        (KRX, normal(18, 0), set()),
        (NXT, normal(8, 10), {T.LIMIT, T.BEST_LIMIT, T.PRIORITY_LIMIT}),
        (NXT, normal(8, 55), set()),
        (NXT, normal(15, 35), {T.LIMIT}),
        (NXT, normal(17, 0), {T.LIMIT, T.BEST_LIMIT, T.PRIORITY_LIMIT}),
    ],
)
def test_allowed_codes_outside_continuous_trading(
    sessions: MarketSessions, venue: Venue, when: datetime, expected: set[TradeType]
) -> None:
    """Auctions, off-hours sessions and NXT pre/after accept only their own order types."""
    assert sessions.allowed_trade_types(venue, when) == expected


def test_krx_continuous_accepts_every_regular_type(sessions: MarketSessions) -> None:
    """KRX continuous trading takes all regular types, IOC/FOK, stop-limit and mid-price, not 61/62/81."""
    allowed = sessions.allowed_trade_types(KRX, normal(10, 0))
    assert allowed == set(T) - {
        T.PRE_HOURS_CLOSING_PRICE,
        T.AFTER_HOURS_SINGLE_PRICE,
        T.POST_CLOSE_CLOSING_PRICE,
    }


def test_nxt_main_market_accepts_market_and_ioc_but_not_conditional(sessions: MarketSessions) -> None:
    """NXT main adds market, IOC/FOK, stop-limit and mid-price; conditional limit (5) is KRX-only."""
    allowed = sessions.allowed_trade_types(NXT, normal(10, 0))
    assert {T.MARKET, T.MARKET_IOC} | IMMEDIATE | MID_AND_STOP <= allowed
    assert T.CONDITIONAL_LIMIT not in allowed


@pytest.mark.parametrize("when", [normal(8, 10), normal(15, 35), normal(17, 0)])
def test_no_market_orders_in_nxt_pre_and_after_market(sessions: MarketSessions, when: datetime) -> None:
    """Market orders are not accepted in NXT pre- and after-market."""
    allowed = sessions.allowed_trade_types(NXT, when)
    assert not allowed & {T.MARKET, T.MARKET_IOC, T.MARKET_FOK}


@pytest.mark.parametrize("venue", [KRX, NXT])
def test_ioc_fok_and_mid_price_only_in_continuous_phases(sessions: MarketSessions, venue: Venue) -> None:
    """Across a whole day, IOC/FOK and mid-price appear only while KRX is continuous or NXT in main."""
    when = kst(2026, 3, 3, 7, 0)
    while when < kst(2026, 3, 3, 20, 30):
        allowed = sessions.allowed_trade_types(venue, when)
        in_continuous = sessions.phase_at(venue, when) in (Phase.CONTINUOUS, Phase.MAIN)
        assert bool(allowed & (IMMEDIATE | MID_AND_STOP)) is in_continuous, when
        when += timedelta(seconds=30)


def test_sor_accepts_what_both_venues_accept_in_the_overlap(sessions: MarketSessions) -> None:
    """SOR orders are allowed only while both venues trade continuously, and only common types."""
    assert sessions.allowed_trade_types(SOR, normal(8, 10)) == frozenset()
    overlap = sessions.allowed_trade_types(SOR, normal(10, 0))
    assert T.LIMIT in overlap and T.CONDITIONAL_LIMIT not in overlap


def test_stop_limit_and_mid_price_not_before_2025_03_04(sessions: MarketSessions) -> None:
    """KRX introduced stop-limit and mid-price orders on 2025-03-04."""
    before = sessions.allowed_trade_types(KRX, kst(2025, 2, 28, 10))
    after = sessions.allowed_trade_types(KRX, kst(2025, 3, 4, 10))
    assert not before & MID_AND_STOP
    assert after >= MID_AND_STOP


@pytest.mark.parametrize(
    ("order_type", "code"),
    [
        (OrderType.LIMIT, "0"),
        (OrderType.MARKET, "3"),
        (OrderType.CONDITIONAL_LIMIT, "5"),
        (OrderType.BEST_LIMIT, "6"),
        (OrderType.PRIORITY_LIMIT, "7"),
        (OrderType.LIMIT_IOC, "10"),
        (OrderType.MARKET_IOC, "13"),
        (OrderType.LIMIT_FOK, "20"),
        (OrderType.MARKET_FOK, "23"),
    ],
)
def test_order_type_codes(order_type: OrderType, code: str) -> None:
    """Each bot order type maps to the §10 `trde_tp` code, and the priced ones agree with the domain."""
    trade_type = trade_type_of(order_type)
    assert trade_type.value == code
    assert trade_type.needs_price is order_type.needs_price


def test_needs_price_matches_section_10() -> None:
    """`ord_uv` is required exactly for 0, 5, 10, 20, 28 and 62."""
    assert {t.value for t in T if t.needs_price} == {"0", "5", "10", "20", "28", "62"}
