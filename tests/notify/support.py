"""Loopback stand-ins for Slack (a tiny threaded HTTP server) and SMTP (aiosmtpd), plus events."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import anyio
from aiosmtpd.controller import Controller

from bot.clock import KST
from bot.domain.orders import OrderFilled
from bot.domain.values import Side

NAMES = {"005930": "삼성전자", "000660": "SK하이닉스"}
T0 = datetime(2026, 11, 20, 10, 15, 3, tzinfo=KST)


def name_of(code: str) -> str:
    """Korean names as the broker gives them."""
    return NAMES.get(code, code)


def fill(i: int = 0, *, code: str = "005930", price: int = 1234, qty: int = 10) -> OrderFilled:
    """A buy fill of `qty` at `price`."""
    return OrderFilled(
        intent_id=f"i{i}",
        strategy="orb",
        order_no=f"{1000 + i}",
        fill_no=f"{i}",
        code=code,
        side=Side.BUY,
        qty=qty,
        price=price,
        fee=0,
        tax=0,
        cum_qty=qty,
        remaining_qty=0,
        time=T0,
    )


async def wait_until(cond: Callable[[], bool], limit_s: float = 5.0) -> None:
    """Poll `cond` every few ms until true, failing after `limit_s`."""
    with anyio.fail_after(limit_s):
        while not cond():  # noqa: ASYNC110 - polling plain counters; the brief allows it under a deadline
            await anyio.sleep(0.005)


@dataclass
class FakeSlack:
    """What the loopback Slack received, and how it answers: 'ok', '500' or 'hang'."""

    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def webhook_url(self) -> str:
        """A webhook URL shaped like Slack's, on this server."""
        return f"http://127.0.0.1:{self.port}/services/T000/B000/secretpart123"

    @property
    def api_url(self) -> str:
        """A Web API base URL on this server."""
        return f"http://127.0.0.1:{self.port}/api/"

    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies received so far."""
        with self.lock:
            return [r["body"] for r in self.requests]


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    """A Slack stand-in on 127.0.0.1 and a free port, serving from a thread."""
    state = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw)
            else:
                body = {k: v[0] for k, v in parse_qs(raw).items()}
            with state.lock:
                state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if state.mode == "hang":
                state.release.wait(10)
                return
            if state.mode == "500":
                self._answer(500, b"internal_error", "text/plain")
            elif self.path.startswith("/api/"):
                self._answer(200, b'{"ok": true, "channel": "C1", "ts": "1.1"}', "application/json")
            else:
                self._answer(200, b"ok", "text/plain")

        def _answer(self, status: int, payload: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


class _LoopbackController(Controller):
    """aiosmtpd's Controller bound to port 0: learns the real port before its readiness probe."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Inbox:
    """Messages the loopback SMTP server accepted."""

    envelopes: list[Any] = field(default_factory=list)
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


@contextmanager
def smtp_server(
    *, login: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None
) -> Iterator[Inbox]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; `login` requires AUTH, `tls` requires STARTTLS."""
    from aiosmtpd.smtp import AuthResult, LoginPassword

    inbox = Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and login is not None
        if ok:
            inbox.logins.append((data.login, data.password))
            ok = (data.login.decode(), data.password.decode()) == login
        return AuthResult(success=ok)

    extra: dict[str, Any] = (
        {"authenticator": authenticator, "auth_required": True, "auth_require_tls": tls is not None}
        if login
        else {}
    )
    if tls is not None:
        extra |= {"tls_context": tls, "require_starttls": True}
    controller = _LoopbackController(inbox, hostname="127.0.0.1", port=0, **extra)
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()
