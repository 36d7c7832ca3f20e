"""The clock-based session guard (bot/market/guard.py) that backs the risk gate's MarketGuard."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.clock import kst
from bot.domain.values import OrderType, Venue
from bot.market.calendar import TradingCalendar
from bot.market.guard import SessionGuard
from bot.market.sessions import MarketSessions

KRX, NXT, SOR = Venue.KRX, Venue.NXT, Venue.SOR


@pytest.fixture(scope="module")
def guard() -> SessionGuard:
    """A guard with a 5-minute no-entry window after the open and 10 minutes before the close."""
    sessions = MarketSessions(TradingCalendar.load())
    return SessionGuard(sessions, no_entry_after_open_minutes=5, no_entry_before_close_minutes=10)


def test_allows_limit_orders_in_continuous_trading(guard: SessionGuard) -> None:
    """A limit order to KRX at 10:00 on a normal Tuesday passes."""
    assert guard.order_block(KRX, kst(2026, 3, 3, 10), OrderType.LIMIT) is None


def test_blocks_holiday_with_reason(guard: SessionGuard) -> None:
    """On a holiday the reason names the day and the holiday."""
    reason = guard.order_block(KRX, kst(2026, 7, 17, 10), OrderType.LIMIT)
    assert reason is not None and "2026-07-17" in reason and "Constitution Day" in reason


def test_blocks_market_order_in_nxt_pre_market_naming_phase_and_next_change(guard: SessionGuard) -> None:
    """A market order to NXT at 08:10 is refused with the phase and the time NXT next changes."""
    reason = guard.order_block(NXT, kst(2026, 3, 3, 8, 10), OrderType.MARKET)
    assert reason is not None
    assert "trde_tp 3" in reason and "pre_market" in reason and "2026-03-03 08:50:00" in reason


def test_blocks_ioc_in_closing_auction(guard: SessionGuard) -> None:
    """IOC orders cannot fill in a call auction and are refused at 15:25."""
    reason = guard.order_block(KRX, kst(2026, 3, 3, 15, 25), OrderType.LIMIT_IOC)
    assert reason is not None and "closing_auction" in reason


def test_uncovered_year_fails_closed(guard: SessionGuard) -> None:
    """Without calendar data for 2027 every order is blocked with the fix in the reason."""
    reason = guard.order_block(KRX, kst(2027, 1, 4, 10), OrderType.LIMIT)
    assert reason is not None and "no data for 2027" in reason


@pytest.mark.parametrize(
    ("venue", "hms", "blocked"),
    [
        (KRX, (9, 0, 0), True),
        (KRX, (9, 4, 59), True),
        (KRX, (9, 5, 0), False),
        (KRX, (15, 19, 59), False),  # 10 min 1 s before 15:30
        (KRX, (15, 20, 0), True),  # the last 10 minutes are [15:20, 15:30)
        (KRX, (15, 29, 59), True),
        (NXT, (9, 5, 29), True),  # main starts 09:00:30
        (NXT, (9, 5, 30), False),
        (NXT, (15, 9, 59), False),
        (NXT, (15, 10, 0), True),  # main ends 15:20
        (NXT, (15, 44, 0), True),  # after-market continuous from 15:40
        (SOR, (9, 5, 29), True),
        (SOR, (12, 0, 0), False),
    ],
)
def test_entry_windows(guard: SessionGuard, venue: Venue, hms: tuple[int, int, int], blocked: bool) -> None:
    """Entries are refused in the first 5 min of continuous trading and the last 10 min before close."""
    assert (guard.entry_block(venue, kst(2026, 3, 3, *hms)) is not None) is blocked


def test_entry_window_follows_late_open(guard: SessionGuard) -> None:
    """On CSAT day the no-entry window after the open runs 10:00–10:05 and before the close 16:20–16:30."""
    assert guard.entry_block(KRX, kst(2026, 11, 19, 10, 4)) is not None
    assert guard.entry_block(KRX, kst(2026, 11, 19, 10, 6)) is None
    assert guard.entry_block(KRX, kst(2026, 11, 19, 16, 19, 59)) is None
    assert guard.entry_block(KRX, kst(2026, 11, 19, 16, 20)) is not None


def test_override_day_is_followed(tmp_path: Path) -> None:
    """A temporary holiday from the override file blocks orders that day."""
    path = tmp_path / "cal.toml"
    path.write_text('[[closed]]\ndate = 2026-12-29\nreason = "temporary holiday"\n', encoding="utf-8")
    guard = SessionGuard(MarketSessions(TradingCalendar.load(path)))
    assert guard.order_block(KRX, kst(2026, 12, 29, 10), OrderType.LIMIT) == (
        f"market closed on {date(2026, 12, 29)} (temporary holiday)"
    )
