"""One Kiwoom WebSocket session: LOGIN, PING echo, REG/REMOVE, condition TRs, REAL decoding, reconnect.

Facts followed (kiwoom-protocol.md §7, §8, §13): LOGIN with the raw token is the first frame; frames
may come before its ack (PINGs are answered, the rest skipped); every PING is echoed verbatim from
the receive path at once; SYSTEM frames are never echoed; R10001 means another client took our app
key, so we stop instead of fighting; REG/REMOVE acks carry no group, so one is in flight at a time;
CNSRLST precedes CNSRREQ on every connection; the CNSRCLR ack may never come; no secret travels in
the handshake, and library pings are off.

Semantics of commands (the session owns the desired state and restores it after every reconnect):
- `subscribe`/`unsubscribe` update the desired REG groups. Connected: the change is sent and its ack
  awaited (a refusal raises `ServiceFailed` and is not recorded). Disconnected (or the ack lost with
  the socket): recorded only, and sent by the resync after the next LOGIN.
- `condition_search(seq, realtime=True)` waits (bounded) for a live session, runs CNSRLST if this
  connection has not yet, then CNSRREQ; once it succeeded the condition is restored after every
  reconnect and its fresh snapshot is emitted on `events()` as a `ConditionSnapshot`.
- `condition_stop` forgets the condition at once and sends CNSRCLR if connected, waiting only briefly.
- Queries (`condition_list`, `condition_search`) wait for the session up to `command_wait_s` and raise
  `BrokerUnreachable` if it does not come; a reply that does not come raises `OutcomeUnknown`.

Events go to one bounded, lossless stream: when the consumer lags, the reader waits (backpressure).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from random import Random
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import anyio
import structlog
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bot.broker.kiwoom.codec import (
    VENUE_TO_CONDITION_STEX_TP,
    ConditionInfo,
    RealDecoder,
    RealEvent,
    parse_frame,
)
from bot.broker.kiwoom.subscriptions import RegRequest, Subscriptions
from bot.broker.kiwoom.ws_frames import (
    check_reply,
    cnsrclr_frame,
    cnsrlst_frame,
    cnsrreq_frame,
    decode_condition_list,
    decode_condition_page,
    is_auth_refusal,
    login_frame,
    reg_frame,
    return_code,
    return_msg,
)
from bot.broker.kiwoom.ws_settings import WsSettings, WsStats
from bot.clock import Clock
from bot.domain.market import ConditionSnapshot, FeedDown, FeedResynced, SessionKickedEvent
from bot.domain.values import Venue
from bot.errors import (
    BrokerUnreachable,
    InvalidRequest,
    OutcomeUnknown,
    ProtocolError,
    ServiceFailed,
    SessionKicked,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")

FeedEvent = RealEvent | ConditionSnapshot | FeedDown | FeedResynced | SessionKickedEvent

_REPLY_TRNMS = frozenset({"REG", "REMOVE", "CNSRLST", "CNSRREQ", "CNSRCLR"})
_API_ID = {"CNSRLST": "ka10171", "CNSRCLR": "ka10174"}


class TokenSource(Protocol):
    """Where the session gets its access token (`auth.TokenManager` satisfies it)."""

    async def get(self) -> str:
        """A token believed valid now."""
        ...

    async def invalidate(self, token: str) -> None:
        """Forget `token`: the broker refused it."""
        ...


class _ConnectFailed(Exception):
    """The session could not be established; `reason` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Kicked(Exception):
    """SYSTEM R10001 arrived."""


class _Lost(Exception):
    """The connection went away while we waited for a reply."""


class _NoReply(Exception):
    """The reply did not come in time."""


@dataclass(slots=True)
class _Waiter:
    """One outstanding request awaiting its reply frame."""

    seq: str | None
    done: anyio.Event
    frame: dict[str, Any] | None = None


