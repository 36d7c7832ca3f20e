"""Typed order TRs: buy/sell (kt10000/kt10001), modify (kt10002), cancel (kt10003, priority lane).

Facts (kiwoom-protocol.md §4.1, §12 fact 5): `dmst_stex_tp` is KRX/NXT/SOR (mock: KRX only);
`trde_tp` is the order type code (0 limit, 3 market, 5 conditional, 6 best, 7 priority, 10/13 IOC,
20/23 FOK); `ord_uv` is "" for types without a price; `cncl_qty` "0" cancels the whole remainder;
modify/cancel create a NEW `ord_no` and echo the root in `base_orig_ord_no`. Everything is checked
locally before sending, so a bad order never reaches Kiwoom.
"""

from __future__ import annotations

from typing import Any

from bot.broker.kiwoom.codec import VENUE_TO_DMST_STEX_TP, format_qty
from bot.broker.kiwoom.rest import KiwoomRest
from bot.domain.snapshots import OrderAck
from bot.domain.values import STOCK_CODE, OrderType, Side, Venue
from bot.errors import InvalidRequest, OutcomeUnknown
from bot.market.ticks import InstrumentKind, is_on_tick

TRDE_TP: dict[OrderType, str] = {
    OrderType.LIMIT: "0",
    OrderType.MARKET: "3",
    OrderType.CONDITIONAL_LIMIT: "5",
    OrderType.BEST_LIMIT: "6",
    OrderType.PRIORITY_LIMIT: "7",
    OrderType.LIMIT_IOC: "10",
    OrderType.MARKET_IOC: "13",
    OrderType.LIMIT_FOK: "20",
    OrderType.MARKET_FOK: "23",
}
_SIDE_API_ID = {Side.BUY: "kt10000", Side.SELL: "kt10001"}


class KiwoomOrders:
    """Places, modifies and cancels stock orders; returns the broker's OrderAck, never retries."""

    def __init__(self, rest: KiwoomRest) -> None:
        self._rest = rest

    def __repr__(self) -> str:
        return f"KiwoomOrders({self._rest!r})"

    async def buy(
        self,
        code: str,
        qty: int,
        price: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        *,
        venue: Venue = Venue.KRX,
        cond_price: int | None = None,
        kind: InstrumentKind = InstrumentKind.STOCK,
    ) -> OrderAck:
        """Send a buy order (kt10000)."""
        return await self.place(Side.BUY, code, qty, price, order_type, venue=venue,
                                cond_price=cond_price, kind=kind)  # fmt: skip

    async def sell(
        self,
        code: str,
        qty: int,
        price: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        *,
        venue: Venue = Venue.KRX,
        cond_price: int | None = None,
        kind: InstrumentKind = InstrumentKind.STOCK,
    ) -> OrderAck:
        """Send a sell order (kt10001)."""
        return await self.place(Side.SELL, code, qty, price, order_type, venue=venue,
                                cond_price=cond_price, kind=kind)  # fmt: skip

    async def place(
        self,
        side: Side,
        code: str,
        qty: int,
        price: int | None,
        order_type: OrderType,
        *,
        venue: Venue = Venue.KRX,
        cond_price: int | None = None,
        kind: InstrumentKind = InstrumentKind.STOCK,
    ) -> OrderAck:
        """Validate and send a new order on `side`; `price` is required exactly for priced types."""
        api_id = _SIDE_API_ID[side]
        fields = {
            "dmst_stex_tp": self._venue_field(api_id, venue),
            "stk_cd": _code_field(api_id, code),
            "ord_qty": _qty_field(api_id, "ord_qty", qty, allow_zero=False),
            "ord_uv": _order_price_field(api_id, order_type, price, kind),
            "trde_tp": TRDE_TP[order_type],
            "cond_uv": "" if cond_price is None else _price_field(api_id, "cond_uv", cond_price, kind),
        }
        body = await self._rest.send(api_id, fields)
        return _ack(api_id, body, venue)

    async def modify(
        self,
        orig_order_no: str,
        code: str,
        qty: int,
        price: int,
        *,
        venue: Venue = Venue.KRX,
        kind: InstrumentKind = InstrumentKind.STOCK,
    ) -> OrderAck:
        """Change an order's price and quantity (kt10002); `qty` 0 means the whole remainder."""
        api_id = "kt10002"
        fields = {
            "dmst_stex_tp": self._venue_field(api_id, venue),
            "orig_ord_no": _order_no_field(api_id, orig_order_no),
            "stk_cd": _code_field(api_id, code),
            "mdfy_qty": _qty_field(api_id, "mdfy_qty", qty, allow_zero=True),
            "mdfy_uv": _price_field(api_id, "mdfy_uv", price, kind),
        }
        body = await self._rest.send(api_id, fields)
        return _ack(api_id, body, venue)

    async def cancel(
        self, orig_order_no: str, code: str, qty: int = 0, *, venue: Venue = Venue.KRX
    ) -> OrderAck:
        """Cancel `qty` shares of an order (kt10003, priority lane); 0 cancels the whole remainder."""
        api_id = "kt10003"
        fields = {
            "dmst_stex_tp": self._venue_field(api_id, venue),
            "orig_ord_no": _order_no_field(api_id, orig_order_no),
            "stk_cd": _code_field(api_id, code),
            "cncl_qty": _qty_field(api_id, "cncl_qty", qty, allow_zero=True),
        }
        body = await self._rest.send(api_id, fields, priority=True)
        return _ack(api_id, body, venue)

    def _venue_field(self, api_id: str, venue: Venue) -> str:
        """`dmst_stex_tp` for `venue`; the mock server trades KRX only."""
        if self._rest.endpoints.is_mock and venue is not Venue.KRX:
            raise InvalidRequest(
                f"{api_id}: dmst_stex_tp={venue.value!r} but paper trading supports KRX only"
            )
        return VENUE_TO_DMST_STEX_TP[venue]


