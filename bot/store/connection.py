"""Opening the journal's SQLite connections with the PRAGMAs durability depends on.

The writer connection runs in WAL mode with `synchronous=FULL` (a commit is on disk before it
returns: R12), `foreign_keys=ON` and a `busy_timeout`, in autocommit mode so transactions are
explicit (`BEGIN IMMEDIATE` … `COMMIT`). Readers open the file read-only (`mode=ro`, `query_only`)
so `kiwoom-bot status` works while the daemon writes (WAL readers never block the writer).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import aiosqlite
import anyio
import anyio.to_thread

from bot.store.errors import SchemaMismatch, StoreFailed
from bot.store.schema import SCHEMA_VERSION, check_version, migrate, read_user_version

MIN_SQLITE = (3, 37, 0)  # STRICT tables
DEFAULT_BUSY_TIMEOUT_MS = 5000


def describe(exc: BaseException) -> str:
    """A short description of a SQLite error with its result-code name (e.g. `SQLITE_FULL`)."""
    name = getattr(exc, "sqlite_errorname", None)
    return f"{name}: {exc}" if name else f"{type(exc).__name__}: {exc}"


def _check_sqlite() -> None:
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        wanted = ".".join(map(str, MIN_SQLITE))
        raise StoreFailed(f"SQLite {sqlite3.sqlite_version} is too old; the journal needs {wanted} or newer")


def _create_private(path: Path) -> None:
    """Create the journal file readable by its owner only (SQLite gives -wal/-shm the same mode)."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


async def _pragma(conn: aiosqlite.Connection, statement: str) -> object:
    rows = list(await conn.execute_fetchall(f"PRAGMA {statement}"))
    return rows[0][0] if rows else None


async def _close_quietly(conn: aiosqlite.Connection) -> None:
    with anyio.CancelScope(shield=True):
        try:
            await conn.close()
        except sqlite3.Error:
            pass


async def open_write_connection(
    path: Path, *, migrate_schema: bool = True, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
) -> aiosqlite.Connection:
    """Open (creating it 0600 if missing) and migrate the journal for writing.

    With `migrate_schema=False` (the operator CLI) the file must already be at this code's version.
    """
    _check_sqlite()
    try:
        await anyio.to_thread.run_sync(_create_private, path)
    except OSError as exc:
        raise StoreFailed(f"cannot create journal {path}: {exc}") from exc
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise StoreFailed(f"cannot open journal {path}: {describe(exc)}") from exc
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
        mode = await _pragma(conn, "journal_mode = WAL")
        if str(mode).lower() != "wal":
            raise StoreFailed(f"journal {path} refused WAL mode (journal_mode={mode})")
        await conn.execute("PRAGMA synchronous = FULL")
        await conn.execute("PRAGMA foreign_keys = ON")
        if await _pragma(conn, "synchronous") != 2 or await _pragma(conn, "foreign_keys") != 1:
            raise StoreFailed(f"journal {path} did not accept synchronous=FULL and foreign_keys=ON")
        if migrate_schema:
            await migrate(conn, path=str(path))
        else:
            await _require_current(conn, path)
    except BaseException as exc:
        await _close_quietly(conn)
        if isinstance(exc, sqlite3.Error):
            raise StoreFailed(f"cannot prepare journal {path}: {describe(exc)}") from exc
        raise
    return conn


async def open_read_connection(
    path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
) -> aiosqlite.Connection:
    """Open an existing journal read-only; it must be at exactly this code's schema version."""
    _check_sqlite()
    if not await anyio.Path(path).is_file():
        raise StoreFailed(f"no journal at {path}")
    uri = f"{(await anyio.Path(path).resolve()).as_uri()}?mode=ro"
    try:
        conn = await aiosqlite.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        raise StoreFailed(f"cannot open journal {path} for reading: {describe(exc)}") from exc
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms):d}")
        await conn.execute("PRAGMA query_only = ON")
        await _require_current(conn, path)
    except BaseException as exc:
        await _close_quietly(conn)
        if isinstance(exc, sqlite3.Error):
            raise StoreFailed(f"cannot read journal {path}: {describe(exc)}") from exc
        raise
    return conn


async def _require_current(conn: aiosqlite.Connection, path: Path) -> None:
    version = await read_user_version(conn)
    check_version(version, path=str(path))
    if version < SCHEMA_VERSION:
        raise SchemaMismatch(
            f"journal {path} has schema version {version}, older than this code's {SCHEMA_VERSION}; "
            "start the daemon once to migrate it"
        )
