"""The bodies of the writer's transactions: each runs inside a transaction the writer opened.

Each function takes the write connection and values already validated and encoded by `Store`
(instants as KST text, details as JSON). A `JournalConflict` raised here makes the writer roll back
this command only; any other error fails the whole transaction (see `bot.store.writer`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import aiosqlite

from bot.domain.orders import IntentRecord, IntentState
from bot.domain.values import TradingState
from bot.store.codec import encode_detail
from bot.store.errors import DuplicateIntent, FillConflict, Overfill, UnknownIntent
from bot.store.models import EXTERNAL_STRATEGY, Fill, PositionRow, TradingStateRecord
from bot.store.pnl import Holding, apply_trade
from bot.store.rows import FILL_COLUMNS, POSITION_COLUMNS, position_from_row, trading_state_from_row


@dataclass(frozen=True, slots=True)
class EncodedJournal:
    """A journal row ready to insert."""

    time: str
    kind: str
    strategy: str
    code: str
    detail: str


async def _one(conn: aiosqlite.Connection, sql: str, params: tuple[object, ...]) -> sqlite3.Row | None:
    rows = list(await conn.execute_fetchall(sql, params))
    return rows[0] if rows else None


async def _event(
    conn: aiosqlite.Connection,
    intent_id: str,
    time: str,
    kind: str,
    from_state: str | None,
    to_state: str,
    order_no: str,
    detail: str,
) -> None:
    await conn.execute(
        "INSERT INTO intent_events (intent_id, time, kind, from_state, to_state, order_no, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (intent_id, time, kind, from_state, to_state, order_no, detail),
    )


async def insert_journal(conn: aiosqlite.Connection, entry: EncodedJournal) -> None:
    """Append one journal row."""
    await conn.execute(
        "INSERT INTO journal (time, kind, strategy, code, detail) VALUES (?, ?, ?, ?, ?)",
        (entry.time, entry.kind, entry.strategy, entry.code, entry.detail),
    )


async def insert_intent(conn: aiosqlite.Connection, rec: IntentRecord, created: str, trade_date: str) -> None:
    """Record a new intent and its creation event."""
    cmd = rec.command
    try:
        await conn.execute(
            "INSERT INTO intents (intent_id, strategy, code, side, qty, order_type, price, venue, reason, "
            "is_exit, state, order_no, external, trade_date, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rec.intent_id,
                cmd.strategy,
                cmd.code,
                cmd.side.value,
                cmd.qty,
                cmd.order_type.value,
                cmd.price,
                cmd.venue.value,
                cmd.reason,
                int(cmd.is_exit),
                rec.state.value,
                rec.order_no,
                int(rec.external),
                trade_date,
                created,
                created,
            ),
        )
    except sqlite3.IntegrityError as exc:
        if "order_no" in str(exc):
            raise DuplicateIntent(
                f"order number {rec.order_no} is already recorded for {trade_date}"
            ) from exc
        raise DuplicateIntent(f"intent {rec.intent_id} is already recorded") from exc
    await _event(conn, rec.intent_id, created, "created", None, rec.state.value, rec.order_no, cmd.reason)


async def transition_intent(
    conn: aiosqlite.Connection,
    intent_id: str,
    new_state: IntentState,
    time: str,
    order_no: str | None,
    detail: str,
) -> None:
    """Set an intent's state (and order number) and record the change in `intent_events`."""
    row = await _one(
        conn, "SELECT state, order_no, trade_date FROM intents WHERE intent_id = ?", (intent_id,)
    )
    if row is None:
        raise UnknownIntent(f"no intent {intent_id} to move to {new_state.value}")
    new_order_no = row["order_no"] if order_no is None else order_no
    try:
        await conn.execute(
            "UPDATE intents SET state = ?, order_no = ?, updated_at = ? WHERE intent_id = ?",
            (new_state.value, new_order_no, time, intent_id),
        )
    except sqlite3.IntegrityError as exc:
        raise DuplicateIntent(
            f"order number {new_order_no} already belongs to another intent on {row['trade_date']}"
        ) from exc
    if new_order_no != row["order_no"] and row["order_no"]:
        detail = f"{detail} (order number {row['order_no']} -> {new_order_no})".strip()
    await _event(conn, intent_id, time, "state", row["state"], new_state.value, new_order_no, detail)


