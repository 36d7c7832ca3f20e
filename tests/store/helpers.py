"""Builders and raw inspectors shared by the store tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import aiosqlite
import anyio

from bot.clock import kst
from bot.domain.orders import IntentRecord, IntentState, SubmitOrder
from bot.domain.values import OrderType, Side
from bot.store import Fill, FillSource

T0 = kst(2026, 3, 2, 9, 0, 0)
TABLES = ("intents", "intent_events", "fills", "positions", "journal")


def at(seconds: float) -> datetime:
    """An instant `seconds` after 09:00:00 KST on 2026-03-02."""
    return T0 + timedelta(seconds=seconds)


def make_intent(
    intent_id: str,
    *,
    side: Side = Side.BUY,
    qty: int = 10,
    price: int = 70_000,
    strategy: str = "surge",
    code: str = "005930",
    when: datetime = T0,
    state: IntentState = IntentState.PENDING_SEND,
    order_no: str = "",
    external: bool = False,
) -> IntentRecord:
    """A fresh (unfilled) intent record."""
    command = SubmitOrder(strategy, code, side, qty, OrderType.LIMIT, price, reason="test entry")
    return IntentRecord(intent_id, command, state, when, order_no=order_no, external=external)


def make_fill(
    intent_id: str,
    fill_no: str,
    *,
    qty: int,
    price: int,
    side: Side = Side.BUY,
    order_no: str = "0000101",
    fee: int = 0,
    tax: int = 0,
    code: str = "005930",
    when: datetime = T0,
    source: FillSource = FillSource.WS,
) -> Fill:
    """A broker fill for `intent_id`."""
    return Fill(intent_id, order_no, fill_no, code, side, qty, price, fee, tax, when, source)


async def raw_counts(path: Path) -> dict[str, int]:
    """Row counts of every table, read through a fresh read-only connection."""
    async with aiosqlite.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
        counts: dict[str, int] = {}
        for table in TABLES:
            rows = list(await conn.execute_fetchall(f"SELECT COUNT(*) FROM {table}"))
            counts[table] = int(rows[0][0])
        return counts


async def raw_scalar(path: Path, sql: str) -> object:
    """The first column of the first row of `sql`, read through a fresh read-only connection."""
    async with aiosqlite.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
        rows = list(await conn.execute_fetchall(sql))
        return rows[0][0] if rows else None


async def wait_until(predicate: Callable[[], Awaitable[bool]], *, within: float = 5.0) -> None:
    """Poll `predicate` every few milliseconds until it holds (fails the test after `within` seconds)."""
    with anyio.fail_after(within):
        while True:
            if await predicate():
                return
            await anyio.sleep(0.005)
