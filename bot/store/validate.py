"""Checks run in the caller's task before a write is queued, so bad input never reaches the writer.

A write the writer cannot execute because of bad input would otherwise surface as a storage failure
and halt trading; here it becomes a `ValueError` naming the field, and the store stays healthy.
Enum fields are normalised (a plain `"buy"` becomes `Side.BUY`), money and quantities must be `int`.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain.orders import IntentRecord, IntentState
from bot.domain.values import OrderType, Side, Venue, check_stock_code
from bot.store.models import Fill, FillSource

_KIND_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def require(condition: bool, message: str) -> None:
    """Raise ValueError(message) unless `condition` holds."""
    if not condition:
        raise ValueError(message)


def check_int(name: str, value: object, minimum: int) -> int:
    """An `int` (not bool, not float) of at least `minimum`, or ValueError naming `name`."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


def check_intent(record: IntentRecord) -> IntentRecord:
    """A new intent, normalised; it must be unfilled (fills go through `apply_fill`)."""
    cmd = record.command
    _text("intent_id", record.intent_id)
    _text("strategy", cmd.strategy)
    check_stock_code(cmd.code)
    check_int("qty", cmd.qty, 1)
    check_int("price", cmd.price, 0)
    require(
        record.filled_qty == record.filled_amount == record.fee == record.tax == 0 and not record.fill_nos,
        f"intent {record.intent_id} must be inserted unfilled; fills are recorded with apply_fill",
    )
    command = replace(cmd, side=Side(cmd.side), order_type=OrderType(cmd.order_type), venue=Venue(cmd.venue))
    return replace(record, command=command, state=IntentState(record.state))


def check_fill(fill: Fill) -> Fill:
    """A broker fill, normalised."""
    _text("intent_id", fill.intent_id)
    _text("order_no", fill.order_no)
    _text("fill_no", fill.fill_no)
    check_stock_code(fill.code)
    check_int("fill qty", fill.qty, 1)
    check_int("fill price", fill.price, 0)
    check_int("fill fee", fill.fee, 0)
    check_int("fill tax", fill.tax, 0)
    return replace(fill, side=Side(fill.side), source=FillSource(fill.source))


def check_kind(kind: str) -> str:
    """A snake_case journal kind."""
    require(
        isinstance(kind, str) and bool(kind) and set(kind) <= _KIND_CHARS,
        f"journal kind must be snake_case, got {kind!r}",
    )
    return str(kind)
