"""Trading phases of the KRX and NXT venues, one vocabulary for both.

Facts: krx-market-rules.md §2 (KRX) and §3 (NXT). A phase names a window of the exchange day with its
own order rules. KRX windows can overlap (08:30–08:40 runs the pre-hours closing-price trade *and* the
opening-auction order entry), so a moment may have several active phases; `bot.market.sessions`
reports them all and picks one primary phase by `PRIMARY_ORDER`.
"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.values import Venue


class Phase(StrEnum):
    """A window of the trading day on one venue."""

    CLOSED = "closed"
    PAUSE = "pause"  # inside the venue's day but between windows (NXT around the KRX auctions)
    # KRX
    PRE_HOURS_CLOSING_PRICE = "pre_hours_closing_price"  # 장전 시간외 종가, trde_tp 61
    OPENING_AUCTION = "opening_auction"  # 장전 동시호가 (order entry, one match at the open)
    CONTINUOUS = "continuous"  # 정규장 접속매매
    CLOSING_AUCTION = "closing_auction"  # 장마감 동시호가
    POST_CLOSE_CLOSING_PRICE = "post_close_closing_price"  # 장후 시간외 종가, trde_tp 81
    AFTER_HOURS_SINGLE_PRICE = "after_hours_single_price"  # 시간외 단일가, trde_tp 62
    # NXT
    PRE_MARKET = "pre_market"
    MAIN = "main"
    AFTER_MARKET_ENTRY = "after_market_entry"  # single-price opening of the after-market (entry only)
    AFTER_MARKET = "after_market"


# When several windows are active at once, the first in this order is the primary phase: the regular
# market's phase wins because it governs regular orders (trde_tp 0/3/5), which is what the risk gate
# and the strategies care about; the closing-price trade is still reported by `phases_at`.
PRIMARY_ORDER: tuple[Phase, ...] = (
    Phase.OPENING_AUCTION,
    Phase.CONTINUOUS,
    Phase.CLOSING_AUCTION,
    Phase.MAIN,
    Phase.PRE_MARKET,
    Phase.AFTER_MARKET_ENTRY,
    Phase.AFTER_MARKET,
    Phase.PRE_HOURS_CLOSING_PRICE,
    Phase.POST_CLOSE_CLOSING_PRICE,
    Phase.AFTER_HOURS_SINGLE_PRICE,
)

KRX_PHASES = frozenset(
    {
        Phase.PRE_HOURS_CLOSING_PRICE,
        Phase.OPENING_AUCTION,
        Phase.CONTINUOUS,
        Phase.CLOSING_AUCTION,
        Phase.POST_CLOSE_CLOSING_PRICE,
        Phase.AFTER_HOURS_SINGLE_PRICE,
    }
)
NXT_PHASES = frozenset({Phase.PRE_MARKET, Phase.MAIN, Phase.AFTER_MARKET_ENTRY, Phase.AFTER_MARKET})

# Phases in which regular orders (limit and friends, not the closing-price/single-price types) are taken.
REGULAR_ORDER_PHASES = frozenset(
    {
        Phase.OPENING_AUCTION,
        Phase.CONTINUOUS,
        Phase.CLOSING_AUCTION,
        Phase.PRE_MARKET,
        Phase.MAIN,
        Phase.AFTER_MARKET_ENTRY,
        Phase.AFTER_MARKET,
    }
)
# Phases with continuous matching (price-time priority, immediate fills possible).
CONTINUOUS_PHASES = frozenset({Phase.CONTINUOUS, Phase.PRE_MARKET, Phase.MAIN, Phase.AFTER_MARKET})


def primary_phase(phases: frozenset[Phase]) -> Phase:
    """The phase that governs regular orders among concurrently active ones (CLOSED if none)."""
    for phase in PRIMARY_ORDER:
        if phase in phases:
            return phase
    return Phase.CLOSED


def phases_of(venue: Venue) -> frozenset[Phase]:
    """The window phases that exist on `venue` (SOR has none of its own)."""
    if venue is Venue.KRX:
        return KRX_PHASES
    if venue is Venue.NXT:
        return NXT_PHASES
    raise ValueError(f"venue must be KRX or NXT (SOR has no session table of its own), got {venue!r}")
