"""The clock-based session guard: may this order go out now, and may a position be opened now?

Implements the risk gate's `MarketGuard` protocol (`bot.engine.risk`) from the calendar and the
session table, so the gate's answers come from the same data as the simulator's. It fails closed: a
date the calendar does not cover blocks every order with the reason. Denial reasons are written for
the operator (venue, phase, the order type and its `trde_tp`, when the state next changes).
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.values import OrderType, Venue
from bot.market.calendar import CalendarRangeError
from bot.market.order_rules import trade_type_of
from bot.market.sessions import MarketSessions, to_kst


class SessionGuard:
    """Answers "may this order type go to this venue now?" and "may an entry be made now?"."""

    def __init__(
        self,
        sessions: MarketSessions,
        *,
        no_entry_after_open_minutes: int = 0,
        no_entry_before_close_minutes: int = 0,
    ) -> None:
        if no_entry_after_open_minutes < 0 or no_entry_before_close_minutes < 0:
            raise ValueError("no-entry windows must be >= 0 minutes")
        self._sessions = sessions
        self._after_open = no_entry_after_open_minutes
        self._before_close = no_entry_before_close_minutes

    def order_block(self, venue: Venue, when: datetime, order_type: OrderType) -> str | None:
        """Why an order of `order_type` may not be sent to `venue` at `when`, or None if it may."""
        try:
            day = to_kst(when).date()
            reason = self._sessions.calendar.closure_reason(day)
            if reason is not None:
                return f"market closed on {day} ({reason})"
            trade_type = trade_type_of(order_type)
            if trade_type in self._sessions.allowed_trade_types(venue, when):
                return None
            state = self._state(venue, when)
            return f"{venue} does not take {order_type} orders (trde_tp {trade_type}) now: {state}"
        except CalendarRangeError as exc:
            return str(exc)

    def entry_block(self, venue: Venue, when: datetime) -> str | None:
        """Why a new position may not be opened at `when` (configured no-entry windows), or None."""
        try:
            minutes_left = self._sessions.minutes_to_close(venue, when)
            if self._before_close and minutes_left is not None and minutes_left <= self._before_close:
                left = f"{minutes_left:.1f}"
                return f"no entries in the last {self._before_close} min before {venue} closes ({left} left)"
            if self._after_open and self._sessions.is_continuous(venue, when):
                since = self._minutes_since_continuous_start(venue, when)
                if since < self._after_open:
                    return (
                        f"no entries in the first {self._after_open} min of {venue} trading ({since:.1f} in)"
                    )
            return None
        except CalendarRangeError as exc:
            return str(exc)

    def _minutes_since_continuous_start(self, venue: Venue, when: datetime) -> float:
        venues = (Venue.KRX, Venue.NXT) if venue is Venue.SOR else (venue,)
        starts = []
        for v in venues:
            seg = self._sessions.segment_at(v, when)
            if seg is not None:
                starts.append(seg.start)
        return (when - max(starts)).total_seconds() / 60 if starts else 0.0

    def _state(self, venue: Venue, when: datetime) -> str:
        if venue is Venue.SOR:
            return "SOR is used only while KRX trades continuously and NXT is in its main market"
        phase = self._sessions.phase_at(venue, when)
        nxt = self._sessions.next_transition(venue, when)
        return f"phase {phase}, next {nxt.phase} at {nxt.at:%Y-%m-%d %H:%M:%S}"
