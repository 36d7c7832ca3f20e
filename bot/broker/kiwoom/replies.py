"""Reading a Kiwoom REST reply: the envelope, continuation headers, and error classification.

Facts (kiwoom-protocol.md §2.3, §3.3, §9, §12 fact 1): errors mostly arrive as HTTP 200 with a small
category `return_code` (3 auth, 5 rate limit, 7 service, 20 business) and the documented code inside
`return_msg` in one of several shapes: `[8005:...]`, `[1700:...]`, `[2000](RC4058:...)`,
`[CODE=8005, MESSAGE=...]`. HTTP 401/429/5xx also occur. We classify by HTTP status, return_code
AND that bracketed code, into the tree of `bot.errors`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import (
    AuthFailed,
    BrokerError,
    BusinessRejected,
    OutcomeUnknown,
    RateLimited,
    RequestRefused,
    ServiceFailed,
)

AUTH_RETURN_CODE = 3
RATE_RETURN_CODE = 5
BUSINESS_RETURN_CODE = 20
# 8001/8002 keys refused, 8003 token lookup failed, 8005 invalid token, 8010 IP mismatch,
# 8030/8031 real/mock mismatch, 8103 token or terminal auth failed.
AUTH_CODES = frozenset({"8001", "8002", "8003", "8005", "8010", "8030", "8031", "8103"})
RATE_CODES = frozenset({"1700", "1701", "1702"})
REFUSED_CODES = frozenset(
    {"1501", "1504", "1505", "1511", "1512", "1513", "1514", "1515", "1516", "1517", "1634"}
)

# `[2000](RC4058:...)` → RC4058 (the inner, more specific code wins)
_NESTED = re.compile(r"\[\s*\d+\s*\]\s*\(\s*([A-Za-z]*\d+)\s*:")
# `[CODE=8005, MESSAGE=...]`
_CODE_EQ = re.compile(r"\[\s*CODE\s*=\s*([A-Za-z]*\d+)")
# `[8005:...]`, `[1700:...]`, or a bare `[2000]`
_BRACKET = re.compile(r"\[\s*([A-Za-z]*\d+)\s*(?::|\])")


def msg_code(return_msg: str) -> str:
    """The documented code embedded in `return_msg` ("8005", "1700", "RC4058"), or ""."""
    for pattern in (_NESTED, _CODE_EQ, _BRACKET):
        found = pattern.search(return_msg)
        if found:
            return found.group(1)
    return ""


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful reply: the JSON body and the continuation headers (`next_key` "" when done)."""

    api_id: str
    body: dict[str, Any]
    more: bool
    next_key: str


def classify(
    api_id: str,
    *,
    http_status: int,
    return_code: int | None,
    return_msg: str,
) -> BrokerError | None:
    """The exception a reply maps to, or None for a success (HTTP 2xx and return_code 0)."""
    code = msg_code(return_msg)
    ctx: dict[str, Any] = {
        "api_id": api_id,
        "return_code": return_code,
        "msg_code": code,
        "http_status": http_status,
    }
    text = return_msg.strip() or f"HTTP {http_status}"
    if http_status >= 500:
        return OutcomeUnknown(f"server error: {text}", **ctx)
    if http_status == 401 or return_code == AUTH_RETURN_CODE or code in AUTH_CODES:
        return AuthFailed(f"authentication failed: {text}", **ctx)
    if code in REFUSED_CODES:
        return RequestRefused(f"request refused: {text}", **ctx)
    if http_status == 429 or return_code == RATE_RETURN_CODE or code in RATE_CODES:
        return RateLimited(f"rate limited: {text}", **ctx)
    if return_code == BUSINESS_RETURN_CODE:
        return BusinessRejected(f"rejected: {text}", **ctx)
    if return_code not in (None, 0):
        return ServiceFailed(f"service failed: {text}", **ctx)
    if http_status >= 400:
        return RequestRefused(f"request refused: {text}", **ctx)
    if return_code is None:
        return OutcomeUnknown("reply has no return_code", **ctx)
    return None


def _return_code(raw: object) -> int | None:
    """`return_code` as an int (it is occasionally a string); None when absent or unreadable."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    return None


def read_reply(api_id: str, status: int, content: bytes, headers: Mapping[str, str]) -> Reply:
    """Turn an HTTP reply into a Reply or raise the classified BrokerError.

    `headers` must be case-insensitive (httpx.Headers is). An unreadable body is OutcomeUnknown
    unless the HTTP status alone already says what happened (401, 429, 5xx).
    """
    body: object = None
    try:
        body = json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        error = classify(api_id, http_status=status, return_code=None, return_msg="")
        if error is None or status < 400:
            error = OutcomeUnknown("reply is not a JSON object", api_id=api_id, http_status=status)
        raise error
    raw_msg = body.get("return_msg", "")
    return_msg = raw_msg if isinstance(raw_msg, str) else str(raw_msg)
    error = classify(api_id, http_status=status, return_code=_return_code(body.get("return_code")),
                     return_msg=return_msg)  # fmt: skip
    if error is not None:
        raise error
    more = headers.get("cont-yn", "N").strip().upper() == "Y"
    return Reply(api_id=api_id, body=body, more=more, next_key=headers.get("next-key", "").strip())
