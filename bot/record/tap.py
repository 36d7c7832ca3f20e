"""`RecordTap`: what the Kiwoom client and the simulator call to record traffic (import-light)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class RecordTap(Protocol):
    """Synchronous, O(1), never raising: `SessionRecorder` satisfies it."""

    def ws(self, frame: str | bytes) -> None:
        """One inbound WebSocket text frame, exactly as received, best as its raw UTF-8 bytes (not PING)."""
        ...

    def rest(
        self,
        api_id: str,
        path: str,
        req: bytes | Mapping[str, Any] | None,
        status: int | None,
        latency_ms: float,
        cont_yn: str = "",
        next_key: str = "",
        resp: bytes | None = None,
        error: str | None = None,
    ) -> None:
        """One REST exchange: request body, HTTP status (None: no reply), latency, headers, reply body."""
        ...
