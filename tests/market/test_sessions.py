"""Session phases (bot/market/sessions.py) against krx-market-rules.md §2, §2.1, §3 and §11."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.clock import kst
from bot.domain.values import Venue
from bot.market.calendar import CalendarRangeError, TradingCalendar
from bot.market.phases import Phase
from bot.market.sessions import MarketSessions

KRX, NXT, SOR = Venue.KRX, Venue.NXT, Venue.SOR
P = Phase
NORMAL = (2026, 3, 3)  # a Tuesday
FIRST_DAY = (2026, 1, 2)
CSAT = (2026, 11, 19)


@pytest.fixture(scope="module")
def sessions() -> MarketSessions:
    """Sessions over the shipped calendar."""
    return MarketSessions(TradingCalendar.load())


def at(day: tuple[int, int, int], hms: str) -> datetime:
    h, m, s = (int(x) for x in hms.split(":"))
    return kst(*day, h, m, s)


# (time, primary phase, all active windows) — every boundary at the exact second on both sides.
KRX_NORMAL = [
    ("08:29:59", P.CLOSED, set()),
    ("08:30:00", P.OPENING_AUCTION, {P.OPENING_AUCTION, P.PRE_HOURS_CLOSING_PRICE}),
    ("08:39:59", P.OPENING_AUCTION, {P.OPENING_AUCTION, P.PRE_HOURS_CLOSING_PRICE}),
    ("08:40:00", P.OPENING_AUCTION, {P.OPENING_AUCTION}),
    ("08:59:59", P.OPENING_AUCTION, {P.OPENING_AUCTION}),
    ("09:00:00", P.CONTINUOUS, {P.CONTINUOUS}),
    ("15:19:59", P.CONTINUOUS, {P.CONTINUOUS}),
    ("15:20:00", P.CLOSING_AUCTION, {P.CLOSING_AUCTION}),
    ("15:29:59", P.CLOSING_AUCTION, {P.CLOSING_AUCTION}),
    ("15:30:00", P.POST_CLOSE_CLOSING_PRICE, {P.POST_CLOSE_CLOSING_PRICE}),
    ("15:59:59", P.POST_CLOSE_CLOSING_PRICE, {P.POST_CLOSE_CLOSING_PRICE}),
    ("16:00:00", P.AFTER_HOURS_SINGLE_PRICE, {P.AFTER_HOURS_SINGLE_PRICE}),
    ("17:59:59", P.AFTER_HOURS_SINGLE_PRICE, {P.AFTER_HOURS_SINGLE_PRICE}),
    ("18:00:00", P.CLOSED, set()),
]
NXT_NORMAL = [
    ("07:59:59", P.CLOSED),
    ("08:00:00", P.PRE_MARKET),
    ("08:49:59", P.PRE_MARKET),
    ("08:50:00", P.PAUSE),
    ("09:00:29", P.PAUSE),
    ("09:00:30", P.MAIN),
    ("15:19:59", P.MAIN),
    ("15:20:00", P.PAUSE),
    ("15:29:59", P.PAUSE),
    ("15:30:00", P.AFTER_MARKET_ENTRY),
    ("15:39:59", P.AFTER_MARKET_ENTRY),
    ("15:40:00", P.AFTER_MARKET),
    ("19:59:59", P.AFTER_MARKET),
    ("20:00:00", P.CLOSED),
]


@pytest.mark.parametrize(("hms", "phase", "active"), KRX_NORMAL)
def test_krx_normal_day_boundaries(
    sessions: MarketSessions, hms: str, phase: Phase, active: set[Phase]
) -> None:
    """KRX phases on a normal day switch exactly at the table's times (start inclusive, end exclusive)."""
    assert sessions.phase_at(KRX, at(NORMAL, hms)) is phase
    assert sessions.phases_at(KRX, at(NORMAL, hms)) == active


@pytest.mark.parametrize(("hms", "phase"), NXT_NORMAL)
def test_nxt_normal_day_boundaries(sessions: MarketSessions, hms: str, phase: Phase) -> None:
    """NXT phases, including both pauses around the KRX auctions, switch at the exact second."""
    assert sessions.phase_at(NXT, at(NORMAL, hms)) is phase


