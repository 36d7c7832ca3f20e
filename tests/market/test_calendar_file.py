"""The calendar override file (bot/market/calendar_file.py): format, merging, and precise errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.clock import kst
from bot.domain.values import Venue
from bot.errors import ConfigError
from bot.market.calendar import TradingCalendar
from bot.market.phases import Phase
from bot.market.sessions import MarketSessions

YEAR_2027 = """
years = [2027]

[[closed]]
date = 2027-01-01
reason = "New Year's Day"

[[special]]
date = 2027-11-18
reason = "CSAT"
open_shift_minutes = 60
close_shift_minutes = 60
skip_phases = ["NXT.PRE_MARKET"]
"""


def _load(tmp_path: Path, text: str) -> TradingCalendar:
    path = tmp_path / "calendar-override.toml"
    path.write_text(text, encoding="utf-8")
    return TradingCalendar.load(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        MarketSessions(_load(tmp_path, text))
    message = str(info.value)
    assert str(tmp_path / "calendar-override.toml") in message
    return message


def test_override_extends_coverage_to_a_new_year(tmp_path: Path) -> None:
    """An override adding 2027 makes 2027 queryable, with its first trading day and CSAT special."""
    cal = _load(tmp_path, YEAR_2027)
    assert cal.years == frozenset({2025, 2026, 2027})
    assert cal.next_trading_day(date(2026, 12, 30)) == date(2027, 1, 4)
    assert cal.first_trading_day(2027) == date(2027, 1, 4)
    first = cal.special_day(date(2027, 1, 4))
    assert first is not None and first.open_shift_minutes == 60
    csat = cal.special_day(date(2027, 11, 18))
    assert csat is not None and csat.close_shift_minutes == 60
    assert MarketSessions(cal).regular_close(date(2027, 11, 18)) == kst(2027, 11, 18, 16, 30)


def test_override_opens_a_shipped_closure(tmp_path: Path) -> None:
    """[[open]] turns a shipped closure (the uncertain 2026-07-17) back into a trading day."""
    cal = _load(tmp_path, '[[open]]\ndate = 2026-07-17\nreason = "KRX traded"\n')
    assert cal.is_trading_day(date(2026, 7, 17))
    assert cal.next_trading_day(date(2026, 7, 16)) == date(2026, 7, 17)


def test_override_adds_a_temporary_holiday(tmp_path: Path) -> None:
    """[[closed]] adds an ad-hoc closure; string dates work as well as TOML dates."""
    cal = _load(tmp_path, '[[closed]]\ndate = "2026-12-29"\nreason = "temporary holiday"\n')
    assert cal.closure_reason(date(2026, 12, 29)) == "temporary holiday"
    assert cal.previous_trading_day(date(2026, 12, 30)) == date(2026, 12, 28)


def test_override_entry_replaces_the_shipped_entry(tmp_path: Path) -> None:
    """An override closure on the shipped CSAT day wins over the shipped special session."""
    cal = _load(tmp_path, '[[closed]]\ndate = 2026-11-19\nreason = "exchange outage"\n')
    assert not cal.is_trading_day(date(2026, 11, 19))
    assert cal.special_day(date(2026, 11, 19)) is None


def test_override_special_session_changes_the_timetable(tmp_path: Path) -> None:
    """A special session with only a 30-minute late open shifts the KRX open and NXT main start."""
    text = '[[special]]\ndate = 2026-03-03\nreason = "system delay"\nopen_shift_minutes = 30\n'
    sessions = MarketSessions(_load(tmp_path, text))
    assert sessions.regular_open(date(2026, 3, 3)) == kst(2026, 3, 3, 9, 30)
    assert sessions.regular_close(date(2026, 3, 3)) == kst(2026, 3, 3, 15, 30)
    assert sessions.phase_at(Venue.NXT, kst(2026, 3, 3, 8, 30)) is Phase.PRE_MARKET  # 08:30–09:20
    assert sessions.phase_at(Venue.NXT, kst(2026, 3, 3, 9, 30, 30)) is Phase.MAIN


def test_override_replaces_first_trading_day_template(tmp_path: Path) -> None:
    """[first_trading_day] replaces the shipped template, e.g. to keep NXT's pre-market."""
    cal = _load(tmp_path, '[first_trading_day]\nreason = "ceremony"\nopen_shift_minutes = 60\n')
    special = cal.special_day(date(2026, 1, 2))
    assert special is not None and special.skipped_phases == frozenset()
    assert MarketSessions(cal).phase_at(Venue.NXT, kst(2026, 1, 2, 9, 10)) is Phase.PRE_MARKET


