"""Sessions for replay tests: the simulator recording what it serves, in the recording format.

Until the daemon's recorder (`bot.record`) lands, a session is produced here by wrapping the
simulator's ASGI app: every WebSocket text frame it sends (PING excluded) and every REST exchange
it serves becomes a record stamped with the shared clock — the format of record-format.md.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.sim import Simulator

_SECRET_FIELDS = ("appkey", "secretkey", "token")


def wall(when: datetime) -> str:
    """ISO-8601 KST with microseconds, as in the format."""
    return when.isoformat(timespec="microseconds")


def meta(when: datetime, source: str = "simulator", mode: str = "dry-run") -> dict[str, Any]:
    """The first record of a recording."""
    return {"k": "meta", "v": 1, "wall": wall(when), "mono": time.monotonic(), "source": source, "mode": mode,
            "trading_day": when.date().isoformat(), "config": ""}  # fmt: skip


def _masked(body: Any, api_id: str) -> Any:
    if api_id in ("au10001", "au10002") and isinstance(body, dict):
        return {k: ("***" if k in _SECRET_FIELDS else v) for k, v in body.items()}
    return body


class RecordingApp:
    """ASGI middleware: records the frames and REST exchanges the wrapped app serves."""

    def __init__(self, app: Any, clock: Clock, records: list[dict[str, Any]]) -> None:
        self.app, self.clock, self.records = app, clock, records

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, receive, self._ws_send(send))
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _ws_send(self, send: Any) -> Any:
        async def tapped(message: dict[str, Any]) -> None:
            text = message.get("text") if message["type"] == "websocket.send" else None
            if text is not None and '"PING"' not in text:
                self.records.append({"k": "ws", "wall": wall(self.clock.now()), "mono": time.monotonic(),
                                     "frame": text})  # fmt: skip
            await send(message)

        return tapped

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request: list[bytes] = []
        response: list[bytes] = []
        status: list[int] = []
        headers: dict[str, str] = {}
        asked = time.monotonic()

        async def rx() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                request.append(message.get("body", b""))
            return message

        async def tx(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                headers.update({k.decode().lower(): v.decode() for k, v in message.get("headers", [])})
            elif message["type"] == "http.response.body":
                response.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._rest(scope, b"".join(request), status[0], headers, b"".join(response), asked)
            await send(message)

        await self.app(scope, rx, tx)

    def _rest(self, scope: dict[str, Any], req: bytes, status: int, headers: dict[str, str], resp: bytes,
              asked: float) -> None:  # fmt: skip
        if scope["path"].startswith("/_sim"):
            return
        api_id = dict((k.decode().lower(), v.decode()) for k, v in scope["headers"]).get("api-id", "")
        try:
            req_body, resp_body = json.loads(req or b"{}"), json.loads(resp or b"null")
        except ValueError:
            req_body, resp_body = None, None
        now = time.monotonic()
        self.records.append({
            "k": "rest", "wall": wall(self.clock.now()), "mono": now, "api_id": api_id, "path": scope["path"],
            "req": _masked(req_body, api_id), "status": status, "latency_ms": round((now - asked) * 1000, 2),
            "headers": {k: headers[k] for k in ("cont-yn", "next-key") if k in headers},
            "resp": _masked(resp_body, api_id),
        })  # fmt: skip


class RecordingSimulator(Simulator):
    """The simulator, recording its own output (`records`, starting with the meta record)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[dict[str, Any]] = [meta(self.clock.now())]

    def app(self) -> Any:
        """The simulator's app behind the recording middleware."""
        return RecordingApp(super().app(), self.clock, self.records)


def write_recording(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write records as a gzip JSON-lines recording."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path
