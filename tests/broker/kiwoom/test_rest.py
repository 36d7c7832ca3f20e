"""KiwoomRest: error mapping, headers, paging, retries and pacing — pure parts, then the simulator."""

from __future__ import annotations

import itertools
import json
import socket
from pathlib import Path

import httpx
import pytest
import structlog

from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.replies import classify, msg_code, read_reply
from bot.broker.kiwoom.rest import open_rest
from bot.broker.kiwoom.retry import RetryPolicy
from bot.clock import ManualClock, SimClock, kst
from bot.errors import (
    AuthFailed,
    BrokerError,
    BrokerUnreachable,
    BusinessRejected,
    InvalidRequest,
    OutcomeUnknown,
    RateLimited,
    RequestRefused,
    ServiceFailed,
)
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints

from .rest_support import SIM_CREDENTIALS, SimFactory, wired

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("return_msg", "code"),
    [
        ("인증에 실패했습니다[8005:Token이 유효하지 않습니다]", "8005"),
        (
            "허용된 요청 개수를 초과하였습니다[1700:허용된 API 요청 개수를 초과하였습니다. API ID=ka10001]",
            "1700",
        ),
        ("[2000](RC4058:모의투자 장종료)", "RC4058"),
        ("[2000](855056:매수증거금이 부족합니다. 127주 매수가능)", "855056"),
        (
            "토큰 인증에 실패했습니다. 접속을 종료합니다 [CODE=8005, MESSAGE=Token이 유효하지 않습니다]",
            "8005",
        ),
        ("서비스를 처리하는 중에 오류가 발생했습니다[1903:종목 정보가 없습니다]", "1903"),
        ("[2000]", "2000"),
        ("정상적으로 처리되었습니다", ""),
        ("", ""),
    ],
)
def test_msg_code_reads_every_bracket_shape(return_msg: str, code: str) -> None:
    """The documented code is found inside return_msg in each shape Kiwoom uses."""
    assert msg_code(return_msg) == code


@pytest.mark.parametrize(
    ("status", "return_code", "return_msg", "expected"),
    [
        (200, 3, "인증에 실패했습니다[8005:Token이 유효하지 않습니다]", AuthFailed),
        (200, 3, "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다]", AuthFailed),
        (200, 7, "오류[8031:모의투자 토큰]", AuthFailed),
        (200, 7, "오류[8103:단말기 인증 실패]", AuthFailed),
        (401, None, "", AuthFailed),
        (200, 5, "허용된 요청 개수를 초과하였습니다[1700:...]", RateLimited),
        (200, 7, "총유량[1701:총 요청 개수 초과]", RateLimited),
        (200, 7, "그룹[1702:그룹 요청 개수 초과]", RateLimited),
        (429, 5, "허용된 요청 개수를 초과하였습니다[1700:...]", RateLimited),
        (429, None, "", RateLimited),
        (200, 5, "허용된 요청 개수를 초과하였습니다[1634:종목 개수 초과]", RequestRefused),
        (200, 2, "요청 형식이 올바르지 않습니다[1505:API ID가 존재하지 않습니다]", RequestRefused),
        (200, 2, "[1511:필수 입력 값에 값이 존재하지 않습니다. 파라미터=stk_cd]", RequestRefused),
        (200, 2, "[1501:API ID가 Null]", RequestRefused),
        (200, 2, "[1504:URI]", RequestRefused),
        (200, 2, "[1517:형식]", RequestRefused),
        (200, 20, "[2000](RC4058:모의투자 장종료)", BusinessRejected),
        (200, 7, "서비스를 처리하는 중에 오류가 발생했습니다[1903:종목 정보가 없습니다]", ServiceFailed),
        (200, 1, "알 수 없는 오류", ServiceFailed),
        (500, None, "", OutcomeUnknown),
        (502, 0, "정상", OutcomeUnknown),
        (404, None, "", RequestRefused),
    ],
)
def test_classify_maps_every_error_shape(
    status: int, return_code: int | None, return_msg: str, expected: type[BrokerError]
) -> None:
    """HTTP status, return_code and the bracketed code together pick the exception class."""
    error = classify("ka10001", http_status=status, return_code=return_code, return_msg=return_msg)
    assert type(error) is expected
    assert error is not None
    assert error.api_id == "ka10001"
    assert error.http_status == status
    assert error.return_code == return_code
    assert error.msg_code == msg_code(return_msg)