def test_post_close_closing_price_is_entry_only_until_1540(sessions: MarketSessions) -> None:
    """Orders for the 81 closing-price trade are taken from 15:30 but match only from 15:40."""
    entry = sessions.segment_at(KRX, at(NORMAL, "15:39:59"))
    matching = sessions.segment_at(KRX, at(NORMAL, "15:40:00"))
    assert entry is not None and entry.entry_only == {P.POST_CLOSE_CLOSING_PRICE}
    assert matching is not None and matching.entry_only == frozenset()
    assert matching.phase is P.POST_CLOSE_CLOSING_PRICE


@pytest.mark.parametrize(
    ("venue", "hms", "phase"),
    [
        (KRX, "08:30:00", P.CLOSED),
        (KRX, "09:29:59", P.CLOSED),
        (KRX, "09:30:00", P.OPENING_AUCTION),
        (KRX, "09:59:59", P.OPENING_AUCTION),
        (KRX, "10:00:00", P.CONTINUOUS),
        (KRX, "15:19:59", P.CONTINUOUS),
        (KRX, "15:20:00", P.CLOSING_AUCTION),
        (KRX, "15:30:00", P.POST_CLOSE_CLOSING_PRICE),
        (KRX, "16:00:00", P.AFTER_HOURS_SINGLE_PRICE),
        (KRX, "18:00:00", P.CLOSED),
        (NXT, "08:00:00", P.CLOSED),  # no pre-market on the first trading day
        (NXT, "10:00:29", P.CLOSED),
        (NXT, "10:00:30", P.MAIN),
        (NXT, "15:20:00", P.PAUSE),
        (NXT, "15:40:00", P.AFTER_MARKET),
    ],
)
def test_first_trading_day_2026(sessions: MarketSessions, venue: Venue, hms: str, phase: Phase) -> None:
    """2026-01-02 opens at 10:00 (NXT main at 10:00:30, no pre-market) and closes as usual."""
    assert sessions.phase_at(venue, at(FIRST_DAY, hms)) is phase


@pytest.mark.parametrize("day", [CSAT, (2025, 11, 13)])
@pytest.mark.parametrize(
    ("venue", "hms", "phase"),
    [
        (KRX, "09:29:59", P.CLOSED),
        (KRX, "09:30:00", P.OPENING_AUCTION),  # with the pre-hours closing-price trade 09:30–09:40
        (KRX, "09:59:59", P.OPENING_AUCTION),
        (KRX, "10:00:00", P.CONTINUOUS),
        (KRX, "16:19:59", P.CONTINUOUS),
        (KRX, "16:20:00", P.CLOSING_AUCTION),
        (KRX, "16:29:59", P.CLOSING_AUCTION),
        (KRX, "16:30:00", P.POST_CLOSE_CLOSING_PRICE),
        (KRX, "16:59:59", P.POST_CLOSE_CLOSING_PRICE),
        (KRX, "17:00:00", P.AFTER_HOURS_SINGLE_PRICE),
        (KRX, "17:59:59", P.AFTER_HOURS_SINGLE_PRICE),
        (KRX, "18:00:00", P.CLOSED),  # single price still ends at 18:00
        (NXT, "08:00:00", P.CLOSED),  # no pre-market
        (NXT, "09:00:00", P.CLOSED),
        (NXT, "10:00:30", P.MAIN),
        (NXT, "16:19:59", P.MAIN),
        (NXT, "16:20:00", P.PAUSE),
        (NXT, "16:30:00", P.AFTER_MARKET_ENTRY),
        (NXT, "16:40:00", P.AFTER_MARKET),
        (NXT, "19:59:59", P.AFTER_MARKET),
        (NXT, "20:00:00", P.CLOSED),  # after-market still ends at 20:00
    ],
)
def test_csat_day(
    sessions: MarketSessions, day: tuple[int, int, int], venue: Venue, hms: str, phase: Phase
) -> None:
    """CSAT days run every KRX time an hour late (10:00–16:30) and NXT without pre-market until 20:00."""
    assert sessions.phase_at(venue, at(day, hms)) is phase


