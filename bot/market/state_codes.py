"""Kiwoom's pushed market-state codes (real-time type `0s`, FID 215 장운영구분) as phase changes.

Facts: kiwoom-protocol.md §7.4. The exchange pushes these when its state changes, so the daemon
follows them and falls back to the clock (`bot.market.sessions`) only when they are missing; a
disagreement between the two is worth a warning. Pure: the caller passes the code and, when it has
it, the time of the push (FID 20), which disambiguates `V`.

`V` is documented two ways: NXT after-market end (current docs) and NXT 종가매매 end (an older PDF,
at 16:00, where `W` then ends the after-market). Without a time, or at 19:00 or later, `V` is read as
the after-market end (CLOSED): if that is wrong the bot stops NXT trading early, the safe side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from types import MappingProxyType

from bot.domain.values import Venue
from bot.market.phases import Phase


@dataclass(frozen=True, slots=True)
class MarketStateChange:
    """What one FID 215 code means: the venue, the event, and the phase entered (None: no change)."""

    code: str
    venue: Venue
    event: str
    phase: Phase | None


_CODES: Mapping[str, tuple[Venue, str, Phase | None]] = MappingProxyType(
    {
        "0": (Venue.KRX, "pre_open_notice", Phase.OPENING_AUCTION),  # 장시작전 알림 (08:40~)
        "3": (Venue.KRX, "regular_open", Phase.CONTINUOUS),  # 장시작 (09:00)
        "2": (Venue.KRX, "closing_auction_notice", Phase.CLOSING_AUCTION),  # 장마감 알림 (15:20~)
        "4": (Venue.KRX, "regular_close", Phase.POST_CLOSE_CLOSING_PRICE),  # 장마감 (15:30), 81 entry opens
        "8": (Venue.KRX, "regular_session_closed", None),  # 정규장마감 (confirmation only)
        "9": (Venue.KRX, "all_sessions_closed", Phase.CLOSED),  # 전체장마감 (18:00~)
        "a": (Venue.KRX, "post_close_closing_price_start", Phase.POST_CLOSE_CLOSING_PRICE),  # 15:40
        "b": (Venue.KRX, "post_close_closing_price_end", None),  # 16:00, followed by `c`
        "c": (Venue.KRX, "after_hours_single_price_start", Phase.AFTER_HOURS_SINGLE_PRICE),  # 16:00
        "d": (Venue.KRX, "after_hours_single_price_end", Phase.CLOSED),  # 18:00
        "P": (Venue.NXT, "pre_market_start", Phase.PRE_MARKET),
        "Q": (Venue.NXT, "pre_market_end", Phase.PAUSE),
        "R": (Venue.NXT, "main_market_start", Phase.MAIN),
        "S": (Venue.NXT, "main_market_end", Phase.PAUSE),
        "T": (Venue.NXT, "after_market_single_price_start", Phase.AFTER_MARKET_ENTRY),
        "U": (Venue.NXT, "after_market_start", Phase.AFTER_MARKET),
        "V": (Venue.NXT, "after_market_end", Phase.CLOSED),
        "W": (Venue.NXT, "after_market_end", Phase.CLOSED),
    }
)
_V_OLD_MEANING = (Venue.NXT, "closing_price_trade_end", None)
_V_AFTER_MARKET_FROM = time(19, 0)


def market_state_change(code: str, at: time | None = None) -> MarketStateChange:
    """Interpret a FID 215 value; raise ValueError naming it if unknown (the caller logs and skips)."""
    key = code.strip()
    if key not in _CODES:
        raise ValueError(f"unknown 0s FID 215 market-state code {code!r}; expected one of {sorted(_CODES)}")
    venue, event, phase = _CODES[key]
    if key == "V" and at is not None and at < _V_AFTER_MARKET_FROM:
        venue, event, phase = _V_OLD_MEANING
    return MarketStateChange(code=key, venue=venue, event=event, phase=phase)
