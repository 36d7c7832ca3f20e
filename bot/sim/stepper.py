"""Turns each market step into exchange matching, condition changes and REAL pushes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.sim.account_push import balance_values, order_values
from bot.sim.exchange import OrderEvent
from bot.sim.protocol import REAL_NAMES
from bot.sim.realtime import book_values, condition_values, real_entry, tick_values, vi_values

if TYPE_CHECKING:
    from bot.sim.server import Simulator


class StepPublisher:
    """The market listener that keeps the exchange, the condition book and the sessions in step."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._day = sim.clock.now().date()

    def order_entries(self, events: list[OrderEvent]) -> list[dict[str, Any]]:
        """`00` entries for order events, then one `04` per symbol whose holding changed."""
        sim = self._sim
        if not events or not sim.hub.sessions:
            return []
        account = sim.settings.account_no
        entries: list[dict[str, Any]] = []
        touched: list[str] = []
        for event in events:
            code = event.order.code
            s = sim.market.symbol(code)
            entries.append(real_entry("00", REAL_NAMES["00"], code, order_values(event, s, account)))
            if event.status == "체결" and code not in touched:
                touched.append(code)
        for code in touched:
            holding = sim.exchange.positions[code]
            values = balance_values(holding, sim.market.symbol(code), sim.exchange.sellable(code), account)
            entries.append(real_entry("04", REAL_NAMES["04"], code, values))
        return entries

    def publish_orders(self, events: list[OrderEvent]) -> None:
        """Push the events of an order accepted by REST (or injected) right away."""
        self._sim.hub.publish(self.order_entries(events))

    def on_step(self, result: Any) -> None:
        """Match orders, recompute conditions, push 0B/0D/1h/00/04/02 for one step."""
        sim = self._sim
        hub = sim.hub
        market = sim.market
        now = result.now
        entries: list[dict[str, Any]] = []
        if hub.sessions:
            for trade in result.trades:
                s = market.symbol(trade.code)
                if hub.wanted("0B", trade.code):
                    values = tick_values(s, trade.qty, now)
                    entries.append(real_entry("0B", REAL_NAMES["0B"], trade.code, values))
                if hub.wanted("0D", trade.code):
                    entries.append(
                        real_entry("0D", REAL_NAMES["0D"], trade.code, book_values(s, now, market.step_index))
                    )
            for event in result.vi:
                if hub.wanted("1h", event.code):
                    s = market.symbol(event.code)
                    entries.append(real_entry("1h", REAL_NAMES["1h"], event.code, vi_values(s, event)))
        if now.date() != self._day:
            self._day = now.date()
            sim.exchange.expire_day()
        entries.extend(self.order_entries(sim.exchange.on_step(result)))
        hub.publish(entries)
        changes = sim.conditions.update()
        if changes and hub.sessions:
            hub.publish_conditions([(c.seq, _condition_entry(c.seq, c.code, c.kind, now)) for c in changes])

    def force_condition(self, seq: str, code: str, kind: str) -> None:
        """Pin a condition member in or out and push the 02 entry now."""
        sim = self._sim
        change = sim.conditions.force(seq, code, kind)
        sim.hub.publish_conditions([(seq, _condition_entry(seq, code, change.kind, sim.clock.now()))])


def _condition_entry(seq: str, code: str, kind: str, when: datetime) -> dict[str, Any]:
    return real_entry("02", REAL_NAMES["02"], code, condition_values(seq, code, kind, when))
