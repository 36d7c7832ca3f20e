"""The generic REST client: any TR of `apis.API_SPECS`, validated, authorised, paced, paged, retried.

Rules (kiwoom-protocol.md §2.3, §3, §12; reliability-matrix R3–R5): a refused token is re-issued and
the call retried ONCE, for every TR (an 8005 rejection was not processed). Reads (ka*/kt00*) are
idempotent and retried with backoff on RateLimited, BrokerUnreachable and OutcomeUnknown. Order TRs
are never resent otherwise: a rate-limited order raises RateLimited, a lost reply OutcomeUnknown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from random import Random
from typing import Any

import anyio
import structlog

from bot.broker.kiwoom.apis import PRIORITY_API_IDS, ApiSpec, spec_for
from bot.broker.kiwoom.auth import AppCredentials, TokenManager
from bot.broker.kiwoom.endpoints import KiwoomEndpoints
from bot.broker.kiwoom.replies import Reply
from bot.broker.kiwoom.retry import RetryPolicy
from bot.broker.kiwoom.throttle import Throttle
from bot.broker.kiwoom.transport import KiwoomHttp
from bot.clock import Clock
from bot.errors import (
    AuthFailed,
    BrokerUnreachable,
    InvalidRequest,
    OutcomeUnknown,
    ProtocolError,
    RateLimited,
)
from bot.record.tap import RecordTap

log = structlog.get_logger(__name__)

DEFAULT_MAX_PAGES = 200


class KiwoomRest:
    """Calls Kiwoom REST TRs by api-id; shares one Throttle and one TokenManager with every caller."""

    def __init__(
        self,
        http: KiwoomHttp,
        tokens: TokenManager,
        *,
        retry: RetryPolicy | None = None,
        rng: Random | None = None,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self._retry = retry or RetryPolicy()
        self._rng = rng or Random()

    def __repr__(self) -> str:
        return f"KiwoomRest(rest_url={self.http.endpoints.rest_url!r})"

    @property
    def endpoints(self) -> KiwoomEndpoints:
        """The server this client talks to."""
        return self.http.endpoints

    async def call(self, api_id: str, /, *, priority: bool = False, **fields: str) -> dict[str, Any]:
        """Send one TR (first page only) and return its reply body; InvalidRequest before sending."""
        return await self.send(api_id, fields, priority=priority)

    async def send(self, api_id: str, fields: Mapping[str, str], *, priority: bool = False) -> dict[str, Any]:
        """`call` with the body given as a mapping."""
        spec = _checked(api_id, fields)
        reply = await self._request(spec, fields, next_key=None, priority=priority)
        return reply.body

    def pages(
        self, api_id: str, /, *, max_pages: int = DEFAULT_MAX_PAGES, **fields: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the reply body of every continuation page (cont-yn / next-key headers) in order."""
        return self.iter_pages(api_id, fields, max_pages=max_pages)

    async def iter_pages(
        self, api_id: str, fields: Mapping[str, str], *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> AsyncIterator[dict[str, Any]]:
        """`pages` with the body given as a mapping; checked before the first page is sent."""
        spec = _checked(api_id, fields)
        next_key: str | None = None
        for page in range(1, max_pages + 1):
            reply = await self._request(spec, fields, next_key=next_key, priority=False)
            yield reply.body
            if not reply.more:
                return
            if not reply.next_key:
                raise ProtocolError(f"{api_id}: page {page} says cont-yn=Y but has no next-key")
            next_key = reply.next_key
        raise ProtocolError(f"{api_id}: more than {max_pages} continuation pages")

    async def _request(
        self, spec: ApiSpec, fields: Mapping[str, str], *, next_key: str | None, priority: bool
    ) -> Reply:
        """One page with the retry rules: one token re-issue for all; backoff for reads only."""
        priority = priority or spec.api_id in PRIORITY_API_IDS
        attempt = 1
        reissued = False
        while True:
            token = await self._token_for(spec.api_id)
            try:
                return await self.http.post(
                    spec.api_id, spec.path, fields, token=token, next_key=next_key, priority=priority
                )
            except AuthFailed:
                if reissued:
                    raise
                reissued = True
                log.info("token_refused_reissuing", api_id=spec.api_id)
                await self.tokens.invalidate(token)
            except (RateLimited, BrokerUnreachable, OutcomeUnknown) as error:
                if spec.is_order or attempt >= self._retry.attempts:
                    raise
                delay = self._retry.delay_s(attempt, self._rng)
                log.info("rest_call_retrying", api_id=spec.api_id, error=type(error).__name__,
                         attempt=attempt, delay_s=round(delay, 3))  # fmt: skip
                attempt += 1
                await anyio.sleep(delay)

    async def _token_for(self, api_id: str) -> str:
        """A token for `api_id`; a token failure of unknown outcome still means `api_id` was not sent."""
        try:
            return await self.tokens.get()
        except OutcomeUnknown as error:
            raise BrokerUnreachable(
                f"{api_id} not sent: token issuance failed ({error.message})",
                api_id=error.api_id,
                return_code=error.return_code,
                msg_code=error.msg_code,
                http_status=error.http_status,
            ) from None


def _checked(api_id: str, fields: Mapping[str, object]) -> ApiSpec:
    """The spec of `api_id` after checking `fields`; token TRs are TokenManager's business."""
    spec = spec_for(api_id)
    if spec.is_oauth:
        raise InvalidRequest(f"{api_id} is a token TR: use TokenManager, not KiwoomRest")
    spec.check_fields(fields)
    return spec


@asynccontextmanager
async def open_rest(
    endpoints: KiwoomEndpoints,
    credentials: AppCredentials,
    clock: Clock,
    *,
    state_dir: Path | str | None = None,
    throttle: Throttle | None = None,
    timeout_s: float = 10.0,
    retry: RetryPolicy | None = None,
    refresh_margin_s: float = 600.0,
    order_timeout_s: float | None = None,
    recorder: RecordTap | None = None,
) -> AsyncIterator[KiwoomRest]:
    """Build the HTTP pool, throttle (5/s real, 1/s mock unless given), token manager and client."""
    throttle = throttle or Throttle.for_server(is_mock=endpoints.is_mock)
    async with KiwoomHttp(
        endpoints, throttle, timeout_s=timeout_s, order_timeout_s=order_timeout_s, recorder=recorder
    ) as http:
        tokens = TokenManager(
            http, credentials, clock, state_dir=state_dir, refresh_margin_s=refresh_margin_s, retry=retry
        )
        yield KiwoomRest(http, tokens, retry=retry)
