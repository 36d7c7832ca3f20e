"""KiwoomRest: error mapping, headers, paging, retries and pacing — pure parts, then the simulator."""

from __future__ import annotations

import httpx
import pytest

from bot.broker.kiwoom.replies import classify, msg_code, read_reply
from bot.errors import (
    AuthFailed,
    BrokerError,
    BusinessRejected,
    OutcomeUnknown,
    RateLimited,
    RequestRefused,
    ServiceFailed,
)


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
