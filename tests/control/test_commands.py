"""Pure parts of Slack control: command words, which envelopes count, socket URL policy, flatten expiry."""

from __future__ import annotations

from typing import Any

import pytest

from bot.control import (
    Controller,
    Incoming,
    SlackControlError,
    check_socket_url,
    incoming_message,
    parse_command,
)
from bot.domain.values import TradingState
from bot.engine.kernel_types import Flatten, OperatorState
from bot.operator import Report
from bot.store import TradingStateRecord


def test_commands_are_case_insensitive_words_with_the_rest_kept() -> None:
    """`KILL  a b` → kill + "a b"; a leading @mention is dropped; empty text is no command."""
    cmd = parse_command("  KILL   market  is broken ")
    assert cmd is not None and (cmd.word, cmd.rest, cmd.known) == ("kill", "market  is broken", True)
    cmd = parse_command("<@U0BOTUSER> Status")
    assert cmd is not None and (cmd.word, cmd.rest) == ("status", "")
    assert parse_command("   ") is None
    cmd = parse_command("buy 005930")
    assert cmd is not None and not cmd.known


def _envelope(**event: Any) -> dict[str, Any]:
    base = {
        "type": "message",
        "channel": "C0CONTROL1",
        "user": "U0OPERATOR",
        "text": "kill",
        "ts": "1.000001",
    }
    return {
        "envelope_id": "e1",
        "type": "events_api",
        "payload": {"event_id": "Ev1", "event": {**base, **event}},
    }


def test_only_peoples_plain_messages_in_the_channel_count() -> None:
    """Bot messages, edits, other channels, other envelope types and malformed events are ignored."""
    msg = incoming_message(_envelope(), "C0CONTROL1")
    assert msg == Incoming("U0OPERATOR", "C0CONTROL1", "kill", "1.000001", "1.000001", "Ev1")
    threaded = incoming_message(_envelope(thread_ts="0.5"), "C0CONTROL1")
    assert threaded is not None and threaded.thread_ts == "0.5"
    for ignored in (
        _envelope(bot_id="B1"),
        _envelope(subtype="message_changed"),
        _envelope(subtype="channel_join"),
        _envelope(channel="C0OTHER001"),
        _envelope(user=None),
        _envelope(text=None),
        {"type": "slash_commands", "envelope_id": "e2", "payload": {}},
        {"type": "events_api", "payload": "garbage"},
        {"type": "hello"},
    ):
        assert incoming_message(ignored, "C0CONTROL1") is None


def test_socket_urls_without_tls_are_refused_except_to_loopback() -> None:
    """wss on 443 (Slack's) and loopback are fine; plain or odd-port URLs to remote hosts are refused."""
    check_socket_url("wss://wss-primary.slack.com/link/?ticket=abc&app_id=A1")
    check_socket_url("wss://wss-primary.slack.com:443/link/")
    check_socket_url("ws://127.0.0.1:5000/link/?ticket=1")
    for bad in ("ws://wss-primary.slack.com/link/", "wss://evil.example:8443/link/", "http://127.0.0.1/"):
        with pytest.raises(SlackControlError, match="expected wss:// on port 443"):
            check_socket_url(bad)


class _Target:
    """A ControlTarget that records what it is asked (the real one is tested end to end)."""

    def __init__(self) -> None:
        self.posted: list[OperatorState | Flatten] = []

    def status_line(self) -> str:
        return "paper ACTIVE"

    async def post(self, item: OperatorState | Flatten) -> None:
        self.posted.append(item)

    async def set_trading_state(self, state: TradingState, reason: str, by: str) -> TradingStateRecord:
        raise AssertionError("not used here")

    async def report(self, command: str) -> Report:
        return Report([f"{command} line"], {})


def _msg(user: str, text: str, n: int) -> Incoming:
    return Incoming(user, "C0CONTROL1", text, f"1.{n:06d}", f"1.{n:06d}", f"Ev{n}")


@pytest.mark.anyio
async def test_flatten_confirm_after_the_timeout_does_nothing() -> None:
    """A confirm later than `confirm_s` is refused and nothing is posted; a redelivered message runs once."""
    now = [100.0]
    target = _Target()
    ctl = Controller(target, ["U0OPERATOR"], confirm_s=60, now=lambda: now[0])
    assert "within 60 s" in (await ctl.handle(_msg("U0OPERATOR", "flatten", 1)) or "")
    now[0] += 60.5
    assert "expired" in (await ctl.handle(_msg("U0OPERATOR", "flatten confirm", 2)) or "")
    assert target.posted == []
    await ctl.handle(_msg("U0OPERATOR", "flatten end of day", 3))
    again = _msg("U0OPERATOR", "flatten confirm", 4)
    assert "flatten started" in (await ctl.handle(again) or "")
    assert await ctl.handle(again) is None  # the same event delivered twice
    assert target.posted == [Flatten(by="slack:U0OPERATOR", reason="end of day")]
