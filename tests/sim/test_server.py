"""Serving: loopback port 0, clean and quick shutdown, one serve at a time, the state endpoint."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect

from bot.sim import SimSettings, Simulator
from bot.sim.standalone import serve_standalone
from tests.sim.support import CREDENTIALS, call, issue_token, login, wait_for

pytestmark = pytest.mark.anyio


async def test_stops_within_a_second_with_a_socket_and_a_hung_order_open() -> None:
    """Leaving serve() closes WebSockets and hung requests and stops the market task promptly."""
    sim = Simulator(SimSettings())
    async with sim.serve(host="127.0.0.1", port=0) as ep:
        assert ep.rest_url.startswith("http://127.0.0.1:") and ep.port > 0
        assert ep.ws_url == f"ws://127.0.0.1:{ep.port}/api/dostk/websocket"
        async with httpx.AsyncClient(base_url=ep.rest_url) as client, connect(ep.ws_url) as ws:
            token = await issue_token(client)
            await login(ws, token)
            sim.faults.lose_next_order_reply("hang")
            body = {"dmst_stex_tp": "KRX", "stk_cd": "005930", "ord_qty": "1", "ord_uv": "", "trde_tp": "3"}
            async with anyio.create_task_group() as tg:
                tg.start_soon(call, client, token, "kt10000", body)
                await wait_for(lambda: bool(sim.exchange.orders))
                tg.cancel_scope.cancel()
        stopping = anyio.current_time()
    assert anyio.current_time() - stopping < 1.0
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.post(f"{ep.rest_url}/oauth2/token", json=CREDENTIALS)


async def test_one_serve_at_a_time() -> None:
    """A simulator refuses to serve twice at once."""
    sim = Simulator(SimSettings())
    async with sim.serve():
        with pytest.raises(RuntimeError):
            async with sim.serve():
                pass


async def test_state_endpoint_reports_market_and_account(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """GET /_sim/state is JSON with the clock, phase, every price, conditions and cash."""
    sim, ep = sim_server
    async with httpx.AsyncClient() as client:
        state = (await client.get(f"{ep.control_url}/state")).json()
    assert set(state["prices"]) == set(sim.market.codes)
    assert state["phase"] in ("continuous", "opening_auction") and state["cash"] == 100_000_000
    assert set(state["conditions"]) >= {"0", "1", "2"}


def test_settings_reject_nonsense() -> None:
    """Bad settings are refused with the field named."""
    with pytest.raises(ValueError, match="speed"):
        SimSettings(speed=0)
    with pytest.raises(ValueError, match="rate_limit_style"):
        SimSettings(rate_limit_style="nope")  # type: ignore[arg-type]
    assert "SIMSECRET" not in repr(SimSettings())


async def test_standalone_announces_endpoints_as_one_json_line() -> None:
    """serve_standalone writes one JSON line (URLs and keys) and serves until cancelled."""
    lines: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve_standalone(
                host="127.0.0.1", port=0, seed=3, speed=10.0, as_json=True, write=lines.append
            )
        )
        await wait_for(lambda: bool(lines), 5)
        info = json.loads(lines[0])
        assert set(info) == {"rest_url", "ws_url", "appkey", "secretkey"}
        async with httpx.AsyncClient(base_url=info["rest_url"]) as client:
            reply = await client.post(
                "/oauth2/token",
                json={
                    "grant_type": "client_credentials",
                    "appkey": info["appkey"],
                    "secretkey": info["secretkey"],
                },
            )
            assert reply.json()["return_code"] == 0
        tg.cancel_scope.cancel()
    assert len(lines) == 1


async def test_standalone_human_lines() -> None:
    """Without as_json the REST URL, WS URL, app key and secret key are written as readable lines."""
    lines: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve_standalone(
                host="127.0.0.1", port=0, seed=1, speed=1.0, as_json=False, write=lines.append
            )
        )
        await wait_for(lambda: len(lines) >= 5, 5)
        tg.cancel_scope.cancel()
    text = "\n".join(lines)
    for label in ("REST URL:   http://127.0.0.1:", "WS URL:     ws://127.0.0.1:", "app key:", "secret key:"):
        assert label in text
