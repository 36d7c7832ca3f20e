"""The writer task: group commit, intents committed alone, deadlines, cancellation, shutdown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
import anyio
import pytest

from bot.store import Store, StoreFailed, StoreTimeout, writes
from bot.store.connection import open_write_connection
from bot.store.writer import Writer

from .helpers import at, make_intent, raw_counts


@asynccontextmanager
async def running_writer(
    path: Path, trace: list[str] | None = None, **options: float
) -> AsyncIterator[Writer]:
    """A writer task on a real journal file, optionally tracing every SQL statement it runs."""
    conn = await open_write_connection(path)
    if trace is not None:
        await conn.set_trace_callback(trace.append)
    writer = Writer(conn, path, **options)  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        try:
            yield writer
        finally:
            await writer.aclose()


def journal_op(n: int) -> writes.EncodedJournal:
    """A ready-to-insert journal row."""
    return writes.EncodedJournal(at(n).isoformat(), "condition_hit", "", "005930", f'{{"n":{n}}}')


async def append(writer: Writer, n: int) -> None:
    """Submit one journal append the way `Store.append_journal` does."""
    entry = journal_op(n)

    async def op(conn: aiosqlite.Connection) -> None:
        await writes.insert_journal(conn, entry)

    await writer.submit(op, label=f"append {n}", batchable=True, isolated=False)


def transactions(trace: list[str]) -> list[list[str]]:
    """The traced statements grouped by transaction (BEGIN … COMMIT)."""
    groups: list[list[str]] = []
    current: list[str] | None = None
    for statement in trace:
        if statement.startswith("BEGIN"):
            current = []
        elif statement == "COMMIT" and current is not None:
            groups.append(current)
            current = None
        elif current is not None and statement.startswith("INSERT"):
            current.append(statement.split("(")[0].strip())
    return groups


@pytest.mark.anyio
async def test_bursts_are_group_committed_but_intents_commit_alone(journal_path: Path) -> None:
    """A burst of appends shares transactions; each intent gets a transaction of its own."""
    trace: list[str] = []
    async with running_writer(journal_path, trace, max_batch=64) as writer:

        async def intent(n: int) -> None:
            record = make_intent(f"i{n}", when=at(n))

            async def op(conn: aiosqlite.Connection) -> None:
                await writes.insert_intent(conn, record, at(n).isoformat(), "2026-03-02")

            await writer.submit(op, label=f"intent {n}", batchable=False)

        async with anyio.create_task_group() as tg:
            for n in range(300):
                tg.start_soon(append, writer, n)
                if n % 60 == 0:
                    tg.start_soon(intent, n)
        stats = writer.stats
    groups = transactions(trace)
    intent_groups = [g for g in groups if "INSERT INTO intents" in g]
    assert len(intent_groups) == 5
    assert all(g == ["INSERT INTO intents", "INSERT INTO intent_events"] for g in intent_groups)
    journal_sizes = [len(g) for g in groups if g and g[0] == "INSERT INTO journal"]
    assert sum(journal_sizes) == 300 and max(journal_sizes) > 1 and max(journal_sizes) <= 64
    assert stats.commands == 305 and stats.transactions == len(groups) < 305
    assert (await raw_counts(journal_path))["journal"] == 300


@pytest.mark.anyio
async def test_a_hung_write_fails_the_store_and_withdraws_queued_ones(journal_path: Path) -> None:
    """A started write that outlives its deadline flips the writer to failed; queued writes are withdrawn."""
    release = anyio.Event()

    async def hung(conn: aiosqlite.Connection) -> None:
        await writes.insert_journal(conn, journal_op(1))
        await release.wait()  # a disk that stopped answering

    async with running_writer(journal_path, timeout=0.2) as writer:
        errors: dict[str, BaseException] = {}

        async def run(which: str) -> None:
            try:
                if which == "hung":
                    await writer.submit(hung, label="hung", batchable=True)
                else:
                    await append(writer, 2)
            except StoreFailed as exc:
                errors[which] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "hung")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(run, "queued")
        assert type(errors["hung"]) is StoreFailed and "did not finish within 0.2s" in str(errors["hung"])
        assert isinstance(errors["queued"], StoreTimeout)
        assert writer.failure is errors["hung"]
        release.set()
        with pytest.raises(StoreFailed, match="refused: the journal is failed"):
            await append(writer, 3)
    # the hung transaction did finish (its caller was told the outcome is unknown); the queued one never ran
    assert (await raw_counts(journal_path))["journal"] == 1


@pytest.mark.anyio
async def test_a_cancelled_caller_does_not_lose_its_queued_write(journal_path: Path) -> None:
    """Cancelling a caller whose append is already queued still writes the append (lossless journal)."""
    release = anyio.Event()

    async def slow(conn: aiosqlite.Connection) -> None:
        await release.wait()

    async with running_writer(journal_path, timeout=5.0) as writer:

        async def submit_slow() -> None:
            await writer.submit(slow, label="slow", batchable=False)

        async with anyio.create_task_group() as tg:
            tg.start_soon(submit_slow)
            await anyio.wait_all_tasks_blocked()
            with anyio.CancelScope() as scope:
                tg.start_soon(append, writer, 7)
                await anyio.wait_all_tasks_blocked()
                scope.cancel()
            tg.cancel_scope.cancel()  # both callers gone
        release.set()
        await append(writer, 8)
    assert (await raw_counts(journal_path))["journal"] == 2


@pytest.mark.anyio
async def test_store_block_errors_propagate_unwrapped_and_close_the_store(journal_path: Path) -> None:
    """An exception in the `async with` body comes out as itself; later writes are refused."""
    with pytest.raises(KeyError, match="boom"):
        async with Store.open(journal_path) as store:
            await store.append_journal("reconnect", None, time=at(1))
            raise KeyError("boom")
    with pytest.raises(StoreFailed, match="closed"):
        await store.append_journal("reconnect", None, time=at(2))
    assert (await raw_counts(journal_path))["journal"] == 1


@pytest.mark.anyio
async def test_cancelling_the_daemon_scope_flushes_queued_writes_and_closes(journal_path: Path) -> None:
    """SIGTERM-style cancellation: the batch in flight and every append still queued reach the file."""
    async with Store.open(journal_path):
        pass  # create the journal so the blocker below has a file to lock
    blocker = await aiosqlite.connect(journal_path, isolation_level=None)
    cancelled = anyio.Event()

    async def release_lock_once_cancelled() -> None:
        await cancelled.wait()
        await blocker.execute("ROLLBACK")

    try:
        await blocker.execute("BEGIN IMMEDIATE")  # keeps the writer's first batch in flight
        async with anyio.create_task_group() as outer:
            outer.start_soon(release_lock_once_cancelled)
            with anyio.CancelScope() as scope:
                async with Store.open(journal_path, max_batch=10) as store, anyio.create_task_group() as tg:

                    async def append_one(n: int) -> None:
                        await store.append_journal("condition_hit", {"n": n}, time=at(n))

                    for n in range(50):
                        tg.start_soon(append_one, n)
                    await anyio.wait_all_tasks_blocked()  # 10 in flight, 40 queued, 50 callers waiting
                    scope.cancel()
                    cancelled.set()
    finally:
        await blocker.close()
    assert (await raw_counts(journal_path))["journal"] == 50
    assert store.writer_stats.transactions >= 5
    with pytest.raises(StoreFailed, match="closed"):
        await store.append_journal("reconnect", None, time=at(99))


@pytest.mark.anyio
async def test_only_one_store_may_write_a_journal(journal_path: Path) -> None:
    """A second daemon opening the same journal is refused; once the first closes, it may open."""
    async with Store.open(journal_path) as first:
        with pytest.raises(StoreFailed, match="already open for writing by another process"):
            async with Store.open(journal_path):
                pass  # pragma: no cover
        await first.append_journal("reconnect", None, time=at(1))
    async with Store.open(journal_path) as second:
        await second.append_journal("reconnect", None, time=at(2))
    assert (await raw_counts(journal_path))["journal"] == 2
