"""The session guard: the market clock's answer to "may this order go out now?" for the risk gate.

`SessionGuard` implements `bot.engine.risk.MarketGuard` from the trading calendar, the session
timetable (`bot.market.sessions`) and the per-phase order-type table (`bot.market.order_rules`,
krx-market-rules.md §10). Pure: every question takes the instant; nothing here reads a clock.

Rules, in the order they apply:
1. A closed day (weekend, holiday, year-end closure) blocks everything, and so does a date the calendar
   has no data for (it refuses to guess).
2. Outside the venue's windows — before its day, after it, NXT's pauses around the KRX auctions —
   nothing goes out.
3. Inside a window only the order types that phase accepts go out: IOC/FOK only in continuous trading,
   no market orders in NXT's pre/after-market, limit and market orders in the KRX auctions. SOR orders
   need KRX continuous trading and NXT's main market at the same time.
4. The KRX opening auction ends at a random moment up to 30 s after the nominal open (§2), so until the
   exchange reports the open (0s code `3`) or 30 s have passed, the types the auction refuses
   (IOC/FOK, best/priority-limit) stay blocked and no entries are made.
5. With a safety margin (R13), an order must also be acceptable `margin` seconds later: no IOC at
   15:19:59.9 that would reach the exchange in the closing auction.
6. Entries need regular-session continuous trading (KRX continuous, NXT main market; not NXT's pre- or
   after-market) and are blocked in the first N minutes after the KRX regular open and the last M
   minutes before the KRX regular close (`MarketConfig`), measured from the shifted times on special
   days (10:00 open on the first trading day and CSAT day, 16:30 close on CSAT day).

Exchange state (R20). `follow_exchange_state` records the pushed 0s FID 215 codes of the current day.
The exchange may make the guard stricter than the clock, never looser:
- KRX reported past its regular session (`4`, `8`, `9`, `a`–`d`) while the clock says the regular
  session runs → no orders on KRX (or SOR) for the rest of the day (early close, CB stage 3, slow clock).
- KRX reported in its closing auction (`2`) while the clock says continuous → closing-auction rules.
- KRX pre-open notice (`0`) reported but no open (`3`) yet while the clock says continuous →
  opening-auction rules, for at most 5 min 30 s after the nominal open (random end 30 s + random
  extension 5 min, §2); past that the open report was most likely missed and the clock rules again.
- NXT reported the end of the window the clock says is running (`Q` pre-market, `S` main market,
  `V`/`W` after-market) → nothing on NXT (or SOR).
A report that contradicts the calendar by more than 90 s (R13's skew bound), or any report on a day
the calendar says is closed, comes back as a note for the operator (and is logged). Silence cannot be
told from a dead feed, so the absence of reports never blocks: a closure missing from the calendar
must be caught by the start-of-day check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType

import structlog

from bot.config import MarketConfig
from bot.domain.values import OrderType, Venue
from bot.market.calendar import CalendarRangeError, TradingCalendar
from bot.market.order_rules import ALLOWED_BY_PHASE, TradeType, trade_type_of
from bot.market.phases import Phase
from bot.market.session_table import AUCTION_RANDOM_END_SECONDS
from bot.market.sessions import MarketSessions, Segment, to_kst
from bot.market.state_codes import MarketStateChange, market_state_change

log = structlog.get_logger(__name__)

OPEN_GRACE = timedelta(seconds=AUCTION_RANDOM_END_SECONDS)
LATE_OPEN_LIMIT = timedelta(minutes=5, seconds=AUCTION_RANDOM_END_SECONDS)  # random end + extension
REPORT_TOLERANCE = timedelta(seconds=90)  # clock skew tolerated before a report counts as a disagreement

_REGULAR_KRX = frozenset({Phase.OPENING_AUCTION, Phase.CONTINUOUS, Phase.CLOSING_AUCTION})
_ENTRY_PHASES = frozenset({Phase.CONTINUOUS, Phase.MAIN})
# KRX reports in the order of the day: pre-open notice, open, closing auction; anything else ends it.
_KRX_STAGE: Mapping[str, int] = MappingProxyType(
    {"pre_open_notice": 0, "regular_open": 1, "closing_auction_notice": 2}
)
_KRX_OVER = 3
_NXT_RANK: Mapping[str, int] = MappingProxyType(
    {
        "pre_market_start": 0,
        "pre_market_end": 1,
        "main_market_start": 2,
        "main_market_end": 3,
        "after_market_single_price_start": 4,
        "after_market_start": 5,
        "after_market_end": 6,
    }
)
_NXT_ENDED_AT: Mapping[Phase, int] = MappingProxyType(
    {Phase.PRE_MARKET: 1, Phase.MAIN: 3, Phase.AFTER_MARKET_ENTRY: 6, Phase.AFTER_MARKET: 6}
)

_PHASE_TEXT: Mapping[Phase, str] = MappingProxyType(
    {
        Phase.CLOSED: "closed",
        Phase.PAUSE: "paused",
        Phase.PRE_HOURS_CLOSING_PRICE: "in the pre-hours closing-price session",
        Phase.OPENING_AUCTION: "in the opening auction",
        Phase.CONTINUOUS: "in continuous trading",
        Phase.CLOSING_AUCTION: "in the closing auction",
        Phase.POST_CLOSE_CLOSING_PRICE: "in the after-hours closing-price session",
        Phase.AFTER_HOURS_SINGLE_PRICE: "in the after-hours single-price session",
        Phase.PRE_MARKET: "in the pre-market",
        Phase.MAIN: "in the main market",
        Phase.AFTER_MARKET_ENTRY: "taking orders for the after-market's single-price open",
        Phase.AFTER_MARKET: "in the after-market",
    }
)
_TYPE_TEXT: Mapping[OrderType, str] = MappingProxyType(
    {
        OrderType.LIMIT: "limit",
        OrderType.MARKET: "market",
        OrderType.CONDITIONAL_LIMIT: "conditional-limit",
        OrderType.BEST_LIMIT: "best-limit",
        OrderType.PRIORITY_LIMIT: "priority-limit",
        OrderType.LIMIT_IOC: "limit IOC",
        OrderType.MARKET_IOC: "market IOC",
        OrderType.LIMIT_FOK: "limit FOK",
        OrderType.MARKET_FOK: "market FOK",
    }
)
_ARTICLE: Mapping[Venue, str] = MappingProxyType({Venue.KRX: "a KRX", Venue.NXT: "an NXT", Venue.SOR: "a"})
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class _Now:
    """What one venue accepts at one instant, and how to say it (`text` may be a function: the words
    are only needed when something is refused, and formatting them costs more than the rest)."""

    phase: Phase
    allowed: frozenset[TradeType]
    entries: bool
    text: str | Callable[[], str]

    @property
    def what(self) -> str:
        """The state in words."""
        return self.text if isinstance(self.text, str) else self.text()


class SessionGuard:
    """Calendar + timetable + order-type rules (+ the exchange's own state reports) for the risk gate."""

    def __init__(
        self, sessions: MarketSessions, config: MarketConfig, *, safety_margin_s: float = 0.0
    ) -> None:
        if safety_margin_s < 0:
            raise ValueError(f"safety_margin_s must be >= 0 seconds, got {safety_margin_s}")
        self._sessions = sessions
        self._calendar = sessions.calendar
        self._cfg = config
        self._margin = timedelta(seconds=safety_margin_s)
        self._day: date | None = None
        self._reports: list[tuple[datetime, MarketStateChange]] = []
        self._reports_version = 0  # bumped whenever `_reports` changes (keys the memo below)
        self._last: tuple[Venue, datetime, int, _Now] | None = None  # order_block then entry_block ask alike

    @classmethod
    def from_config(cls, config: MarketConfig, *, safety_margin_s: float = 0.0) -> SessionGuard:
        """The guard over the shipped calendar with `config.holiday_file` applied on top."""
        sessions = MarketSessions(TradingCalendar.load(config.holiday_file))
        return cls(sessions, config, safety_margin_s=safety_margin_s)

    @property
    def sessions(self) -> MarketSessions:
        """The session timetable this guard reads (also drives the daemon's phase announcements)."""
        return self._sessions

    # --- the MarketGuard protocol -----------------------------------------------------------
    def order_block(self, venue: Venue, when: datetime, order_type: OrderType) -> str | None:
        """Why no order of this type may be sent to `venue` at `when`, or None."""
        when = to_kst(when)
        try:
            reason = _refusal(self._state(venue, when), order_type)
            if reason is None and self._margin:
                later = _refusal(self._state(venue, when + self._margin), order_type)
                if later is not None:
                    reason = f"within the {_secs(self._margin)} safety margin: {later}"
        except CalendarRangeError as exc:
            return str(exc)
        return reason

    def entry_block(self, venue: Venue, when: datetime) -> str | None:
        """Why no new position may be opened on `venue` at `when`, or None."""
        when = to_kst(when)
        try:
            now = self._state(venue, when)
            if not now.entries:
                return f"no new positions now: {now.what}"
            if self._margin:
                later = self._state(venue, when + self._margin)
                if not later.entries:
                    return f"no new positions within the {_secs(self._margin)} safety margin: {later.what}"
            return self._entry_window(when)
        except CalendarRangeError as exc:
            return str(exc)

    # --- exchange state -------------------------------------------------------------------
    def follow_exchange_state(self, code_215: str, when: datetime) -> str | None:
        """Record a pushed 0s FID 215 code received at `when`; a note if it contradicts the calendar."""
        when = to_kst(when)
        try:
            change = market_state_change(code_215, when.time())
        except ValueError as exc:
            log.warning("exchange_state_unknown", code=code_215)
            return str(exc)
        day = when.date()
        if self._day is not None and day < self._day:
            return f"ignored a 0s report dated {day}: the reports of {self._day} are followed"
        if day != self._day:
            self._day, self._reports = day, []
        self._reports.append((when, change))
        self._reports_version += 1
        note = self._disagreement(when, change)
        if note is None:
            log.info("exchange_state_followed", code=change.code, venue=change.venue, state=change.event)
        else:
            log.warning("exchange_state_disagrees", code=change.code, venue=change.venue, note=note)
        return note

    def _disagreement(self, when: datetime, change: MarketStateChange) -> str | None:
        """A note when the report does not match the calendar's phase within the skew tolerance."""
        if change.phase is None:
            return None
        venue, cited = change.venue, _cite(when, change)
        try:
            closure = self._calendar.closure_reason(when.date())
            if closure is not None:
                return (
                    f"the exchange reported {venue} {cited} on {when.date()}, which the calendar says is "
                    f"closed ({closure}); no orders go out that day until the calendar is corrected"
                )
            for delta in (-REPORT_TOLERANCE, timedelta(0), REPORT_TOLERANCE):
                if change.phase in self._phases(venue, when + delta):
                    return None
            clock = self._sessions.phase_at(venue, when)
        except CalendarRangeError as exc:
            return str(exc)
        return (
            f"the exchange reported {venue} {cited} but by the calendar {venue} is {_PHASE_TEXT[clock]} "
            f"then (±{_secs(REPORT_TOLERANCE)}); the guard follows whichever is stricter"
        )

    def _phases(self, venue: Venue, t: datetime) -> frozenset[Phase]:
        seg = self._sessions.segment_at(venue, t)
        return frozenset({Phase.CLOSED}) if seg is None else seg.phases | {seg.phase}

    def _reports_until(self, venue: Venue, t: datetime) -> list[tuple[datetime, MarketStateChange]]:
        if self._day != t.date():
            return []
        return [(at, ch) for at, ch in self._reports if ch.venue is venue and at <= t]

    # --- the state of a venue at an instant ---------------------------------------------------
    def _state(self, venue: Venue, t: datetime) -> _Now:
        """`_compute_state`, remembered for the last instant asked (the risk gate asks twice per order)."""
        last = self._last
        if last is not None and last[0] is venue and last[1] == t and last[2] == self._reports_version:
            return last[3]
        now = self._compute_state(venue, t)
        self._last = (venue, t, self._reports_version, now)
        return now

    def _compute_state(self, venue: Venue, t: datetime) -> _Now:
        d = t.date()
        closure = self._calendar.closure_reason(d)
        if closure is not None:
            return _Now(
                Phase.CLOSED,
                frozenset(),
                False,
                f"{d} is not {_ARTICLE[venue]} trading day ({_why(d, closure)})",
            )
        if venue is Venue.SOR:
            return self._sor(t)
        seg = self._sessions.segment_at(venue, t)
        if seg is None:
            return _Now(Phase.CLOSED, frozenset(), False, self._outside_day(venue, t))
        if seg.phase is Phase.PAUSE:
            return _Now(Phase.PAUSE, frozenset(), False, self._pause(venue, seg))
        base = _Now(
            seg.phase,
            self._sessions.allowed_trade_types(venue, t),
            seg.phase in _ENTRY_PHASES,
            lambda: f"{venue} is {_PHASE_TEXT[seg.phase]} ({self._span(venue, seg)})",
        )
        return self._krx_reported(t, seg, base) if venue is Venue.KRX else self._nxt_reported(t, base)

    def _sor(self, t: datetime) -> _Now:
        krx, nxt = self._state(Venue.KRX, t), self._state(Venue.NXT, t)
        if krx.phase is not Phase.CONTINUOUS or nxt.phase is not Phase.MAIN:
            blocking = krx if krx.phase is not Phase.CONTINUOUS else nxt
            what = f"SOR orders need KRX continuous trading and the NXT main market, but {blocking.what}"
            return _Now(Phase.CLOSED, frozenset(), False, what)
        restricted = [s.what for s in (krx, nxt) if not s.entries]
        what = (
            restricted[0]
            if restricted
            else "SOR routes across KRX continuous trading and the NXT main market"
        )
        return _Now(Phase.CONTINUOUS, krx.allowed & nxt.allowed, not restricted, what)

    def _krx_reported(self, t: datetime, seg: Segment, base: _Now) -> _Now:
        """Apply the exchange's KRX reports of the day (stricter only; see the module docstring)."""
        if seg.phase not in _REGULAR_KRX:
            return base
        staged = [
            (_KRX_STAGE.get(ch.event, _KRX_OVER), at, ch) for at, ch in self._reports_until(Venue.KRX, t)
        ]
        stage, at, change = max(staged, key=lambda s: (s[0], s[1]), default=(-1, None, None))
        cited = "" if at is None or change is None else _cite(at, change)
        if stage == _KRX_OVER:
            what = (
                f"the exchange reported the KRX regular session over ({cited}) although by the calendar "
                f"KRX is {_PHASE_TEXT[seg.phase]}"
            )
            return _Now(seg.phase, frozenset(), False, what)
        if seg.phase is not Phase.CONTINUOUS:
            return base
        if stage == 2:
            auction = ALLOWED_BY_PHASE[Phase.CLOSING_AUCTION]
            return _Now(
                seg.phase,
                base.allowed & auction,
                False,
                f"the exchange reported the KRX closing auction ({cited})",
            )
        if stage < 1:
            pre_open = stage == 0
            until = seg.start + (LATE_OPEN_LIMIT if pre_open else OPEN_GRACE)
            if t < until:
                what = (
                    f"the exchange has not reported the KRX open yet (last: {cited}); opening-auction rules "
                    f"apply until {_hm(until)} at most"
                    if pre_open
                    else f"KRX's opening auction may still be matching until {_hm(until)} "
                    f"(random end up to {_secs(OPEN_GRACE)})"
                )
                return _Now(seg.phase, base.allowed & ALLOWED_BY_PHASE[Phase.OPENING_AUCTION], False, what)
        return base

    def _nxt_reported(self, t: datetime, base: _Now) -> _Now:
        """Block an NXT window the exchange already reported ended."""
        ends_at = _NXT_ENDED_AT.get(base.phase)
        ranked = [
            (rank, at, ch)
            for at, ch in self._reports_until(Venue.NXT, t)
            if (rank := _NXT_RANK.get(ch.event)) is not None
        ]
        if ends_at is None or not ranked:
            return base
        rank, at, change = max(ranked, key=lambda r: (r[0], r[1]))
        if rank < ends_at:
            return base
        what = (
            f"the exchange reported NXT past this window ({_cite(at, change)}) although by the calendar "
            f"NXT is {_PHASE_TEXT[base.phase]}"
        )
        return _Now(base.phase, frozenset(), False, what)

    # --- entry windows and wording ------------------------------------------------------------
    def _entry_window(self, when: datetime) -> str | None:
        """The no-entry minutes after the KRX regular open and before the regular close."""
        d = when.date()
        opens, closes = self._sessions.regular_open(d), self._sessions.regular_close(d)
        after_open, before_close = self._cfg.no_entry_after_open_min, self._cfg.no_entry_before_close_min
        first_entry = opens + timedelta(minutes=after_open)
        last_entry = closes - timedelta(minutes=before_close)
        if when < first_entry:
            return (
                f"no new positions in the first {after_open} minutes after the {_hm(opens)} open "
                f"(until {_hm(first_entry)})"
            )
        if when >= last_entry:
            return (
                f"no new positions in the last {before_close} minutes before the {_hm(closes)} close "
                f"(from {_hm(last_entry)})"
            )
        return None

    def _outside_day(self, venue: Venue, t: datetime) -> str:
        segments = self._sessions.day_segments(venue, t.date())
        if not segments:
            return f"{venue} does not trade on {t.date()}"
        if t < segments[0].start:
            return f"{venue} is not open yet at {t:%H:%M:%S} (its day starts at {_hm(segments[0].start)})"
        return f"{venue} is closed for the day at {t:%H:%M:%S} (its day ended at {_hm(segments[-1].end)})"

    def _pause(self, venue: Venue, seg: Segment) -> str:
        krx = self._sessions.phase_at(Venue.KRX, seg.start)
        cause = {
            Phase.OPENING_AUCTION: " for the KRX opening auction",
            Phase.CLOSING_AUCTION: " for the KRX closing auction",
        }
        return f"{venue} is paused {_hm(seg.start)}–{_hm(seg.end)}{cause.get(krx, '')}"

    def _span(self, venue: Venue, seg: Segment) -> str:
        """The times of the whole run of segments sharing `seg`'s primary phase."""
        segments = self._sessions.day_segments(venue, seg.start.date())
        i = segments.index(seg)
        start, end = i, i
        while start > 0 and segments[start - 1].phase is seg.phase:
            start -= 1
        while end + 1 < len(segments) and segments[end + 1].phase is seg.phase:
            end += 1
        return f"{_hm(segments[start].start)}–{_hm(segments[end].end)}"


def _refusal(now: _Now, order_type: OrderType) -> str | None:
    """The reason `now` refuses `order_type`, or None if it accepts it."""
    if trade_type_of(order_type) in now.allowed:
        return None
    if not now.allowed:
        return now.what
    accepted = [text for ot, text in _TYPE_TEXT.items() if trade_type_of(ot) in now.allowed]
    if accepted:
        others = f"accepted now: {', '.join(accepted)}"
    else:
        others = "only Kiwoom trde_tp " + "/".join(sorted(t.value for t in now.allowed)) + " orders are"
    return f"{now.what}: {_TYPE_TEXT[order_type]} orders are not accepted ({others})"


def _cite(at: datetime, change: MarketStateChange) -> str:
    return f"0s code {change.code!r} = {change.event.replace('_', ' ')} at {at:%H:%M:%S}"


def _why(d: date, closure: str) -> str:
    return _WEEKDAYS[d.weekday()] if closure == "weekend" else closure


def _hm(t: datetime) -> str:
    """HH:MM, with seconds only when they are not zero (NXT's 09:00:30)."""
    return f"{t:%H:%M}" if t.second == 0 else f"{t:%H:%M:%S}"


def _secs(delta: timedelta) -> str:
    return f"{delta.total_seconds():g} s"
