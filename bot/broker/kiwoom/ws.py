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
  `BrokerUnreachable` if it does not come; if the socket drops mid-query they run again on the next
  one; a reply that does not come raises `OutcomeUnknown`. A one-shot search is not restored.
- A REG/REMOVE ack that does not come (or is abandoned by a cancelled caller) ends the connection:
  acks are matched by order, so the resync on a fresh socket is the only safe way on.

Events go to one bounded, lossless stream: when the consumer lags, the reader waits (backpressure;
a consumer stalled for `event_send_timeout_s` fails the session). `run()` returns after a kick and
closes the stream. Pieces: `ws_conn` (one socket, reply routing), `ws_conditions` (condition TRs),
`ws_frames` (frames sent and replies read), `subscriptions` (REG groups), `codec` (REAL decoding).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from random import Random
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import anyio
import structlog
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from bot.broker.kiwoom.codec import (
    ConditionInfo,
    RealDecoder,
    RealEvent,
    parse_text_payload,
)
from bot.broker.kiwoom.subscriptions import RegRequest, Subscriptions
from bot.broker.kiwoom.ws_conditions import ConditionTrs
from bot.broker.kiwoom.ws_conn import ConnLost, NoReply, WsConn
from bot.broker.kiwoom.ws_frames import (
    cnsrclr_frame,
    is_auth_refusal,
    login_frame,
    reg_frame,
    return_code,
    return_msg,
)
from bot.broker.kiwoom.ws_settings import WsSettings, WsStats
from bot.clock import Clock
from bot.domain.market import ConditionSnapshot, FeedAuthFailed, FeedDown, FeedResynced, SessionKickedEvent
from bot.domain.values import Venue
from bot.errors import (
    BrokerUnreachable,
    InvalidRequest,
    OutcomeUnknown,
    ProtocolError,
    ServiceFailed,
    SessionKicked,
)
from bot.record.tap import RecordTap

log = structlog.get_logger(__name__)
T = TypeVar("T")

FeedEvent = RealEvent | ConditionSnapshot | FeedDown | FeedAuthFailed | FeedResynced | SessionKickedEvent

_REPLY_TRNMS = frozenset({"REG", "REMOVE", "CNSRLST", "CNSRREQ", "CNSRCLR"})


class TokenSource(Protocol):
    """Where the session gets its access token (`auth.TokenManager` satisfies it)."""

    async def get(self) -> str:
        """A token believed valid now."""
        ...

    async def invalidate(self, token: str) -> None:
        """Forget `token`: the broker refused it."""
        ...


_AUTH_FAILURES = ("token_unavailable", "token_invalidate_failed", "login_refused")


