"""Reconciliation applied: the broker's open orders, fills and holdings merged into the engine.

Startup fetches and applies inline (nothing runs before it); later reconciliations fetch off the
kernel loop and post the answer back as a `BrokerView`, so the kernel keeps beating meanwhile.
"""

from __future__ import annotations

from dataclasses import replace

import anyio
import structlog

from bot.domain.orders import (
    IntentRecord,
    SubmitOrder,
)
from bot.domain.position import PositionState
from bot.domain.values import OrderType
from bot.engine.kernel_fills import FillBooking
from bot.engine.kernel_types import (
    BrokerView,
    Reconciled,
)
from bot.engine.orderstate import OrderFacts
from bot.engine.portfolio import EXTERNAL, WorkingOrder
from bot.engine.reconcile import holding_diffs, reconcile_orders
from bot.errors import KiwoomBotError
from bot.store import FillSource

log = structlog.get_logger(__name__)


class Reconciliation(FillBooking):
    """Fetches the broker's view and merges it (adoption, missed fills, external orders and holdings)."""

    async def _fetch_broker_view(self, reason: str) -> BrokerView | None:
        """The broker's open orders, fills and holdings, with the engine's working orders as of the ask."""
        orders = tuple(self.portfolio.working())
        try:
            with anyio.fail_after(60):
                open_orders = await self.broker.open_orders()
                fills = await self.broker.fills()
                holdings = await self.broker.holdings()
        except (KiwoomBotError, TimeoutError) as exc:
            log.warning("reconcile_failed", reason=reason, error=str(exc))
            self._schedule_reconcile(reason)
            return None
        return BrokerView(reason, orders, tuple(open_orders), tuple(fills), tuple(holdings))

    async def _reconcile(self, reason: str) -> None:
        """At startup: fetch and apply inline (nothing runs before it). Later: fetch off the kernel loop
        (the kernel keeps handling events and beating) and apply when the answer comes back."""
        if not self.synced and self._tg is not None and self.stats.reconciles == 0:
            view = await self._fetch_broker_view(reason)
            if view is not None:
                await self._apply_broker_view(view)
            return
        if self._fetching or self._tg is None:
            return
        self._fetching = True
        self._tg.start_soon(self._fetch_and_post, reason)

    async def _fetch_and_post(self, reason: str) -> None:
        try:
            view = await self._fetch_broker_view(reason)
        finally:
            self._fetching = False
        if view is not None:
            await self._post(view)

    async def _apply_broker_view(self, view: BrokerView) -> None:
        """Merge a broker snapshot; only orders the engine knew when it asked are judged by it."""
        reason, holdings = view.reason, list(view.holdings)
        open_orders, fills = list(view.open_orders), list(view.fills)
        self.stats.reconciles += 1
        if reason == "resync":
            self.synced = True
        result = reconcile_orders(list(view.orders), open_orders, fills)
        detail: list[str] = []
        asked = {o.intent_id: o.order_no for o in view.orders}
        for sync in result.syncs:
            order = self.portfolio.order(sync.intent_id)
            if order is None or (order.order_no and asked.get(sync.intent_id) not in ("", order.order_no)):
                continue
            if not order.order_no:
                order = self.portfolio.set_facts(order.intent_id, order.facts.with_order_no(sync.order_no))
                await self._journal_state(order.intent_id, "adopted", sync.order_no)
                self._release_cancel(order.intent_id)
                detail.append(f"adopted {sync.order_no} for {order.intent_id}")
            await self._book_fill(
                order, sync.cum_qty, sync.cum_amount, f"r{sync.cum_qty:07d}", FillSource.REST
            )
            order = self.portfolio.order(sync.intent_id) or order
            if not sync.still_open and order.state.is_working:
                self.portfolio.set_facts(order.intent_id, order.facts.with_canceled())
                await self._journal_state(order.intent_id, "closed at broker")
        for intent_id in result.missing:
            checks = self._unknown_checks.get(intent_id, 0) + 1
            self._unknown_checks[intent_id] = checks
            if checks >= self._unknown_give_up:
                order = self._update(intent_id, lambda f: f.with_not_placed())
                await self._journal_state(intent_id, "not found at the broker")
                detail.append(f"{intent_id} not placed")
            else:
                self._schedule_reconcile("order_unknown")
        for ext in result.external_orders:
            # An order placed outside the bot (HTS/MTS): tracked under `_external` so exposure and
            # limits include it, and its fills are booked like ours (R19).
            self._intent_seq += 1
            intent_id = f"{self.clock.now():%Y%m%d}-{self._intent_seq:05d}-ext"
            cmd = SubmitOrder(
                EXTERNAL, ext.code, ext.side, ext.order_qty, OrderType.LIMIT, ext.order_price, ext.venue
            )
            order = replace(
                WorkingOrder.from_command(intent_id, cmd, self.clock.now()),
                external=True,
                facts=OrderFacts(qty=ext.order_qty, sent=True, order_no=ext.order_no),
            )
            try:
                await self.store.insert_intent(
                    IntentRecord(intent_id, cmd, order.state, order.created_at, ext.order_no, external=True)
                )
            except KiwoomBotError as exc:
                log.error("external_order_not_journaled", order_no=ext.order_no, error=str(exc))
                continue
            self.portfolio.add_order(order)
            await self._book_fill(
                order, ext.filled_qty, ext.cum_fill_amount, f"r{ext.filled_qty:07d}", FillSource.REST
            )
            detail.append(f"external order {ext.order_no} {ext.side} {ext.code} x{ext.order_qty} adopted")
        engine_qty: dict[str, int] = {}
        for (_, code), pos in self.portfolio.positions().items():
            engine_qty[code] = engine_qty.get(code, 0) + pos.qty
        for diff in holding_diffs(holdings, engine_qty):
            delta = diff.broker_qty - diff.engine_qty
            ext_pos = self.portfolio.position(EXTERNAL, diff.code)
            new_qty = ext_pos.qty + delta
            self.portfolio.set_position(
                EXTERNAL, diff.code, PositionState(new_qty, new_qty * diff.avg_price), self.clock.now()
            )
            try:
                await self.store.adjust_position(
                    EXTERNAL,
                    diff.code,
                    qty=new_qty,
                    avg_price=diff.avg_price,
                    time=self.clock.now(),
                    reason=f"reconcile ({reason}): broker {diff.broker_qty}, engine {diff.engine_qty}",
                )
            except KiwoomBotError as exc:
                log.error("position_adjust_failed", code=diff.code, error=str(exc))
            detail.append(f"holding {diff.code} broker {diff.broker_qty} engine {diff.engine_qty}")
        differences = sum(1 for d in detail if not d.startswith("adopted"))
        self.stats.differences += differences
        report = Reconciled(reason, len(result.syncs), differences, tuple(detail), self.clock.now())
        self.sink(report)
        await self._journal("reconcile", {"reason": reason, "differences": differences, "detail": detail})
