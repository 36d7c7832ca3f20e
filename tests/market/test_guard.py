"""SessionGuard (bot/market/guard.py) against the worked dates and times of krx-market-rules.md §1–§3, §10."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import kst
from bot.config import MarketConfig
from bot.domain.values import OrderType, Venue
from bot.market.calendar import TradingCalendar
from bot.market.guard import SessionGuard
from bot.market.sessions import MarketSessions

KRX, NXT, SOR = Venue.KRX, Venue.NXT, Venue.SOR
LIMIT, MARKET, COND = OrderType.LIMIT, OrderType.MARKET, OrderType.CONDITIONAL_LIMIT
BEST, PRIORITY = OrderType.BEST_LIMIT, OrderType.PRIORITY_LIMIT
IOC, MIOC, FOK, MFOK = OrderType.LIMIT_IOC, OrderType.MARKET_IOC, OrderType.LIMIT_FOK, OrderType.MARKET_FOK
NORMAL = (2026, 11, 20)  # a Friday
FIRST_DAY = (2026, 1, 2)
CSAT = (2026, 11, 19)


def at(day: tuple[int, int, int], hms: str) -> datetime:
    """A KST instant from a day tuple and "HH:MM:SS"."""
    h, m, s = (int(x) for x in hms.split(":"))
    return kst(*day, h, m, s)


@pytest.fixture(scope="module")
def sessions() -> MarketSessions:
    """Sessions over the shipped calendar (built once: the timetables are immutable)."""
    return MarketSessions(TradingCalendar.load())


@pytest.fixture
def guard(sessions: MarketSessions) -> SessionGuard:
    """The default windows: no entries in the first 5 and the last 10 minutes of the regular session."""
    return SessionGuard(sessions, MarketConfig())


def _blocked(reason: str | None, expected: str | None) -> None:
    """`expected` None means allowed; otherwise the reason must contain it."""
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason, reason


# --- order types per phase, KRX normal day -------------------------------------------------------
KRX_DAY = [
    ("08:29:59", LIMIT, "KRX is not open yet at 08:29:59 (its day starts at 08:30)"),
    ("08:30:00", LIMIT, None),
    ("08:30:00", MARKET, None),
    ("08:30:00", COND, None),
    ("08:30:00", IOC, "KRX is in the opening auction (08:30–09:00): limit IOC orders are not accepted"),
    ("08:59:59", LIMIT, None),
    ("08:59:59", FOK, "in the opening auction"),
    ("08:59:59", BEST, "best-limit orders are not accepted"),
    ("09:00:00", LIMIT, None),
    ("09:00:00", MARKET, None),
    ("09:00:00", IOC, "KRX's opening auction may still be matching until 09:00:30 (random end up to 30 s)"),
    ("09:00:29", MIOC, "may still be matching until 09:00:30"),
    ("09:00:30", IOC, None),
    ("09:00:30", MFOK, None),
    ("09:00:30", BEST, None),
    ("09:00:30", PRIORITY, None),
    ("15:19:59", MIOC, None),
    ("15:19:59", COND, None),
    ("15:20:00", LIMIT, None),
    ("15:20:00", MARKET, None),
    ("15:20:00", MIOC, "KRX is in the closing auction (15:20–15:30): market IOC orders are not accepted"),
    ("15:20:00", COND, "conditional-limit orders are not accepted (accepted now: limit, market)"),
    ("15:29:59", LIMIT, None),
    ("15:30:00", LIMIT, "KRX is in the after-hours closing-price session (15:30–16:00): limit orders are"),
    ("16:00:00", LIMIT, "after-hours single-price session (16:00–18:00)"),
    ("18:00:00", LIMIT, "KRX is closed for the day at 18:00:00 (its day ended at 18:00)"),
]


@pytest.mark.parametrize(("hms", "order_type", "expected"), KRX_DAY)
def test_krx_normal_day_order_types(
    guard: SessionGuard, hms: str, order_type: OrderType, expected: str | None
) -> None:
    """Each KRX phase of a normal day takes exactly the order types of rules §10, to the second."""
    _blocked(guard.order_block(KRX, at(NORMAL, hms), order_type), expected)


def test_closing_auction_reason_names_what_is_accepted(guard: SessionGuard) -> None:
    """The closing-auction refusal is a full sentence listing the types that would be taken."""
    assert guard.order_block(KRX, at(NORMAL, "15:25:00"), MIOC) == (
        "KRX is in the closing auction (15:20–15:30): market IOC orders are not accepted "
        "(accepted now: limit, market)"
    )
    assert guard.order_block(KRX, at(NORMAL, "15:35:00"), LIMIT) == (
        "KRX is in the after-hours closing-price session (15:30–16:00): limit orders are not accepted "
        "(only Kiwoom trde_tp 81 orders are)"
    )


# --- NXT ---------------------------------------------------------------------------------------
NXT_DAY = [
    ("07:59:59", LIMIT, "NXT is not open yet at 07:59:59 (its day starts at 08:00)"),
    ("08:00:00", LIMIT, None),
    ("08:00:00", BEST, None),
    ("08:00:00", PRIORITY, None),
    ("08:00:00", MARKET, "NXT is in the pre-market (08:00–08:50): market orders are not accepted"),
    ("08:49:59", IOC, "limit IOC orders are not accepted (accepted now: limit, best-limit, priority-limit)"),
    ("08:50:00", LIMIT, "NXT is paused 08:50–09:00:30 for the KRX opening auction"),
    ("09:00:29", LIMIT, "NXT is paused 08:50–09:00:30 for the KRX opening auction"),
    ("09:00:30", LIMIT, None),
    ("09:00:30", MARKET, None),
    ("09:00:30", MIOC, None),
    ("09:00:30", COND, "NXT is in the main market (09:00:30–15:20): conditional-limit orders are not"),
    ("15:19:59", MFOK, None),
    ("15:20:00", LIMIT, "NXT is paused 15:20–15:30 for the KRX closing auction"),
    ("15:30:00", LIMIT, None),
    ("15:30:00", BEST, "after-market's single-price open (15:30–15:40): best-limit orders are not"),
    ("15:40:00", LIMIT, None),
    ("15:40:00", PRIORITY, None),
    ("15:40:00", MARKET, "NXT is in the after-market (15:40–20:00): market orders are not accepted"),
    ("19:59:59", LIMIT, None),
    ("20:00:00", LIMIT, "NXT is closed for the day at 20:00:00 (its day ended at 20:00)"),
]


@pytest.mark.parametrize(("hms", "order_type", "expected"), NXT_DAY)
def test_nxt_normal_day_order_types(
    guard: SessionGuard, hms: str, order_type: OrderType, expected: str | None
) -> None:
    """NXT pauses around the KRX auctions and takes no market orders in its pre/after-market (§3)."""
    _blocked(guard.order_block(NXT, at(NORMAL, hms), order_type), expected)


SOR_DAY = [
    ("08:45:00", LIMIT, "SOR orders need KRX continuous trading and the NXT main market, but KRX is in"),
    ("09:00:29", LIMIT, "but NXT is paused 08:50–09:00:30 for the KRX opening auction"),
    ("09:00:30", LIMIT, None),
    ("09:00:30", MIOC, None),
    ("12:00:00", COND, "conditional-limit orders are not accepted"),
    ("15:19:59", LIMIT, None),
    ("15:20:00", LIMIT, "but KRX is in the closing auction"),
    ("16:00:00", LIMIT, "SOR orders need KRX continuous trading"),
]


@pytest.mark.parametrize(("hms", "order_type", "expected"), SOR_DAY)
def test_sor_needs_both_continuous_markets(
    guard: SessionGuard, hms: str, order_type: OrderType, expected: str | None
) -> None:
    """SOR routes only while KRX trades continuously and NXT's main market is open (§4)."""
    _blocked(guard.order_block(SOR, at(NORMAL, hms), order_type), expected)


