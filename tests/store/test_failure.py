"""Storage failure (R11): roll back, raise StoreFailed, refuse further writes, recover on request."""

from __future__ import annotations

from pathlib import Path

import aiosqlite
import anyio
import pytest

from bot.domain.orders import IntentState
from bot.store import Store, StoreFailed, StoreReader, StoreTimeout

from .helpers import at, make_fill, make_intent, raw_counts


# With these inputs the cap is hit by the fills INSERT (2 spare pages), or by the intent_events INSERT
# after the fill, intent and position rows of the same transaction were already written (1 and 6).
@pytest.mark.parametrize("spare_pages", [1, 2, 6])
@pytest.mark.anyio
async def test_disk_full_during_fills_leaves_no_partial_rows(journal_path: Path, spare_pages: int) -> None:
    """SQLITE_FULL mid-burst: each fill is wholly recorded (fill, intent, position, event) or absent."""
    async with Store.open(journal_path) as store:
        await store.insert_intent(
            make_intent("i1", qty=1_000_000, state=IntentState.ACCEPTED, order_no="0000101")
        )
        pages = await store.page_count()
        assert await store.set_max_page_count(pages + spare_pages) == pages + spare_pages
        applied = []
        failure: StoreFailed | None = None
        for n in range(10_000):
            fill = make_fill("i1", f"{n:06d}", qty=n % 3 + 1, price=70_000 + 100 * n, fee=n % 7, when=at(n))
            try:
                assert await store.apply_fill(fill) is True
            except StoreFailed as exc:
                failure, failed_fill_no = exc, fill.fill_no
                break
            applied.append(fill)
        assert failure is not None and "SQLITE_FULL" in str(failure)
        assert len(applied) >= 10
        assert store.failed is not None and await store.wait_failed() is store.failed

        started = anyio.current_time()
        with pytest.raises(StoreFailed, match="refused: the journal is failed"):
            await store.append_journal("reconnect", None, time=at(99_999))
        with pytest.raises(StoreFailed, match="refused"):
            await store.insert_intent(make_intent("i2"))
        assert anyio.current_time() - started < 0.5  # refused at once, not after the 5 s write timeout

        async with StoreReader.open(journal_path) as cli:
            intent = await cli.get_intent("i1")
            fills = await cli.fills()
            (position,) = await cli.positions()
            fill_events = [e for e in await cli.intent_events("i1") if e.kind == "fill"]
        counts = await raw_counts(journal_path)

    qty = sum(f.qty for f in applied)
    assert [f.fill_no for f in fills] == [f.fill_no for f in applied]
    assert failed_fill_no not in {f.fill_no for f in fills}
    assert intent is not None
    assert (intent.filled_qty, intent.filled_amount, intent.fee) == (
        qty,
        sum(f.qty * f.price for f in applied),
        sum(f.fee for f in applied),
    )
    assert (position.qty, position.cost_basis, position.fees) == (
        qty,
        intent.filled_amount,
        intent.fee,
    )
    assert len(fill_events) == len(applied)
    assert counts == {
        "intents": 1,
        "intent_events": 1 + len(applied),
        "fills": len(applied),
        "positions": 1,
        "journal": 0,
    }


@pytest.mark.anyio
async def test_a_failed_group_commit_fails_every_command_in_it(journal_path: Path) -> None:
    """When a batch of journal appends hits SQLITE_FULL, none of that batch is kept and all callers hear."""
    outcomes: list[str] = []
    async with Store.open(journal_path) as store:
        await store.set_max_page_count(await store.page_count() + 1)

        async def append(n: int) -> None:
            try:
                await store.append_journal("condition_hit", {"n": n, "pad": "x" * 1500}, time=at(n))
                outcomes.append("ok")
            except StoreFailed:
                outcomes.append("failed")

        async with anyio.create_task_group() as tg:
            for n in range(40):
                tg.start_soon(append, n)
        rows = (await raw_counts(journal_path))["journal"]
        stats = store.writer_stats
    assert len(outcomes) == 40 and "failed" in outcomes
    assert rows == outcomes.count("ok")
    assert stats.commands == outcomes.count("ok")


@pytest.mark.anyio
async def test_recover_after_space_returns(journal_path: Path) -> None:
    """Once space is back, `recover()` checks the file and writes are accepted again."""
    async with Store.open(journal_path) as store:
        await store.set_max_page_count(await store.page_count())
        with pytest.raises(StoreFailed, match="SQLITE_FULL"):
            await store.append_journal("reconnect", {"pad": "y" * 20_000}, time=at(1))
        assert store.failed is not None
        await store.set_max_page_count(1_000_000)
        assert await store.recover() is True
        assert store.failed is None
        await store.append_journal("reconnect", {"pad": "y" * 20_000}, time=at(2))
        entries = await store.journal()
    assert [e.time for e in entries] == [at(2)]


@pytest.mark.anyio
async def test_writes_blocked_past_their_deadline_are_withdrawn(journal_path: Path) -> None:
    """Writes that could not start before their deadline raise StoreTimeout and are never written later."""
    async with Store.open(journal_path, write_timeout=0.3, busy_timeout_ms=4000) as store:
        blocker = await aiosqlite.connect(journal_path, isolation_level=None)
        try:
            await blocker.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
            errors: dict[str, BaseException] = {}

            async def write(name: str) -> None:
                try:
                    if name == "journal":
                        await store.append_journal("reconnect", {"n": 1}, time=at(1))
                    else:
                        await store.insert_intent(make_intent("late"))
                except StoreFailed as exc:
                    errors[name] = exc

            async with anyio.create_task_group() as tg:
                tg.start_soon(write, "journal")
                await anyio.wait_all_tasks_blocked()  # the writer is now waiting for the lock
                tg.start_soon(write, "intent")
            await blocker.execute("ROLLBACK")
        finally:
            await blocker.close()
        assert all(isinstance(errors[name], StoreTimeout) for name in ("journal", "intent"))
        assert "withdrawn; nothing was written" in str(errors["intent"])
        assert store.failed is None
        await store.append_journal("reconnect", {"n": 2}, time=at(2))  # queued behind the withdrawn ones
        entries = await store.journal()
    assert [e.detail for e in entries] == [{"n": 2}]
    assert (await raw_counts(journal_path))["intents"] == 0
