"""The operator's read commands (`kiwoom-bot status/orders/fills/positions/pnl/conditions`).

Each command reads the journal through a read-only `StoreReader` (safe while the daemon writes) and
returns a `Report`: aligned lines for a terminal and one JSON document for scripts (money as `int`
KRW, instants as ISO 8601 in KST). `conditions` is the one command that talks to the broker: it logs
in over the WebSocket, lists the saved condition searches (CNSRLST) and disconnects.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import anyio

from bot.broker.kiwoom.codec import ConditionInfo
from bot.clock import KST
from bot.config import BotConfig
from bot.domain.orders import IntentState
from bot.domain.values import Side
from bot.errors import BrokerUnreachable
from bot.notify.console import krw
from bot.store import DailyPnl, FillRow, OrderRow, PositionRow, StoreFailed, StoreReader, TradingStateRecord
from bot.store.reader import JournalQueries

_SIDE = {Side.BUY: "매수", Side.SELL: "매도"}
_NAME_SCAN = 5000  # newest journal entries searched for stock names


class JournalMissing(StoreFailed):
    """The configured journal file does not exist (the daemon never ran with this config)."""


@dataclass(frozen=True, slots=True)
class Query:
    """What the operator asked for: the command and its options, with today's KST trading day."""

    command: str  # status | orders | fills | positions | pnl
    today: date
    day: date | None = None  # --date (fills, pnl); today when None
    open_only: bool = False  # orders --open


@dataclass(frozen=True, slots=True)
class Report:
    """What a command prints: lines for a terminal, or `data` as one JSON document."""

    lines: list[str]
    data: dict[str, Any]


