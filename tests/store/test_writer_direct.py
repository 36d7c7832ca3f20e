"""The writer's direct path: a `direct=True` transaction runs as ONE job on aiosqlite's connection thread.

The write connection is a real aiosqlite connection whose class is swapped for a subclass that
counts the jobs it hands its thread (`_execute` calls): the direct path costs one job per
transaction, the statement-by-statement path one per statement. Every row is checked through a
separate read connection to the same file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite
import anyio
import anyio.lowlevel
import pytest

from bot.domain.orders import IntentState
from bot.store import DuplicateIntent, Store, StoreFailed, StoreTimeout, writes
from bot.store.connection import DEFAULT_BUSY_TIMEOUT_MS, open_read_connection, open_write_connection
from bot.store.writer import Writer

from .helpers import at, make_fill, make_intent, raw_counts, wait_until

T = TypeVar("T")

HAS_THREAD_RUNNER = callable(getattr(aiosqlite.Connection, "_execute", None)) and hasattr(
    aiosqlite.Connection, "_conn"
)
needs_thread_runner = pytest.mark.skipif(
    not HAS_THREAD_RUNNER, reason="this aiosqlite has no `_execute`/`_conn`: the writer has no direct path"
)


class CountingConnection(aiosqlite.Connection):
    """aiosqlite's Connection, counting the jobs it hands its thread (one per `_execute` call)."""

    jobs = 0

    async def _execute(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.jobs += 1
        return cast(T, await super()._execute(fn, *args, **kwargs))


class StatementOnly:
    """An aiosqlite connection seen through `execute`/`execute_fetchall`/`close` only (no `_execute`)."""

    def __init__(self, inner: aiosqlite.Connection) -> None:
        self._inner = inner
        self.statements = 0

    async def execute(self, sql: str, parameters: Any = None) -> aiosqlite.Cursor:
        self.statements += 1
        return await self._inner.execute(sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Any = None) -> Any:
        self.statements += 1
        return await self._inner.execute_fetchall(sql, parameters)

    async def close(self) -> None:
        await self._inner.close()


@dataclass
class Rig:
    """A running store whose write connection counts thread jobs and traces every statement."""

    store: Store
    writer: Writer
    conn: CountingConnection
    trace: list[str]


@asynccontextmanager
async def counted_store(
    path: Path,
    *,
    statement_only: bool = False,
    write_timeout: float = 5.0,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
) -> AsyncIterator[Rig]:
    """A `Store` on a real journal file whose writer uses a job-counting (optionally `_execute`-less) conn."""
    conn = await open_write_connection(path, busy_timeout_ms=busy_timeout_ms)
    conn.__class__ = CountingConnection  # same layout: only `_execute` is wrapped, to count
    counted = cast(CountingConnection, conn)
    trace: list[str] = []
    await counted.set_trace_callback(trace.append)
    facade = cast(aiosqlite.Connection, StatementOnly(counted)) if statement_only else counted
    writer = Writer(facade, path, timeout=write_timeout)
    read_conn = await open_read_connection(path, busy_timeout_ms=busy_timeout_ms)
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run)
            try:
                yield Rig(Store(path, writer, read_conn), writer, counted, trace)
            finally:
                with anyio.CancelScope(shield=True):
                    await writer.aclose()
    finally:
        with anyio.CancelScope(shield=True):
            await read_conn.close()


def shape(trace: list[str]) -> list[str]:
    """Traced statements reduced to their verb and table (`INSERT INTO intents`, `BEGIN IMMEDIATE`)."""
    return [statement.split("(")[0].strip() for statement in trace]


def reader(path: Path) -> closing[sqlite3.Connection]:
    """A plain read-only sqlite3 connection to the journal, separate from the store's own two."""
    return closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None))


def one(conn: sqlite3.Connection, sql: str) -> tuple[Any, ...]:
    """The only row `sql` returns."""
    (row,) = conn.execute(sql).fetchall()
    return tuple(row)


class _Suspend:
    """An awaitable that suspends once (a bare yield), as anything awaiting an event loop would."""

    def __await__(self) -> Generator[None, None, None]:
        yield


