"""KiwoomSocket under faults: drops, stalls, kicks, refused LOGINs, malformed frames, odd peers (§7, §13)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import anyio
import pytest
from structlog.testing import capture_logs
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from bot.broker.kiwoom.ws import KiwoomSocket
from bot.domain.market import (
    ConditionHit,
    ConditionSnapshot,
    FeedDown,
    FeedResynced,
    SessionKickedEvent,
    Tick,
)
from bot.errors import SessionKicked
from bot.sim.faults import MALFORMED_KINDS
from tests.broker.kiwoom.test_ws import FAST, manual_clock, running, wait_for
from tests.conftest import SimFactory


def _without_pings(frames: list[Any]) -> list[dict[str, Any]]:
    return [f for f in frames if isinstance(f, dict) and f.get("trnm") != "PING"]


@pytest.mark.anyio
async def test_drop_restores_every_subscription_then_resyncs(make_sim: SimFactory) -> None:
    """After drop_ws: FeedDown, re-LOGIN, every REG group and realtime condition (CNSRLST first), resynced."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        codes = list(sim.market.codes) + [f"9{n:05d}" for n in range(150 - len(sim.market.codes))]
        await s.sock.subscribe(codes, ["0B"])
        await s.sock.subscribe([], ["00", "04"])
        await s.sock.subscribe([], ["1h"])
        await s.sock.condition_search("1", realtime=True)
        await s.sock.condition_search("2", realtime=True)
        before = _without_pings(sim.stats.ws_received)
        mark = len(sim.stats.ws_received)

        sim.faults.drop_ws()
        await wait_for(lambda: s.of(FeedResynced))

        after = _without_pings(sim.stats.ws_received[mark:])
        assert [f["trnm"] for f in after] == [
            "LOGIN",
            "REG",
            "REG",
            "REG",
            "REG",
            "CNSRLST",
            "CNSRREQ",
            "CNSRREQ",
        ]
        assert [f["data"] for f in after if f["trnm"] == "REG"] == [
            f["data"] for f in before if f["trnm"] == "REG"
        ]
        assert [(f["seq"], f["search_type"]) for f in after if f["trnm"] == "CNSRREQ"] == [
            ("1", "1"),
            ("2", "1"),
        ]
        kinds = [type(e).__name__ for e in s.events if not isinstance(e, Tick)]
        assert kinds == ["FeedDown", "ConditionSnapshot", "ConditionSnapshot", "FeedResynced"]
        assert s.of(FeedDown)[0].reason == "dropped" and s.of(FeedResynced)[0].reconnects == 1
        assert [e.seq for e in s.of(ConditionSnapshot)] == ["1", "2"]
        assert (sim.stats.logins, s.sock.stats.reconnects, s.sock.connected) == (2, 1, True)

        sim.faults.push_condition("2", "005930", "I")  # the restored registration really works
        await wait_for(lambda: [e for e in s.of(ConditionHit) if (e.seq, e.code) == ("2", "005930")])


@pytest.mark.anyio
async def test_subscribe_while_disconnected_is_applied_on_reconnect(make_sim: SimFactory) -> None:
    """Between FeedDown and the reconnect, subscribe returns at once (sent by the resync); a query waits."""
    settings = replace(FAST, backoff_base_s=0.4, backoff_cap_s=0.4, backoff_jitter=0.0)
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep, settings) as s:
        sim.faults.drop_ws()
        await wait_for(lambda: s.of(FeedDown))
        assert not s.sock.connected
        with anyio.fail_after(0.2):
            await s.sock.subscribe(["035420"], ["0D"])
        assert not s.sent("REG")
        listing = await s.sock.condition_list()  # a query waits for the session instead of failing
        assert s.of(FeedResynced) and len(listing) >= 3
        frames = _without_pings(sim.stats.ws_received)
        assert [f["trnm"] for f in frames] == ["LOGIN", "LOGIN", "REG", "CNSRLST"]
        assert frames[2]["data"] == [{"item": ["035420"], "type": ["0D"]}]


