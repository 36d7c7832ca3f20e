"""KiwoomOrders: local validation, exact order bodies, acks, the priority lane and never-resend."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
import pytest

from bot.broker.kiwoom.orders import TRDE_TP
from bot.clock import ManualClock, kst
from bot.domain.values import OrderType, Venue
from bot.errors import BusinessRejected, InvalidRequest, OutcomeUnknown, RateLimited
from bot.market.ticks import InstrumentKind, add_ticks

from .rest_support import SimFactory, far_below, step_market, wait_for, wired

pytestmark = pytest.mark.anyio

START = kst(2026, 11, 20, 9, 0)


def test_trde_tp_codes_follow_the_protocol() -> None:
    """OrderType → trde_tp: limit 0, market 3, conditional 5, best 6, priority 7, IOC 10/13, FOK 20/23."""
    assert {t.value: code for t, code in TRDE_TP.items()} == {
        "limit": "0",
        "market": "3",
        "conditional_limit": "5",
        "best_limit": "6",
        "priority_limit": "7",
        "limit_ioc": "10",
        "market_ioc": "13",
        "limit_fok": "20",
        "market_fok": "23",
    }
    assert set(TRDE_TP) == set(OrderType)


BAD_ORDERS: list[tuple[str, dict[str, Any], str]] = [
    ("buy", {"code": "5930", "qty": 1, "price": 70_000}, r"stk_cd.*'5930'"),
    ("buy", {"code": "A005930", "qty": 1, "price": 70_000}, r"stk_cd.*'A005930'"),
    ("buy", {"code": "005930", "qty": 0, "price": 70_000}, r"ord_qty.*0"),
    ("sell", {"code": "005930", "qty": -3, "price": 70_000}, r"ord_qty.*-3"),
    ("buy", {"code": "005930", "qty": 1, "price": 70_050}, r"ord_uv=70050.*tick"),
    ("sell", {"code": "005930", "qty": 1, "price": 0}, r"ord_uv.*0"),
    ("buy", {"code": "005930", "qty": 1}, r"ord_uv is required"),
    ("buy", {"code": "005930", "qty": 1, "price": 70_000, "order_type": OrderType.MARKET}, r"ord_uv.*70000"),
    ("buy", {"code": "005930", "qty": 1, "price": 70_000, "order_type": OrderType.BEST_LIMIT}, r"ord_uv"),
    ("buy", {"code": "069500", "qty": 1, "price": 10_003, "kind": InstrumentKind.ETF}, r"ord_uv=10003"),
    ("buy", {"code": "005930", "qty": 1, "price": 70_000, "cond_price": 70_001}, r"cond_uv=70001"),
]


@pytest.mark.parametrize(("side", "kwargs", "match"), BAD_ORDERS)
async def test_bad_orders_are_refused_before_sending(
    side: str, kwargs: dict[str, Any], match: str, make_sim: SimFactory
) -> None:
    """A malformed order raises InvalidRequest naming the field and value, and nothing reaches the broker."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(InvalidRequest, match=match):
            await getattr(w.orders, side)(**kwargs)
        assert sum(sim.stats.rest_calls.values()) == 0


async def test_bad_modify_and_cancel_are_refused_before_sending(make_sim: SimFactory) -> None:
    """Modify and cancel validate order number, quantity and price locally."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(InvalidRequest, match=r"kt10002: orig_ord_no.*'abc'"):
            await w.orders.modify("abc", "005930", 1, 70_000)
        with pytest.raises(InvalidRequest, match=r"kt10002: mdfy_uv=70001"):
            await w.orders.modify("0000001", "005930", 1, 70_001)
        with pytest.raises(InvalidRequest, match=r"kt10002: mdfy_qty.*-1"):
            await w.orders.modify("0000001", "005930", -1, 70_000)
        with pytest.raises(InvalidRequest, match=r"kt10003: orig_ord_no.*''"):
            await w.orders.cancel("", "005930")
        with pytest.raises(InvalidRequest, match=r"kt10003: cncl_qty.*-1"):
            await w.orders.cancel("0000001", "005930", -1)
        assert sum(sim.stats.rest_calls.values()) == 0


async def test_paper_trading_refuses_other_venues_than_krx(make_sim: SimFactory) -> None:
    """On the mock server an NXT or SOR order is refused locally (mock supports KRX only)."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, is_mock=True) as w:
        for venue in (Venue.NXT, Venue.SOR):
            with pytest.raises(InvalidRequest, match=f"dmst_stex_tp='{venue.value}'.*KRX only"):
                await w.orders.buy("005930", 1, 70_000, venue=venue)
        assert sum(sim.stats.rest_calls.values()) == 0


