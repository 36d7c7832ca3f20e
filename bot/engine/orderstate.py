"""The order state machine, derived from accumulated facts so that out-of-order events converge.

Kiwoom reports an order through several channels that race each other (the REST reply, WS `00`
pushes, the ka10075/ka10076 queries), and a fill can arrive after a cancel confirmation or before
the acceptance (reliability-matrix.md R8). Instead of a transition table that must anticipate every
order of arrival, each order accumulates monotonic facts — an order number once known, a cumulative
filled quantity that only grows, sticky cancel/reject flags — and its state is a pure function of
them. Any permutation of the same events yields the same final state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.domain.orders import IntentState


class Overfill(Exception):
    """The broker reports more shares filled than were ordered: halt trading, something is wrong."""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What is known about one order; every field only ever moves one way."""

    qty: int
    sent: bool = False
    unknown: bool = False
    order_no: str = ""
    filled_qty: int = 0
    filled_amount: int = 0
    canceled: bool = False
    rejected: bool = False
    not_placed: bool = False

    @property
    def state(self) -> IntentState:
        """The state these facts imply."""
        if self.filled_qty >= self.qty:
            return IntentState.FILLED
        if self.canceled:
            return IntentState.CANCELED
        if self.rejected and not self.filled_qty:
            return IntentState.REJECTED
        if self.filled_qty:
            return IntentState.PARTIALLY_FILLED
        if self.order_no:
            return IntentState.ACCEPTED
        if self.not_placed:
            return IntentState.NOT_PLACED
        if self.unknown:
            return IntentState.UNKNOWN
        if self.sent:
            return IntentState.SENT
        return IntentState.PENDING_SEND

    def with_sent(self) -> OrderFacts:
        """The POST is about to leave."""
        return replace(self, sent=True)

    def with_unknown(self) -> OrderFacts:
        """The POST's outcome is ambiguous."""
        return replace(self, sent=True, unknown=True)

    def with_order_no(self, order_no: str) -> OrderFacts:
        """The broker's order number became known (REST reply, 접수 push, or reconciliation)."""
        if self.order_no and self.order_no != order_no:
            raise ValueError(f"order number already {self.order_no}, got {order_no}")
        return replace(self, sent=True, order_no=order_no, not_placed=False)

    def with_cum_fill(self, cum_qty: int, cum_amount: int) -> tuple[OrderFacts, int, int]:
        """Merge a cumulative fill report; returns the new facts and the (qty, amount) not yet booked.

        Reports that are not ahead of what is known book nothing, so duplicates and stale
        replays are harmless; a report beyond the order quantity raises Overfill.
        """
        if cum_qty > self.qty:
            raise Overfill(f"filled {cum_qty} of an order for {self.qty}")
        if cum_qty <= self.filled_qty:
            return self, 0, 0
        new_qty = cum_qty - self.filled_qty
        new_amount = max(0, cum_amount - self.filled_amount)
        facts = replace(
            self, sent=True, filled_qty=cum_qty, filled_amount=max(cum_amount, self.filled_amount)
        )
        return replace(facts, not_placed=False), new_qty, new_amount

    def with_canceled(self) -> OrderFacts:
        """The remaining quantity was canceled at the broker."""
        return replace(self, canceled=True)

    def with_rejected(self) -> OrderFacts:
        """The broker refused the order."""
        return replace(self, sent=True, rejected=True)

    def with_not_placed(self) -> OrderFacts:
        """An unknown order was not found at the broker after the watch period."""
        return replace(self, not_placed=True) if not (self.order_no or self.filled_qty) else self