# --- closed days ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "venue", "expected"),
    [
        ((2026, 11, 21), KRX, "2026-11-21 is not a KRX trading day (Saturday)"),
        ((2026, 11, 22), NXT, "2026-11-22 is not an NXT trading day (Sunday)"),
        ((2026, 11, 21), SOR, "2026-11-21 is not a trading day (Saturday)"),
        ((2026, 6, 3), KRX, "2026-06-03 is not a KRX trading day (local elections (전국동시지방선거))"),
        ((2026, 12, 31), KRX, "2026-12-31 is not a KRX trading day (year-end closure (연말 휴장))"),
        ((2026, 12, 31), NXT, "2026-12-31 is not an NXT trading day (year-end closure (연말 휴장))"),
        ((2026, 9, 25), KRX, "2026-09-25 is not a KRX trading day (Chuseok (추석))"),
    ],
)
def test_closed_days_block_everything(
    guard: SessionGuard, day: tuple[int, int, int], venue: Venue, expected: str
) -> None:
    """Weekends and holidays refuse every order and entry all day, with the day and why."""
    for hms in ("08:45:00", "10:00:00", "15:25:00", "19:00:00"):
        assert guard.order_block(venue, at(day, hms), LIMIT) == expected
    assert guard.entry_block(venue, at(day, "10:00:00")) == f"no new positions now: {expected}"


