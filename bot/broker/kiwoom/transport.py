"""One paced POST to Kiwoom with the exact headers, converting transport failures at the edge.

Facts (kiwoom-protocol.md §3.1, §3.2): every call is a POST with a JSON body whose values are all
strings; headers are `Content-Type: application/json;charset=UTF-8`, `api-id`, `authorization:
Bearer <token>` (not on token TRs), and `cont-yn: Y` + `next-key` only when continuing. Failures are
sorted by whether the request can have left: a refused connection is BrokerUnreachable, anything
after sending (timeout, reset, 5xx, unreadable body) is OutcomeUnknown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import TracebackType

import anyio
import httpx
import structlog

from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.replies import Reply, read_reply
from bot.broker.kiwoom.throttle import Throttle
from bot.errors import BrokerError, BrokerUnreachable, OutcomeUnknown
from bot.record.tap import RecordTap

log = structlog.get_logger(__name__)

CONTENT_TYPE = "application/json;charset=UTF-8"
KEEPALIVE_S = 55.0  # idle REST connections are kept this long (under the usual 60 s idle limits)
# Order TRs get their own (usually shorter) timeout: past it the outcome is UNKNOWN and reconciled.
ORDER_API_IDS = frozenset(
    {"kt10000", "kt10001", "kt10002", "kt10003", "kt10006", "kt10007", "kt10008", "kt10009"}
)


class KiwoomHttp:
    """Sends Kiwoom POSTs through the shared Throttle and returns a Reply or a classified BrokerError."""

    def __init__(
        self,
        endpoints: KiwoomEndpoints,
        throttle: Throttle,
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        order_timeout_s: float | None = None,
        client: httpx.AsyncClient | None = None,
        recorder: RecordTap | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.recorder = recorder  # every exchange, token TRs included ([record]; it masks secrets)
        self.throttle = throttle
        self._timeout_s = timeout_s
        self._order_timeout_s = order_timeout_s or timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
            trust_env=False,
            # httpx drops an idle connection after 5 s, so the first order after a quiet spell paid a
            # TCP and TLS handshake to Kiwoom; keep it longer (a connection the server closed in the
            # meantime is seen as closed before reuse and replaced, nothing is sent on it).
            limits=httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_S
            ),
        )

    def __repr__(self) -> str:
        return f"KiwoomHttp(rest_url={self.endpoints.rest_url!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> KiwoomHttp:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def post(
        self,
        api_id: str,
        path: str,
        body: Mapping[str, str],
        *,
        token: str | None = None,
        next_key: str | None = None,
        priority: bool = False,
    ) -> Reply:
        """POST `body` to `path` as `api_id` once (no retry); `next_key` set means a continuation page."""
        headers = {"Content-Type": CONTENT_TYPE, "api-id": api_id}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        if next_key is not None:
            headers["cont-yn"] = "Y"
            headers["next-key"] = next_key
        content = json.dumps(dict(body), ensure_ascii=False).encode("utf-8")
        await self.throttle.acquire(api_id, priority=priority)
        started = anyio.current_time()
        try:
            timeout = self._order_timeout_s if api_id in ORDER_API_IDS else self._timeout_s
            try:
                response = await self._send(api_id, self.endpoints.rest_url + path, content, headers, timeout)
            except BrokerError as error:
                self._record(api_id, path, content, None, started, error=type(error).__name__)
                raise
            self._record(api_id, path, content, response, started)
            reply = read_reply(api_id, response.status_code, response.content, response.headers)
        except BrokerError as error:
            log.warning(
                "rest_call_failed",
                api_id=api_id,
                error=type(error).__name__,
                return_code=error.return_code,
                msg_code=error.msg_code,
                http_status=error.http_status,
                latency_ms=round((anyio.current_time() - started) * 1000, 1),
            )
            raise
        log.debug(
            "rest_called",
            api_id=api_id,
            return_code=reply.body.get("return_code"),
            more=reply.more,
            latency_ms=round((anyio.current_time() - started) * 1000, 1),
        )
        return reply

    def _record(
        self,
        api_id: str,
        path: str,
        content: bytes,
        response: httpx.Response | None,
        started: float,
        error: str | None = None,
    ) -> None:
        """Hand the exchange to the recorder (no request headers: the token never goes there)."""
        if self.recorder is None:
            return
        latency_ms = (anyio.current_time() - started) * 1000
        if response is None:
            self.recorder.rest(api_id, path, content, None, latency_ms, error=error)
            return
        h = response.headers
        self.recorder.rest(
            api_id, path, content, response.status_code, latency_ms,
            h.get("cont-yn", ""), h.get("next-key", ""), response.content,
        )  # fmt: skip

    async def _send(
        self, api_id: str, url: str, content: bytes, headers: dict[str, str], timeout_s: float
    ) -> httpx.Response:
        """The HTTP exchange itself, with httpx's errors converted to ours (never echoing headers)."""
        deadline = timeout_s + self._connect_timeout_s
        per_request = httpx.Timeout(timeout_s, connect=self._connect_timeout_s)
        try:
            with anyio.fail_after(deadline):
                return await self._client.post(url, content=content, headers=headers, timeout=per_request)
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.UnsupportedProtocol,
        ) as exc:
            raise BrokerUnreachable(f"cannot connect: {type(exc).__name__}: {exc}", api_id=api_id) from None
        except httpx.TimeoutException as exc:
            raise OutcomeUnknown(f"no reply in time: {type(exc).__name__}", api_id=api_id) from None
        except TimeoutError:
            raise OutcomeUnknown(f"no reply within {deadline:g}s", api_id=api_id) from None
        except httpx.TransportError as exc:
            raise OutcomeUnknown(f"connection failed after sending: {type(exc).__name__}: {exc}",
                                 api_id=api_id) from None  # fmt: skip