@pytest.mark.anyio
async def test_stale_feed_reconnects(make_sim: SimFactory) -> None:
    """No frame and no PING for stale_after_s (a stalled server) → FeedDown("stale"), reconnect, resync."""
    settings = replace(FAST, stale_after_s=0.4, login_timeout_s=0.3)
    async with (
        make_sim(clock=manual_clock(), ping_interval_s=0.1) as (sim, ep),
        running(sim, ep, settings) as s,
    ):
        await s.sock.subscribe(["005930"], ["0B"])
        sim.faults.stall_ws(0.8)
        await wait_for(lambda: s.of(FeedResynced), within=5)
        assert [e.reason for e in s.of(FeedDown)] == ["stale"]
        assert s.sock.stats.reconnects == 1
        assert _without_pings(sim.stats.ws_received)[-1]["trnm"] == "REG"


@pytest.mark.anyio
async def test_kick_emits_session_kicked_and_does_not_reconnect(make_sim: SimFactory) -> None:
    """SYSTEM R10001 → FeedDown("kicked") + SessionKickedEvent, run() returns, no second LOGIN."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        sim.faults.kick()
        with anyio.fail_after(3):
            await s.run_done.wait()
            await s.stream_closed.wait()
        assert [type(e).__name__ for e in s.events] == ["FeedDown", "SessionKickedEvent"]
        assert s.of(FeedDown)[0].reason == "kicked"
        assert "동일한 App key" in s.of(SessionKickedEvent)[0].message
        assert sim.stats.logins == 1 and sim.stats.connections == 1
        with pytest.raises(SessionKicked):
            await s.sock.condition_list()


@pytest.mark.anyio
async def test_second_login_with_our_app_key_kicks_us(make_sim: SimFactory) -> None:
    """Another client logging in with the same app key (the real R10001 case) stops our session."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        token = await s.tokens.get()
        async with connect(ep.ws_url, ping_interval=None, proxy=None) as other:
            await other.send(json.dumps({"trnm": "LOGIN", "token": token}))
            with anyio.fail_after(3):
                await s.run_done.wait()
        assert s.of(SessionKickedEvent) and sim.stats.logins == 2
        assert [f["trnm"] for f in _without_pings(sim.stats.ws_received)] == ["LOGIN", "LOGIN"]


