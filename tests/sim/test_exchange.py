"""The order desk: Kiwoom-style validation, cash and holdings, matching, fees and tax."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import kst
from bot.domain.values import Side
from bot.market.ticks import add_ticks
from bot.sim.exchange import Exchange, OrderRejected
from bot.sim.market import Market, Phase, StepResult, Trade

OPEN = kst(2026, 11, 20, 9, 0)
NOW = OPEN + timedelta(minutes=5)


def _exchange(cash: int = 100_000_000) -> Exchange:
    market = Market(1, OPEN)
    market.step(OPEN)  # opening match: every symbol has a price, bid and ask
    return Exchange(market, cash)


def _print(ex: Exchange, code: str, price: int, qty: int, auction: bool = False) -> list:  # type: ignore[type-arg]
    """Feed one synthetic print to the exchange (the market would produce it in a step)."""
    return ex.on_step(StepResult(NOW, Phase.CONTINUOUS, (Trade(code, price, qty, auction),), ()))


def _reject(call: object) -> OrderRejected:
    with pytest.raises(OrderRejected) as info:
        call()  # type: ignore[operator]
    return info.value


def test_order_numbers_are_seven_digit_and_increment() -> None:
    """ord_no is a 7-digit zero-padded counter shared by new, modify and cancel orders."""
    ex = _exchange()
    bid = ex.market.symbol("005930").bid
    first, _ = ex.place(Side.BUY, "005930", 1, bid, "0", "KRX", NOW)
    second, _ = ex.place(Side.BUY, "005930", 1, bid, "0", "KRX", NOW)
    cancel, _ = ex.cancel(second.ord_no, "005930", 0, NOW)
    assert (first.ord_no, second.ord_no, cancel.ord_no) == ("0000001", "0000002", "0000003")


def test_validation_rejects_like_kiwoom() -> None:
    """Unknown code, off-tick price, price off the band, closed market and unsupported types are refused."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    assert _reject(lambda: ex.place(Side.BUY, "999999", 1, 1000, "0", "KRX", NOW)).code == "1902"
    assert _reject(lambda: ex.place(Side.BUY, "005930", 1, s.bid + 50, "0", "KRX", NOW)).code == "RC4010"
    assert (
        _reject(lambda: ex.place(Side.BUY, "005930", 1, add_ticks(s.upper, 1), "0", "KRX", NOW)).code
        == "RC4011"
    )
    late = kst(2026, 11, 20, 15, 30, 1)
    rejected = _reject(lambda: ex.place(Side.BUY, "005930", 1, s.bid, "0", "KRX", late))
    assert (rejected.code, rejected.text) == ("RC4058", "모의투자 장종료")
    early = kst(2026, 11, 20, 8, 0)
    assert _reject(lambda: ex.place(Side.BUY, "005930", 1, s.bid, "0", "KRX", early)).code == "RC4057"
    unsupported = _reject(lambda: ex.place(Side.BUY, "005930", 1, s.bid, "5", "KRX", NOW))
    assert "조건부지정가" in unsupported.text
    assert _reject(lambda: ex.place(Side.BUY, "005930", 0, s.bid, "0", "KRX", NOW)).code == "RC4021"
    assert ex.orders == {}


def test_insufficient_cash_names_how_many_shares_are_affordable() -> None:
    """A buy beyond the orderable cash is refused with 855056 and the affordable quantity."""
    ex = _exchange(cash=1_000_000)
    price = ex.market.symbol("005930").bid
    rejected = _reject(lambda: ex.place(Side.BUY, "005930", 1_000, price, "0", "KRX", NOW))
    affordable = 1_000_000 // (price + price * 15 // 100_000)
    assert rejected.code == "855056"
    assert rejected.text == f"매수증거금이 부족합니다. {affordable}주 매수가능"


def test_working_buys_reserve_cash_and_market_buys_reserve_at_the_upper_limit() -> None:
    """Open buy orders lower the orderable cash; a market buy is reserved at the upper limit."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    ex.place(Side.BUY, "005930", 10, s.bid, "0", "KRX", NOW)
    ex.place(Side.BUY, "005930", 1, 0, "3", "KRX", NOW)
    reserved = 10 * s.bid + 10 * s.bid * 15 // 100_000 + s.upper + s.upper * 15 // 100_000
    assert ex.reserved_cash() == reserved
    assert ex.orderable_cash() == 100_000_000 - reserved


def test_selling_more_than_held_is_refused() -> None:
    """A sell beyond the sellable quantity (held minus working sells) is refused."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    assert _reject(lambda: ex.place(Side.SELL, "005930", 1, s.ask, "0", "KRX", NOW)).code == "RC4033"


def test_resting_limit_buy_fills_at_its_limit_when_the_market_trades_through() -> None:
    """A resting buy fills at its own price once the market trades at or below it."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    limit = add_ticks(s.bid, -3)
    order, events = ex.place(Side.BUY, "005930", 5, limit, "0", "KRX", NOW)
    assert [e.status for e in events] == ["접수"] and not order.aggressive
    assert _print(ex, "005930", add_ticks(limit, 1), -1000) == []
    fills = _print(ex, "005930", add_ticks(limit, -1), -1000)
    assert [(e.status, e.fill_price, e.fill_qty, e.remaining) for e in fills] == [("체결", limit, 5, 0)]
    assert ex.positions["005930"].qty == 5 and ex.positions["005930"].avg_price == limit


def test_marketable_limit_fills_at_the_better_price_on_the_next_print() -> None:
    """A buy priced at or above the ask fills on the next print at min(limit, print)."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    limit = add_ticks(s.ask, 2)
    order, _ = ex.place(Side.BUY, "005930", 3, limit, "0", "KRX", NOW)
    assert order.aggressive
    fills = _print(ex, "005930", s.ask, 500)
    assert [(e.fill_price, e.fill_qty) for e in fills] == [(s.ask, 3)]


