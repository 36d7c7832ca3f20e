"""Position accounting shared by the portfolio and the journal, so both agree to the won.

Average-cost method on integers. A holding is a signed quantity and the signed KRW cost of it.
A fill in the holding's direction (or from flat) adds `price × qty` to the cost. A fill against it
closes up to the held quantity, removing `cost × closed / held` rounded *up* (rounding never
overstates a gain; a full close removes exactly the rest, so nothing drifts); any excess opens a
new holding at the fill price — recorded, because the journal must hold the broker's truth, and
flagged by the engine, which never sells short on purpose.

Realized P&L of a fill = direction × price × closed − closed cost − fee − tax. For a sell closing a
long this is `(sell price − avg price) × qty − fee − tax`. Fees and taxes of a buy are realized
when paid, so a day's realized P&L includes every cost paid that day (what a loss limit needs),
and the average price stays the pure purchase price (Kiwoom's 매입단가).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.values import Side


@dataclass(frozen=True, slots=True)
class PositionState:
    """One holding of one strategy in one symbol (qty < 0 only if the broker reported an oversell)."""

    qty: int = 0
    cost_basis: int = 0  # signed KRW cost of the shares still held (fees excluded)
    realized_pnl: int = 0  # KRW, after fees and taxes
    fees: int = 0
    taxes: int = 0

    @property
    def avg_price(self) -> int:
        """Average cost per share, rounded half up (0 when flat)."""
        if self.qty == 0:
            return 0
        q, c = abs(self.qty), abs(self.cost_basis)
        return (2 * c + q) // (2 * q)

    def unrealized_pnl(self, last_price: int) -> int:
        """Mark-to-market gain of the shares held, before exit costs."""
        return self.qty * last_price - self.cost_basis


def close_cost(qty_held: int, cost: int, closed: int) -> int:
    """The cost closing `closed` of `qty_held` shares removes: rounded up, all of it on a full close."""
    if closed == qty_held:
        return cost
    return -((-cost * closed) // qty_held)


def apply_fill(pos: PositionState, side: Side, qty: int, price: int, fee: int, tax: int) -> PositionState:
    """The position after one fill, with the fill's realized P&L (net of its own fee and tax) booked."""
    if qty <= 0:
        raise ValueError(f"fill qty must be > 0, got {qty}")
    if price < 0 or fee < 0 or tax < 0:
        raise ValueError(f"fill price, fee and tax must be >= 0, got {price}, {fee}, {tax}")
    signed = qty if side is Side.BUY else -qty
    realized = -(fee + tax)
    if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
        new_qty, new_cost = pos.qty + signed, pos.cost_basis + price * signed
    else:
        held = abs(pos.qty)
        closed = min(qty, held)
        removed = close_cost(held, pos.cost_basis, closed)
        realized += (1 if pos.qty > 0 else -1) * price * closed - removed
        if qty > held:
            opened = (qty - held) * (1 if signed > 0 else -1)
            new_qty, new_cost = opened, price * opened
        else:
            new_qty, new_cost = pos.qty + signed, pos.cost_basis - removed
    return PositionState(
        qty=new_qty,
        cost_basis=new_cost,
        realized_pnl=pos.realized_pnl + realized,
        fees=pos.fees + fee,
        taxes=pos.taxes + tax,
    )
