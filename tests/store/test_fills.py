"""Fills: applied exactly once (I2), never beyond the order quantity (R7), all-or-nothing."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bot.clock import kst
from bot.domain.orders import IntentState
from bot.domain.values import Side
from bot.store import EXTERNAL_STRATEGY, FillConflict, FillSource, Overfill, Store, UnknownIntent

from .helpers import at, make_fill, make_intent, raw_counts


async def _accepted(store: Store, intent_id: str = "i1", qty: int = 10) -> None:
    await store.insert_intent(make_intent(intent_id, qty=qty, state=IntentState.ACCEPTED, order_no="0000101"))


@pytest.mark.anyio
async def test_same_fill_from_ws_then_rest_is_applied_once(journal_path: Path) -> None:
    """A fill seen on the WebSocket and again via REST gap-fill changes the journal once (R7, I2)."""
    async with Store.open(journal_path) as store:
        await _accepted(store)
        ws = make_fill("i1", "5001", qty=4, price=70_000, fee=42, when=at(1))
        rest = make_fill("i1", "5001", qty=4, price=70_000, fee=42, when=at(9), source=FillSource.REST)
        assert await store.apply_fill(ws) is True
        counts = await raw_counts(journal_path)
        assert await store.apply_fill(ws) is False
        assert await store.apply_fill(rest) is False
        assert await raw_counts(journal_path) == counts
        record = await store.get_intent("i1")
        (position,) = await store.positions()
        (fill,) = await store.fills()
    assert record is not None
    assert (record.filled_qty, record.filled_amount, record.fee, record.fill_nos) == (
        4,
        280_000,
        42,
        frozenset({"5001"}),
    )
    assert (position.qty, position.cost_basis, position.fees) == (4, 280_000, 42)
    assert (fill.source, fill.time, fill.realized_pnl) == (FillSource.WS, at(1), -42)


@pytest.mark.anyio
async def test_concurrent_duplicates_are_applied_once(journal_path: Path) -> None:
    """Twenty tasks racing to apply the same five fills record each fill exactly once."""
    results: list[bool] = []
    async with Store.open(journal_path) as store:
        await _accepted(store, qty=100)

        async def apply(n: int) -> None:
            fill = make_fill("i1", f"f{n % 5}", qty=n % 5 + 1, price=1_000, when=at(n))
            results.append(await store.apply_fill(fill))

        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(apply, n)
        record = await store.get_intent("i1")
        stats = store.writer_stats
    assert results.count(True) == 5
    assert record is not None and record.filled_qty == 1 + 2 + 3 + 4 + 5
    assert stats.transactions < stats.commands  # the burst was group-committed


@pytest.mark.anyio
async def test_overfill_raises_and_writes_nothing(journal_path: Path) -> None:
    """A fill that would exceed the order quantity raises Overfill; no row of any table changes."""
    async with Store.open(journal_path) as store:
        await _accepted(store, qty=10)
        await store.apply_fill(make_fill("i1", "1", qty=7, price=70_000, fee=10, when=at(1)))
        counts = await raw_counts(journal_path)
        before_intent = await store.get_intent("i1")
        before_positions = await store.positions()
        with pytest.raises(Overfill, match="to 11 filled of 10 ordered"):
            await store.apply_fill(make_fill("i1", "2", qty=4, price=70_000, fee=10, when=at(2)))
        assert await raw_counts(journal_path) == counts
        assert await store.get_intent("i1") == before_intent
        assert await store.positions() == before_positions
        assert store.failed is None
        assert (
            await store.apply_fill(
                make_fill("i1", "3", qty=3, price=70_000, when=at(3)), new_state=IntentState.FILLED
            )
            is True
        )
        record = await store.get_intent("i1")
    assert record is not None and (record.filled_qty, record.state) == (10, IntentState.FILLED)


@pytest.mark.anyio
async def test_conflicting_fills_are_refused(journal_path: Path) -> None:
    """A known fill key with another quantity, or a fill of the wrong code/side, is a conflict."""
    async with Store.open(journal_path) as store:
        await _accepted(store)
        await store.apply_fill(make_fill("i1", "1", qty=2, price=70_000, when=at(1)))
        counts = await raw_counts(journal_path)
        with pytest.raises(FillConflict, match="recorded as 2@70000"):
            await store.apply_fill(make_fill("i1", "1", qty=3, price=70_000, when=at(2)))
        with pytest.raises(FillConflict, match="is sell 005930 but intent i1 is buy"):
            await store.apply_fill(make_fill("i1", "2", qty=1, price=70_000, side=Side.SELL, when=at(2)))
        with pytest.raises(UnknownIntent):
            await store.apply_fill(make_fill("ghost", "3", qty=1, price=70_000, when=at(2)))
        assert await raw_counts(journal_path) == counts


@pytest.mark.anyio
async def test_fill_key_is_scoped_to_the_trading_day(journal_path: Path) -> None:
    """The same order and fill numbers on another KST day are another fill (numbers restart daily)."""
    day2 = kst(2026, 3, 3, 9, 30)
    async with Store.open(journal_path) as store:
        await _accepted(store, "d1")
        await store.insert_intent(
            make_intent("d2", when=day2, state=IntentState.ACCEPTED, order_no="0000101")
        )
        assert await store.apply_fill(make_fill("d1", "1", qty=1, price=70_000, when=at(1)))
        assert await store.apply_fill(make_fill("d2", "1", qty=1, price=71_000, when=day2))
        fills = await store.fills(trade_date=day2.date())
    assert [(f.intent_id, f.price) for f in fills] == [("d2", 71_000)]


@pytest.mark.anyio
async def test_external_order_fills_go_to_the_external_position(journal_path: Path) -> None:
    """Fills of an order placed outside the bot (HTS) are booked under the reserved `_external` name."""
    async with Store.open(journal_path) as store:
        await store.insert_intent(
            make_intent(
                "ext-1", strategy="manual", external=True, state=IntentState.ACCEPTED, order_no="0000900"
            )
        )
        await store.apply_fill(make_fill("ext-1", "1", order_no="0000900", qty=5, price=70_000, when=at(1)))
        positions = await store.positions()
        (fill,) = await store.fills(intent_id="ext-1")
    assert [(p.strategy, p.code, p.qty) for p in positions] == [(EXTERNAL_STRATEGY, "005930", 5)]
    assert fill.strategy == EXTERNAL_STRATEGY