def test_csat_post_close_matching_starts_1640(sessions: MarketSessions) -> None:
    """On CSAT day the after-hours closing-price trade takes orders from 16:30 and matches 16:40–17:00."""
    assert sessions.phases_at(KRX, at(CSAT, "09:35:00")) == {P.OPENING_AUCTION, P.PRE_HOURS_CLOSING_PRICE}
    seg = sessions.segment_at(KRX, at(CSAT, "16:40:00"))
    assert seg is not None and seg.start == at(CSAT, "16:40:00") and seg.end == at(CSAT, "17:00:00")


@pytest.mark.parametrize(
    ("day", "open_", "close"),
    [
        (NORMAL, "09:00:00", "15:30:00"),
        (FIRST_DAY, "10:00:00", "15:30:00"),
        (CSAT, "10:00:00", "16:30:00"),
        ((2025, 11, 13), "10:00:00", "16:30:00"),
    ],
)
def test_regular_open_and_close(
    sessions: MarketSessions, day: tuple[int, int, int], open_: str, close: str
) -> None:
    """Regular open/close are 09:00/15:30, 10:00/15:30 on the first day and 10:00/16:30 on CSAT day."""
    assert sessions.regular_open(date(*day)) == at(day, open_)
    assert sessions.regular_close(date(*day)) == at(day, close)


def test_regular_open_on_closed_day_raises(sessions: MarketSessions) -> None:
    """Asking for the open of a holiday names the day and the reason."""
    with pytest.raises(ValueError, match=r"2026-07-17.*Constitution Day"):
        sessions.regular_open(date(2026, 7, 17))


@pytest.mark.parametrize("venue", [KRX, NXT])
@pytest.mark.parametrize("day", [(2026, 7, 17), (2026, 3, 7), (2026, 12, 31)])
def test_closed_days_are_closed_all_day(
    sessions: MarketSessions, venue: Venue, day: tuple[int, int, int]
) -> None:
    """Holidays, weekends and Dec 31 are CLOSED at every hour on both venues."""
    for hour in (8, 10, 15, 17, 19):
        assert sessions.phase_at(venue, kst(*day, hour, 0)) is P.CLOSED


def test_nxt_closed_before_its_launch(sessions: MarketSessions) -> None:
    """NXT did not exist before 2025-03-04; KRX traded as usual."""
    assert sessions.phase_at(NXT, kst(2025, 2, 3, 10)) is P.CLOSED
    assert sessions.phase_at(KRX, kst(2025, 2, 3, 10)) is P.CONTINUOUS
    assert sessions.phase_at(NXT, kst(2025, 3, 4, 10)) is P.MAIN


@pytest.mark.parametrize(
    ("venue", "when", "expected_at", "phase"),
    [
        (KRX, at(NORMAL, "08:00:00"), at(NORMAL, "08:30:00"), P.OPENING_AUCTION),
        (KRX, at(NORMAL, "08:35:00"), at(NORMAL, "08:40:00"), P.OPENING_AUCTION),
        (KRX, at(NORMAL, "08:40:00"), at(NORMAL, "09:00:00"), P.CONTINUOUS),
        (KRX, at(NORMAL, "15:35:00"), at(NORMAL, "15:40:00"), P.POST_CLOSE_CLOSING_PRICE),
        (KRX, at(NORMAL, "17:00:00"), at(NORMAL, "18:00:00"), P.CLOSED),
        (KRX, kst(2026, 2, 13, 18), kst(2026, 2, 19, 8, 30), P.OPENING_AUCTION),  # over Seollal
        (NXT, at(NORMAL, "08:55:00"), at(NORMAL, "09:00:30"), P.MAIN),
        (NXT, at(NORMAL, "15:20:00"), at(NORMAL, "15:30:00"), P.AFTER_MARKET_ENTRY),
        (NXT, at(NORMAL, "19:00:00"), at(NORMAL, "20:00:00"), P.CLOSED),
        (NXT, kst(2026, 1, 1, 12), at(FIRST_DAY, "10:00:30"), P.MAIN),
        (NXT, kst(2026, 11, 18, 21), at(CSAT, "10:00:30"), P.MAIN),
    ],
)
def test_next_transition(
    sessions: MarketSessions, venue: Venue, when: datetime, expected_at: datetime, phase: Phase
) -> None:
    """The next state change is strictly after `when`, possibly on the next trading day."""
    transition = sessions.next_transition(venue, when)
    assert (transition.at, transition.phase) == (expected_at, phase)


