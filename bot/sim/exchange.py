"""The simulated account and its order desk: validation, cash/holdings, KRX-style matching.

Pure and synchronous. `place`/`modify`/`cancel` validate like Kiwoom (a rejection raises
`OrderRejected` carrying the `[2000](<code>:<text>)` pieces) and return the order plus the events
to push; `on_step` matches working orders against one market step. Matching: a resting limit buy
fills at its limit when the market trades at or below it (sell: at or above), an order that was
marketable on entry fills on the next print at the better of its limit and that print, market
orders fill at the next print, auctions fill everything marketable at the single price; each fill
is bounded by the volume the market traded that step. Fees: 0.015 % per side and 0.20 % sell tax
(stocks, 2026; ETFs are exempt), both rounded down to the won on the order's cumulative amount.

Reject codes observed on Kiwoom: 855056 (margin), RC4058 (market closed), 1902 (unknown code). The
other `RC40xx` codes are the simulator's own, named so a reader sees what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.domain.values import Side
from bot.market.ticks import is_on_tick
from bot.sim.market import Market, Phase, StepResult, SymbolState

FEE_PER_100K = 15  # 0.015 %
TAX_PER_1K = 2  # 0.20 %
ORDER_TYPES = {"0": "보통", "3": "시장가"}
KNOWN_ORDER_TYPES = {
    "5": "조건부지정가", "6": "최유리지정가", "7": "최우선지정가", "10": "보통(IOC)", "13": "시장가(IOC)",
    "16": "최유리(IOC)", "20": "보통(FOK)", "23": "시장가(FOK)", "26": "최유리(FOK)", "28": "스톱지정가",
    "29": "중간가", "30": "중간가(IOC)", "31": "중간가(FOK)", "61": "장시작전시간외", "62": "시간외단일가",
    "81": "장마감후시간외",
}  # fmt: skip
VENUES = ("KRX", "NXT", "SOR")
OrderKind = Literal["new", "modify", "cancel"]
EventStatus = Literal["접수", "체결", "확인"]


class OrderRejected(Exception):
    """A business rejection: answered as return_code 20 `[2000](<code>:<text>)`."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"[2000]({code}:{text})")
        self.code = code
        self.text = text


@dataclass(slots=True)
class SimOrder:
    """One order as the exchange keeps it (modify/cancel requests are orders too, as on Kiwoom)."""

    ord_no: str
    root_ord_no: str
    orig_ord_no: str
    kind: OrderKind
    code: str
    name: str
    side: Side
    qty: int
    price: int
    trde_tp: str
    venue: str
    time: datetime
    open_qty: int
    aggressive: bool = False
    filled: int = 0
    filled_amount: int = 0
    fee: int = 0
    tax: int = 0
    last_fill_no: str = ""
    last_fill_price: int = 0
    last_fill_qty: int = 0
    external: bool = False

    @property
    def is_working(self) -> bool:
        """Whether the order still has quantity that can fill."""
        return self.kind != "cancel" and self.open_qty > 0

    @property
    def io_text(self) -> str:
        """FID 905 / io_tp_nm: `+매수`, `-매도`, `+매수정정`, `-매도정정`, `매수취소`, `매도취소`."""
        word = "매수" if self.side is Side.BUY else "매도"
        if self.kind == "cancel":
            return f"{word}취소"
        sign = "+" if self.side is Side.BUY else "-"
        return f"{sign}{word}정정" if self.kind == "modify" else f"{sign}{word}"

    @property
    def type_text(self) -> str:
        """FID 906 / trde_tp text: 보통, 시장가."""
        return ORDER_TYPES.get(self.trde_tp, "보통")


