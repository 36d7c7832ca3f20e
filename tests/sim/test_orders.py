"""Orders over real sockets: REST replies, 00/04 pushes, account TRs and the order-reply faults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from bot.clock import ManualClock, kst
from bot.market.ticks import add_ticks
from bot.sim import SimEndpoints, Simulator
from bot.sim.protocol import SIM_REAL_FIDS
from tests.sim.support import (
    OPEN,
    SimFactory,
    advance,
    call,
    issue_token,
    login,
    real_entries,
    recv,
    recv_until,
)

pytestmark = pytest.mark.anyio


@dataclass
class Desk:
    """A simulator on a manual clock, a REST client with a token, and a socket registered for 00/04."""

    sim: Simulator
    ep: SimEndpoints
    clock: ManualClock
    client: httpx.AsyncClient
    token: str
    ws: ClientConnection

    async def order(self, api_id: str, **body: str) -> dict[str, object]:
        reply = await call(self.client, self.token, api_id, body)
        assert reply.status_code == 200
        return dict(reply.json())


@asynccontextmanager
async def desk(make_sim: SimFactory, **overrides: object) -> AsyncIterator[Desk]:
    clock = ManualClock(OPEN)
    settings = {"start": OPEN, "rest_rate_per_s": 1000, "ping_interval_s": 30, **overrides}
    async with make_sim(clock=clock, **settings) as (sim, ep):
        async with httpx.AsyncClient(base_url=ep.rest_url) as client:
            token = await issue_token(client)
            async with connect(ep.ws_url) as ws:
                assert (await login(ws, token))["return_code"] == 0
                await ws.send(
                    json.dumps(
                        {
                            "trnm": "REG",
                            "grp_no": "1",
                            "refresh": "1",
                            "data": [{"item": [""], "type": ["00", "04"]}],
                        }
                    )
                )
                assert await recv(ws) == {"trnm": "REG", "return_code": 0, "return_msg": ""}
                await advance(sim, clock, 1)  # the opening match
                yield Desk(sim, ep, clock, client, token, ws)


async def _orders_entries(ws: ClientConnection, count: int) -> list[dict[str, str]]:
    """The values of the next `count` 00 entries."""
    out: list[dict[str, str]] = []
    while len(out) < count:
        frame = await recv_until(ws, lambda f: bool(real_entries(f, "00")))
        out += [e["values"] for e in real_entries(frame, "00")]
    return out


async def test_limit_buy_is_accepted_pushed_filled_and_reported(make_sim: SimFactory) -> None:
    """kt10000 answers ord_no; 00 접수, 체결 (with fee) and 04 follow; the account TRs agree."""
    async with desk(make_sim) as d:
        s = d.sim.market.symbol("005930")
        price = add_ticks(s.ask, 1)
        reply = await d.order(
            "kt10000",
            dmst_stex_tp="KRX",
            stk_cd="005930",
            ord_qty="3",
            ord_uv=str(price),
            trde_tp="0",
            cond_uv="",
        )
        assert reply == {
            "ord_no": "0000001",
            "dmst_stex_tp": "KRX",
            "return_code": 0,
            "return_msg": "매수주문이 완료되었습니다.",
        }
        (accepted,) = await _orders_entries(d.ws, 1)
        assert set(accepted) == set(SIM_REAL_FIDS["00"])
        assert {
            k: accepted[k] for k in ("9203", "9001", "913", "900", "901", "902", "904", "905", "906", "907")
        } == {
            "9203": "0000001",
            "9001": "A005930",
            "913": "접수",
            "900": "3",
            "901": str(price),
            "902": "3",
            "904": "0000000",
            "905": "+매수",
            "906": "보통",
            "907": "2",
        }
        open_rows = (
            await call(
                d.client,
                d.token,
                "ka10075",
                {"all_stk_tp": "1", "trde_tp": "2", "stk_cd": "005930", "stex_tp": "0"},
            )
        ).json()["oso"]
        assert [(r["ord_no"], r["oso_qty"], r["io_tp_nm"], r["trde_tp"]) for r in open_rows] == [
            ("0000001", "3", "+매수", "보통")
        ]
        with anyio.fail_after(5):
            while d.sim.exchange.orders["0000001"].open_qty:
                await advance(d.sim, d.clock, 1)
        order = d.sim.exchange.orders["0000001"]
        frame = await recv_until(d.ws, lambda f: bool(real_entries(f, "04")))
        fill = real_entries(frame, "00")[0]["values"]
        assert (fill["913"], fill["909"], fill["911"], fill["902"]) == ("체결", "1", "3", "0")
        assert (
            int(fill["903"]) == order.filled_amount
            and int(fill["938"]) == order.filled_amount * 15 // 100_000
        )
        balance = real_entries(frame, "04")[0]["values"]
        assert set(balance) == set(SIM_REAL_FIDS["04"])
        assert (balance["930"], balance["931"]) == ("3", str(order.filled_amount // 3))
        fills = (
            await call(
                d.client,
                d.token,
                "ka10076",
                {"qry_tp": "0", "sell_tp": "2", "stk_cd": "", "ord_no": "", "stex_tp": "0"},
            )
        ).json()["cntr"]
        assert [(r["ord_no"], r["cntr_qty"], r["ord_stt"]) for r in fills] == [("0000001", "3", "체결")]
        held = (await call(d.client, d.token, "kt00018", {"qry_tp": "1", "dmst_stex_tp": "KRX"})).json()
        row = held["acnt_evlt_remn_indv_tot"][0]
        assert (row["stk_cd"], row["rmnd_qty"], len(row["pur_amt"])) == ("A005930", "000000000000003", 15)
        cash = (await call(d.client, d.token, "kt00001", {"qry_tp": "3"})).json()
        assert int(cash["d2_entra"]) == d.sim.exchange.cash == 100_000_000 - order.filled_amount - order.fee
        assert cash["entr"] == "000000100000000"


async def test_modify_and_cancel_echo_padded_quantities_and_confirm(make_sim: SimFactory) -> None:
    """kt10002/kt10003 answer new ord_nos with base_orig_ord_no and 12-char quantities; pushes say 확인."""
    async with desk(make_sim) as d:
        low = d.sim.market.symbol("005930").lower
        await d.order(
            "kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="5", ord_uv=str(low), trde_tp="0"
        )
        modified = await d.order(
            "kt10002",
            dmst_stex_tp="KRX",
            orig_ord_no="0000001",
            stk_cd="005930",
            mdfy_qty="0",
            mdfy_uv=str(add_ticks(low, 1)),
        )
        assert modified == {
            "ord_no": "0000002",
            "base_orig_ord_no": "0000001",
            "mdfy_qty": "000000000005",
            "dmst_stex_tp": "KRX",
            "return_code": 0,
            "return_msg": "매수정정 주문입력이 완료되었습니다",
        }
        cancelled = await d.order(
            "kt10003", dmst_stex_tp="KRX", orig_ord_no="0000002", stk_cd="005930", cncl_qty="0"
        )
        assert cancelled == {
            "ord_no": "0000003",
            "base_orig_ord_no": "0000001",
            "cncl_qty": "000000000005",
            "return_code": 0,
            "return_msg": "매수취소 주문입력이 완료되었습니다",
        }
        pushes = await _orders_entries(d.ws, 5)
        assert [(p["9203"], p["913"], p["905"], p["904"]) for p in pushes] == [
            ("0000001", "접수", "+매수", "0000000"),
            ("0000002", "접수", "+매수정정", "0000001"),
            ("0000002", "확인", "+매수정정", "0000001"),
            ("0000003", "접수", "매수취소", "0000002"),
            ("0000003", "확인", "매수취소", "0000002"),
        ]
        assert d.sim.exchange.open_orders() == []


async def test_business_rejects_are_return_code_20(make_sim: SimFactory) -> None:
    """Off-tick prices, unknown codes and short cash answer rc 20 [2000](code:text) and place nothing."""
    async with desk(make_sim, cash_krw=1_000_000) as d:
        s = d.sim.market.symbol("005930")
        off_tick = await d.order(
            "kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="1", ord_uv=str(s.bid + 1), trde_tp="0"
        )
        assert off_tick["return_code"] == 20 and str(off_tick["return_msg"]).startswith("[2000](RC4010:")
        unknown = await d.order(
            "kt10000", dmst_stex_tp="KRX", stk_cd="999999", ord_qty="1", ord_uv="1000", trde_tp="0"
        )
        assert str(unknown["return_msg"]).startswith("[2000](1902:")
        poor = await d.order(
            "kt10000", dmst_stex_tp="KRX", stk_cd="005930", ord_qty="100", ord_uv=str(s.bid), trde_tp="0"
        )
        assert poor["return_code"] == 20 and "855056:매수증거금이 부족합니다." in str(poor["return_msg"])
        bad_venue = await d.order(
            "kt10000", dmst_stex_tp="XXX", stk_cd="005930", ord_qty="1", ord_uv="1", trde_tp="0"
        )
        assert "[1517:" in str(bad_venue["return_msg"])
        assert d.sim.exchange.orders == {}
        assert [api for api, _ in d.sim.stats.order_posts] == ["kt10000"] * 4


async def test_orders_after_the_close_are_refused(make_sim: SimFactory) -> None:
    """After 15:30 an order answers [2000](RC4058:모의투자 장종료)."""
    clock = ManualClock(kst(2026, 11, 20, 15, 31))
    async with make_sim(clock=clock, start=clock.now()) as (_sim, ep):
        async with httpx.AsyncClient(base_url=ep.rest_url) as client:
            token = await issue_token(client)
            reply = await call(
                client,
                token,
                "kt10000",
                {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "1", "ord_uv": "", "trde_tp": "3"},
            )
    assert reply.json() == {"return_code": 20, "return_msg": "[2000](RC4058:모의투자 장종료)"}


async def test_lost_order_reply_still_places_the_order(make_sim: SimFactory) -> None:
    """lose_next_order_reply: "500" places then answers HTTP 500; "hang" places then never answers."""
    async with desk(make_sim) as d:
        body = {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "1", "ord_uv": "", "trde_tp": "3"}
        d.sim.faults.lose_next_order_reply("500")
        reply = await call(d.client, d.token, "kt10000", body)
        assert reply.status_code == 500 and "0000001" in d.sim.exchange.orders
        d.sim.faults.lose_next_order_reply("hang")
        with anyio.move_on_after(0.3) as scope:
            await call(d.client, d.token, "kt10000", body)
        assert scope.cancelled_caught and "0000002" in d.sim.exchange.orders
        pushes = await _orders_entries(d.ws, 2)
        assert [p["9203"] for p in pushes] == ["0000001", "0000002"]
        assert [api for api, _ in d.sim.stats.order_posts] == ["kt10000", "kt10000"]


async def test_forced_rest_failures_do_not_process(make_sim: SimFactory) -> None:
    """fail_rest answers HTTP status without acting; hang_next_reply delays then processes normally."""
    async with desk(make_sim) as d:
        body = {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "1", "ord_uv": "", "trde_tp": "3"}
        d.sim.faults.fail_rest(1, status=503)
        assert (await call(d.client, d.token, "kt10000", body)).status_code == 503
        assert d.sim.exchange.orders == {}
        d.sim.faults.hang_next_reply(0.2)
        started = anyio.current_time()
        slow = await call(d.client, d.token, "kt10000", body)
        assert slow.json()["ord_no"] == "0000001" and anyio.current_time() - started >= 0.2


async def test_external_orders_reach_the_socket_and_queries(make_sim: SimFactory) -> None:
    """An order injected "from HTS" is pushed and listed like any other."""
    async with desk(make_sim) as d:
        async with httpx.AsyncClient() as control:
            reply = await control.post(
                f"{d.ep.control_url}/faults",
                json={
                    "name": "inject_external_order",
                    "args": {"code": "000660", "side": "buy", "qty": 2, "price": 0},
                },
            )
        assert reply.json() == {"ok": True, "result": "0000001"}
        (push,) = await _orders_entries(d.ws, 1)
        assert (push["9001"], push["906"], push["913"]) == ("A000660", "시장가", "접수")
        state = (await d.client.get(f"{d.ep.control_url}/state")).json()
        assert state["orders"][0]["external"] is True
