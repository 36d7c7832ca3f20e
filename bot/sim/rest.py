"""The REST envelope: POST-only routing by (path, `api-id`), auth, rate limit, faults and paging (§3).

Every answer is JSON in Kiwoom's shape. Request-form problems answer HTTP 200 with the documented
code in brackets (1501/1504/1505/1511/1513-1517); a bad token answers return_code 3 [8005]; excess
calls answer return_code 5 [1700] (or HTTP 429 in that style). TR handlers live in `trs_*.py`; they
raise `TrError` to answer an error and return a `TrReply`, whose list the envelope pages with the
`cont-yn`/`next-key` response headers.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.sim.core import SimCore
from bot.sim.protocol import (
    KNOWN_PATHS,
    OK_MSG,
    SIM_APIS,
    KiwoomError,
    SimApi,
    err_api_id_wrong_path,
    err_bad_authorization,
    err_bad_field,
    err_invalid_token,
    err_missing_api_id,
    err_missing_field,
    err_no_authorization,
    err_no_token,
    err_not_bearer,
    err_rate_limited,
    err_unknown_api_id,
)

log = structlog.get_logger(__name__)

JSON_CT = "application/json;charset=UTF-8"
ORDER_TRS = frozenset({"kt10000", "kt10001", "kt10002", "kt10003"})
OAUTH_PATHS = {"/oauth2/token": "au10001", "/oauth2/revoke": "au10002"}


class TrError(Exception):
    """Raised by a TR handler to answer with a Kiwoom error."""

    def __init__(self, error: KiwoomError) -> None:
        super().__init__(error.return_msg)
        self.error = error


@dataclass(frozen=True, slots=True)
class TrReply:
    """A handler's answer: top-level fields, plus the rows of the TR's list (paged by the envelope)."""

    fields: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    return_msg: str = OK_MSG


@dataclass(frozen=True, slots=True)
class TrRequest:
    """What a handler sees: the TR, its string body and the caller's app key."""

    api: SimApi
    body: dict[str, str]
    appkey: str


Handler = Callable[[SimCore, TrRequest], TrReply]


