"""The dry-run order desk: symbols, working orders, checks and matching — synchronous, no I/O.

Every method runs without awaiting, so requests and prints handled by different tasks each see one
consistent state. `DryRunBroker` (dryrun.py) wraps it with the Broker protocol and the event stream;
the fill rules are in `dryrun_model`, the money in `dryrun_account`, the event shapes in `dryrun_events`.
"""

from __future__ import annotations

from datetime import date

import structlog

from bot.broker.dryrun_account import DryAccount, Position
from bot.broker.dryrun_events import (
    cancel_request_events,
    invalid,
    market_cancel_event,
    order_event,
    rejected,
)
from bot.broker.dryrun_model import (
    IMMEDIATE_TYPES,
    NO_ORDER_NO,
    QUOTE_PRICED_TYPES,
    DryOrder,
    FillPlan,
    SymbolFacts,
    marketable,
    plan_fill,
    queue_on_arrival,
)
from bot.clock import KST, Clock
from bot.domain.account import OrderAction, OrderEvent, OrderStatus
from bot.domain.market import Tick, ViReleased, ViTriggered
from bot.domain.orders import SubmitOrder
from bot.domain.snapshots import OrderAck
from bot.domain.values import STOCK_CODE, OrderType, Side, Venue
from bot.market.costs import Market
from bot.market.ticks import is_on_tick

log = structlog.get_logger(__name__)

MAX_ORDER_NO = 9_999_999  # order numbers are 7 digits


