"""The dry-run broker: orders are validated and filled locally against live ticks, never sent.

`DryRunBroker` implements `bot.broker.port.Broker` with `sends_orders = False`. It holds no HTTP
client: the only way out is an optional `info_source` callable for stock info (a market-data read,
allowed in dry-run), so no order, modify or cancel endpoint can ever be called (R21).

Validation is the exchange's: a malformed request (code, quantity, a price that is missing, present
on a market order, or off the tick grid) raises `InvalidRequest` like the live adapter's local checks;
a business refusal raises `BusinessRejected` shaped like Kiwoom's `[2000](855056:매수증거금이
부족합니다. N주 매수가능)` — unknown code, price outside the daily band, cash short (market buys
reserved at the upper limit, else the last price, commission included), shares short.

Fill model (conservative; the engine calls `on_tick` for every tick before strategies see it):
- Nothing fills at submission: the first print after an order arrived decides its arrival.
- Market orders fill on the next print at its opposite quote (buy: best ask, sell: best bid; the
  trade price when the quote is absent), and keep filling on later prints until done.
- A limit order that was marketable when submitted (buy limit >= the last best ask), and every IOC/FOK
  limit, takes the first print's opposite quote if it is within the limit — the better price an
  aggressive order really gets. Otherwise, and on every later print, a limit order rests: it fills at
  its own limit only when the market trades THROUGH it (buy: strictly below), or AT it after the
  shares queued ahead of it at that price have traded. An order that opened a new price level (buy
  above the best bid) has no queue ahead; one that joined an existing level has an unknown queue and
  fills only on prints through its price.
- Each print fills at most its traded quantity (`abs(Tick.qty)`), shared among our orders of a side
  in time priority, so 1,000 shares against 300-share prints fill in pieces.
- IOC fills what the first print allows and cancels the rest; FOK fills all on that print or nothing.
- No fills while a VI is on (`on_vi`); working IOC/FOK are canceled when one starts and new ones are
  refused. Every print is treated as continuous trading: auctions are not modelled (the engine's
  session guard keeps orders inside allowed sessions); `expire_day()` cancels what is left at the
  close, as KRX day orders do not carry over. Prints match orders of their venue (SOR: any venue).
- 최유리/최우선 (BEST_LIMIT/PRIORITY_LIMIT) get their price at submission from the last print's
  quotes and are limits from then on; 조건부지정가 is a plain limit (no closing-auction conversion).
- Costs from `CostModel` (0.015 % commission per side, date-keyed sell tax), see `dryrun_account`.

Reference data: `set_reference(code, name, base, upper, lower)` or an `info_source` (e.g. the live
client's ka10001 read, asked once a day per code); a code seen only in ticks is tradable without band
checks. State lives in memory: after a restart, `seed_holding` and `first_order_no` let the app carry
positions over and keep order numbers unique against the journal.

Events — one rule: an event leaves through the call that caused it, exactly once.
- `on_tick`, `on_vi` and `expire_day` are synchronous and RETURN the events the market caused (fills,
  market cancels). The caller holds them: nothing is buffered or lost, the engine applies fills
  before strategies see the tick, and replays stay deterministic.
- `submit`, `cancel` and `modify` SEND the events a request caused (접수, 확인) to `events()`, a
  bounded stream the engine merges with the feed exactly like Kiwoom's `00` pushes. They already
  await (the router runs them in its own tasks), so a full buffer applies back-pressure instead of
  dropping; if it stays full past `send_timeout_s` the call raises `OutcomeUnknown` — the request
  was carried out and `open_orders()` shows the result, as after an ambiguous live send.
Event shapes: `dryrun_events`. All money is int KRW; time comes from the injected Clock only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream

from bot.broker.dryrun_account import DryAccount
from bot.broker.dryrun_desk import MAX_ORDER_NO, DryDesk
from bot.broker.dryrun_events import (
    fill_record,
    invalid,
    open_order_row,
    order_event,
    rejected,
    stock_info_of,
)
from bot.broker.dryrun_model import SymbolFacts
from bot.clock import KST, Clock
from bot.domain.account import OrderEvent, OrderStatus
from bot.domain.market import Tick, ViReleased, ViTriggered
from bot.domain.orders import SubmitOrder
from bot.domain.snapshots import Deposit, FillRecord, Holding, OpenOrder, OrderAck, StockInfo
from bot.domain.values import STOCK_CODE, OrderType, Side, Venue
from bot.errors import BrokerUnreachable, KiwoomBotError, OutcomeUnknown, ServiceFailed
from bot.market.costs import CostModel, Market, TaxSchedule
from bot.market.ticks import InstrumentKind

log = structlog.get_logger(__name__)

InfoSource = Callable[[str], Awaitable[StockInfo]]
_SIDE_API_ID = {Side.BUY: "kt10000", Side.SELL: "kt10001"}


class DryRunBroker:
    """A Broker that never sends an order: it fills locally against the live ticks it is fed."""

    def __init__(
        self,
        clock: Clock,
        cash: int,
        *,
        costs: CostModel | None = None,
        info_source: InfoSource | None = None,
        default_market: Market = Market.KOSPI,
        event_buffer: int = 1024,
        send_timeout_s: float = 10.0,
        first_order_no: int = 1,
    ) -> None:
        if type(cash) is not int or cash < 0:
            raise ValueError(f"cash must be a non-negative int of KRW, got {cash!r}")
        if type(first_order_no) is not int or not 0 < first_order_no <= MAX_ORDER_NO:
            raise ValueError(
                f"first_order_no must be an int from 1 to {MAX_ORDER_NO:,}, got {first_order_no!r}"
            )
        account = DryAccount(cash, costs or CostModel(TaxSchedule.shipped()))
        self._desk = DryDesk(clock, account, default_market, first_order_no)
        self._info_source = info_source
        self._send_timeout_s = send_timeout_s
        self._send, self._recv = anyio.create_memory_object_stream[OrderEvent](event_buffer)
        self._closed = False

    def __repr__(self) -> str:
        desk = self._desk
        working = sum(len(orders) for orders in desk.working.values())
        return f"DryRunBroker(cash={desk.account.cash}, working={working}, orders={len(desk.orders)})"

    @property
    def sends_orders(self) -> bool:
        """Always False: dry-run orders never leave the process."""
        return False

    def events(self) -> MemoryObjectReceiveStream[OrderEvent]:
        """The 접수/확인 events of requests, in order (bounded, lossless; see the module docstring)."""
        return self._recv

    async def aclose(self) -> None:
        """Close the event stream; later requests raise BrokerUnreachable."""
        self._closed = True
        await self._send.aclose()

    # ----------------------------------------------------------------- reference data, market events

    def set_reference(
        self,
        code: str,
        name: str,
        base_price: int,
        upper: int = 0,
        lower: int = 0,
        *,
        market: Market | None = None,
        tax_exempt: bool = False,
        kind: InstrumentKind = InstrumentKind.STOCK,
    ) -> None:
        """Record a symbol's name, base price and daily limits (computed from the base when both are 0)."""
        _check_code("set_reference", code)
        for field, value in (("base_price", base_price), ("upper", upper), ("lower", lower)):
            if type(value) is not int or value < 0:
                raise ValueError(f"set_reference: {field} must be a non-negative int of KRW, got {value!r}")
        if (upper == 0) != (lower == 0) or lower > upper:
            raise ValueError(f"set_reference: give both limits with lower <= upper, got {lower}..{upper}")
        facts = self._desk.facts(code)
        facts.name, facts.base, facts.upper, facts.lower = name, base_price, upper, lower
        facts.market, facts.tax_exempt, facts.kind = market or self._desk.default_market, tax_exempt, kind

    def seed_holding(self, code: str, qty: int, avg_price: int, name: str = "") -> None:
        """Start with a position (e.g. the journal's after a restart) so exits can be tried."""
        _check_code("seed_holding", code)
        if type(qty) is not int or qty <= 0 or type(avg_price) is not int or avg_price <= 0:
            raise ValueError(
                f"seed_holding: qty and avg_price must be positive ints, got {qty!r}, {avg_price!r}"
            )
        self._desk.seed(code, qty, avg_price, name)

    def on_tick(self, tick: Tick) -> list[OrderEvent]:
        """Feed one print (before strategies see it); returns the 체결/취소 events it caused."""
        return self._desk.on_tick(tick)

    def on_vi(self, event: ViTriggered | ViReleased) -> list[OrderEvent]:
        """Feed a VI start or end; returns the IOC/FOK cancels a start caused."""
        return self._desk.on_vi(event)

    def expire_day(self) -> list[OrderEvent]:
        """End of the trading day: every working order lapses; returns their 취소 events."""
        return self._desk.expire_all()

    # ----------------------------------------------------------------- orders (Broker protocol)

    async def submit(self, cmd: SubmitOrder) -> OrderAck:
        """Validate and accept a new order locally; its 접수 goes to `events()`."""
        api_id = _SIDE_API_ID.get(cmd.side, "kt10000")
        _check_submit(api_id, cmd)
        self._check_open(api_id)
        facts = await self._known(api_id, cmd.code)
        order = self._desk.place(api_id, cmd, facts)
        log.info("dry_order_accepted", order_no=order.order_no, strategy=cmd.strategy, code=cmd.code,
                 side=cmd.side, qty=cmd.qty, price=order.price, order_type=cmd.order_type)  # fmt: skip
        await self._emit(api_id, [order_event(order, OrderStatus.ACCEPTED, order.accepted_at)])
        return OrderAck(order.order_no, "", order.venue)

    async def cancel(self, order_no: str, code: str, venue: Venue) -> OrderAck:
        """Cancel all remaining quantity; the cancel gets its own number and 접수/확인 events."""
        api_id = "kt10003"
        self._check_open(api_id)
        ack, events = self._desk.cancel(api_id, order_no, code)
        await self._emit(api_id, events)
        return ack

    async def modify(self, order_no: str, code: str, qty: int, price: int, venue: Venue) -> OrderAck:
        """Move `qty` (0 = all remaining) of a limit order to a new order number at `price`."""
        api_id = "kt10002"
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise invalid(api_id, "mdfy_qty", "an int >= 0 (0 = all remaining)", qty)
        if isinstance(price, bool) or not isinstance(price, int) or price <= 0:
            raise invalid(api_id, "mdfy_uv", "a positive int KRW price", price)
        self._check_open(api_id)
        ack, events = self._desk.modify(api_id, order_no, code, qty, price)
        await self._emit(api_id, events)
        return ack

    # ----------------------------------------------------------------- account (Broker protocol)

    async def open_orders(self) -> list[OpenOrder]:
        """Every working order, oldest first."""
        working = (o for orders in self._desk.working.values() for o in orders.values())
        return [open_order_row(o) for o in sorted(working, key=lambda o: o.order_no)]

    async def fills(self) -> list[FillRecord]:
        """Today's orders with fills, cumulative per order at the average price, oldest first."""
        today = self._desk.today()
        return [
            fill_record(o)
            for o in self._desk.orders.values()
            if o.filled_qty > 0 and o.accepted_at.astimezone(KST).date() == today
        ]

    async def holdings(self) -> list[Holding]:
        """Positions with shares, valued at the last print."""
        return self._desk.account.holdings(self._desk.symbols, self._desk.offered(), self._desk.today())

    async def deposit(self) -> Deposit:
        """Cash after every fill; orderable is that less what working buys reserve."""
        return self._desk.account.deposit(self._desk.reserved())

    async def stock_info(self, code: str) -> StockInfo:
        """What is known of a symbol: reference or fetched data overlaid with the last print."""
        _check_code("ka10001", code)
        return stock_info_of(await self._known("ka10001", code))

    # ----------------------------------------------------------------- internals

    def _check_open(self, api_id: str) -> None:
        if self._closed:
            raise BrokerUnreachable("dry-run broker is closed", api_id=api_id)

    async def _known(self, api_id: str, code: str) -> SymbolFacts:
        """The symbol's facts; fetched once a day from `info_source` unless a reference was given."""
        facts = self._desk.symbols.get(code)
        today = self._desk.today()
        if self._info_source is not None and (facts is None or (not facts.base and facts.info_date != today)):
            try:
                info = await self._info_source(code)
            except KiwoomBotError as exc:
                if facts is None or facts.last_price() <= 0:
                    raise
                log.warning("dry_stock_info_failed", code=code, error=str(exc))
            else:
                facts = self._desk.facts(code)
                facts.info, facts.info_date, facts.name = info, today, facts.name or info.name
        if facts is None or facts.last_price() <= 0:
            if api_id == "ka10001":
                raise ServiceFailed(f"[1903:종목 정보가 없습니다({code})]", api_id=api_id, return_code=7,
                                    msg_code="1903")  # fmt: skip
            raise rejected(api_id, "1902", f"종목코드({code})에 해당하는 종목정보가 없습니다")
        return facts

    async def _emit(self, api_id: str, events: list[OrderEvent]) -> None:
        """Send request events to `events()`; a stream full for too long makes the outcome unknown."""
        try:
            with anyio.fail_after(self._send_timeout_s):
                for event in events:
                    await self._send.send(event)
        except TimeoutError:
            log.error("dry_order_events_stuck", api_id=api_id, order_no=events[0].order_no)
            raise OutcomeUnknown(
                f"dry-run event stream full for {self._send_timeout_s:g}s; request {events[0].order_no} "
                "was carried out (open_orders() and fills() show the result)",
                api_id=api_id,
            ) from None
        except anyio.BrokenResourceError:
            log.warning("dry_order_events_unread", api_id=api_id, order_no=events[0].order_no)