def test_days_around_holidays_trade(guard: SessionGuard) -> None:
    """The trading days either side of 2026-06-03 and before 2026-12-31 are open at 10:00."""
    for day in ((2026, 6, 2), (2026, 6, 4), (2026, 12, 30)):
        assert guard.order_block(KRX, at(day, "10:00:00"), LIMIT) is None
        assert guard.entry_block(KRX, at(day, "10:00:00")) is None


def test_uncovered_year_fails_closed(guard: SessionGuard) -> None:
    """Without calendar data for 2027 every order and entry is blocked with the fix in the reason."""
    reason = guard.order_block(KRX, kst(2027, 1, 4, 10), LIMIT)
    assert reason is not None and "no data for 2027" in reason and "override file" in reason
    assert guard.entry_block(KRX, kst(2027, 1, 4, 10)) == reason


def test_override_file_closure_is_followed(tmp_path: Path) -> None:
    """A temporary holiday from `holiday_file` blocks that day and leaves the next one open."""
    path = tmp_path / "cal.toml"
    path.write_text('[[closed]]\ndate = 2026-12-29\nreason = "temporary holiday"\n', encoding="utf-8")
    guard = SessionGuard.from_config(MarketConfig(holiday_file=path))
    assert guard.order_block(KRX, kst(2026, 12, 29, 10), LIMIT) == (
        "2026-12-29 is not a KRX trading day (temporary holiday)"
    )
    assert guard.order_block(KRX, kst(2026, 12, 30, 10), LIMIT) is None


# --- special days --------------------------------------------------------------------------------
CSAT_DAY = [
    (KRX, "09:29:59", LIMIT, "KRX is not open yet at 09:29:59 (its day starts at 09:30)"),
    (KRX, "09:30:00", LIMIT, None),
    (KRX, "09:59:59", IOC, "KRX is in the opening auction (09:30–10:00)"),
    (KRX, "10:00:00", LIMIT, None),
    (KRX, "10:00:00", IOC, "may still be matching until 10:00:30"),
    (KRX, "10:00:30", IOC, None),
    (KRX, "15:25:00", MIOC, None),  # a normal day's closing auction is still continuous trading
    (KRX, "16:19:59", MIOC, None),
    (KRX, "16:20:00", MIOC, "KRX is in the closing auction (16:20–16:30)"),
    (KRX, "16:29:59", LIMIT, None),
    (KRX, "16:30:00", LIMIT, "after-hours closing-price session (16:30–17:00)"),
    (NXT, "08:10:00", LIMIT, "NXT is not open yet at 08:10:00 (its day starts at 10:00:30)"),
    (NXT, "10:00:29", LIMIT, "NXT is not open yet"),
    (NXT, "10:00:30", LIMIT, None),
    (NXT, "16:19:59", LIMIT, None),
    (NXT, "16:20:00", LIMIT, "NXT is paused 16:20–16:30 for the KRX closing auction"),
    (NXT, "16:30:00", LIMIT, None),
    (NXT, "19:59:59", LIMIT, None),
]