class _Conn:
    """One live socket and what has been done on it."""

    def __init__(
        self, ws: ClientConnection, send_timeout_s: float, on_close: Callable[[_Conn], None]
    ) -> None:
        self.ws = ws
        self.on_close = on_close
        self.send_timeout_s = send_timeout_s
        self.send_lock = anyio.Lock()
        self.scope = anyio.CancelScope()
        self.waiters: dict[str, _Waiter] = {}
        self.regs_synced = False
        self.listed = False
        self.conditions_synced = False
        self.closed = False
        self.drop_reason = "dropped"
        self.kick_message: str | None = None

    async def send(self, text: str) -> None:
        """Send one text frame; a closed socket raises `_Lost`."""
        try:
            with anyio.fail_after(self.send_timeout_s):
                async with self.send_lock:
                    await self.ws.send(text)
        except (ConnectionClosed, TimeoutError):
            raise _Lost from None

    def abort(self, reason: str) -> None:
        """End this connection (e.g. an ack never came, so ack order can no longer be trusted)."""
        if not self.closed:
            self.drop_reason = reason
        self.finish()
        self.scope.cancel()

    def finish(self) -> None:
        """Mark the socket gone and wake every waiter (they see no frame and raise `_Lost`)."""
        self.closed = True
        self.on_close(self)
        for waiter in self.waiters.values():
            waiter.done.set()
        self.waiters.clear()


