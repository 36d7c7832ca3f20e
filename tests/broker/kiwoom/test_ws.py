"""KiwoomSocket against the loopback simulator: LOGIN, PING echo, REG, condition search (§7, §8, §13)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import anyio
import pytest
from websockets.asyncio.client import connect

from bot.broker.kiwoom.auth import AppCredentials, TokenManager
from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.throttle import Throttle
from bot.broker.kiwoom.transport import KiwoomHttp
from bot.broker.kiwoom.ws import FeedEvent, KiwoomSocket
from bot.broker.kiwoom.ws_settings import WsSettings
from bot.clock import ManualClock, kst
from bot.domain.account import BalanceEvent, OrderAction, OrderEvent, OrderStatus
from bot.domain.market import ConditionExit, ConditionHit, ConditionSnapshot, OrderBook, Tick
from bot.domain.values import Side
from bot.errors import InvalidRequest, ServiceFailed
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints, Simulator
from tests.conftest import SimFactory

FAST = WsSettings(
    connect_timeout_s=2.0,
    login_timeout_s=2.0,
    ack_timeout_s=2.0,
    reply_timeout_s=2.0,
    clear_ack_timeout_s=0.5,
    command_wait_s=5.0,
    stale_after_s=5.0,
    backoff_base_s=0.02,
    backoff_cap_s=0.1,
    condition_pace_s=0.01,
    seed=7,
)


@dataclass
class Session:
    """Our socket running against a simulator, with every event it emitted collected in order."""

    sim: Simulator
    sock: KiwoomSocket
    tokens: TokenManager
    events: list[FeedEvent] = field(default_factory=list)
    stream_closed: anyio.Event = field(default_factory=anyio.Event)
    run_done: anyio.Event = field(default_factory=anyio.Event)

    def of(self, kind: type[Any]) -> list[Any]:
        """Collected events of one type."""
        return [e for e in self.events if isinstance(e, kind)]

    def sent(self, trnm: str | None = None) -> list[dict[str, Any]]:
        """Frames the simulator received from clients (optionally of one trnm), in order."""
        return [
            f for f in self.sim.stats.ws_received if isinstance(f, dict) and trnm in (None, f.get("trnm"))
        ]


async def wait_for(predicate: Callable[[], object], within: float = 3.0) -> None:
    """Poll `predicate()` every few ms until it holds, failing after `within` seconds."""
    with anyio.fail_after(within):
        while True:
            if predicate():
                return
            await anyio.sleep(0.005)


@asynccontextmanager
async def running(
    sim: Simulator, ep: SimEndpoints, settings: WsSettings = FAST, hold: anyio.Event | None = None
) -> AsyncIterator[Session]:
    """Start KiwoomSocket.run (ready after its first LOGIN) with a consumer draining its events.

    With `hold`, the consumer reads nothing until the event is set (to show backpressure).
    """
    endpoints = KiwoomEndpoints.for_mode("live", rest_url=ep.rest_url, ws_url=ep.ws_url)
    async with KiwoomHttp(endpoints, Throttle(50.0), timeout_s=3.0, connect_timeout_s=2.0) as http:
        tokens = TokenManager(http, AppCredentials(SIM_APPKEY, SIM_SECRETKEY), sim.clock)
        sock = KiwoomSocket(ep.ws_url, tokens, sim.clock, settings=settings)
        session = Session(sim, sock, tokens)

        async def consume() -> None:
            if hold is not None:
                await hold.wait()
            async with sock.events() as stream:
                async for event in stream:
                    session.events.append(event)
            session.stream_closed.set()

        async def run(*, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            try:
                await sock.run(task_status=task_status)
            finally:
                session.run_done.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            with anyio.fail_after(5):
                await tg.start(run)
            yield session
            tg.cancel_scope.cancel()


def manual_clock() -> ManualClock:
    """A clock that never moves by itself: the simulated market stays still (no natural I/D pushes)."""
    return ManualClock(kst(2026, 11, 20, 10, 0))


@pytest.mark.anyio
async def test_login_is_the_first_frame_and_carries_the_raw_token(make_sim: SimFactory) -> None:
    """The first frame is LOGIN with the raw token (no Bearer); a PING before the ack is echoed."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        token = await s.tokens.get()
        first, second = s.sent()[:2]
        assert first == {"trnm": "LOGIN", "token": token}
        assert not token.lower().startswith("bearer")
        assert second == {"trnm": "PING"}  # the simulator PINGs before its LOGIN ack (§13.2)
        assert (sim.stats.logins, s.sock.stats.sessions, s.sock.stats.pings_echoed) == (1, 1, 1)
        assert s.sock.connected


