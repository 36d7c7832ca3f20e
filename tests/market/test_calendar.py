"""The shipped KRX calendar (bot/market/calendar.py, data/krx_calendar.toml) against rules §1."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.clock import kst
from bot.domain.values import Venue
from bot.market.calendar import CalendarRangeError, TradingCalendar
from bot.market.phases import Phase

# §1 table, closed weekdays, exactly.
CLOSED_2025 = [
    "01-01", "01-27", "01-28", "01-29", "01-30", "03-03", "05-01", "05-05", "05-06", "06-03", "06-06",
    "08-15", "10-03", "10-06", "10-07", "10-08", "10-09", "12-25", "12-31",
]  # fmt: skip
CLOSED_2026 = [
    "01-01", "02-16", "02-17", "02-18", "03-02", "05-01", "05-05", "05-25", "06-03", "08-17", "09-24",
    "09-25", "10-05", "10-09", "12-25", "12-31",
]  # fmt: skip
# Decided here (not in §1's table): Constitution Day is a public holiday again from 2026.
CONSTITUTION_DAY_2026 = date(2026, 7, 17)


def _dates(year: int, month_days: list[str]) -> set[date]:
    return {date.fromisoformat(f"{year}-{md}") for md in month_days}


@pytest.fixture(scope="module")
def cal() -> TradingCalendar:
    """The shipped calendar without an override."""
    return TradingCalendar.load()


@pytest.mark.parametrize("day", sorted(_dates(2025, CLOSED_2025) | _dates(2026, CLOSED_2026)))
def test_table_closures_are_closed(cal: TradingCalendar, day: date) -> None:
    """Every closed weekday of the §1 table is a non-trading day with a reason."""
    assert day.weekday() < 5
    assert not cal.is_trading_day(day)
    reason = cal.closure_reason(day)
    assert reason and reason != "weekend"


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2025, _dates(2025, CLOSED_2025)), (2026, _dates(2026, CLOSED_2026) | {CONSTITUTION_DAY_2026})],
)
def test_closed_weekdays_are_exactly_the_table(cal: TradingCalendar, year: int, expected: set[date]) -> None:
    """No weekday outside the table (plus 2026-07-17) is closed, so no trading day is lost either."""
    days = [
        date(year, 1, 1) + timedelta(days=i)
        for i in range(366)
        if (date(year, 1, 1) + timedelta(i)).year == year
    ]
    closed = {d for d in days if d.weekday() < 5 and not cal.is_trading_day(d)}
    assert closed == expected
    assert len(cal.trading_days(date(year, 1, 1), date(year, 12, 31))) == sum(
        d.weekday() < 5 for d in days
    ) - len(expected)


def test_constitution_day_2026_closed_and_2025_open(cal: TradingCalendar) -> None:
    """2026-07-17 (Fri) is closed as a restored public holiday; 2025-07-17 (Thu) traded."""
    assert not cal.is_trading_day(CONSTITUTION_DAY_2026)
    assert "Constitution Day" in (cal.closure_reason(CONSTITUTION_DAY_2026) or "")
    assert cal.is_trading_day(date(2025, 7, 17))


def test_weekends_are_closed(cal: TradingCalendar) -> None:
    """Saturdays and Sundays never trade."""
    assert cal.closure_reason(date(2026, 3, 7)) == "weekend"
    assert cal.closure_reason(date(2026, 3, 8)) == "weekend"
    assert cal.is_trading_day(date(2026, 3, 9))


def test_election_and_labor_day_2026(cal: TradingCalendar) -> None:
    """The 2026-06-03 local election and May 1 are closed (libraries got these late)."""
    assert not cal.is_trading_day(date(2026, 6, 3))
    assert not cal.is_trading_day(date(2026, 5, 1))
    assert cal.is_trading_day(date(2026, 6, 2)) and cal.is_trading_day(date(2026, 6, 4))


@pytest.mark.parametrize(
    ("day", "nxt", "prev"),
    [
        (date(2026, 2, 13), date(2026, 2, 19), date(2026, 2, 12)),  # Seollal + weekend
        (date(2025, 12, 30), date(2026, 1, 2), date(2025, 12, 29)),  # year end
        (date(2026, 1, 2), date(2026, 1, 5), date(2025, 12, 30)),
        (date(2026, 9, 23), date(2026, 9, 28), date(2026, 9, 22)),  # Chuseok Thu-Fri + weekend
        (date(2025, 10, 2), date(2025, 10, 10), date(2025, 10, 1)),  # 10-03..10-09 closed run
        (date(2026, 7, 16), date(2026, 7, 20), date(2026, 7, 15)),
        (date(2026, 3, 7), date(2026, 3, 9), date(2026, 3, 6)),  # from a Saturday
    ],
)
def test_next_and_previous_trading_day(cal: TradingCalendar, day: date, nxt: date, prev: date) -> None:
    """Next/previous skip weekends and holiday runs and are strictly after/before the day."""
    assert cal.next_trading_day(day) == nxt
    assert cal.previous_trading_day(day) == prev


def test_year_end_closure_dec_31(cal: TradingCalendar) -> None:
    """Dec 31 is closed; the last session of 2026 is Wed 2026-12-30."""
    assert not cal.is_trading_day(date(2026, 12, 31))
    assert cal.previous_trading_day(date(2026, 12, 31)) == date(2026, 12, 30)


def test_first_trading_day_is_special(cal: TradingCalendar) -> None:
    """The first trading day of each year opens an hour late and skips NXT's pre-market."""
    assert cal.first_trading_day(2026) == date(2026, 1, 2)
    assert cal.first_trading_day(2025) == date(2025, 1, 2)
    special = cal.special_day(date(2026, 1, 2))
    assert special is not None
    assert (special.open_shift_minutes, special.close_shift_minutes) == (60, 0)
    assert (Venue.NXT, Phase.PRE_MARKET) in special.skipped_phases


