"""Small value types: sides, venues, order types. Prices and money are plain `int` KRW."""

from __future__ import annotations

import re
from enum import StrEnum

STOCK_CODE = re.compile(r"^[0-9A-Z]{6}$")


class Side(StrEnum):
    """Buy or sell."""

    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class Venue(StrEnum):
    """Where an order is routed: the order TRs' `dmst_stex_tp` vocabulary."""

    KRX = "KRX"
    NXT = "NXT"
    SOR = "SOR"


class OrderType(StrEnum):
    """The order types the bot uses, mapped to Kiwoom `trde_tp` codes at the broker edge."""

    LIMIT = "limit"
    MARKET = "market"
    CONDITIONAL_LIMIT = "conditional_limit"
    BEST_LIMIT = "best_limit"
    PRIORITY_LIMIT = "priority_limit"
    LIMIT_IOC = "limit_ioc"
    MARKET_IOC = "market_ioc"
    LIMIT_FOK = "limit_fok"
    MARKET_FOK = "market_fok"

    @property
    def needs_price(self) -> bool:
        """Whether the order carries a limit price (`ord_uv`)."""
        return self in (
            OrderType.LIMIT,
            OrderType.CONDITIONAL_LIMIT,
            OrderType.LIMIT_IOC,
            OrderType.LIMIT_FOK,
        )


def check_stock_code(code: str) -> str:
    """Return a 6-character stock code unchanged, or raise ValueError naming it."""
    if not STOCK_CODE.match(code):
        raise ValueError(f"stock code must be 6 characters like '005930', got {code!r}")
    return code


class TradingState(StrEnum):
    """The kill switch, persisted so it survives restarts (design §7 invariant 4)."""

    ACTIVE = "ACTIVE"  # entries and exits allowed
    REDUCING = "REDUCING"  # only orders that reduce positions
    HALTED = "HALTED"  # no new orders; cancels (and configured exits) only