# --- formatting ---------------------------------------------------------------------------------------
def display_width(text: str) -> int:
    """Terminal columns `text` takes (Hangul and other wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: frozenset[int]) -> list[str]:
    """Aligned columns two spaces apart; columns whose index is in `right` are right-aligned."""
    widths = [max(display_width(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        out: list[str] = []
        for i, cell in enumerate(cells):
            pad = " " * (widths[i] - display_width(cell))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    return [line(header), *(line(r) for r in rows)]


def kst_text(when: datetime | None, *, with_date: bool = True) -> str:
    """`2026-03-02 09:00:05` (or `09:00:05`) in KST; `-` when unknown."""
    if when is None:
        return "-"
    local = when.astimezone(KST)
    return local.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def iso(when: datetime | None) -> str | None:
    """An instant as ISO 8601 in KST for JSON (None stays None)."""
    return when.astimezone(KST).isoformat() if when is not None else None


def stock(code: str, names: Mapping[str, str]) -> str:
    """`삼성전자(005930)` when the journal knows the name, else the code."""
    name = names.get(code, "")
    return f"{name}({code})" if name and name != code else code


def _count(n: int) -> str:
    return f"{n:,}"


def _avg(amount: int, qty: int) -> int:
    """Average price rounded half up (0 when nothing filled)."""
    return (2 * amount + qty) // (2 * qty) if qty else 0


# --- reading ------------------------------------------------------------------------------------------
async def stock_names(reader: JournalQueries) -> dict[str, str]:
    """code → Korean name, from journal entries that recorded one (`detail["name"]`)."""
    names: dict[str, str] = {}
    for entry in await reader.journal(limit=_NAME_SCAN):
        name = entry.detail.get("name")
        if entry.code and isinstance(name, str) and name.strip():
            names[entry.code] = name.strip()
    return names


async def read_report(path: Path, query: Query) -> Report:
    """Run one read command against the journal at `path` (JournalMissing if there is none)."""
    if not await anyio.Path(path).is_file():
        raise JournalMissing(
            f"no journal at {path} (has the daemon run with this config? nothing was created)"
        )
    async with StoreReader.open(path) as reader:
        names = await stock_names(reader)
        day = query.day or query.today
        if query.command == "status":
            return await _status(reader, query.today, path)
        if query.command == "orders":
            if query.open_only:
                return orders_report(await reader.orders(working_only=True), names, None)
            return orders_report(await reader.orders(trade_date=query.today), names, query.today)
        if query.command == "fills":
            return fills_report(await reader.fills(trade_date=day), names, day)
        if query.command == "positions":
            return positions_report(await reader.positions(), names)
        if query.command == "pnl":
            return pnl_report(await reader.daily_pnl(start=day, end=day), day)
    raise ValueError(f"unknown operator command {query.command!r}")


# --- status -------------------------------------------------------------------------------------------
def order_counts(rows: Sequence[OrderRow]) -> dict[str, int]:
    """Orders by outcome: working (excluding unknown), filled, rejected, unknown, canceled, total."""
    states = [r.intent.state for r in rows]
    return {
        "working": sum(1 for s in states if s.is_working and s is not IntentState.UNKNOWN),
        "filled": states.count(IntentState.FILLED),
        "rejected": states.count(IntentState.REJECTED),
        "unknown": states.count(IntentState.UNKNOWN),
        "canceled": states.count(IntentState.CANCELED),
        "total": len(states),
    }


def _state_data(record: TradingStateRecord) -> dict[str, Any]:
    return {
        "state": str(record.state),
        "reason": record.reason,
        "changed_at": iso(record.changed_at),
        "changed_by": record.changed_by,
        "version": record.version,
    }


async def _status(reader: JournalQueries, today: date, path: Path) -> Report:
    record = await reader.read_trading_state()
    counts = order_counts(await reader.orders(trade_date=today))
    positions = await reader.positions()
    realized = sum(p.realized_pnl for p in await reader.daily_pnl(start=today, end=today))
    return status_report(record, counts, len(positions), realized, today, path)


def status_report(
    record: TradingStateRecord,
    counts: Mapping[str, int],
    positions: int,
    realized: int,
    today: date,
    path: Path,
) -> Report:
    """The one-screen summary: kill switch, today's orders, open positions, today's realized P&L."""
    if record.changed_at is None:
        changed = "never changed"
    else:
        changed = f"since {kst_text(record.changed_at)} KST, by {record.changed_by or '?'}"
    reason = f": {record.reason}" if record.reason else ""
    order_text = ", ".join(
        f"{counts[k]} {k}" for k in ("working", "filled", "rejected", "unknown", "canceled")
    )
    rows = [
        ("trading state", f"{record.state}{reason} ({changed})"),
        ("orders today", f"{order_text} ({counts['total']} in all, {today.isoformat()})"),
        ("open positions", _count(positions)),
        ("realized P&L", f"{krw(realized)} ({today.isoformat()})"),
        ("journal", str(path)),
    ]
    width = max(display_width(k) for k, _ in rows)
    lines = [f"{k}{' ' * (width - display_width(k))}  {v}" for k, v in rows]
    data = {
        "trading_state": _state_data(record),
        "trade_date": today.isoformat(),
        "orders": dict(counts),
        "open_positions": positions,
        "realized_pnl": realized,
        "journal": str(path),
    }
    return Report(lines, data)


# --- orders, fills, positions, pnl ----------------------------------------------------------------------
def _order_data(row: OrderRow, names: Mapping[str, str]) -> dict[str, Any]:
    i, c = row.intent, row.intent.command
    return {
        "intent_id": i.intent_id,
        "strategy": c.strategy,
        "code": c.code,
        "name": names.get(c.code, ""),
        "side": str(c.side),
        "qty": c.qty,
        "order_type": str(c.order_type),
        "price": c.price,
        "venue": str(c.venue),
        "is_exit": c.is_exit,
        "reason": c.reason,
        "state": str(i.state),
        "order_no": i.order_no,
        "filled_qty": i.filled_qty,
        "filled_amount": i.filled_amount,
        "fee": i.fee,
        "tax": i.tax,
        "external": i.external,
        "created_at": iso(i.created_at),
        "updated_at": iso(row.updated_at),
    }


def orders_report(rows: Sequence[OrderRow], names: Mapping[str, str], day: date | None) -> Report:
    """Today's orders (`day`) or every working order of any day (`day` None), oldest first."""
    data: dict[str, Any] = {
        "trade_date": day.isoformat() if day else None,
        "open_only": day is None,
        "orders": [_order_data(r, names) for r in rows],
    }
    if not rows:
        return Report(["no open orders" if day is None else f"no orders on {day.isoformat()}"], data)
    header = ("TIME", "STRATEGY", "STOCK", "SIDE", "QTY", "PRICE", "FILLED", "AVG FILL", "STATE", "ORDER NO")
    body = []
    for r in rows:
        i, c = r.intent, r.intent.command
        body.append(
            (
                kst_text(i.created_at, with_date=day is None),
                c.strategy,
                stock(c.code, names),
                _SIDE[c.side],
                _count(c.qty),
                krw(c.price) if c.price else "시장가",
                _count(i.filled_qty),
                krw(_avg(i.filled_amount, i.filled_qty)) if i.filled_qty else "-",
                str(i.state),
                i.order_no or "-",
            )
        )
    return Report(table(header, body, frozenset({4, 5, 6, 7})), data)


