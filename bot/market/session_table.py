"""The normal-day session table of KRX and NXT, as data.

Facts: krx-market-rules.md §2, §3 and §11. Each window is a phase with a start and an end (start
inclusive, end exclusive, KST). Every boundary carries an anchor saying how a special day moves it:
OPEN boundaries move by the day's `open_shift_minutes`, CLOSE boundaries by `close_shift_minutes`,
FIXED ones (the end of the venue's day) never move. With +60/+60 this gives the CSAT day exactly as
announced (KRX 09:30 pre-hours, 10:00–16:30 regular, 16:40–17:00 closing-price trade, 17:00–18:00
single price; NXT 10:00:30–16:20 main, 16:30 after-market entry, 20:00 end), and with +60/0 the first
trading day of the year (KRX 10:00 open, NXT main from 10:00:30).

Overlaps are allowed: KRX 08:30–08:40 runs the pre-hours closing-price trade (61) while the opening
auction takes orders; `bot.market.sessions` reports both and picks the auction as primary phase.
Not modelled: NXT 종가매매 (trade at the KRX close), block/basket windows, the KRX 07:00–08:00 and
16:00–20:00 markets planned for 2026-06-29 (unconfirmed, §2.2), per-stock single-price regimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from enum import Enum
from types import MappingProxyType

from bot.domain.values import Venue
from bot.market.phases import Phase


class Anchor(Enum):
    """How a boundary moves on a special day."""

    OPEN = "open"
    CLOSE = "close"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Boundary:
    """A wall-clock time (KST) and the shift it follows on special days."""

    at: time
    anchor: Anchor


@dataclass(frozen=True, slots=True)
class Window:
    """One phase of the day; `matching_from` marks the end of an entry-only prefix (orders queue)."""

    phase: Phase
    start: Boundary
    end: Boundary
    matching_from: Boundary | None = None


@dataclass(frozen=True, slots=True)
class VenueTable:
    """The windows of one venue on a normal day, valid for trading days from `since`."""

    venue: Venue
    since: date
    windows: tuple[Window, ...]


def _open(h: int, m: int, s: int = 0) -> Boundary:
    return Boundary(time(h, m, s), Anchor.OPEN)


def _close(h: int, m: int) -> Boundary:
    return Boundary(time(h, m), Anchor.CLOSE)


def _fixed(h: int, m: int) -> Boundary:
    return Boundary(time(h, m), Anchor.FIXED)


KRX_TABLE = VenueTable(
    venue=Venue.KRX,
    since=date(2019, 4, 29),  # opening auction entry from 08:30 (was 08:00), krx-market-rules.md §2
    windows=(
        Window(Phase.PRE_HOURS_CLOSING_PRICE, _open(8, 30), _open(8, 40)),
        Window(Phase.OPENING_AUCTION, _open(8, 30), _open(9, 0)),
        Window(Phase.CONTINUOUS, _open(9, 0), _close(15, 20)),
        Window(Phase.CLOSING_AUCTION, _close(15, 20), _close(15, 30)),
        Window(Phase.POST_CLOSE_CLOSING_PRICE, _close(15, 30), _close(16, 0), matching_from=_close(15, 40)),
        Window(Phase.AFTER_HOURS_SINGLE_PRICE, _close(16, 0), _fixed(18, 0)),
    ),
)

NXT_TABLE = VenueTable(
    venue=Venue.NXT,
    since=date(2025, 3, 4),  # Nextrade launch
    windows=(
        Window(Phase.PRE_MARKET, _open(8, 0), _open(8, 50)),
        Window(Phase.MAIN, _open(9, 0, 30), _close(15, 20)),
        Window(Phase.AFTER_MARKET_ENTRY, _close(15, 30), _close(15, 40)),
        Window(Phase.AFTER_MARKET, _close(15, 40), _fixed(20, 0)),
    ),
)

SESSION_TABLE: Mapping[Venue, VenueTable] = MappingProxyType({Venue.KRX: KRX_TABLE, Venue.NXT: NXT_TABLE})

# Every call auction ends at a random moment up to this many seconds after its nominal end (§2), so
# the clock-derived phase can be early; the exchange state feed (0s FID 215) is authoritative.
AUCTION_RANDOM_END_SECONDS = 30
