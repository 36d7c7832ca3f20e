"""Order events into the portfolio: broker pushes matched to our intents, fills booked once.

Kiwoom reports fills as cumulative quantities and amounts per order; `_book_fill` merges a report
and books only what it adds, so a fill seen on the WebSocket and again by reconciliation counts once.
"""

from __future__ import annotations

import structlog

from bot.domain.account import OrderAction, OrderEvent, OrderStatus
from bot.domain.orders import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
)
from bot.domain.values import Side, TradingState
from bot.engine.kernel_core import KernelCore
from bot.engine.orderstate import Overfill
from bot.engine.portfolio import EXTERNAL, WorkingOrder
from bot.market.costs import Market, commission
from bot.store import Fill, FillSource

log = structlog.get_logger(__name__)


class FillBooking(KernelCore):
    """Applies broker order events (접수, 체결, 확인, 거부) to the working orders and positions."""

    async def _on_accepted(self, event: OrderAccepted) -> None:
        order = self._update(event.intent_id, lambda f: f.with_order_no(event.order_no))
        if order is not None:
            self.sink(event)
        for pending in self._orphans.pop(event.order_no, []):
            await self._on_order_event(pending, FillSource.WS)
        self._release_cancel(event.intent_id)

    def _match_unnumbered(self, ev: OrderEvent) -> WorkingOrder | None:
        """An order we sent but whose number we do not know yet, of exactly this shape."""
        matches = [
            o
            for o in self.portfolio.working(code=ev.code)
            if not o.order_no and o.side is ev.side and o.qty == ev.order_qty and o.price == ev.order_price
        ]
        return matches[0] if len(matches) == 1 else None

    async def _on_order_event(self, ev: OrderEvent, source: FillSource) -> None:
        if ev.action is OrderAction.CANCEL:
            if ev.status in (OrderStatus.CONFIRMED, OrderStatus.CANCELED):
                original = self.portfolio.by_order_no(ev.orig_order_no)
                if original is not None and original.state.is_working:
                    remaining = original.remaining_qty
                    self.portfolio.set_facts(original.intent_id, original.facts.with_canceled())
                    await self._journal_state(original.intent_id, "canceled")
                    canceled = OrderCanceled(
                        original.intent_id,
                        original.strategy,
                        original.order_no,
                        original.code,
                        original.side,
                        remaining,
                        self.clock.now(),
                    )
                    self.sink(canceled)
                    self._to_owner(original.strategy, canceled)
            return
        if ev.action is OrderAction.MODIFY and ev.status is not OrderStatus.FILLED:
            # The bot never modifies (it cancels and re-enters); a modify from HTS is reconciled.
            log.warning("modify_event_ignored", order_no=ev.order_no, orig=ev.orig_order_no)
            self._schedule_reconcile("external_modify")
            return
        order = self.portfolio.by_order_no(ev.order_no)
        if order is None:
            order = self._match_unnumbered(ev)
            if order is not None:
                order = self.portfolio.set_facts(order.intent_id, order.facts.with_order_no(ev.order_no))
                await self._journal_state(order.intent_id, "order number from the 접수 push", ev.order_no)
                self._release_cancel(order.intent_id)
        if order is None:
            # Ours whose REST reply is still on the way, or an order placed outside the bot: the
            # reply replays it, else the broker's view (reconciliation) adopts it as external.
            self._orphans.setdefault(ev.order_no, []).append(ev)
            self._schedule_reconcile("unknown_order_event")
            return
        if ev.status is OrderStatus.REJECTED:
            self.portfolio.set_facts(order.intent_id, order.facts.with_rejected())
            await self._journal_state(order.intent_id, f"거부 push: {ev.reject_reason}")
            rejected = OrderRejected(
                order.intent_id, order.strategy, order.code, order.side, ev.reject_reason, "거부", ev.time
            )
            self.sink(rejected)
            self._to_owner(order.strategy, rejected)
            return
        if ev.status is OrderStatus.FILLED:
            await self._book_fill(
                order, ev.order_qty - ev.remaining_qty, ev.cum_fill_amount, ev.fill_no, source
            )

    async def _book_fill(
        self, order: WorkingOrder, cum_qty: int, cum_amount: int, fill_no: str, source: FillSource
    ) -> None:
        """Merge a cumulative fill report; book only what it adds (duplicates and replays add nothing)."""
        try:
            facts, qty, amount = order.facts.with_cum_fill(cum_qty, cum_amount)
        except Overfill as exc:
            await self._set_state(TradingState.HALTED, f"overfill on {order.order_no}: {exc}", "engine")
            return
        if qty == 0:
            return
        order = self.portfolio.set_facts(order.intent_id, facts)
        price = amount // qty if amount else order.price
        now = self.clock.now()
        gross = qty * price
        fee = commission(gross, self.costs.commission_rate)  # an estimate; the broker's own is reconciled
        tax = 0
        if order.side is Side.SELL:
            info = self.market.info(order.code)
            tax = self.costs.taxes.tax(gross, now.date(), Market.KOSPI, tax_exempt=bool(info and info.is_etf))
        strategy = EXTERNAL if order.external else order.strategy
        before = self.portfolio.position(strategy, order.code).realized_pnl
        after = self.portfolio.apply_fill(strategy, order.code, order.side, qty, price, fee, tax, now)
        realized = after.realized_pnl - before if order.side is Side.SELL else None
        self.stats.fills += 1
        fill = Fill(
            order.intent_id, order.order_no, fill_no or f"c{cum_qty:07d}", order.code, order.side, qty,
            price, fee, tax, now, source,
        )  # fmt: skip
        state = order.state
        await self._write_behind(
            lambda: self.store.queue_fill(fill, new_state=state),
            lambda: self.store.apply_fill(fill, new_state=state),
            order.intent_id,
        )
        filled = OrderFilled(
            order.intent_id,
            order.strategy,
            order.order_no,
            fill_no,
            order.code,
            order.side,
            qty,
            price,
            fee,
            tax,
            order.filled_qty,
            order.qty - order.filled_qty if order.state.is_working else 0,
            now,
            realized,
        )
        self.sink(filled)
        self._to_owner(order.strategy, filled)
        breach = self.risk.breach_daily_loss(self.portfolio)
        if breach and self.risk.state is TradingState.ACTIVE:
            await self._set_state(TradingState.HALTED, breach, "risk")