@dataclass(slots=True)
class Holding:
    """A position: quantity, purchase amount (for the average price) and today's activity."""

    code: str
    name: str
    qty: int = 0
    pur_amt: int = 0
    tdy_buyq: int = 0
    tdy_sellq: int = 0
    realized: int = 0
    last_side: Side = Side.BUY

    @property
    def avg_price(self) -> int:
        """Average purchase price, rounded down."""
        return self.pur_amt // self.qty if self.qty else 0


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """Something to push as a `00` entry; the order's numbers are copied at the moment it happened."""

    order: SimOrder
    status: EventStatus
    time: datetime
    remaining: int
    cum_amount: int
    fee: int
    tax: int
    fill_no: str = ""
    fill_price: int = 0
    fill_qty: int = 0

    @classmethod
    def of(
        cls, order: SimOrder, status: EventStatus, time: datetime, fill_price: int = 0, fill_qty: int = 0
    ) -> OrderEvent:
        """An event carrying a snapshot of `order` now."""
        fill_no = order.last_fill_no if status == "체결" else ""
        return cls(
            order,
            status,
            time,
            order.open_qty,
            order.filled_amount,
            order.fee,
            order.tax,
            fill_no,
            fill_price,
            fill_qty,
        )


@dataclass(slots=True, eq=False)
class Exchange:
    """The account bound to the simulator's app key, and its order desk."""

    market: Market = field(repr=False)
    cash: int
    orders: dict[str, SimOrder] = field(default_factory=dict, repr=False)
    positions: dict[str, Holding] = field(default_factory=dict, repr=False)
    initial_cash: int = field(default=0, init=False)
    _next_ord_no: int = field(default=1, init=False, repr=False)
    _next_fill_no: int = field(default=1, init=False, repr=False)

    def __post_init__(self) -> None:
        self.initial_cash = self.cash

    # -- read side -------------------------------------------------------------------------------
    def open_orders(self) -> list[SimOrder]:
        """Orders still working, oldest first."""
        return [o for o in self.orders.values() if o.is_working]

    def holdings(self) -> dict[str, Holding]:
        """Positions with shares, by code."""
        return {code: h for code, h in self.positions.items() if h.qty > 0}

    def reserved_cash(self) -> int:
        """Cash held for working buy orders (market buys at the upper limit), fees included."""
        total = 0
        for o in self.orders.values():
            if o.is_working and o.side is Side.BUY:
                total += _with_fee(self._reserve_price(o) * o.open_qty)
        return total

    def orderable_cash(self) -> int:
        """주문가능금액: cash minus reservations, never below zero."""
        return max(0, self.cash - self.reserved_cash())

    def sellable(self, code: str) -> int:
        """Shares of `code` not already offered by working sell orders."""
        held = self.positions[code].qty if code in self.positions else 0
        offered = sum(
            o.open_qty
            for o in self.orders.values()
            if o.is_working and o.side is Side.SELL and o.code == code
        )
        return held - offered

    def _reserve_price(self, o: SimOrder) -> int:
        return self.market.symbol(o.code).upper if o.trde_tp == "3" else o.price

    # -- order entry -----------------------------------------------------------------------------
    def place(
        self, side: Side, code: str, qty: int, price: int, trde_tp: str, venue: str, now: datetime,
        external: bool = False,
    ) -> tuple[SimOrder, list[OrderEvent]]:  # fmt: skip
        """Validate and accept a new order; returns it and its 접수 event."""
        s = self._checked_symbol(code)
        self._check_session(now)
        if trde_tp not in ORDER_TYPES:
            text = KNOWN_ORDER_TYPES.get(trde_tp, trde_tp)
            raise OrderRejected(
                "RC4020",
                f"매매구분 {trde_tp}({text})은(는) 시뮬레이터에서 지원하지 않습니다 (0 보통, 3 시장가)",
            )
        if qty <= 0:
            raise OrderRejected("RC4021", "주문수량은 1주 이상이어야 합니다")
        if trde_tp == "0":
            self._check_price(s, price)
        else:
            price = 0
        if side is Side.BUY:
            need = _with_fee((s.upper if trde_tp == "3" else price) * qty)
            available = self.orderable_cash()
            if need > available:
                unit = _with_fee(s.upper if trde_tp == "3" else price)
                raise OrderRejected(
                    "855056", f"매수증거금이 부족합니다. {available // unit if unit else 0}주 매수가능"
                )
        elif qty > self.sellable(code):
            raise OrderRejected(
                "RC4033", f"매도가능수량이 부족합니다. {max(0, self.sellable(code))}주 매도가능"
            )
        ord_no = self._new_ord_no()
        aggressive = trde_tp == "0" and (price >= s.ask if side is Side.BUY else price <= s.bid)
        order = SimOrder(
            ord_no, ord_no, "0000000", "new", code, s.name, side, qty, price, trde_tp, venue, now, qty,
            aggressive=aggressive, external=external,
        )  # fmt: skip
        self.orders[ord_no] = order
        return order, [OrderEvent.of(order, "접수", now)]

    def modify(
        self, orig_ord_no: str, code: str, qty: int, price: int, now: datetime
    ) -> tuple[SimOrder, list[OrderEvent]]:
        """정정: move `qty` (0 = all remaining) of a working order to a new order at `price`."""
        orig = self._working(orig_ord_no, code)
        self._check_session(now)
        s = self.market.symbol(code)
        moved = orig.open_qty if qty == 0 else qty
        if moved > orig.open_qty:
            raise OrderRejected("RC4036", f"정정수량이 미체결수량({orig.open_qty}주)을 초과합니다")
        if orig.trde_tp == "0":
            self._check_price(s, price)
        else:
            price = 0
        if orig.side is Side.BUY:
            extra = _with_fee(self._reserve_price_for(orig, price) * moved) - _with_fee(
                self._reserve_price(orig) * moved
            )
            if extra > self.orderable_cash():
                raise OrderRejected("855056", "매수증거금이 부족합니다. 0주 매수가능")
        ord_no = self._new_ord_no()
        aggressive = orig.trde_tp == "0" and (price >= s.ask if orig.side is Side.BUY else price <= s.bid)
        order = SimOrder(
            ord_no, orig.root_ord_no, orig.ord_no, "modify", code, orig.name, orig.side, moved, price,
            orig.trde_tp, orig.venue, now, moved, aggressive=aggressive,
        )  # fmt: skip
        orig.open_qty -= moved
        self.orders[ord_no] = order
        return order, [OrderEvent.of(order, "접수", now), OrderEvent.of(order, "확인", now)]

    def cancel(
        self, orig_ord_no: str, code: str, qty: int, now: datetime
    ) -> tuple[SimOrder, list[OrderEvent]]:
        """취소: cancel `qty` (0 = all remaining) of a working order; returns the cancel order."""
        orig = self._working(orig_ord_no, code)
        cancelled = orig.open_qty if qty == 0 else qty
        if cancelled > orig.open_qty:
            raise OrderRejected("RC4037", f"취소수량이 미체결수량({orig.open_qty}주)을 초과합니다")
        ord_no = self._new_ord_no()
        order = SimOrder(
            ord_no, orig.root_ord_no, orig.ord_no, "cancel", code, orig.name, orig.side, cancelled,
            orig.price, orig.trde_tp, orig.venue, now, 0,
        )  # fmt: skip
        orig.open_qty -= cancelled
        self.orders[ord_no] = order
        return order, [OrderEvent.of(order, "접수", now), OrderEvent.of(order, "확인", now)]

    def _reserve_price_for(self, o: SimOrder, price: int) -> int:
        return self.market.symbol(o.code).upper if o.trde_tp == "3" else price

    def _new_ord_no(self) -> str:
        ord_no = f"{self._next_ord_no:07d}"
        self._next_ord_no += 1
        return ord_no

    def _checked_symbol(self, code: str) -> SymbolState:
        if not self.market.has(code):
            raise OrderRejected("1902", f"종목코드({code})에 해당하는 종목정보가 없습니다")
        return self.market.symbol(code)

    def _check_session(self, now: datetime) -> None:
        phase = self.market.phase_at(now)
        if phase is Phase.CLOSED:
            raise OrderRejected("RC4058", "모의투자 장종료")
        if phase is Phase.PRE_OPEN:
            raise OrderRejected("RC4057", "모의투자 장개시전")

    def _check_price(self, s: SymbolState, price: int) -> None:
        if price <= 0:
            raise OrderRejected("RC4022", "지정가 주문은 주문단가(ord_uv)가 필요합니다")
        if not is_on_tick(price, s.kind):
            raise OrderRejected("RC4010", f"주문단가 {price}원이 호가단위에 맞지 않습니다")
        if not s.lower <= price <= s.upper:
            raise OrderRejected(
                "RC4011", f"주문단가 {price}원이 가격제한폭({s.lower}~{s.upper}원)을 벗어났습니다"
            )

    def _working(self, ord_no: str, code: str) -> SimOrder:
        orig = self.orders.get(ord_no)
        if orig is None or orig.code != code:
            raise OrderRejected("RC4035", f"원주문번호({ord_no})에 해당하는 {code} 주문이 없습니다")
        if not orig.is_working:
            raise OrderRejected("RC4034", f"원주문({ord_no})은 정정/취소 가능한 미체결수량이 없습니다")
        return orig

    # -- matching --------------------------------------------------------------------------------
    def on_step(self, result: StepResult) -> list[OrderEvent]:
        """Match working orders against the step's prints; returns one 체결 event per fill."""
        if not result.trades:
            return []
        working: dict[str, list[SimOrder]] = {}
        for o in self.orders.values():
            if o.is_working:
                working.setdefault(o.code, []).append(o)
        if not working:
            return []
        events: list[OrderEvent] = []
        for trade in result.trades:
            orders = working.get(trade.code)
            if not orders:
                continue
            buy_pool = sell_pool = abs(trade.qty)
            for o in orders:
                if o.open_qty <= 0:
                    continue
                px = _fill_price(o, trade.price, trade.auction)
                if px is None:
                    o.aggressive = False
                    continue
                pool = buy_pool if o.side is Side.BUY else sell_pool
                qty = min(o.open_qty, pool)
                o.aggressive = False
                if qty <= 0:
                    continue
                if o.side is Side.BUY:
                    buy_pool -= qty
                else:
                    sell_pool -= qty
                events.append(self._fill(o, px, qty, result.now))
        return events

    def _fill(self, o: SimOrder, price: int, qty: int, now: datetime) -> OrderEvent:
        amount = price * qty
        o.open_qty -= qty
        o.filled += qty
        o.filled_amount += amount
        fee_total = o.filled_amount * FEE_PER_100K // 100_000
        fee, o.fee = fee_total - o.fee, fee_total
        taxed = o.side is Side.SELL and self.market.symbol(o.code).listing.taxed
        tax_total = o.filled_amount * TAX_PER_1K // 1_000 if taxed else 0
        tax, o.tax = tax_total - o.tax, tax_total
        fill_no = str(self._next_fill_no)
        self._next_fill_no += 1
        o.last_fill_no, o.last_fill_price, o.last_fill_qty = fill_no, price, qty
        h = self.positions.setdefault(o.code, Holding(o.code, o.name))
        h.last_side = o.side
        if o.side is Side.BUY:
            self.cash -= amount + fee
            h.qty += qty
            h.pur_amt += amount
            h.tdy_buyq += qty
        else:
            self.cash += amount - fee - tax
            cost = h.pur_amt * qty // h.qty if h.qty else 0
            h.pur_amt -= cost
            h.qty -= qty
            h.tdy_sellq += qty
            h.realized += amount - cost - fee - tax
        return OrderEvent.of(o, "체결", now, price, qty)

    def expire_day(self) -> None:
        """End of day: working orders lapse (KRX day orders do not carry over)."""
        for o in self.orders.values():
            if o.is_working:
                o.open_qty = 0


def _with_fee(amount: int) -> int:
    return amount + amount * FEE_PER_100K // 100_000


def _fill_price(o: SimOrder, print_price: int, auction: bool) -> int | None:
    """The price `o` fills at against a print, or None if it does not fill."""
    if o.trde_tp == "3":
        return print_price
    if o.side is Side.BUY:
        if auction:
            return print_price if print_price <= o.price else None
        if o.aggressive:
            return min(o.price, print_price)
        return o.price if print_price <= o.price else None
    if auction:
        return print_price if print_price >= o.price else None
    if o.aggressive:
        return max(o.price, print_price)
    return o.price if print_price >= o.price else None