def _code_field(api_id: str, code: str) -> str:
    """`stk_cd`: exactly 6 characters such as "005930"."""
    if not isinstance(code, str) or not STOCK_CODE.match(code):
        raise InvalidRequest(f"{api_id}: stk_cd must be a 6-character code like '005930', got {code!r}")
    return code


def _qty_field(api_id: str, name: str, qty: int, *, allow_zero: bool) -> str:
    """A share count as a decimal string; > 0 (or >= 0 where 0 means "all remaining")."""
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or (qty == 0 and not allow_zero):
        expected = ">= 0 (0 = all remaining)" if allow_zero else "> 0"
        raise InvalidRequest(f"{api_id}: {name} must be an int {expected}, got {qty!r}")
    return format_qty(qty)


def _price_field(api_id: str, name: str, price: int, kind: InstrumentKind) -> str:
    """A KRW price on the tick grid, as a decimal string."""
    if isinstance(price, bool) or not isinstance(price, int) or price <= 0:
        raise InvalidRequest(f"{api_id}: {name} must be a positive int KRW price, got {price!r}")
    if not is_on_tick(price, kind):
        raise InvalidRequest(f"{api_id}: {name}={price} is not on the {kind.value} tick grid")
    return str(price)


def _order_price_field(api_id: str, order_type: OrderType, price: int | None, kind: InstrumentKind) -> str:
    """`ord_uv`: an on-grid price for priced types, "" for market-like types (which must get None)."""
    if order_type.needs_price:
        if price is None:
            raise InvalidRequest(f"{api_id}: ord_uv is required for a {order_type.value} order")
        return _price_field(api_id, "ord_uv", price, kind)
    if price is not None:
        raise InvalidRequest(f"{api_id}: ord_uv must be empty for a {order_type.value} order, got {price!r}")
    return ""


def _order_no_field(api_id: str, order_no: str) -> str:
    """`orig_ord_no`: the broker's order number, digits only."""
    if not isinstance(order_no, str) or not order_no.strip().isdigit():
        raise InvalidRequest(
            f"{api_id}: orig_ord_no must be an order number like '0000139', got {order_no!r}"
        )
    return order_no.strip()


def _ack(api_id: str, body: dict[str, Any], venue: Venue) -> OrderAck:
    """The OrderAck of a successful order reply; no `ord_no` means we cannot know what happened."""
    order_no = body.get("ord_no")
    if not isinstance(order_no, str) or not order_no.strip():
        raise OutcomeUnknown("order reply has return_code 0 but no ord_no", api_id=api_id)
    base = body.get("base_orig_ord_no", "")
    echoed = body.get("dmst_stex_tp")
    try:
        ack_venue = Venue(echoed.strip()) if isinstance(echoed, str) and echoed.strip() else venue
    except ValueError:
        ack_venue = venue
    return OrderAck(
        order_no=order_no.strip(),
        base_orig_order_no=base.strip() if isinstance(base, str) else "",
        venue=ack_venue,
    )
