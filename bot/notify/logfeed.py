"""Engine events as structured log lines (JSON under systemd): what the console feed shows a person,
journald gets as fields — `order_filled code=005930 qty=10 price=71000 strategy=...`."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import structlog

from bot.engine.market_state import MarketState

log = structlog.get_logger("events")
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def _flat(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _flat(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_flat(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.value if hasattr(value, "value") else value


class LogFeed:
    """Logs every engine event with its fields, plus the Korean stock name where there is a code."""

    def __init__(self, market: MarketState) -> None:
        self._market = market

    def __call__(self, event: object) -> None:
        name = _SNAKE.sub("_", type(event).__name__).lower()
        fields = _flat(event) if dataclasses.is_dataclass(event) else {"detail": repr(event)}
        command = fields.get("command")
        code = fields.get("code") or (command.get("code") if isinstance(command, dict) else None)
        if code:
            fields["stock_name"] = self._market.name(code)
        log.info(name, **fields)