@pytest.mark.anyio
async def test_refused_login_invalidates_the_token_and_relogs(make_sim: SimFactory) -> None:
    """After expire_tokens + drop: LOGIN refused [8005] → token invalidated → fresh au10001 → LOGIN ok."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        old = await s.tokens.get()
        with capture_logs() as logs:
            sim.faults.expire_tokens()
            sim.faults.drop_ws()
            await wait_for(lambda: s.of(FeedResynced))
        new = await s.tokens.get()
        assert "ws_login_token_refused" in [e["event"] for e in logs]
        assert not [e for e in logs if old in repr(e) or new in repr(e)]  # tokens never reach the logs
        logins = [
            f["token"] for f in sim.stats.ws_received if isinstance(f, dict) and f.get("trnm") == "LOGIN"
        ]
        assert new != old and logins == [old, old, new]
        assert (sim.stats.login_failures, s.sock.stats.login_refusals) == (1, 1)
        assert sim.stats.rest_calls["au10001"] == 2
        assert [e.reason for e in s.of(FeedDown)] == ["dropped"] and s.sock.connected


@pytest.mark.anyio
async def test_malformed_frames_are_counted_and_skipped(make_sim: SimFactory) -> None:
    """Every kind of malformed frame is counted and skipped; the session stays up and ticks keep coming."""
    async with make_sim(speed=10.0) as (sim, ep), running(sim, ep) as s:
        await s.sock.subscribe(["005930", "000660", "035420"], ["0B"])
        await wait_for(lambda: s.of(Tick), within=5)
        for kind in MALFORMED_KINDS:
            sim.faults.malformed_frame(kind)
        await wait_for(lambda: s.sock.stats.malformed_frames + s.sock.stats.malformed_entries == 6)
        ticks_then = len(s.of(Tick))
        await wait_for(lambda: len(s.of(Tick)) > ticks_then, within=5)
        stats = s.sock.stats
        # non_json, truncated, unknown_trnm, binary: whole frames; missing_fids, bad_number: one entry each
        assert (stats.malformed_frames, stats.malformed_entries) == (4, 2)
        assert (stats.sessions, stats.reconnects, sim.stats.logins) == (1, 0, 1)
        assert not s.of(FeedDown) and s.sock.connected


@pytest.mark.anyio
async def test_unreachable_server_is_retried_with_backoff() -> None:
    """Connect failures are retried with growing delays and counted; nothing is emitted before first LOGIN."""
    with anyio.fail_after(5):
        async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
        # The port is closed again: every connect is refused.
        sock = KiwoomSocket(f"ws://127.0.0.1:{port}/api/dostk/websocket", _StaticTokens("t"), manual_clock(),
                            settings=replace(FAST, backoff_base_s=0.01, backoff_cap_s=0.04))  # fmt: skip
        async with anyio.create_task_group() as tg:
            tg.start_soon(sock.run)
            await wait_for(lambda: sock.stats.connect_failures >= 5)
            tg.cancel_scope.cancel()
    assert sock.stats.sessions == 0 and not sock.connected
    delays = [sock._backoff(n) for n in range(1, 6)]
    assert delays[0] <= 0.0125 and max(delays) <= 0.05 and delays[3] > delays[0]


class _StaticTokens:
    """A TokenSource for scripted peers that have no token endpoint; records invalidations."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.invalidated: list[str] = []

    async def get(self) -> str:
        return self.token

    async def invalidate(self, token: str) -> None:
        self.invalidated.append(token)


