"""Average-cost positions and realized P&L in integer KRW, fees and taxes included."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import kst
from bot.domain.orders import IntentState
from bot.domain.values import Side
from bot.store import Store
from bot.store.pnl import Holding, apply_trade

from .helpers import at, make_fill, make_intent


def test_sell_realizes_price_minus_average_cost_minus_its_fee_and_tax() -> None:
    """(sell − avg) × qty − fee − tax of the sell; buy fees are realized when paid."""
    h, r1 = apply_trade(Holding(), Side.BUY, 10, 10_000, 15, 0)
    h, r2 = apply_trade(h, Side.BUY, 10, 11_000, 16, 0)
    assert (h.qty, h.cost_basis, h.avg_price, r1, r2) == (20, 210_000, 10_500, -15, -16)
    h, r3 = apply_trade(h, Side.SELL, 5, 12_000, 9, 108)
    assert r3 == (12_000 - 10_500) * 5 - 9 - 108 == 7_383
    assert (h.qty, h.cost_basis, h.avg_price) == (15, 157_500, 10_500)


def test_rounding_never_overstates_a_gain_and_leaves_no_residue() -> None:
    """A fractional average cost is rounded against the gain per partial sell; the last sell settles it."""
    h, _ = apply_trade(Holding(), Side.BUY, 3, 1_000, 0, 0)
    h, _ = apply_trade(h, Side.BUY, 1, 1_001, 0, 0)
    assert (h.cost_basis, h.avg_price) == (4_001, 1_000)  # exact average 1000.25
    h, r1 = apply_trade(h, Side.SELL, 1, 1_100, 0, 0)
    assert r1 == 1_100 - 1_001  # cost share ceil(4001 / 4) = 1001
    h, r2 = apply_trade(h, Side.SELL, 3, 1_100, 0, 0)
    assert (h.qty, h.cost_basis) == (0, 0)
    assert r1 + r2 == 4 * 1_100 - 4_001


def test_selling_more_than_held_flips_to_a_short_at_the_fill_price() -> None:
    """An oversell closes the holding and opens the excess short; covering realizes (avg − price) × qty."""
    h, r1 = apply_trade(Holding(3, 30_000), Side.SELL, 5, 12_000, 0, 0)
    assert (h.qty, h.cost_basis, r1) == (-2, -24_000, (12_000 - 10_000) * 3)
    h, r2 = apply_trade(h, Side.BUY, 2, 11_500, 7, 0)
    assert (h.qty, h.cost_basis, r2) == (0, 0, (12_000 - 11_500) * 2 - 7)


def test_bad_trade_numbers_are_refused() -> None:
    """Quantities must be positive and prices, fees and taxes non-negative."""
    with pytest.raises(ValueError, match="qty must be > 0"):
        apply_trade(Holding(), Side.BUY, 0, 1_000, 0, 0)
    with pytest.raises(ValueError, match=">= 0"):
        apply_trade(Holding(), Side.BUY, 1, 1_000, -1, 0)


@pytest.mark.anyio
async def test_store_books_positions_and_daily_pnl_from_fills(journal_path: Path) -> None:
    """Fills over two days produce the position, per-fill realized P&L and the daily P&L table."""
    day2 = kst(2026, 3, 3, 10, 0)
    async with Store.open(journal_path) as store:
        await store.insert_intent(
            make_intent("b1", qty=20, price=10_000, state=IntentState.ACCEPTED, order_no="0000001")
        )
        await store.apply_fill(
            make_fill("b1", "1", order_no="0000001", qty=10, price=10_000, fee=15, when=at(1))
        )
        await store.apply_fill(
            make_fill("b1", "2", order_no="0000001", qty=10, price=11_000, fee=16, when=at(2)),
            new_state=IntentState.FILLED,
        )
        await store.insert_intent(
            make_intent(
                "s1",
                side=Side.SELL,
                qty=15,
                price=12_000,
                when=at(3),
                state=IntentState.ACCEPTED,
                order_no="0000002",
            )
        )
        await store.apply_fill(
            make_fill(
                "s1", "3", order_no="0000002", side=Side.SELL, qty=5, price=12_000, fee=9, tax=108, when=at(4)
            )
        )
        await store.insert_intent(
            make_intent(
                "s2",
                side=Side.SELL,
                qty=15,
                price=9_000,
                when=day2,
                state=IntentState.ACCEPTED,
                order_no="0000001",
            )
        )
        await store.apply_fill(
            make_fill(
                "s2", "1", order_no="0000001", side=Side.SELL, qty=15, price=9_000, fee=20, tax=243, when=day2
            )
        )
        position = await store.position("surge", "005930")
        open_positions = await store.positions()
        daily = await store.daily_pnl()
        only_day2 = await store.daily_pnl(start=day2.date(), end=day2.date())
        sells = [f.realized_pnl for f in await store.fills() if f.side is Side.SELL]
    assert sells == [7_383, (9_000 - 10_500) * 15 - 20 - 243]
    assert position is not None
    assert (position.qty, position.cost_basis, position.avg_price) == (0, 0, 0)
    assert (position.fees, position.taxes) == (15 + 16 + 9 + 20, 108 + 243)
    assert position.realized_pnl == -15 - 16 + 7_383 + (9_000 - 10_500) * 15 - 20 - 243 == -15_411
    assert position.realized_pnl == 5 * 12_000 + 15 * 9_000 - 210_000 - 60 - 351
    assert open_positions == []
    assert [
        (d.trade_date.day, d.realized_pnl, d.fees, d.taxes, d.buy_amount, d.sell_amount, d.fills)
        for d in daily
    ] == [
        (2, -15 - 16 + 7_383, 40, 108, 210_000, 60_000, 3),
        (3, -22_763, 20, 243, 0, 135_000, 1),
    ]
    assert [d.trade_date for d in only_day2] == [day2.date()]


@pytest.mark.anyio
async def test_adjust_position_records_what_reconciliation_found(journal_path: Path) -> None:
    """Adopting a broker holding sets the position and journals the before and after."""
    async with Store.open(journal_path) as store:
        row = await store.adjust_position(
            "_external", "000660", qty=7, avg_price=180_000, time=at(1), reason="holding found at startup"
        )
        (entry,) = await store.journal(kind="position_adjusted")
    assert (row.qty, row.cost_basis, row.avg_price, row.realized_pnl) == (7, 1_260_000, 180_000, 0)
    assert entry.detail == {
        "reason": "holding found at startup",
        "before": None,
        "after": {"qty": 7, "avg_price": 180_000},
    }
    assert (entry.strategy, entry.code, entry.time) == ("_external", "000660", at(1))