def fills_report(rows: Sequence[FillRow], names: Mapping[str, str], day: date) -> Report:
    """The fills of one KST trading day, in recording order, with what each realized."""
    data: dict[str, Any] = {
        "trade_date": day.isoformat(),
        "fills": [
            {
                "time": iso(f.time),
                "order_no": f.order_no,
                "fill_no": f.fill_no,
                "intent_id": f.intent_id,
                "strategy": f.strategy,
                "code": f.code,
                "name": names.get(f.code, ""),
                "side": str(f.side),
                "qty": f.qty,
                "price": f.price,
                "amount": f.qty * f.price,
                "fee": f.fee,
                "tax": f.tax,
                "realized_pnl": f.realized_pnl,
                "source": str(f.source),
            }
            for f in rows
        ],
    }
    if not rows:
        return Report([f"no fills on {day.isoformat()}"], data)
    header = (
        "TIME",
        "STRATEGY",
        "STOCK",
        "SIDE",
        "QTY",
        "PRICE",
        "AMOUNT",
        "FEE",
        "TAX",
        "REALIZED",
        "ORDER/FILL",
    )
    body = [
        (
            kst_text(f.time, with_date=False),
            f.strategy,
            stock(f.code, names),
            _SIDE[f.side],
            _count(f.qty),
            krw(f.price),
            krw(f.qty * f.price),
            krw(f.fee),
            krw(f.tax),
            krw(f.realized_pnl),
            f"{f.order_no}/{f.fill_no}",
        )
        for f in rows
    ]
    return Report(table(header, body, frozenset(range(4, 10))), data)


def positions_report(rows: Sequence[PositionRow], names: Mapping[str, str]) -> Report:
    """Open positions per strategy and code (average cost), with what each has realized so far."""
    data: dict[str, Any] = {
        "positions": [
            {
                "strategy": p.strategy,
                "code": p.code,
                "name": names.get(p.code, ""),
                "qty": p.qty,
                "avg_price": p.avg_price,
                "cost_basis": p.cost_basis,
                "realized_pnl": p.realized_pnl,
                "fees": p.fees,
                "taxes": p.taxes,
                "updated_at": iso(p.updated_at),
            }
            for p in rows
        ]
    }
    if not rows:
        return Report(["no open positions"], data)
    header = ("STRATEGY", "STOCK", "QTY", "AVG PRICE", "COST", "REALIZED", "UPDATED (KST)")
    body = [
        (
            p.strategy,
            stock(p.code, names),
            _count(p.qty),
            krw(p.avg_price),
            krw(p.cost_basis),
            krw(p.realized_pnl),
            kst_text(p.updated_at),
        )
        for p in rows
    ]
    return Report(table(header, body, frozenset({2, 3, 4, 5})), data)


