"""`KiwoomBroker`: the `Broker` port over Kiwoom's REST order and account TRs.

Used for `live`, `paper` and `simulator` modes alike: only the endpoints differ. The kind of
instrument (stock or ETF, for the tick table) is asked of the engine's market state.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.broker.kiwoom.accounts import KiwoomAccounts
from bot.broker.kiwoom.orders import KiwoomOrders
from bot.broker.kiwoom.rest import KiwoomRest
from bot.domain.orders import SubmitOrder
from bot.domain.snapshots import Deposit, FillRecord, Holding, OpenOrder, OrderAck, StockInfo
from bot.domain.values import Venue
from bot.market.ticks import InstrumentKind


class KiwoomBroker:
    """Orders and account queries through Kiwoom's REST API."""

    sends_orders = True

    def __init__(self, rest: KiwoomRest, kind_of: Callable[[str], InstrumentKind] | None = None) -> None:
        self._orders = KiwoomOrders(rest)
        self._accounts = KiwoomAccounts(rest)
        self._kind_of = kind_of or (lambda _code: InstrumentKind.STOCK)

    async def submit(self, cmd: SubmitOrder) -> OrderAck:
        """Place a new order (kt10000 / kt10001)."""
        price = cmd.price if cmd.order_type.needs_price else None
        return await self._orders.place(
            cmd.side, cmd.code, cmd.qty, price, cmd.order_type, venue=cmd.venue, kind=self._kind_of(cmd.code)
        )

    async def cancel(self, order_no: str, code: str, venue: Venue) -> OrderAck:
        """Cancel the whole remainder (kt10003 with cncl_qty 0), through the priority lane."""
        return await self._orders.cancel(order_no, code, 0, venue=venue)

    async def modify(self, order_no: str, code: str, qty: int, price: int, venue: Venue) -> OrderAck:
        """Change price and quantity (kt10002)."""
        return await self._orders.modify(order_no, code, qty, price, venue=venue, kind=self._kind_of(code))

    async def open_orders(self) -> list[OpenOrder]:
        """Every working order (ka10075, all venues)."""
        return await self._accounts.open_orders()

    async def fills(self) -> list[FillRecord]:
        """Today's executions, cumulative per order (ka10076)."""
        return await self._accounts.fills()

    async def holdings(self) -> list[Holding]:
        """Positions held (kt00018)."""
        return await self._accounts.holdings()

    async def deposit(self) -> Deposit:
        """Cash and buying power (kt00001)."""
        return await self._accounts.deposit()

    async def stock_info(self, code: str) -> StockInfo:
        """Name, price and limits (ka10001)."""
        return await self._accounts.stock_info(code)