@pytest.mark.parametrize(("venue", "hms", "order_type", "expected"), CSAT_DAY)
def test_csat_2026_runs_an_hour_late(
    guard: SessionGuard, venue: Venue, hms: str, order_type: OrderType, expected: str | None
) -> None:
    """On 2026-11-19 (CSAT) KRX trades 10:00–16:30 and NXT has no pre-market (§2.1)."""
    _blocked(guard.order_block(venue, at(CSAT, hms), order_type), expected)


FIRST_DAY_CASES = [
    (KRX, "09:00:00", LIMIT, "KRX is not open yet at 09:00:00 (its day starts at 09:30)"),
    (KRX, "09:59:59", LIMIT, None),
    (KRX, "09:59:59", IOC, "KRX is in the opening auction (09:30–10:00)"),
    (KRX, "10:00:30", IOC, None),
    (KRX, "15:19:59", IOC, None),
    (KRX, "15:20:00", IOC, "KRX is in the closing auction (15:20–15:30)"),
    (KRX, "15:30:00", LIMIT, "after-hours closing-price session (15:30–16:00)"),
    (NXT, "08:30:00", LIMIT, "NXT is not open yet at 08:30:00 (its day starts at 10:00:30)"),
    (NXT, "10:00:30", LIMIT, None),
]


@pytest.mark.parametrize(("venue", "hms", "order_type", "expected"), FIRST_DAY_CASES)
def test_first_trading_day_opens_at_ten(
    guard: SessionGuard, venue: Venue, hms: str, order_type: OrderType, expected: str | None
) -> None:
    """On 2026-01-02 KRX opens at 10:00 and still closes at 15:30 (§1)."""
    _blocked(guard.order_block(venue, at(FIRST_DAY, hms), order_type), expected)


# --- entry windows -------------------------------------------------------------------------------
ENTRIES = [
    (KRX, NORMAL, "08:55:00", "no new positions now: KRX is in the opening auction (08:30–09:00)"),
    (KRX, NORMAL, "09:00:00", "no new positions now: KRX's opening auction may still be matching"),
    (KRX, NORMAL, "09:00:30", "no new positions in the first 5 minutes after the 09:00 open (until 09:05)"),
    (KRX, NORMAL, "09:04:59", "after the 09:00 open (until 09:05)"),
    (KRX, NORMAL, "09:05:00", None),
    (KRX, NORMAL, "15:19:59", None),
    (KRX, NORMAL, "15:20:00", "no new positions now: KRX is in the closing auction (15:20–15:30)"),
    (NXT, NORMAL, "08:10:00", "no new positions now: NXT is in the pre-market (08:00–08:50)"),
    (NXT, NORMAL, "09:04:59", "after the 09:00 open (until 09:05)"),
    (NXT, NORMAL, "09:05:00", None),
    (NXT, NORMAL, "15:19:59", None),
    (NXT, NORMAL, "15:20:00", "no new positions now: NXT is paused 15:20–15:30"),
    (NXT, NORMAL, "16:00:00", "no new positions now: NXT is in the after-market (15:40–20:00)"),
    (SOR, NORMAL, "09:00:29", "no new positions now: SOR orders need KRX continuous trading"),
    (SOR, NORMAL, "09:05:00", None),
    (KRX, CSAT, "10:04:59", "no new positions in the first 5 minutes after the 10:00 open (until 10:05)"),
    (KRX, CSAT, "10:05:00", None),
    (KRX, CSAT, "16:19:59", None),
    (KRX, CSAT, "16:20:00", "KRX is in the closing auction (16:20–16:30)"),
    (NXT, CSAT, "10:05:00", None),
    (KRX, FIRST_DAY, "10:04:59", "after the 10:00 open (until 10:05)"),
    (KRX, FIRST_DAY, "10:05:00", None),
    (KRX, FIRST_DAY, "15:19:59", None),
]