def test_next_transition_into_uncovered_year_raises(sessions: MarketSessions) -> None:
    """After the last 2026 session the next transition is unknown until 2027 data is added."""
    with pytest.raises(CalendarRangeError):
        sessions.next_transition(KRX, kst(2026, 12, 30, 19))


@pytest.mark.parametrize(
    ("venue", "hms", "accepts", "continuous"),
    [
        (KRX, "08:29:59", False, False),
        (KRX, "08:30:00", True, False),
        (KRX, "09:00:00", True, True),
        (KRX, "15:20:00", True, False),
        (KRX, "15:29:59", True, False),
        (KRX, "15:30:00", False, False),  # only the 81 closing-price trade from here
        (KRX, "16:30:00", False, False),
        (NXT, "08:00:00", True, True),
        (NXT, "08:50:00", False, False),
        (NXT, "09:00:30", True, True),
        (NXT, "15:25:00", False, False),
        (NXT, "15:30:00", True, False),
        (NXT, "15:40:00", True, True),
        (SOR, "09:00:10", False, False),  # NXT still paused
        (SOR, "09:00:30", True, True),
        (SOR, "15:20:00", False, False),
    ],
)
def test_accepts_regular_orders_and_is_continuous(
    sessions: MarketSessions, venue: Venue, hms: str, accepts: bool, continuous: bool
) -> None:
    """Regular orders go to auctions and continuous phases; SOR only while both venues trade continuously."""
    assert sessions.accepts_regular_orders(venue, at(NORMAL, hms)) is accepts
    assert sessions.is_continuous(venue, at(NORMAL, hms)) is continuous


@pytest.mark.parametrize(
    ("venue", "day", "hms", "minutes"),
    [
        (KRX, NORMAL, "15:00:00", 30.0),
        (KRX, NORMAL, "08:30:00", 420.0),
        (KRX, NORMAL, "15:29:30", 0.5),
        (KRX, NORMAL, "15:30:00", None),
        (KRX, CSAT, "16:00:00", 30.0),
        (NXT, NORMAL, "08:00:00", 50.0),
        (NXT, NORMAL, "15:00:00", 20.0),
        (NXT, NORMAL, "15:30:00", 270.0),
        (NXT, NORMAL, "08:55:00", None),
        (SOR, NORMAL, "15:00:00", 20.0),
        (SOR, NORMAL, "08:10:00", None),
    ],
)
def test_minutes_to_close(
    sessions: MarketSessions, venue: Venue, day: tuple[int, int, int], hms: str, minutes: float | None
) -> None:
    """Minutes until the venue stops taking regular orders (KRX 15:30, NXT 08:50/15:20/20:00)."""
    assert sessions.minutes_to_close(venue, at(day, hms)) == minutes


def test_other_timezones_are_converted(sessions: MarketSessions) -> None:
    """00:00 UTC is 09:00 KST: the instant, not the wall-clock digits, decides."""
    assert sessions.phase_at(KRX, datetime(2026, 3, 3, 0, 0, tzinfo=UTC)) is P.CONTINUOUS


def test_naive_datetime_and_sor_phase_are_refused(sessions: MarketSessions) -> None:
    """A naive datetime is ambiguous and SOR has no timetable: both are errors naming the problem."""
    with pytest.raises(ValueError, match="timezone-aware"):
        sessions.phase_at(KRX, datetime(2026, 3, 3, 10, 0))
    with pytest.raises(ValueError, match="SOR"):
        sessions.phase_at(SOR, at(NORMAL, "10:00:00"))
