"""The journal's schema as forward migrations, and the runner that applies them.

`PRAGMA user_version` holds the number of migrations applied. Each migration is a SQL script; the
runner applies the missing ones in order, each inside its own `BEGIN IMMEDIATE` transaction together
with the version bump, so a failed migration leaves the file exactly at the previous version. A file
whose version is newer than this code is refused with `SchemaMismatch`: old code must never write
a journal it does not understand. Never edit a released migration; append a new one.

Conventions: STRICT tables; money and quantities INTEGER KRW/shares; instants TEXT ISO-8601 in KST
(`bot.store.codec`); `trade_date` TEXT `YYYY-MM-DD` (KST) because Kiwoom order numbers restart every
trading day, so uniqueness of order and fill numbers is per day. History tables are append-only,
enforced by triggers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import aiosqlite
import anyio
import structlog

from bot.store.errors import SchemaMismatch

log = structlog.get_logger(__name__)

V1_CORE = """
CREATE TABLE intents (
    intent_id     TEXT PRIMARY KEY,
    strategy      TEXT NOT NULL,
    code          TEXT NOT NULL,
    side          TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    qty           INTEGER NOT NULL CHECK (qty > 0),
    order_type    TEXT NOT NULL,
    price         INTEGER NOT NULL CHECK (price >= 0),
    venue         TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    is_exit       INTEGER NOT NULL DEFAULT 0 CHECK (is_exit IN (0, 1)),
    state         TEXT NOT NULL,
    order_no      TEXT NOT NULL DEFAULT '',
    filled_qty    INTEGER NOT NULL DEFAULT 0 CHECK (filled_qty >= 0 AND filled_qty <= qty),
    filled_amount INTEGER NOT NULL DEFAULT 0 CHECK (filled_amount >= 0),
    fee           INTEGER NOT NULL DEFAULT 0 CHECK (fee >= 0),
    tax           INTEGER NOT NULL DEFAULT 0 CHECK (tax >= 0),
    external      INTEGER NOT NULL DEFAULT 0 CHECK (external IN (0, 1)),
    trade_date    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX intents_order_no ON intents (trade_date, order_no) WHERE order_no <> '';
CREATE INDEX intents_state ON intents (state);

CREATE TABLE intent_events (
    id          INTEGER PRIMARY KEY,
    intent_id   TEXT NOT NULL REFERENCES intents (intent_id),
    time        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    order_no    TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX intent_events_intent ON intent_events (intent_id, id);

CREATE TABLE fills (
    id            INTEGER PRIMARY KEY,
    trade_date    TEXT NOT NULL,
    order_no      TEXT NOT NULL CHECK (order_no <> ''),
    fill_no       TEXT NOT NULL CHECK (fill_no <> ''),
    intent_id     TEXT NOT NULL REFERENCES intents (intent_id),
    strategy      TEXT NOT NULL,
    code          TEXT NOT NULL,
    side          TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    qty           INTEGER NOT NULL CHECK (qty > 0),
    price         INTEGER NOT NULL CHECK (price >= 0),
    fee           INTEGER NOT NULL CHECK (fee >= 0),
    tax           INTEGER NOT NULL CHECK (tax >= 0),
    realized_pnl  INTEGER NOT NULL,
    time          TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('ws', 'rest', 'local')),
    UNIQUE (trade_date, order_no, fill_no)
) STRICT;

CREATE INDEX fills_intent ON fills (intent_id);

CREATE TABLE positions (
    strategy      TEXT NOT NULL,
    code          TEXT NOT NULL,
    qty           INTEGER NOT NULL DEFAULT 0,
    cost_basis    INTEGER NOT NULL DEFAULT 0,
    avg_price     INTEGER NOT NULL DEFAULT 0 CHECK (avg_price >= 0),
    realized_pnl  INTEGER NOT NULL DEFAULT 0,
    fees          INTEGER NOT NULL DEFAULT 0 CHECK (fees >= 0),
    taxes         INTEGER NOT NULL DEFAULT 0 CHECK (taxes >= 0),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (strategy, code)
) STRICT;

CREATE TABLE trading_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    state       TEXT NOT NULL CHECK (state IN ('ACTIVE', 'REDUCING', 'HALTED')),
    reason      TEXT NOT NULL,
    changed_at  TEXT,
    changed_by  TEXT NOT NULL,
    version     INTEGER NOT NULL
) STRICT;

INSERT INTO trading_state (id, state, reason, changed_at, changed_by, version)
VALUES (1, 'ACTIVE', 'new journal', NULL, 'schema', 0);

