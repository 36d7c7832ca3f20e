"""Per-strategy statistics of a replay, computed from the journal's fills (the single source).

- trades: round trips — a strategy's holding in one symbol going from flat to flat again;
- win rate: the share of round trips whose realized P&L (both sides' fees and the sell tax) is > 0;
- realized P&L: the sum of the fills' realized P&L (net of fees and taxes, `bot.domain.position`);
- max drawdown: the largest fall of the strategy's cumulative realized P&L from its running peak
  (the peak starts at 0, so a strategy that only lost has a drawdown of its worst cumulative loss);
- exposure: the cost (KRW) of the shares the strategy holds; the maximum over the session and its
  average weighted by time from the replay's start to its end.
All money is int KRW (the average exposure is rounded to the won).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.position import PositionState, apply_fill
from bot.store import FillRow


@dataclass(frozen=True, slots=True)
class StrategyStats:
    """What one strategy did in a replay (see the module docstring for each figure)."""

    strategy: str
    trades: int = 0
    wins: int = 0
    fills: int = 0
    realized_pnl: int = 0
    fees: int = 0
    taxes: int = 0
    max_drawdown: int = 0
    max_exposure: int = 0
    avg_exposure: int = 0
    open_symbols: int = 0

    @property
    def win_rate(self) -> float | None:
        """Winning round trips / round trips (None without any)."""
        return self.wins / self.trades if self.trades else None

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (money as int KRW, win rate as a fraction or null)."""
        return {**asdict(self), "win_rate": self.win_rate}


@dataclass(slots=True)
class _Tracker:
    """Running state of one strategy while its fills are walked in order."""

    positions: dict[str, PositionState] = field(default_factory=dict)
    trip_pnl: dict[str, int] = field(default_factory=dict)
    trades: int = 0
    wins: int = 0
    fills: int = 0
    realized: int = 0
    fees: int = 0
    taxes: int = 0
    peak: int = 0
    drawdown: int = 0
    exposure: int = 0
    max_exposure: int = 0
    exposure_area: float = 0.0  # KRW × seconds
    last_time: datetime | None = None


def strategy_stats(
    fills: Iterable[FillRow], strategies: Sequence[str], start: datetime, end: datetime
) -> dict[str, StrategyStats]:
    """Statistics per strategy (every name in `strategies`, plus any other that has fills)."""
    trackers: dict[str, _Tracker] = {name: _Tracker() for name in strategies}
    for fill in fills:
        t = trackers.setdefault(fill.strategy, _Tracker())
        _advance(t, max(fill.time, start))
        before = t.positions.get(fill.code, PositionState())
        after = apply_fill(before, fill.side, fill.qty, fill.price, fill.fee, fill.tax)
        t.positions[fill.code] = after
        t.fills += 1
        t.fees += fill.fee
        t.taxes += fill.tax
        t.realized += fill.realized_pnl
        t.trip_pnl[fill.code] = t.trip_pnl.get(fill.code, 0) + fill.realized_pnl
        if after.qty == 0:  # flat again: one round trip done
            pnl = t.trip_pnl.pop(fill.code)
            t.trades += 1
            t.wins += pnl > 0
        t.peak = max(t.peak, t.realized)
        t.drawdown = max(t.drawdown, t.peak - t.realized)
        t.exposure = sum(abs(p.cost_basis) for p in t.positions.values())
        t.max_exposure = max(t.max_exposure, t.exposure)
    span = max((end - start).total_seconds(), 0.0)
    out: dict[str, StrategyStats] = {}
    for name, t in trackers.items():
        _advance(t, end)
        out[name] = StrategyStats(
            strategy=name,
            trades=t.trades,
            wins=t.wins,
            fills=t.fills,
            realized_pnl=t.realized,
            fees=t.fees,
            taxes=t.taxes,
            max_drawdown=t.drawdown,
            max_exposure=t.max_exposure,
            avg_exposure=round(t.exposure_area / span) if span > 0 else t.exposure,
            open_symbols=sum(1 for p in t.positions.values() if p.qty != 0),
        )
    return out


def _advance(t: _Tracker, now: datetime) -> None:
    """Accumulate the exposure held since the last fill up to `now`."""
    if t.last_time is not None and now > t.last_time:
        t.exposure_area += t.exposure * (now - t.last_time).total_seconds()
    if t.last_time is None or now > t.last_time:
        t.last_time = now