@pytest.mark.anyio
async def test_client_that_does_not_echo_is_dropped_but_ours_stays(make_sim: SimFactory) -> None:
    """A raw client that never echoes PING gets R10002 and is closed; ours survives many PING intervals."""
    async with make_sim(clock=manual_clock(), ping_interval_s=0.05, max_unanswered_pings=2) as (sim, ep):
        async with running(sim, ep) as s:
            token = await s.tokens.get()
        # Our session is gone (the block above ended); a silent client with the same token now.
        system: dict[str, Any] = {}
        async with connect(ep.ws_url, ping_interval=None, proxy=None) as raw:
            await raw.send(json.dumps({"trnm": "LOGIN", "token": token}))
            with anyio.fail_after(3):
                async for message in raw:
                    frame = json.loads(message)
                    if frame.get("trnm") == "SYSTEM":
                        system = frame
            assert raw.close_code is not None
        assert system.get("code") == "R10002"

        async with running(sim, ep) as s:
            pings_at_start = sim.stats.pings_sent
            await wait_for(lambda: sim.stats.pings_sent >= pings_at_start + 10)
            await wait_for(lambda: s.sock.stats.pings_echoed >= 10)
            assert s.sock.stats.sessions == 1 and s.sock.stats.reconnects == 0
            assert sim.stats.sessions == 1 and s.sock.connected
            assert not [f for f in s.sent("SYSTEM")]  # SYSTEM frames are never echoed


@pytest.mark.anyio
async def test_reg_of_150_items_is_split_into_two_requests(make_sim: SimFactory) -> None:
    """150 codes go out as two REG requests (100 + 50) in two groups, item/type as arrays, both acked."""
    async with make_sim(speed=5.0) as (sim, ep), running(sim, ep) as s:
        real = list(sim.market.codes)
        codes = real + [f"9{n:05d}" for n in range(150 - len(real))]
        await s.sock.subscribe(codes, ["0B"])
        await s.sock.subscribe([], ["00", "04"])
        regs = s.sent("REG")
        assert [(r["grp_no"], len(r["data"][0]["item"]), r["data"][0]["type"]) for r in regs] == [
            ("1", 100, ["0B"]),
            ("2", 50, ["0B"]),
            ("3", 1, ["00", "04"]),
        ]
        assert regs[2]["data"][0]["item"] == [""] and all(r["refresh"] == "1" for r in regs)
        assert [i for r in regs[:2] for i in r["data"][0]["item"]] == codes
        assert set(s.sock.subscriptions()) == {"1", "2", "3"}
        await wait_for(lambda: {t.code for t in s.of(Tick)} >= {"005930", "000660"}, within=5)
        assert {t.code for t in s.of(Tick)} <= set(real)