_PNL_FIELDS = ("realized_pnl", "fees", "taxes", "buy_amount", "sell_amount", "fills")


def _pnl_numbers(r: DailyPnl) -> dict[str, int]:
    return {k: int(getattr(r, k)) for k in _PNL_FIELDS}


def pnl_report(rows: Sequence[DailyPnl], day: date) -> Report:
    """Realized P&L of one KST trading day per strategy (net of fees and taxes), with a total."""
    numbers = [(r.strategy, _pnl_numbers(r)) for r in rows]
    total = {k: sum(n[k] for _, n in numbers) for k in _PNL_FIELDS}
    data: dict[str, Any] = {
        "trade_date": day.isoformat(),
        "strategies": [{"strategy": name, **n} for name, n in numbers],
        "total": total,
    }
    if not rows:
        return Report([f"no fills on {day.isoformat()}: no realized P&L"], data)
    header = ("STRATEGY", "REALIZED", "FEES", "TAXES", "BUYS", "SELLS", "FILLS")

    def cells(name: str, n: Mapping[str, int]) -> tuple[str, ...]:
        return (name, *(krw(n[k]) for k in _PNL_FIELDS[:-1]), _count(n["fills"]))

    body = [cells(name, n) for name, n in numbers]
    if len(numbers) > 1:
        body.append(cells("TOTAL", total))
    return Report([f"realized P&L on {day.isoformat()}", *table(header, body, frozenset(range(1, 7)))], data)


# --- conditions ---------------------------------------------------------------------------------------
def conditions_report(listed: Sequence[ConditionInfo]) -> Report:
    """The account's saved condition searches, seq and name, for `[[strategy]] condition`."""
    data: dict[str, Any] = {"conditions": [{"seq": c.seq, "name": c.name} for c in listed]}
    if not listed:
        return Report(["no saved condition searches on this account (create them in 영웅문4 HTS)"], data)
    return Report(table(("SEQ", "NAME"), [(c.seq, c.name) for c in listed], frozenset({0})), data)


async def list_conditions(cfg: BotConfig, source: str) -> tuple[ConditionInfo, ...]:
    """Log in over the WebSocket, ask CNSRLST (ka10171) once, and disconnect.

    In simulator mode the built-in exchange is started for the purpose. In the other modes the
    state directory's instance lock is taken first: Kiwoom allows one WebSocket session per app key
    (a second login ends the first, SYSTEM R10001), so this refuses while the daemon runs.
    """
    from bot.app import _endpoints_and_keys, make_clock
    from bot.broker.kiwoom.rest import open_rest
    from bot.broker.kiwoom.ws import KiwoomSocket
    from bot.broker.kiwoom.ws_settings import WsSettings
    from bot.instance import instance_lock

    simulated = cfg.broker.mode == "simulator"
    clock = make_clock(cfg)
    async with AsyncExitStack() as stack:
        if not simulated:
            stack.enter_context(instance_lock(cfg.broker.state_dir))
        endpoints, creds = await stack.enter_async_context(_endpoints_and_keys(cfg, clock, None, source))
        rest = await stack.enter_async_context(
            open_rest(
                endpoints,
                creds,
                clock,
                state_dir=None if simulated else cfg.broker.state_dir,  # reuse the daemon's cached token
                timeout_s=cfg.broker.request_timeout_s,
            )
        )
        socket = KiwoomSocket(
            endpoints.ws_url,
            rest.tokens,
            clock,
            settings=WsSettings(stale_after_s=cfg.broker.stale_after_s),
        )
        async with anyio.create_task_group() as tg:
            try:
                with anyio.fail_after(cfg.broker.startup_timeout_s):
                    await tg.start(socket.run)
            except TimeoutError:
                raise BrokerUnreachable(
                    f"no broker session within {cfg.broker.startup_timeout_s:g} s at {endpoints.ws_url}"
                ) from None
            listed = await socket.condition_list()
            tg.cancel_scope.cancel()
        return listed
    raise AssertionError("unreachable")
