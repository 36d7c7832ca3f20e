"""Reading and validating trading-calendar TOML files (the shipped data and the operator's override).

One format serves both files (every key optional in an override)::

    format = 1                       # optional; only version 1 exists
    years = [2027]                   # years whose closures are complete (queries outside them fail)

    [first_trading_day]              # each year's first trading day (개장식); replaces the shipped one
    reason = "New Year opening ceremony"
    open_shift_minutes = 60          # every boundary up to the open moves (08:30 → 09:30, 09:00 → 10:00)
    close_shift_minutes = 0          # every boundary from the closing auction on moves (15:20 → 16:20 ...)
    skip_phases = ["NXT.PRE_MARKET"] # windows that do not run that day ("VENUE.PHASE")

    [[closed]]                       # an extra closure (holiday, election, temporary holiday)
    date = 2027-01-01                # TOML date or "YYYY-MM-DD"
    reason = "New Year's Day"

    [[open]]                         # a day that trades although the shipped data closes it
    date = 2026-07-17
    reason = "KRX notice: market open"

    [[special]]                      # a trading day with shifted times (CSAT, ...); same keys as above
    date = 2027-11-18
    reason = "CSAT"
    open_shift_minutes = 60
    close_shift_minutes = 60
    skip_phases = ["NXT.PRE_MARKET"]

The day-end boundaries (KRX 18:00, NXT 20:00) never move. Any mistake (unknown key, bad date, a date
listed twice, a closure on a weekend) raises `ConfigError` naming the file, the key and the value.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bot.domain.values import Venue
from bot.errors import ConfigError
from bot.market.phases import Phase, phases_of

MAX_SHIFT_MINUTES = 180
_SPECIAL_KEYS = frozenset({"reason", "open_shift_minutes", "close_shift_minutes", "skip_phases"})
_TOP_KEYS = frozenset({"format", "years", "first_trading_day", "closed", "open", "special"})


@dataclass(frozen=True, slots=True)
class SpecialSession:
    """How one trading day's timetable departs from the normal one, and why."""

    reason: str
    open_shift_minutes: int = 0
    close_shift_minutes: int = 0
    skipped_phases: frozenset[tuple[Venue, Phase]] = frozenset()
    origin: str = field(default="", compare=False)  # "file: key" where it was declared, for errors


@dataclass(frozen=True, slots=True)
class CalendarData:
    """The validated content of one calendar file; `source` names the file for later error messages."""

    source: str
    years: frozenset[int] = frozenset()
    closed: Mapping[date, str] = field(default_factory=dict)
    opened: Mapping[date, str] = field(default_factory=dict)
    specials: Mapping[date, SpecialSession] = field(default_factory=dict)
    first_trading_day: SpecialSession | None = None
    # where each date was declared, e.g. {date(2026, 7, 17): "closed[12].date"}, for error messages
    keys: Mapping[date, str] = field(default_factory=dict)


def load_calendar_file(path: Path) -> CalendarData:
    """Read and validate a calendar TOML file; every error names the file, the key and the value."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the trading-calendar file: {exc}") from exc
    return parse_calendar_text(text, str(path))


def parse_calendar_text(text: str, source: str) -> CalendarData:
    """Validate calendar TOML text; `source` (a file name) prefixes every error."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}{_offending_line(text, exc)}") from exc
    return _Parser(source).parse(raw)


def _offending_line(text: str, exc: tomllib.TOMLDecodeError) -> str:
    """Quote the line a TOML syntax error points at (tomllib names only the position)."""
    marker = "(at line "
    msg = str(exc)
    if marker not in msg:
        return ""
    try:
        lineno = int(msg.split(marker, 1)[1].split(",", 1)[0])
        line = text.splitlines()[lineno - 1].strip()
    except (ValueError, IndexError):
        return ""
    hint = " (a date is written YYYY-MM-DD and must exist)" if line.startswith("date") else ""
    return f": `{line}`{hint}"


