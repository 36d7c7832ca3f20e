"""A loopback stand-in for Slack: the Web API (apps.connections.open, chat.postMessage) on a real
HTTP server (starlette + uvicorn), and Socket Mode on a real WebSocket server (websockets), both on
127.0.0.1 and a free port. It sends `hello` on connect, then whatever `events_api` envelopes a test
asks for, and records acks, replies and connections."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qs

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

APP_TOKEN = "xapp-1-A0TEST-1234-standinapptoken"
BOT_TOKEN = "xoxb-1234-5678-standinbottoken"
CHANNEL = "C0CONTROL1"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers (it runs inside the test's process)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass
class SlackStandIn:
    """What the stand-in received, and the handles a test uses to talk through it."""

    http_port: int = 0
    ws_port: int = 0
    opens: list[str] = field(default_factory=list)  # Authorization header of each apps.connections.open
    posts: list[dict[str, Any]] = field(default_factory=list)  # chat.postMessage bodies (+ "auth")
    acks: list[str] = field(default_factory=list)  # envelope ids acked by the client
    connections: int = 0
    _current: ServerConnection | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        """Web API base URL for `WebClient(base_url=...)`."""
        return f"http://127.0.0.1:{self.http_port}/api/"

    @property
    def connected(self) -> bool:
        """Whether a client holds a Socket Mode connection now."""
        return self._current is not None

    def texts(self) -> list[str]:
        """The text of every reply posted so far."""
        return [str(p.get("text", "")) for p in self.posts]

    async def message(self, user: str, text: str, *, channel: str = CHANNEL, **event: Any) -> dict[str, str]:
        """Deliver a `message` event typed by `user`; returns its envelope id and ts."""
        n = next(self._ids)
        ts = f"1763600000.{n:06d}"
        envelope = {
            "envelope_id": f"env-{n}",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": {
                "token": "verification-unused",
                "team_id": "T0TEAM",
                "api_app_id": "A0TEST",
                "type": "event_callback",
                "event_id": f"Ev{n:08d}",
                "event_time": 1763600000 + n,
                "event": {
                    "type": "message",
                    "channel": channel,
                    "user": user,
                    "text": text,
                    "ts": ts,
                    "event_ts": ts,
                    "channel_type": "channel",
                    **event,
                },
            },
        }
        await self.send(envelope)
        return {"envelope_id": str(envelope["envelope_id"]), "ts": ts}

    async def send(self, envelope: dict[str, Any]) -> None:
        """Send one frame to the connected client."""
        assert self._current is not None, "no Socket Mode client connected"
        await self._current.send(json.dumps(envelope))

    def drop(self) -> None:
        """Cut the TCP connection without a close frame (a network failure)."""
        assert self._current is not None
        self._current.transport.abort()

    # --- servers ----------------------------------------------------------------------------------------
    async def _open(self, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        self.opens.append(auth)
        if auth != f"Bearer {APP_TOKEN}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        url = f"ws://127.0.0.1:{self.ws_port}/link/?ticket=t{len(self.opens)}&app_id=A0TEST"
        return JSONResponse({"ok": True, "url": url})

    async def _post(self, request: Request) -> JSONResponse:
        raw = (await request.body()).decode()
        if request.headers.get("content-type", "").startswith("application/json"):
            body: dict[str, Any] = json.loads(raw)
        else:
            body = {k: v[0] for k, v in parse_qs(raw).items()}
        body["auth"] = request.headers.get("authorization", "")
        self.posts.append(body)
        if body["auth"] != f"Bearer {BOT_TOKEN}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        return JSONResponse(
            {"ok": True, "channel": body.get("channel"), "ts": f"1763700000.{len(self.posts):06d}"}
        )

    async def _socket(self, conn: ServerConnection) -> None:
        self.connections += 1
        self._current = conn
        try:
            hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0TEST"}}
            await conn.send(json.dumps(hello))
            async for frame in conn:
                data = json.loads(frame)
                if isinstance(data, dict) and "envelope_id" in data:
                    self.acks.append(str(data["envelope_id"]))
        except ConnectionClosed:
            pass  # dropped on purpose, or the client went away
        finally:
            if self._current is conn:
                self._current = None


@asynccontextmanager
async def slack_standin() -> AsyncIterator[SlackStandIn]:
    """Run the stand-in for the block's duration."""
    standin = SlackStandIn()
    app = Starlette(
        routes=[
            Route("/api/apps.connections.open", standin._open, methods=["POST"]),
            Route("/api/chat.postMessage", standin._post, methods=["POST"]),
        ]
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    standin.http_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        log_level="warning",
    )
    server = _EmbeddedServer(config)
    try:
        async with serve(standin._socket, "127.0.0.1", 0, ping_interval=None) as ws_server:
            standin.ws_port = next(iter(ws_server.sockets)).getsockname()[1]
            async with anyio.create_task_group() as tg:
                tg.start_soon(partial(server.serve, sockets=[sock]))
                with anyio.fail_after(10):
                    while not server.started:  # noqa: ASYNC110 - uvicorn exposes no readiness event
                        await anyio.sleep(0.005)
                try:
                    yield standin
                finally:
                    server.should_exit = True
                    ws_server.close(close_connections=True)
    finally:
        sock.close()
