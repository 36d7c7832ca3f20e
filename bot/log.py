"""Logging setup: structlog to stderr, JSON lines when not on a terminal, and secret redaction.

Every log line passes the `Redactor`, which replaces registered secrets (app key, secret key,
tokens, webhook URLs, passwords) and anything shaped like a bearer token, wherever they appear.
Logs go to stderr so stdout stays clean for command output (`--json`).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_SECRET_KEYS = frozenset(
    {"token", "appkey", "secretkey", "password", "secret", "webhook_url", "authorization"}
)
MASK = "***"


class Redactor:
    """A structlog processor that removes secrets from every field of every event."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add_secret(self, value: str) -> None:
        """Never log `value` (ignored if too short to be a meaningful secret)."""
        if len(value) >= 6:
            self._secrets.add(value)

    def redact(self, text: str) -> str:
        """`text` with every registered secret and bearer token masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _BEARER.sub(r"\1" + MASK, text)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: MASK if k in _SECRET_KEYS else self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v) for v in value)
        if isinstance(value, BaseException):
            return self.redact(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            event[key] = MASK if key in _SECRET_KEYS else self._clean(value)
        return event


class _ProcessStderr:
    """Whatever `sys.stderr` is when a line is written (not when logging was configured), so a stream
    swapped later (test capture, a closed redirect) never receives lines meant for the process."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(
    level: str = "info",
    *,
    json: bool | None = None,
    stream: TextIO | None = None,
    redactor: Redactor | None = None,
) -> Redactor:
    """Configure structlog for the process (again on reload, keeping `redactor`'s secrets); returns it."""
    stream = stream or sys.stderr
    sink = stream if stream is not sys.stderr else cast(TextIO, _ProcessStderr())
    use_json = (not stream.isatty()) if json is None else json
    redactor = redactor or Redactor()
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=False),
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=sink),
        cache_logger_on_first_use=False,
    )
    return redactor