class DryDesk:
    """The local exchange of one dry-run account."""

    def __init__(
        self, clock: Clock, account: DryAccount, default_market: Market, first_order_no: int
    ) -> None:
        self.clock = clock
        self.account = account
        self.default_market = default_market
        self.symbols: dict[str, SymbolFacts] = {}
        self.orders: dict[str, DryOrder] = {}  # every order by number, oldest first
        self.working: dict[str, dict[str, DryOrder]] = {}  # code → order number → working order
        self._next_order_no = first_order_no
        self._next_fill_no = 1

    def facts(self, code: str) -> SymbolFacts:
        """The facts of `code`, created empty on first use."""
        facts = self.symbols.get(code)
        if facts is None:
            facts = self.symbols[code] = SymbolFacts(code, market=self.default_market)
        return facts

    def today(self) -> date:
        """The trade date by the injected clock (Asia/Seoul)."""
        return self.clock.now().astimezone(KST).date()

    def seed(self, code: str, qty: int, avg_price: int, name: str) -> None:
        """Start with a position of `qty` shares bought at `avg_price`."""
        facts = self.facts(code)
        facts.name = facts.name or name
        pos = self.account.positions.get(code)
        if pos is not None and pos.qty:
            raise ValueError(f"seed_holding: {code} is already held ({pos.qty} shares)")
        self.account.positions[code] = Position(code, facts.name, qty, qty * avg_price)

    # ----------------------------------------------------------------- market events

    def on_tick(self, tick: Tick) -> list[OrderEvent]:
        """Match working orders against one print; the 체결 (and IOC/FOK 취소) events it caused."""
        code = tick.code
        facts = self.symbols.get(code) or self.facts(code)
        facts.tick = tick
        working = self.working.get(code)
        if not working or facts.vi:  # the common case: no order rests on the symbol
            return []
        today = self.today()
        pools = {Side.BUY: abs(tick.qty), Side.SELL: abs(tick.qty)}
        events: list[OrderEvent] = []
        for order in list(working.values()):  # time priority: dicts keep insertion order
            if not order.matches_venue(tick.venue):
                continue
            plan = plan_fill(order, tick, pools[order.side])
            if order.all_or_none and plan.qty < order.open_qty:
                plan = FillPlan(plan.price, 0)
            elif order.queue_ahead is not None:
                order.queue_ahead -= plan.queue_used
            if plan.qty > 0:
                pools[order.side] -= plan.qty
                events.append(self._fill(order, plan, facts, today))
            if order.fresh:
                if order.taking and not order.is_market:
                    order.queue_ahead = 0  # it was marketable: it leads its price level from now on
                order.fresh = order.taking = False
                if order.immediate and order.open_qty > 0:
                    events.append(self.market_cancel(order, "ioc_fok_remainder"))
            if order.open_qty <= 0:
                working.pop(order.order_no, None)
        return events

    def on_vi(self, event: ViTriggered | ViReleased) -> list[OrderEvent]:
        """Start or end a VI; IOC/FOK still working on the symbol are canceled when one starts."""
        facts = self.facts(event.code)
        facts.vi = isinstance(event, ViTriggered)
        if not facts.vi:
            return []
        immediate = [o for o in self.working.get(event.code, {}).values() if o.immediate]
        return [self.market_cancel(o, "vi_started") for o in immediate]

    def expire_all(self) -> list[OrderEvent]:
        """Cancel every working order (end of the trading day)."""
        return [
            self.market_cancel(order, "day_ended")
            for orders in list(self.working.values())
            for order in list(orders.values())
        ]

    def market_cancel(self, order: DryOrder, reason: str) -> OrderEvent:
        """Cancel the rest of `order` without a request; its 취소 event."""
        qty = order.open_qty
        self._close(order)
        log.info("dry_order_expired", order_no=order.order_no, code=order.code, qty=qty, reason=reason)
        return market_cancel_event(order, qty, self.clock.now())

    # ----------------------------------------------------------------- requests

    def place(self, api_id: str, cmd: SubmitOrder, facts: SymbolFacts) -> DryOrder:
        """Check a well-formed order against the market and the account, then book it."""
        if cmd.order_type.needs_price and not is_on_tick(cmd.price, facts.kind):
            raise invalid(api_id, "ord_uv", f"on the {facts.kind.value} tick grid", cmd.price)
        if facts.vi and cmd.order_type in IMMEDIATE_TYPES:
            raise rejected(
                api_id, "RC4061", f"변동성완화장치(VI) 발동 중에는 IOC/FOK 주문을 할 수 없습니다 ({cmd.code})"
            )
        price = cmd.price
        if cmd.order_type in QUOTE_PRICED_TYPES:
            # 최유리 takes the opposite best quote, 최우선 joins its own side's best (krx-market-rules §10).
            price = facts.quote(cmd.side.opposite if cmd.order_type is OrderType.BEST_LIMIT else cmd.side)
            if price <= 0:
                raise rejected(api_id, "RC4062", f"{cmd.code} 호가를 알 수 없어 주문가격을 정할 수 없습니다")
        if price:
            self._check_band(api_id, facts, price)
        if cmd.side is Side.BUY:
            unit = price or self._market_buy_price(facts)
            if unit <= 0:
                raise rejected(api_id, "RC4062", f"{cmd.code} 시세를 알 수 없어 증거금을 계산할 수 없습니다")
            self._check_cash(api_id, unit, cmd.qty, self.orderable())
        else:
            sellable = self.account.sellable(cmd.code, self.offered().get(cmd.code, 0))
            if cmd.qty > sellable:
                raise rejected(api_id, "RC4033", f"매도가능수량이 부족합니다. {max(0, sellable)}주 매도가능")
        return self._book(cmd.side, cmd.order_type, cmd.qty, price, cmd.venue, facts)

    def cancel(self, api_id: str, order_no: str, code: str) -> tuple[OrderAck, list[OrderEvent]]:
        """Cancel all of an order's remaining quantity under a new order number."""
        order = self._working_order(api_id, order_no, code)
        qty, cancel_no = order.open_qty, self._new_order_no()
        self._close(order)
        log.info("dry_order_canceled", order_no=order.order_no, cancel_no=cancel_no, code=code, qty=qty)
        events = cancel_request_events(cancel_no, order, qty, self.clock.now())
        return OrderAck(cancel_no, order.root_order_no, order.venue), events

    def modify(
        self, api_id: str, order_no: str, code: str, qty: int, price: int
    ) -> tuple[OrderAck, list[OrderEvent]]:
        """Move `qty` (0 = all remaining) of a working limit order to a new order at `price`."""
        orig = self._working_order(api_id, order_no, code)
        facts = self.facts(code)
        if not is_on_tick(price, facts.kind):
            raise invalid(api_id, "mdfy_uv", f"on the {facts.kind.value} tick grid", price)
        if orig.is_market or orig.immediate:
            raise rejected(api_id, "RC4038", f"{orig.type_text} 주문은 가격을 정정할 수 없습니다")
        moved = orig.open_qty if qty == 0 else qty
        if moved > orig.open_qty:
            raise rejected(api_id, "RC4036", f"정정수량이 미체결수량({orig.open_qty}주)을 초과합니다")
        self._check_band(api_id, facts, price)
        if orig.side is Side.BUY:
            self._check_cash(
                api_id, price, moved, self.orderable() + self.account.with_fee(orig.price * moved)
            )
        new = self._book(orig.side, orig.order_type, moved, price, orig.venue, facts, orig=orig)
        orig.open_qty -= moved
        if orig.open_qty <= 0:
            self.working.get(code, {}).pop(orig.order_no, None)
        log.info(
            "dry_order_modified", order_no=orig.order_no, new_order_no=new.order_no, qty=moved, price=price
        )
        events = [order_event(new, s, new.accepted_at) for s in (OrderStatus.ACCEPTED, OrderStatus.CONFIRMED)]
        return OrderAck(new.order_no, new.root_order_no, new.venue), events

    # ----------------------------------------------------------------- account views

    def offered(self) -> dict[str, int]:
        """Shares offered by working sell orders, by code."""
        return {
            code: sum(o.open_qty for o in orders.values() if o.side is Side.SELL)
            for code, orders in self.working.items()
        }

    def reserved(self) -> int:
        """Cash held for working buys (limit price, market buys at the upper limit) plus commission."""
        total = 0
        for code, orders in self.working.items():
            facts = self.symbols[code]
            for o in orders.values():
                if o.side is Side.BUY:
                    total += self.account.with_fee((o.price or self._market_buy_price(facts)) * o.open_qty)
        return total

    def orderable(self) -> int:
        """Cash not reserved by working buys."""
        return max(0, self.account.cash - self.reserved())

    # ----------------------------------------------------------------- internals

    @staticmethod
    def _market_buy_price(facts: SymbolFacts) -> int:
        """A market buy is accepted as a buy at the upper limit (krx-market-rules §6), else the last price."""
        limits = facts.limits()
        return limits[1] if limits else facts.last_price()

    def _check_cash(self, api_id: str, unit: int, qty: int, available: int) -> None:
        if self.account.with_fee(unit * qty) > available:
            can = self.account.max_buyable(available, unit)
            raise rejected(api_id, "855056", f"매수증거금이 부족합니다. {can}주 매수가능")

    def _check_band(self, api_id: str, facts: SymbolFacts, price: int) -> None:
        limits = facts.limits()
        if limits is not None and not limits[0] <= price <= limits[1]:
            raise rejected(
                api_id, "RC4011", f"주문단가 {price}원이 가격제한폭({limits[0]}~{limits[1]}원)을 벗어났습니다"
            )

    def _working_order(self, api_id: str, order_no: str, code: str) -> DryOrder:
        if not isinstance(order_no, str) or not order_no.strip().isdigit():
            raise invalid(api_id, "orig_ord_no", "an order number like '0000139'", order_no)
        if not isinstance(code, str) or not STOCK_CODE.match(code):
            raise invalid(api_id, "stk_cd", "a 6-character code like '005930'", code)
        order = self.orders.get(order_no.strip())
        if order is None or order.code != code:
            raise rejected(api_id, "RC4035", f"원주문번호({order_no})에 해당하는 {code} 주문이 없습니다")
        if order.open_qty <= 0:
            raise rejected(api_id, "RC4034", f"원주문({order_no})은 정정/취소 가능한 미체결수량이 없습니다")
        return order

    def _book(
        self, side: Side, order_type: OrderType, qty: int, price: int, venue: Venue, facts: SymbolFacts,
        *, orig: DryOrder | None = None,
    ) -> DryOrder:  # fmt: skip
        order_no = self._new_order_no()
        order = DryOrder(
            order_no=order_no,
            orig_order_no=orig.order_no if orig else NO_ORDER_NO,
            root_order_no=orig.root_order_no if orig else order_no,
            action=OrderAction.MODIFY if orig else OrderAction.NEW,
            code=facts.code, name=facts.name, side=side, order_type=order_type, qty=qty, price=price,
            venue=venue, accepted_at=self.clock.now(), open_qty=qty,
        )  # fmt: skip
        order.taking = order.is_market or order.immediate or marketable(side, price, facts)
        if not order.taking:
            order.queue_ahead = queue_on_arrival(side, price, facts)
        self.orders[order_no] = order
        self.working.setdefault(facts.code, {})[order_no] = order
        return order

    def _fill(self, order: DryOrder, plan: FillPlan, facts: SymbolFacts, today: date) -> OrderEvent:
        self.account.book_fill(order, plan.price, plan.qty, facts, today)
        fill_no = str(self._next_fill_no)
        self._next_fill_no += 1
        log.info("dry_order_filled", order_no=order.order_no, fill_no=fill_no, code=order.code,
                 side=order.side, qty=plan.qty, price=plan.price, remaining=order.open_qty)  # fmt: skip
        return order_event(order, OrderStatus.FILLED, self.clock.now(), fill_no=fill_no,
                           fill_price=plan.price, fill_qty=plan.qty)  # fmt: skip

    def _close(self, order: DryOrder) -> None:
        order.open_qty = 0
        self.working.get(order.code, {}).pop(order.order_no, None)

    def _new_order_no(self) -> str:
        if self._next_order_no > MAX_ORDER_NO:
            raise RuntimeError("dry-run order numbers exhausted (7 digits); restart with first_order_no=1")
        order_no = f"{self._next_order_no:07d}"
        self._next_order_no += 1
        return order_no
