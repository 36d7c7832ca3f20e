"""Opening-range breakout: buy the first trade above the high of the first minutes of the session.

For each configured symbol the range is the day's high and low as reported by the ticks traded
in `[open_at, open_at + range_minutes)` (the feed's day high/low, so a restart inside the window
loses nothing). From the end of the window, a trade strictly above the range high — optionally
with enough volume — is bought once; the position is stopped at the range low (and/or a stop-loss
%), taken profit at a take-profit %, and sold before the close by the shared desk. A symbol whose
window passed without a tick seen (started late) is not traded that day.

```toml
[[strategy]]
name = "orb"
plugin = "opening_range_breakout"
budget_krw = 2_000_000
max_positions = 2
[strategy.params]
symbols = ["005930", "000660"]
range_minutes = 15
min_breakout_qty = 100
take_profit_pct = 2.0
exit_before_close = "15:15"
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from pydantic import Field

from bot.domain.market import Tick, TimerFired
from bot.domain.orders import Command, OrderCanceled, OrderDenied, OrderFilled, OrderRejected
from bot.engine.strategy import StrategyContext, StrategyEvent
from strategies._desk import Desk
from strategies._params import DailyTime, Symbols, TimeOfDay, TradeParams
from strategies._rules import DeskRules


class OpeningRangeParams(TradeParams):
    """What to trade and how the range and the breakout are defined."""

    symbols: Symbols = Field(description="stock codes to trade, e.g. ['005930', '000660']")
    open_at: TimeOfDay = Field(default=time(9, 0), description="when the range starts (the regular open)")
    range_minutes: int = Field(default=15, ge=1, le=180, description="length of the opening range")
    min_cum_volume: int = Field(
        default=0, ge=0, description="buy only if today's cumulative volume at the breakout is >= this"
    )
    min_breakout_qty: int = Field(
        default=0,
        ge=0,
        description="buy only on a buyer-initiated breakout trade of at least this many shares",
    )
    stop_at_range_low: bool = Field(default=True, description="sell when the price falls to the range low")


@dataclass(slots=True)
class OpeningRange:
    """The high and low of one symbol's opening window so far."""

    high: int
    low: int


class Plugin:
    """Buys breakouts above the opening range of a fixed list of symbols."""

    Params = OpeningRangeParams

    def __init__(self, params: OpeningRangeParams) -> None:
        self.params = params
        self._desk = Desk(DeskRules.for_trades(params))
        self._ranges: dict[str, OpeningRange] = {}
        self._unknown: set[str] = set()  # window missed today: no trade
        self._symbols = frozenset(params.symbols)
        self._open_at = DailyTime(params.open_at)
        self._window = timedelta(minutes=params.range_minutes)
        self._window_end = (datetime.min, datetime.min)  # (a window start, its end), kept for the day

    def on_start(self, ctx: StrategyContext) -> Sequence[Command]:
        """Watch the symbols, adopt what a restart left behind and arm the forced exit."""
        self._desk.new_day(ctx)
        for code in sorted(set(self.params.symbols) | set(self._desk.adopt(ctx))):
            ctx.watch(code)
        return self._desk.start_day(ctx)

    def on_event(self, event: StrategyEvent, ctx: StrategyContext) -> Sequence[Command]:
        """Build ranges and trade breakouts on ticks; let the desk handle timers and order outcomes."""
        cmds: list[Command] = []
        if self._desk.new_day(ctx):
            self._ranges.clear()
            self._unknown.clear()
            cmds += self._desk.start_day(ctx)
        if isinstance(event, Tick):
            cmds += self._desk.on_tick(event, ctx)
            if event.code in self._symbols:
                cmds += self._on_tick(event, ctx)
        elif isinstance(event, TimerFired) and self._desk.owns_timer(event.key):
            cmds += self._desk.on_timer(event.key, ctx)
        elif isinstance(event, OrderFilled | OrderCanceled | OrderRejected | OrderDenied):
            cmds += self._desk.on_order_event(event, ctx)
        return cmds

    def _on_tick(self, tick: Tick, ctx: StrategyContext) -> list[Command]:
        """Widen the range inside the window; after it, buy a qualifying break above the high."""
        start = self._open_at(tick.time)
        if tick.time < start:
            return []
        if self._window_end[0] is not start:
            self._window_end = (start, start + self._window)
        rng = self._ranges.get(tick.code)
        if tick.time < self._window_end[1]:
            high = max(tick.price, tick.high)
            low = min(tick.price, tick.low) if tick.low else tick.price
            if rng is None:
                self._ranges[tick.code] = OpeningRange(high, low)
            else:
                rng.high, rng.low = max(rng.high, high), min(rng.low, low)
            return []
        if rng is None:
            if tick.code not in self._unknown:
                self._unknown.add(tick.code)
                ctx.log.warning("range_unknown", symbol=tick.code, reason="no tick seen inside the window")
            return []
        if tick.price <= rng.high:  # no breakout (the first of `_breakout`'s tests, the usual answer)
            return []
        if not self._breakout(tick, rng) or not self._desk.can_enter(tick.code, ctx):
            return []
        if self._desk.open_count(ctx) >= ctx.max_positions:
            return []
        p = self.params
        krw = p.position_krw if p.position_krw is not None else ctx.budget_krw // ctx.max_positions
        stop = rng.low if p.stop_at_range_low else 0
        ctx.log.info("breakout", symbol=tick.code, price=tick.price, range_high=rng.high, range_low=rng.low)
        return self._desk.enter(tick.code, krw, ctx, reason="breakout", stop_price=stop)

    def _breakout(self, tick: Tick, rng: OpeningRange) -> bool:
        """A trade strictly above the range high that meets the volume filters."""
        p = self.params
        return (
            tick.price > rng.high
            and tick.cum_volume >= p.min_cum_volume
            and (p.min_breakout_qty == 0 or tick.qty >= p.min_breakout_qty)
        )