@pytest.mark.parametrize(("venue", "day", "hms", "expected"), ENTRIES)
def test_entry_windows_default_config(
    guard: SessionGuard, venue: Venue, day: tuple[int, int, int], hms: str, expected: str | None
) -> None:
    """Entries need regular continuous trading, 5 minutes after the open, shifted on special days."""
    _blocked(guard.entry_block(venue, at(day, hms)), expected)


@pytest.mark.parametrize(
    ("venue", "day", "hms", "expected"),
    [
        (
            KRX,
            NORMAL,
            "09:09:59",
            "no new positions in the first 10 minutes after the 09:00 open (until 09:10)",
        ),
        (KRX, NORMAL, "09:10:00", None),
        (KRX, NORMAL, "15:09:59", None),
        (
            KRX,
            NORMAL,
            "15:10:00",
            "no new positions in the last 20 minutes before the 15:30 close (from 15:10)",
        ),
        (NXT, NORMAL, "15:10:00", "before the 15:30 close (from 15:10)"),
        (KRX, CSAT, "16:09:59", None),
        (
            KRX,
            CSAT,
            "16:10:00",
            "no new positions in the last 20 minutes before the 16:30 close (from 16:10)",
        ),
        (KRX, FIRST_DAY, "10:09:59", "after the 10:00 open (until 10:10)"),
    ],
)
def test_entry_windows_follow_config(
    sessions: MarketSessions, venue: Venue, day: tuple[int, int, int], hms: str, expected: str | None
) -> None:
    """`no_entry_after_open_min` = 10 and `no_entry_before_close_min` = 20 move both window edges."""
    guard = SessionGuard(sessions, MarketConfig(no_entry_after_open_min=10, no_entry_before_close_min=20))
    _blocked(guard.entry_block(venue, at(day, hms)), expected)


def test_zero_windows_allow_entries_from_the_confirmed_open(sessions: MarketSessions) -> None:
    """With both windows at 0, entries run from 09:00:30 (after the random end) to 15:19:59."""
    guard = SessionGuard(sessions, MarketConfig(no_entry_after_open_min=0, no_entry_before_close_min=0))
    assert guard.entry_block(KRX, at(NORMAL, "09:00:29")) is not None
    assert guard.entry_block(KRX, at(NORMAL, "09:00:30")) is None
    assert guard.entry_block(KRX, at(NORMAL, "15:19:59")) is None
    assert guard.entry_block(KRX, at(NORMAL, "15:20:00")) is not None