class KiwoomSocket:
    """The real-time feed and condition searches over one authenticated WebSocket, kept alive."""

    def __init__(
        self, ws_url: str, tokens: TokenSource, clock: Clock, *, settings: WsSettings | None = None
    ) -> None:
        parts = urlsplit(ws_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"ws_url must be an absolute ws:// or wss:// URL, got {ws_url!r}")
        self._url = ws_url
        self._tokens = tokens
        self._clock = clock
        self._settings = settings or WsSettings()
        self._decoder = RealDecoder(clock)
        self._subs = Subscriptions(self._settings.max_items_per_reg)
        self._realtime: dict[str, Venue] = {}
        self._send, self._recv = anyio.create_memory_object_stream[FeedEvent](self._settings.event_buffer)
        self._reg_lock = anyio.Lock()
        self._cond_lock = anyio.Lock()
        self._up = anyio.Event()
        self._conn: _Conn | None = None
        self._stopped = False
        self._kicked = False
        self._ran = False
        self._last_cnsrreq = float("-inf")
        self._rng = Random(self._settings.seed)
        self.stats = WsStats()

    def __repr__(self) -> str:
        return f"KiwoomSocket(url={self._url!r}, up={self.connected}, stats={self.stats})"

    # ----------------------------------------------------------------- public surface

    def events(self) -> MemoryObjectReceiveStream[FeedEvent]:
        """The stream of decoded events and feed-state events (closed when `run` ends)."""
        return self._recv

    @property
    def connected(self) -> bool:
        """Whether a session is logged in and resynced right now."""
        return self._conn is not None and self._up.is_set() and not self._conn.closed

    def subscriptions(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """The desired REG groups: grp_no → (types, items)."""
        return self._subs.groups()

    def realtime_conditions(self) -> dict[str, Venue]:
        """The realtime condition searches restored after every reconnect: seq → venue."""
        return dict(self._realtime)

    async def subscribe(self, codes: Iterable[str], types: Iterable[str], grp_no: str | None = None) -> None:
        """Register `codes` × `types` (account/market-wide types with `codes=[]`); see module docstring."""
        with anyio.fail_after(self._settings.command_wait_s):
            async with self._reg_lock:
                await self._apply_regs(self._subs.plan_add(codes, types, grp_no))

    async def unsubscribe(
        self, codes: Iterable[str] = (), types: Iterable[str] | None = None, grp_no: str | None = None
    ) -> None:
        """REMOVE `codes` (every item when empty) from groups matching `types` and `grp_no`."""
        with anyio.fail_after(self._settings.command_wait_s):
            async with self._reg_lock:
                await self._apply_regs(self._subs.plan_remove(codes, types, grp_no))

    async def condition_list(self) -> tuple[ConditionInfo, ...]:
        """The saved condition searches (CNSRLST, ka10171)."""
        return await self._query("ka10171", self._cnsrlst)

    async def condition_search(self, seq: str, realtime: bool, venue: Venue = Venue.KRX) -> ConditionSnapshot:
        """Run a saved condition: one-shot (all pages) or realtime (snapshot now, then 02 pushes)."""
        seq = str(seq).strip()
        if not seq or len(seq) > 3:
            raise InvalidRequest(f"seq: expected a condition seq of 1-3 characters, got {seq!r}")

        async def run_on(conn: _Conn) -> ConditionSnapshot:
            snap = await self._cnsrreq(conn, seq, realtime, venue)
            if realtime:
                self._realtime[seq] = venue
            return snap

        return await self._query("ka10173" if realtime else "ka10172", run_on)

    async def condition_stop(self, seq: str) -> bool:
        """Stop a realtime condition (CNSRCLR); True if the broker acknowledged it in time."""
        seq = str(seq).strip()
        self._realtime.pop(seq, None)
        with anyio.move_on_after(self._settings.command_wait_s):
            async with self._cond_lock:
                conn = self._conn
                if conn is None or conn.closed:
                    return False
                try:
                    frame = await self._request(
                        conn, "CNSRCLR", cnsrclr_frame(seq), self._settings.clear_ack_timeout_s, seq
                    )
                except (_Lost, _NoReply):
                    log.info("condition_clear_unacknowledged", seq=seq)
                    return False
                if return_code(frame) != 0:
                    log.warning("condition_clear_refused", seq=seq, msg=return_msg(frame))
                    return False
                return True
        return False

    # ----------------------------------------------------------------- connection loop

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Own the connection until cancelled or kicked; `started()` once first logged in and resynced.

        A session that was up and ends emits `FeedDown(reason)` once; reconnecting then backs off
        (exponential, jittered) until a LOGIN succeeds and everything is resubscribed, which emits
        `FeedResynced`. Failures while already down are only logged and counted. R10001 emits
        `FeedDown("kicked")` (if up) and `SessionKickedEvent`, then returns without reconnecting.
        The event stream is closed when this returns.
        """
        if self._ran:
            raise RuntimeError("KiwoomSocket.run() may be called only once")
        self._ran = True
        started = ever_up = feed_up = False
        attempt = 0
        try:
            while True:
                kicked: str | None = None
                try:
                    conn = await self._open_and_login()
                except _ConnectFailed as exc:
                    reason = exc.reason
                    self.stats.connect_failures += 1
                    log.warning("ws_connect_failed", reason=reason, attempt=attempt + 1)
                except _Kicked as exc:
                    reason, kicked = "kicked", str(exc) or "R10001"
                else:
                    attempt = 0

                    def on_up() -> None:
                        nonlocal started
                        if not started:
                            started = True
                            task_status.started()

                    if await self._serve(conn, emit_resynced=ever_up, on_up=on_up):
                        ever_up = feed_up = True
                    reason, kicked = conn.drop_reason, conn.kick_message
                    if kicked is not None:
                        reason = "kicked"
                if feed_up:
                    feed_up = False
                    log.warning("ws_feed_down", reason=reason)
                    await self._emit(FeedDown(reason, self._clock.now()))
                if kicked is not None:
                    self._kicked = True
                    log.error("ws_session_kicked", message=kicked)
                    await self._emit(SessionKickedEvent(kicked, self._clock.now()))
                    return
                attempt += 1
                await anyio.sleep(self._backoff(attempt))
        finally:
            self._stopped = True
            self._up.set()
            self._send.close()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: base·2^(n-1), capped, times (1 ± jitter)."""
        s = self._settings
        delay = min(s.backoff_cap_s, s.backoff_base_s * 2.0 ** min(attempt - 1, 30))
        return max(0.0, delay * (1.0 + s.backoff_jitter * (2.0 * self._rng.random() - 1.0)))

    async def _open(self) -> ClientConnection:
        """Open the socket: no extra headers (no secrets in the handshake), library pings off."""
        s = self._settings
        try:
            return await connect(
                self._url,
                ping_interval=None,
                open_timeout=s.connect_timeout_s,
                close_timeout=s.close_timeout_s,
                max_size=s.max_frame_bytes,
                proxy=s.proxy,
                compression=None,
            )
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _ConnectFailed(f"connect_failed: {type(exc).__name__}") from None

    async def _open_and_login(self) -> _Conn:
        """Connect and LOGIN; a token refusal invalidates the token and retries (bounded)."""
        s = self._settings
        for attempt in range(1, s.login_attempts + 1):
            try:
                with anyio.fail_after(s.token_timeout_s):
                    token = await self._tokens.get()
            except Exception as exc:
                raise _ConnectFailed(f"token_unavailable: {type(exc).__name__}") from None
            ws = await self._open()
            conn = _Conn(ws, s.ack_timeout_s, self._on_conn_closed)
            try:
                refusal = await self._login(conn, token)
            except BaseException:
                await self._close(conn)
                raise
            if refusal is None:
                self.stats.sessions += 1
                log.info("ws_logged_in", url=self._url, session=self.stats.sessions)
                return conn
            await self._close(conn)
            self.stats.login_refusals += 1
            msg = return_msg(refusal)
            if not is_auth_refusal(refusal):
                raise _ConnectFailed(f"login_refused: {return_code(refusal)} {msg}")
            log.warning("ws_login_token_refused", attempt=attempt, msg=msg)
            try:
                with anyio.fail_after(s.token_timeout_s):
                    await self._tokens.invalidate(token)
            except Exception as exc:
                raise _ConnectFailed(f"token_invalidate_failed: {type(exc).__name__}") from None
        raise _ConnectFailed("login_refused: token refused")

    async def _login(self, conn: _Conn, token: str) -> dict[str, Any] | None:
        """Send LOGIN first, then wait for its ack answering PINGs; None on success, else the refusal."""
        try:
            await conn.send(login_frame(token))
            with anyio.fail_after(self._settings.login_timeout_s):
                while True:
                    raw = await conn.ws.recv()
                    self.stats.frames += 1
                    try:
                        frame = parse_frame(raw)
                    except ProtocolError as exc:
                        self._malformed_frame(exc)
                        continue
                    trnm = frame["trnm"]
                    if trnm == "PING" and isinstance(raw, str):
                        await conn.send(raw)
                        self.stats.pings_echoed += 1
                    elif trnm == "LOGIN":
                        return None if return_code(frame) == 0 else frame
                    elif trnm == "SYSTEM" and str(frame.get("code")) == "R10001":
                        raise _Kicked(return_msg(frame))
                    else:
                        log.debug("ws_frame_before_login_ack_skipped", trnm=trnm)
        except TimeoutError:
            raise _ConnectFailed("login_timeout") from None
        except (ConnectionClosed, _Lost):
            raise _ConnectFailed("dropped_during_login") from None
        except ProtocolError as exc:
            raise _ConnectFailed(f"bad_login_reply: {exc}") from None

    async def _close(self, conn: _Conn) -> None:
        """Close the socket politely, bounded, even while being cancelled."""
        conn.finish()
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._settings.close_timeout_s):
            await conn.ws.close()

    async def _serve(self, conn: _Conn, *, emit_resynced: bool, on_up: Callable[[], None]) -> bool:
        """Read frames and restore every subscription until the connection ends; True if it got up."""
        went_up = False
        try:
            with conn.scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._read_loop, conn)
                    self._conn = conn
                    if await self._resync(conn) and not conn.closed:
                        went_up = True
                        self._up.set()
                        on_up()
                        if emit_resynced:
                            self.stats.reconnects += 1
                            log.info("ws_feed_resynced", reconnects=self.stats.reconnects)
                            await self._emit(FeedResynced(self.stats.reconnects, self._clock.now()))
        finally:
            await self._close(conn)
        return went_up

    def _on_conn_closed(self, conn: _Conn) -> None:
        """The socket is gone: no command may use it, and waiters for "up" must wait again."""
        if self._conn is conn:
            self._conn = None
            if self._up.is_set() and not self._stopped:
                self._up = anyio.Event()

    async def _resync(self, conn: _Conn) -> bool:
        """Re-register every REG group, then (CNSRLST first) every realtime condition."""
        try:
            async with self._reg_lock:
                for req in self._subs.snapshot():
                    frame = await self._request(conn, req.trnm, reg_frame(req), self._settings.ack_timeout_s)
                    if return_code(frame) != 0:
                        log.error("ws_resubscribe_refused", grp_no=req.grp_no, msg=return_msg(frame))
                conn.regs_synced = True
            async with self._cond_lock:
                for seq, venue in list(self._realtime.items()):
                    try:
                        await self._emit(await self._cnsrreq(conn, seq, True, venue))
                    except (ServiceFailed, ProtocolError, OutcomeUnknown) as exc:
                        log.error("ws_condition_restore_failed", seq=seq, error=str(exc))
                conn.conditions_synced = True
            return True
        except _NoReply:
            conn.abort("ack_timeout")
        except _Lost:
            pass
        return False

    # ----------------------------------------------------------------- receive path

    async def _read_loop(self, conn: _Conn) -> None:
        """Receive until the socket ends or goes stale; PINGs are echoed before anything else."""
        stale_after = self._settings.stale_after_s
        try:
            while True:
                raw: str | bytes | None = None
                with anyio.move_on_after(stale_after):
                    raw = await conn.ws.recv()
                if raw is None:
                    conn.drop_reason = "stale"
                    log.warning("ws_feed_stale", seconds=stale_after)
                    break
                self.stats.frames += 1
                if not await self._on_frame(conn, raw):
                    break
        except ConnectionClosed as exc:
            conn.drop_reason = "dropped"
            log.warning("ws_connection_closed", code=exc.rcvd.code if exc.rcvd else None)
        except _Lost:
            conn.drop_reason = "dropped"
        conn.finish()
        conn.scope.cancel()

    async def _on_frame(self, conn: _Conn, raw: str | bytes) -> bool:
        """Handle one frame; False when the session must end (SYSTEM kick or heartbeat drop)."""
        try:
            frame = parse_frame(raw)
        except ProtocolError as exc:
            self._malformed_frame(exc)
            return True
        trnm = frame["trnm"]
        if trnm == "REAL":
            await self._on_real(frame)
        elif trnm == "PING" and isinstance(raw, str):
            await conn.send(raw)  # the exact text received, at once
            self.stats.pings_echoed += 1
        elif trnm in _REPLY_TRNMS:
            self._deliver(conn, trnm, frame)
        elif trnm == "SYSTEM":
            return self._on_system(conn, frame)
        elif trnm == "LOGIN":
            log.debug("ws_extra_login_reply_ignored", return_code=frame.get("return_code"))
        else:
            self._malformed_frame(ProtocolError(f"frame: unknown trnm {trnm!r}"))
        return True

    async def _on_real(self, frame: dict[str, Any]) -> None:
        batch = self._decoder.decode_frame(frame)
        for err in batch.errors:
            self.stats.malformed_entries += 1
            log.warning("ws_real_entry_skipped", error=str(err))
        if batch.unknown_types:
            self.stats.unknown_types += len(batch.unknown_types)
            log.debug("ws_real_type_ignored", types=sorted(set(batch.unknown_types)))
        for event in batch.events:
            await self._emit(event)

    def _on_system(self, conn: _Conn, frame: dict[str, Any]) -> bool:
        """SYSTEM frames are never echoed: R10001 → kicked, R10002 → heartbeat drop, others logged."""
        code = str(frame.get("code", ""))
        if code == "R10001":
            conn.kick_message = return_msg(frame) or "R10001"
            return False
        if code == "R10002":
            conn.drop_reason = "heartbeat"
            log.warning("ws_heartbeat_drop", message=return_msg(frame))
            return False
        log.warning("ws_system_message", code=code, message=return_msg(frame))
        return True

    def _deliver(self, conn: _Conn, trnm: str, frame: dict[str, Any]) -> None:
        """Hand a reply to the request waiting for it (acks carry no group: one in flight per trnm)."""
        waiter = conn.waiters.get(trnm)
        seq = str(frame.get("seq", "")).strip()
        if waiter is None or (waiter.seq is not None and seq and seq != waiter.seq):
            log.info("ws_unexpected_reply_ignored", trnm=trnm, seq=seq, return_code=frame.get("return_code"))
            return
        del conn.waiters[trnm]
        waiter.frame = frame
        waiter.done.set()

    def _malformed_frame(self, exc: ProtocolError) -> None:
        self.stats.malformed_frames += 1
        log.warning("ws_frame_skipped", error=str(exc))

    async def _emit(self, event: FeedEvent) -> None:
        """Lossless: wait for room in the stream (bounded by `event_send_timeout_s`)."""
        with anyio.fail_after(self._settings.event_send_timeout_s):
            await self._send.send(event)
        self.stats.events += 1

    # ----------------------------------------------------------------- requests

    async def _request(
        self, conn: _Conn, trnm: str, text: str, within_s: float, seq: str | None = None
    ) -> dict[str, Any]:
        """Send a control frame and wait for the reply with the same trnm (and seq)."""
        if conn.closed:
            raise _Lost
        if trnm in conn.waiters:
            raise RuntimeError(f"a {trnm} request is already in flight")  # the locks make this impossible
        waiter = _Waiter(seq, anyio.Event())
        conn.waiters[trnm] = waiter
        try:
            await conn.send(text)
            with anyio.move_on_after(within_s):
                await waiter.done.wait()
        finally:
            if conn.waiters.get(trnm) is waiter:
                del conn.waiters[trnm]
        if waiter.frame is None:
            raise _Lost if conn.closed else _NoReply
        return waiter.frame

    async def _apply_regs(self, plans: list[RegRequest]) -> None:
        """Send planned REG/REMOVEs one at a time (caller holds the REG lock); record what stands."""
        refused: list[str] = []
        for req in plans:
            conn = self._conn
            if conn is None or conn.closed or not conn.regs_synced:
                self._subs.apply(req)  # the next resync sends it
                continue
            try:
                frame = await self._request(conn, req.trnm, reg_frame(req), self._settings.ack_timeout_s)
            except _Lost:
                self._subs.apply(req)
                continue
            except _NoReply:
                self._subs.apply(req)
                conn.abort("ack_timeout")
                continue
            if return_code(frame) == 0 or req.trnm == "REMOVE":
                self._subs.apply(req)
                log.info(
                    "ws_registered", trnm=req.trnm, grp_no=req.grp_no, items=len(req.items), types=req.types
                )
            else:
                refused.append(f"grp_no {req.grp_no}: {return_msg(frame)}")
        if refused:
            raise ServiceFailed(f"REG refused: {'; '.join(refused)}", api_id="REG", return_code=1)

    async def _query(self, api_id: str, body: Callable[[_Conn], Awaitable[T]]) -> T:
        """Run `body(conn)` under the condition lock on a live session, retrying if the socket drops."""
        try:
            with anyio.fail_after(self._settings.command_wait_s):
                while True:
                    if self._stopped:
                        raise (
                            SessionKicked("session was kicked", api_id=api_id)
                            if self._kicked
                            else (BrokerUnreachable("websocket session is stopped", api_id=api_id))
                        )
                    conn = self._conn
                    if conn is None or conn.closed or not self._up.is_set():
                        await self._up.wait()
                        continue
                    async with self._cond_lock:
                        if conn is not self._conn or conn.closed:
                            continue
                        try:
                            return await body(conn)
                        except _Lost:
                            log.info("ws_query_retry_after_drop", api_id=api_id)
        except TimeoutError:
            raise BrokerUnreachable(
                f"websocket session not available within {self._settings.command_wait_s:g}s", api_id=api_id
            ) from None

    async def _cnsrlst(self, conn: _Conn) -> tuple[ConditionInfo, ...]:
        """CNSRLST on this connection (a prerequisite of CNSRREQ)."""
        frame = await self._reply(conn, "CNSRLST", cnsrlst_frame(), None, "ka10171")
        conn.listed = True
        return decode_condition_list(frame)

    async def _cnsrreq(self, conn: _Conn, seq: str, realtime: bool, venue: Venue) -> ConditionSnapshot:
        """CNSRREQ (after CNSRLST), paced; one-shot follows body paging to the last page."""
        if not conn.listed:
            await self._cnsrlst(conn)
        api_id = "ka10173" if realtime else "ka10172"
        stex_tp = VENUE_TO_CONDITION_STEX_TP[venue]
        codes: list[str] = []
        next_key = ""
        for _ in range(self._settings.max_condition_pages):
            await self._pace_cnsrreq()
            text = cnsrreq_frame(seq, realtime=realtime, stex_tp=stex_tp, next_key=next_key)
            page = decode_condition_page(
                await self._reply(conn, "CNSRREQ", text, seq, api_id), realtime=realtime
            )
            codes.extend(page.codes)
            if not page.more:
                log.info("ws_condition_searched", seq=seq, realtime=realtime, codes=len(codes))
                return ConditionSnapshot(seq, tuple(dict.fromkeys(codes)), self._clock.now())
            if not page.next_key:
                raise ProtocolError(f"CNSRREQ seq {seq}: cont_yn is Y but next_key is empty")
            next_key = page.next_key
        raise ProtocolError(f"CNSRREQ seq {seq}: more than {self._settings.max_condition_pages} pages")

    async def _reply(self, conn: _Conn, trnm: str, text: str, seq: str | None, api_id: str) -> dict[str, Any]:
        """A checked reply to a condition TR; no reply in time → OutcomeUnknown."""
        try:
            frame = await self._request(conn, trnm, text, self._settings.reply_timeout_s, seq)
        except _NoReply:
            raise OutcomeUnknown(
                f"no {trnm} reply within {self._settings.reply_timeout_s:g}s", api_id=api_id
            ) from None
        check_reply(frame, api_id)
        return frame

    async def _pace_cnsrreq(self) -> None:
        """Keep CNSRREQ frames at least `condition_pace_s` apart (a throttle, not synchronisation)."""
        wait = self._last_cnsrreq + self._settings.condition_pace_s - anyio.current_time()
        if wait > 0:
            await anyio.sleep(wait)
        self._last_cnsrreq = anyio.current_time()
