"""Which phase each venue is in at a given instant, from the session table and the calendar.

Facts: krx-market-rules.md §2, §2.1, §3, §4, §10. Pure: every question takes the instant explicitly
(timezone-aware; converted to KST). A day is cut into segments at every window boundary; a segment
knows all windows active in it (`phases_at`: KRX 08:30–08:40 has both the opening auction and the
pre-hours closing-price trade) and one primary phase (`phase_at`: the one governing regular orders;
PAUSE for a gap inside the venue's day, CLOSED outside it and on closed days).

The clock-derived phase is a fallback: auctions end up to 30 s late at random, VI and circuit
breakers interrupt, and per-stock regimes exist. The daemon should follow pushed exchange state
(`bot.market.state_codes`) and use this module when the feed is silent or to cross-check it.

SOR is not a venue with a timetable; the order helpers treat it as usable only while KRX is in
continuous trading *and* NXT in its main market (the overlap recommended by §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise

from bot.clock import KST
from bot.domain.values import Venue
from bot.errors import ConfigError
from bot.market.calendar import TradingCalendar
from bot.market.calendar_file import SpecialSession
from bot.market.order_rules import TradeType, allowed_trade_types
from bot.market.phases import CONTINUOUS_PHASES, REGULAR_ORDER_PHASES, Phase, phases_of, primary_phase
from bot.market.session_table import SESSION_TABLE, Anchor, Boundary, VenueTable

_SEARCH_DAYS = 40


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of one day with a constant set of active windows; start inclusive, end exclusive."""

    start: datetime
    end: datetime
    phase: Phase
    phases: frozenset[Phase]
    entry_only: frozenset[Phase] = frozenset()  # active windows whose orders queue until matching starts


@dataclass(frozen=True, slots=True)
class Transition:
    """The next change of a venue's state: at `at` the venue enters `phase` (with `phases` active)."""

    at: datetime
    phase: Phase
    phases: frozenset[Phase]