class _Parser:
    """Walks the decoded TOML, collecting typed entries and precise error locations."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.keys: dict[date, str] = {}

    def fail(self, key: str, expected: str, value: object) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: expected {expected}, got {value!r}")

    def parse(self, raw: dict[str, Any]) -> CalendarData:
        unknown = sorted(set(raw) - _TOP_KEYS)
        if unknown:
            raise self.fail(unknown[0], f"one of {sorted(_TOP_KEYS)}", raw[unknown[0]])
        if "format" in raw and (type(raw["format"]) is not int or raw["format"] != 1):
            raise self.fail("format", "1", raw["format"])
        years = raw.get("years", [])
        if not isinstance(years, list) or not all(type(y) is int and 2000 <= y <= 2100 for y in years):
            raise self.fail("years", "a list of years like [2026, 2027]", years)
        first = raw.get("first_trading_day")
        closed = {d: reason for d, reason, _ in self.dated(raw, "closed", {"reason"})}
        opened = {d: reason for d, reason, _ in self.dated(raw, "open", {"reason"})}
        specials = {
            d: self.special(tbl, key) for d, _, (tbl, key) in self.dated(raw, "special", _SPECIAL_KEYS)
        }
        for d, key in self.keys.items():
            if d.weekday() >= 5 and not key.startswith("open["):
                raise self.fail(key, "a weekday (weekends are always closed)", f"{d} ({d:%A})")
        return CalendarData(
            source=self.source,
            years=frozenset(years),
            closed=closed,
            opened=opened,
            specials=specials,
            first_trading_day=None if first is None else self.special(first, "first_trading_day"),
            keys=dict(self.keys),
        )

    def dated(
        self, raw: dict[str, Any], table: str, allowed: set[str] | frozenset[str]
    ) -> list[tuple[date, str, tuple[dict[str, Any], str]]]:
        """The entries of an array of tables, each with its date, reason and (table, key prefix)."""
        entries = raw.get(table, [])
        if not isinstance(entries, list):
            raise self.fail(table, f"an array of tables ([[{table}]])", entries)
        out = []
        for i, entry in enumerate(entries):
            prefix = f"{table}[{i}]"
            if not isinstance(entry, dict):
                raise self.fail(prefix, "a table with date and reason", entry)
            unknown = sorted(set(entry) - {"date"} - set(allowed))
            if unknown:
                raise self.fail(
                    f"{prefix}.{unknown[0]}", f"one of {sorted({'date', *allowed})}", entry[unknown[0]]
                )
            d = self.date(entry.get("date"), f"{prefix}.date")
            out.append((d, self.reason(entry, prefix), (entry, prefix)))
        return out

    def date(self, value: object, key: str) -> date:
        if value is None:
            raise self.fail(key, "a date YYYY-MM-DD", value)
        if isinstance(value, str):
            try:
                parsed = date.fromisoformat(value.strip())
            except ValueError:
                raise self.fail(key, "a date YYYY-MM-DD", value) from None
        elif isinstance(value, date) and type(value) is date:
            parsed = value
        else:
            raise self.fail(key, "a date YYYY-MM-DD (not a date-time)", value)
        if parsed in self.keys:
            raise self.fail(key, f"a date not already listed at {self.keys[parsed]}", str(parsed))
        self.keys[parsed] = key
        return parsed

    def reason(self, entry: dict[str, Any], prefix: str) -> str:
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise self.fail(f"{prefix}.reason", "a non-empty string saying why", reason)
        return reason.strip()

    def special(self, entry: object, prefix: str) -> SpecialSession:
        if not isinstance(entry, dict):
            raise self.fail(prefix, "a table", entry)
        allowed = _SPECIAL_KEYS | ({"date"} if prefix.startswith("special[") else set())
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise self.fail(f"{prefix}.{unknown[0]}", f"one of {sorted(allowed)}", entry[unknown[0]])
        shifts = []
        for name in ("open_shift_minutes", "close_shift_minutes"):
            value = entry.get(name, 0)
            if type(value) is not int or abs(value) > MAX_SHIFT_MINUTES:
                raise self.fail(f"{prefix}.{name}", f"whole minutes within ±{MAX_SHIFT_MINUTES}", value)
            shifts.append(value)
        return SpecialSession(
            reason=self.reason(entry, prefix),
            open_shift_minutes=shifts[0],
            close_shift_minutes=shifts[1],
            skipped_phases=self.skips(entry.get("skip_phases", []), f"{prefix}.skip_phases"),
            origin=f"{self.source}: {prefix}",
        )

    def skips(self, value: object, key: str) -> frozenset[tuple[Venue, Phase]]:
        expected = 'a list like ["NXT.PRE_MARKET"] of VENUE.PHASE names'
        if not isinstance(value, list):
            raise self.fail(key, expected, value)
        out = set()
        for item in value:
            venue_name, _, phase_name = str(item).partition(".")
            try:
                venue = Venue[venue_name]
                phase = Phase[phase_name]
            except KeyError:
                raise self.fail(key, expected, item) from None
            if venue is Venue.SOR or phase not in phases_of(venue):
                raise self.fail(key, f"a phase that exists on the venue ({expected})", item)
            out.add((venue, phase))
        return frozenset(out)
