"""The end-of-day report as aligned terminal lines (the operator CLI's tables and formats)."""

from __future__ import annotations

from bot.notify.console import krw
from bot.operator import display_width, kst_text, stock, table
from bot.report.model import Comparison, EndOfDayReport, StrategyTrades

_SOURCE = {"daemon": "by the daemon", "journal": "from the journal alone"}


def _trade_cells(t: StrategyTrades) -> tuple[str, ...]:
    return (
        t.strategy,
        f"{t.buys:,}",
        f"{t.buy_qty:,}",
        krw(t.buy_amount),
        f"{t.sells:,}",
        f"{t.sell_qty:,}",
        krw(t.sell_amount),
        krw(t.fees),
        krw(t.taxes),
        krw(t.realized_pnl),
    )


def _pairs(rows: list[tuple[str, str]]) -> list[str]:
    width = max(display_width(k) for k, _ in rows)
    return [f"{k}{' ' * (width - display_width(k))}  {v}" for k, v in rows]


def report_lines(report: EndOfDayReport) -> list[str]:
    """Every section of the report for a terminal: trades, positions, broker differences, counters."""
    made = _SOURCE.get(report.source, report.source)
    lines = [
        f"end-of-day report {report.trade_date.isoformat()} (made {kst_text(report.time)} KST {made})",
        "",
    ]
    lines.append("trades and realized P&L (after fees and tax)")
    if report.strategies:
        header: tuple[str, ...] = ("STRATEGY", "BUYS", "BUY QTY", "BUY AMOUNT", "SELLS", "SELL QTY")
        header += ("SELL AMOUNT", "FEES", "TAXES", "REALIZED")
        body = [_trade_cells(t) for t in report.strategies]
        if len(report.strategies) > 1:
            body.append(_trade_cells(report.total))
        lines += table(header, body, frozenset(range(1, 10)))
    else:
        lines.append("no fills")
    lines += ["", "open positions"]
    if report.positions:
        names = {p.code: p.name for p in report.positions}
        body = [
            (
                p.strategy,
                stock(p.code, names),
                f"{p.qty:,}",
                krw(p.avg_price),
                krw(p.last_price) if p.last_price is not None else "-",
                krw(p.unrealized_pnl) if p.unrealized_pnl is not None else "-",
            )
            for p in report.positions
        ]
        lines += table(
            ("STRATEGY", "STOCK", "QTY", "AVG PRICE", "LAST PRICE", "UNREALIZED"),
            body,
            frozenset({2, 3, 4, 5}),
        )
    else:
        lines.append("none")
    b = report.broker
    lines += ["", f"broker comparison: {b.summary()}"]
    if b.differences:
        body = [(d.kind, d.code, d.order_no or "-", f"{d.journal:,}", f"{d.broker:,}") for d in b.differences]
        lines += table(("KIND", "CODE", "ORDER NO", "JOURNAL", "BROKER"), body, frozenset({3, 4}))
    if b.status is Comparison.COMPARED:
        t = report.total
        costs = f"{krw(b.broker_fees)} / {krw(b.broker_taxes)} (journal {krw(t.fees)} / {krw(t.taxes)})"
        rows = [("broker fees / taxes", costs)]
        if b.deposit is not None:
            d = b.deposit
            rows.append(("deposit", f"{krw(d.cash)}, D+2 {krw(d.d2_cash)}, orderable {krw(d.orderable)}"))
        lines += _pairs(rows)
    denials = ", ".join(f"{rule} {n:,}" for rule, n in report.denials) or "none"
    orders = dict(report.orders)
    outcome = ", ".join(
        f"{orders.get(k, 0):,} {k}" for k in ("working", "filled", "rejected", "unknown", "canceled")
    )
    drops = "unknown (not made by the daemon)" if report.notify_drops is None else f"{report.notify_drops:,}"
    priced = any(p.unrealized_pnl is not None for p in report.positions)
    unrealized = (
        f"{krw(report.unrealized_pnl)} (positions with a known price, before exit costs)"
        if priced
        else "-  (no last price known)"
    )
    lines.append("")
    lines += _pairs(
        [
            ("realized P&L", krw(report.realized_pnl)),
            ("unrealized P&L", unrealized),
            ("orders", f"{outcome} ({orders.get('total', 0):,} in all)"),
            ("denials by rule", denials),
            ("reconnects", f"{report.reconnects:,}"),
            ("notifications lost", drops),
        ]
    )
    return lines
