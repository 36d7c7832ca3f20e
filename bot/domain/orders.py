"""Order commands (what a strategy or operator wants) and order events (what happened).

Commands are imperative and may be denied; events are past tense and are facts. Every order the
bot places starts as an *intent* with a locally generated `intent_id`, journaled before it is sent,
because Kiwoom's order TRs carry no client order id (reliability-matrix.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.values import OrderType, Side, Venue


class IntentState(StrEnum):
    """The order state machine; transitions only move forward (see `bot.engine.orderstate`)."""

    PENDING_SEND = "pending_send"  # journaled, not yet sent
    SENT = "sent"  # POST in flight
    UNKNOWN = "unknown"  # the POST's outcome is unknown: blocked until reconciled
    ACCEPTED = "accepted"  # the broker gave an order number
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"  # remaining quantity canceled (possibly after partial fills)
    REJECTED = "rejected"  # the broker said no; nothing placed
    NOT_PLACED = "not_placed"  # unknown, then not found in open orders or fills after the watch period

    @property
    def is_terminal(self) -> bool:
        """Whether nothing further can happen to this intent (except a late lost-order adoption)."""
        return self in (
            IntentState.FILLED,
            IntentState.CANCELED,
            IntentState.REJECTED,
            IntentState.NOT_PLACED,
        )

    @property
    def is_working(self) -> bool:
        """Whether the order may still trade at the broker (or might, if unknown)."""
        return self in (
            IntentState.PENDING_SEND,
            IntentState.SENT,
            IntentState.UNKNOWN,
            IntentState.ACCEPTED,
            IntentState.PARTIALLY_FILLED,
        )


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """A request to place a new order; the risk gate decides whether it goes out."""

    strategy: str
    code: str
    side: Side
    qty: int
    order_type: OrderType
    price: int  # limit price in KRW; 0 for market-type orders
    venue: Venue = Venue.KRX
    reason: str = ""
    is_exit: bool = False  # reduces an existing position (allowed while REDUCING/HALTED if configured)


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """A request to cancel the remaining quantity of a working order."""

    strategy: str
    intent_id: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    """A request to change a working limit order's price (and optionally quantity)."""

    strategy: str
    intent_id: str
    new_price: int
    new_qty: int = 0  # 0 = keep the remaining quantity
    reason: str = ""


Command = SubmitOrder | CancelOrder | ModifyOrder


@dataclass(frozen=True, slots=True)
class OrderDenied:
    """The risk gate or the market clock refused a command; `rule` names the limit that said no."""

    command: Command
    rule: str
    reason: str
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderSubmitted:
    """An intent was journaled and is being sent to the broker."""

    intent_id: str
    command: SubmitOrder
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """The broker assigned an order number to an intent."""

    intent_id: str
    order_no: str
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The broker refused an intent; terminal, nothing was placed. `reject_code` is Kiwoom's code."""

    intent_id: str
    strategy: str
    code: str
    side: Side
    reason: str
    reject_code: str
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderUnknown:
    """An intent's send had an ambiguous outcome; it is blocked until reconciliation resolves it."""

    intent_id: str
    reason: str
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """A fill applied to an intent (de-duplicated by order number + fill number).

    `realized_pnl` is what a sell closed against the average cost (`bot.domain.position`): sell price
    minus average price, times qty, minus this fill's fee and tax.
    """

    intent_id: str
    strategy: str
    order_no: str
    fill_no: str
    code: str
    side: Side
    qty: int
    price: int
    fee: int
    tax: int
    cum_qty: int
    remaining_qty: int
    time: datetime
    realized_pnl: int | None = None  # a sell's realized P&L after its fee and tax (KRW); None for buys


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    """The remaining quantity of an intent was canceled at the broker."""

    intent_id: str
    strategy: str
    order_no: str
    code: str
    side: Side
    canceled_qty: int
    time: datetime


@dataclass(frozen=True, slots=True)
class OrderNotPlaced:
    """An unknown intent was not found at the broker after the watch period (lost-order watch continues)."""

    intent_id: str
    time: datetime


@dataclass(frozen=True, slots=True)
class IntentRecord:
    """The journal's view of one intent: what was asked, and what is known now."""

    intent_id: str
    command: SubmitOrder
    state: IntentState
    created_at: datetime
    order_no: str = ""
    filled_qty: int = 0
    filled_amount: int = 0
    fee: int = 0
    tax: int = 0
    external: bool = False  # an order the bot did not create (placed from HTS/MTS)
    fill_nos: frozenset[str] = field(default_factory=frozenset)