# ---- against the simulator --------------------------------------------------------------------


async def test_buy_limit_sends_the_exact_body_and_returns_the_ack(make_sim: SimFactory) -> None:
    """A limit buy posts kt10000 with string fields (trde_tp 0, cond_uv "") and returns the new ord_no."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        price = far_below(sim, "005930")
        ack = await w.orders.buy("005930", 3, price)
        assert len(ack.order_no) == 7 and ack.order_no.isdigit()
        assert ack.venue is Venue.KRX
        assert sim.stats.order_posts == [
            (
                "kt10000",
                {
                    "dmst_stex_tp": "KRX",
                    "stk_cd": "005930",
                    "ord_qty": "3",
                    "ord_uv": str(price),
                    "trde_tp": "0",
                    "cond_uv": "",
                },
            )
        ]
        [(_, path, headers, _)] = w.sent.of("kt10000")
        assert path == "/api/dostk/ordr" and headers["api-id"] == "kt10000"
        assert sim.exchange.orders[ack.order_no].qty == 3


async def test_market_orders_send_an_empty_price(make_sim: SimFactory) -> None:
    """A market buy posts trde_tp 3 with ord_uv "" (kt10000); a market sell uses kt10001."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.orders.buy("000660", 2, order_type=OrderType.MARKET)
        api_id, body = sim.stats.order_posts[-1]
        assert api_id == "kt10000"
        assert (body["trde_tp"], body["ord_uv"], body["ord_qty"]) == ("3", "", "2")
        for _ in range(30):
            if sim.exchange.holdings().get("000660") is not None and sim.exchange.sellable("000660") >= 2:
                break
            await step_market(sim, clock)
        await w.orders.sell("000660", 2, order_type=OrderType.MARKET)
        api_id, body = sim.stats.order_posts[-1]
        assert api_id == "kt10001" and (body["trde_tp"], body["ord_uv"]) == ("3", "")


async def test_modify_and_cancel_issue_new_order_numbers(make_sim: SimFactory) -> None:
    """kt10002 and kt10003 return new ord_no values whose base_orig_ord_no is the original order."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        price = far_below(sim, "035420")
        s = sim.market.symbol("035420")
        new = await w.orders.buy("035420", 5, price, kind=s.kind)
        lower = add_ticks(price, -1, s.kind)
        mod = await w.orders.modify(new.order_no, "035420", 0, lower, kind=s.kind)
        assert mod.order_no != new.order_no and mod.base_orig_order_no == new.order_no
        assert sim.stats.order_posts[-1] == (
            "kt10002",
            {
                "dmst_stex_tp": "KRX",
                "orig_ord_no": new.order_no,
                "stk_cd": "035420",
                "mdfy_qty": "0",
                "mdfy_uv": str(lower),
            },
        )
        cancel = await w.orders.cancel(mod.order_no, "035420")
        assert cancel.order_no not in (new.order_no, mod.order_no)
        assert cancel.base_orig_order_no == new.order_no
        assert sim.stats.order_posts[-1] == (
            "kt10003",
            {"dmst_stex_tp": "KRX", "orig_ord_no": mod.order_no, "stk_cd": "035420", "cncl_qty": "0"},
        )
        assert not [o for o in sim.exchange.open_orders() if o.code == "035420"]


async def test_business_rejection_is_never_retried(make_sim: SimFactory) -> None:
    """An order the exchange rejects ([2000](855056:...)) raises BusinessRejected with the code, once."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(BusinessRejected) as info:
            await w.orders.buy("005930", 10_000_000, far_below(sim, "005930"))
        assert (info.value.api_id, info.value.return_code, info.value.msg_code) == ("kt10000", 20, "855056")
        assert sim.stats.rest_calls["kt10000"] == 1


async def test_order_after_the_close_is_rejected_with_rc4058(make_sim: SimFactory) -> None:
    """After 15:30 the exchange answers [2000](RC4058:모의투자 장종료): BusinessRejected, msg_code RC4058."""
    clock = ManualClock(kst(2026, 11, 20, 16, 0))
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(BusinessRejected) as info:
            await w.orders.buy("005930", 1, order_type=OrderType.MARKET)
        assert info.value.msg_code == "RC4058"
        assert "RC4058" in str(info.value)


