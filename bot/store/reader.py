"""Read queries over the journal, on a read-only connection of their own.

`JournalQueries` holds the queries the daemon and the operator CLI share; `StoreReader` opens a
journal read-only for the CLI (`kiwoom-bot status/orders/positions/pnl`), which works while the
daemon is writing because WAL readers never block the writer. Each query is a single SQL statement,
so it sees one consistent snapshot even while the writer commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path

import aiosqlite
import anyio

from bot.domain.orders import IntentRecord, IntentState
from bot.store.codec import format_date, format_time
from bot.store.connection import DEFAULT_BUSY_TIMEOUT_MS, describe, open_read_connection
from bot.store.errors import StoreFailed
from bot.store.models import (
    DailyPnl,
    FillRow,
    IntentEvent,
    JournalEntry,
    OrderRow,
    PositionRow,
    StoredReport,
    TradingStateRecord,
)
from bot.store.rows import (
    FILL_COLUMNS,
    INTENT_COLUMNS,
    POSITION_COLUMNS,
    daily_from_row,
    event_from_row,
    fill_from_row,
    intent_from_row,
    journal_from_row,
    order_from_row,
    position_from_row,
    report_from_row,
    trading_state_from_row,
)

_WORKING = tuple(state.value for state in IntentState if state.is_working)
_FILL_SEPARATOR = "\x1f"
_INTENTS_WITH_FILLS = (
    f"SELECT {INTENT_COLUMNS}, (SELECT group_concat(f.fill_no, char(31)) FROM fills AS f "
    "WHERE f.intent_id = intents.intent_id) AS fill_nos FROM intents"
)


def _fill_nos(row: sqlite3.Row) -> list[str]:
    text = row["fill_nos"]
    return text.split(_FILL_SEPARATOR) if text else []


class JournalQueries:
    """Queries over a journal connection; the base of both `Store` and `StoreReader`."""

    def __init__(self, read_conn: aiosqlite.Connection, path: Path) -> None:
        self._read_conn = read_conn
        self.path = path

    async def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        try:
            return list(await self._read_conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreFailed(f"reading journal {self.path} failed: {describe(exc)}") from exc

    async def read_trading_state(self) -> TradingStateRecord:
        """The persisted kill switch; cheap enough to poll every second (compare `version`)."""
        rows = await self._rows(
            "SELECT state, reason, changed_at, changed_by, version FROM trading_state WHERE id = 1"
        )
        if not rows:
            raise StoreFailed(f"journal {self.path} has no trading_state row; the schema is damaged")
        return trading_state_from_row(rows[0])

    async def get_intent(self, intent_id: str) -> IntentRecord | None:
        """One intent by id, with the fill numbers applied to it."""
        rows = await self._rows(f"{_INTENTS_WITH_FILLS} WHERE intent_id = ?", (intent_id,))
        return intent_from_row(rows[0], _fill_nos(rows[0])) if rows else None

    async def load_working_intents(self) -> list[IntentRecord]:
        """Every intent that may still trade at the broker (startup recovery input), oldest first."""
        marks = ", ".join("?" for _ in _WORKING)
        rows = await self._rows(
            f"{_INTENTS_WITH_FILLS} WHERE state IN ({marks}) ORDER BY created_at, intent_id", _WORKING
        )
        return [intent_from_row(row, _fill_nos(row)) for row in rows]

    async def find_intent_by_order_no(self, order_no: str, *, trade_date: date) -> IntentRecord | None:
        """The intent that owns a broker order number on a KST trading day (numbers restart daily)."""
        rows = await self._rows(
            f"{_INTENTS_WITH_FILLS} WHERE trade_date = ? AND order_no = ?",
            (format_date(trade_date), order_no),
        )
        return intent_from_row(rows[0], _fill_nos(rows[0])) if rows else None

    async def orders(self, *, trade_date: date | None = None, working_only: bool = False) -> list[OrderRow]:
        """Intents for the operator: of one trading day and/or only working ones, oldest first."""
        where: list[str] = []
        params: list[object] = []
        if trade_date is not None:
            where.append("trade_date = ?")
            params.append(format_date(trade_date))
        if working_only:
            where.append(f"state IN ({', '.join('?' for _ in _WORKING)})")
            params.extend(_WORKING)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._rows(
            f"{_INTENTS_WITH_FILLS}{clause} ORDER BY created_at, intent_id", tuple(params)
        )
        return [order_from_row(row, _fill_nos(row)) for row in rows]

    async def intent_events(self, intent_id: str) -> list[IntentEvent]:
        """The full recorded history of one intent, in the order it happened."""
        rows = await self._rows(
            "SELECT id, intent_id, time, kind, from_state, to_state, order_no, detail FROM intent_events "
            "WHERE intent_id = ? ORDER BY id",
            (intent_id,),
        )
        return [event_from_row(row) for row in rows]

    async def fills(self, *, trade_date: date | None = None, intent_id: str | None = None) -> list[FillRow]:
        """Recorded fills, optionally of one trading day and/or one intent, in recording order."""
        where: list[str] = []
        params: list[object] = []
        if trade_date is not None:
            where.append("trade_date = ?")
            params.append(format_date(trade_date))
        if intent_id is not None:
            where.append("intent_id = ?")
            params.append(intent_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._rows(f"SELECT {FILL_COLUMNS} FROM fills{clause} ORDER BY id", tuple(params))
        return [fill_from_row(row) for row in rows]

    async def positions(self, *, include_flat: bool = False) -> list[PositionRow]:
        """Positions per strategy and code (the `_external` strategy holds orders the bot did not place)."""
        clause = "" if include_flat else " WHERE qty <> 0"
        rows = await self._rows(f"SELECT {POSITION_COLUMNS} FROM positions{clause} ORDER BY strategy, code")
        return [position_from_row(row) for row in rows]

    async def position(self, strategy: str, code: str) -> PositionRow | None:
        """One position, flat or not; None if the strategy never traded the code."""
        rows = await self._rows(
            f"SELECT {POSITION_COLUMNS} FROM positions WHERE strategy = ? AND code = ?", (strategy, code)
        )
        return position_from_row(rows[0]) if rows else None

    async def daily_pnl(self, *, start: date | None = None, end: date | None = None) -> list[DailyPnl]:
        """Realized P&L per KST trading day and strategy between `start` and `end` (inclusive)."""
        rows = await self._rows(
            "SELECT trade_date, strategy, realized_pnl, fees, taxes, buy_amount, sell_amount, fills "
            "FROM daily_pnl WHERE trade_date >= ? AND trade_date <= ? ORDER BY trade_date, strategy",
            (format_date(start) if start else "0000-00-00", format_date(end) if end else "9999-99-99"),
        )
        return [daily_from_row(row) for row in rows]

    async def journal(
        self, *, kind: str | None = None, since: datetime | None = None, limit: int = 200
    ) -> list[JournalEntry]:
        """The newest `limit` journal entries (optionally of one kind, at or after `since`), oldest first."""
        where: list[str] = []
        params: list[object] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if since is not None:
            where.append("time >= ?")
            params.append(format_time(since, field="since"))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._rows(
            f"SELECT id, time, kind, strategy, code, detail FROM journal{clause} ORDER BY id DESC LIMIT ?",
            (*params, int(limit)),
        )
        return [journal_from_row(row) for row in reversed(rows)]

    async def journal_of_day(self, trade_date: date, *, kinds: tuple[str, ...] = ()) -> list[JournalEntry]:
        """Every journal entry of one KST trading day (optionally of some kinds only), oldest first."""
        day = format_date(trade_date)
        where = "time >= ? AND time < ?"
        params: list[object] = [day, f"{day}U"]  # 'U' sorts after the 'T' of every instant that day
        if kinds:
            where += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            params.extend(kinds)
        rows = await self._rows(
            f"SELECT id, time, kind, strategy, code, detail FROM journal WHERE {where} ORDER BY id",
            tuple(params),
        )
        return [journal_from_row(row) for row in rows]

    async def daily_report(self, trade_date: date) -> StoredReport | None:
        """The stored end-of-day report of one KST trading day, if one was made."""
        rows = await self._rows(
            "SELECT trade_date, created_at, source, body FROM daily_reports WHERE trade_date = ?",
            (format_date(trade_date),),
        )
        return report_from_row(rows[0]) if rows else None


class StoreReader(JournalQueries):
    """A read-only view of a journal for the operator CLI; safe while the daemon runs."""

    @classmethod
    @asynccontextmanager
    async def open(
        cls, path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> AsyncIterator[StoreReader]:
        """Open `path` read-only (it must exist and be at this code's schema version)."""
        journal_path = Path(path)
        conn = await open_read_connection(journal_path, busy_timeout_ms=busy_timeout_ms)
        try:
            yield cls(conn, journal_path)
        finally:
            with anyio.CancelScope(shield=True):
                await conn.close()
