"""What the dry-run broker says: `00`-style order events, account snapshots, Kiwoom-style rejections.

Events are built exactly as `bot.broker.kiwoom.codec` decodes Kiwoom's `00` pushes (and as the
simulator pushes them), so the engine cannot tell them apart:
- a new or modify order: 접수, then for modify a 확인, both for the NEW order number;
- each fill: 체결 with this fill's `fill_qty`/`fill_price`, the order's remaining quantity, and its
  cumulative `cum_fill_amount`, `fee` and `tax` (FIDs 903/938/939 are per-order running totals);
- a requested cancel: 접수 then 확인 for the cancel's own new number, `orig_order_no` the canceled
  order, `order_qty` the canceled shares, remaining 0;
- a cancel by the market (IOC/FOK remainder, VI, end of day): 취소 for the order itself
  (`orig_order_no` = `order_no`), `order_qty` the canceled shares, remaining 0.
So for every CANCEL or MODIFY event, `orig_order_no` names the order that lost `order_qty` shares.

Rejection codes: 855056 (margin) and 1902 (unknown code) are Kiwoom's own; the RC40xx codes are the
simulator's (`bot/sim/exchange.py`), reused so one condition reads the same in both; RC4038 (modify
of an unpriced order), RC4061 (IOC/FOK during a VI) and RC4062 (no price to use) are new here.
"""

from __future__ import annotations

from datetime import datetime

from bot.broker.dryrun_model import DryOrder, SymbolFacts
from bot.clock import KST
from bot.domain.account import OrderAction, OrderEvent, OrderStatus
from bot.domain.snapshots import FillRecord, OpenOrder, StockInfo
from bot.errors import BusinessRejected, InvalidRequest

BUSINESS_RETURN_CODE = 20  # Kiwoom's return_code for order rejections (kiwoom-protocol.md §3.3)


def rejected(api_id: str, code: str, text: str) -> BusinessRejected:
    """A rejection shaped like Kiwoom's: `[2000](<code>:<text>)`, return_code 20, msg_code `code`."""
    return BusinessRejected(
        f"[2000]({code}:{text})", api_id=api_id, return_code=BUSINESS_RETURN_CODE, msg_code=code
    )


def invalid(api_id: str, field: str, expected: str, got: object) -> InvalidRequest:
    """A malformed request, refused before it could reach any exchange; names the field."""
    return InvalidRequest(f"{api_id}: {field} must be {expected}, got {got!r}")


def order_event(
    order: DryOrder,
    status: OrderStatus,
    time: datetime,
    *,
    fill_no: str = "",
    fill_price: int = 0,
    fill_qty: int = 0,
) -> OrderEvent:
    """A 접수/확인/체결 event for `order` itself, carrying its running totals."""
    return OrderEvent(
        order_no=order.order_no,
        orig_order_no=order.orig_order_no,
        code=order.code,
        name=order.name,
        status=status,
        action=order.action,
        side=order.side,
        order_qty=order.qty,
        order_price=order.price,
        remaining_qty=order.open_qty,
        cum_fill_amount=order.filled_amount,
        fill_no=fill_no,
        fill_price=fill_price,
        fill_qty=fill_qty,
        time=time,
        fee=order.fee,
        tax=order.tax,
        reject_reason="",
        venue=order.venue,
        order_type_text=order.type_text,
    )


def cancel_request_events(cancel_no: str, order: DryOrder, qty: int, time: datetime) -> list[OrderEvent]:
    """접수 and 확인 of a requested cancel (its own number `cancel_no`) that took `qty` from `order`."""
    return [
        OrderEvent(
            order_no=cancel_no,
            orig_order_no=order.order_no,
            code=order.code,
            name=order.name,
            status=status,
            action=OrderAction.CANCEL,
            side=order.side,
            order_qty=qty,
            order_price=order.price,
            remaining_qty=0,
            cum_fill_amount=0,
            fill_no="",
            fill_price=0,
            fill_qty=0,
            time=time,
            fee=0,
            tax=0,
            reject_reason="",
            venue=order.venue,
            order_type_text=order.type_text,
        )
        for status in (OrderStatus.ACCEPTED, OrderStatus.CONFIRMED)
    ]


def market_cancel_event(order: DryOrder, qty: int, time: datetime) -> OrderEvent:
    """취소 of `qty` shares of `order` by the market (IOC/FOK remainder, VI, end of day)."""
    return OrderEvent(
        order_no=order.order_no,
        orig_order_no=order.order_no,
        code=order.code,
        name=order.name,
        status=OrderStatus.CANCELED,
        action=OrderAction.CANCEL,
        side=order.side,
        order_qty=qty,
        order_price=order.price,
        remaining_qty=0,
        cum_fill_amount=order.filled_amount,
        fill_no="",
        fill_price=0,
        fill_qty=0,
        time=time,
        fee=order.fee,
        tax=order.tax,
        reject_reason="",
        venue=order.venue,
        order_type_text=order.type_text,
    )


def open_order_row(order: DryOrder) -> OpenOrder:
    """A working order as ka10075 would list it (status 접수 for new orders, 확인 for modifies)."""
    return OpenOrder(
        order_no=order.order_no,
        orig_order_no=order.orig_order_no,
        code=order.code,
        name=order.name,
        side=order.side,
        order_qty=order.qty,
        order_price=order.price,
        remaining_qty=order.open_qty,
        filled_qty=order.filled_qty,
        cum_fill_amount=order.filled_amount,
        status_text="접수" if order.action is OrderAction.NEW else "확인",
        order_type_text=order.type_text,
        time=order.accepted_at.astimezone(KST).time(),
        venue=order.venue,
    )


def fill_record(order: DryOrder) -> FillRecord:
    """An order's fills as ka10076 would list them: cumulative, at the average price (rounded down)."""
    return FillRecord(
        order_no=order.order_no,
        orig_order_no=order.orig_order_no,
        code=order.code,
        name=order.name,
        side=order.side,
        order_qty=order.qty,
        order_price=order.price,
        fill_qty=order.filled_qty,
        fill_price=order.filled_amount // order.filled_qty if order.filled_qty else 0,
        remaining_qty=order.open_qty,
        fee=order.fee,
        tax=order.tax,
        status_text="체결",
        order_type_text=order.type_text,
        time=order.accepted_at.astimezone(KST).time(),
        venue=order.venue,
    )


def stock_info_of(facts: SymbolFacts) -> StockInfo:
    """ka10001-like facts: reference or fetched data overlaid with the last print."""
    info, tick = facts.info, facts.tick
    lower, upper = facts.limits() or (0, 0)
    if tick is not None:
        day = (tick.open, tick.high, tick.low, tick.change, tick.change_rate_bp, tick.cum_volume)
    elif info is not None:
        day = (info.open, info.high, info.low, info.change, info.change_rate_bp, info.volume)
    else:
        day = (0, 0, 0, 0, 0, 0)
    return StockInfo(
        code=facts.code,
        name=facts.name or (info.name if info else ""),
        price=facts.last_price(),
        open=day[0],
        high=day[1],
        low=day[2],
        base_price=facts.base or (info.base_price if info else 0),
        upper_limit=upper,
        lower_limit=lower,
        change=day[3],
        change_rate_bp=day[4],
        volume=day[5],
    )
