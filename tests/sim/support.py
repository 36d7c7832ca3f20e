"""Helpers for the simulator's own tests: a raw httpx/websockets peer (never `bot.broker`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import anyio
import httpx
from websockets.asyncio.client import ClientConnection

from bot.clock import ManualClock, kst
from bot.sim import SIM_APPKEY, SIM_SECRETKEY, SimEndpoints, Simulator

SimFactory = Callable[..., AbstractAsyncContextManager[tuple[Simulator, SimEndpoints]]]
OPEN = kst(2026, 11, 20, 9, 0)
CREDENTIALS = {"grant_type": "client_credentials", "appkey": SIM_APPKEY, "secretkey": SIM_SECRETKEY}
PATHS = {
    "ka00001": "/api/dostk/acnt", "kt00001": "/api/dostk/acnt", "kt00018": "/api/dostk/acnt",
    "ka10075": "/api/dostk/acnt", "ka10076": "/api/dostk/acnt", "ka10001": "/api/dostk/stkinfo",
    "ka10004": "/api/dostk/mrkcond", "kt10000": "/api/dostk/ordr", "kt10001": "/api/dostk/ordr",
    "kt10002": "/api/dostk/ordr", "kt10003": "/api/dostk/ordr",
}  # fmt: skip


async def issue_token(client: httpx.AsyncClient) -> str:
    """A token from au10001 with the simulator's credentials."""
    reply = await client.post("/oauth2/token", json=CREDENTIALS, headers={"api-id": "au10001"})
    body = reply.json()
    assert body["return_code"] == 0, body
    return str(body["token"])


async def call(
    client: httpx.AsyncClient,
    token: str,
    api_id: str,
    body: dict[str, str],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST one TR the way Kiwoom wants it (lower-case headers, string body values)."""
    all_headers = {"api-id": api_id, "authorization": f"Bearer {token}", **(headers or {})}
    return await client.post(PATHS[api_id], json=body, headers=all_headers)


async def advance(sim: Simulator, clock: ManualClock, seconds: float) -> None:
    """Move the manual clock and wait until the market loop has stepped up to the new time."""
    target = clock.now() + timedelta(seconds=seconds)
    clock.set(target)
    step = timedelta(seconds=sim.settings.market_step_s)
    await wait_for(lambda: sim.market.now + step > target, 5)


async def recv(ws: ClientConnection, *, limit_s: float = 3.0, echo: bool = True) -> dict[str, Any]:
    """The next non-PING frame as JSON (PINGs are echoed unchanged on the way, §13.3)."""
    with anyio.fail_after(limit_s):
        while True:
            raw = await ws.recv()
            frame = json.loads(raw)
            if isinstance(frame, dict) and frame.get("trnm") == "PING":
                if echo:
                    await ws.send(raw)
                continue
            assert isinstance(frame, dict), frame
            return frame


async def recv_until(
    ws: ClientConnection, predicate: Callable[[dict[str, Any]], bool], limit_s: float = 3.0
) -> dict[str, Any]:
    """The first non-PING frame matching `predicate`, skipping others."""
    with anyio.fail_after(limit_s):
        while True:
            frame = await recv(ws, limit_s=limit_s)
            if predicate(frame):
                return frame


async def login(ws: ClientConnection, token: str) -> dict[str, Any]:
    """Send LOGIN and return its ack (PINGs before it are echoed)."""
    await ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
    return await recv_until(ws, lambda f: f.get("trnm") == "LOGIN")


def real_entries(frame: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    """The entries of a REAL frame with the given type."""
    if frame.get("trnm") != "REAL":
        return []
    return [e for e in frame["data"] if e["type"] == type_]


async def wait_for(predicate: Callable[[], bool], limit_s: float = 3.0) -> None:
    """Poll a condition every few ms until it holds (or fail after `timeout`)."""
    with anyio.fail_after(limit_s):
        while not predicate():  # noqa: ASYNC110 - polling a plain attribute; the brief allows it under a deadline
            await anyio.sleep(0.002)