def test_classify_success_is_none() -> None:
    """HTTP 200 with return_code 0 is a success."""
    assert classify("ka10001", http_status=200, return_code=0, return_msg="정상적으로 처리되었습니다") is None


def test_read_reply_coerces_string_return_code_and_reads_headers_case_insensitively() -> None:
    """return_code "0" is a success; Cont-Yn/Next-Key headers are read whatever their case."""
    headers = httpx.Headers({"Cont-Yn": "Y", "NEXT-KEY": "k2", "api-id": "ka10075"})
    reply = read_reply("ka10075", 200, b'{"return_code": "0", "return_msg": "ok", "oso": []}', headers)
    assert reply.more is True and reply.next_key == "k2"
    assert reply.body["oso"] == []


def test_read_reply_string_error_code_is_classified() -> None:
    """return_code "5" as a string still means rate limited."""
    with pytest.raises(RateLimited) as info:
        read_reply("ka10001", 200, b'{"return_code": "5", "return_msg": "[1700:x]"}', httpx.Headers())
    assert info.value.return_code == 5 and info.value.msg_code == "1700"


def test_read_reply_last_page_without_headers() -> None:
    """No cont-yn header means no further page."""
    reply = read_reply("ka10075", 200, b'{"return_code": 0, "return_msg": ""}', httpx.Headers())
    assert reply.more is False and reply.next_key == ""


@pytest.mark.parametrize(
    ("status", "content", "expected"),
    [
        (200, b"<html>gateway</html>", OutcomeUnknown),
        (200, b"", OutcomeUnknown),
        (200, b"[1, 2]", OutcomeUnknown),
        (200, b'{"return_msg": "no code"}', OutcomeUnknown),
        (500, b"Internal Server Error", OutcomeUnknown),
        (401, b"Unauthorized", AuthFailed),
        (429, b"Too Many Requests", RateLimited),
    ],
)
def test_read_reply_unreadable_bodies(status: int, content: bytes, expected: type[BrokerError]) -> None:
    """A body that is not a Kiwoom envelope is OutcomeUnknown unless the status alone says more."""
    with pytest.raises(expected) as info:
        read_reply("kt10000", status, content, httpx.Headers())
    assert info.value.http_status == status
    assert info.value.api_id == "kt10000"


# ---- against the simulator --------------------------------------------------------------------

START = kst(2026, 11, 20, 9, 0)


async def test_call_sends_exact_headers_and_string_body(make_sim: SimFactory) -> None:
    """A TR is a POST to its family path with Content-Type, api-id and Bearer token; body {} when empty."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        body = await w.rest.call("ka00001")
        assert body["acctNo"] == sim.settings.account_no
        [(_, path, headers, content)] = w.sent.of("ka00001")
        token = await w.tokens.get()
        assert path == "/api/dostk/acnt"
        assert headers["content-type"] == "application/json;charset=UTF-8"
        assert headers["api-id"] == "ka00001"
        assert headers["authorization"] == f"Bearer {token}"
        assert "cont-yn" not in headers and "next-key" not in headers
        assert json.loads(content) == {}


async def test_paced_at_five_per_second_against_the_simulator(make_sim: SimFactory) -> None:
    """Eleven back-to-back calls leave ≥ 0.2 s apart and the simulator's 5/s limiter never trips."""
    clock = ManualClock(START)
    async with make_sim(clock=clock, rest_rate_per_s=5.0) as (sim, ep), wired(sim, ep, clock) as w:
        for _ in range(11):
            await w.rest.call("ka00001")
        times = [t for t, *_ in w.sent.requests]  # au10001 + 11 × ka00001
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert len(times) == 12
        assert min(gaps) >= 0.2
        assert times[-1] - times[0] >= 11 * 0.2
        assert sim.stats.rate_limited == 0
        assert sim.stats.rest_calls["ka00001"] == 11


async def test_unpaced_burst_would_trip_the_simulator(make_sim: SimFactory) -> None:
    """Control case: without our pacing the same burst is rate-limited by the simulator (and retried)."""
    clock = ManualClock(START)
    async with (
        make_sim(clock=clock, rest_rate_per_s=5.0) as (sim, ep),
        wired(sim, ep, clock, rate_per_s=1000) as w,
    ):
        with pytest.raises(RateLimited):
            for _ in range(11):
                await w.rest.call("ka00001")
        assert sim.stats.rate_limited >= 1


