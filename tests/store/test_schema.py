"""Schema versions, forward migrations and the connection PRAGMAs."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import anyio
import pytest

from bot.clock import kst
from bot.store import SCHEMA_VERSION, SchemaMismatch, Store, StoreReader
from bot.store.connection import open_write_connection
from bot.store.schema import MIGRATIONS, V1_CORE, migrate, read_user_version, split_statements

from .helpers import raw_scalar


async def _raw(path: Path) -> aiosqlite.Connection:
    return await aiosqlite.connect(path, isolation_level=None)


@pytest.mark.anyio
async def test_new_journal_is_created_at_latest_version_with_durable_pragmas(journal_path: Path) -> None:
    """A new journal is created private, in WAL mode, fully synchronous, with foreign keys on."""
    conn = await open_write_connection(journal_path)
    try:
        assert await read_user_version(conn) == SCHEMA_VERSION == len(MIGRATIONS) == 3
        pragmas = {}
        for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"):
            pragmas[name] = next(iter(await conn.execute_fetchall(f"PRAGMA {name}")))[0]
        assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1, "busy_timeout": 5000}
    finally:
        await conn.close()
    assert (await anyio.Path(journal_path).stat()).st_mode & 0o777 == 0o600


@pytest.mark.anyio
async def test_v1_file_is_migrated_forward_and_keeps_its_rows(journal_path: Path) -> None:
    """A journal written by schema v1 is migrated to the latest version and its rows stay readable."""
    conn = await _raw(journal_path)
    try:
        assert await migrate(conn, target=1) == 1
        await conn.execute(
            "INSERT INTO intents (intent_id, strategy, code, side, qty, order_type, price, venue, state, "
            "order_no, filled_qty, filled_amount, trade_date, created_at, updated_at) VALUES "
            "('old-1', 'surge', '005930', 'buy', 10, 'limit', 70000, 'KRX', 'filled', '0000007', 10, "
            "700000, '2026-02-27', '2026-02-27T09:01:00.000000+09:00', '2026-02-27T09:01:02.000000+09:00')"
        )
        await conn.execute(
            "INSERT INTO fills (trade_date, order_no, fill_no, intent_id, strategy, code, side, qty, price, "
            "fee, tax, realized_pnl, time, source) VALUES ('2026-02-27', '0000007', '1', 'old-1', 'surge', "
            "'005930', 'buy', 10, 70000, 105, 0, -105, '2026-02-27T09:01:02.000000+09:00', 'ws')"
        )
        assert (
            await raw_scalar(journal_path, "SELECT COUNT(*) FROM sqlite_master WHERE name='daily_pnl'") == 0
        )
    finally:
        await conn.close()

    async with Store.open(journal_path) as store:
        record = await store.get_intent("old-1")
        assert record is not None and record.filled_qty == 10 and record.fill_nos == frozenset({"1"})
        (day,) = await store.daily_pnl()
        assert (day.strategy, day.realized_pnl, day.fees, day.buy_amount, day.fills) == (
            "surge",
            -105,
            105,
            700_000,
            1,
        )
    assert await raw_scalar(journal_path, "PRAGMA user_version") == SCHEMA_VERSION


@pytest.mark.anyio
async def test_journal_from_newer_code_is_refused_and_left_untouched(journal_path: Path) -> None:
    """A file whose user_version is newer than the code is refused by writer and reader alike."""
    conn = await _raw(journal_path)
    try:
        await conn.execute("PRAGMA user_version = 99")
    finally:
        await conn.close()
    with pytest.raises(SchemaMismatch, match=r"schema version 99, newer than this code's 3"):
        async with Store.open(journal_path):
            pass  # pragma: no cover - must not open
    with pytest.raises(SchemaMismatch, match="newer"):
        async with StoreReader.open(journal_path):
            pass  # pragma: no cover
    assert await raw_scalar(journal_path, "PRAGMA user_version") == 99
    assert await raw_scalar(journal_path, "SELECT COUNT(*) FROM sqlite_master") == 0


@pytest.mark.anyio
async def test_failed_migration_leaves_the_file_at_the_previous_version(journal_path: Path) -> None:
    """A migration that fails half-way is rolled back whole, version bump included."""
    broken = "CREATE TABLE half_done (x INTEGER);\nCREATE TABLE broken (;\n"
    conn = await _raw(journal_path)
    try:
        with pytest.raises(aiosqlite.OperationalError):
            await migrate(conn, migrations=(V1_CORE, broken))
        assert await read_user_version(conn) == 1
        tables = {row[0] for row in await conn.execute_fetchall("SELECT name FROM sqlite_master")}
        assert "intents" in tables and "half_done" not in tables
        assert not conn.in_transaction
    finally:
        await conn.close()


@pytest.mark.anyio
async def test_reader_refuses_a_journal_that_was_never_migrated(journal_path: Path) -> None:
    """The read-only CLI path does not migrate: an old journal gets a clear message instead."""
    conn = await _raw(journal_path)
    try:
        await migrate(conn, target=1)
    finally:
        await conn.close()
    with pytest.raises(SchemaMismatch, match="older than this code's 3; start the daemon once"):
        async with StoreReader.open(journal_path):
            pass  # pragma: no cover


def test_split_statements_keeps_trigger_bodies_whole() -> None:
    """The script splitter yields whole statements, a trigger body with its inner `;` included."""
    statements = split_statements(V1_CORE)
    triggers = [s for s in statements if s.startswith("CREATE TRIGGER")]
    assert len(triggers) == 6
    assert all(s.endswith("END;") for s in triggers)
    assert sum(s.startswith("CREATE TABLE") for s in statements) == 6
    with pytest.raises(ValueError, match="incomplete SQL statement"):
        split_statements("CREATE TABLE x (a INTEGER);\nCREATE TABLE y (")


@pytest.mark.anyio
async def test_history_tables_are_append_only(journal_path: Path) -> None:
    """UPDATE or DELETE on fills, intent_events or journal is refused by the schema itself."""
    async with Store.open(journal_path) as store:
        await store.append_journal("reconnect", {"attempt": 1}, time=kst(2026, 3, 2, 9))
    conn = await _raw(journal_path)
    try:
        for sql in ("UPDATE journal SET kind = 'x'", "DELETE FROM journal"):
            with pytest.raises(aiosqlite.IntegrityError, match="append-only"):
                await conn.execute(sql)
    finally:
        await conn.close()