async def test_rate_limited_order_is_not_resent(make_sim: SimFactory) -> None:
    """A rate-limited order raises RateLimited at once: one post, nothing processed."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.tokens.get()
        sim.faults.rate_limit(1)
        with pytest.raises(RateLimited) as info:
            await w.orders.buy("005930", 1, far_below(sim, "005930"))
        assert info.value.msg_code == "1700"
        assert sim.stats.rest_calls["kt10000"] == 1
        assert sim.stats.order_posts == []


async def test_server_error_on_an_order_is_outcome_unknown_at_once(make_sim: SimFactory) -> None:
    """HTTP 500 on an order raises OutcomeUnknown immediately: one post."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.tokens.get()
        sim.faults.fail_rest(1, status=500)
        with pytest.raises(OutcomeUnknown) as info:
            await w.orders.buy("005930", 1, far_below(sim, "005930"))
        assert info.value.http_status == 500
        assert sim.stats.rest_calls["kt10000"] == 1


@pytest.mark.parametrize("mode", ["500", "hang"])
async def test_lost_order_reply_is_outcome_unknown_and_never_resent(make_sim: SimFactory, mode: str) -> None:
    """The exchange processed the order but the reply was lost: OutcomeUnknown, exactly one order exists."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, timeout_s=0.3) as w:
        await w.tokens.get()
        sim.faults.lose_next_order_reply(mode)
        with pytest.raises(OutcomeUnknown):
            await w.orders.buy("005930", 1, far_below(sim, "005930"))
        assert sim.stats.rest_calls["kt10000"] == 1
        assert [api for api, _ in sim.stats.order_posts] == ["kt10000"]
        assert len(sim.exchange.open_orders()) == 1


async def test_order_held_past_the_timeout_is_not_resent(make_sim: SimFactory) -> None:
    """An order whose reply is held past the client timeout raises OutcomeUnknown after a single post."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, timeout_s=0.3) as w:
        await w.tokens.get()
        sim.faults.hang_next_reply(0.8)
        with pytest.raises(OutcomeUnknown) as info:
            await w.orders.buy("005930", 1, far_below(sim, "005930"))
        assert info.value.api_id == "kt10000" and info.value.http_status is None
        assert sim.stats.rest_calls["kt10000"] == 1
        assert len(w.sent.of("kt10000")) == 1


async def test_order_refused_for_its_token_is_resent_once_after_reissue(make_sim: SimFactory) -> None:
    """An order refused with [8005] was not processed: the token is re-issued and the order sent once more."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.tokens.get()
        sim.faults.expire_tokens()
        ack = await w.orders.buy("005930", 1, far_below(sim, "005930"))
        assert sim.stats.rest_calls["kt10000"] == 2
        assert sim.stats.rest_calls["au10001"] == 2
        assert [api for api, _ in sim.stats.order_posts] == ["kt10000"]
        assert ack.order_no in sim.exchange.orders


async def test_cancel_overtakes_queued_queries_and_orders(make_sim: SimFactory) -> None:
    """A cancel enqueued behind queued queries and buys is sent, and processed, before all of them."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        first = await w.orders.buy("005930", 1, far_below(sim, "005930"))
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(w.rest.call, "ka00001"))
            await wait_for(lambda: w.throttle.queued == 1)
            tg.start_soon(partial(w.orders.buy, "000660", 1, far_below(sim, "000660")))
            await wait_for(lambda: w.throttle.queued == 2)
            tg.start_soon(partial(w.rest.call, "ka00001"))
            await wait_for(lambda: w.throttle.queued == 3)
            tg.start_soon(partial(w.orders.buy, "035720", 1, far_below(sim, "035720")))
            await wait_for(lambda: w.throttle.queued == 4)
            tg.start_soon(partial(w.orders.cancel, first.order_no, "005930"))
        sent = [headers["api-id"] for _, _, headers, _ in w.sent.requests]
        assert sent == ["au10001", "kt10000", "kt10003", "ka00001", "kt10000", "ka00001", "kt10000"]
        processed = [api for api, _ in sim.stats.order_posts]
        assert processed == ["kt10000", "kt10003", "kt10000", "kt10000"]
