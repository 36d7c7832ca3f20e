"""Access tokens: issue (au10001), revoke (au10002), refresh ahead of `expires_dt`, cache 0600 on disk.

Facts (kiwoom-protocol.md §2, §13.7): the reply carries `token`, `token_type` ("Bearer" or "bearer")
and `expires_dt`, an absolute Korea-time `YYYYMMDDHHMMSS` (never a lifetime, never the host zone).
There is no refresh token: call au10001 again. Re-issuing early may return the SAME token with the
ORIGINAL expiry; we then keep it until it expires (or is refused) instead of re-asking in a loop.
Bad keys come back as HTTP 200, return_code 3, `[8001:...]` → AuthFailed. Concurrent callers share
one issuance. Secrets never reach logs, errors or reprs; the only file holding a token is the 0600
cache, named by a hash of host and app key.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from random import Random

import anyio
import structlog

from bot.broker.kiwoom.apis import API_SPECS
from bot.broker.kiwoom.replies import Reply
from bot.broker.kiwoom.retry import RetryPolicy
from bot.broker.kiwoom.transport import KiwoomHttp
from bot.clock import Clock, format_kst_timestamp, parse_kst_timestamp
from bot.errors import BrokerUnreachable, OutcomeUnknown, RateLimited

log = structlog.get_logger(__name__)

DEFAULT_REFRESH_MARGIN_S = 600.0


def mask_secret(secret: str) -> str:
    """A stable, irreversible label for a secret (a short hash), safe to log and show."""
    if not secret:
        return "<empty>"
    return f"<secret #{hashlib.sha256(secret.encode()).hexdigest()[:8]}>"


@dataclass(frozen=True, slots=True)
class AppCredentials:
    """The app key and secret key of one Kiwoom app; the repr never shows them."""

    appkey: str = field(repr=False)
    secretkey: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.appkey or not self.secretkey:
            raise ValueError("appkey and secretkey must both be non-empty")

    def __repr__(self) -> str:
        return f"AppCredentials(appkey={mask_secret(self.appkey)}, secretkey=<masked>)"


@dataclass(frozen=True, slots=True)
class _Token:
    """A token, its expiry, and when we will ask for a new one (None: only after a refusal)."""

    value: str = field(repr=False)
    expires_at: datetime
    refresh_at: datetime | None


class TokenManager:
    """Hands out a valid access token; one issuance at a time, refreshed before it expires."""

    def __init__(
        self,
        http: KiwoomHttp,
        credentials: AppCredentials,
        clock: Clock,
        *,
        state_dir: Path | str | None = None,
        refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S,
        retry: RetryPolicy | None = None,
        issue_timeout_s: float = 60.0,
        rng: Random | None = None,
    ) -> None:
        if refresh_margin_s < 0:
            raise ValueError(f"refresh_margin_s must be >= 0, got {refresh_margin_s}")
        self._http = http
        self._credentials = credentials
        self._clock = clock
        self._margin = timedelta(seconds=refresh_margin_s)
        self._retry = retry or RetryPolicy()
        self._issue_timeout_s = issue_timeout_s
        self._rng = rng or Random()
        self._lock = anyio.Lock()
        self._token: _Token | None = None
        self._last: _Token | None = None
        self._loaded = False
        self._cache_path = self._cache_file(Path(state_dir)) if state_dir is not None else None
        self.issued = 0

    def __repr__(self) -> str:
        state = "none" if self._token is None else f"expires {format_kst_timestamp(self._token.expires_at)}"
        return (
            f"TokenManager(host={self._http.endpoints.rest_host!r}, "
            f"appkey={mask_secret(self._credentials.appkey)}, token={state})"
        )

    @property
    def cache_path(self) -> Path | None:
        """Where the token is cached (None when caching is off)."""
        return self._cache_path

    @property
    def expires_at(self) -> datetime | None:
        """Expiry of the current token, if any."""
        return None if self._token is None else self._token.expires_at

    def _cache_file(self, state_dir: Path) -> Path:
        """`<state_dir>/kiwoom-token-<hash(host, appkey)>.json`: never the raw key in a name."""
        key = f"{self._http.endpoints.rest_host}\n{self._credentials.appkey}".encode()
        return state_dir / f"kiwoom-token-{hashlib.sha256(key).hexdigest()[:32]}.json"

    def _usable(self, token: _Token) -> bool:
        """Whether `token` may be handed out now without asking for a new one."""
        return token.refresh_at is None or self._clock.now() < token.refresh_at

    async def get(self) -> str:
        """A token valid now; issues (once for all concurrent callers) when missing or due."""
        token = self._token
        if token is not None and self._usable(token):
            return token.value
        try:
            with anyio.fail_after(self._issue_timeout_s):
                async with self._lock:
                    await self._ensure_loaded()
                    token = self._token
                    if token is None or not self._usable(token):
                        token = await self._issue()
                    return token.value
        except TimeoutError:
            raise BrokerUnreachable(f"no token within {self._issue_timeout_s:g}s", api_id="au10001") from None

    async def invalidate(self, token: str) -> None:
        """Forget `token` after the broker refused it, unless another caller already replaced it."""
        with anyio.fail_after(self._issue_timeout_s):
            async with self._lock:
                if self._token is not None and self._token.value == token:
                    self._token = None
                    await self._delete_cache()
                    log.info("token_invalidated", host=self._http.endpoints.rest_host)

    async def revoke(self) -> None:
        """Revoke the current token at the broker (au10002) and forget it; no-op without a token."""
        with anyio.fail_after(self._issue_timeout_s):
            async with self._lock:
                await self._ensure_loaded()
                token = self._token
                if token is None:
                    return
                spec = API_SPECS["au10002"]
                body = {
                    "appkey": self._credentials.appkey,
                    "secretkey": self._credentials.secretkey,
                    "token": token.value,
                }
                await self._post_with_retry("au10002", spec.path, body)
                self._token = None
                await self._delete_cache()
                log.info("token_revoked", host=self._http.endpoints.rest_host)

    async def _issue(self) -> _Token:
        """Call au10001, decide when to refresh the result, cache it. Caller holds the lock."""
        spec = API_SPECS["au10001"]
        body = {
            "grant_type": "client_credentials",
            "appkey": self._credentials.appkey,
            "secretkey": self._credentials.secretkey,
        }
        reply = await self._post_with_retry("au10001", spec.path, body)
        value, expires_at = _read_token_reply(reply)
        token = self._schedule(value, expires_at)
        self._token = self._last = token
        self.issued += 1
        await self._save_cache(token)
        log.info(
            "token_issued",
            host=self._http.endpoints.rest_host,
            expires_dt=format_kst_timestamp(expires_at),
            refresh_at=None if token.refresh_at is None else format_kst_timestamp(token.refresh_at),
        )
        return token

    def _schedule(self, value: str, expires_at: datetime) -> _Token:
        """When to re-issue: margin before expiry, or AT expiry if Kiwoom handed back the same token."""
        now = self._clock.now()
        last = self._last
        same_as_before = last is not None and last.value == value and last.expires_at == expires_at
        refresh_at: datetime | None
        if expires_at <= now:
            # Kiwoom says it is valid, our clock disagrees: use it until it is refused, never loop.
            log.warning("token_expiry_in_past", expires_dt=format_kst_timestamp(expires_at))
            refresh_at = None
        elif same_as_before or expires_at - self._margin <= now:
            refresh_at = expires_at
        else:
            refresh_at = expires_at - self._margin
        return _Token(value=value, expires_at=expires_at, refresh_at=refresh_at)

    async def _post_with_retry(self, api_id: str, path: str, body: dict[str, str]) -> Reply:
        """A token TR, retried on transient and unknown outcomes (both idempotent).

        It takes the throttle's priority lane: every caller is waiting for it, cancels included.
        """
        attempt = 1
        while True:
            try:
                return await self._http.post(api_id, path, body, priority=True)
            except (RateLimited, BrokerUnreachable, OutcomeUnknown) as error:
                if attempt >= self._retry.attempts:
                    raise
                delay = self._retry.delay_s(attempt, self._rng)
                log.info("token_call_retrying", api_id=api_id, error=type(error).__name__, delay_s=delay)
                attempt += 1
                await anyio.sleep(delay)

    async def _ensure_loaded(self) -> None:
        """Adopt the cached token once, if present, private (0600) and unexpired."""
        if self._loaded:
            return
        self._loaded = True
        if self._cache_path is None:
            return
        cached = await anyio.to_thread.run_sync(_read_cache, self._cache_path)
        if cached is None:
            return
        value, expires_at = cached
        if expires_at <= self._clock.now():
            await self._delete_cache()
            return
        self._token = self._last = self._schedule(value, expires_at)
        log.info(
            "token_loaded", host=self._http.endpoints.rest_host, expires_dt=format_kst_timestamp(expires_at)
        )

    async def _save_cache(self, token: _Token) -> None:
        """Write the cache atomically with mode 0600; a failure is logged, not fatal."""
        if self._cache_path is None:
            return
        data = json.dumps({"token": token.value, "token_type": "Bearer",
                           "expires_dt": format_kst_timestamp(token.expires_at)}).encode()  # fmt: skip
        try:
            await anyio.to_thread.run_sync(_write_private, self._cache_path, data)
        except OSError as exc:
            log.warning("token_cache_write_failed", path=str(self._cache_path), error=exc.strerror)

    async def _delete_cache(self) -> None:
        """Remove the cache file if it exists."""
        if self._cache_path is not None:
            await anyio.to_thread.run_sync(_unlink_quietly, self._cache_path)


def _read_token_reply(reply: Reply) -> tuple[str, datetime]:
    """`token` and parsed `expires_dt` from an au10001 reply; OutcomeUnknown if unreadable."""
    body = reply.body
    value = body.get("token")
    if not isinstance(value, str) or not value.strip():
        raise OutcomeUnknown("token reply has no 'token'", api_id="au10001")
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.strip().lower() != "bearer":
        raise OutcomeUnknown(
            f"token reply has token_type {token_type!r}, expected 'Bearer'", api_id="au10001"
        )
    expires_dt = body.get("expires_dt")
    try:
        expires_at = parse_kst_timestamp(str(expires_dt).strip())
    except ValueError:
        raise OutcomeUnknown(f"token reply has expires_dt {expires_dt!r}, expected YYYYMMDDHHMMSS",
                             api_id="au10001") from None  # fmt: skip
    return value.strip(), expires_at


def _read_cache(path: Path) -> tuple[str, datetime] | None:
    """The cached (token, expiry), or None if absent, unreadable, or readable by others (then removed)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & 0o077:
        log.warning("token_cache_insecure_removed", path=str(path), mode=oct(mode & 0o777))
        _unlink_quietly(path)
        return None
    try:
        data = json.loads(path.read_bytes())
        value = data["token"]
        expires_at = parse_kst_timestamp(data["expires_dt"])
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("token_cache_unreadable", path=str(path))
        return None
    if not isinstance(value, str) or not value:
        return None
    return value, expires_at


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a 0600 temp file and an atomic rename."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: Path) -> None:
    """Remove `path`, ignoring a missing file."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
