"""The end-of-day report as frozen data (money in int KRW), and its JSON form for the journal and `--json`.

One `EndOfDayReport` per KST trading day: the day's trades and realized P&L per strategy (the
journal's figures: net of commissions and the sell-side transaction tax), the open positions, what
the broker's own view (kt00018 holdings, ka10076 fills, kt00001 deposit) says differently, denials
by risk rule, reconnects, lost notifications and orders by outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.clock import KST
from bot.domain.snapshots import Deposit


class Comparison(StrEnum):
    """Whether the journal was compared with the broker."""

    COMPARED = "compared"
    UNAVAILABLE = "unavailable"  # the broker could not be asked (error, timeout)
    NOT_COMPARED = "not_compared"  # made from the journal alone (the CLI)


@dataclass(frozen=True, slots=True)
class StrategyTrades:
    """One strategy's fills on the day: counts, quantities, amounts, costs and realized P&L."""

    strategy: str
    buys: int = 0  # fills
    buy_qty: int = 0
    buy_amount: int = 0
    sells: int = 0
    sell_qty: int = 0
    sell_amount: int = 0
    fees: int = 0
    taxes: int = 0
    realized_pnl: int = 0  # net of fees and taxes


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """A position held at the end of the day; unrealized P&L is before exit costs (None: no price)."""

    strategy: str
    code: str
    name: str
    qty: int
    avg_price: int
    cost_basis: int
    last_price: int | None = None
    unrealized_pnl: int | None = None


@dataclass(frozen=True, slots=True)
class Difference:
    """Something the journal and the broker disagree on (there should be none)."""

    kind: str  # "holding" (shares per code) | "fill_qty" / "fill_amount" (per order)
    code: str
    order_no: str  # "" for holdings
    journal: int
    broker: int

    def text(self) -> str:
        """`holding 005930: journal 10, broker 12` — one line for people."""
        subject = f"{self.code} order {self.order_no}" if self.order_no else self.code
        return f"{self.kind} {subject}: journal {self.journal:,}, broker {self.broker:,}"


@dataclass(frozen=True, slots=True)
class BrokerCheck:
    """The outcome of comparing the journal with the broker's view."""

    status: Comparison
    reason: str = ""  # why it is unavailable / not compared
    differences: tuple[Difference, ...] = ()
    holdings_compared: int = 0  # codes held on either side
    orders_compared: int = 0  # orders with fills on either side
    broker_fees: int = 0  # the broker's own commission and tax on today's fills (ka10076)
    broker_taxes: int = 0
    deposit: Deposit | None = None  # kt00001

    def summary(self) -> str:
        """`0 differences (3 codes, 4 orders)` or `broker comparison unavailable: <reason>`."""
        if self.status is Comparison.UNAVAILABLE:
            return f"broker comparison unavailable: {self.reason}"
        if self.status is Comparison.NOT_COMPARED:
            return f"not compared: {self.reason}"
        n = len(self.differences)
        return (
            f"{n} difference{'' if n == 1 else 's'} "
            f"({self.holdings_compared} codes held, {self.orders_compared} orders filled)"
        )


@dataclass(frozen=True, slots=True)
class EndOfDayReport:
    """Everything the operator needs to know about one trading day, built once after the close."""

    trade_date: date
    time: datetime  # when it was made
    source: str  # "daemon" (with the broker) or "journal" (the CLI, journal only)
    strategies: tuple[StrategyTrades, ...]
    positions: tuple[OpenPosition, ...]
    broker: BrokerCheck
    denials: tuple[tuple[str, int], ...]  # (rule, count), most frequent first
    reconnects: int
    notify_drops: int | None  # None when unknown (not made by the daemon)
    orders: tuple[tuple[str, int], ...]  # (outcome, count): working, filled, rejected, ...

    @property
    def total(self) -> StrategyTrades:
        """The strategies' figures added up, under the name TOTAL."""
        s = self.strategies
        return StrategyTrades(
            "TOTAL",
            *(sum(getattr(t, name) for t in s) for name in TRADE_NUMBERS),
        )

    @property
    def realized_pnl(self) -> int:
        """The day's realized P&L over all strategies, after fees and taxes."""
        return sum(t.realized_pnl for t in self.strategies)

    @property
    def unrealized_pnl(self) -> int:
        """Unrealized P&L of the positions whose last price is known (before exit costs)."""
        return sum(p.unrealized_pnl or 0 for p in self.positions)


