"""The KRX trading calendar: which days trade, and which trade on a shifted timetable.

Facts: krx-market-rules.md §1 and §2.1. Weekends are always closed. Holidays, elections, temporary
holidays and the Dec 31 year-end closure come from data (`bot/market/data/krx_calendar.toml`, shipped
for 2025–2026) plus an optional operator override file in the same format (see
`bot.market.calendar_file`). The first trading day of every covered year opens an hour late (개장식)
by rule; other special days (CSAT) are data.

The calendar refuses to guess: asking about a year the data does not cover raises
`CalendarRangeError`, so a forgotten data update stops the bot instead of trading on a holiday.
NXT follows the KRX calendar (same closures, krx-market-rules.md §3).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

from bot.errors import ConfigError
from bot.market.calendar_file import CalendarData, SpecialSession, load_calendar_file, parse_calendar_text

SHIPPED_CALENDAR = "krx_calendar.toml"
_MAX_SEARCH_DAYS = 40  # the longest KRX closure run (Chuseok + weekend + substitute) is well below this


class CalendarRangeError(ValueError):
    """A date outside the years the calendar data covers; add that year to the override file."""


class TradingCalendar:
    """Trading days and special sessions of KRX (and NXT), built from shipped data plus an override."""

    def __init__(self, shipped: CalendarData, override: CalendarData | None = None) -> None:
        self._years = set(shipped.years)
        self._closed = dict(shipped.closed)
        self._opened = dict(shipped.opened)
        self._specials = dict(shipped.specials)
        self._first_day = shipped.first_trading_day
        if override is not None:
            self._apply(override)
        self._validate(shipped, override)

    @classmethod
    def load(cls, override_path: Path | None = None) -> TradingCalendar:
        """The shipped calendar, with `override_path` (a TOML file) applied on top when given."""
        text = resources.files("bot.market").joinpath("data", SHIPPED_CALENDAR).read_text(encoding="utf-8")
        shipped = parse_calendar_text(text, f"bot/market/data/{SHIPPED_CALENDAR}")
        override = None if override_path is None else load_calendar_file(override_path)
        return cls(shipped, override)

    def _apply(self, override: CalendarData) -> None:
        """An override entry for a date replaces every shipped entry for that date."""
        for d in override.keys:
            self._closed.pop(d, None)
            self._opened.pop(d, None)
            self._specials.pop(d, None)
        self._years |= override.years
        self._closed.update(override.closed)
        self._opened.update(override.opened)
        self._specials.update(override.specials)
        if override.first_trading_day is not None:
            self._first_day = override.first_trading_day

    def _validate(self, shipped: CalendarData, override: CalendarData | None) -> None:
        """Every listed date lies in a covered year; every opening actually opens something."""
        for data in (shipped, override):
            if data is None:
                continue
            for d, key in data.keys.items():
                if d.year not in self._years:
                    raise ConfigError(
                        f"{data.source}: {key}: expected a date in the covered years {sorted(self._years)}"
                        f" (add {d.year} to `years` once its closures are listed), got '{d}'"
                    )
            for d in data.opened:
                if d.weekday() < 5 and d not in shipped.closed:
                    raise ConfigError(
                        f"{data.source}: {data.keys[d]}: expected a date the shipped data closes or a "
                        f"weekend, got '{d}' (already a trading day)"
                    )

    @property
    def years(self) -> frozenset[int]:
        """The years whose closures the data lists completely."""
        return frozenset(self._years)

    def covers(self, d: date) -> bool:
        """Whether the calendar knows the closures of `d`'s year."""
        return _as_date(d).year in self._years

    def _check(self, d: date) -> date:
        d = _as_date(d)
        if d.year not in self._years:
            covered = ", ".join(str(y) for y in sorted(self._years)) or "none"
            raise CalendarRangeError(
                f"the trading calendar has no data for {d.year} (covers {covered}); list that year's "
                f"closures in the calendar override file and add {d.year} to its `years`"
            )
        return d

    def is_trading_day(self, d: date) -> bool:
        """Whether KRX trades on `d` (NXT trades on the same days)."""
        return self.closure_reason(d) is None

    def closure_reason(self, d: date) -> str | None:
        """Why `d` is closed ("weekend" or the data's reason), or None if it is a trading day."""
        d = self._check(d)
        if d in self._opened:
            return None
        if d in self._closed:
            return self._closed[d]
        return "weekend" if d.weekday() >= 5 else None

    def next_trading_day(self, d: date) -> date:
        """The first trading day strictly after `d`."""
        return next(self._walk(d, 1))

    def previous_trading_day(self, d: date) -> date:
        """The last trading day strictly before `d`."""
        return next(self._walk(d, -1))

    def _walk(self, d: date, step: int) -> Iterator[date]:
        d = _as_date(d)
        for _ in range(_MAX_SEARCH_DAYS):
            d += timedelta(days=step)
            if self.is_trading_day(d):
                yield d
        raise CalendarRangeError(f"no trading day within {_MAX_SEARCH_DAYS} days of {d}")

    def trading_days(self, start: date, end: date) -> list[date]:
        """Trading days from `start` to `end`, both inclusive (for simulators and backtests)."""
        start, end = _as_date(start), _as_date(end)
        days = []
        d = start
        while d <= end:
            if self.is_trading_day(d):
                days.append(d)
            d += timedelta(days=1)
        return days

    def first_trading_day(self, year: int) -> date:
        """The first trading day of `year` (its open is delayed by the 개장식)."""
        return next(self._walk(date(year - 1, 12, 31), 1))

    def special_day(self, d: date) -> SpecialSession | None:
        """The shifted timetable of `d`, or None on a normal trading day and on closed days."""
        if not self.is_trading_day(d):
            return None
        d = _as_date(d)
        if d in self._specials:
            return self._specials[d]
        if self._first_day is not None and d == self.first_trading_day(d.year):
            return self._first_day
        return None

    def special_days(self) -> dict[date, SpecialSession]:
        """Every special trading day the calendar knows, first trading days included (for validation)."""
        out: dict[date, SpecialSession] = {}
        if self._first_day is not None:
            out.update({self.first_trading_day(year): self._first_day for year in self._years})
        out.update(self._specials)
        return dict(sorted(out.items()))


def _as_date(d: date) -> date:
    """Refuse datetimes: a datetime is a date subclass but would silently miss every lookup."""
    if isinstance(d, datetime):
        raise TypeError(f"expected a date, got the datetime {d!r}; pass when.astimezone(KST).date()")
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {d!r}")
    return d