async def apply_fill(
    conn: aiosqlite.Connection, fill: Fill, new_state: IntentState | None, time: str, trade_date: str
) -> bool:
    """Record a fill once and update its intent and position; False if it was already recorded."""
    seen = await _one(
        conn,
        "SELECT intent_id, code, side, qty, price FROM fills "
        "WHERE trade_date = ? AND order_no = ? AND fill_no = ?",
        (trade_date, fill.order_no, fill.fill_no),
    )
    if seen is not None:
        same = (seen["intent_id"], seen["code"], seen["side"], seen["qty"], seen["price"]) == (
            fill.intent_id,
            fill.code,
            fill.side.value,
            fill.qty,
            fill.price,
        )
        if not same:
            raise FillConflict(
                f"fill {fill.order_no}/{fill.fill_no} on {trade_date} is recorded as {seen['qty']}@"
                f"{seen['price']} for {seen['intent_id']}, now reported as {fill.qty}@{fill.price} "
                f"for {fill.intent_id}"
            )
        return False
    intent = await _one(
        conn,
        "SELECT strategy, code, side, qty, filled_qty, state, external FROM intents WHERE intent_id = ?",
        (fill.intent_id,),
    )
    if intent is None:
        raise UnknownIntent(f"fill {fill.order_no}/{fill.fill_no} names unknown intent {fill.intent_id}")
    if (intent["code"], intent["side"]) != (fill.code, fill.side.value):
        raise FillConflict(
            f"fill {fill.order_no}/{fill.fill_no} is {fill.side.value} {fill.code} but intent "
            f"{fill.intent_id} is {intent['side']} {intent['code']}"
        )
    if intent["filled_qty"] + fill.qty > intent["qty"]:
        raise Overfill(
            f"fill {fill.order_no}/{fill.fill_no} of {fill.qty} would bring intent {fill.intent_id} to "
            f"{intent['filled_qty'] + fill.qty} filled of {intent['qty']} ordered"
        )
    strategy = EXTERNAL_STRATEGY if intent["external"] else intent["strategy"]
    pos = await _one(
        conn, "SELECT qty, cost_basis FROM positions WHERE strategy = ? AND code = ?", (strategy, fill.code)
    )
    before = Holding(int(pos["qty"]), int(pos["cost_basis"])) if pos is not None else Holding()
    after, realized = apply_trade(before, fill.side, fill.qty, fill.price, fill.fee, fill.tax)
    await conn.execute(
        f"INSERT INTO fills ({FILL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            trade_date,
            fill.order_no,
            fill.fill_no,
            fill.intent_id,
            strategy,
            fill.code,
            fill.side.value,
            fill.qty,
            fill.price,
            fill.fee,
            fill.tax,
            realized,
            time,
            fill.source.value,
        ),
    )
    state = intent["state"] if new_state is None else new_state.value
    await conn.execute(
        "UPDATE intents SET filled_qty = filled_qty + ?, filled_amount = filled_amount + ?, fee = fee + ?, "
        "tax = tax + ?, state = ?, updated_at = ? WHERE intent_id = ?",
        (fill.qty, fill.qty * fill.price, fill.fee, fill.tax, state, time, fill.intent_id),
    )
    await _upsert_position(conn, strategy, fill.code, after, realized, fill.fee, fill.tax, time)
    detail = (
        f"fill {fill.fill_no}: {fill.side.value} {fill.qty}@{fill.price} fee {fill.fee} tax {fill.tax} "
        f"realized {realized} via {fill.source.value}"
    )
    await _event(conn, fill.intent_id, time, "fill", intent["state"], state, fill.order_no, detail)
    return True


