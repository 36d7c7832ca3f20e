"""Fault injection over real sockets: drops, stalls, kicks, missing PINGs, bad frames, expired tokens."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bot.sim.faults import MALFORMED_KINDS
from tests.sim.support import SimFactory, call, issue_token, login, recv

pytestmark = pytest.mark.anyio


async def _frames_until_closed(ws: ClientConnection) -> list[str | bytes]:
    frames: list[str | bytes] = []
    with pytest.raises(ConnectionClosed), anyio.fail_after(3):
        while True:
            frames.append(await ws.recv())
    return frames


async def _silent_for(ws: ClientConnection, seconds: float) -> bool:
    """Whether nothing at all arrives for `seconds` (used only to assert silence)."""
    with anyio.move_on_after(seconds):
        await ws.recv()
        return False
    return True


async def test_drop_closes_every_session_without_a_system_frame(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """drop_ws closes the socket with no SYSTEM frame before it."""
    sim, ep = sim_server
    async with httpx.AsyncClient(base_url=ep.rest_url) as client:
        token = await issue_token(client)
    async with connect(ep.ws_url) as ws:
        await login(ws, token)
        sim.faults.drop_ws()
        frames = await _frames_until_closed(ws)
    assert all(json.loads(f).get("trnm") != "SYSTEM" for f in frames)


async def test_kick_sends_r10001_then_closes(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """kick sends SYSTEM R10001 to every session, then closes it."""
    sim, ep = sim_server
    async with httpx.AsyncClient(base_url=ep.rest_url) as client:
        token = await issue_token(client)
    async with connect(ep.ws_url) as ws:
        await login(ws, token)
        sim.faults.kick()
        frames = [json.loads(f) for f in await _frames_until_closed(ws)]
    assert frames[-1]["trnm"] == "SYSTEM" and frames[-1]["code"] == "R10001"


async def test_stall_sends_nothing_then_resumes(make_sim: SimFactory) -> None:
    """During stall_ws the socket stays open but silent (no PING); afterwards PINGs flow again."""
    async with make_sim(ping_interval_s=0.04) as (sim, ep):
        async with httpx.AsyncClient(base_url=ep.rest_url) as client:
            token = await issue_token(client)
        async with connect(ep.ws_url) as ws:
            await login(ws, token)
            sim.faults.stall_ws(0.4)
            assert await _silent_for(ws, 0.3)
            with anyio.fail_after(2):
                assert json.loads(await ws.recv()) == {"trnm": "PING"}


async def test_stop_pings_stops_only_pings(make_sim: SimFactory) -> None:
    """stop_pings silences PINGs while replies still flow; resume_pings brings them back."""
    async with make_sim(ping_interval_s=0.04) as (sim, ep):
        async with httpx.AsyncClient(base_url=ep.rest_url) as client:
            token = await issue_token(client)
        async with connect(ep.ws_url) as ws:
            await login(ws, token)
            sim.faults.stop_pings()
            sent = sim.stats.pings_sent
            await ws.send(json.dumps({"trnm": "CNSRLST"}))
            assert (await recv(ws, echo=False))["trnm"] == "CNSRLST"
            assert await _silent_for(ws, 0.2)
            assert sim.stats.pings_sent == sent
            sim.faults.resume_pings()
            with anyio.fail_after(2):
                while json.loads(await ws.recv()) != {"trnm": "PING"}:
                    pass


async def test_malformed_frames_arrive_as_written(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """Each malformed kind reaches a logged-in session exactly once, binary as bytes."""
    sim, ep = sim_server
    async with httpx.AsyncClient(base_url=ep.rest_url) as client:
        token = await issue_token(client)
    async with connect(ep.ws_url) as ws:
        await login(ws, token)
        received: list[str | bytes] = []
        for kind in MALFORMED_KINDS:
            sim.faults.malformed_frame(kind)
            with anyio.fail_after(3):
                frame = await ws.recv()
                while frame == '{"trnm":"PING"}':
                    frame = await ws.recv()
            received.append(frame)
    assert isinstance(received[-1], bytes)
    with pytest.raises(json.JSONDecodeError):
        json.loads(received[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(received[1])
    assert json.loads(received[2])["trnm"] == "XYZZY"
    assert set(json.loads(received[3])["data"][0]["values"]) == {"20"}
    assert not json.loads(received[4])["data"][0]["values"]["10"].lstrip("+-").isdigit()


async def test_expired_tokens_fail_rest_and_ws_login(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """expire_tokens (via the control endpoint): REST answers rc 3 [8005] and WS LOGIN is refused."""
    _sim, ep = sim_server
    async with httpx.AsyncClient(base_url=ep.rest_url) as client:
        token = await issue_token(client)
        control = await client.post(f"{ep.control_url}/faults", json={"name": "expire_tokens", "args": {}})
        assert control.json() == {"ok": True, "result": None}
        reply = await call(client, token, "ka00001", {})
        assert reply.json()["return_code"] == 3 and "[8005:" in reply.json()["return_msg"]
        bad = await client.post(f"{ep.control_url}/faults", json={"name": "no_such_fault", "args": {}})
        assert bad.status_code == 400 and "no_such_fault" in bad.json()["error"]
    async with connect(ep.ws_url) as ws:
        refused = await login(ws, token)
        assert refused["return_code"] != 0 and "CODE=8005" in refused["return_msg"]
