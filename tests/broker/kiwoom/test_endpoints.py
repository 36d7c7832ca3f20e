"""KiwoomEndpoints: base URLs by mode, overrides for any Kiwoom-compatible server."""

from __future__ import annotations

import dataclasses

import pytest

from bot.broker.kiwoom.endpoints import KiwoomEndpoints


def test_live_mode_uses_the_real_hosts() -> None:
    """Live mode points at api.kiwoom.com for REST and port 10000 for the domestic WebSocket."""
    ep = KiwoomEndpoints.for_mode("live")
    assert ep.rest_url == "https://api.kiwoom.com"
    assert ep.ws_url == "wss://api.kiwoom.com:10000/api/dostk/websocket"
    assert ep.is_mock is False
    assert ep.rest_host == "api.kiwoom.com:443"


def test_paper_mode_uses_the_mock_hosts() -> None:
    """Paper mode points at mockapi.kiwoom.com and is flagged as the mock server."""
    ep = KiwoomEndpoints.for_mode("paper")
    assert ep.rest_url == "https://mockapi.kiwoom.com"
    assert ep.ws_url == "wss://mockapi.kiwoom.com:10000/api/dostk/websocket"
    assert ep.is_mock is True


def test_overrides_replace_the_urls_and_keep_the_mode_flag() -> None:
    """Overrides (e.g. the loopback simulator) replace both URLs; a trailing slash is dropped."""
    ep = KiwoomEndpoints.for_mode(
        "paper", rest_url="http://127.0.0.1:5555/", ws_url="ws://127.0.0.1:5555/api/dostk/websocket"
    )
    assert ep.rest_url == "http://127.0.0.1:5555"
    assert ep.ws_url == "ws://127.0.0.1:5555/api/dostk/websocket"
    assert ep.is_mock is True
    assert ep.rest_host == "127.0.0.1:5555"


def test_only_rest_override_keeps_default_ws() -> None:
    """Overriding one URL leaves the other at the mode's default."""
    ep = KiwoomEndpoints.for_mode("live", rest_url="http://127.0.0.1:1")
    assert ep.rest_url == "http://127.0.0.1:1"
    assert ep.ws_url == "wss://api.kiwoom.com:10000/api/dostk/websocket"


def test_unknown_mode_is_refused_by_name() -> None:
    """A mode other than live/paper raises ValueError naming the mode."""
    with pytest.raises(ValueError, match="'demo'"):
        KiwoomEndpoints.for_mode("demo")


@pytest.mark.parametrize(
    ("rest_url", "ws_url", "field"),
    [
        ("ftp://x", "wss://x", "rest_url"),
        ("https://x", "https://x", "ws_url"),
        ("api.kiwoom.com", "wss://x", "rest_url"),
    ],
)
def test_bad_urls_are_refused(rest_url: str, ws_url: str, field: str) -> None:
    """A URL with the wrong scheme or no host is refused, naming the field."""
    with pytest.raises(ValueError, match=field):
        KiwoomEndpoints(rest_url=rest_url, ws_url=ws_url, is_mock=False)


def test_endpoints_are_frozen() -> None:
    """Endpoints cannot be changed after construction."""
    ep = KiwoomEndpoints.for_mode("live")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.rest_url = "http://evil"  # type: ignore[misc]
