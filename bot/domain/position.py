"""Position accounting shared by the portfolio and the journal, so both agree to the won.

Average-cost method on integers: a position keeps its total cost basis in KRW; a sell removes a
proportional share of the basis (the last share removes the rest, so nothing drifts). Realized
P&L is sell proceeds minus the basis removed, minus every fee and tax as it is paid (buy fees
included, at the time of the buy).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.domain.values import Side


@dataclass(frozen=True, slots=True)
class PositionState:
    """One holding of one strategy in one symbol."""

    qty: int = 0
    cost_basis: int = 0  # KRW paid for the shares still held (fees excluded)
    realized_pnl: int = 0  # KRW, after fees and taxes
    fees: int = 0
    taxes: int = 0

    @property
    def avg_price(self) -> int:
        """Average cost per share, rounded down to the won (0 when flat)."""
        return self.cost_basis // self.qty if self.qty else 0

    def unrealized_pnl(self, last_price: int) -> int:
        """Mark-to-market gain of the shares held, before exit costs."""
        return self.qty * last_price - self.cost_basis


def apply_fill(pos: PositionState, side: Side, qty: int, price: int, fee: int, tax: int) -> PositionState:
    """The position after one fill; selling more than held is refused (the engine halts on it)."""
    if qty <= 0 or price <= 0 or fee < 0 or tax < 0:
        raise ValueError(f"invalid fill: qty={qty} price={price} fee={fee} tax={tax}")
    if side is Side.BUY:
        return replace(
            pos,
            qty=pos.qty + qty,
            cost_basis=pos.cost_basis + qty * price,
            realized_pnl=pos.realized_pnl - fee - tax,
            fees=pos.fees + fee,
            taxes=pos.taxes + tax,
        )
    if qty > pos.qty:
        raise ValueError(f"sell of {qty} exceeds the {pos.qty} shares held")
    removed = pos.cost_basis if qty == pos.qty else pos.cost_basis * qty // pos.qty
    return replace(
        pos,
        qty=pos.qty - qty,
        cost_basis=pos.cost_basis - removed,
        realized_pnl=pos.realized_pnl + qty * price - removed - fee - tax,
        fees=pos.fees + fee,
        taxes=pos.taxes + tax,
    )
