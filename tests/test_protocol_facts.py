"""The five Kiwoom facts most easily guessed wrong (kiwoom-protocol.md §12), each proven end to end.

Every test runs our real client against the loopback simulator over real sockets, and where the
fact is about the wire itself it also looks at the raw exchange with a plain httpx/websockets peer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect

from bot.broker.kiwoom.accounts import KiwoomAccounts
from bot.broker.kiwoom.apis import API_SPECS
from bot.broker.kiwoom.auth import AppCredentials
from bot.broker.kiwoom.codec import RealDecoder, parse_frame
from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.orders import KiwoomOrders
from bot.broker.kiwoom.rest import KiwoomRest, open_rest
from bot.broker.kiwoom.retry import RetryPolicy
from bot.broker.kiwoom.ws import KiwoomSocket
from bot.broker.kiwoom.ws_settings import WsSettings
from bot.clock import SimClock, kst
from bot.domain.market import Tick
from bot.domain.values import OrderType
from bot.errors import BusinessRejected, RateLimited
from bot.market.ticks import floor_to_tick
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints, Simulator
from tests.engine.daemon_support import until

pytestmark = pytest.mark.anyio

NO_RETRY = RetryPolicy(attempts=1)


@asynccontextmanager
async def client(sim: Simulator, ep: SimEndpoints) -> AsyncIterator[KiwoomRest]:
    """Our REST stack pointed at the simulator (no read retries, so every error surfaces)."""
    endpoints = KiwoomEndpoints.for_mode("live", rest_url=ep.rest_url, ws_url=ep.ws_url)
    async with open_rest(
        endpoints, AppCredentials(SIM_APPKEY, SIM_SECRETKEY), sim.clock, retry=NO_RETRY, timeout_s=5
    ) as rest:
        yield rest


async def raw_token(ep: SimEndpoints) -> dict[str, object]:
    """An au10001 exchange done by hand, to look at the wire."""
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            ep.rest_url + "/oauth2/token",
            json={"grant_type": "client_credentials", "appkey": SIM_APPKEY, "secretkey": SIM_SECRETKEY},
            headers={"api-id": "au10001", "Content-Type": "application/json;charset=UTF-8"},
        )
    assert reply.status_code == 200
    body: dict[str, object] = reply.json()
    return body


async def test_fact1_errors_are_http_200_with_the_code_inside_return_msg(
    sim_server: tuple[Simulator, SimEndpoints],
) -> None:
    """Expired token, rate limit and order rejection all come as HTTP 200; the code is in return_msg."""
    sim, ep = sim_server
    token = str((await raw_token(ep))["token"])
    sim.faults.expire_tokens()
    async with httpx.AsyncClient() as http:
        reply = await http.post(
            ep.rest_url + "/api/dostk/acnt",
            json={"qry_tp": "3"},
            headers={"api-id": "kt00001", "authorization": f"Bearer {token}"},
        )
    body = reply.json()
    assert reply.status_code == 200 and body["return_code"] == 3 and "[8005:" in body["return_msg"]

    async with client(sim, ep) as rest:
        sim.faults.rate_limit(1)
        with pytest.raises(RateLimited) as limited:
            await rest.call("kt00001", qry_tp="3")
        assert (limited.value.return_code, limited.value.msg_code, limited.value.http_status) == (
            5,
            "1700",
            200,
        )

        orders = KiwoomOrders(rest)
        with pytest.raises(BusinessRejected) as rejected:
            await orders.buy("005930", 10**7, floor_to_tick(sim.market.last_price("005930")))
        assert (rejected.value.return_code, rejected.value.msg_code) == (20, "855056")
        assert "[2000](855056:" in rejected.value.message


async def test_fact2_post_only_api_id_selects_the_operation_no_account_no_oauth(
    sim_server: tuple[Simulator, SimEndpoints],
) -> None:
    """The token reply is token/expires_dt (no access_token); reads are POSTs; orders carry no account."""
    sim, ep = sim_server
    body = await raw_token(ep)
    assert {"token", "expires_dt", "token_type"} <= set(body)
    assert not {"access_token", "expires_in", "refresh_token"} & set(body)
    assert len(str(body["expires_dt"])) == 14 and str(body["expires_dt"]).isdigit()

    async with httpx.AsyncClient() as http:
        get = await http.get(ep.rest_url + "/api/dostk/acnt", headers={"api-id": "kt00001"})
    assert get.status_code == 405

    async with client(sim, ep) as rest:
        deposit = await rest.call("kt00001", qry_tp="3")  # same path family, different api-id:
        holdings = await rest.call("kt00018", qry_tp="1", dmst_stex_tp="KRX")  # different operation
        assert "entr" in deposit and "acnt_evlt_remn_indv_tot" in holdings
        assert API_SPECS["kt00001"].path == API_SPECS["kt00018"].path == "/api/dostk/acnt"

        await KiwoomOrders(rest).buy("005930", 1, floor_to_tick(sim.market.last_price("005930")))
    api_id, sent = sim.stats.order_posts[-1]
    assert api_id == "kt10000"
    assert set(sent) <= {"dmst_stex_tp", "stk_cd", "ord_qty", "ord_uv", "trde_tp", "cond_uv"}
    assert all(isinstance(v, str) for v in sent.values())


async def test_fact3_signs_are_direction_amounts_are_padded_codes_carry_prefixes(
    sim_server: tuple[Simulator, SimEndpoints],
) -> None:
    """A price below the base arrives as "-N" and decodes to N; padded amounts and 'A' codes decode."""
    sim, ep = sim_server
    clock = SimClock(kst(2026, 11, 20, 15, 0))
    decoder = RealDecoder(clock)
    frame = parse_frame(
        '{"trnm":"REAL","data":[{"type":"0B","name":"주식체결","item":"005930",'
        '"values":{"20":"150102","10":"-20800","11":"-50","12":"-0.24","15":"-82","13":"30379732",'
        '"16":"+21000","17":"+21100","18":"-20700","27":"-20850","28":"-20800","228":"98.92"}}]}'
    )
    batch = decoder.decode_frame(frame)
    assert not batch.errors
    tick = batch.events[0]
    assert isinstance(tick, Tick)
    assert (tick.price, tick.change, tick.qty, tick.change_rate_bp, tick.best_ask) == (
        20_800,
        -50,
        -82,
        -24,
        20_850,
    )

    async with client(sim, ep) as rest:
        orders, accounts = KiwoomOrders(rest), KiwoomAccounts(rest)
        raw = await rest.call("kt00001", qry_tp="3")
        assert len(raw["entr"]) == 15 and raw["entr"].startswith("0")
        assert (await accounts.deposit()).cash == int(raw["entr"])

        await orders.buy("005930", 3, None, OrderType.MARKET)

        async def holds() -> bool:
            return bool(await accounts.holdings())

        await until(holds)
        raw_rows = (await rest.call("kt00018", qry_tp="1", dmst_stex_tp="KRX"))["acnt_evlt_remn_indv_tot"]
        assert raw_rows[0]["stk_cd"] == "A005930"
        assert [h.code for h in await accounts.holdings()] == ["005930"]


async def test_fact4_websocket_housekeeping(sim_server: tuple[Simulator, SimEndpoints]) -> None:
    """LOGIN carries the raw token, PINGs are echoed unchanged, REG uses arrays, a second login kicks."""
    sim, ep = sim_server
    async with client(sim, ep) as rest:
        socket = KiwoomSocket(ep.ws_url, rest.tokens, sim.clock, settings=WsSettings(backoff_base_s=0.05))
        async with anyio.create_task_group() as tg:
            await tg.start(socket.run)
            await socket.subscribe(["005930"], ["0B"])
            pings = sim.stats.pings_echoed

            async def echoed() -> bool:
                return sim.stats.pings_echoed > pings

            await until(echoed)
            token = await rest.tokens.get()
            login = next(f for f in sim.stats.ws_received if f.get("trnm") == "LOGIN")
            assert login == {"trnm": "LOGIN", "token": token}
            reg = next(f for f in sim.stats.ws_received if f.get("trnm") == "REG")
            assert reg["data"] == [{"item": ["005930"], "type": ["0B"]}]
            assert {"trnm": "PING"} in sim.stats.ws_received

            async with connect(ep.ws_url) as intruder:  # a second session with the same app key
                await intruder.send(json.dumps({"trnm": "LOGIN", "token": token}))
                with anyio.fail_after(10):
                    async for event in socket.events():
                        if type(event).__name__ == "SessionKickedEvent":
                            break
            tg.cancel_scope.cancel()


async def test_fact5_three_venue_vocabularies_and_condition_order(
    sim_server: tuple[Simulator, SimEndpoints],
) -> None:
    """Orders send dmst_stex_tp=KRX, ka10075 sends stex_tp/trde_tp digits, CNSRREQ sends K after CNSRLST."""
    sim, ep = sim_server
    async with client(sim, ep) as rest:
        await KiwoomOrders(rest).buy("005930", 1, floor_to_tick(sim.market.last_price("005930") * 8 // 10))
        await KiwoomAccounts(rest).open_orders()
        assert sim.stats.order_posts[-1][1]["dmst_stex_tp"] == "KRX"
        assert API_SPECS["ka10004"].path == "/api/dostk/mrkcond"

        socket = KiwoomSocket(ep.ws_url, rest.tokens, sim.clock, settings=WsSettings(condition_pace_s=0.0))
        async with anyio.create_task_group() as tg:
            await tg.start(socket.run)
            conditions = await socket.condition_list()
            await socket.condition_search(conditions[0].seq, realtime=False)
            tg.cancel_scope.cancel()
    trnms = [f.get("trnm") for f in sim.stats.ws_received if f.get("trnm") in ("CNSRLST", "CNSRREQ")]
    assert trnms[:2] == ["CNSRLST", "CNSRREQ"]
    cnsrreq = next(f for f in sim.stats.ws_received if f.get("trnm") == "CNSRREQ")
    assert (cnsrreq["stex_tp"], cnsrreq["search_type"]) == ("K", "0")
