"""The two ports the engine talks through: `Broker` (orders and account queries) and the feed.

Implementations: the Kiwoom adapter (live, paper and the built-in simulator all speak Kiwoom's
protocol) and the dry-run broker that fills locally. The engine never imports an implementation.
Errors follow `bot.errors`: `NotProcessed` (safe to resend later), `OutcomeUnknown` (reconcile,
never resend), `Rejected` (terminal), `InvalidRequest` (refused locally, never sent).
"""

from __future__ import annotations

from typing import Protocol

from bot.domain.orders import SubmitOrder
from bot.domain.snapshots import Deposit, FillRecord, Holding, OpenOrder, OrderAck, StockInfo
from bot.domain.values import Venue


class Broker(Protocol):
    """Order entry and the account as the broker sees it."""

    @property
    def sends_orders(self) -> bool:
        """True when orders reach a real or simulated exchange (False for dry-run)."""
        ...

    async def submit(self, cmd: SubmitOrder) -> OrderAck:
        """Place a new order; the reply's order number identifies it from now on."""
        ...

    async def cancel(self, order_no: str, code: str, venue: Venue) -> OrderAck:
        """Cancel all remaining quantity of an order."""
        ...

    async def modify(self, order_no: str, code: str, qty: int, price: int, venue: Venue) -> OrderAck:
        """Change an order's price (and quantity); the broker issues a new order number."""
        ...

    async def open_orders(self) -> list[OpenOrder]:
        """Every order still working at the broker."""
        ...

    async def fills(self) -> list[FillRecord]:
        """Today's executions, cumulative per order."""
        ...

    async def holdings(self) -> list[Holding]:
        """The positions the account holds."""
        ...

    async def deposit(self) -> Deposit:
        """Cash and buying power."""
        ...

    async def stock_info(self, code: str) -> StockInfo:
        """Name, price and daily limits of a symbol."""
        ...
