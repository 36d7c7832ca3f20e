"""A readable live feed of what the engine does, for the demo and a terminal: one line per event.

Korean stock names as the broker gives them, KRW with thousands separators, times in KST.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.market import (
    ConditionExit,
    ConditionHit,
    FeedDown,
    FeedResynced,
    SessionChanged,
    SessionKickedEvent,
)
from bot.domain.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderUnknown,
    SubmitOrder,
)
from bot.domain.values import Side
from bot.engine.kernel_types import Reconciled, StateChanged, StrategyDisabled
from bot.engine.market_state import MarketState

_SIDE = {Side.BUY: "매수", Side.SELL: "매도"}


def krw(amount: int) -> str:
    """`1234567` → `1,234,567원`."""
    return f"{amount:,}원"


class ConsoleFeed:
    """Formats engine events as one-line, human-readable entries and writes them out."""

    def __init__(self, market: MarketState, write: Callable[[str], None], *, quiet: bool = False) -> None:
        self._market = market
        self._write = write
        self._quiet = quiet

    def _stock(self, code: str) -> str:
        name = self._market.name(code)
        return f"{name}({code})" if name != code else code

    def __call__(self, event: object) -> None:
        line = self.format(event)
        if line and not self._quiet:
            self._write(line)

    def format(self, event: object) -> str | None:
        """The line for an event, or None for events not shown."""
        t = getattr(event, "time", None)
        stamp = t.strftime("%H:%M:%S") if t is not None else "--:--:--"
        if isinstance(event, ConditionHit):
            return f"{stamp}  조건편입  [{event.seq}] {self._stock(event.code)}"
        if isinstance(event, ConditionExit):
            return f"{stamp}  조건이탈  [{event.seq}] {self._stock(event.code)}"
        if isinstance(event, OrderSubmitted):
            c = event.command
            price = krw(c.price) if c.price else "시장가"
            return (
                f"{stamp}  주문      {c.strategy}: {_SIDE[c.side]} {self._stock(c.code)} "
                f"{c.qty:,}주 @ {price}  ({c.reason or c.order_type})"
            )
        if isinstance(event, OrderAccepted):
            return None
        if isinstance(event, OrderFilled):
            pnl = "" if event.realized_pnl is None else f", 손익 {event.realized_pnl:+,}원"
            return (
                f"{stamp}  체결      {event.strategy}: {_SIDE[event.side]} {self._stock(event.code)} "
                f"{event.qty:,}주 @ {krw(event.price)}  "
                f"(누적 {event.cum_qty:,}주, 잔량 {event.remaining_qty:,}주{pnl})"
            )
        if isinstance(event, OrderCanceled):
            return f"{stamp}  취소      {event.strategy}: {self._stock(event.code)} {event.canceled_qty:,}주"
        if isinstance(event, OrderRejected):
            who = f"{event.strategy}: {self._stock(event.code)}"
            return f"{stamp}  거부      {who} [{event.reject_code}] {event.reason}"
        if isinstance(event, OrderDenied):
            cmd = event.command
            what = (
                f"{_SIDE[cmd.side]} {self._stock(cmd.code)} {cmd.qty:,}주"
                if isinstance(cmd, SubmitOrder)
                else type(cmd).__name__
            )
            return f"{stamp}  리스크거절 {cmd.strategy}: {what} — {event.rule}: {event.reason}"
        if isinstance(event, OrderUnknown):
            return f"{stamp}  미확인    {event.intent_id}: {event.reason} (reconciling)"
        if isinstance(event, StateChanged):
            return f"{stamp}  상태변경  {event.state} — {event.reason} (by {event.by})"
        if isinstance(event, StrategyDisabled):
            return f"{stamp}  전략중지  {event.strategy}: {event.error}"
        if isinstance(event, Reconciled):
            extra = f": {'; '.join(event.detail)}" if event.detail else ""
            counts = f"{event.synced_orders} orders, {event.differences} differences"
            return f"{stamp}  대사      {event.reason}: {counts}{extra}"
        if isinstance(event, SessionChanged):
            return f"{stamp}  장운영    {event.venue} {event.phase}"
        if isinstance(event, FeedDown):
            return f"{stamp}  연결끊김  {event.reason}"
        if isinstance(event, FeedResynced):
            return f"{stamp}  재연결    resubscribed (reconnects: {event.reconnects})"
        if isinstance(event, SessionKickedEvent):
            return f"{stamp}  세션종료  {event.message}"
        return None
