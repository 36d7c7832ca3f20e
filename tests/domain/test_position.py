"""Average-cost position accounting in integer KRW."""

from __future__ import annotations

from bot.domain.position import PositionState, apply_fill
from bot.domain.values import Side


def test_round_trip_pnl_after_fees_and_tax() -> None:
    """Buy 100 @ 70,000 and sell 100 @ 71,000 with 0.015 % fees and 0.20 % tax nets the exact won."""
    pos = apply_fill(PositionState(), Side.BUY, 100, 70_000, fee=1_050, tax=0)
    assert (pos.qty, pos.avg_price, pos.realized_pnl) == (100, 70_000, -1_050)
    pos = apply_fill(pos, Side.SELL, 100, 71_000, fee=1_065, tax=14_200)
    assert pos.qty == 0 and pos.cost_basis == 0
    assert pos.realized_pnl == 100 * 1_000 - 1_050 - 1_065 - 14_200 == 83_685


def test_partial_sells_remove_basis_without_drift() -> None:
    """Three unequal buys and three sells leave exactly zero basis and the exact realized sum."""
    pos = PositionState()
    for qty, price in ((3, 10_010), (5, 10_020), (7, 10_040)):
        pos = apply_fill(pos, Side.BUY, qty, price, fee=0, tax=0)
    total_cost = 3 * 10_010 + 5 * 10_020 + 7 * 10_040
    assert pos.cost_basis == total_cost and pos.avg_price == total_cost // 15
    proceeds = 0
    for qty, price in ((4, 10_100), (4, 10_050), (7, 9_990)):
        pos = apply_fill(pos, Side.SELL, qty, price, fee=0, tax=0)
        proceeds += qty * price
    assert pos.qty == 0 and pos.cost_basis == 0
    assert pos.realized_pnl == proceeds - total_cost


def test_partial_close_rounds_the_removed_cost_up() -> None:
    """Selling 1 of 3 shares bought for 10,001 total removes 3,334 (never overstating the gain)."""
    pos = PositionState(qty=3, cost_basis=10_001)
    after = apply_fill(pos, Side.SELL, 1, 3_334, fee=0, tax=0)
    assert (after.qty, after.cost_basis, after.realized_pnl) == (2, 6_667, 0)


def test_oversell_is_recorded_as_a_short() -> None:
    """A broker-reported sell beyond the holding is recorded truthfully: the excess opens a short."""
    pos = apply_fill(PositionState(), Side.BUY, 1, 5_000, fee=0, tax=0)
    after = apply_fill(pos, Side.SELL, 3, 5_100, fee=0, tax=0)
    assert (after.qty, after.cost_basis, after.realized_pnl) == (-2, -10_200, 100)