@pytest.mark.anyio
async def test_unsubscribe_sends_remove_and_forgets_the_group(make_sim: SimFactory) -> None:
    """REMOVE carries the group's items and types; an emptied group is forgotten."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        await s.sock.subscribe(["005930", "000660"], ["0B", "0D"], grp_no="5")
        await s.sock.unsubscribe(["005930"])
        await s.sock.unsubscribe(grp_no="5")
        removes = s.sent("REMOVE")
        assert [(r["grp_no"], r["data"][0]["item"], r["data"][0]["type"]) for r in removes] == [
            ("5", ["005930"], ["0B", "0D"]),
            ("5", ["000660"], ["0B", "0D"]),
        ]
        assert s.sock.subscriptions() == {}


@pytest.mark.anyio
async def test_condition_list_realtime_pushes_and_clear(make_sim: SimFactory) -> None:
    """CNSRLST → realtime CNSRREQ → 02 I/D become ConditionHit/Exit → CNSRCLR stops the pushes."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        listing = await s.sock.condition_list()
        assert [(c.seq, c.name) for c in listing][:3] == [
            ("0", "거래량급증"),
            ("1", "신고가돌파"),
            ("2", "상승률상위"),
        ]
        sim.faults.push_condition("2", "035420", "I")  # a member before the search starts
        snap = await s.sock.condition_search("2", realtime=True)
        assert isinstance(snap, ConditionSnapshot) and "035420" in snap.codes and snap.seq == "2"
        await s.sock.condition_search("1", realtime=True)
        req = [f for f in s.sent("CNSRREQ")]
        assert req[0] == {"trnm": "CNSRREQ", "seq": "2", "search_type": "1", "stex_tp": "K"}
        sent = [f["trnm"] for f in s.sent() if f["trnm"] in ("CNSRLST", "CNSRREQ")]
        assert sent == ["CNSRLST", "CNSRREQ", "CNSRREQ"]  # listed once per connection, first

        sim.faults.push_condition("2", "005930", "I")
        sim.faults.push_condition("2", "005930", "D")
        await wait_for(lambda: s.of(ConditionExit))
        hits = [(e.seq, e.code) for e in s.of(ConditionHit)]
        assert ("2", "005930") in hits and [(e.seq, e.code) for e in s.of(ConditionExit)] == [("2", "005930")]

        assert await s.sock.condition_stop("2") is True
        assert s.sent("CNSRCLR") == [{"trnm": "CNSRCLR", "seq": "2"}]
        assert s.sock.realtime_conditions() == {"1": s.sock.realtime_conditions()["1"]}
        sim.faults.push_condition("2", "000660", "I")  # no longer ours
        sim.faults.push_condition("1", "000660", "I")  # sentinel on a condition still running
        await wait_for(lambda: ("1", "000660") in [(e.seq, e.code) for e in s.of(ConditionHit)])
        assert ("2", "000660") not in [(e.seq, e.code) for e in s.of(ConditionHit)]


@pytest.mark.anyio
async def test_one_shot_search_follows_body_paging(make_sim: SimFactory) -> None:
    """A one-shot search of 25 members pages 10/10/5 with cont_yn/next_key and returns every code."""
    async with make_sim(clock=manual_clock(), condition_page_size=10) as (sim, ep), running(sim, ep) as s:
        members = sorted(sim.market.codes)[:25]
        for code in members:
            sim.faults.push_condition("3", code, "I")
        snap = await s.sock.condition_search("3", realtime=False)
        assert sorted(snap.codes) == members and len(snap.codes) == 25
        reqs = s.sent("CNSRREQ")
        assert [(r["search_type"], r["cont_yn"], r["next_key"]) for r in reqs] == [
            ("0", "N", ""),
            ("0", "Y", "10"),
            ("0", "Y", "20"),
        ]
        assert s.sock.realtime_conditions() == {}  # one-shot is not restored after reconnects


@pytest.mark.anyio
async def test_condition_requests_are_paced(make_sim: SimFactory) -> None:
    """CNSRREQ frames leave at least `condition_pace_s` apart."""
    settings = replace(FAST, condition_pace_s=0.2)
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep, settings) as s:
        start = anyio.current_time()
        for seq in ("0", "1", "2"):
            await s.sock.condition_search(seq, realtime=False)
        assert anyio.current_time() - start >= 0.4
        assert len(s.sent("CNSRREQ")) == 3


