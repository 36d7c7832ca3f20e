"""KiwoomAccounts: deposit, holdings, open orders (paged), fills and stock info → snapshot dataclasses."""

from __future__ import annotations

import json

import pytest

from bot.broker.kiwoom.accounts import _fill, _holding, _open_order
from bot.clock import ManualClock, kst
from bot.domain.snapshots import Holding
from bot.domain.values import OrderType, Side, Venue
from bot.errors import InvalidRequest, ProtocolError

from .rest_support import SimFactory, far_below, step_market, wired

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 0)


# ---- row decoders (pure) ----------------------------------------------------------------------


def test_holding_row_decodes_prefixed_code_and_padded_amounts() -> None:
    """kt00018 rows: "A005930" → "005930", zero-padded signed amounts → ints, rates → basis points."""
    row = {
        "stk_cd": "A005930",
        "stk_nm": "삼성전자",
        "rmnd_qty": "000000000010",
        "trde_able_qty": "000000000007",
        "pur_pric": "000000070100",
        "cur_prc": "-000000069800",
        "pur_amt": "000000000701000",
        "evlt_amt": "000000000698000",
        "evltv_prft": "-00000000003000",
        "prft_rt": "-0.43",
    }
    assert _holding(row) == Holding(
        code="005930",
        name="삼성전자",
        qty=10,
        sellable_qty=7,
        avg_price=70_100,
        price=69_800,
        purchase_amount=701_000,
        eval_amount=698_000,
        pnl=-3_000,
        pnl_rate_bp=-43,
    )


def test_open_order_row_uses_its_own_vocabularies() -> None:
    """ka10075 rows: side from io_tp_nm, venue from stex_tp 0/1/2, time HHmmss, signed price absolute."""
    row = {
        "ord_no": "0000139",
        "orig_ord_no": "0000000",
        "stk_cd": "005930",
        "stk_nm": "삼성전자",
        "io_tp_nm": "-매도",
        "ord_qty": "10",
        "ord_pric": "+70000",
        "oso_qty": "6",
        "cntr_qty": "4",
        "cntr_tot_amt": "280000",
        "ord_stt": "접수",
        "trde_tp": "보통",
        "tm": "093015",
        "stex_tp": "2",
        "stex_tp_txt": "NXT",
    }
    order = _open_order(row)
    assert (order.side, order.venue, order.order_price, order.remaining_qty, order.filled_qty) == (
        Side.SELL,
        Venue.NXT,
        70_000,
        6,
        4,
    )
    assert order.time is not None and order.time.isoformat() == "09:30:15"


def test_bad_rows_raise_protocol_error() -> None:
    """A row whose side or number cannot be read raises ProtocolError naming the field."""
    with pytest.raises(ProtocolError, match="io_tp_nm"):
        _fill({"ord_no": "0000001", "io_tp_nm": "??"})
    with pytest.raises(ProtocolError, match="cntr_qty"):
        _fill({"ord_no": "0000001", "io_tp_nm": "+매수", "cntr_qty": "1O"})


# ---- against the simulator --------------------------------------------------------------------


async def test_deposit_reads_padded_amounts(make_sim: SimFactory) -> None:
    """kt00001 (qry_tp 3) gives the starting cash as ints."""
    clock = ManualClock(START)
    async with make_sim(clock=clock, cash_krw=50_000_000) as (sim, ep), wired(sim, ep, clock) as w:
        deposit = await w.accounts.deposit()
        assert deposit.cash == 50_000_000
        assert deposit.orderable == 50_000_000
        assert deposit.d2_cash == 50_000_000
        [(_, path, _, content)] = w.sent.of("kt00001")
        assert path == "/api/dostk/acnt" and json.loads(content) == {"qry_tp": "3"}