def test_invalid_calendar_date_names_file_key_and_value(tmp_path: Path) -> None:
    """A string date that does not exist names the file, the key and the value."""
    message = _error(tmp_path, '[[closed]]\ndate = "2026-02-30"\nreason = "typo"\n')
    assert "closed[0].date" in message and "'2026-02-30'" in message and "YYYY-MM-DD" in message


def test_invalid_toml_date_quotes_the_line(tmp_path: Path) -> None:
    """A TOML date literal that does not parse names the file and quotes the offending line."""
    message = _error(tmp_path, '[[closed]]\nreason = "typo"\ndate = 2026-13-01\n')
    assert "line 3" in message and "`date = 2026-13-01`" in message


def test_unknown_key_is_named(tmp_path: Path) -> None:
    """A misspelt key is named with its table position."""
    message = _error(tmp_path, '[[closed]]\ndate = 2026-12-29\nreasn = "typo"\n')
    assert "closed[0].reasn" in message and "'typo'" in message


def test_unknown_top_level_table_is_named(tmp_path: Path) -> None:
    """A misspelt top-level table ([[closure]] instead of [[closed]]) is refused, not ignored."""
    message = _error(tmp_path, '[[closure]]\ndate = 2026-12-29\nreason = "x"\n')
    assert "closure" in message and "one of" in message


def test_weekend_closure_is_refused(tmp_path: Path) -> None:
    """A closure on a Saturday is a likely typo (weekends are always closed) and is refused."""
    message = _error(tmp_path, '[[closed]]\ndate = 2026-07-18\nreason = "x"\n')
    assert "closed[0].date" in message and "2026-07-18 (Saturday)" in message


def test_duplicate_date_is_refused(tmp_path: Path) -> None:
    """The same date listed twice names both places."""
    text = '[[closed]]\ndate = 2026-12-29\nreason = "a"\n[[special]]\ndate = 2026-12-29\nreason = "b"\n'
    message = _error(tmp_path, text)
    assert "special[0].date" in message and "closed[0].date" in message


def test_date_outside_covered_years_is_refused(tmp_path: Path) -> None:
    """A 2027 closure without `years = [2027]` is refused with the fix in the message."""
    message = _error(tmp_path, '[[closed]]\ndate = 2027-01-01\nreason = "New Year"\n')
    assert "closed[0].date" in message and "add 2027 to `years`" in message


def test_opening_a_trading_day_is_refused(tmp_path: Path) -> None:
    """[[open]] on a day that already trades is a typo and is refused."""
    message = _error(tmp_path, '[[open]]\ndate = 2026-07-16\nreason = "x"\n')
    assert "open[0]" in message and "already a trading day" in message


def test_missing_reason_is_refused(tmp_path: Path) -> None:
    """Every entry says why."""
    message = _error(tmp_path, "[[closed]]\ndate = 2026-12-29\n")
    assert "closed[0].reason" in message


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('skip_phases = ["NXT.PREMARKET"]', "special[0].skip_phases"),
        ('skip_phases = ["KRX.PRE_MARKET"]', "special[0].skip_phases"),  # not a KRX phase
        ("open_shift_minutes = 240", "special[0].open_shift_minutes"),
        ('open_shift_minutes = "60"', "special[0].open_shift_minutes"),
    ],
)
def test_bad_special_session_fields(tmp_path: Path, line: str, key: str) -> None:
    """Unknown phases, shifts out of range and shifts of the wrong type name their key."""
    message = _error(tmp_path, f'[[special]]\ndate = 2026-03-03\nreason = "x"\n{line}\n')
    assert key in message


def test_shift_that_breaks_the_timetable_is_refused_at_startup(tmp_path: Path) -> None:
    """A close shift pushing KRX's single-price start past its fixed 18:00 end fails when sessions build."""
    message = _error(tmp_path, '[[special]]\ndate = 2026-03-03\nreason = "x"\nclose_shift_minutes = 150\n')
    assert "special[0]" in message and "close_shift_minutes" in message and "2026-03-03" in message


def test_missing_override_file_is_a_config_error(tmp_path: Path) -> None:
    """A path that does not exist names the file."""
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        TradingCalendar.load(tmp_path / "nope.toml")