@pytest.mark.anyio
async def test_refused_reg_raises_and_is_not_recorded(make_sim: SimFactory) -> None:
    """A REG the broker refuses (return_code 1, 등록 종목수 초과) raises ServiceFailed and is not kept."""
    async with make_sim(clock=manual_clock(), max_reg_items=10) as (sim, ep), running(sim, ep) as s:
        await s.sock.subscribe(["005930"], ["0B"])
        with pytest.raises(ServiceFailed, match="등록 종목수 초과"):
            await s.sock.subscribe(list(sim.market.codes)[1:21], ["0D"])
        assert list(s.sock.subscriptions().values()) == [(("0B",), ("005930",))]
        await s.sock.subscribe(["000660"], ["0B"])  # acks stay in step: the next REG works
        assert s.sock.subscriptions()["1"] == (("0B",), ("005930", "000660"))


@pytest.mark.anyio
async def test_bad_condition_requests(make_sim: SimFactory) -> None:
    """An unknown seq is refused by the broker (ServiceFailed, not kept); a malformed one is refused here."""
    async with make_sim(clock=manual_clock()) as (sim, ep), running(sim, ep) as s:
        with pytest.raises(ServiceFailed, match="ka10173"):
            await s.sock.condition_search("99", realtime=True)
        assert s.sock.realtime_conditions() == {}
        with pytest.raises(InvalidRequest, match="seq"):
            await s.sock.condition_search("1234", realtime=False)
        assert len(s.sent("CNSRREQ")) == 1


@pytest.mark.anyio
async def test_order_fill_balance_and_book_pushes_decode(make_sim: SimFactory) -> None:
    """The simulator's own 00/04/0D encodings decode: 접수 → 체결 fills summing to the order → 04 holding."""
    async with make_sim(speed=10.0) as (sim, ep), running(sim, ep) as s:
        await s.sock.subscribe([], ["00", "04"])
        await s.sock.subscribe(["005930"], ["0D"])
        await wait_for(lambda: s.of(OrderBook), within=5)
        book = s.of(OrderBook)[-1]
        assert book.code == "005930" and book.asks and book.bids and book.asks[0].price > book.bids[0].price
        ord_no = sim.faults.inject_external_order(code="005930", side="buy", qty=10)
        await wait_for(lambda: [b for b in s.of(BalanceEvent) if b.code == "005930"], within=5)
        mine = [e for e in s.of(OrderEvent) if e.order_no == ord_no]
        assert mine[0].status is OrderStatus.ACCEPTED and mine[0].order_qty == 10
        assert (mine[0].side, mine[0].action, mine[0].code) == (Side.BUY, OrderAction.NEW, "005930")
        fills = [e for e in mine if e.status is OrderStatus.FILLED]
        assert sum(f.fill_qty for f in fills) == 10 and fills[-1].remaining_qty == 0
        assert all(f.fill_price > 0 and f.fill_no for f in fills)
        holding = [b for b in s.of(BalanceEvent) if b.code == "005930"][-1]
        assert holding.qty == 10 and holding.avg_price > 0
        assert s.sock.stats.malformed_entries == 0


@pytest.mark.anyio
async def test_events_can_go_straight_into_another_stream(make_sim: SimFactory) -> None:
    """With `deliver_to` (the daemon passes its kernel's inbox) ticks arrive there; `events()` is closed."""
    async with make_sim() as (sim, ep):
        endpoints = KiwoomEndpoints.for_mode("live", rest_url=ep.rest_url, ws_url=ep.ws_url)
        inbox_send, inbox = anyio.create_memory_object_stream[object](100)
        async with KiwoomHttp(endpoints, Throttle(50.0), timeout_s=3.0, connect_timeout_s=2.0) as http:
            tokens = TokenManager(http, AppCredentials(SIM_APPKEY, SIM_SECRETKEY), sim.clock)
            sock = KiwoomSocket(ep.ws_url, tokens, sim.clock, settings=FAST, deliver_to=inbox_send)
            with pytest.raises(anyio.ClosedResourceError):
                sock.events().receive_nowait()
            async with anyio.create_task_group() as tg:
                with anyio.fail_after(5):
                    await tg.start(sock.run)
                await sock.subscribe(["005930"], ["0B"])
                with anyio.fail_after(5):
                    while not isinstance(event := await inbox.receive(), Tick):
                        pass
                tg.cancel_scope.cancel()
        assert isinstance(event, Tick) and event.code == "005930"
