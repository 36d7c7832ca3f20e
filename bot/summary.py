"""The end-of-run summary: trades per strategy, realized P&L after fees and tax, open positions,
denials by rule, reconnects. Printed by `kiwoom-bot demo` and by `run` when it stops."""

from __future__ import annotations

from collections import defaultdict

from bot.app import RunSummary
from bot.engine.portfolio import EXTERNAL
from bot.notify.console import krw


def render_summary(summary: RunSummary) -> list[str]:
    """The summary as aligned lines for a terminal."""
    stats = summary.stats
    realized: dict[str, int] = defaultdict(int)
    costs: dict[str, int] = defaultdict(int)
    round_trips: dict[str, int] = defaultdict(int)
    for (strategy, _code), pos in summary.portfolio.all_positions().items():
        realized[strategy] += pos.realized_pnl
        costs[strategy] += pos.fees + pos.taxes
        if pos.qty == 0:
            round_trips[strategy] += 1
    wall = (summary.ended - summary.started).total_seconds()
    lines = [
        "",
        f"=== 요약 / summary: {summary.started:%Y-%m-%d %H:%M}–{summary.ended:%H:%M} KST "
        f"({wall / 3600:.1f} h simulated), state {summary.state} ===",
        f"{'strategy':<24}{'symbols traded':>16}{'realized P&L':>18}{'fees+tax':>14}",
    ]
    names = [*summary.strategies, *([EXTERNAL] if EXTERNAL in realized else [])]
    for name in names:
        lines.append(f"{name:<24}{round_trips[name]:>16,}{krw(realized[name]):>18}{krw(costs[name]):>14}")
    total = sum(realized.values())
    lines.append(
        f"{'total':<24}{sum(round_trips.values()):>16,}{krw(total):>18}{krw(sum(costs.values())):>14}"
    )
    open_positions = summary.portfolio.positions()
    if open_positions:
        lines.append("open positions:")
        for (strategy, code), pos in sorted(open_positions.items()):
            name = summary.market.name(code)
            lines.append(f"  {strategy:<22}{name}({code}) {pos.qty:,}주 @ {krw(pos.avg_price)}")
    else:
        lines.append("open positions: none")
    denials = ", ".join(f"{rule} {n}" for rule, n in sorted(stats.denials_by_rule.items())) or "none"
    lines += [
        f"orders submitted {stats.submitted:,}, fills {stats.fills:,}, rejected {stats.rejected:,}, "
        f"unknown {stats.unknown:,}",
        f"denials {stats.denied:,} ({denials})",
        f"condition hits {stats.condition_hits:,}, ticks {stats.ticks:,}, reconnects {stats.reconnects:,}, "
        f"reconciliations {stats.reconciles:,} with {stats.differences:,} differences",
    ]
    if summary.disabled:
        lines.append(f"strategies disabled by an error: {', '.join(summary.disabled)}")
    lines.append(f"journal: {summary.store_path}")
    return lines