TRADE_NUMBERS = (
    "buys",
    "buy_qty",
    "buy_amount",
    "sells",
    "sell_qty",
    "sell_amount",
    "fees",
    "taxes",
    "realized_pnl",
)
OUTCOMES = ("working", "filled", "rejected", "unknown", "canceled", "total")
"""Order outcomes in the order they are shown (`bot.operator.order_counts`)."""
_DEPOSIT = ("cash", "d1_cash", "d2_cash", "orderable", "withdrawable")


def by_count(counts: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """(name, count) pairs, most frequent first, then by name."""
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def to_json(report: EndOfDayReport) -> dict[str, Any]:
    """The report as one JSON object (money as int KRW, instants ISO 8601 in KST)."""
    b = report.broker
    return {
        "trade_date": report.trade_date.isoformat(),
        "time": report.time.astimezone(KST).isoformat(),
        "source": report.source,
        "strategies": [_trades_json(t) for t in report.strategies],
        "total": _trades_json(report.total),
        "positions": [
            {
                "strategy": p.strategy,
                "code": p.code,
                "name": p.name,
                "qty": p.qty,
                "avg_price": p.avg_price,
                "cost_basis": p.cost_basis,
                "last_price": p.last_price,
                "unrealized_pnl": p.unrealized_pnl,
            }
            for p in report.positions
        ],
        "broker": {
            "status": str(b.status),
            "reason": b.reason,
            "differences": [
                {
                    "kind": d.kind,
                    "code": d.code,
                    "order_no": d.order_no,
                    "journal": d.journal,
                    "broker": d.broker,
                }
                for d in b.differences
            ],
            "holdings_compared": b.holdings_compared,
            "orders_compared": b.orders_compared,
            "broker_fees": b.broker_fees,
            "broker_taxes": b.broker_taxes,
            "deposit": None if b.deposit is None else {k: getattr(b.deposit, k) for k in _DEPOSIT},
        },
        "denials": {rule: n for rule, n in report.denials},
        "reconnects": report.reconnects,
        "notify_drops": report.notify_drops,
        "orders": dict(report.orders),
    }


def _trades_json(t: StrategyTrades) -> dict[str, Any]:
    return {"strategy": t.strategy, **{name: getattr(t, name) for name in TRADE_NUMBERS}}


def from_json(data: dict[str, Any]) -> EndOfDayReport:
    """A stored report back as data; a malformed body raises ValueError naming the problem."""
    try:
        b = data["broker"]
        deposit = b.get("deposit")
        return EndOfDayReport(
            trade_date=date.fromisoformat(data["trade_date"]),
            time=datetime.fromisoformat(data["time"]).astimezone(KST),
            source=str(data["source"]),
            strategies=tuple(
                StrategyTrades(str(t["strategy"]), *(int(t[n]) for n in TRADE_NUMBERS))
                for t in data["strategies"]
            ),
            positions=tuple(OpenPosition(**p) for p in data["positions"]),
            broker=BrokerCheck(
                status=Comparison(b["status"]),
                reason=str(b["reason"]),
                differences=tuple(Difference(**d) for d in b["differences"]),
                holdings_compared=int(b["holdings_compared"]),
                orders_compared=int(b["orders_compared"]),
                broker_fees=int(b["broker_fees"]),
                broker_taxes=int(b["broker_taxes"]),
                deposit=None if deposit is None else Deposit(**{k: int(deposit[k]) for k in _DEPOSIT}),
            ),
            denials=by_count({str(k): int(v) for k, v in data["denials"].items()}),
            reconnects=int(data["reconnects"]),
            notify_drops=None if data["notify_drops"] is None else int(data["notify_drops"]),
            orders=tuple((k, int(data["orders"][k])) for k in OUTCOMES if k in data["orders"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"stored report is malformed: {type(exc).__name__}: {exc}") from exc