# ----------------------------------------------------------------------------- 1. the direct path


@needs_thread_runner
@pytest.mark.anyio
async def test_store_writes_take_one_thread_job_each_and_are_visible_on_return(journal_path: Path) -> None:
    """insert_intent and apply_fill each run as one connection-thread job and are readable on return."""
    async with counted_store(journal_path) as rig:
        with reader(journal_path) as peek:
            del rig.trace[:]
            jobs = rig.conn.jobs
            await rig.store.insert_intent(
                make_intent("i1", qty=10, state=IntentState.ACCEPTED, order_no="0000101")
            )
            # no await since the call returned: the rows must already be committed
            assert one(peek, "SELECT intent_id, state, qty, filled_qty FROM intents") == (
                "i1",
                "accepted",
                10,
                0,
            )
            assert one(peek, "SELECT COUNT(*) FROM intent_events WHERE intent_id = 'i1'") == (1,)
            assert rig.conn.jobs - jobs == 1
            assert shape(rig.trace) == [
                "BEGIN IMMEDIATE",
                "INSERT INTO intents",
                "INSERT INTO intent_events",
                "COMMIT",
            ]

            del rig.trace[:]
            jobs = rig.conn.jobs
            fill = make_fill("i1", "000001", qty=4, price=70_100, fee=15, when=at(1))
            assert await rig.store.apply_fill(fill, new_state=IntentState.PARTIALLY_FILLED) is True
            assert one(peek, "SELECT qty, price, fee FROM fills WHERE fill_no = '000001'") == (4, 70_100, 15)
            assert one(peek, "SELECT state, filled_qty, filled_amount, fee FROM intents") == (
                "partially_filled",
                4,
                4 * 70_100,
                15,
            )
            assert one(peek, "SELECT qty, cost_basis FROM positions") == (4, 4 * 70_100)
            assert one(peek, "SELECT COUNT(*) FROM intent_events WHERE kind = 'fill'") == (1,)
            assert rig.conn.jobs - jobs == 1
            statements = shape(rig.trace)
            assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT"
            assert len(statements) >= 6  # several statements, all inside that one job

        stats = rig.store.writer_stats
        assert (stats.transactions, stats.commands) == (2, 2)
        assert rig.store.failed is None


@needs_thread_runner
@pytest.mark.anyio
async def test_a_burst_of_direct_appends_is_group_committed_one_job_per_transaction(
    journal_path: Path,
) -> None:
    """Concurrent journal appends share transactions and each transaction is exactly one thread job."""
    async with counted_store(journal_path) as rig:
        jobs = rig.conn.jobs
        async with anyio.create_task_group() as tg:
            for n in range(50):
                tg.start_soon(lambda n=n: rig.store.append_journal("condition_hit", {"n": n}, time=at(n)))
        stats = rig.store.writer_stats
        assert stats.commands == 50 and stats.largest_batch > 1
        assert rig.conn.jobs - jobs == stats.transactions < 50
        entries = await rig.store.journal()
    assert sorted(e.detail["n"] for e in entries) == list(range(50))
    assert (await raw_counts(journal_path))["journal"] == 50


# ------------------------------------------------------ 2. a direct op that awaits something else