@pytest.mark.parametrize("day", [date(2025, 11, 13), date(2026, 11, 19)])
def test_csat_days_shift_everything_one_hour(cal: TradingCalendar, day: date) -> None:
    """CSAT days (2025-11-13, 2026-11-19) move opens and closes by one hour."""
    special = cal.special_day(day)
    assert special is not None and "CSAT" in special.reason
    assert (special.open_shift_minutes, special.close_shift_minutes) == (60, 60)
    assert special.skipped_phases == frozenset({(Venue.NXT, Phase.PRE_MARKET)})


def test_normal_and_closed_days_have_no_special_session(cal: TradingCalendar) -> None:
    """An ordinary day and a holiday have no special timetable."""
    assert cal.special_day(date(2026, 1, 5)) is None
    assert cal.special_day(date(2026, 1, 1)) is None


def test_special_days_lists_all_four(cal: TradingCalendar) -> None:
    """The shipped data yields exactly the two first days and the two CSAT days."""
    assert list(cal.special_days()) == [
        date(2025, 1, 2),
        date(2025, 11, 13),
        date(2026, 1, 2),
        date(2026, 11, 19),
    ]


def test_uncovered_year_is_refused(cal: TradingCalendar) -> None:
    """A year without data raises instead of guessing, with a message saying how to fix it."""
    assert cal.years == frozenset({2025, 2026})
    assert not cal.covers(date(2027, 1, 4))
    with pytest.raises(CalendarRangeError, match=r"no data for 2027.*override"):
        cal.is_trading_day(date(2027, 1, 4))
    with pytest.raises(CalendarRangeError):
        cal.next_trading_day(date(2026, 12, 30))
    with pytest.raises(CalendarRangeError):
        cal.previous_trading_day(date(2025, 1, 2))


def test_datetime_is_refused(cal: TradingCalendar) -> None:
    """Passing a datetime (a date subclass) is a TypeError, not a silent lookup miss."""
    with pytest.raises(TypeError, match="astimezone"):
        cal.is_trading_day(kst(2026, 1, 1, 10))
