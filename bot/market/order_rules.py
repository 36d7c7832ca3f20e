"""Which Kiwoom order types (`trde_tp`) each trading phase accepts.

Facts: krx-market-rules.md §10 (codes and where each is usable), §2 (auction rules) and §3 (NXT).
The rules are expressed in Kiwoom's `trde_tp` vocabulary because that is how §10 states them; the
broker adapter and the risk gate share this one table so they cannot disagree.

Conservative choices where the sources are silent or loose (a refused order is cheaper than a
rejected one at the exchange): best/priority-limit (6, 7) only in continuous matching; conditional
limit (5) not entered during the closing auction (it converts to market there); NXT's after-market
entry window (single-price open) takes plain limits only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from bot.domain.values import OrderType
from bot.market.phases import Phase


class TradeType(StrEnum):
    """Kiwoom kt10000/kt10001 `trde_tp` codes."""

    LIMIT = "0"  # 보통
    MARKET = "3"  # 시장가
    CONDITIONAL_LIMIT = "5"  # 조건부지정가
    BEST_LIMIT = "6"  # 최유리지정가
    PRIORITY_LIMIT = "7"  # 최우선지정가
    LIMIT_IOC = "10"
    MARKET_IOC = "13"
    BEST_LIMIT_IOC = "16"
    LIMIT_FOK = "20"
    MARKET_FOK = "23"
    BEST_LIMIT_FOK = "26"
    STOP_LIMIT = "28"  # 스톱지정가: cond_uv = trigger, ord_uv = limit
    MID_PRICE = "29"  # 중간가
    MID_PRICE_IOC = "30"
    MID_PRICE_FOK = "31"
    PRE_HOURS_CLOSING_PRICE = "61"  # 장시작전시간외 (prior close)
    AFTER_HOURS_SINGLE_PRICE = "62"  # 시간외단일가 (limit within ±10 % of the close)
    POST_CLOSE_CLOSING_PRICE = "81"  # 장마감후시간외 (today's close)

    @property
    def needs_price(self) -> bool:
        """Whether the order carries `ord_uv` (the others are priced by the exchange)."""
        return self in _PRICED


_PRICED = frozenset(
    {
        TradeType.LIMIT,
        TradeType.CONDITIONAL_LIMIT,
        TradeType.LIMIT_IOC,
        TradeType.LIMIT_FOK,
        TradeType.STOP_LIMIT,
        TradeType.AFTER_HOURS_SINGLE_PRICE,
    }
)

# KRX introduced stop-limit and mid-price orders with NXT's launch (§3).
NEW_ORDER_TYPES_SINCE = date(2025, 3, 4)
_NEW_ORDER_TYPES = frozenset(
    {TradeType.STOP_LIMIT, TradeType.MID_PRICE, TradeType.MID_PRICE_IOC, TradeType.MID_PRICE_FOK}
)
_IMMEDIATE = frozenset(
    {
        TradeType.LIMIT_IOC,
        TradeType.MARKET_IOC,
        TradeType.BEST_LIMIT_IOC,
        TradeType.LIMIT_FOK,
        TradeType.MARKET_FOK,
        TradeType.BEST_LIMIT_FOK,
    }
)
_CONTINUOUS_KRX = (
    frozenset(
        {
            TradeType.LIMIT,
            TradeType.MARKET,
            TradeType.CONDITIONAL_LIMIT,
            TradeType.BEST_LIMIT,
            TradeType.PRIORITY_LIMIT,
        }
    )
    | _IMMEDIATE
    | _NEW_ORDER_TYPES
)
_LIMIT_BEST_PRIORITY = frozenset({TradeType.LIMIT, TradeType.BEST_LIMIT, TradeType.PRIORITY_LIMIT})

ALLOWED_BY_PHASE: Mapping[Phase, frozenset[TradeType]] = MappingProxyType(
    {
        Phase.CLOSED: frozenset(),
        Phase.PAUSE: frozenset(),
        Phase.PRE_HOURS_CLOSING_PRICE: frozenset({TradeType.PRE_HOURS_CLOSING_PRICE}),
        Phase.OPENING_AUCTION: frozenset({TradeType.LIMIT, TradeType.MARKET, TradeType.CONDITIONAL_LIMIT}),
        Phase.CONTINUOUS: _CONTINUOUS_KRX,
        Phase.CLOSING_AUCTION: frozenset({TradeType.LIMIT, TradeType.MARKET}),
        Phase.POST_CLOSE_CLOSING_PRICE: frozenset({TradeType.POST_CLOSE_CLOSING_PRICE}),
        Phase.AFTER_HOURS_SINGLE_PRICE: frozenset({TradeType.AFTER_HOURS_SINGLE_PRICE}),
        # NXT: no market orders and no conditional limit outside the main market; 5 is KRX-only.
        Phase.PRE_MARKET: _LIMIT_BEST_PRIORITY,
        Phase.MAIN: _CONTINUOUS_KRX - {TradeType.CONDITIONAL_LIMIT},
        Phase.AFTER_MARKET_ENTRY: frozenset({TradeType.LIMIT}),
        Phase.AFTER_MARKET: _LIMIT_BEST_PRIORITY,
    }
)


def allowed_trade_types(phases: frozenset[Phase], on: date) -> frozenset[TradeType]:
    """The `trde_tp` codes accepted while all of `phases` are active on day `on` (their union)."""
    allowed: frozenset[TradeType] = frozenset().union(*(ALLOWED_BY_PHASE[p] for p in phases))
    if on < NEW_ORDER_TYPES_SINCE:
        allowed -= _NEW_ORDER_TYPES
    return allowed


_BY_ORDER_TYPE: Mapping[OrderType, TradeType] = MappingProxyType(
    {
        OrderType.LIMIT: TradeType.LIMIT,
        OrderType.MARKET: TradeType.MARKET,
        OrderType.CONDITIONAL_LIMIT: TradeType.CONDITIONAL_LIMIT,
        OrderType.BEST_LIMIT: TradeType.BEST_LIMIT,
        OrderType.PRIORITY_LIMIT: TradeType.PRIORITY_LIMIT,
        OrderType.LIMIT_IOC: TradeType.LIMIT_IOC,
        OrderType.MARKET_IOC: TradeType.MARKET_IOC,
        OrderType.LIMIT_FOK: TradeType.LIMIT_FOK,
        OrderType.MARKET_FOK: TradeType.MARKET_FOK,
    }
)


def trade_type_of(order_type: OrderType) -> TradeType:
    """The Kiwoom `trde_tp` of one of the bot's order types."""
    return _BY_ORDER_TYPE[order_type]
