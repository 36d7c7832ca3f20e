"""The dry-run broker (bot/broker/dryrun.py): local validation, the documented fill model, exact KRW.

Pure tests: no server, no network (the R21 test proves none is even attempted). Prices use a symbol
with base 10,000 KRW (tick 10, daily band 7,000–13,000) unless a test says otherwise.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import anyio
import pytest

from bot.broker.dryrun import DryRunBroker
from bot.broker.port import Broker
from bot.clock import ManualClock, kst
from bot.domain.account import OrderAction, OrderEvent, OrderStatus
from bot.domain.market import Tick, ViKind, ViReleased, ViTriggered
from bot.domain.orders import SubmitOrder
from bot.domain.snapshots import StockInfo
from bot.domain.values import OrderType, Side, Venue
from bot.errors import BrokerUnreachable, BusinessRejected, InvalidRequest, OutcomeUnknown, ServiceFailed

CODE = "005930"
T0 = kst(2026, 3, 3, 10, 0)
BUY, SELL = Side.BUY, Side.SELL
ACCEPTED, FILLED, CONFIRMED, CANCELED = (
    OrderStatus.ACCEPTED,
    OrderStatus.FILLED,
    OrderStatus.CONFIRMED,
    OrderStatus.CANCELED,
)


def make(cash: int = 20_000_000, *, at: datetime = T0, **kwargs: Any) -> tuple[DryRunBroker, ManualClock]:
    """A dry-run broker that knows CODE (base 10,000) and has seen one print at 10,000 (ask 10,010)."""
    clock = ManualClock(at)
    broker = DryRunBroker(clock, cash, **kwargs)
    broker.set_reference(CODE, "삼성전자", 10_000)
    broker.on_tick(tick(10_000, 1, ask=10_010, bid=10_000, when=at))
    return broker, clock


def tick(
    price: int,
    qty: int,
    *,
    ask: int = 0,
    bid: int = 0,
    code: str = CODE,
    venue: Venue = Venue.KRX,
    when: datetime = T0,
) -> Tick:
    """One trade print; `qty` is signed by aggressor like Kiwoom's FID 15."""
    return Tick(code, when, price, qty, 0, price - 10_000, 0, 10_000, price, price, ask, bid, venue)


def order(
    side: Side, qty: int, price: int = 0, order_type: OrderType = OrderType.LIMIT, code: str = CODE
) -> SubmitOrder:
    """A SubmitOrder as the router would pass it."""
    return SubmitOrder("test", code, side, qty, order_type, price)


