"""Intents: committed before `insert_intent` returns, every change recorded in intent_events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import kst
from bot.domain.orders import IntentState
from bot.domain.values import Side
from bot.store import DuplicateIntent, Store, StoreReader, UnknownIntent

from .helpers import T0, at, make_fill, make_intent, raw_counts


@pytest.mark.anyio
async def test_inserted_intent_is_visible_to_another_connection_when_insert_returns(
    journal_path: Path,
) -> None:
    """`insert_intent` returns only after COMMIT: a separate read-only connection already sees it."""
    async with Store.open(journal_path) as store, StoreReader.open(journal_path) as cli:
        for n in range(5):
            await store.insert_intent(make_intent(f"i{n}", qty=n + 1, when=at(n)))
            seen = await cli.get_intent(f"i{n}")
            assert seen is not None and seen.command.qty == n + 1 and seen.state is IntentState.PENDING_SEND
        assert store.writer_stats.transactions == 5 and store.writer_stats.largest_batch == 1


@pytest.mark.anyio
async def test_every_transition_is_recorded_in_intent_events(journal_path: Path) -> None:
    """Each state change adds one history row with from/to state, order number, time and detail."""
    async with Store.open(journal_path) as store:
        await store.insert_intent(make_intent("i1"))
        await store.transition_intent("i1", IntentState.SENT, time=at(1))
        await store.transition_intent("i1", IntentState.UNKNOWN, time=at(2), detail="POST timed out")
        await store.transition_intent("i1", IntentState.ACCEPTED, time=at(3), order_no="0000101")
        await store.transition_intent("i1", IntentState.CANCELED, time=at(4), detail="operator cancel")
        record = await store.get_intent("i1")
        events = await store.intent_events("i1")
        orders = await store.orders(trade_date=T0.date())
    assert record is not None
    assert (record.state, record.order_no) == (IntentState.CANCELED, "0000101")
    assert [(e.kind, e.from_state, e.to_state, e.order_no, e.time) for e in events] == [
        ("created", None, IntentState.PENDING_SEND, "", at(0)),
        ("state", IntentState.PENDING_SEND, IntentState.SENT, "", at(1)),
        ("state", IntentState.SENT, IntentState.UNKNOWN, "", at(2)),
        ("state", IntentState.UNKNOWN, IntentState.ACCEPTED, "0000101", at(3)),
        ("state", IntentState.ACCEPTED, IntentState.CANCELED, "0000101", at(4)),
    ]
    assert events[2].detail == "POST timed out" and events[0].detail == "test entry"
    assert [o.updated_at for o in orders] == [at(4)]


@pytest.mark.anyio
async def test_order_numbers_are_unique_per_trading_day(journal_path: Path) -> None:
    """An order number names one intent per KST day; Kiwoom restarts numbering the next day."""
    next_day = kst(2026, 3, 3, 9, 0, 0)
    async with Store.open(journal_path) as store:
        await store.insert_intent(make_intent("a", state=IntentState.ACCEPTED, order_no="0000001"))
        await store.insert_intent(make_intent("b"))
        with pytest.raises(DuplicateIntent, match="0000001 already belongs to another intent on 2026-03-02"):
            await store.transition_intent("b", IntentState.ACCEPTED, time=at(5), order_no="0000001")
        await store.insert_intent(
            make_intent("c", when=next_day, state=IntentState.ACCEPTED, order_no="0000001")
        )
        found_today = await store.find_intent_by_order_no("0000001", trade_date=T0.date())
        found_next = await store.find_intent_by_order_no("0000001", trade_date=next_day.date())
        missing = await store.find_intent_by_order_no("0000001", trade_date=kst(2026, 3, 4).date())
        b = await store.get_intent("b")
        assert store.failed is None
    assert found_today is not None and found_today.intent_id == "a"
    assert found_next is not None and found_next.intent_id == "c"
    assert missing is None
    assert b is not None and (b.state, b.order_no) == (IntentState.PENDING_SEND, "")


@pytest.mark.anyio
async def test_duplicate_and_unknown_intents_are_refused_without_harm(journal_path: Path) -> None:
    """A reused intent id or an unknown one raises a conflict; nothing is written and writes continue."""
    async with Store.open(journal_path) as store:
        await store.insert_intent(make_intent("i1"))
        before = await raw_counts(journal_path)
        with pytest.raises(DuplicateIntent, match="intent i1 is already recorded"):
            await store.insert_intent(make_intent("i1", qty=99))
        with pytest.raises(UnknownIntent, match="no intent nope"):
            await store.transition_intent("nope", IntentState.SENT, time=at(1))
        assert await raw_counts(journal_path) == before
        assert store.failed is None
        await store.insert_intent(make_intent("i2"))
        record = await store.get_intent("i1")
    assert record is not None and record.command.qty == 10


@pytest.mark.anyio
async def test_working_intents_are_loaded_with_their_fill_numbers(journal_path: Path) -> None:
    """Startup recovery gets every working intent (oldest first) with the fill numbers already applied."""
    async with Store.open(journal_path) as store:
        await store.insert_intent(
            make_intent("done", when=at(0), state=IntentState.ACCEPTED, order_no="0000001")
        )
        await store.transition_intent("done", IntentState.REJECTED, time=at(1))
        await store.insert_intent(
            make_intent("part", when=at(2), state=IntentState.ACCEPTED, order_no="0000002")
        )
        await store.apply_fill(make_fill("part", "11", order_no="0000002", qty=3, price=70_000, when=at(3)))
        await store.apply_fill(
            make_fill("part", "12", order_no="0000002", qty=2, price=70_000, when=at(4)),
            new_state=IntentState.PARTIALLY_FILLED,
        )
        await store.insert_intent(make_intent("unk", when=at(5), side=Side.SELL))
        await store.transition_intent("unk", IntentState.UNKNOWN, time=at(6))
        working = await store.load_working_intents()
        open_orders = await store.orders(working_only=True)
    assert [(r.intent_id, r.state, r.filled_qty, r.fill_nos) for r in working] == [
        ("part", IntentState.PARTIALLY_FILLED, 5, frozenset({"11", "12"})),
        ("unk", IntentState.UNKNOWN, 0, frozenset()),
    ]
    assert [o.intent.intent_id for o in open_orders] == ["part", "unk"]


@pytest.mark.anyio
async def test_bad_intents_are_refused_before_reaching_the_writer(journal_path: Path) -> None:
    """Naive times, bad numbers, unknown enum values and wrong types are refused, naming the field."""
    async with Store.open(journal_path) as store:
        with pytest.raises(ValueError, match="created_at must be a timezone-aware datetime"):
            await store.insert_intent(make_intent("n", when=datetime(2026, 3, 2, 9)))
        with pytest.raises(ValueError, match="qty must be >= 1, got 0"):
            await store.insert_intent(make_intent("q", qty=0))
        with pytest.raises(ValueError, match="price must be an int, got float"):
            await store.insert_intent(make_intent("p", price=70_000.0))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="stock code"):
            await store.insert_intent(make_intent("c", code="5930"))
        with pytest.raises(ValueError, match="order_no must be None"):
            await store.transition_intent("x", IntentState.ACCEPTED, time=at(1), order_no="")
        with pytest.raises(ValueError, match="'sideways' is not a valid Side"):
            await store.apply_fill(make_fill("x", "1", qty=1, price=1, side="sideways"))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="fill fee must be >= 0"):
            await store.apply_fill(make_fill("x", "1", qty=1, price=1, fee=-1))
        with pytest.raises(ValueError, match="strategy and code must be strings"):
            await store.append_journal("denial", None, time=at(1), strategy=None)  # type: ignore[arg-type]
        assert store.writer_stats.commands == 0
    assert (await raw_counts(journal_path))["intents"] == 0