def test_partial_fills_are_bounded_by_the_step_volume() -> None:
    """Each print can fill at most the volume it traded; the rest waits for later prints."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    order, _ = ex.place(Side.BUY, "005930", 100, s.bid, "0", "KRX", NOW)
    first = _print(ex, "005930", s.bid, -30)
    second = _print(ex, "005930", s.bid, -30)
    assert [(e.fill_qty, e.remaining) for e in first + second] == [(30, 70), (30, 40)]
    assert first[0].fill_no != second[0].fill_no
    assert order.filled == 60 and order.filled_amount == 60 * s.bid


def test_market_order_fills_at_the_next_print_and_pays_tax_on_sale() -> None:
    """Market orders fill at the next print; a sale pays 0.015 % fee and 0.20 % tax, rounded down."""
    ex = _exchange()
    _buy, _ = ex.place(Side.BUY, "005930", 10, 0, "3", "KRX", NOW)
    (fill,) = _print(ex, "005930", 103_100, 400)
    amount = 10 * 103_100
    assert (fill.fill_price, fill.fee) == (103_100, amount * 15 // 100_000)
    _sell, _ = ex.place(Side.SELL, "005930", 10, 0, "3", "KRX", NOW)
    (sale,) = _print(ex, "005930", 104_000, -400)
    proceeds = 10 * 104_000
    assert sale.fee == proceeds * 15 // 100_000 and sale.tax == proceeds * 2 // 1_000
    expected = 100_000_000 - amount - fill.fee + proceeds - sale.fee - sale.tax
    assert ex.cash == expected
    assert ex.positions["005930"].qty == 0
    assert ex.positions["005930"].realized == proceeds - amount - sale.fee - sale.tax


def test_etf_sales_pay_no_transaction_tax() -> None:
    """Domestic ETFs are exempt from the securities transaction tax."""
    ex = _exchange()
    ex.place(Side.BUY, "069500", 10, 0, "3", "KRX", NOW)
    _print(ex, "069500", 57_400, 100)
    ex.place(Side.SELL, "069500", 10, 0, "3", "KRX", NOW)
    (sale,) = _print(ex, "069500", 57_500, -100)
    assert sale.tax == 0 and sale.fee == 575_000 * 15 // 100_000


def test_auction_fills_marketable_orders_at_the_single_price() -> None:
    """At an auction print, marketable limits fill at the auction price, others wait."""
    ex = _exchange()
    high, _ = ex.place(Side.BUY, "005930", 2, 110_000, "0", "KRX", NOW)
    low, _ = ex.place(Side.BUY, "005930", 2, 90_000, "0", "KRX", NOW)
    fills = _print(ex, "005930", 100_000, 5_000, auction=True)
    assert [(e.order.ord_no, e.fill_price) for e in fills] == [(high.ord_no, 100_000)]
    assert low.open_qty == 2


def test_modify_moves_quantity_to_a_new_order_that_points_at_the_root() -> None:
    """정정 creates a new ord_no holding the moved quantity at the new price; 0 means all remaining."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    orig, _ = ex.place(Side.BUY, "005930", 10, add_ticks(s.bid, -5), "0", "KRX", NOW)
    part, events = ex.modify(orig.ord_no, "005930", 4, add_ticks(s.bid, -4), NOW)
    assert [e.status for e in events] == ["접수", "확인"]
    assert (part.qty, part.orig_ord_no, part.root_ord_no, part.io_text) == (
        4,
        orig.ord_no,
        orig.ord_no,
        "+매수정정",
    )
    assert orig.open_qty == 6
    rest, _ = ex.modify(part.ord_no, "005930", 0, add_ticks(s.bid, -3), NOW)
    assert rest.qty == 4 and rest.root_ord_no == orig.ord_no and not part.is_working
    assert _reject(lambda: ex.modify(orig.ord_no, "005930", 7, s.bid, NOW)).code == "RC4036"


def test_cancel_zero_cancels_everything_remaining() -> None:
    """취소 with quantity 0 cancels the whole remainder and frees the reserved cash."""
    ex = _exchange()
    s = ex.market.symbol("005930")
    orig, _ = ex.place(Side.BUY, "005930", 10, s.bid, "0", "KRX", NOW)
    _print(ex, "005930", s.bid, -3)
    cancel, events = ex.cancel(orig.ord_no, "005930", 0, NOW)
    assert (cancel.qty, cancel.io_text, [e.status for e in events]) == (7, "매수취소", ["접수", "확인"])
    assert orig.open_qty == 0 and ex.reserved_cash() == 0
    assert ex.open_orders() == []
    assert _reject(lambda: ex.cancel(orig.ord_no, "005930", 0, NOW)).code == "RC4034"
    assert _reject(lambda: ex.cancel("0000099", "005930", 0, NOW)).code == "RC4035"