def drain(broker: DryRunBroker) -> list[OrderEvent]:
    """Every request event waiting in the broker's stream."""
    out = []
    while True:
        try:
            out.append(broker.events().receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return out


def fills_of(events: list[OrderEvent]) -> list[tuple[int, int, int, int, int, int]]:
    """(fill_qty, fill_price, remaining, cum_fill_amount, fee, tax) of each 체결."""
    return [
        (e.fill_qty, e.fill_price, e.remaining_qty, e.cum_fill_amount, e.fee, e.tax)
        for e in events
        if e.status is FILLED
    ]


@pytest.mark.anyio
async def test_resting_limit_at_the_best_bid_fills_only_when_traded_through() -> None:
    """A buy joining the best bid (unknown queue) ignores prints at or above it, fills at its limit below."""
    broker, _ = make()
    ack = await broker.submit(order(BUY, 10, 10_000))
    assert (ack.order_no, ack.base_orig_order_no, ack.venue) == ("0000001", "", Venue.KRX)
    assert broker.on_tick(tick(10_000, -500, ask=10_010, bid=10_000)) == []
    assert broker.on_tick(tick(10_010, 200, ask=10_020, bid=10_000)) == []
    events = broker.on_tick(tick(9_990, -3, ask=10_000, bid=9_990))
    assert fills_of(events) == [(3, 10_000, 7, 30_000, 4, 0)]
    assert (events[0].order_no, events[0].action, events[0].fill_no) == ("0000001", OrderAction.NEW, "1")
    assert fills_of(broker.on_tick(tick(9_980, -100))) == [(7, 10_000, 0, 100_000, 15, 0)]
    assert await broker.open_orders() == []


@pytest.mark.anyio
async def test_limit_opening_a_new_level_fills_at_its_price_with_volume() -> None:
    """A buy above the best bid leads its level: a print AT its price fills it, bounded by the volume."""
    broker, _ = make()
    broker.on_tick(tick(10_000, 5, ask=10_030, bid=10_000))
    await broker.submit(order(BUY, 10, 10_010))
    assert broker.on_tick(tick(10_020, 50, ask=10_030, bid=10_010)) == []  # above the limit
    assert fills_of(broker.on_tick(tick(10_010, -4))) == [(4, 10_010, 6, 40_040, 6, 0)]
    assert fills_of(broker.on_tick(tick(10_010, -9))) == [(6, 10_010, 0, 100_100, 15, 0)]


@pytest.mark.anyio
async def test_marketable_limit_takes_the_quote_then_rests_at_its_limit() -> None:
    """A buy limit above the ask takes the next print's ask if within the limit; otherwise it rests."""
    broker, _ = make()
    await broker.submit(order(BUY, 5, 10_100))
    assert fills_of(broker.on_tick(tick(10_010, 2, ask=10_020, bid=10_010))) == [(2, 10_020, 3, 20_040, 3, 0)]
    broker2, _ = make()
    await broker2.submit(order(BUY, 5, 10_100))
    assert broker2.on_tick(tick(10_150, 9, ask=10_200, bid=10_150)) == []  # market ran away
    assert fills_of(broker2.on_tick(tick(10_100, -9))) == [(5, 10_100, 0, 50_500, 7, 0)]  # leads its level


@pytest.mark.anyio
async def test_partial_fills_by_volume_with_cumulative_amounts_fees_and_2026_tax() -> None:
    """1,000 shares against 300-share prints fill in pieces; fee and tax are floored on cumulative amounts."""
    broker, _ = make()
    await broker.submit(order(BUY, 1_000, 9_990))
    got = [fills_of(broker.on_tick(tick(9_980, q))) for q in (300, -300, 300, 300)]
    # 0.015 % of 2,997,000 = 449.55 → 449; of 5,994,000 → 899; of 8,991,000 → 1,348; of 9,990,000 → 1,498.
    assert got == [
        [(300, 9_990, 700, 2_997_000, 449, 0)],
        [(300, 9_990, 400, 5_994_000, 899, 0)],
        [(300, 9_990, 100, 8_991_000, 1_348, 0)],
        [(100, 9_990, 0, 9_990_000, 1_498, 0)],
    ]
    await broker.submit(order(SELL, 1_000, 10_010))
    first = fills_of(broker.on_tick(tick(10_020, 400)))
    second = fills_of(broker.on_tick(tick(10_020, 700)))
    # 4,004,000: fee 600 (600.6), tax 0.20 % = 8,008; 10,010,000: fee 1,501 (1,501.5), tax 20,020.
    assert first == [(400, 10_010, 600, 4_004_000, 600, 8_008)]
    assert second == [(600, 10_010, 0, 10_010_000, 1_501, 20_020)]


@pytest.mark.anyio
async def test_sell_tax_is_keyed_by_the_clock_date() -> None:
    """A sale dated 2025-12-30 pays the 2025 rate of 0.15 %, not 2026's 0.20 %."""
    broker, _ = make(at=kst(2025, 12, 30, 10, 0))
    broker.seed_holding(CODE, 100, 9_000)
    await broker.submit(order(SELL, 100, 10_020))
    events = broker.on_tick(tick(10_030, 100, when=kst(2025, 12, 30, 10, 1)))
    assert fills_of(events) == [(100, 10_020, 0, 1_002_000, 150, 1_503)]


@pytest.mark.anyio
async def test_market_orders_fill_at_the_next_prints_quote_bounded_by_volume() -> None:
    """A market buy pays the next prints' asks (volume-bounded, in pieces); a market sell gets the bid."""
    broker, _ = make()
    await broker.submit(order(BUY, 50, 0, OrderType.MARKET))
    reserved = (await broker.deposit()).orderable
    assert reserved == 20_000_000 - (13_000 * 50 + 13_000 * 50 * 15 // 100_000)  # upper limit + commission
    assert fills_of(broker.on_tick(tick(10_020, 20, ask=10_030, bid=10_020))) == [
        (20, 10_030, 30, 200_600, 30, 0)
    ]
    assert fills_of(broker.on_tick(tick(10_040, 100, ask=10_050))) == [(30, 10_050, 0, 502_100, 75, 0)]
    await broker.submit(order(SELL, 50, 0, OrderType.MARKET))
    assert fills_of(broker.on_tick(tick(10_040, -80, ask=10_050, bid=10_030))) == [
        (50, 10_030, 0, 501_500, 75, 1_003)
    ]


@pytest.mark.anyio
async def test_ioc_fills_what_the_next_print_allows_and_cancels_the_rest() -> None:
    """IOC takes 40 of 100 on the next print and the other 60 are canceled (취소, remaining 0)."""
    broker, _ = make()
    await broker.submit(order(BUY, 100, 10_050, OrderType.LIMIT_IOC))
    events = broker.on_tick(tick(10_000, 40, ask=10_010, bid=10_000))
    assert fills_of(events) == [(40, 10_010, 60, 400_400, 60, 0)]
    cancel = events[1]
    assert (cancel.status, cancel.action, cancel.order_no, cancel.orig_order_no) == (
        CANCELED, OrderAction.CANCEL, "0000001", "0000001",
    )  # fmt: skip
    assert (cancel.order_qty, cancel.remaining_qty, cancel.cum_fill_amount) == (60, 0, 400_400)
    assert broker.on_tick(tick(9_000, -1_000)) == []
    assert await broker.open_orders() == []


@pytest.mark.anyio
async def test_fok_fills_all_on_the_next_print_or_nothing() -> None:
    """FOK for 100 against a 40-share print is canceled whole; against a 150-share print it fills whole."""
    broker, _ = make()
    await broker.submit(order(BUY, 100, 10_050, OrderType.LIMIT_FOK))
    events = broker.on_tick(tick(10_000, 40, ask=10_010))
    assert [(e.status, e.order_qty, e.remaining_qty) for e in events] == [(CANCELED, 100, 0)]
    await broker.submit(order(BUY, 100, 0, OrderType.MARKET_FOK))
    assert fills_of(broker.on_tick(tick(10_000, 150, ask=10_020))) == [(100, 10_020, 0, 1_002_000, 150, 0)]


@pytest.mark.anyio
async def test_cancel_after_a_partial_fill() -> None:
    """Cancel takes the 70 unfilled shares under a new number (접수, 확인); the 30 filled stay filled."""
    broker, _ = make()
    await broker.submit(order(BUY, 100, 10_000))
    broker.on_tick(tick(9_990, -30))
    ack = await broker.cancel("0000001", CODE, Venue.KRX)
    assert (ack.order_no, ack.base_orig_order_no) == ("0000002", "0000001")
    events = drain(broker)
    assert [(e.order_no, e.status, e.action) for e in events] == [
        ("0000001", ACCEPTED, OrderAction.NEW),
        ("0000002", ACCEPTED, OrderAction.CANCEL),
        ("0000002", CONFIRMED, OrderAction.CANCEL),
    ]
    assert {(e.orig_order_no, e.order_qty, e.remaining_qty) for e in events[1:]} == {("0000001", 70, 0)}
    assert broker.on_tick(tick(9_900, -500)) == []
    assert await broker.open_orders() == []
    [record] = await broker.fills()
    assert (record.order_no, record.fill_qty, record.fill_price, record.remaining_qty, record.fee) == (
        "0000001", 30, 10_000, 0, 45,
    )  # fmt: skip
    assert (await broker.deposit()).orderable == 20_000_000 - 300_000 - 45  # reservation released
    for order_no, code in (("0000001", "RC4034"), ("0000009", "RC4035")):
        with pytest.raises(BusinessRejected) as err:
            await broker.cancel(order_no, CODE, Venue.KRX)
        assert (err.value.msg_code, err.value.return_code, err.value.api_id) == (code, 20, "kt10003")


@pytest.mark.anyio
async def test_modify_moves_the_remainder_to_a_new_order_at_the_new_price() -> None:
    """Modify after a partial fill: a new number for the 70 left at the new price; the original closes."""
    broker, _ = make()
    await broker.submit(order(BUY, 100, 9_900))
    broker.on_tick(tick(9_890, -30))
    ack = await broker.modify("0000001", CODE, 0, 10_000, Venue.KRX)
    assert (ack.order_no, ack.base_orig_order_no) == ("0000002", "0000001")
    events = drain(broker)[1:]
    assert [
        (e.order_no, e.orig_order_no, e.status, e.action, e.order_qty, e.order_price) for e in events
    ] == [
        ("0000002", "0000001", ACCEPTED, OrderAction.MODIFY, 70, 10_000),
        ("0000002", "0000001", CONFIRMED, OrderAction.MODIFY, 70, 10_000),
    ]
    [working] = await broker.open_orders()
    assert (working.order_no, working.remaining_qty, working.order_price, working.status_text) == (
        "0000002", 70, 10_000, "확인",
    )  # fmt: skip
    fills = broker.on_tick(tick(9_990, -100, ask=10_000, bid=9_990))  # marketable on arrival: takes the ask
    assert [(e.order_no, e.action) for e in fills] == [("0000002", OrderAction.MODIFY)]
    assert fills_of(fills) == [(70, 10_000, 0, 700_000, 105, 0)]
    with pytest.raises(BusinessRejected, match="RC4034"):
        await broker.modify("0000002", CODE, 0, 10_100, Venue.KRX)
    await broker.submit(order(BUY, 10, 9_000))
    with pytest.raises(InvalidRequest, match="mdfy_uv"):
        await broker.modify("0000003", CODE, 0, 9_005, Venue.KRX)


@pytest.mark.anyio
async def test_rejections_read_like_kiwoom_and_change_nothing() -> None:
    """Cash short names how many shares fit; oversell, band, unknown code and malformed input are refused."""
    broker, _ = make(cash=1_000_000)
    cases: list[tuple[SubmitOrder, str]] = [
        (order(BUY, 100, 10_000), "[2000](855056:매수증거금이 부족합니다. 99주 매수가능)"),
        (order(BUY, 77, 0, OrderType.MARKET), "[2000](855056:매수증거금이 부족합니다. 76주 매수가능)"),
        (order(SELL, 1, 10_000), "[2000](RC4033:매도가능수량이 부족합니다. 0주 매도가능)"),
        (order(BUY, 1, 13_010), "(RC4011:주문단가 13010원이 가격제한폭(7000~13000원)을 벗어났습니다)"),
        (order(BUY, 1, 10_000, code="000660"), "(1902:종목코드(000660)에 해당하는 종목정보가 없습니다)"),
    ]
    for cmd, text in cases:
        with pytest.raises(BusinessRejected) as err:
            await broker.submit(cmd)
        assert text in str(err.value) and err.value.return_code == 20
    assert err.value.api_id == "kt10000"
    for cmd, field in [
        (order(BUY, 1, 10_005), "ord_uv"),  # off the tick grid
        (order(BUY, 0, 10_000), "ord_qty"),
        (order(BUY, 1, 10_000, OrderType.MARKET), "ord_uv"),
        (order(BUY, 1, 0), "ord_uv"),
        (order(BUY, 1, 10_000, code="5930"), "stk_cd"),
    ]:
        with pytest.raises(InvalidRequest, match=field):
            await broker.submit(cmd)
    assert drain(broker) == [] and await broker.open_orders() == []
    assert (await broker.submit(order(BUY, 99, 10_000))).order_no == "0000001"


@pytest.mark.anyio
async def test_oversell_counts_shares_offered_by_working_sells() -> None:
    """With 10 held and 6 offered, a sell of 5 is refused with '4주 매도가능'."""
    broker, _ = make()
    broker.seed_holding(CODE, 10, 9_000)
    await broker.submit(order(SELL, 6, 10_500))
    with pytest.raises(BusinessRejected, match="4주 매도가능") as err:
        await broker.submit(order(SELL, 5, 10_500))
    assert (err.value.msg_code, err.value.api_id) == ("RC4033", "kt10001")
    [holding] = await broker.holdings()
    assert (holding.qty, holding.sellable_qty) == (10, 4)


@pytest.mark.anyio
async def test_round_trip_balance_and_holdings_in_exact_krw() -> None:
    """Buy 1,000 at 9,990 and sell at 10,010: holdings, fills and cash are exact to the won."""
    broker, _ = make()
    await broker.submit(order(BUY, 1_000, 9_990))
    broker.on_tick(tick(9_980, 600))
    broker.on_tick(tick(9_980, 600))
    broker.on_tick(tick(10_000, 1, ask=10_010, bid=10_000))
    [held] = await broker.holdings()
    # eval 10,000,000; pnl = 10,000,000 − 9,990,000 − 1,498 (buy fee) − 1,500 (sell fee) − 20,000 (tax).
    assert (held.qty, held.sellable_qty, held.avg_price, held.purchase_amount) == (
        1_000,
        1_000,
        9_990,
        9_990_000,
    )
    assert (held.price, held.eval_amount, held.pnl, held.pnl_rate_bp, held.name) == (
        10_000, 10_000_000, -12_998, -13, "삼성전자",
    )  # fmt: skip
    deposit = await broker.deposit()
    assert (deposit.cash, deposit.d2_cash, deposit.orderable) == (20_000_000, 10_008_502, 10_008_502)
    await broker.submit(order(SELL, 1_000, 10_010))
    broker.on_tick(tick(10_020, 2_000))
    assert await broker.holdings() == []
    records = await broker.fills()
    assert [(r.order_no, r.side, r.fill_qty, r.fill_price, r.fee, r.tax) for r in records] == [
        ("0000001", BUY, 1_000, 9_990, 1_498, 0),
        ("0000002", SELL, 1_000, 10_010, 1_501, 20_020),
    ]
    deposit = await broker.deposit()
    # 20,000,000 − 9,991,498 + (10,010,000 − 1,501 − 20,020) = 19,996,981: a loss of 3,019 after costs.
    assert (deposit.d1_cash, deposit.d2_cash, deposit.orderable, deposit.withdrawable) == (19_996_981,) * 4


@pytest.mark.anyio
async def test_no_fills_during_a_vi_and_no_ioc_fok() -> None:
    """While a VI is on nothing fills, working IOC are canceled and new IOC/FOK are refused."""
    broker, _ = make()
    await broker.submit(order(BUY, 10, 10_000))
    await broker.submit(order(BUY, 10, 10_100, OrderType.LIMIT_IOC))
    events = broker.on_vi(ViTriggered(CODE, "삼성전자", T0, 11_000, ViKind.DYNAMIC))
    assert [(e.order_no, e.status, e.order_qty) for e in events] == [("0000002", CANCELED, 10)]
    assert broker.on_tick(tick(9_000, -500)) == []
    with pytest.raises(BusinessRejected, match="RC4061"):
        await broker.submit(order(BUY, 1, 0, OrderType.MARKET_FOK))
    assert broker.on_vi(ViReleased(CODE, "삼성전자", T0)) == []
    assert fills_of(broker.on_tick(tick(9_900, -500))) == [(10, 10_000, 0, 100_000, 15, 0)]


@pytest.mark.anyio
async def test_prints_fill_orders_of_their_venue_only_and_day_end_expires_the_rest() -> None:
    """An NXT print fills a SOR order but not a KRX one; expire_day cancels every working order."""
    broker, _ = make()
    await broker.submit(order(BUY, 10, 10_000))
    await broker.submit(SubmitOrder("test", CODE, BUY, 5, OrderType.LIMIT, 10_000, Venue.SOR))
    events = broker.on_tick(tick(9_900, -100, venue=Venue.NXT))
    assert [(e.order_no, e.fill_qty, e.fill_price, e.venue) for e in events] == [
        ("0000002", 5, 10_000, Venue.SOR)
    ]
    events = broker.expire_day()
    assert [(e.order_no, e.status, e.action, e.order_qty) for e in events] == [
        ("0000001", CANCELED, OrderAction.CANCEL, 10)
    ]
    assert await broker.open_orders() == [] and (await broker.deposit()).orderable == 20_000_000 - 50_007


@pytest.mark.anyio
async def test_stock_info_from_reference_fetcher_and_last_print() -> None:
    """stock_info overlays the last print on reference data; an info source is asked once a day."""
    broker, _ = make()
    broker.on_tick(tick(10_100, 5, ask=10_110, bid=10_100))
    info = await broker.stock_info(CODE)
    assert (info.name, info.price, info.base_price, info.lower_limit, info.upper_limit) == (
        "삼성전자", 10_100, 10_000, 7_000, 13_000,
    )  # fmt: skip
    asked: list[str] = []

    async def fetch(code: str) -> StockInfo:
        asked.append(code)
        return StockInfo(code, "SK하이닉스", 200_000, 0, 0, 0, 199_000, 258_500, 139_300, 1_000, 50, 7)

    fetched, _ = make(info_source=fetch)
    ack = await fetched.submit(order(BUY, 1, 200_000, code="000660"))
    info = await fetched.stock_info("000660")
    assert ack.order_no == "0000001" and asked == ["000660"]
    assert (info.name, info.price, info.upper_limit, info.lower_limit) == (
        "SK하이닉스",
        200_000,
        258_500,
        139_300,
    )
    with pytest.raises(BusinessRejected, match="RC4011"):
        await fetched.submit(order(BUY, 1, 259_000, code="000660"))
    with pytest.raises(ServiceFailed, match="1903"):
        await broker.stock_info("000660")


@pytest.mark.anyio
async def test_a_full_event_stream_makes_the_outcome_unknown_not_lost() -> None:
    """With nobody reading events(), a request waits, then raises OutcomeUnknown; the order stays listed."""
    broker, _ = make(event_buffer=1, send_timeout_s=0.05)
    await broker.submit(order(BUY, 1, 10_000))
    with pytest.raises(OutcomeUnknown, match="0000002"):
        await broker.submit(order(BUY, 1, 10_000))
    assert [o.order_no for o in await broker.open_orders()] == ["0000001", "0000002"]
    assert [e.order_no for e in drain(broker)] == ["0000001"]


@pytest.mark.anyio
async def test_quote_priced_orders_numbering_from_a_restart_and_close() -> None:
    """최유리 buys at the last ask, 최우선 at the last bid; numbers start at first_order_no."""
    broker, _ = make(first_order_no=42)
    best = await broker.submit(order(BUY, 1, 0, OrderType.BEST_LIMIT))
    priority = await broker.submit(order(BUY, 1, 0, OrderType.PRIORITY_LIMIT))
    rows = await broker.open_orders()
    assert [(r.order_no, r.order_price, r.order_type_text) for r in rows] == [
        (best.order_no, 10_010, "최유리지정가"),
        (priority.order_no, 10_000, "최우선지정가"),
    ]
    assert (best.order_no, priority.order_no) == ("0000042", "0000043")
    await broker.aclose()
    with pytest.raises(BrokerUnreachable):
        await broker.submit(order(BUY, 1, 10_000))
    assert [e.order_no for e in drain(broker)] == ["0000042", "0000043"]
    with pytest.raises(anyio.EndOfStream):
        broker.events().receive_nowait()


def _reachable(root: object) -> Iterator[object]:
    """Every object reachable from `root` through attributes, slots and containers."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type)):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        if hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                stack.append(getattr(obj, slot))


@pytest.mark.anyio
async def test_r21_no_network_is_ever_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    """R21: a whole order lifecycle runs with sockets forbidden, and the broker holds no network client."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("dry-run touched the network")

    broker, _ = make()
    port: Broker = broker  # the Broker protocol, checked by mypy where tests are type-checked
    assert port.sends_orders is False
    for name in ("socket", "create_connection", "getaddrinfo", "socketpair"):
        monkeypatch.setattr(socket, name, forbidden)
    await broker.submit(order(BUY, 100, 10_000))
    broker.on_tick(tick(9_990, -40))
    await broker.modify("0000001", CODE, 0, 10_100, Venue.KRX)
    broker.on_tick(tick(10_050, -30))
    await broker.cancel("0000002", CODE, Venue.KRX)
    await broker.submit(order(SELL, 70, 0, OrderType.MARKET))
    broker.on_tick(tick(10_050, -100, bid=10_040))
    assert await broker.holdings() == [] and await broker.open_orders() == []
    assert len(await broker.fills()) == 3 and (await broker.deposit()).d2_cash < 20_000_000
    assert len(drain(broker)) == 6
    modules = {type(obj).__module__.split(".")[0] for obj in _reachable(broker)}
    assert not modules & {"httpx", "httpcore", "websockets", "socket", "ssl", "uvicorn"}
    assert not any(type(obj).__module__.startswith("bot.broker.kiwoom") for obj in _reachable(broker))
