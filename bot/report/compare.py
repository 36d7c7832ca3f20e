"""Journal against broker: shares held per code (kt00018) and filled quantity and amount per order (ka10076).

Pure. The broker's fills query is cumulative per order at one price per row (the average, or the
only price), so an order's amount is compared with a tolerance below one won per share: an average
price rounded to the won can differ from the journal's exact total by less than the quantity.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.snapshots import Deposit, FillRecord, Holding
from bot.report.model import BrokerCheck, Comparison, Difference
from bot.store import FillRow, PositionRow


def journal_holdings(positions: Sequence[PositionRow]) -> dict[str, int]:
    """Shares per code over every strategy (the `_external` one included), flat codes left out."""
    held: dict[str, int] = {}
    for p in positions:
        held[p.code] = held.get(p.code, 0) + p.qty
    return {code: qty for code, qty in held.items() if qty}


def holding_differences(journal: dict[str, int], holdings: Sequence[Holding]) -> list[Difference]:
    """Codes whose share count differs between the journal and the broker."""
    broker = {h.code: h.qty for h in holdings if h.qty}
    return [
        Difference("holding", code, "", journal.get(code, 0), broker.get(code, 0))
        for code in sorted(set(journal) | set(broker))
        if journal.get(code, 0) != broker.get(code, 0)
    ]


def _journal_orders(fills: Sequence[FillRow]) -> dict[str, tuple[str, int, int]]:
    """order_no → (code, filled qty, filled amount) from the journal's fills."""
    out: dict[str, tuple[str, int, int]] = {}
    for f in fills:
        _, qty, amount = out.get(f.order_no, (f.code, 0, 0))
        out[f.order_no] = (f.code, qty + f.qty, amount + f.qty * f.price)
    return out


def _broker_orders(fills: Sequence[FillRecord]) -> dict[str, FillRecord]:
    """order_no → the broker's row with the most filled (rows are cumulative per order)."""
    out: dict[str, FillRecord] = {}
    for f in fills:
        if f.fill_qty > 0 and (f.order_no not in out or f.fill_qty > out[f.order_no].fill_qty):
            out[f.order_no] = f
    return out


def fill_differences(
    journal: Sequence[FillRow], broker: Sequence[FillRecord]
) -> tuple[list[Difference], int]:
    """Orders whose filled quantity (or amount) differs, and how many orders were compared."""
    ours, theirs = _journal_orders(journal), _broker_orders(broker)
    diffs: list[Difference] = []
    for order_no in sorted(set(ours) | set(theirs)):
        code, qty, amount = ours.get(order_no, ("", 0, 0))
        row = theirs.get(order_no)
        b_code, b_qty = (row.code, row.fill_qty) if row else ("", 0)
        b_amount = row.fill_qty * row.fill_price if row else 0
        if qty != b_qty:
            diffs.append(Difference("fill_qty", code or b_code, order_no, qty, b_qty))
        elif abs(amount - b_amount) >= max(1, qty):
            diffs.append(Difference("fill_amount", code or b_code, order_no, amount, b_amount))
    return diffs, len(set(ours) | set(theirs))


def compare(
    journal_fills: Sequence[FillRow],
    positions: Sequence[PositionRow],
    broker_fills: Sequence[FillRecord],
    holdings: Sequence[Holding],
    deposit: Deposit,
) -> BrokerCheck:
    """Every difference between the journal and the broker's view of today."""
    held = journal_holdings(positions)
    diffs = holding_differences(held, holdings)
    fill_diffs, orders = fill_differences(journal_fills, broker_fills)
    counted = _broker_orders(broker_fills).values()
    return BrokerCheck(
        status=Comparison.COMPARED,
        differences=tuple(diffs + fill_diffs),
        holdings_compared=len(set(held) | {h.code for h in holdings if h.qty}),
        orders_compared=orders,
        broker_fees=sum(f.fee for f in counted),
        broker_taxes=sum(f.tax for f in counted),
        deposit=deposit,
    )