async def _upsert_position(
    conn: aiosqlite.Connection,
    strategy: str,
    code: str,
    holding: Holding,
    realized: int,
    fee: int,
    tax: int,
    time: str,
) -> None:
    await conn.execute(
        "INSERT INTO positions (strategy, code, qty, cost_basis, avg_price, realized_pnl, fees, taxes, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (strategy, code) DO UPDATE SET qty = excluded.qty, cost_basis = excluded.cost_basis, "
        "avg_price = excluded.avg_price, realized_pnl = positions.realized_pnl + excluded.realized_pnl, "
        "fees = positions.fees + excluded.fees, taxes = positions.taxes + excluded.taxes, "
        "updated_at = excluded.updated_at",
        (strategy, code, holding.qty, holding.cost_basis, holding.avg_price, realized, fee, tax, time),
    )


async def adjust_position(
    conn: aiosqlite.Connection, strategy: str, code: str, qty: int, avg_price: int, time: str, reason: str
) -> PositionRow:
    """Set a position's quantity and average price (reconciliation), journaling before and after."""
    select = f"SELECT {POSITION_COLUMNS} FROM positions WHERE strategy = ? AND code = ?"
    before = await _one(conn, select, (strategy, code))
    holding = Holding(qty, qty * avg_price)
    await conn.execute(
        "INSERT INTO positions (strategy, code, qty, cost_basis, avg_price, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (strategy, code) DO UPDATE SET qty = excluded.qty, "
        "cost_basis = excluded.cost_basis, avg_price = excluded.avg_price, updated_at = excluded.updated_at",
        (strategy, code, holding.qty, holding.cost_basis, holding.avg_price, time),
    )
    detail = {
        "reason": reason,
        "before": {"qty": before["qty"], "avg_price": before["avg_price"]} if before is not None else None,
        "after": {"qty": holding.qty, "avg_price": holding.avg_price},
    }
    await insert_journal(
        conn, EncodedJournal(time, "position_adjusted", strategy, code, encode_detail(detail))
    )
    after = await _one(conn, select, (strategy, code))
    if after is None:  # pragma: no cover - just written in this transaction
        raise RuntimeError(f"position {strategy}/{code} vanished inside its own transaction")
    return position_from_row(after)


async def set_trading_state(
    conn: aiosqlite.Connection, state: TradingState, reason: str, by: str, time: str
) -> TradingStateRecord:
    """Change the kill switch, bump its version and journal the change, in one transaction."""
    select = "SELECT state, reason, changed_at, changed_by, version FROM trading_state WHERE id = 1"
    previous = await _one(conn, select, ())
    await conn.execute(
        "INSERT INTO trading_state (id, state, reason, changed_at, changed_by, version) "
        "VALUES (1, ?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
        "reason = excluded.reason, changed_at = excluded.changed_at, changed_by = excluded.changed_by, "
        "version = trading_state.version + 1",
        (state.value, reason, time, by),
    )
    row = await _one(conn, select, ())
    if row is None:  # pragma: no cover - just written in this transaction
        raise RuntimeError("trading_state vanished inside its own transaction")
    record = trading_state_from_row(row)
    detail = {
        "state": record.state.value,
        "previous": previous["state"] if previous is not None else None,
        "reason": reason,
        "by": by,
        "version": record.version,
    }
    await insert_journal(conn, EncodedJournal(time, "state_change", "", "", encode_detail(detail)))
    return record


async def upsert_report(
    conn: aiosqlite.Connection, trade_date: str, created: str, source: str, body: str
) -> None:
    """Store a day's report, replacing the one made before for the same day."""
    await conn.execute(
        "INSERT INTO daily_reports (trade_date, created_at, source, body) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (trade_date) DO UPDATE SET created_at = excluded.created_at, "
        "source = excluded.source, body = excluded.body",
        (trade_date, created, source, body),
    )