class MarketSessions:
    """Session questions for the risk gate, the session guard and the simulator."""

    def __init__(self, calendar: TradingCalendar, table: Mapping[Venue, VenueTable] = SESSION_TABLE) -> None:
        self._calendar = calendar
        self._table = table
        # Day timetables are pure functions of (venue, day) over immutable data: cache them.
        self._days: dict[tuple[Venue, date], tuple[Segment, ...]] = {}
        for d in calendar.special_days():  # a bad shift is a config error at startup, not at 09:00
            for venue in table:
                self.day_segments(venue, d)

    @property
    def calendar(self) -> TradingCalendar:
        """The trading calendar the timetable follows."""
        return self._calendar

    def day_segments(self, venue: Venue, d: date) -> tuple[Segment, ...]:
        """The segments of `venue`'s day `d`, in order, gaps inside the day as PAUSE; empty if closed."""
        key = (venue, d)
        if key not in self._days:
            self._days[key] = self._build_day(venue, d)
        return self._days[key]

    def _build_day(self, venue: Venue, d: date) -> tuple[Segment, ...]:
        phases_of(venue)  # a clear ValueError for SOR, which has no timetable
        table = self._table[venue]
        if not self._calendar.is_trading_day(d) or d < table.since:
            return ()
        special = self._calendar.special_day(d)
        windows = []
        for w in table.windows:
            if special is not None and (venue, w.phase) in special.skipped_phases:
                continue
            start, end = _at(d, w.start, special), _at(d, w.end, special)
            split = end if w.matching_from is None else _at(d, w.matching_from, special)
            if not start <= split <= end or start == end:
                where = special.origin if special else f"session table, {d}"
                raise ConfigError(
                    f"{where}: open_shift_minutes/close_shift_minutes: expected shifts that keep each window "
                    f"in order, got a {venue} {w.phase} window {start:%H:%M:%S}–{end:%H:%M:%S} on {d}"
                )
            windows.append((w.phase, start, split, end))
        cuts = sorted({t for _, *times in windows for t in times})
        segments: list[Segment] = []
        for t0, t1 in pairwise(cuts):
            active = frozenset(p for p, s, _, e in windows if s <= t0 < e)
            queued = frozenset(p for p, s, m, e in windows if s <= t0 < m < e)
            phase = primary_phase(active) if active else Phase.PAUSE
            if segments and (segments[-1].phases, segments[-1].entry_only) == (active, queued):
                segments[-1] = Segment(segments[-1].start, t1, phase, active, queued)
            else:
                segments.append(Segment(t0, t1, phase, active, queued))
        return tuple(segments)

    def segment_at(self, venue: Venue, when: datetime) -> Segment | None:
        """The segment containing `when`, or None when the venue is closed then."""
        when = to_kst(when)
        for seg in self.day_segments(venue, when.date()):
            if seg.start <= when < seg.end:
                return seg
        return None

    def phase_at(self, venue: Venue, when: datetime) -> Phase:
        """The primary phase of `venue` at `when` (CLOSED outside its day and on closed days)."""
        seg = self.segment_at(venue, when)
        return Phase.CLOSED if seg is None else seg.phase

    def phases_at(self, venue: Venue, when: datetime) -> frozenset[Phase]:
        """Every window active at `when` (empty when paused or closed)."""
        seg = self.segment_at(venue, when)
        return frozenset() if seg is None else seg.phases

    def next_transition(self, venue: Venue, when: datetime) -> Transition:
        """The first change of `venue`'s state strictly after `when` (may be on a later trading day)."""
        when = to_kst(when)
        d = when.date()
        for _ in range(_SEARCH_DAYS):
            segments = self.day_segments(venue, d)
            for seg in segments:
                if seg.start > when:
                    return Transition(seg.start, seg.phase, seg.phases)
            if segments and segments[-1].end > when:
                return Transition(segments[-1].end, Phase.CLOSED, frozenset())
            d = d + timedelta(days=1)
        raise ValueError(f"no {venue} session within {_SEARCH_DAYS} days after {when.isoformat()}")

    def regular_open(self, d: date) -> datetime:
        """When KRX continuous trading starts on `d` (09:00, 10:00 on late-open days)."""
        return self._krx_window(d, Phase.CONTINUOUS).start

    def regular_close(self, d: date) -> datetime:
        """When the KRX regular market (closing auction) ends on `d` (15:30, 16:30 on CSAT day)."""
        return self._krx_window(d, Phase.CLOSING_AUCTION).end

    def _krx_window(self, d: date, phase: Phase) -> Segment:
        for seg in self.day_segments(Venue.KRX, d):
            if seg.phase is phase:
                return seg
        raise ValueError(f"KRX does not trade on {d} ({self._calendar.closure_reason(d)})")

    def accepts_regular_orders(self, venue: Venue, when: datetime) -> bool:
        """Whether plain limit orders are taken now (auctions, continuous, NXT pre/main/after)."""
        if venue is Venue.SOR:
            return self.is_continuous(venue, when)
        return self.phase_at(venue, when) in REGULAR_ORDER_PHASES

    def is_continuous(self, venue: Venue, when: datetime) -> bool:
        """Whether the venue matches continuously now (immediate fills possible)."""
        if venue is Venue.SOR:
            return (
                self.phase_at(Venue.KRX, when) is Phase.CONTINUOUS
                and self.phase_at(Venue.NXT, when) is Phase.MAIN
            )
        return self.phase_at(venue, when) in CONTINUOUS_PHASES

    def minutes_to_close(self, venue: Venue, when: datetime) -> float | None:
        """Minutes until the venue stops taking regular orders (KRX 15:30), None if it does not now."""
        if venue is Venue.SOR:
            if not self.is_continuous(venue, when):
                return None
            return min(_minutes(when, self._close_of(v, when)) for v in (Venue.KRX, Venue.NXT))
        if not self.accepts_regular_orders(venue, when):
            return None
        return _minutes(when, self._close_of(venue, when))

    def _close_of(self, venue: Venue, when: datetime) -> datetime:
        """End of the run of contiguous segments taking regular orders that contains `when`."""
        when = to_kst(when)
        end = when
        for seg in self.day_segments(venue, when.date()):
            if seg.end > when and seg.start <= end and seg.phase in REGULAR_ORDER_PHASES:
                end = seg.end
        return end

    def allowed_trade_types(self, venue: Venue, when: datetime) -> frozenset[TradeType]:
        """The Kiwoom `trde_tp` codes the venue accepts now (SOR: those both venues accept)."""
        when = to_kst(when)
        if venue is Venue.SOR:
            if not self.is_continuous(venue, when):
                return frozenset()
            krx, nxt = (self.allowed_trade_types(v, when) for v in (Venue.KRX, Venue.NXT))
            return krx & nxt
        return allowed_trade_types(self.phases_at(venue, when), when.date())


def _at(d: date, boundary: Boundary, special: SpecialSession | None) -> datetime:
    """The instant of `boundary` on day `d`, shifted as the special session says."""
    t = datetime.combine(d, boundary.at, tzinfo=KST)
    if special is None or boundary.anchor is Anchor.FIXED:
        return t
    shift = special.open_shift_minutes if boundary.anchor is Anchor.OPEN else special.close_shift_minutes
    return t + timedelta(minutes=shift)


def to_kst(when: datetime) -> datetime:
    """`when` in Asia/Seoul; a naive datetime is refused because its instant is unknown."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got the naive {when!r}")
    return when.astimezone(KST)


def _minutes(when: datetime, end: datetime) -> float:
    return (end - to_kst(when)).total_seconds() / 60