async def test_stock_info_matches_the_market(make_sim: SimFactory) -> None:
    """ka10001 gives name, absolute price and the daily limits of the symbol."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        for _ in range(3):
            await step_market(sim, clock)
        info = await w.accounts.stock_info("005930")
        s = sim.market.symbol("005930")
        assert (info.code, info.name) == ("005930", "삼성전자")
        assert info.price == sim.market.last_price("005930") > 0
        assert (info.lower_limit, info.upper_limit, info.base_price) == (s.lower, s.upper, s.base)
        assert info.change == info.price - info.base_price
        with pytest.raises(InvalidRequest, match="stk_cd"):
            await w.accounts.stock_info("5930")


async def test_open_orders_read_all_three_pages(make_sim: SimFactory) -> None:
    """45 resting buys with a page size of 20 come back in three ka10075 pages, every one of them."""
    clock = ManualClock(START)
    async with (
        make_sim(clock=clock, rest_rate_per_s=1000, rest_page_size=20) as (sim, ep),
        wired(sim, ep, clock, rate_per_s=400) as w,
    ):
        codes = ("005930", "000660", "035420")
        placed = set()
        for i in range(45):
            code = codes[i % 3]
            ack = await w.orders.buy(code, 1 + i % 4, far_below(sim, code), kind=sim.market.symbol(code).kind)
            placed.add(ack.order_no)
        orders = await w.accounts.open_orders()
        assert {o.order_no for o in orders} == placed
        assert len(orders) == 45
        assert sim.stats.rest_calls["ka10075"] == 3
        requests = w.sent.of("ka10075")
        assert [h.get("cont-yn") for _, _, h, _ in requests] == [None, "Y", "Y"]
        assert all(h.get("next-key") for _, _, h, _ in requests[1:])
        assert json.loads(requests[0][3]) == {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"}
        assert {o.side for o in orders} == {Side.BUY}
        one = next(o for o in orders if o.code == "000660")
        assert (
            one.remaining_qty == one.order_qty and one.filled_qty == 0 and one.venue in (Venue.KRX, Venue.SOR)
        )


async def test_open_orders_filters_use_the_query_vocabulary(make_sim: SimFactory) -> None:
    """side=BUY → trde_tp "2", SELL → "1"; a code sets all_stk_tp "1"; a venue maps to stex_tp 1/2."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.orders.buy("005930", 1, far_below(sim, "005930"))
        assert len(await w.accounts.open_orders(side=Side.BUY, code="005930", venue=Venue.KRX)) == 1
        assert await w.accounts.open_orders(side=Side.SELL) == []
        bodies = [json.loads(c) for _, _, _, c in w.sent.of("ka10075")]
        assert bodies == [
            {"all_stk_tp": "1", "trde_tp": "2", "stk_cd": "005930", "stex_tp": "1"},
            {"all_stk_tp": "0", "trde_tp": "1", "stk_cd": "", "stex_tp": "0"},
        ]


async def test_filled_market_buy_shows_in_holdings_and_fills(make_sim: SimFactory) -> None:
    """After a market buy fills, kt00018 lists the holding (code without 'A') and ka10076 the fill."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        ack = await w.orders.buy("005930", 10, order_type=OrderType.MARKET)
        for _ in range(60):
            if sim.exchange.orders[ack.order_no].filled == 10:
                break
            await step_market(sim, clock)
        assert sim.exchange.orders[ack.order_no].filled == 10
        holdings = await w.accounts.holdings()
        [held] = [h for h in holdings if h.code == "005930"]
        assert held.qty == 10 and held.sellable_qty == 10
        assert held.avg_price > 0
        assert held.purchase_amount == sim.exchange.holdings()["005930"].pur_amt
        fills = await w.accounts.fills()
        [fill] = [f for f in fills if f.order_no == ack.order_no]
        assert (fill.code, fill.side, fill.fill_qty, fill.remaining_qty) == ("005930", Side.BUY, 10, 0)
        assert fill.fill_price > 0 and fill.fee >= 0
        assert json.loads(w.sent.of("kt00018")[0][3]) == {"qry_tp": "1", "dmst_stex_tp": "KRX"}
        deposit = await w.accounts.deposit()
        assert deposit.cash == 100_000_000  # 예수금 settles T+2
        assert deposit.d2_cash == deposit.orderable == sim.exchange.cash < 100_000_000
