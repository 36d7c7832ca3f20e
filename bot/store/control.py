"""Operator-side writes that must work while the daemon runs: the kill switch.

`kiwoom-bot kill` / `resume` change the persisted trading state through a short-lived connection of
their own (WAL lets it commit between the daemon's transactions; `busy_timeout` waits out a commit
in progress). The daemon notices within a second by polling `Store.read_trading_state()` and
comparing `version`. This is the only write that does not go through the daemon's writer task.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import anyio

from bot.domain.values import TradingState
from bot.store import writes
from bot.store.codec import format_time
from bot.store.connection import DEFAULT_BUSY_TIMEOUT_MS, describe, open_write_connection
from bot.store.errors import StoreFailed
from bot.store.models import TradingStateRecord
from bot.store.schema import rollback_quietly


async def change_trading_state(
    path: str | Path,
    state: TradingState,
    reason: str,
    by: str,
    *,
    time: datetime,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
) -> TradingStateRecord:
    """Set the trading state in the journal at `path` (which must exist) and return the new record."""
    if not by:
        raise ValueError("changed_by must name who changed the state")
    new_state = TradingState(state)
    when = format_time(time)
    journal_path = Path(path)
    if not await anyio.Path(journal_path).is_file():
        raise StoreFailed(f"no journal at {journal_path}")
    conn = await open_write_connection(journal_path, migrate_schema=False, busy_timeout_ms=busy_timeout_ms)
    try:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            record = await writes.set_trading_state(conn, new_state, reason, by, when)
            await conn.execute("COMMIT")
        except BaseException:
            await rollback_quietly(conn)
            raise
    except sqlite3.Error as exc:
        raise StoreFailed(f"changing the trading state in {journal_path} failed: {describe(exc)}") from exc
    finally:
        with anyio.CancelScope(shield=True):
            await conn.close()
    return record