def _check_code(api_id: str, code: str) -> None:
    if not isinstance(code, str) or not STOCK_CODE.match(code):
        raise invalid(api_id, "stk_cd", "a 6-character code like '005930'", code)


def _check_submit(api_id: str, cmd: SubmitOrder) -> None:
    """Malformed-request checks the live adapter also makes before sending anything."""
    _check_code(api_id, cmd.code)
    if not isinstance(cmd.side, Side) or not isinstance(cmd.venue, Venue):
        raise invalid(api_id, "side/venue", "a Side and a Venue", (cmd.side, cmd.venue))
    if not isinstance(cmd.order_type, OrderType):
        raise invalid(api_id, "trde_tp", "an OrderType", cmd.order_type)
    if isinstance(cmd.qty, bool) or not isinstance(cmd.qty, int) or cmd.qty <= 0:
        raise invalid(api_id, "ord_qty", "an int > 0", cmd.qty)
    if isinstance(cmd.price, bool) or not isinstance(cmd.price, int):
        raise invalid(api_id, "ord_uv", "an int KRW price", cmd.price)
    if cmd.order_type.needs_price and cmd.price <= 0:
        raise invalid(api_id, "ord_uv", f"a positive price for a {cmd.order_type.value} order", cmd.price)
    if not cmd.order_type.needs_price and cmd.price != 0:
        raise invalid(api_id, "ord_uv", f"0 (empty) for a {cmd.order_type.value} order", cmd.price)
