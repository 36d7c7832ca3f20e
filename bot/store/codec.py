"""Conversions between Python values and the text the journal stores.

Instants are stored as ISO-8601 in Korea time with a fixed width
(`2026-03-02T09:00:01.250000+09:00`), so text order is time order and `substr(time, 1, 10)` is the
KST trading date. Journal details are JSON objects; keys that look like secrets are refused so an
app key or token can never reach the database by accident (design §7 invariant 6).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from bot.clock import KST

_SECRET_KEYS = frozenset(
    {
        "appkey",
        "secretkey",
        "secret",
        "token",
        "accesstoken",
        "refreshtoken",
        "authorization",
        "password",
        "passwd",
        "apikey",
    }
)
_KEY_NORMALISER = re.compile(r"[^a-z]")


def format_time(when: datetime, *, field: str = "time") -> str:
    """An aware instant as fixed-width ISO-8601 in KST; naive datetimes are refused (naming `field`)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{field} must be a timezone-aware datetime, got naive {when!r}")
    return when.astimezone(KST).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    """Stored ISO-8601 text back to an aware datetime in Asia/Seoul."""
    return datetime.fromisoformat(text).astimezone(KST)


def trade_date_of(when: datetime) -> str:
    """The KST calendar date of an instant as `YYYY-MM-DD` (the day order numbers belong to)."""
    return format_time(when)[:10]


def format_date(day: date) -> str:
    """A date as `YYYY-MM-DD`."""
    return day.isoformat()


def parse_date(text: str) -> date:
    """`YYYY-MM-DD` back to a date."""
    return date.fromisoformat(text)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return format_time(value, field="journal detail value")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set | tuple):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    raise TypeError(f"journal detail values must be JSON data, got {type(value).__name__}")


def _check_keys(value: object, path: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"journal detail keys must be strings, got {key!r} at {path or 'top level'}")
            if _KEY_NORMALISER.sub("", key.lower()) in _SECRET_KEYS:
                raise ValueError(
                    f"journal detail key {path + key!r} looks like a secret; secrets are never stored"
                )
            _check_keys(item, f"{path}{key}.")
    elif isinstance(value, list | tuple):
        for item in value:
            _check_keys(item, path)


def encode_detail(detail: Mapping[str, Any] | None) -> str:
    """A JSON object as compact text; refuses secret-looking keys and values JSON cannot hold."""
    if detail is None:
        return "{}"
    if not isinstance(detail, Mapping):
        raise ValueError(f"journal detail must be a mapping, got {type(detail).__name__}")
    _check_keys(detail, "")
    try:
        return json.dumps(
            detail,
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
            allow_nan=False,
            default=_json_default,
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"journal detail is not JSON-serialisable: {exc}") from exc


def decode_detail(text: str) -> dict[str, Any]:
    """Stored JSON text back to a dict (an empty dict for anything that is not an object)."""
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {"value": value}
