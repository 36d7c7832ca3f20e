"""The session-recording format (record-format.md): file names, record lines, secret masking.

A recording is gzip-compressed UTF-8 JSON lines, one compact object per line, `ensure_ascii=False`.
Kinds: `meta` (first line of every file), `ws` (an inbound WebSocket text frame as received) and
`rest` (one REST exchange). Every record has `k`, `wall` (the injected Clock, ISO-8601 KST with
microseconds) and `mono` (time.monotonic(), one system-wide clock on Linux). Lines are formatted in the
writer child process (see `writer.py`), never on the trading path: the taps hand over raw bytes only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.clock import KST

FORMAT_VERSION = 1
SOURCES = ("daemon", "simulator", "generator")
MASK = "***"
# Top-level body keys whose values are secrets (au10001/au10002 requests and the token reply).
SECRET_KEYS = frozenset({"appkey", "secretkey", "token"})
OAUTH_API_IDS = frozenset({"au10001", "au10002"})
FILE_SUFFIX = ".jsonl.gz"
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(\d+)\.jsonl\.gz$")
_MAX_TEXT = 2000  # a non-JSON body is kept as text, cut to this many characters

_dumps_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def file_name(day: date, n: int) -> str:
    """`<YYYY-MM-DD>.<n>.jsonl.gz`, the name of the n-th recording started on `day`."""
    return f"{day.isoformat()}.{n}{FILE_SUFFIX}"


def parse_file_name(name: str) -> tuple[date, int] | None:
    """(day, n) of a recording's file name, or None if `name` is not one."""
    found = _NAME.match(name)
    if found is None:
        return None
    try:
        return date.fromisoformat(found.group(1)), int(found.group(2))
    except ValueError:
        return None


def wall_text(when: datetime) -> str:
    """The `wall` field: ISO-8601 with microseconds and the KST offset."""
    return when.isoformat(timespec="microseconds")


# A `ws` line from (wall head "YYYY-MM-DDTHH:MM:SS", microseconds, offset "+09:00", mono, escaped frame).
WS_LINE = '{"k":"ws","wall":"%s.%06d%s","mono":%r,"frame":%s}\n'


class WallFromNs:
    """`wall` text and KST date of a `time.time_ns()` reading; the date/time part is cached per second.

    Exactly what `datetime.now(KST).isoformat(timespec="microseconds")` gives at that instant (both
    floor the system clock's nanoseconds to microseconds).
    """

    __slots__ = ("day", "head", "second", "tail")

    def __init__(self) -> None:
        self.second = -1
        self.head = ""
        self.tail = ""
        self.day = date.min

    def set_second(self, second: int) -> None:
        """Make `head`, `tail` and `day` those of the whole second `second` (Unix time)."""
        when = datetime.fromtimestamp(second, KST)
        text = when.isoformat()  # microsecond == 0: "YYYY-MM-DDTHH:MM:SS+09:00"
        self.second, self.head, self.tail, self.day = second, text[:19], text[19:], when.date()

    def text(self, ns: int) -> str:
        """The `wall` field for `ns` nanoseconds since the epoch."""
        second, micro = divmod(ns // 1000, 1_000_000)
        if second != self.second:
            self.set_second(second)
        return f"{self.head}.{micro:06d}{self.tail}"


def meta_line(when: datetime, mono: float, *, source: str, mode: str, trading_day: date, config: str) -> str:
    """The first line of every file."""
    record = {
        "k": "meta", "v": FORMAT_VERSION, "wall": wall_text(when), "mono": mono, "source": source,
        "mode": mode, "trading_day": trading_day.isoformat(), "config": config,
    }  # fmt: skip
    return _dumps_compact(record) + "\n"


# A `rest` line from (wall head, microseconds, offset, mono, `rest_tail` text).
REST_LINE = '{"k":"rest","wall":"%s.%06d%s","mono":%r,%s\n'


def rest_tail(
    api_id: str,
    path: str,
    req: bytes | Mapping[str, Any] | None,
    status: int | None,
    latency_ms: float,
    cont_yn: str,
    next_key: str,
    resp: bytes | None,
    error: str | None,
) -> str:
    """A `rest` record after its `mono` (`"api_id":..}`), secrets masked; `error` only when no reply came."""
    record: dict[str, Any] = {
        "api_id": api_id, "path": path, "req": body_value(req, api_id), "status": status,
        "latency_ms": round(latency_ms, 3), "headers": {"cont-yn": cont_yn, "next-key": next_key},
        "resp": None if resp is None else body_value(resp, api_id),
    }  # fmt: skip
    if error is not None:
        record["error"] = error
    return _dumps_compact(record)[1:]


def body_value(body: bytes | Mapping[str, Any] | None, api_id: str) -> Any:
    """A request/response body for the record: parsed JSON with secrets masked, else text or null."""
    if body is None:
        return None
    if isinstance(body, Mapping):
        return mask_secrets(body)
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        if api_id in OAUTH_API_IDS:
            return MASK  # an unreadable token reply could still hold the token
        return body.decode("utf-8", "replace")[:_MAX_TEXT]
    return mask_secrets(parsed) if isinstance(parsed, Mapping) else parsed


def mask_secrets(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `body` with the values of `appkey`, `secretkey` and `token` replaced by "***"."""
    return {k: (MASK if k in SECRET_KEYS else v) for k, v in body.items()}


def is_recording(path: Path) -> bool:
    """Whether `path` is named like a recording."""
    return parse_file_name(path.name) is not None