# --- safety margin (R13/R14) ---------------------------------------------------------------------
def test_safety_margin_refuses_orders_that_would_arrive_in_the_next_phase(sessions: MarketSessions) -> None:
    """With a 2 s margin an IOC at 15:19:58 is refused (it would land in the closing auction)."""
    cfg = MarketConfig(no_entry_after_open_min=0, no_entry_before_close_min=0)
    guard = SessionGuard(sessions, cfg, safety_margin_s=2)
    assert guard.order_block(KRX, at(NORMAL, "15:19:57"), MIOC) is None
    assert guard.order_block(KRX, at(NORMAL, "15:19:58"), MIOC) == (
        "within the 2 s safety margin: KRX is in the closing auction (15:20–15:30): market IOC orders are "
        "not accepted (accepted now: limit, market)"
    )
    assert guard.order_block(KRX, at(NORMAL, "15:19:58"), LIMIT) is None  # the auction takes limits
    assert guard.order_block(KRX, at(NORMAL, "15:29:57"), LIMIT) is None
    assert guard.order_block(KRX, at(NORMAL, "15:29:58"), LIMIT) is not None
    assert guard.order_block(NXT, at(NORMAL, "19:59:58"), LIMIT) is not None
    assert guard.entry_block(KRX, at(NORMAL, "15:19:57")) is None
    assert guard.entry_block(KRX, at(NORMAL, "15:19:58")) == (
        "no new positions within the 2 s safety margin: KRX is in the closing auction (15:20–15:30)"
    )
    without = SessionGuard(sessions, cfg)
    assert without.order_block(KRX, at(NORMAL, "15:19:59"), MIOC) is None


def test_negative_margin_is_refused(sessions: MarketSessions) -> None:
    """A negative safety margin is a configuration error naming the value."""
    with pytest.raises(ValueError, match="safety_margin_s must be >= 0 seconds, got -1"):
        SessionGuard(sessions, MarketConfig(), safety_margin_s=-1)


# --- instants ------------------------------------------------------------------------------------
def test_other_timezones_are_converted(guard: SessionGuard) -> None:
    """01:00 UTC is 10:00 KST (open); 06:25 UTC is 15:25 KST (closing auction)."""
    assert guard.order_block(KRX, datetime(2026, 11, 20, 1, 0, tzinfo=UTC), MIOC) is None
    assert guard.order_block(KRX, datetime(2026, 11, 20, 6, 25, tzinfo=UTC), MIOC) is not None
    # 2026-11-20 23:30 UTC is Saturday 08:30 in Seoul
    assert guard.order_block(KRX, datetime(2026, 11, 20, 23, 30, tzinfo=UTC), LIMIT) == (
        "2026-11-21 is not a KRX trading day (Saturday)"
    )


def test_naive_datetime_is_refused(guard: SessionGuard) -> None:
    """A naive datetime has no instant: asking with one is a programming error."""
    with pytest.raises(ValueError, match="timezone-aware"):
        guard.order_block(KRX, datetime(2026, 11, 20, 10), LIMIT)
    with pytest.raises(ValueError, match="timezone-aware"):
        guard.entry_block(KRX, datetime(2026, 11, 20, 10))


# --- exchange state (0s FID 215, R20) -------------------------------------------------------------
def test_exchange_close_overrides_the_clock(guard: SessionGuard) -> None:
    """KRX reported closed at 15:00 (early close) blocks regular orders from then, with a note."""
    note = guard.follow_exchange_state("4", at(NORMAL, "15:00:00"))
    assert note is not None and "0s code '4' = regular close at 15:00:00" in note
    assert "by the calendar KRX is in continuous trading" in note
    assert guard.order_block(KRX, at(NORMAL, "14:59:59"), LIMIT) is None  # before the report
    assert guard.order_block(KRX, at(NORMAL, "15:00:01"), LIMIT) == (
        "the exchange reported the KRX regular session over (0s code '4' = regular close at 15:00:00) "
        "although by the calendar KRX is in continuous trading"
    )
    assert guard.order_block(SOR, at(NORMAL, "15:00:01"), LIMIT) is not None
    assert guard.entry_block(KRX, at(NORMAL, "15:00:01")) is not None
    assert guard.order_block(NXT, at(NORMAL, "15:00:01"), LIMIT) is None  # NXT has its own codes