@pytest.mark.parametrize(("style", "status"), [("rc5", 200), ("http429", 429)])
async def test_rate_limited_query_is_retried(make_sim: SimFactory, style: str, status: int) -> None:
    """A query answered with the rate-limit error (either style) is retried and then succeeds."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.tokens.get()
        sim.faults.rate_limit(2, style=style)
        body = await w.rest.call("ka00001")
        assert body["acctNo"] == sim.settings.account_no
        assert sim.stats.rest_calls["ka00001"] == 3
        assert sim.stats.rate_limited == 2


@pytest.mark.parametrize(("style", "status", "return_code"), [("rc5", 200, 5), ("http429", 429, 5)])
async def test_rate_limit_that_persists_raises_rate_limited(
    make_sim: SimFactory, style: str, status: int, return_code: int
) -> None:
    """After the bounded attempts a query raises RateLimited carrying 1700 and the HTTP status."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.tokens.get()
        sim.faults.rate_limit(5, style=style)
        with pytest.raises(RateLimited) as info:
            await w.rest.call("ka00001")
        error = info.value
        assert (error.api_id, error.return_code, error.msg_code, error.http_status) == (
            "ka00001",
            return_code,
            "1700",
            status,
        )
        assert sim.stats.rest_calls["ka00001"] == 3  # FAST_RETRY.attempts


async def test_server_error_on_a_query_is_retried_then_outcome_unknown(make_sim: SimFactory) -> None:
    """HTTP 500 on a query is retried; if it persists the call raises OutcomeUnknown with the status."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        await w.tokens.get()
        sim.faults.fail_rest(1, status=500)
        assert (await w.rest.call("ka00001"))["acctNo"] == sim.settings.account_no
        assert sim.stats.rest_calls["ka00001"] == 2
        sim.faults.fail_rest(3, status=503)
        with pytest.raises(OutcomeUnknown) as info:
            await w.rest.call("ka00001")
        assert info.value.http_status == 503 and info.value.api_id == "ka00001"
        assert sim.stats.rest_calls["ka00001"] == 5


async def test_reply_held_past_the_timeout_is_outcome_unknown_then_retried(make_sim: SimFactory) -> None:
    """A query whose reply is held past the client timeout raises OutcomeUnknown inside and is retried."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, timeout_s=0.3) as w:
        await w.tokens.get()
        sim.faults.hang_next_reply(1.5)
        with structlog.testing.capture_logs() as logs:
            body = await w.rest.call("ka00001")
        assert body["acctNo"] == sim.settings.account_no
        failed = [e for e in logs if e["event"] == "rest_call_failed"]
        assert [e["error"] for e in failed] == ["OutcomeUnknown"]
        assert sim.stats.rest_calls["ka00001"] == 2


async def test_reply_held_past_the_timeout_without_retries_raises(make_sim: SimFactory) -> None:
    """With a single attempt the held reply surfaces as OutcomeUnknown."""
    clock = ManualClock(START)
    one = RetryPolicy(attempts=1)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock, timeout_s=0.3, retry=one) as w:
        await w.tokens.get()
        sim.faults.hang_next_reply(1.5)
        with pytest.raises(OutcomeUnknown) as info:
            await w.rest.call("ka00001")
        assert info.value.api_id == "ka00001" and info.value.http_status is None


async def test_expired_token_is_reissued_and_the_call_succeeds_once(make_sim: SimFactory) -> None:
    """After the server drops every token, the next call gets [8005], re-issues once and succeeds."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        old = await w.tokens.get()
        sim.faults.expire_tokens()
        body = await w.rest.call("ka00001")
        assert body["acctNo"] == sim.settings.account_no
        assert sim.stats.rest_calls["au10001"] == 2
        assert sim.stats.rest_calls["ka00001"] == 2
        new = await w.tokens.get()
        assert new != old
        assert [h["authorization"] for _, _, h, _ in w.sent.of("ka00001")] == [
            f"Bearer {old}",
            f"Bearer {new}",
        ]


async def test_auth_failure_is_retried_only_once(make_sim: SimFactory) -> None:
    """If even the fresh token is refused, the call raises AuthFailed [8005] after exactly one re-issue."""
    client_clock = ManualClock(START)
    # The simulator's tokens live 1 simulated second at 1000× speed: refused by the time they are used.
    fast = SimClock(START, speed=1000.0)
    async with make_sim(clock=fast, token_lifetime_s=1) as (sim, ep), wired(sim, ep, client_clock) as w:
        with pytest.raises(AuthFailed) as info:
            await w.rest.call("ka00001")
        assert (info.value.return_code, info.value.msg_code) == (3, "8005")
        assert sim.stats.rest_calls["ka00001"] == 2
        assert sim.stats.rest_calls["au10001"] == 2


async def test_invalid_requests_never_leave_the_process(make_sim: SimFactory) -> None:
    """Unknown api-id, missing or unknown field, a token TR via call: InvalidRequest and nothing sent."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(InvalidRequest, match="ka99999"):
            await w.rest.call("ka99999", stk_cd="005930")
        with pytest.raises(InvalidRequest, match=r"ka10081.*'base_dt'"):
            await w.rest.call("ka10081", stk_cd="005930", upd_stkpc_tp="1")
        with pytest.raises(InvalidRequest, match=r"ka10001.*'stk_code'"):
            await w.rest.call("ka10001", stk_cd="005930", stk_code="005930")
        with pytest.raises(InvalidRequest, match="au10001"):
            await w.rest.call("au10001", grant_type="client_credentials", appkey="x", secretkey="y")
        with pytest.raises(InvalidRequest, match="kt00001"):
            async for _ in w.rest.pages("kt00001"):
                pass
        assert sum(sim.stats.rest_calls.values()) == 0


