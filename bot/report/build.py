"""Building the end-of-day report from the journal and (in the daemon) the broker, through the `Broker` port.

The figures are the journal's: fills, realized P&L after fees and tax, positions, denials and
reconnects. The broker is only asked for its own view to compare against; if it cannot answer,
the report says `broker comparison unavailable: <reason>` instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import anyio
import structlog

from bot.broker.port import Broker
from bot.domain.snapshots import Holding
from bot.domain.values import Side
from bot.errors import KiwoomBotError
from bot.operator import order_counts, stock_names
from bot.report.compare import compare
from bot.report.model import (
    TRADE_NUMBERS,
    BrokerCheck,
    Comparison,
    EndOfDayReport,
    OpenPosition,
    StrategyTrades,
    by_count,
)
from bot.store import FillRow, JournalEntry, PositionRow
from bot.store.reader import JournalQueries

log = structlog.get_logger(__name__)

BROKER_TIMEOUT_S = 60.0


def trades_by_strategy(fills: Sequence[FillRow]) -> tuple[StrategyTrades, ...]:
    """Each strategy's buys, sells, costs and realized P&L from its fills, by strategy name."""
    acc: dict[str, dict[str, int]] = {}
    for f in fills:
        t = acc.setdefault(f.strategy, dict.fromkeys(TRADE_NUMBERS, 0))
        side = "buy" if f.side is Side.BUY else "sell"
        t[f"{side}s"] += 1
        t[f"{side}_qty"] += f.qty
        t[f"{side}_amount"] += f.qty * f.price
        t["fees"] += f.fee
        t["taxes"] += f.tax
        t["realized_pnl"] += f.realized_pnl
    return tuple(StrategyTrades(name, **acc[name]) for name in sorted(acc))


def open_positions(
    rows: Sequence[PositionRow], names: Mapping[str, str], last_price: Callable[[str], int | None]
) -> tuple[OpenPosition, ...]:
    """Positions still held, with the last price when known and the unrealized P&L it implies."""
    out: list[OpenPosition] = []
    for p in rows:
        if not p.qty:
            continue
        last = last_price(p.code)
        unrealized = None if last is None else p.qty * last - p.cost_basis
        out.append(
            OpenPosition(
                p.strategy, p.code, names.get(p.code, ""), p.qty, p.avg_price, p.cost_basis, last, unrealized
            )
        )
    return tuple(out)


def denials_by_rule(entries: Sequence[JournalEntry]) -> tuple[tuple[str, int], ...]:
    """How many orders each risk rule denied (journal `denial` entries), most frequent first."""
    counts: dict[str, int] = {}
    for e in entries:
        if e.kind == "denial":
            rule = str(e.detail.get("rule") or "unknown")
            counts[rule] = counts.get(rule, 0) + 1
    return by_count(counts)


def reconnects(entries: Sequence[JournalEntry]) -> int:
    """Feed sessions restored after a drop (journal `reconnect` entries that say `resynced`)."""
    return sum(1 for e in entries if e.kind == "reconnect" and e.detail.get("event") == "resynced")


@dataclass(frozen=True, slots=True)
class BrokerView:
    """The broker's answer for the comparison, or why there is none."""

    check: BrokerCheck
    holdings: tuple[Holding, ...] = ()


async def ask_broker(
    broker: Broker, fills: Sequence[FillRow], positions: Sequence[PositionRow], *, timeout_s: float
) -> BrokerView:
    """Holdings, today's fills and the deposit from the broker, compared with the journal (never raises)."""
    try:
        with anyio.fail_after(timeout_s):
            holdings = await broker.holdings()
            broker_fills = await broker.fills()
            deposit = await broker.deposit()
    except TimeoutError:
        reason = f"no answer within {timeout_s:g} s"
    except KiwoomBotError as exc:
        reason = f"{type(exc).__name__}: {exc}"
    else:
        return BrokerView(compare(fills, positions, broker_fills, holdings, deposit), tuple(holdings))
    log.warning("report_broker_unavailable", reason=reason)
    return BrokerView(BrokerCheck(Comparison.UNAVAILABLE, reason))


async def build_report(
    queries: JournalQueries,
    day: date,
    *,
    time: datetime,
    source: str,
    broker: Broker | None = None,
    not_compared: str = "",
    last_price: Callable[[str], int | None] = lambda code: None,
    name_of: Callable[[str], str] = lambda code: "",
    notify_drops: int | None = None,
    broker_timeout_s: float = BROKER_TIMEOUT_S,
) -> EndOfDayReport:
    """The report of `day` from the journal, compared with `broker` if given (else marked `not_compared`)."""
    fills = await queries.fills(trade_date=day)
    positions = await queries.positions()
    orders = await queries.orders(trade_date=day)
    entries = await queries.journal_of_day(day, kinds=("denial", "reconnect"))
    names = await stock_names(queries)
    if broker is None:
        view = BrokerView(BrokerCheck(Comparison.NOT_COMPARED, not_compared))
    else:
        view = await ask_broker(broker, fills, positions, timeout_s=broker_timeout_s)
    held = {h.code: h for h in view.holdings}
    for code, h in held.items():
        if h.name and code not in names:
            names[code] = h.name
    for p in positions:
        name = name_of(p.code)
        if name and name != p.code and p.code not in names:
            names[p.code] = name

    def price(code: str) -> int | None:
        holding = held.get(code)
        return holding.price if holding is not None and holding.price else last_price(code)

    return EndOfDayReport(
        trade_date=day,
        time=time,
        source=source,
        strategies=trades_by_strategy(fills),
        positions=open_positions(positions, names, price),
        broker=view.check,
        denials=denials_by_rule(entries),
        reconnects=reconnects(entries),
        notify_drops=notify_drops,
        orders=tuple(order_counts(orders).items()),
    )