def test_all_sessions_closed_report_blocks_a_calendar_open_day(guard: SessionGuard) -> None:
    """'9' (전체장마감) pushed at 08:35 on a day the calendar opens: nothing goes to KRX that day."""
    note = guard.follow_exchange_state("9", at(NORMAL, "08:35:00"))
    assert note is not None and "by the calendar KRX is in the opening auction" in note
    for hms in ("08:40:00", "09:10:00", "15:25:00"):
        reason = guard.order_block(KRX, at(NORMAL, hms), LIMIT)
        assert reason is not None and "the exchange reported the KRX regular session over" in reason


def test_closing_auction_report_before_the_clock(guard: SessionGuard) -> None:
    """'2' pushed at 15:19:50 (clock 10 s slow) applies closing-auction rules at once, without a note."""
    assert guard.follow_exchange_state("2", at(NORMAL, "15:19:50")) is None
    assert guard.order_block(KRX, at(NORMAL, "15:19:49"), MIOC) is None
    assert guard.order_block(KRX, at(NORMAL, "15:19:55"), MIOC) == (
        "the exchange reported the KRX closing auction (0s code '2' = closing auction notice at 15:19:50): "
        "market IOC orders are not accepted (accepted now: limit, market)"
    )
    assert guard.order_block(KRX, at(NORMAL, "15:19:55"), LIMIT) is None
    assert guard.entry_block(KRX, at(NORMAL, "15:19:55")) is not None


def test_open_report_ends_the_random_end_grace(guard: SessionGuard) -> None:
    """'3' pushed at 09:00:05 lets IOC orders through before 09:00:30."""
    assert guard.order_block(KRX, at(NORMAL, "09:00:06"), IOC) is not None
    assert guard.follow_exchange_state("3", at(NORMAL, "09:00:05")) is None
    assert guard.order_block(KRX, at(NORMAL, "09:00:04"), IOC) is not None
    assert guard.order_block(KRX, at(NORMAL, "09:00:06"), IOC) is None


def test_pre_open_report_holds_auction_rules_up_to_the_random_extension(guard: SessionGuard) -> None:
    """After '0' and no '3', IOCs wait until 09:05:30 at most (random end + extension), or until '3'."""
    assert guard.follow_exchange_state("0", at(NORMAL, "08:40:00")) is None
    reason = guard.order_block(KRX, at(NORMAL, "09:05:29"), IOC)
    assert reason == (
        "the exchange has not reported the KRX open yet (last: 0s code '0' = pre open notice at 08:40:00); "
        "opening-auction rules apply until 09:05:30 at most: limit IOC orders are not accepted "
        "(accepted now: limit, market, conditional-limit)"
    )
    assert guard.order_block(KRX, at(NORMAL, "09:05:29"), LIMIT) is None
    assert guard.order_block(KRX, at(NORMAL, "09:05:30"), IOC) is None  # a missed '3' cannot block all day
    guard.follow_exchange_state("3", at(NORMAL, "09:01:10"))
    assert guard.order_block(KRX, at(NORMAL, "09:01:11"), IOC) is None


def test_reports_never_loosen_the_clock(guard: SessionGuard) -> None:
    """'3' pushed at 08:59:00 (clock a minute slow) does not admit IOCs into the opening auction."""
    assert guard.follow_exchange_state("3", at(NORMAL, "08:59:00")) is None  # within the 90 s skew
    assert guard.order_block(KRX, at(NORMAL, "08:59:30"), IOC) is not None


def test_nxt_window_end_report_blocks_nxt(guard: SessionGuard) -> None:
    """'S' (main market end) pushed at 15:19:00 stops NXT orders; KRX is unaffected."""
    assert guard.follow_exchange_state("R", at(NORMAL, "09:00:30")) is None
    assert guard.order_block(NXT, at(NORMAL, "15:18:59"), LIMIT) is None
    assert guard.follow_exchange_state("S", at(NORMAL, "15:19:00")) is None
    assert guard.order_block(NXT, at(NORMAL, "15:19:01"), LIMIT) == (
        "the exchange reported NXT past this window (0s code 'S' = main market end at 15:19:00) although "
        "by the calendar NXT is in the main market"
    )
    assert guard.order_block(SOR, at(NORMAL, "15:19:01"), LIMIT) is not None
    assert guard.order_block(KRX, at(NORMAL, "15:19:01"), LIMIT) is None


