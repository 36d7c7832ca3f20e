"""One live Kiwoom WebSocket and its request/reply plumbing (used by `ws.KiwoomSocket` only).

Kiwoom's control replies carry no request id: REG/REMOVE acks have no group (§13.5), condition
replies only a seq. So at most one request per `trnm` is in flight on a connection (the session's
locks guarantee it) and a reply goes to the waiter registered for its `trnm` (and seq, if any).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

log = structlog.get_logger(__name__)


class ConnLost(Exception):
    """The connection went away before the reply came (or before the frame could be sent)."""


class NoReply(Exception):
    """The reply did not come in time."""


@dataclass(slots=True)
class _Waiter:
    """One outstanding request awaiting its reply frame."""

    seq: str | None
    done: anyio.Event
    frame: dict[str, Any] | None = None


class WsConn:
    """A logged-in socket: serialized sends, reply routing, and what has been restored on it."""

    def __init__(
        self, ws: ClientConnection, send_timeout_s: float, on_close: Callable[[WsConn], None]
    ) -> None:
        self.ws = ws
        self._send_timeout_s = send_timeout_s
        self._on_close = on_close
        self._send_lock = anyio.Lock()
        self._waiters: dict[str, _Waiter] = {}
        self.scope = anyio.CancelScope()  # cancels the reader and the resync of this connection
        self.regs_synced = False
        self.listed = False  # CNSRLST done on this connection (CNSRREQ needs it first, §8)
        self.closed = False
        self.drop_reason = "dropped"
        self.kick_message: str | None = None

    async def send(self, text: str | bytes) -> None:
        """Send one text frame (bytes: UTF-8 sent as is); a closed or stuck socket raises `ConnLost`."""
        try:
            with anyio.fail_after(self._send_timeout_s):
                async with self._send_lock:
                    await self.ws.send(text, text=True)
        except (ConnectionClosed, TimeoutError):
            raise ConnLost from None

    async def request(self, trnm: str, text: str, within_s: float, seq: str | None = None) -> dict[str, Any]:
        """Send a control frame and wait up to `within_s` for the reply with the same trnm (and seq)."""
        if self.closed:
            raise ConnLost
        if trnm in self._waiters:
            raise RuntimeError(f"a {trnm} request is already in flight")  # the session's locks prevent it
        waiter = _Waiter(seq, anyio.Event())
        self._waiters[trnm] = waiter
        try:
            await self.send(text)
            with anyio.move_on_after(within_s):
                await waiter.done.wait()
        finally:
            if self._waiters.get(trnm) is waiter:
                del self._waiters[trnm]
        if waiter.frame is None:
            raise ConnLost if self.closed else NoReply
        return waiter.frame

    def deliver(self, trnm: str, frame: dict[str, Any]) -> None:
        """Hand a reply to its waiter; a reply nobody waits for (late, or unsolicited) is logged."""
        waiter = self._waiters.get(trnm)
        seq = str(frame.get("seq", "")).strip()
        if waiter is None or (waiter.seq is not None and seq and seq != waiter.seq):
            log.info("ws_unexpected_reply_ignored", trnm=trnm, seq=seq, return_code=frame.get("return_code"))
            return
        del self._waiters[trnm]
        waiter.frame = frame
        waiter.done.set()

    def abort(self, reason: str) -> None:
        """End this connection now (e.g. an ack never came, so ack order can no longer be trusted)."""
        if not self.closed:
            self.drop_reason = reason
            log.warning("ws_connection_aborted", reason=reason)
        self.finish()
        self.scope.cancel()

    def finish(self) -> None:
        """Mark the socket gone and wake every waiter (they find no frame and raise `ConnLost`)."""
        if not self.closed:
            self.closed = True
            self._on_close(self)
        for waiter in self._waiters.values():
            waiter.done.set()
        self._waiters.clear()