class _ConnectFailed(Exception):
    """The session could not be established; `reason` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Kicked(Exception):
    """SYSTEM R10001 arrived."""


class KiwoomSocket:
    """The real-time feed and condition searches over one authenticated WebSocket, kept alive."""

    def __init__(
        self,
        ws_url: str,
        tokens: TokenSource,
        clock: Clock,
        *,
        settings: WsSettings | None = None,
        recorder: RecordTap | None = None,
        deliver_to: MemoryObjectSendStream[FeedEvent] | None = None,
    ) -> None:
        """`deliver_to`: where decoded events go (the daemon passes its kernel's inbox: one hand-over
        less per tick); by default they queue on this socket's own stream, read with `events()`."""
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
        if deliver_to is not None:
            self._recv.close()
            self._send.close()
            self._send = deliver_to
        self._reg_lock = anyio.Lock()
        self._cond_lock = anyio.Lock()
        self._up = anyio.Event()
        self._conn: WsConn | None = None  # the socket in use (None while disconnected)
        self._stopped = False
        self._kicked = False
        self._ran = False
        self._conditions = ConditionTrs(self._settings, clock)
        self._rng = Random(self._settings.seed)
        self._recorder = recorder  # every inbound text frame but PING, as received ([record])
        self.stats = WsStats()

    def __repr__(self) -> str:
        return f"KiwoomSocket(url={self._url!r}, up={self.connected}, stats={self.stats})"

    # ----------------------------------------------------------------- public surface

    def events(self) -> MemoryObjectReceiveStream[FeedEvent]:
        """The stream of decoded events and feed-state events (closed when `run` ends; closed from the start
        when they go `deliver_to` another stream)."""
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
        async with self._holding(self._reg_lock, "REG"):
            await self._apply_regs(self._subs.plan_add(codes, types, grp_no))

    async def unsubscribe(
        self, codes: Iterable[str] = (), types: Iterable[str] | None = None, grp_no: str | None = None
    ) -> None:
        """REMOVE `codes` (every item when empty) from groups matching `types` and `grp_no`."""
        async with self._holding(self._reg_lock, "REMOVE"):
            await self._apply_regs(self._subs.plan_remove(codes, types, grp_no))

    async def condition_list(self) -> tuple[ConditionInfo, ...]:
        """The saved condition searches (CNSRLST, ka10171)."""
        return await self._query("ka10171", self._conditions.listing)

    async def condition_search(self, seq: str, realtime: bool, venue: Venue = Venue.KRX) -> ConditionSnapshot:
        """Run a saved condition: one-shot (all pages) or realtime (snapshot now, then 02 pushes)."""
        seq = str(seq).strip()
        if not seq or len(seq) > 3:
            raise InvalidRequest(f"seq: expected a condition seq of 1-3 characters, got {seq!r}")

        async def run_on(conn: WsConn) -> ConditionSnapshot:
            snap = await self._conditions.search(conn, seq, realtime, venue)
            if realtime:
                self._realtime[seq] = venue
            return snap

        return await self._query("ka10173" if realtime else "ka10172", run_on)

    async def condition_stop(self, seq: str) -> bool:
        """Stop a realtime condition (CNSRCLR); True if acknowledged in time, never blocks long (§13.4)."""
        seq = str(seq).strip()
        self._realtime.pop(seq, None)
        if self._conn is None:
            return False  # nothing is registered on the wire; the next resync leaves it out
        acquired = False
        with anyio.move_on_after(self._settings.command_wait_s):
            await self._cond_lock.acquire()
            acquired = True
        if not acquired:
            return False
        try:
            conn = self._conn
            if conn is None or conn.closed:
                return False
            frame = await conn.request("CNSRCLR", cnsrclr_frame(seq), self._settings.clear_ack_timeout_s, seq)
        except (ConnLost, NoReply):
            log.info("ws_condition_clear_unacknowledged", seq=seq)
            return False
        finally:
            self._cond_lock.release()
        if return_code(frame) != 0:
            log.warning("ws_condition_clear_refused", seq=seq, msg=return_msg(frame))
            return False
        return True

    # ----------------------------------------------------------------- connection loop

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Own the connection until cancelled or kicked; `started()` once first logged in and resynced.

        A session that was up and ends emits `FeedDown(reason)` once; reconnecting then backs off
        (exponential, jittered) until a LOGIN succeeds and everything is resubscribed, which emits
        `FeedResynced`. Failures while already down are only logged and counted, except a token or
        login refusal after the feed was up, which emits `FeedAuthFailed` once per outage. R10001 emits
        `FeedDown("kicked")` (if up) and `SessionKickedEvent`, then returns without reconnecting.
        The event stream is closed when this returns.
        """
        if self._ran:
            raise RuntimeError("KiwoomSocket.run() may be called only once")
        self._ran = True
        started = ever_up = feed_up = auth_reported = False
        attempt = 0
        lasted = 0.0

        def on_up() -> None:
            nonlocal started
            if not started:
                started = True
                task_status.started()

        try:
            while True:
                kicked: str | None = None
                try:
                    conn = await self._open_and_login()
                except _ConnectFailed as exc:
                    reason = exc.reason
                    self.stats.connect_failures += 1
                    log.warning("ws_connect_failed", reason=reason, attempt=attempt + 1)
                    if ever_up and not auth_reported and reason.startswith(_AUTH_FAILURES):
                        auth_reported = True
                        await self._emit(FeedAuthFailed(reason, attempt + 1, self._clock.now()))
                except _Kicked as exc:
                    reason, kicked = "kicked", str(exc) or "R10001"
                else:
                    attempt = 0
                    began = anyio.current_time()
                    if await self._serve(conn, emit_resynced=ever_up, on_up=on_up):
                        ever_up = feed_up = True
                        auth_reported = False
                    lasted = anyio.current_time() - began
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
                # A session that had been up a while and then dropped is retried at once (the feed is
                # blind until it is back); any further failure, or a session that dies young, backs off.
                steady = lasted >= self._settings.steady_after_s
                if not (attempt == 1 and steady and reason in ("dropped", "heartbeat", "stale")):
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

    async def _open_and_login(self) -> WsConn:
        """Connect and LOGIN; a token refusal invalidates the token and retries (bounded)."""
        s = self._settings
        for attempt in range(1, s.login_attempts + 1):
            try:
                with anyio.fail_after(s.token_timeout_s):
                    token = await self._tokens.get()
            except Exception as exc:
                raise _ConnectFailed(f"token_unavailable: {type(exc).__name__}") from None
            ws = await self._open()
            conn = WsConn(ws, s.ack_timeout_s, self._on_conn_closed)
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

    async def _login(self, conn: WsConn, token: str) -> dict[str, Any] | None:
        """Send LOGIN first, then wait for its ack answering PINGs; None on success, else the refusal."""
        try:
            await conn.send(login_frame(token))
            with anyio.fail_after(self._settings.login_timeout_s):
                while True:
                    raw = await conn.ws.recv(decode=False)  # bytes: the recorder takes them as they are
                    self.stats.frames += 1
                    try:
                        frame = parse_text_payload(raw)
                    except ProtocolError as exc:
                        self._record(raw)
                        self._malformed_frame(exc)
                        continue
                    trnm = frame["trnm"]
                    if trnm != "PING":
                        self._record(raw)
                    if trnm == "PING":
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
        except (ConnectionClosed, ConnLost):
            raise _ConnectFailed("dropped_during_login") from None
        except ProtocolError as exc:
            raise _ConnectFailed(f"bad_login_reply: {exc}") from None

    async def _close(self, conn: WsConn) -> None:
        """Close the socket politely, bounded, even while being cancelled."""
        conn.finish()
        with anyio.CancelScope(shield=True), anyio.move_on_after(self._settings.close_timeout_s):
            await conn.ws.close()

    async def _serve(self, conn: WsConn, *, emit_resynced: bool, on_up: Callable[[], None]) -> bool:
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

    def _on_conn_closed(self, conn: WsConn) -> None:
        """The socket is gone: no command may use it, and waiters for "up" must wait again."""
        if self._conn is conn:
            self._conn = None
            if self._up.is_set() and not self._stopped:
                self._up = anyio.Event()

    async def _resync(self, conn: WsConn) -> bool:
        """Re-register every REG group, then (CNSRLST first) every realtime condition."""
        try:
            async with self._holding(self._reg_lock, "REG"):
                for req in self._subs.snapshot():
                    frame = await conn.request(req.trnm, reg_frame(req), self._settings.ack_timeout_s)
                    if return_code(frame) != 0:
                        log.error("ws_resubscribe_refused", grp_no=req.grp_no, msg=return_msg(frame))
                conn.regs_synced = True
            async with self._holding(self._cond_lock, "CNSRREQ"):
                for seq, venue in list(self._realtime.items()):
                    try:
                        await self._emit(await self._conditions.search(conn, seq, True, venue))
                    except (ServiceFailed, ProtocolError, OutcomeUnknown) as exc:
                        log.error("ws_condition_restore_failed", seq=seq, error=str(exc))
            return True
        except NoReply:
            conn.abort("ack_timeout")
        except BrokerUnreachable:
            conn.abort("resync_blocked")  # a command held a lock for command_wait_s: start over
        except ConnLost:
            pass
        return False

    # ----------------------------------------------------------------- receive path

    async def _read_loop(self, conn: WsConn) -> None:
        """Receive until the socket ends or goes stale; PINGs are echoed before anything else."""
        stale_after = self._settings.stale_after_s
        try:
            while True:
                raw: bytes | None = None
                with anyio.move_on_after(stale_after):
                    raw = await conn.ws.recv(decode=False)  # bytes: the recorder takes them as they are
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
        except ConnLost:
            conn.drop_reason = "dropped"
        conn.finish()
        conn.scope.cancel()

    async def _on_frame(self, conn: WsConn, raw: bytes) -> bool:
        """Handle one frame; False when the session must end (SYSTEM kick or heartbeat drop)."""
        try:
            frame = parse_text_payload(raw)  # the bytes straight to the JSON parser
        except ProtocolError as exc:
            self._record(raw)
            self._malformed_frame(exc)
            return True
        trnm = frame["trnm"]
        if trnm != "PING" and self._recorder is not None:
            self._recorder.ws(raw)  # the bytes as received, before anything else is done with it
        if trnm == "REAL":
            await self._on_real(frame)
        elif trnm == "PING":
            await conn.send(raw)  # the exact payload received, at once, as a text frame
            self.stats.pings_echoed += 1
        elif trnm in _REPLY_TRNMS:
            conn.deliver(trnm, frame)
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

    def _on_system(self, conn: WsConn, frame: dict[str, Any]) -> bool:
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

    def _record(self, raw: bytes) -> None:
        """Record a frame that is UTF-8 text (anything else cannot be a text frame's payload)."""
        if self._recorder is not None:
            try:
                raw.decode()
            except UnicodeDecodeError:
                return
            self._recorder.ws(raw)

    def _malformed_frame(self, exc: ProtocolError) -> None:
        self.stats.malformed_frames += 1
        log.warning("ws_frame_skipped", error=str(exc))

    async def _emit(self, event: FeedEvent) -> None:
        """Lossless: wait for room in the stream (bounded by `event_send_timeout_s`)."""
        try:
            self._send.send_nowait(event)  # the common case, without a cancel scope per event
        except anyio.WouldBlock:
            with anyio.fail_after(self._settings.event_send_timeout_s):
                await self._send.send(event)
        self.stats.events += 1

    # ----------------------------------------------------------------- requests

    @asynccontextmanager
    async def _holding(self, lock: anyio.Lock, what: str) -> AsyncIterator[None]:
        """Hold `lock`, waiting at most `command_wait_s` for it; the work inside has its own timeouts."""
        try:
            with anyio.fail_after(self._settings.command_wait_s):
                await lock.acquire()
        except TimeoutError:
            raise BrokerUnreachable(
                f"{what}: websocket session busy for {self._settings.command_wait_s:g}s", api_id=what
            ) from None
        try:
            yield
        finally:
            lock.release()

    async def _apply_regs(self, plans: list[RegRequest]) -> None:
        """Send planned REG/REMOVEs one at a time (caller holds the REG lock); record what stands."""
        refused: list[str] = []
        for req in plans:
            conn = self._conn
            if conn is None or conn.closed or not conn.regs_synced:
                self._subs.apply(req)  # the resync of the next (or current) connection sends it
                continue
            try:
                frame = await conn.request(req.trnm, reg_frame(req), self._settings.ack_timeout_s)
            except ConnLost:
                self._subs.apply(req)
                continue
            except NoReply:
                self._subs.apply(req)
                conn.abort("ack_timeout")  # acks are matched by order: a lost one poisons the rest
                continue
            except BaseException:
                conn.abort("ack_abandoned")  # cancelled while waiting: same reason
                raise
            if return_code(frame) == 0 or req.trnm == "REMOVE":
                self._subs.apply(req)
                log.info(
                    "ws_registered", trnm=req.trnm, grp_no=req.grp_no, items=len(req.items), types=req.types
                )
            else:
                refused.append(f"grp_no {req.grp_no}: {return_msg(frame)}")
        if refused:
            raise ServiceFailed(f"REG refused: {'; '.join(refused)}", api_id="REG", return_code=1)

    async def _query(self, api_id: str, body: Callable[[WsConn], Awaitable[T]]) -> T:
        """Run `body(conn)` under the condition lock on a live session; retried if the socket drops.

        Only waiting (for a session, for the lock) is bounded by `command_wait_s`; the body's own
        replies have their timeouts, so a long paged search is not cut short.
        """
        deadline = anyio.current_time() + self._settings.command_wait_s
        while True:
            conn = await self._live_conn(api_id, deadline)
            acquired = False
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                await self._cond_lock.acquire()
                acquired = True
            if not acquired:
                raise BrokerUnreachable(
                    f"websocket session busy for {self._settings.command_wait_s:g}s", api_id=api_id
                )
            try:
                if conn is self._conn and not conn.closed:
                    return await body(conn)
            except ConnLost:
                log.info("ws_query_retry_after_drop", api_id=api_id)
            finally:
                self._cond_lock.release()

    async def _live_conn(self, api_id: str, deadline: float) -> WsConn:
        """The current connection once it is logged in and resynced, waiting until `deadline`."""
        while True:
            if self._stopped:
                if self._kicked:
                    raise SessionKicked("the session was kicked (R10001)", api_id=api_id)
                raise BrokerUnreachable("websocket session is stopped", api_id=api_id)
            conn = self._conn
            if conn is not None and not conn.closed and self._up.is_set():
                return conn
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())) as scope:
                await self._up.wait()
            if scope.cancelled_caught:
                raise BrokerUnreachable(
                    f"websocket session not up within {self._settings.command_wait_s:g}s", api_id=api_id
                )
