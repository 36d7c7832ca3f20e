"""Operator queries on a read-only connection, while the daemon writes and after it stopped."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bot.clock import kst
from bot.domain.orders import IntentState
from bot.domain.values import Side
from bot.store import Store, StoreFailed, StoreReader

from .helpers import T0, at, make_fill, make_intent


@pytest.mark.anyio
async def test_cli_reads_consistent_snapshots_while_the_writer_bursts(journal_path: Path) -> None:
    """During a burst of fills the CLI sees the intent's filled quantity always equal its fill rows."""
    seen: list[int] = []
    async with Store.open(journal_path) as store, StoreReader.open(journal_path) as cli:
        await store.insert_intent(make_intent("i1", qty=400, state=IntentState.ACCEPTED, order_no="0000101"))
        done = anyio.Event()

        async def burst() -> None:
            async with anyio.create_task_group() as tg:
                for n in range(200):
                    tg.start_soon(store.apply_fill, make_fill("i1", f"{n}", qty=2, price=70_000, when=at(n)))
            done.set()

        async def poll() -> None:
            while not done.is_set():
                record = await cli.get_intent("i1")
                assert record is not None
                assert record.filled_qty == 2 * len(record.fill_nos)
                assert not seen or record.filled_qty >= seen[-1]
                seen.append(record.filled_qty)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(burst)
                tg.start_soon(poll)
        final = await cli.get_intent("i1")
    assert final is not None and final.filled_qty == 400
    assert len(seen) >= 2


@pytest.mark.anyio
async def test_cli_queries_after_the_daemon_stopped(journal_path: Path) -> None:
    """Orders, fills, positions, P&L and journal read back from a closed journal, filtered as asked."""
    day2 = kst(2026, 3, 3, 9, 5)
    async with Store.open(journal_path) as store:
        await store.insert_intent(make_intent("a", state=IntentState.ACCEPTED, order_no="0000001"))
        await store.apply_fill(
            make_fill("a", "1", order_no="0000001", qty=10, price=70_000, fee=100, when=at(1)),
            new_state=IntentState.FILLED,
        )
        await store.insert_intent(
            make_intent("b", side=Side.SELL, qty=4, when=day2, state=IntentState.ACCEPTED, order_no="0000001")
        )
        await store.apply_fill(
            make_fill(
                "b", "1", order_no="0000001", side=Side.SELL, qty=4, price=71_000, fee=40, tax=568, when=day2
            ),
            new_state=IntentState.FILLED,
        )
        await store.insert_intent(make_intent("c", when=day2))
        await store.append_journal("condition_hit", {"seq": "1"}, time=at(0), code="005930")
        await store.append_journal("denial", {"rule": "max_positions"}, time=day2, strategy="surge")
        await store.append_journal("reconnect", {"attempt": 1}, time=day2)
    async with StoreReader.open(journal_path) as cli:
        today = await cli.orders(trade_date=day2.date())
        working = await cli.orders(working_only=True)
        fills_day1 = await cli.fills(trade_date=T0.date())
        (position,) = await cli.positions()
        pnl = await cli.daily_pnl(start=day2.date())
        last_two = await cli.journal(limit=2)
        since = await cli.journal(since=day2)
        denials = await cli.journal(kind="denial")
        state = await cli.read_trading_state()
    assert [o.intent.intent_id for o in today] == ["b", "c"]
    assert [o.intent.intent_id for o in working] == ["c"]
    assert [(f.intent_id, f.qty) for f in fills_day1] == [("a", 10)]
    assert (position.qty, position.avg_price) == (6, 70_000)
    assert [(p.trade_date, p.realized_pnl) for p in pnl] == [(day2.date(), 4 * (71_000 - 70_000) - 40 - 568)]
    assert [e.kind for e in last_two] == ["denial", "reconnect"]
    assert [e.kind for e in since] == ["denial", "reconnect"]
    assert [(e.strategy, e.detail) for e in denials] == [("surge", {"rule": "max_positions"})]
    assert state.version == 0


@pytest.mark.anyio
async def test_reader_refuses_a_missing_journal_without_creating_one(tmp_path: Path) -> None:
    """`kiwoom-bot status` on a wrong path fails clearly and leaves no empty file behind."""
    missing = tmp_path / "nope.db"
    with pytest.raises(StoreFailed, match="no journal at"):
        async with StoreReader.open(missing):
            pass  # pragma: no cover
    assert not await anyio.Path(missing).exists()
