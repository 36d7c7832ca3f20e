"""What a Socket Mode envelope asks of the bot: which messages count, and the command words.

Pure functions, called on slack-sdk's listener thread: an `events_api` envelope carrying a plain
`message` event typed by a person in the control channel becomes an `Incoming`; bot messages, edits,
deletions, joins and other channels become None. Commands are case-insensitive words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMMANDS = ("status", "positions", "pnl", "kill", "resume", "flatten", "help")
_MENTION = re.compile(r"^<@[A-Z0-9]+>\s*")  # "@kiwoom-bot kill" arrives as "<@U0BOT> kill"


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message typed by a person in the control channel (not yet checked against the allow-list)."""

    user: str
    channel: str
    text: str
    ts: str  # the message's timestamp: its id within the channel
    thread_ts: str  # the thread to reply in (the message itself when it is not in a thread)
    event_id: str


@dataclass(frozen=True, slots=True)
class Command:
    """A command word (lower case) and the rest of the message (e.g. the reason of a kill)."""

    word: str
    rest: str

    @property
    def known(self) -> bool:
        """Whether the word is one of `COMMANDS`."""
        return self.word in COMMANDS


def parse_command(text: str) -> Command | None:
    """`"Kill  market is crazy"` → Command("kill", "market is crazy"); None for an empty message."""
    body = _MENTION.sub("", text.strip())
    parts = body.split(maxsplit=1)
    if not parts:
        return None
    return Command(parts[0].lower(), parts[1].strip() if len(parts) > 1 else "")


def incoming_message(envelope: Mapping[str, Any], channel: str) -> Incoming | None:
    """The person's message in `channel` carried by an `events_api` envelope, else None."""
    if envelope.get("type") != "events_api":
        return None
    payload = envelope.get("payload")
    event = payload.get("event") if isinstance(payload, Mapping) else None
    if not isinstance(event, Mapping) or event.get("type") != "message":
        return None
    if event.get("subtype") or event.get("bot_id") or event.get("bot_profile"):
        return None  # edits, deletions, joins, bot messages (our own replies included)
    if event.get("channel") != channel:
        return None
    user, text, ts = event.get("user"), event.get("text"), event.get("ts")
    if not (isinstance(user, str) and user and isinstance(text, str) and isinstance(ts, str) and ts):
        return None
    thread_ts = event.get("thread_ts")
    event_id = payload.get("event_id") if isinstance(payload, Mapping) else None
    return Incoming(
        user=user,
        channel=channel,
        text=text,
        ts=ts,
        thread_ts=thread_ts if isinstance(thread_ts, str) and thread_ts else ts,
        event_id=event_id if isinstance(event_id, str) else "",
    )
