"""Account-side events pushed by the broker (order/fill and balance)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.values import Side, Venue


class OrderStatus(StrEnum):
    """Kiwoom's 주문상태 (FID 913) in our words."""

    ACCEPTED = "접수"
    FILLED = "체결"
    CONFIRMED = "확인"
    CANCELED = "취소"
    REJECTED = "거부"


class OrderAction(StrEnum):
    """What an order event is about (FID 905 주문구분 without the sign)."""

    NEW = "new"
    MODIFY = "modify"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One order/fill push (Kiwoom 00). For 체결, `fill_qty`/`fill_price` describe this fill only."""

    order_no: str
    orig_order_no: str
    code: str
    name: str
    status: OrderStatus
    action: OrderAction
    side: Side
    order_qty: int
    order_price: int
    remaining_qty: int
    cum_fill_amount: int
    fill_no: str
    fill_price: int
    fill_qty: int
    time: datetime
    fee: int
    tax: int
    reject_reason: str
    venue: Venue
    order_type_text: str


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    """A holding changed (Kiwoom 04)."""

    code: str
    name: str
    qty: int
    sellable_qty: int
    avg_price: int
    price: int
    time: datetime
