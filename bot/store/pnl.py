"""Position and realized P&L arithmetic under the average-cost method, in integer KRW.

A holding is `(qty, cost)`: the signed open quantity and the signed KRW cost of it (the sum of
`price × signed qty` of the lots still open, averaged). Applying a fill:

* same direction as the holding (or flat): the fill is added; `cost += price × signed qty`.
* opposite direction: up to `|qty|` of the holding is closed. The closed part carries
  `cost × closed / |qty|` of the cost (rounded up, so rounding never overstates a gain; a full close
  takes the whole remaining cost, so no rounding residue is left behind). Any excess opens a new
  holding in the fill's direction at the fill price.

Realized P&L of a fill = `sign(holding) × price × closed − closed cost − fee − tax`. For a sell that
closes a long this is exactly `(sell price − avg price) × qty − fee − tax of the sell`, with
`avg price = cost / qty` kept exact. Fees and taxes of a buy are realized when paid (a buy's realized
P&L is `−fee − tax`): the average price is the pure purchase price (Kiwoom's 매입단가), and the
daily realized P&L therefore includes every fee and tax paid that day — the conservative view a loss
limit needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.values import Side


@dataclass(frozen=True, slots=True)
class Holding:
    """A signed quantity and its signed KRW cost."""

    qty: int = 0
    cost: int = 0

    @property
    def avg_price(self) -> int:
        """`|cost| / |qty|` rounded half up; 0 when flat."""
        if self.qty == 0:
            return 0
        q, c = abs(self.qty), abs(self.cost)
        return (2 * c + q) // (2 * q)


def _ceil_div(numerator: int, denominator: int) -> int:
    return -((-numerator) // denominator)


def apply_trade(
    holding: Holding, side: Side, qty: int, price: int, fee: int, tax: int
) -> tuple[Holding, int]:
    """The holding after a fill, and the P&L the fill realized (net of its own fee and tax)."""
    if qty <= 0:
        raise ValueError(f"fill qty must be > 0, got {qty}")
    if price < 0 or fee < 0 or tax < 0:
        raise ValueError(f"fill price, fee and tax must be >= 0, got {price}, {fee}, {tax}")
    signed = qty if side is Side.BUY else -qty
    realized = -(fee + tax)
    if holding.qty == 0 or (holding.qty > 0) == (signed > 0):
        return Holding(holding.qty + signed, holding.cost + price * signed), realized
    held = abs(holding.qty)
    closed = min(qty, held)
    closed_cost = holding.cost if closed == held else _ceil_div(holding.cost * closed, held)
    direction = 1 if holding.qty > 0 else -1
    realized += direction * price * closed - closed_cost
    if qty > held:
        opened = qty - held
        opened_signed = opened if signed > 0 else -opened
        return Holding(opened_signed, price * opened_signed), realized
    return Holding(holding.qty + signed, holding.cost - closed_cost), realized
