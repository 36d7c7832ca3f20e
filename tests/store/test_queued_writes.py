"""Writes queued without waiting (`Store.queue_fill` / `queue_journal` / `queue_transition`).

The kernel journals fills, transitions and notes this way so a burst of fills does not hold up the
next event: each write is queued at once, in order, and its outcome is awaited later.
"""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import anyio
import pytest

from bot.domain.orders import IntentState
from bot.store import Queued, Store, StoreFailed, StoreTimeout

from .helpers import at, make_fill, make_intent, raw_counts


@pytest.mark.anyio
async def test_queued_writes_commit_in_the_order_queued_and_report_their_results(journal_path: Path) -> None:
    """Twenty fills, a transition and a note queued back to back commit in order, in few transactions."""
    async with Store.open(journal_path) as store:
        await store.insert_intent(make_intent("i-1", qty=20))
        await store.transition_intent("i-1", IntentState.ACCEPTED, time=at(0.5), order_no="0000101")
        before = store.writer_stats.transactions
        queued: list[Queued[bool]] = []
        for n in range(1, 21):
            q = store.queue_fill(make_fill("i-1", f"f{n:02d}", qty=1, price=70_000 + n, when=at(n)))
            assert q is not None
            queued.append(q)
        q_state = store.queue_transition("i-1", IntentState.FILLED, time=at(21), detail="all filled")
        q_note = store.queue_journal("reconnect", {"event": "down"}, time=at(22))
        assert q_state is not None and q_note is not None
        results = [await q.result() for q in queued]
        await q_state.result()
        await q_note.result()
        fills = await store.fills()
        intent = await store.get_intent("i-1")
        transactions = store.writer_stats.transactions - before
    assert results == [True] * 20
    assert [f.fill_no for f in fills] == [f"f{n:02d}" for n in range(1, 21)]
    assert intent is not None and intent.state is IntentState.FILLED
    assert transactions < 22  # grouped: nobody waited between them


@pytest.mark.anyio
async def test_a_queued_write_on_a_failed_journal_is_refused_at_once(journal_path: Path) -> None:
    """Once the journal has failed, queueing raises StoreFailed and nothing more is written."""
    async with Store.open(journal_path) as store:
        await store.insert_intent(make_intent("i-1"))
        await store.set_max_page_count(await store.page_count())  # the next page needed: SQLITE_FULL
        q = store.queue_journal("reconnect", {"pad": "x" * 20_000}, time=at(1))
        assert q is not None
        with pytest.raises(StoreFailed):
            await q.result()
        with pytest.raises(StoreFailed):
            store.queue_journal("reconnect", {"n": 2}, time=at(2))
    assert (await raw_counts(journal_path))["journal"] == 0


@pytest.mark.anyio
async def test_a_queued_write_blocked_past_its_deadline_is_withdrawn(journal_path: Path) -> None:
    """A queued write that cannot start before its deadline raises StoreTimeout and is never written."""
    async with Store.open(journal_path, write_timeout=0.3, busy_timeout_ms=4000) as store:
        blocker = await aiosqlite.connect(journal_path, isolation_level=None)
        try:
            await blocker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
            first = store.queue_journal("reconnect", {"n": 1}, time=at(1))  # the writer waits on the lock
            await anyio.wait_all_tasks_blocked()
            second = store.queue_journal("reconnect", {"n": 2}, time=at(2))  # queued behind it
            assert first is not None and second is not None
            with pytest.raises(StoreTimeout):
                await second.result()
            with pytest.raises(StoreTimeout):
                await first.result()
            await blocker.execute("ROLLBACK")
        finally:
            await blocker.close()
        await store.append_journal("reconnect", {"n": 3}, time=at(3))
        entries = await store.journal()
    assert [e.detail for e in entries] == [{"n": 3}]


@pytest.mark.anyio
async def test_a_full_queue_says_so_instead_of_waiting(journal_path: Path) -> None:
    """With the writer's queue full, `queue_*` returns None (the caller then waits with the plain call)."""
    async with Store.open(journal_path, queue_size=2, write_timeout=2.0, busy_timeout_ms=4000) as store:
        blocker = await aiosqlite.connect(journal_path, isolation_level=None)
        try:
            await blocker.execute("BEGIN IMMEDIATE")
            taken = store.queue_journal("reconnect", {"n": 0}, time=at(0))  # the writer takes this one
            await anyio.wait_all_tasks_blocked()
            held = [store.queue_journal("reconnect", {"n": n}, time=at(n)) for n in (1, 2)]
            full = store.queue_journal("reconnect", {"n": 3}, time=at(3))
            await blocker.execute("ROLLBACK")
        finally:
            await blocker.close()
        assert taken is not None and all(h is not None for h in held)
        assert full is None
        for q in (taken, *held):
            assert q is not None
            await q.result()
        entries = await store.journal()
    assert [e.detail for e in entries] == [{"n": 0}, {"n": 1}, {"n": 2}]


@pytest.mark.anyio
async def test_a_finished_write_is_answered_even_when_asked_after_its_deadline(journal_path: Path) -> None:
    """A router job that waited for a slot longer than the write timeout still hears its intent committed."""
    async with Store.open(journal_path, write_timeout=0.2) as store:
        q = store.queue_intent(make_intent("i-1"))
        assert q is not None
        await anyio.sleep(0.4)  # the deadline passes while nobody asks (the subject of the test)
        assert await q.result() is None
        assert store.failed is None
        await store.append_journal("reconnect", {"n": 1}, time=at(1))
    assert (await raw_counts(journal_path))["intents"] == 1
