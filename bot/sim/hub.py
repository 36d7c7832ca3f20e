"""Live WebSocket sessions: their registrations, outboxes and the fan-out of REAL entries.

Everything here is synchronous so the market step can push without awaiting: each session owns a
bounded outbox drained by its own writer task (see `ws.py`). A session whose outbox overflows is
closed, as a real server drops a client that cannot keep up.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bot.sim.stats import SimStats

log = structlog.get_logger(__name__)

OUTBOX_SIZE = 5_000
ENTRIES_PER_FRAME = 20
ACCOUNT_TYPES = frozenset({"00", "04"})
MARKET_WIDE_TYPES = frozenset({"1h", "0s"})


@dataclass(frozen=True, slots=True)
class CloseSocket:
    """Outbox marker: close the socket with `code` after everything queued before it."""

    code: int = 1000
    reason: str = ""


Outgoing = str | bytes | CloseSocket


def dumps(obj: Any) -> str:
    """JSON as Kiwoom sends it: UTF-8 text, Korean unescaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class WsSession:
    """One connected WebSocket client as the server sees it."""

    def __init__(self, number: int, stats: SimStats) -> None:
        self.number = number
        self._stats = stats
        send, receive = anyio.create_memory_object_stream[Outgoing](OUTBOX_SIZE)
        self._send: MemoryObjectSendStream[Outgoing] = send
        self.outbox: MemoryObjectReceiveStream[Outgoing] = receive
        self.appkey: str | None = None
        self.logged_in = False
        self.closed = False
        self.listed_conditions = False
        self.realtime_conditions: set[str] = set()
        self.unanswered_pings = 0
        self._groups: dict[str, set[tuple[str, str]]] = {}
        self._by_type: dict[str, set[str]] = {}

    # -- sending ---------------------------------------------------------------------------------
    def send_text(self, text: str | bytes) -> None:
        """Queue one frame; an overflowing outbox closes the session (slow consumer)."""
        if self.closed:
            return
        try:
            self._send.send_nowait(text)
        except anyio.WouldBlock:
            log.warning("ws_session_overflow_closed", session=self.number)
            self.close(1008, "outbox overflow")
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            self.closed = True

    def send_json(self, obj: Any) -> None:
        """Queue one JSON frame."""
        self.send_text(dumps(obj))

    def close(self, code: int = 1000, reason: str = "", system: dict[str, str] | None = None) -> None:
        """Queue an optional SYSTEM frame, then close the socket; later sends are ignored."""
        if self.closed:
            return
        if system is not None:
            self.send_json(system)
        self.closed = True
        try:
            self._send.send_nowait(CloseSocket(code, reason))
        except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
            self._send.close()

    def send_real(self, entries: list[dict[str, Any]]) -> None:
        """Queue REAL frames carrying `entries`, several per frame (protocol §7.3)."""
        for i in range(0, len(entries), ENTRIES_PER_FRAME):
            chunk = entries[i : i + ENTRIES_PER_FRAME]
            self.send_json({"trnm": "REAL", "data": chunk})
            self._stats.real_entries_sent += len(chunk)

    # -- registrations ---------------------------------------------------------------------------
    def register(self, grp_no: str, items: Iterable[str], types: Iterable[str], refresh: bool) -> None:
        """REG: add (item, type) pairs to a group; refresh=False drops the group's old pairs first."""
        pairs = {(item, type_) for item in items for type_ in types}
        if not refresh:
            self._groups[grp_no] = set()
        self._groups.setdefault(grp_no, set()).update(pairs)
        self._reindex()

    def unregister(self, grp_no: str, items: Iterable[str], types: Iterable[str]) -> None:
        """REMOVE: drop (item, type) pairs from a group."""
        group = self._groups.get(grp_no)
        if group is None:
            return
        group.difference_update({(item, type_) for item in items for type_ in types})
        self._reindex()

    def _reindex(self) -> None:
        by_type: dict[str, set[str]] = {}
        for pairs in self._groups.values():
            for item, type_ in pairs:
                by_type.setdefault(type_, set()).add(item)
        self._by_type = by_type

    def registered(self) -> dict[str, list[str]]:
        """Registered items by type (for /_sim/state and tests)."""
        return {type_: sorted(items) for type_, items in self._by_type.items()}

    def wants(self, type_: str, item: str) -> bool:
        """Whether a REAL entry of `type_` for `item` goes to this session."""
        items = self._by_type.get(type_)
        if not items or not self.logged_in:
            return False
        if type_ in ACCOUNT_TYPES:
            return True
        if type_ in MARKET_WIDE_TYPES and "" in items:
            return True
        return item in items


class Hub:
    """Every live session; fans REAL entries out to those registered for them."""

    def __init__(self, stats: SimStats) -> None:
        self._stats = stats
        self._sessions: list[WsSession] = []
        self._counter = 0

    def open(self) -> WsSession:
        """A new session for a freshly accepted socket."""
        self._counter += 1
        session = WsSession(self._counter, self._stats)
        self._sessions.append(session)
        self._stats.sessions = len(self._sessions)
        self._stats.connections += 1
        return session

    def discard(self, session: WsSession) -> None:
        """Forget a session whose socket is gone."""
        if session in self._sessions:
            self._sessions.remove(session)
        self._stats.sessions = len(self._sessions)

    @property
    def sessions(self) -> tuple[WsSession, ...]:
        """Live sessions, oldest first."""
        return tuple(self._sessions)

    def wanted(self, type_: str, item: str) -> bool:
        """Whether any session wants this entry (lets callers skip building values)."""
        return any(s.wants(type_, item) for s in self._sessions)

    def publish(self, entries: list[dict[str, Any]]) -> None:
        """Send each session the entries it registered for, batched into REAL frames."""
        if not entries:
            return
        for session in self._sessions:
            if session.closed:
                continue
            mine = [e for e in entries if session.wants(e["type"], e["item"])]
            if mine:
                session.send_real(mine)

    def publish_conditions(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Send 02 entries (keyed by condition seq) to sessions running that condition in realtime."""
        for session in self._sessions:
            if session.closed or not session.logged_in:
                continue
            mine = [e for seq, e in entries if seq in session.realtime_conditions]
            if mine:
                session.send_real(mine)

    def close_all(self, code: int = 1001, system: dict[str, str] | None = None) -> None:
        """Close every session, optionally after a SYSTEM frame."""
        for session in self._sessions:
            session.close(code, "", system)

    def kick_appkey(self, appkey: str, keep: WsSession) -> int:
        """SYSTEM R10001 to every other logged-in session of `appkey`, then close them."""
        kicked = 0
        for session in self._sessions:
            if session is not keep and session.logged_in and session.appkey == appkey and not session.closed:
                session.close(1000, "", SYSTEM_R10001)
                kicked += 1
        return kicked


SYSTEM_R10001 = {
    "trnm": "SYSTEM",
    "code": "R10001",
    "message": "동일한 App key로 접속이 되었습니다. 기존 세션은 종료가 됩니다",
}
SYSTEM_R10002 = {
    "trnm": "SYSTEM",
    "code": "R10002",
    "message": "사용자 프로그램으로부터 Heartbeat(연결유지) 메시지가 오지않아서 접속을 종료합니다",
}
