"""Where to reach Kiwoom: REST and WebSocket base URLs chosen by mode, overridable for the simulator.

Facts (kiwoom-protocol.md §1): real trading is https://api.kiwoom.com with the domestic WebSocket at
wss://api.kiwoom.com:10000/api/dostk/websocket; paper trading (모의투자) is the same on mockapi.kiwoom.com
and supports KRX only. Any Kiwoom-compatible server (the loopback simulator) can replace either URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Mode = Literal["live", "paper"]

_DEFAULTS: dict[str, tuple[str, str, bool]] = {
    "live": ("https://api.kiwoom.com", "wss://api.kiwoom.com:10000/api/dostk/websocket", False),
    "paper": ("https://mockapi.kiwoom.com", "wss://mockapi.kiwoom.com:10000/api/dostk/websocket", True),
}


@dataclass(frozen=True, slots=True)
class KiwoomEndpoints:
    """REST base URL (no trailing slash), WebSocket URL, and whether the server is the mock one."""

    rest_url: str
    ws_url: str
    is_mock: bool

    def __post_init__(self) -> None:
        _check_url("rest_url", self.rest_url, ("http", "https"))
        _check_url("ws_url", self.ws_url, ("ws", "wss"))
        if self.rest_url.endswith("/"):
            raise ValueError(f"rest_url must not end with '/', got {self.rest_url!r}")

    @property
    def rest_host(self) -> str:
        """`host:port` of the REST server; identifies which server a cached token belongs to."""
        parts = urlsplit(self.rest_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return f"{parts.hostname}:{port}"

    @classmethod
    def for_mode(
        cls,
        mode: str,
        *,
        rest_url: str | None = None,
        ws_url: str | None = None,
    ) -> KiwoomEndpoints:
        """The endpoints of `mode` ("live" or "paper"), with either URL replaced when given."""
        if mode not in _DEFAULTS:
            raise ValueError(f"mode must be one of {sorted(_DEFAULTS)}, got {mode!r}")
        default_rest, default_ws, is_mock = _DEFAULTS[mode]
        return cls(
            rest_url=(rest_url or default_rest).rstrip("/"),
            ws_url=ws_url or default_ws,
            is_mock=is_mock,
        )


def _check_url(name: str, url: str, schemes: tuple[str, ...]) -> None:
    """Raise ValueError naming `name` unless `url` is an absolute URL with one of `schemes`."""
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"{name} must be an absolute {'/'.join(schemes)} URL, got {url!r}")
