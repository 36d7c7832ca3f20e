"""Kiwoom 0s FID 215 market-state codes (bot/market/state_codes.py) against kiwoom-protocol.md §7.4."""

from __future__ import annotations

from datetime import time

import pytest

from bot.clock import kst
from bot.domain.values import Venue
from bot.market.calendar import TradingCalendar
from bot.market.phases import Phase
from bot.market.sessions import MarketSessions
from bot.market.state_codes import market_state_change

KRX, NXT = Venue.KRX, Venue.NXT

# (code, venue, phase entered, nominal time on a normal day)
CODES = [
    ("0", KRX, Phase.OPENING_AUCTION, time(8, 40)),
    ("3", KRX, Phase.CONTINUOUS, time(9, 0)),
    ("2", KRX, Phase.CLOSING_AUCTION, time(15, 20)),
    ("4", KRX, Phase.POST_CLOSE_CLOSING_PRICE, time(15, 30)),
    ("9", KRX, Phase.CLOSED, time(18, 0)),
    ("a", KRX, Phase.POST_CLOSE_CLOSING_PRICE, time(15, 40)),
    ("c", KRX, Phase.AFTER_HOURS_SINGLE_PRICE, time(16, 0)),
    ("d", KRX, Phase.CLOSED, time(18, 0)),
    ("P", NXT, Phase.PRE_MARKET, time(8, 0)),
    ("Q", NXT, Phase.PAUSE, time(8, 50)),
    ("R", NXT, Phase.MAIN, time(9, 0, 30)),
    ("S", NXT, Phase.PAUSE, time(15, 20)),
    ("T", NXT, Phase.AFTER_MARKET_ENTRY, time(15, 30)),
    ("U", NXT, Phase.AFTER_MARKET, time(15, 40)),
    ("V", NXT, Phase.CLOSED, time(20, 0)),
    ("W", NXT, Phase.CLOSED, time(20, 0)),
]


@pytest.mark.parametrize(("code", "venue", "phase", "nominal"), CODES)
def test_code_meaning_matches_the_clock(code: str, venue: Venue, phase: Phase, nominal: time) -> None:
    """Each code names the venue and the phase that the session table gives at its nominal time."""
    change = market_state_change(code, nominal)
    assert (change.venue, change.phase) == (venue, phase)
    sessions = MarketSessions(TradingCalendar.load())
    assert sessions.phase_at(venue, kst(2026, 3, 3, nominal.hour, nominal.minute, nominal.second)) is phase


@pytest.mark.parametrize("code", ["8", "b"])
def test_confirmation_codes_change_no_phase(code: str) -> None:
    """정규장마감 (8) and 시간외종가 종료 (b) are informational: the next code sets the phase."""
    change = market_state_change(code)
    assert change.venue is KRX and change.phase is None


def test_v_is_disambiguated_by_time() -> None:
    """`V` at 16:00 is the old-PDF NXT closing-price trade end; at 20:00 or without a time, NXT closes."""
    assert market_state_change("V", time(16, 0)).phase is None
    assert market_state_change("V", time(16, 0)).event == "closing_price_trade_end"
    assert market_state_change("V", time(20, 0)).phase is Phase.CLOSED
    assert market_state_change("V").phase is Phase.CLOSED


def test_code_is_stripped_and_case_sensitive() -> None:
    """Padding is ignored; lower-case `a` (KRX) and upper-case codes (NXT) are distinct."""
    assert market_state_change(" 3 ").code == "3"
    with pytest.raises(ValueError, match="'A'"):
        market_state_change("A")


def test_unknown_code_is_named() -> None:
    """An unknown code raises ValueError naming it, for the caller to log, count and skip."""
    with pytest.raises(ValueError, match=r"'Z'.*expected one of"):
        market_state_change("Z")