@pytest.mark.anyio
async def test_scripted_peer_handshake_prelogin_frames_exact_echo_and_silent_clear() -> None:
    """No secret in the handshake; pre-ack frames skipped; PING echoed byte-exact; no CNSRCLR ack is fine."""
    ping = '{"trnm" : "PING",  "seq":"0012"}'
    seen: dict[str, Any] = {"after": []}

    async def peer(ws: ServerConnection) -> None:
        seen["headers"] = dict(ws.request.headers) if ws.request else {}
        seen["login"] = json.loads(await ws.recv())
        for text in (ping, '{"trnm":"SYSTEM","code":"R10004","message":"접속허용요청"}', "hello", b"\x00"):
            await ws.send(text)
        await ws.send(json.dumps({"trnm": "LOGIN", "return_code": 0, "return_msg": ""}))
        seen["echo"] = await ws.recv()
        async for message in ws:  # CNSRCLR is never answered (§13.4)
            seen["after"].append(message)

    tokens = _StaticTokens("TOKEN-secret-value-123")
    async with serve(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        sock = KiwoomSocket(
            f"ws://127.0.0.1:{port}/api/dostk/websocket", tokens, manual_clock(), settings=FAST
        )
        async with anyio.create_task_group() as tg:
            with anyio.fail_after(3):
                await tg.start(sock.run)
            await wait_for(lambda: "echo" in seen)
            start = anyio.current_time()
            assert await sock.condition_stop("5") is False
            assert anyio.current_time() - start < FAST.clear_ack_timeout_s + 0.3
            await wait_for(lambda: seen["after"])
            tg.cancel_scope.cancel()
    assert seen["login"] == {"trnm": "LOGIN", "token": "TOKEN-secret-value-123"}
    assert seen["echo"] == ping
    assert [json.loads(m) for m in seen["after"]] == [{"trnm": "CNSRCLR", "seq": "5"}]
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert "authorization" not in headers and not any("secret" in v.lower() for v in headers.values())
    assert set(headers) <= {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "user-agent",
    }
    assert (sock.stats.malformed_frames, sock.stats.pings_echoed) == (2, 1)
    assert not tokens.invalidated


@pytest.mark.anyio
async def test_slow_consumer_gets_backpressure_not_loss(make_sim: SimFactory) -> None:
    """With a 4-event buffer and a consumer that reads late, every tick the simulator sent still arrives."""
    clock = manual_clock()
    hold = anyio.Event()
    settings = replace(FAST, event_buffer=4)
    async with make_sim(clock=clock) as (sim, ep), running(sim, ep, settings, hold=hold) as s:
        await s.sock.subscribe(list(sim.market.codes)[:12], ["0B"])
        for _ in range(6):
            clock.advance(1.0)  # one market step per simulated second
            await wait_for(lambda: sim.market.step_index > 0)
        await wait_for(lambda: sim.stats.real_entries_sent > 40)
        sent = sim.stats.real_entries_sent
        assert len(s.events) == 0
        hold.set()
        await wait_for(lambda: len(s.of(Tick)) >= sent)
        assert len(s.of(Tick)) == sim.stats.real_entries_sent == s.sock.stats.events
        assert s.sock.stats.sessions == 1 and not s.of(FeedDown)


@pytest.mark.anyio
async def test_heartbeat_drop_r10002_reconnects_normally() -> None:
    """SYSTEM R10002 (heartbeat) ends the session with FeedDown("heartbeat"), then a normal reconnect."""
    connections: list[list[str]] = []
    up = anyio.Event()

    async def peer(ws: ServerConnection) -> None:
        frames: list[str] = []
        connections.append(frames)
        frames.append(str(await ws.recv()))
        await ws.send(json.dumps({"trnm": "LOGIN", "return_code": 0, "return_msg": ""}))
        if len(connections) == 1:
            await up.wait()  # only once the client is up (started), so the feed really goes down
            await ws.send(json.dumps({"trnm": "SYSTEM", "code": "R10002", "message": "Heartbeat 없음"}))
            await ws.close()
            return
        async for message in ws:
            frames.append(str(message))

    async with serve(peer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        sock = KiwoomSocket(f"ws://127.0.0.1:{port}/api/dostk/websocket", _StaticTokens("t"), manual_clock(),
                            settings=FAST)  # fmt: skip
        seen: list[Any] = []

        async def consume() -> None:
            async with sock.events() as stream:
                async for event in stream:
                    seen.append(event)

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            with anyio.fail_after(3):
                await tg.start(sock.run)
            up.set()
            await wait_for(lambda: [e for e in seen if isinstance(e, FeedResynced)])
            tg.cancel_scope.cancel()
    assert [type(e).__name__ for e in seen] == ["FeedDown", "FeedResynced"]
    assert seen[0].reason == "heartbeat" and len(connections) == 2
    assert all("SYSTEM" not in f for conn in connections for f in conn)


@pytest.mark.anyio
async def test_a_steady_session_that_drops_is_retried_at_once(make_sim: SimFactory) -> None:
    """A session up longer than steady_after_s reconnects without the backoff; a young one waits for it."""
    for steady_after_s, quick in ((0.05, True), (30.0, False)):
        settings = replace(FAST, backoff_base_s=0.8, backoff_cap_s=0.8, backoff_jitter=0.0,
                           steady_after_s=steady_after_s)  # fmt: skip
        async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep, settings) as s:
            await s.sock.subscribe(["005930"], ["0B"])
            await anyio.sleep(0.1)  # the session's age (real time is what the rule measures)
            dropped = anyio.current_time()
            sim.faults.drop_ws()
            await wait_for(lambda: s.of(FeedResynced), within=5)
            took = anyio.current_time() - dropped
            assert (took < 0.5) if quick else (took >= 0.8), (steady_after_s, took)
