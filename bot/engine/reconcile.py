"""Reconciliation: compare what the engine believes with what the broker reports, and say what to fix.

Run at startup (before any strategy sees an event) and after every reconnect (design §7.2, R1, R10).
Pure: it takes the engine's orders and positions and the broker's open orders, fills and holdings,
and returns the facts to merge. The broker's view wins for what happened; the journal keeps who
did it. Kiwoom's fills query has no fill numbers, so fills are merged as cumulative quantities
(`OrderFacts.with_cum_fill`), which makes a fill seen on the WebSocket and again here count once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.snapshots import FillRecord, Holding, OpenOrder
from bot.domain.values import Side
from bot.engine.portfolio import WorkingOrder


@dataclass(frozen=True, slots=True)
class OrderSync:
    """What the broker says about one of our orders (matched by number, or adopted by shape)."""

    intent_id: str
    order_no: str
    cum_qty: int
    cum_amount: int
    still_open: bool


@dataclass(frozen=True, slots=True)
class HoldingDiff:
    """A symbol whose broker quantity differs from the engine's: the difference is external."""

    code: str
    name: str
    broker_qty: int
    engine_qty: int
    avg_price: int


@dataclass(slots=True)
class ReconcileResult:
    """What matching the orders found; the kernel applies it, then compares holdings (`holding_diffs`)."""

    syncs: list[OrderSync] = field(default_factory=list)
    external_orders: list[OpenOrder] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # unacknowledged intents not found at the broker


def _shape(side: Side, code: str, qty: int, price: int) -> tuple[Side, str, int, int]:
    return (side, code, qty, price)


def reconcile_orders(
    orders: list[WorkingOrder], open_orders: list[OpenOrder], fills: list[FillRecord]
) -> ReconcileResult:
    """Match the engine's working orders against the broker's open orders and fills."""
    result = ReconcileResult()
    open_by_no = {o.order_no: o for o in open_orders}
    fill_by_no = {f.order_no: f for f in fills}
    known_nos = {o.order_no for o in orders if o.order_no}
    claimed: set[str] = set()

    for order in orders:
        order_no = order.order_no
        if not order_no:  # SENT / UNKNOWN: adopt a broker order of the same shape nobody owns
            want = _shape(order.side, order.code, order.qty, order.price)
            candidates = [
                o.order_no
                for o in open_orders
                if o.order_no not in known_nos
                and o.order_no not in claimed
                and _shape(o.side, o.code, o.order_qty, o.order_price) == want
            ] + [
                f.order_no
                for f in fills
                if f.order_no not in known_nos
                and f.order_no not in claimed
                and f.order_no not in open_by_no
                and _shape(f.side, f.code, f.order_qty, f.order_price) == want
            ]
            if not candidates:
                result.missing.append(order.intent_id)
                continue
            order_no = candidates[0]
            claimed.add(order_no)
        live = open_by_no.get(order_no)
        done = fill_by_no.get(order_no)
        if live is not None:
            result.syncs.append(
                OrderSync(order.intent_id, order_no, live.filled_qty, live.cum_fill_amount, still_open=True)
            )
        elif done is not None:
            result.syncs.append(
                OrderSync(order.intent_id, order_no, done.fill_qty, done.fill_qty * done.fill_price, False)
            )
        else:  # numbered but neither open nor filled: canceled or rejected with nothing filled
            result.syncs.append(OrderSync(order.intent_id, order_no, 0, 0, still_open=False))

    for o in open_orders:
        if o.order_no not in known_nos and o.order_no not in claimed:
            result.external_orders.append(o)
    return result


def holding_diffs(holdings: list[Holding], engine_qty_by_code: dict[str, int]) -> list[HoldingDiff]:
    """Symbols whose broker quantity differs from the engine's (run after the order syncs are applied)."""
    diffs: list[HoldingDiff] = []
    broker_qty = {h.code: h for h in holdings}
    for code in sorted(set(broker_qty) | {c for c, q in engine_qty_by_code.items() if q}):
        held = broker_qty.get(code)
        qty = held.qty if held else 0
        if qty != engine_qty_by_code.get(code, 0):
            diffs.append(
                HoldingDiff(
                    code,
                    held.name if held else code,
                    qty,
                    engine_qty_by_code.get(code, 0),
                    held.avg_price if held else 0,
                )
            )
    return diffs
