"""The journal's position arithmetic: the shared average-cost rules of `bot.domain.position`.

Kept as a thin adapter so the journal and the live portfolio can never disagree by a won.
"""

from __future__ import annotations

from bot.domain.position import PositionState, apply_fill
from bot.domain.values import Side

Holding = PositionState


def apply_trade(
    holding: Holding, side: Side, qty: int, price: int, fee: int, tax: int
) -> tuple[Holding, int]:
    """The holding after a fill, and the P&L the fill realized (net of its own fee and tax)."""
    after = apply_fill(holding, side, qty, price, fee, tax)
    return after, after.realized_pnl - holding.realized_pnl
