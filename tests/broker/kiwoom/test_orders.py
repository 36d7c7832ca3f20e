"""KiwoomOrders: local validation, exact order bodies, acks, the priority lane and never-resend."""

from __future__ import annotations

from typing import Any

import pytest

from bot.broker.kiwoom.orders import TRDE_TP
from bot.clock import ManualClock, kst
from bot.domain.values import OrderType, Venue
from bot.errors import InvalidRequest
from bot.market.ticks import InstrumentKind

from .rest_support import running_sim, wired

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
async def test_bad_orders_are_refused_before_sending(side: str, kwargs: dict[str, Any], match: str) -> None:
    """A malformed order raises InvalidRequest naming the field and value, and nothing reaches the broker."""
    clock = ManualClock(START)
    async with running_sim(clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(InvalidRequest, match=match):
            await getattr(w.orders, side)(**kwargs)
        assert sum(sim.stats.rest_calls.values()) == 0


async def test_bad_modify_and_cancel_are_refused_before_sending() -> None:
    """Modify and cancel validate order number, quantity and price locally."""
    clock = ManualClock(START)
    async with running_sim(clock) as (sim, ep), wired(sim, ep, clock) as w:
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


async def test_paper_trading_refuses_other_venues_than_krx() -> None:
    """On the mock server an NXT or SOR order is refused locally (mock supports KRX only)."""
    clock = ManualClock(START)
    async with running_sim(clock) as (sim, ep), wired(sim, ep, clock, is_mock=True) as w:
        for venue in (Venue.NXT, Venue.SOR):
            with pytest.raises(InvalidRequest, match=f"dmst_stex_tp='{venue.value}'.*KRX only"):
                await w.orders.buy("005930", 1, 70_000, venue=venue)
        assert sum(sim.stats.rest_calls.values()) == 0
