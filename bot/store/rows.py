"""Turning stored rows into records (one function per table)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from bot.domain.orders import IntentRecord, IntentState, SubmitOrder
from bot.domain.values import OrderType, Side, TradingState, Venue
from bot.store.codec import decode_detail, parse_date, parse_time
from bot.store.models import (
    DailyPnl,
    FillRow,
    FillSource,
    IntentEvent,
    JournalEntry,
    OrderRow,
    PositionRow,
    StoredReport,
    TradingStateRecord,
)

INTENT_COLUMNS = (
    "intent_id, strategy, code, side, qty, order_type, price, venue, reason, is_exit, state, order_no, "
    "filled_qty, filled_amount, fee, tax, external, trade_date, created_at, updated_at"
)
FILL_COLUMNS = (
    "trade_date, order_no, fill_no, intent_id, strategy, code, side, qty, price, fee, tax, realized_pnl, "
    "time, source"
)
POSITION_COLUMNS = "strategy, code, qty, cost_basis, avg_price, realized_pnl, fees, taxes, updated_at"


def intent_from_row(row: sqlite3.Row, fill_nos: Iterable[str] = ()) -> IntentRecord:
    """An `intents` row (selected with `INTENT_COLUMNS`) as the domain's `IntentRecord`."""
    command = SubmitOrder(
        strategy=row["strategy"],
        code=row["code"],
        side=Side(row["side"]),
        qty=int(row["qty"]),
        order_type=OrderType(row["order_type"]),
        price=int(row["price"]),
        venue=Venue(row["venue"]),
        reason=row["reason"],
        is_exit=bool(row["is_exit"]),
    )
    return IntentRecord(
        intent_id=row["intent_id"],
        command=command,
        state=IntentState(row["state"]),
        created_at=parse_time(row["created_at"]),
        order_no=row["order_no"],
        filled_qty=int(row["filled_qty"]),
        filled_amount=int(row["filled_amount"]),
        fee=int(row["fee"]),
        tax=int(row["tax"]),
        external=bool(row["external"]),
        fill_nos=frozenset(fill_nos),
    )


def order_from_row(row: sqlite3.Row, fill_nos: Iterable[str] = ()) -> OrderRow:
    """An `intents` row with its last-change time, for the operator."""
    return OrderRow(intent=intent_from_row(row, fill_nos), updated_at=parse_time(row["updated_at"]))


def fill_from_row(row: sqlite3.Row) -> FillRow:
    """A `fills` row (selected with `FILL_COLUMNS`)."""
    return FillRow(
        trade_date=parse_date(row["trade_date"]),
        order_no=row["order_no"],
        fill_no=row["fill_no"],
        intent_id=row["intent_id"],
        strategy=row["strategy"],
        code=row["code"],
        side=Side(row["side"]),
        qty=int(row["qty"]),
        price=int(row["price"]),
        fee=int(row["fee"]),
        tax=int(row["tax"]),
        realized_pnl=int(row["realized_pnl"]),
        time=parse_time(row["time"]),
        source=FillSource(row["source"]),
    )


def position_from_row(row: sqlite3.Row) -> PositionRow:
    """A `positions` row (selected with `POSITION_COLUMNS`)."""
    return PositionRow(
        strategy=row["strategy"],
        code=row["code"],
        qty=int(row["qty"]),
        cost_basis=int(row["cost_basis"]),
        avg_price=int(row["avg_price"]),
        realized_pnl=int(row["realized_pnl"]),
        fees=int(row["fees"]),
        taxes=int(row["taxes"]),
        updated_at=parse_time(row["updated_at"]),
    )


def trading_state_from_row(row: sqlite3.Row) -> TradingStateRecord:
    """The singleton `trading_state` row."""
    changed_at = row["changed_at"]
    return TradingStateRecord(
        state=TradingState(row["state"]),
        reason=row["reason"],
        changed_at=parse_time(changed_at) if changed_at else None,
        changed_by=row["changed_by"],
        version=int(row["version"]),
    )


def journal_from_row(row: sqlite3.Row) -> JournalEntry:
    """A `journal` row."""
    return JournalEntry(
        id=int(row["id"]),
        time=parse_time(row["time"]),
        kind=row["kind"],
        strategy=row["strategy"],
        code=row["code"],
        detail=decode_detail(row["detail"]),
    )


def event_from_row(row: sqlite3.Row) -> IntentEvent:
    """An `intent_events` row."""
    from_state = row["from_state"]
    return IntentEvent(
        id=int(row["id"]),
        intent_id=row["intent_id"],
        time=parse_time(row["time"]),
        kind=row["kind"],
        from_state=IntentState(from_state) if from_state else None,
        to_state=IntentState(row["to_state"]),
        order_no=row["order_no"],
        detail=row["detail"],
    )


def daily_from_row(row: sqlite3.Row) -> DailyPnl:
    """A `daily_pnl` view row."""
    return DailyPnl(
        trade_date=parse_date(row["trade_date"]),
        strategy=row["strategy"],
        realized_pnl=int(row["realized_pnl"]),
        fees=int(row["fees"]),
        taxes=int(row["taxes"]),
        buy_amount=int(row["buy_amount"]),
        sell_amount=int(row["sell_amount"]),
        fills=int(row["fills"]),
    )


def report_from_row(row: sqlite3.Row) -> StoredReport:
    """A `daily_reports` row."""
    return StoredReport(
        trade_date=parse_date(row["trade_date"]),
        created_at=parse_time(row["created_at"]),
        source=row["source"],
        body=decode_detail(row["body"]),
    )