class RateLimiter:
    """A rolling one-second window per app key (wall time: it models Kiwoom's gateway)."""

    def __init__(self, per_s: float) -> None:
        self._per_s = per_s
        self._calls: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Record a call for `key`; False if it exceeds the allowed rate."""
        now = time.monotonic()
        window = self._calls.setdefault(key, deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self._per_s:
            return False
        window.append(now)
        return True


def _answer(
    body: dict[str, Any], status: int = 200, api_id: str = "", cont: bool = False, next_key: str = ""
) -> Response:
    headers = {"api-id": api_id, "cont-yn": "Y" if cont else "N", "next-key": next_key}
    return JSONResponse(body, status_code=status, headers=headers, media_type=JSON_CT)


def _error(error: KiwoomError, api_id: str = "") -> Response:
    return _answer(error.body(), error.status, api_id)


class RestEndpoint:
    """The ASGI endpoint for every REST path (Starlette passes each request to `__call__`)."""

    def __init__(self, core: SimCore, handlers: dict[str, Handler]) -> None:
        self._core = core
        self._handlers = handlers
        self._limiter = RateLimiter(core.settings.rest_rate_per_s)

    async def __call__(self, request: Request) -> Response:
        """Answer one REST request; never raises for bad client input. Recorded when recording is on."""
        recorder = self._core.recorder
        if recorder is None:
            return await self._answer(request)
        started = time.monotonic()
        response = await self._answer(request)
        path = request.url.path
        api_id = (request.headers.get("api-id") or "").strip() or OAUTH_PATHS.get(path, "")
        recorder.rest(
            api_id, path, await request.body(), response.status_code, (time.monotonic() - started) * 1000,
            response.headers.get("cont-yn", ""), response.headers.get("next-key", ""), bytes(response.body),
        )  # fmt: skip
        return response

    async def _answer(self, request: Request) -> Response:
        core = self._core
        path = request.url.path
        api_id_header = request.headers.get("api-id")
        api_id = (api_id_header or "").strip()
        core.stats.rest_calls[api_id or OAUTH_PATHS.get(path, "")] += 1
        if path not in KNOWN_PATHS:
            msg = f"요청 형식이 올바르지 않습니다[1999:존재하지 않는 URI입니다. URI={path}]"
            return _answer({"return_code": 2, "return_msg": msg}, 404)
        if request.method != "POST":
            msg = f"요청 형식이 올바르지 않습니다[1999:허용되지 않은 메서드입니다. METHOD={request.method}]"
            return _answer({"return_code": 2, "return_msg": msg}, 405)
        hang = core.faults.take_hang()
        if hang:
            # Read the request first, as a real server does: a reply held past the client's timeout
            # must still be processed afterwards (the client sees an unknown outcome, R4 (c)).
            await request.body()
            with anyio.move_on_after(hang):
                await core.closing.wait()
        status = core.faults.take_rest_failure()
        if status is not None:
            return _answer({"return_code": 1, "return_msg": f"simulated HTTP {status}"}, status)
        forced, style = core.faults.take_rate_limit()
        if forced:
            core.stats.rate_limited += 1
            http429 = (style or core.settings.rate_limit_style) == "http429"
            return _error(err_rate_limited(api_id or OAUTH_PATHS.get(path, ""), http429), api_id)
        try:
            api = self._route(path, api_id)
            body = await self._body(request)
            appkey = self._authorize(request, api, body)
            if not self._limiter.allow(appkey or "?"):
                core.stats.rate_limited += 1
                raise TrError(err_rate_limited(api.api_id, core.settings.rate_limit_style == "http429"))
            for name in api.required:
                if not body.get(name):
                    raise TrError(err_missing_field(name))
            return await self._run(request, api, body, appkey)
        except TrError as exc:
            return _error(exc.error, api_id)

    def _route(self, path: str, api_id: str) -> SimApi:
        oauth = OAUTH_PATHS.get(path)
        if oauth is not None and api_id == "":
            return SIM_APIS[oauth]
        if not api_id:
            raise TrError(err_missing_api_id())
        api = SIM_APIS.get(api_id)
        if api is None or api.api_id not in self._handlers:
            raise TrError(err_unknown_api_id(api_id))
        if api.path != path or api.transport != "rest":
            raise TrError(err_api_id_wrong_path(api_id, path))
        return api

    async def _body(self, request: Request) -> dict[str, str]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TrError(err_bad_field("body", "JSON 형식이 아닙니다")) from None
        if not isinstance(parsed, dict):
            raise TrError(err_bad_field("body", "JSON 객체가 아닙니다"))
        for key, value in parsed.items():
            if not isinstance(value, str):
                # The value itself is not echoed: it may be a secret sent with the wrong type.
                raise TrError(
                    err_bad_field(str(key), f"문자열이어야 합니다(받은 형식 {type(value).__name__})")
                )
        return parsed

    def _authorize(self, request: Request, api: SimApi, body: dict[str, str]) -> str:
        """The app key behind the request; OAuth TRs are keyed by the body's appkey."""
        if api.path in OAUTH_PATHS:
            return body.get("appkey", "")
        header = request.headers.get("authorization")
        if header is None:
            raise TrError(err_no_authorization())
        scheme, _, token = header.strip().partition(" ")
        if not scheme:
            raise TrError(err_bad_authorization())
        if scheme.lower() != "bearer":
            raise TrError(err_not_bearer())
        if not token.strip():
            raise TrError(err_no_token())
        issued = self._core.tokens.lookup(token.strip(), self._core.clock.now())
        if issued is None:
            raise TrError(err_invalid_token())
        return issued.appkey

    async def _run(self, request: Request, api: SimApi, body: dict[str, str], appkey: str) -> Response:
        core = self._core
        lost = core.faults.take_lost_order_reply() if api.api_id in ORDER_TRS else None
        handler = self._handlers[api.api_id]
        try:
            reply = handler(core, TrRequest(api, body, appkey))
        except TrError:
            if api.api_id in ORDER_TRS:
                core.stats.order_posts.append((api.api_id, dict(body)))
            raise
        except Exception:
            log.exception("rest_handler_failed", api_id=api.api_id)
            msg = "서비스를 처리하는 중에 오류가 발생했습니다[1999:예기치 못한 에러]"
            return _answer({"return_code": 7, "return_msg": msg}, 500, api.api_id)
        if api.api_id in ORDER_TRS:
            core.stats.order_posts.append((api.api_id, dict(body)))
        if lost == "hang":
            log.info("fault_order_reply_hung", api_id=api.api_id)
            with anyio.move_on_after(3600):
                await core.closing.wait()
            return _answer({"return_code": 1, "return_msg": "simulator stopping"}, 503, api.api_id)
        if lost == "500":
            return _answer({"return_code": 1, "return_msg": "simulated HTTP 500"}, 500, api.api_id)
        return self._page(request, api, reply)

    def _page(self, request: Request, api: SimApi, reply: TrReply) -> Response:
        body: dict[str, Any] = dict(reply.fields)
        cont, next_key = False, ""
        if api.list_name:
            start = 0
            if request.headers.get("cont-yn", "").upper() == "Y":
                key = request.headers.get("next-key", "")
                if not key.isdigit():
                    raise TrError(err_bad_field("next-key", "연속조회키가 올바르지 않습니다"))
                start = int(key)
            size = self._core.settings.rest_page_size
            body[api.list_name] = reply.rows[start : start + size]
            if start + size < len(reply.rows):
                cont, next_key = True, str(start + size)
        body["return_code"] = 0
        body["return_msg"] = reply.return_msg
        return _answer(body, 200, api.api_id, cont, next_key)
