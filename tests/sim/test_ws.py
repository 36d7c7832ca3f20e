"""The WebSocket at /api/dostk/websocket over a real socket: LOGIN, PING, REG, REAL and condition search."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bot.clock import ManualClock
from bot.sim.protocol import SIM_REAL_FIDS
from tests.sim.support import (
    OPEN,
    SimFactory,
    advance,
    issue_token,
    login,
    real_entries,
    recv,
    recv_until,
    wait_for,
)

pytestmark = pytest.mark.anyio


async def _token(ep_rest: str) -> str:
    async with httpx.AsyncClient(base_url=ep_rest) as client:
        return await issue_token(client)


async def test_ping_can_precede_the_login_ack_which_is_exact(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """The first frame on connect is a PING; the LOGIN ack is exactly Kiwoom's (with sor_yn)."""
    sim, ep = sim_server
    token = await _token(ep.rest_url)
    async with connect(ep.ws_url) as ws:
        await ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
        with anyio.fail_after(3):
            first = json.loads(await ws.recv())
            ack = json.loads(await ws.recv())
        assert first == {"trnm": "PING"}
        assert ack == {"trnm": "LOGIN", "return_code": 0, "return_msg": "", "sor_yn": "Y"}
    assert sim.stats.logins == 1


async def test_login_with_a_bad_token_is_refused_and_closed(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """A bad token gets a non-zero code with [CODE=8005, ...] and the socket is closed."""
    _sim, ep = sim_server
    async with connect(ep.ws_url) as ws:
        reply = await login(ws, "not-a-token")
        assert reply["return_code"] != 0
        assert "[CODE=8005, MESSAGE=Token이 유효하지 않습니다]" in reply["return_msg"]
        with pytest.raises(ConnectionClosed), anyio.fail_after(3):
            while True:
                await ws.recv()


async def test_requests_before_login_get_100013(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """A REG before LOGIN is answered with an error, not acted on."""
    _sim, ep = sim_server
    async with connect(ep.ws_url) as ws:
        await ws.send(
            json.dumps({"trnm": "REG", "grp_no": "1", "data": [{"item": ["005930"], "type": ["0B"]}]})
        )
        reply = await recv(ws)
        assert reply["trnm"] == "REG" and reply["return_code"] == 100013


async def test_unanswered_pings_end_the_session_with_r10002(make_sim: SimFactory) -> None:
    """Without PING echoes the server sends SYSTEM R10002 after max_unanswered_pings and closes."""
    async with make_sim(ping_interval_s=0.05, max_unanswered_pings=2) as (sim, ep):
        token = await _token(ep.rest_url)
        async with connect(ep.ws_url) as ws:
            await ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
            frames = []
            with pytest.raises(ConnectionClosed), anyio.fail_after(3):
                while True:
                    frames.append(json.loads(await ws.recv()))
        assert frames[-1]["trnm"] == "SYSTEM" and frames[-1]["code"] == "R10002"
        assert sum(f == {"trnm": "PING"} for f in frames) == 2
        assert sim.stats.pings_echoed == 0


async def test_echoing_pings_keeps_the_session(make_sim: SimFactory) -> None:
    """A client that echoes every PING is never dropped."""
    async with make_sim(ping_interval_s=0.03, max_unanswered_pings=2) as (sim, ep):
        token = await _token(ep.rest_url)
        async with connect(ep.ws_url) as ws:
            await login(ws, token)
            with anyio.move_on_after(0.4):
                await recv(ws, limit_s=1)  # echoes PINGs; nothing else arrives
            assert sim.stats.pings_echoed >= 8 and len(sim.hub.sessions) == 1


async def test_second_login_with_the_same_app_key_kicks_the_first(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """The older session gets SYSTEM R10001 and is closed; the newer one stays."""
    sim, ep = sim_server
    token = await _token(ep.rest_url)
    async with connect(ep.ws_url) as old, connect(ep.ws_url) as new:
        await login(old, token)
        await login(new, token)
        kicked = await recv(old)
        assert kicked == {
            "trnm": "SYSTEM",
            "code": "R10001",
            "message": "동일한 App key로 접속이 되었습니다. 기존 세션은 종료가 됩니다",
        }
        with pytest.raises(ConnectionClosed), anyio.fail_after(3):
            await old.recv()
        await wait_for(lambda: len(sim.hub.sessions) == 1)


async def test_reg_acks_and_real_frames_are_batched(make_sim: SimFactory) -> None:
    """REG acks carry no grp_no/data; >100 items is refused; REAL frames batch several entries."""
    clock = ManualClock(OPEN)
    async with make_sim(clock=clock, start=OPEN, ping_interval_s=30) as (sim, ep):
        token = await _token(ep.rest_url)
        async with connect(ep.ws_url) as ws:
            await login(ws, token)
            too_many = [f"{n:06d}" for n in range(101)]
            await ws.send(
                json.dumps(
                    {
                        "trnm": "REG",
                        "grp_no": "1",
                        "refresh": "1",
                        "data": [{"item": too_many, "type": ["0B"]}],
                    }
                )
            )
            refused = await recv(ws)
            assert refused["trnm"] == "REG" and refused["return_code"] == 1 and refused["return_msg"]
            codes = list(sim.market.codes)
            await ws.send(
                json.dumps(
                    {"trnm": "REG", "grp_no": "1", "refresh": "1", "data": [{"item": codes, "type": ["0B"]}]}
                )
            )
            assert await recv(ws) == {"trnm": "REG", "return_code": 0, "return_msg": ""}
            await advance(sim, clock, 1)  # the 09:00 opening match prints every symbol
            first = await recv(ws)
            second = await recv(ws)
            entries = real_entries(first, "0B") + real_entries(second, "0B")
            assert len(real_entries(first, "0B")) > 1
            assert sorted(e["item"] for e in entries) == sorted(codes)
            values = entries[0]["values"]
            assert set(values) == set(SIM_REAL_FIDS["0B"])
            assert all(isinstance(v, str) for e in entries for v in e["values"].values())
            assert values["10"][0] in "+-" or values["10"] == str(sim.market.symbol(entries[0]["item"]).base)
            await ws.send(
                json.dumps({"trnm": "REMOVE", "grp_no": "1", "data": [{"item": codes, "type": ["0B"]}]})
            )
            assert await recv(ws) == {"trnm": "REMOVE", "return_code": 0, "return_msg": ""}
            assert sim.hub.sessions[0].registered() == {}


async def test_condition_list_is_seq_name_arrays_and_must_come_first(sim_server: tuple) -> None:  # type: ignore[type-arg]
    """CNSRREQ before CNSRLST is never answered; CNSRLST data is [seq, name] arrays."""
    sim, ep = sim_server
    token = await _token(ep.rest_url)
    async with connect(ep.ws_url) as ws:
        await login(ws, token)
        await ws.send(json.dumps({"trnm": "CNSRREQ", "seq": "0", "search_type": "1", "stex_tp": "K"}))
        await ws.send(json.dumps({"trnm": "CNSRLST"}))
        listing = await recv(ws)  # the CNSRREQ above produced nothing before this
        assert listing["trnm"] == "CNSRLST" and listing["return_code"] == 0
        assert listing["data"][:3] == [["0", "거래량급증"], ["1", "신고가돌파"], ["2", "상승률상위"]]
        assert sim.stats.unanswered_cnsrreq == 1


async def test_one_shot_condition_search_pages_in_the_body(make_sim: SimFactory) -> None:
    """search_type 0 pages with body cont_yn/next_key; values are 9-char padded and FID 12 is ×1000."""
    clock = ManualClock(OPEN)
    async with make_sim(clock=clock, start=OPEN, condition_page_size=2, ping_interval_s=30) as (sim, ep):
        await advance(sim, clock, 1)
        for code in ("005930", "000660", "035420"):
            sim.faults.push_condition("2", code, "I")
        members = sim.conditions.members("2")
        token = await _token(ep.rest_url)
        async with connect(ep.ws_url) as ws:
            await login(ws, token)
            await ws.send(json.dumps({"trnm": "CNSRLST"}))
            await recv(ws)
            request = {
                "trnm": "CNSRREQ",
                "seq": "2",
                "search_type": "0",
                "stex_tp": "K",
                "cont_yn": "N",
                "next_key": "",
            }
            pages = []
            while True:
                await ws.send(json.dumps(request))
                page = await recv(ws)
                assert page["trnm"] == "CNSRREQ" and page["seq"] == "2" and page["return_code"] == 0
                pages.append(page)
                if page["cont_yn"] != "Y":
                    break
                request = {**request, "cont_yn": "Y", "next_key": page["next_key"]}
    assert len(members) >= 3 and len(pages) == (len(members) + 1) // 2
    assert all(len(p["data"]) <= 2 for p in pages) and pages[-1]["next_key"] == ""
    rows = [row for p in pages for row in p["data"]]
    assert [r["9001"] for r in rows] == ["A" + code for code in members]
    row = next(r for r in rows if r["9001"] == "A005930")
    s = sim.market.symbol("005930")
    assert row["302"] == "삼성전자" and row["10"] == f"{s.price:09d}" and len(row["13"]) == 9
    change = s.price - s.base
    assert int(row["11"]) == change and len(row["11"]) == 9
    assert int(row["12"]) == (abs(change) * 100_000 // s.base) * (1 if change >= 0 else -1)


async def test_realtime_condition_search_pushes_inserts_and_deletes(make_sim: SimFactory) -> None:
    """search_type 1 answers the members as jmcode, then pushes 02 I/D until CNSRCLR."""
    clock = ManualClock(OPEN)
    async with make_sim(clock=clock, start=OPEN, ping_interval_s=30) as (sim, ep):
        sim.faults.push_condition("1", "005930", "I")
        token = await _token(ep.rest_url)
        async with connect(ep.ws_url) as ws:
            await login(ws, token)
            await ws.send(json.dumps({"trnm": "CNSRLST"}))
            await recv(ws)
            await ws.send(json.dumps({"trnm": "CNSRREQ", "seq": "1", "search_type": "1", "stex_tp": "K"}))
            initial = await recv(ws)
            assert initial == {
                "trnm": "CNSRREQ",
                "seq": "1",
                "return_code": 0,
                "return_msg": "",
                "data": [{"jmcode": "A005930"}],
            }
            sim.faults.push_condition("1", "000660", "I")
            sim.faults.push_condition("1", "005930", "D")
            pushes = []
            while len(pushes) < 2:
                pushes += real_entries(await recv(ws), "02")
            assert [
                (p["item"], p["values"]["843"], p["values"]["841"], p["values"]["9001"]) for p in pushes
            ] == [
                ("000660", "I", "1", "000660"),
                ("005930", "D", "1", "005930"),
            ]
            assert set(pushes[0]["values"]) == set(SIM_REAL_FIDS["02"])
            await ws.send(json.dumps({"trnm": "CNSRCLR", "seq": "1"}))
            assert await recv(ws) == {"trnm": "CNSRCLR", "seq": "1", "return_code": 0, "return_msg": ""}
            sim.faults.push_condition("1", "035420", "I")
            await ws.send(json.dumps({"trnm": "CNSRLST"}))
            assert (await recv(ws))["trnm"] == "CNSRLST"  # no 02 push came before it


async def test_vi_pushes_carry_trigger_then_release(make_sim: SimFactory) -> None:
    """A 1h entry is pushed when a VI fires (1224 empty) and when it is released (1224 = release time)."""
    clock = ManualClock(OPEN)
    async with make_sim(clock=clock, start=OPEN, ping_interval_s=30) as (sim, ep):
        token = await _token(ep.rest_url)
        async with connect(ep.ws_url) as ws:
            await login(ws, token)
            await ws.send(
                json.dumps(
                    {"trnm": "REG", "grp_no": "9", "refresh": "1", "data": [{"item": [""], "type": ["1h"]}]}
                )
            )
            await recv(ws)
            with anyio.fail_after(10):
                while sim.stats.real_entries_sent == 0:  # only 1h is registered; seed 1's first VI is ~10:12
                    await advance(sim, clock, 300)
            trigger = await recv_until(
                ws, lambda f: any(e["values"]["9068"] == "1" for e in real_entries(f, "1h"))
            )
            entry = next(e for e in real_entries(trigger, "1h") if e["values"]["9068"] == "1")
            assert set(entry["values"]) == set(SIM_REAL_FIDS["1h"]) and entry["values"]["1224"] == ""
            code = entry["item"]
            await advance(sim, clock, 130)
            release = await recv_until(
                ws,
                lambda f: any(
                    e["item"] == code and e["values"]["9068"] == "2" for e in real_entries(f, "1h")
                ),
            )
            released = next(e for e in real_entries(release, "1h") if e["item"] == code)["values"]
            assert len(released["1224"]) == 6 and released["1225"] == "정적"