async def test_request_refused_by_the_server_is_not_retried(make_sim: SimFactory) -> None:
    """An empty required field passes our key check but Kiwoom refuses it ([1511]): RequestRefused, once."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(RequestRefused) as info:
            await w.rest.call("kt00001", qry_tp="")
        assert info.value.msg_code in ("1511", "1505")
        assert info.value.return_code not in (0, None)
        assert sim.stats.rest_calls["kt00001"] == 1


async def test_connection_refused_is_broker_unreachable(make_sim: SimFactory) -> None:
    """A server that is not listening gives BrokerUnreachable (the request never left)."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, _):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        dead = SimEndpoints("127.0.0.1", port)
        async with wired(sim, dead, clock) as w:
            with pytest.raises(BrokerUnreachable) as info:
                await w.rest.call("ka00001")
            assert info.value.api_id == "au10001"  # the token call was the first to fail
            assert "cannot connect" in str(info.value)
            assert w.sent.of("ka00001") == []


async def test_service_error_is_service_failed_and_not_retried(make_sim: SimFactory) -> None:
    """return_code 7 with [1902] (no such instrument) raises ServiceFailed carrying the code, once."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with pytest.raises(ServiceFailed) as info:
            await w.accounts.stock_info("999999")
        assert (info.value.api_id, info.value.return_code, info.value.msg_code) == ("ka10001", 7, "1902")
        assert sim.stats.rest_calls["ka10001"] == 1


async def test_open_rest_builds_a_working_client(make_sim: SimFactory, tmp_path: Path) -> None:
    """open_rest wires pool, throttle, token manager and client from endpoints and credentials."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep):
        endpoints = KiwoomEndpoints.for_mode("live", rest_url=ep.rest_url, ws_url=ep.ws_url)
        async with open_rest(endpoints, SIM_CREDENTIALS, clock, state_dir=tmp_path) as rest:
            assert (await rest.call("ka00001"))["acctNo"] == sim.settings.account_no
            assert rest.http.throttle.interval_s == pytest.approx(0.21)
            assert rest.tokens.cache_path is not None and rest.tokens.cache_path.exists()
        assert sim.stats.rest_calls["au10001"] == 1


async def test_rest_logs_carry_api_id_and_latency_but_no_secret(make_sim: SimFactory) -> None:
    """Every REST log line names the api-id; none contains the token or the keys, even on a refusal."""
    clock = ManualClock(START)
    async with make_sim(clock=clock) as (sim, ep), wired(sim, ep, clock) as w:
        with structlog.testing.capture_logs() as logs:
            old = await w.tokens.get()
            sim.faults.expire_tokens()
            await w.rest.call("ka00001")
            new = await w.tokens.get()
        rest_lines = [e for e in logs if e["event"] in ("rest_called", "rest_call_failed")]
        assert [(e["api_id"], e["event"]) for e in rest_lines] == [
            ("au10001", "rest_called"),
            ("ka00001", "rest_call_failed"),
            ("au10001", "rest_called"),
            ("ka00001", "rest_called"),
        ]
        assert all(isinstance(e["latency_ms"], float) for e in rest_lines)
        assert rest_lines[1]["msg_code"] == "8005" and rest_lines[1]["return_code"] == 3
        for entry in logs:
            text = repr(entry)
            for secret in (old, new, SIM_APPKEY, SIM_SECRETKEY):
                assert secret not in text
