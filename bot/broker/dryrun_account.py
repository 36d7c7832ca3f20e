"""The dry-run account: cash, positions and the costs of each fill, in whole won.

Costs come from `CostModel` on the order's *cumulative* filled amount, floored to the won, like the
simulator does and like Kiwoom's per-order FIDs 938/939 read: the cost of a fill is the growth of the
order's totals, so partial fills never round differently from one fill of the same total.
Settlement is not modelled: cash moves at the fill (D+1 and D+2 estimates equal the cash now).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.broker.dryrun_model import DryOrder, SymbolFacts
from bot.domain.snapshots import Deposit, Holding
from bot.domain.values import Side
from bot.market.costs import CostModel, commission


@dataclass(slots=True)
class Position:
    """Shares of one code and what they cost (purchase amount without fees, as brokers show it)."""

    code: str
    name: str
    qty: int = 0
    purchase_amount: int = 0
    realized: int = 0  # sales minus their share of the purchase amount, fees and tax

    @property
    def avg_price(self) -> int:
        """Average purchase price, rounded down to the won."""
        return self.purchase_amount // self.qty if self.qty else 0


class DryAccount:
    """Cash and positions moved by local fills; answers deposit and holdings snapshots."""

    def __init__(self, cash: int, costs: CostModel) -> None:
        self.initial_cash = cash
        self.cash = cash
        self.costs = costs
        self.positions: dict[str, Position] = {}

    def with_fee(self, amount: int) -> int:
        """`amount` plus the buy commission on it: what a buy of that value needs in cash."""
        return amount + commission(amount, self.costs.commission_rate)

    def max_buyable(self, available: int, unit_price: int) -> int:
        """The most shares at `unit_price` whose value plus commission fits in `available`."""
        if unit_price <= 0 or available <= 0:
            return 0
        n = available // unit_price
        while n > 0 and self.with_fee(unit_price * n) > available:
            n -= 1
        return n

    def sellable(self, code: str, offered: int) -> int:
        """Shares of `code` held and not already offered by working sell orders."""
        pos = self.positions.get(code)
        return (pos.qty if pos else 0) - offered

    def book_fill(self, order: DryOrder, price: int, qty: int, facts: SymbolFacts, trade_date: date) -> None:
        """Apply one fill to the order's totals, the cash and the position."""
        amount = price * qty
        order.open_qty -= qty
        order.filled_qty += qty
        order.filled_amount += amount
        fee_total = commission(order.filled_amount, self.costs.commission_rate)
        tax_total = 0
        if order.side is Side.SELL:
            tax_total = self.costs.taxes.tax(
                order.filled_amount, trade_date, facts.market, tax_exempt=facts.tax_exempt
            )
        fee, tax = fee_total - order.fee, tax_total - order.tax
        order.fee, order.tax = fee_total, tax_total
        pos = self.positions.setdefault(order.code, Position(order.code, order.name))
        if order.name and not pos.name:
            pos.name = order.name
        if order.side is Side.BUY:
            self.cash -= amount + fee
            pos.qty += qty
            pos.purchase_amount += amount
        else:
            self.cash += amount - fee - tax
            cost = pos.purchase_amount * qty // pos.qty if pos.qty else 0
            pos.purchase_amount -= cost
            pos.qty -= qty
            pos.realized += amount - cost - fee - tax

    def deposit(self, reserved: int) -> Deposit:
        """예수금 as Kiwoom shows it: the day's starting cash, cash after fills, and what is orderable."""
        orderable = max(0, self.cash - reserved)
        return Deposit(
            cash=self.initial_cash,
            d1_cash=self.cash,
            d2_cash=self.cash,
            orderable=orderable,
            withdrawable=orderable,
        )

    def holdings(
        self, facts: dict[str, SymbolFacts], offered: dict[str, int], trade_date: date
    ) -> list[Holding]:
        """Positions with shares; P&L is after estimated buy/sell commission and sell tax, as kt00018."""
        out = []
        for pos in self._held():
            sym = facts.get(pos.code)
            price = (sym.last_price() if sym else 0) or pos.avg_price
            evaluation = price * pos.qty
            sell_cost = 0
            if sym is not None:
                sell_cost = self.costs.sell_cost(
                    evaluation, trade_date, sym.market, tax_exempt=sym.tax_exempt
                )
            pnl = evaluation - pos.purchase_amount - self.costs.buy_cost(pos.purchase_amount) - sell_cost
            out.append(
                Holding(
                    code=pos.code,
                    name=pos.name,
                    qty=pos.qty,
                    sellable_qty=max(0, pos.qty - offered.get(pos.code, 0)),
                    avg_price=pos.avg_price,
                    price=price,
                    purchase_amount=pos.purchase_amount,
                    eval_amount=evaluation,
                    pnl=pnl,
                    pnl_rate_bp=_rate_bp(pnl, pos.purchase_amount),
                )
            )
        return out

    def _held(self) -> Iterable[Position]:
        return (p for p in self.positions.values() if p.qty > 0)


def _rate_bp(part: int, whole: int) -> int:
    """`part / whole` in basis points, truncated toward zero (0 when `whole` is 0)."""
    if whole <= 0:
        return 0
    magnitude = abs(part) * 10_000 // whole
    return magnitude if part >= 0 else -magnitude