CREATE TABLE journal (
    id        INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    strategy  TEXT NOT NULL DEFAULT '',
    code      TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT '{}'
) STRICT;

CREATE TRIGGER intent_events_append_only_u BEFORE UPDATE ON intent_events
BEGIN SELECT RAISE(ABORT, 'intent_events is append-only'); END;
CREATE TRIGGER intent_events_append_only_d BEFORE DELETE ON intent_events
BEGIN SELECT RAISE(ABORT, 'intent_events is append-only'); END;
CREATE TRIGGER fills_append_only_u BEFORE UPDATE ON fills
BEGIN SELECT RAISE(ABORT, 'fills is append-only'); END;
CREATE TRIGGER fills_append_only_d BEFORE DELETE ON fills
BEGIN SELECT RAISE(ABORT, 'fills is append-only'); END;
CREATE TRIGGER journal_append_only_u BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
CREATE TRIGGER journal_append_only_d BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only'); END;
"""

V2_REPORTING = """
-- Realized P&L per KST trading day and strategy, from the fills (net of fees and taxes).
CREATE VIEW daily_pnl AS
SELECT trade_date,
       strategy,
       SUM(realized_pnl)                                      AS realized_pnl,
       SUM(fee)                                               AS fees,
       SUM(tax)                                               AS taxes,
       SUM(CASE side WHEN 'buy' THEN qty * price ELSE 0 END)  AS buy_amount,
       SUM(CASE side WHEN 'sell' THEN qty * price ELSE 0 END) AS sell_amount,
       COUNT(*)                                               AS fills
FROM fills
GROUP BY trade_date, strategy;

CREATE INDEX fills_trade_date ON fills (trade_date);
CREATE INDEX intents_trade_date ON intents (trade_date, created_at);
CREATE INDEX journal_time ON journal (time);
CREATE INDEX journal_kind ON journal (kind, time);
"""

V3_DAILY_REPORTS = """
-- The end-of-day report, one per KST trading day (a rebuild replaces it), as a JSON document.
CREATE TABLE daily_reports (
    trade_date  TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    source      TEXT NOT NULL,
    body        TEXT NOT NULL
) STRICT;
"""

MIGRATIONS: tuple[str, ...] = (V1_CORE, V2_REPORTING, V3_DAILY_REPORTS)
"""Migration `n` (1-based) takes a file from version `n - 1` to version `n`."""

SCHEMA_VERSION = len(MIGRATIONS)


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (trigger bodies stay whole)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    leftover = "\n".join(ln for ln in buffer.splitlines() if not ln.strip().startswith("--")).strip()
    if leftover:
        raise ValueError(f"migration ends with an incomplete SQL statement: {leftover[:80]!r}")
    return statements


async def read_user_version(conn: aiosqlite.Connection) -> int:
    """The schema version stored in the file header."""
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


def check_version(version: int, *, path: str, latest: int = SCHEMA_VERSION) -> None:
    """Refuse a file written by newer code, naming both versions."""
    if version > latest:
        raise SchemaMismatch(
            f"journal {path} has schema version {version}, newer than this code's {latest}; "
            "upgrade kiwoom-bot or point it at another journal"
        )


async def migrate(
    conn: aiosqlite.Connection,
    *,
    path: str = "",
    target: int | None = None,
    migrations: Sequence[str] = MIGRATIONS,
) -> int:
    """Bring the file up to `target` (default: the latest) and return the version it ends at.

    `conn` must be in autocommit mode (`isolation_level=None`).
    """
    goal = len(migrations) if target is None else target
    version = await read_user_version(conn)
    check_version(version, path=path, latest=len(migrations))
    for number in range(version + 1, goal + 1):
        await conn.execute("BEGIN IMMEDIATE")
        try:
            current = await read_user_version(conn)  # another process may have migrated meanwhile
            if current < number:
                for statement in split_statements(migrations[number - 1]):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {number:d}")
            await conn.execute("COMMIT")
        except BaseException:
            await rollback_quietly(conn)
            raise
        log.info("store_migrated", path=path, version=number)
    return max(version, goal)


async def rollback_quietly(conn: aiosqlite.Connection) -> None:
    """Roll back the open transaction (shielded from cancellation), unless SQLite already did."""
    with anyio.CancelScope(shield=True):
        try:
            await conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # "no transaction is active": SQLite rolled back by itself (e.g. after SQLITE_FULL)
