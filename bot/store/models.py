"""Records the store reads and writes, beyond the domain's `IntentRecord`.

All money is `int` KRW; all instants are timezone-aware and come from the caller's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.domain.orders import IntentRecord, IntentState
from bot.domain.values import Side, TradingState

EXTERNAL_STRATEGY = "_external"
"""Reserved strategy name under which positions from orders the bot did not place are kept."""


class FillSource(StrEnum):
    """Where a fill was learned from."""

    WS = "ws"  # a 00 체결 push
    REST = "rest"  # a REST query (ka10075/ka10076) during reconciliation
    LOCAL = "local"  # dry-run: filled locally against live ticks


class JournalKind(StrEnum):
    """Well-known journal entry kinds (any snake_case string is accepted)."""

    CONDITION_HIT = "condition_hit"
    CONDITION_EXIT = "condition_exit"
    DENIAL = "denial"
    STATE_CHANGE = "state_change"
    RECONNECT = "reconnect"
    ORDER_UNKNOWN = "order_unknown"
    RECONCILE = "reconcile"
    POSITION_ADJUSTED = "position_adjusted"
    STORE = "store"


@dataclass(frozen=True, slots=True)
class Fill:
    """One broker fill to apply; `(trade date of time, order_no, fill_no)` identifies it."""

    intent_id: str
    order_no: str
    fill_no: str
    code: str
    side: Side
    qty: int
    price: int
    fee: int
    tax: int
    time: datetime
    source: FillSource


@dataclass(frozen=True, slots=True)
class FillRow:
    """A recorded fill with the strategy it was booked to and the P&L it realized."""

    trade_date: date
    order_no: str
    fill_no: str
    intent_id: str
    strategy: str
    code: str
    side: Side
    qty: int
    price: int
    fee: int
    tax: int
    realized_pnl: int
    time: datetime
    source: FillSource


@dataclass(frozen=True, slots=True)
class PositionRow:
    """A position per strategy and code under the average-cost method (see `bot.store.pnl`)."""

    strategy: str
    code: str
    qty: int  # negative only if more was sold than the journal knew was held
    cost_basis: int  # signed KRW cost of the open quantity
    avg_price: int  # |cost_basis| / |qty| rounded half up; 0 when flat
    realized_pnl: int  # net of every fee and tax booked to this strategy and code
    fees: int
    taxes: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TradingStateRecord:
    """The kill switch as persisted; `version` grows by one on every change, for cheap polling."""

    state: TradingState
    reason: str
    changed_at: datetime | None  # None until the first change after the journal was created
    changed_by: str
    version: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One row of the append-only event journal."""

    id: int
    time: datetime
    kind: str
    strategy: str
    code: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IntentEvent:
    """One recorded change of an intent: creation, state change, order number or fill."""

    id: int
    intent_id: str
    time: datetime
    kind: str  # created | state | fill | adopted
    from_state: IntentState | None
    to_state: IntentState
    order_no: str
    detail: str


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An intent as the operator sees it: the domain record plus when it last changed."""

    intent: IntentRecord
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DailyPnl:
    """Realized P&L of one strategy on one trading day, from its fills (net of fees and taxes)."""

    trade_date: date
    strategy: str
    realized_pnl: int
    fees: int
    taxes: int
    buy_amount: int
    sell_amount: int
    fills: int


@dataclass(frozen=True, slots=True)
class StoredReport:
    """An end-of-day report as stored: its day, when and by whom it was made, and its JSON body."""

    trade_date: date
    created_at: datetime
    source: str  # who made it, e.g. "daemon"
    body: dict[str, Any] = field(default_factory=dict)