@needs_thread_runner
@pytest.mark.parametrize("awaits", ["bare_yield", "anyio_checkpoint", "set_event", "unset_event"])
@pytest.mark.anyio
async def test_a_direct_op_that_awaits_anything_else_fails_its_batch_and_writes_nothing(
    journal_path: Path, awaits: str
) -> None:
    """A direct op awaiting anything but its connection fails its batch and the store, writing nothing."""
    set_event, unset_event = anyio.Event(), anyio.Event()
    set_event.set()
    entry = writes.EncodedJournal(at(1).isoformat(), "condition_hit", "", "005930", '{"n":1}')

    async def bad(conn: aiosqlite.Connection) -> None:
        await writes.insert_journal(conn, entry)  # runs, then must be rolled back
        if awaits == "bare_yield":
            await _Suspend()
        elif awaits == "anyio_checkpoint":
            await anyio.lowlevel.checkpoint()
        elif awaits == "set_event":
            await set_event.wait()
        else:
            await unset_event.wait()

    async with counted_store(journal_path, write_timeout=5.0) as rig:
        errors: dict[str, BaseException] = {}

        async def run(which: str) -> None:
            try:
                if which == "bad":
                    await rig.writer.submit(bad, label="bad", batchable=True, direct=True)
                else:  # a well-behaved direct write that lands in the same batch
                    await rig.store.append_journal("reconnect", {"n": 2}, time=at(2))
            except StoreFailed as exc:
                errors[which] = exc

        started = anyio.current_time()
        try:
            with anyio.fail_after(2):  # far below the 5 s write timeout: nobody waited for a deadline
                async with anyio.create_task_group() as tg:
                    tg.start_soon(run, "bad")
                    tg.start_soon(run, "good")
        finally:
            unset_event.set()  # should the op ever really wait on it, let the writer finish
        assert anyio.current_time() - started < 1.0
        assert type(errors["bad"]) is StoreFailed and str(errors["bad"]).startswith("bad not written: ")
        assert type(errors["good"]) is StoreFailed
        assert str(errors["good"]).startswith("append_journal reconnect not written: ")
        if awaits == "bare_yield":
            assert str(errors["bad"]) == (
                "bad not written: RuntimeError: "
                "a direct journal op awaited something other than its connection"
            )
        failure = rig.store.failed
        assert failure is not None and "journal write failed and was rolled back" in str(failure)
        assert rig.store.writer_stats.commands == 0
        assert (await raw_counts(journal_path))["journal"] == 0
        # the transaction was rolled back, not left open: another connection takes the write lock at once
        with closing(sqlite3.connect(journal_path, timeout=0, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")

        assert await rig.store.recover() is True
        await rig.store.append_journal("reconnect", {"n": 3}, time=at(3))
        entries = await rig.store.journal()
    assert [e.detail for e in entries] == [{"n": 3}]


# -------------------------------------------- 3. a direct write withdrawn while the lock is held


@needs_thread_runner
@pytest.mark.anyio
async def test_direct_writes_timed_out_behind_another_connections_lock_are_never_written(
    journal_path: Path,
) -> None:
    """Direct writes whose callers time out while another connection holds the lock are withdrawn for good."""
    async with counted_store(journal_path, write_timeout=0.3, busy_timeout_ms=4000) as rig:
        errors: dict[str, BaseException] = {}

        async def write(name: str) -> None:
            try:
                if name == "journal":
                    await rig.store.append_journal("reconnect", {"n": 1}, time=at(1))
                else:
                    await rig.store.insert_intent(make_intent("late"))
            except StoreFailed as exc:
                errors[name] = exc

        blocker = await aiosqlite.connect(journal_path, isolation_level=None)
        try:
            await blocker.execute("BEGIN IMMEDIATE")  # another real connection holds the write lock
            jobs = rig.conn.jobs
            del rig.trace[:]
            started = time.monotonic()
            async with anyio.create_task_group() as tg:
                tg.start_soon(write, "journal")

                async def in_begin() -> bool:
                    return rig.conn.jobs - jobs == 1 and shape(rig.trace) == ["BEGIN IMMEDIATE"]

                await wait_until(in_begin, within=2)  # the direct job is on the thread, waiting for the lock
                tg.start_soon(write, "intent")  # queued behind it
            waited = time.monotonic() - started
            assert shape(rig.trace) == ["BEGIN IMMEDIATE"]  # still blocked: nothing ran, nothing claimed
        finally:
            await blocker.execute("ROLLBACK")  # released only after both deadlines passed
            await blocker.close()

        assert waited < 3.0  # the callers heard at their deadline, not at the 4 s busy timeout
        assert set(errors) == {"journal", "intent"}
        assert all(type(exc) is StoreTimeout for exc in errors.values())
        assert "withdrawn; nothing was written" in str(errors["intent"])
        assert "withdrawn; nothing was written" in str(errors["journal"])

        # later writes go through; the withdrawn ones are not written behind them
        await rig.store.append_journal("reconnect", {"n": 2}, time=at(2))
        await rig.store.insert_intent(make_intent("after", when=at(2)))
        assert rig.store.failed is None
        stats = rig.store.writer_stats
        entries = await rig.store.journal()
        intent_ids = [r.intent_id for r in await rig.store.load_working_intents()]
    assert stats.commands == 2
    assert [e.detail for e in entries] == [{"n": 2}]
    assert intent_ids == ["after"]
    counts = await raw_counts(journal_path)
    assert (counts["journal"], counts["intents"], counts["intent_events"]) == (1, 1, 1)
    # the blocked job committed an empty transaction once it got the lock: its op never ran
    assert shape(rig.trace)[:2] == ["BEGIN IMMEDIATE", "COMMIT"]


# ------------------------------------------------------ 4. the fallback without `_execute`/`_conn`


@pytest.mark.anyio
async def test_without_a_thread_runner_store_writes_run_statement_by_statement(journal_path: Path) -> None:
    """On a connection without `_execute`/`_conn` the same Store writes go one statement per thread job."""
    async with counted_store(journal_path, statement_only=True) as rig:
        facade = cast(StatementOnly, rig.writer._conn)
        with reader(journal_path) as peek:
            del rig.trace[:]
            jobs, statements = rig.conn.jobs, facade.statements
            await rig.store.insert_intent(
                make_intent("i1", qty=10, state=IntentState.ACCEPTED, order_no="0000101")
            )
            assert one(peek, "SELECT intent_id, state, qty FROM intents") == ("i1", "accepted", 10)
            assert one(peek, "SELECT COUNT(*) FROM intent_events") == (1,)
            assert shape(rig.trace) == [
                "BEGIN IMMEDIATE",
                "INSERT INTO intents",
                "INSERT INTO intent_events",
                "COMMIT",
            ]
            assert rig.conn.jobs - jobs == facade.statements - statements == 4

            jobs = rig.conn.jobs
            fill = make_fill("i1", "000001", qty=4, price=70_100, fee=15, when=at(1))
            assert await rig.store.apply_fill(fill) is True
            assert await rig.store.apply_fill(fill) is False  # the same fill key again: recorded once
            assert one(peek, "SELECT filled_qty, filled_amount, fee FROM intents") == (4, 4 * 70_100, 15)
            assert one(peek, "SELECT qty, cost_basis FROM positions") == (4, 4 * 70_100)
            assert one(peek, "SELECT COUNT(*) FROM fills") == (1,)
            assert rig.conn.jobs - jobs > 2 * 2  # more than BEGIN + COMMIT per fill: one job per statement

            with pytest.raises(DuplicateIntent):
                await rig.store.insert_intent(make_intent("i1"))
            async with anyio.create_task_group() as tg:
                for n in range(20):
                    tg.start_soon(lambda n=n: rig.store.append_journal("condition_hit", {"n": n}, time=at(n)))
            assert one(peek, "SELECT COUNT(*) FROM journal") == (20,)
        assert rig.store.failed is None
        stats = rig.store.writer_stats
        assert stats.commands == 1 + 2 + 20 and stats.largest_batch > 1
    counts = await raw_counts(journal_path)
    assert counts == {"intents": 1, "intent_events": 2, "fills": 1, "positions": 1, "journal": 20}


@pytest.mark.parametrize("direct", [False, True])
@pytest.mark.anyio
async def test_a_direct_op_binds_named_parameters_like_aiosqlite(journal_path: Path, direct: bool) -> None:
    """Named parameters (a mapping, as aiosqlite allows) bind their values on the direct path too."""
    row = {"t": "2026-03-02T09:00:00+09:00", "k": "reconnect", "s": "", "c": "", "d": '{"n":1}'}

    async def op(conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO journal (time, kind, strategy, code, detail) VALUES (:t, :k, :s, :c, :d)", row
        )

    async with counted_store(journal_path) as rig:
        await rig.writer.submit(op, label="named", batchable=True, direct=direct)
    with reader(journal_path) as peek:
        rows = peek.execute("SELECT time, kind, strategy, code, detail FROM journal").fetchall()
    assert rows == [tuple(row.values())]