def test_report_on_a_calendar_holiday_is_flagged_and_stays_blocked(guard: SessionGuard) -> None:
    """'3' pushed on 2026-06-03 (closed by the calendar) returns a note; orders stay blocked."""
    note = guard.follow_exchange_state("3", kst(2026, 6, 3, 9, 0, 2))
    assert note == (
        "the exchange reported KRX 0s code '3' = regular open at 09:00:02 on 2026-06-03, which the calendar "
        "says is closed (local elections (전국동시지방선거)); no orders go out that day until the calendar "
        "is corrected"
    )
    assert guard.order_block(KRX, kst(2026, 6, 3, 9, 1), LIMIT) is not None


def test_early_open_on_csat_day_is_flagged(guard: SessionGuard) -> None:
    """'3' at 09:00:02 on CSAT day (calendar: opens 10:00) is a disagreement note, not an opening."""
    note = guard.follow_exchange_state("3", at(CSAT, "09:00:02"))
    assert note is not None and "but by the calendar KRX is closed then (±90 s)" in note
    assert guard.order_block(KRX, at(CSAT, "09:10:00"), LIMIT) is not None


def test_nxt_pre_market_report_on_first_trading_day_is_flagged(guard: SessionGuard) -> None:
    """'P' at 08:00 on 2026-01-02, when NXT runs no pre-market, is flagged."""
    note = guard.follow_exchange_state("P", at(FIRST_DAY, "08:00:00"))
    assert note is not None and "by the calendar NXT is closed then" in note


def test_reports_apply_to_their_own_day_only(guard: SessionGuard) -> None:
    """Yesterday's '9' does not close today; an older report than the followed day is ignored."""
    guard.follow_exchange_state("9", at(CSAT, "18:00:00"))
    assert guard.order_block(KRX, at(NORMAL, "10:00:00"), LIMIT) is None
    guard.follow_exchange_state("4", at(NORMAL, "15:30:00"))
    assert guard.follow_exchange_state("4", at(CSAT, "10:00:00")) == (
        "ignored a 0s report dated 2026-11-19: the reports of 2026-11-20 are followed"
    )
    assert guard.order_block(KRX, at(CSAT, "10:30:00"), LIMIT) is None


def test_unknown_code_is_reported_and_ignored(guard: SessionGuard) -> None:
    """An unknown FID 215 value comes back as a note naming it and changes nothing."""
    note = guard.follow_exchange_state("Z", at(NORMAL, "10:00:00"))
    assert note is not None and "'Z'" in note
    assert guard.order_block(KRX, at(NORMAL, "10:00:01"), MIOC) is None


def test_guard_is_pure_in_time(guard: SessionGuard) -> None:
    """Asking about many instants in any order gives the same answers (no clock is read)."""
    instants = [at(NORMAL, "09:00:00") + timedelta(minutes=37 * i) for i in range(12)]
    forward = [guard.order_block(KRX, t, MIOC) for t in instants]
    backward = [guard.order_block(KRX, t, MIOC) for t in reversed(instants)]
    assert forward == list(reversed(backward))
    assert forward[0] is not None and forward[1] is None and forward[-1] is not None


def test_a_report_between_two_questions_about_the_same_instant_is_heeded(guard: SessionGuard) -> None:
    """The guard remembers its last answer per instant, but a report in between changes the answer at once."""
    when = at(NORMAL, "15:19:55")
    assert guard.order_block(KRX, when, MIOC) is None
    assert guard.entry_block(KRX, when) is None
    assert guard.follow_exchange_state("2", at(NORMAL, "15:19:50")) is None
    assert guard.order_block(KRX, when, MIOC) is not None
    assert guard.entry_block(KRX, when) is not None
