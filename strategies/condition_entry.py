"""Buy what a saved condition search (조건검색) inserts; sell by take-profit, stop, trailing stop, time.

A `ConditionHit` makes the symbol a *candidate*: it is watched for ticks, and bought once it has
stayed in the condition for `min_stay_s` (a timer; a `ConditionExit` first drops it) and its last
trade passes the filters (`max_price`, `min_cum_volume`), while the strategy has a free position
and budget and the symbol is not halted by a VI. A candidate lives until the condition drops the
symbol or its entry fills, so an entry that was denied, rejected or went stale is retried on a
later tick (after `retry_s`, at most `max_attempts` entries per symbol per day). Exits and the
forced exit before the close are the shared desk's (`strategies/_desk.py`).

```toml
[[strategy]]
name = "volume-surge"
plugin = "condition_entry"
condition = "거래량급증"
budget_krw = 3_000_000
max_positions = 3
[strategy.params]
entry = { order = "limit", offset_ticks = 1 }
min_stay_s = 30
max_price = 50_000
take_profit_pct = 3.0
stop_loss_pct = 1.5
trailing_stop_pct = 1.0
exit_before_close = "15:15"
```
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import Field

from bot.domain.market import ConditionExit, ConditionHit, Tick, TimerFired
from bot.domain.orders import Command, OrderCanceled, OrderDenied, OrderFilled, OrderRejected
from bot.domain.values import Side
from bot.engine.strategy import StrategyContext, StrategyEvent
from strategies._desk import Desk
from strategies._params import TradeParams
from strategies._rules import DeskRules

_STAY = "stay:"


class ConditionEntryParams(TradeParams):
    """Entry filters of `condition_entry`, on top of the shared sizing, order and exit settings."""

    min_stay_s: int = Field(
        default=0, ge=0, le=3_600, description="buy only after the symbol stayed in the condition this long"
    )
    max_price: int | None = Field(
        default=None, gt=0, description="buy only if the last price is <= this (KRW)"
    )
    min_cum_volume: int = Field(
        default=0, ge=0, description="buy only if today's cumulative volume is >= this (shares)"
    )
    exit_on_condition_exit: bool = Field(
        default=False,
        description="when the condition drops a symbol (D), sell it and cancel its working entry",
    )


class Plugin:
    """Condition-search entries with take-profit, stop-loss, trailing, max-hold and close exits."""

    Params = ConditionEntryParams

    def __init__(self, params: ConditionEntryParams) -> None:
        self.params = params
        self._desk = Desk(DeskRules.for_trades(params))
        self._candidates: dict[str, datetime] = {}  # code → when it may be bought
        self._watched: set[str] = set()

    def on_start(self, ctx: StrategyContext) -> Sequence[Command]:
        """Adopt positions and orders left from before a restart and arm the forced exit."""
        self._desk.new_day(ctx)
        for code in self._desk.adopt(ctx):
            self._watch(code, ctx)
        return self._desk.start_day(ctx)

    def on_event(self, event: StrategyEvent, ctx: StrategyContext) -> Sequence[Command]:
        """Route one event; every path returns at most one entry or exit per symbol."""
        cmds: list[Command] = []
        if self._desk.new_day(ctx):
            self._candidates.clear()
            cmds += self._desk.start_day(ctx)
        if isinstance(event, Tick):  # first: most events are ticks
            cmds += self._desk.on_tick(event, ctx)
            if event.code in self._candidates:
                cmds += self._try_enter(event.code, ctx)
        elif isinstance(event, ConditionHit):
            cmds += self._on_hit(event.code, ctx)
        elif isinstance(event, ConditionExit):
            cmds += self._on_condition_exit(event.code, ctx)
        elif isinstance(event, TimerFired):
            if event.key.startswith(_STAY):
                cmds += self._try_enter(event.key.removeprefix(_STAY), ctx)
            elif self._desk.owns_timer(event.key):
                cmds += self._desk.on_timer(event.key, ctx)
                cmds += self._try_enter(event.key.partition(":")[2], ctx)  # e.g. the retry after a denial
        elif isinstance(event, OrderFilled | OrderCanceled | OrderRejected | OrderDenied):
            if isinstance(event, OrderFilled) and event.side is Side.BUY:
                self._candidates.pop(event.code, None)  # the signal is spent; re-entry needs a new hit
            cmds += self._desk.on_order_event(event, ctx)
        if self._desk.closing:
            self._candidates.clear()
        self._unwatch_idle(ctx)
        return cmds

    def _on_hit(self, code: str, ctx: StrategyContext) -> list[Command]:
        """Make `code` a candidate, unless already in it, traded today, or past the entry window."""
        if not self._desk.entries_open(ctx) or code in self._candidates or not self._desk.idle(code, ctx):
            return []
        if self._desk.traded_today(code) and not self.params.allow_reentry:
            ctx.log.info("reentry_blocked", symbol=code)
            return []
        ready_at = ctx.now() + timedelta(seconds=self.params.min_stay_s)
        self._candidates[code] = ready_at
        self._watch(code, ctx)
        ctx.log.info("candidate_added", symbol=code, ready_at=ready_at.isoformat())
        if self.params.min_stay_s:
            ctx.set_timer(ready_at, f"{_STAY}{code}")
            return []
        return self._try_enter(code, ctx)

    def _on_condition_exit(self, code: str, ctx: StrategyContext) -> list[Command]:
        """Drop the candidate; with `exit_on_condition_exit`, also leave the position."""
        if self._candidates.pop(code, None) is not None:
            ctx.log.info("candidate_dropped", symbol=code)
        if self.params.exit_on_condition_exit:
            return self._desk.exit(code, "condition_exit", ctx)
        return []

    def _try_enter(self, code: str, ctx: StrategyContext) -> list[Command]:
        """Buy a ready candidate whose last trade passes the filters, if a position and budget are free."""
        ready_at = self._candidates.get(code)
        if ready_at is None or ctx.now() < ready_at or not self._desk.can_enter(code, ctx):
            return []
        tick = ctx.last_tick(code)
        if tick is None:
            return []  # no trade seen yet: the first tick will bring us back here
        p = self.params
        if p.max_price is not None and tick.price > p.max_price:
            return []
        if tick.cum_volume < p.min_cum_volume:
            return []
        if self._desk.open_count(ctx) >= ctx.max_positions:
            return []
        krw = p.position_krw if p.position_krw is not None else ctx.budget_krw // ctx.max_positions
        return self._desk.enter(code, krw, ctx, reason="condition_hit")

    def _watch(self, code: str, ctx: StrategyContext) -> None:
        if code not in self._watched:
            self._watched.add(code)
            ctx.watch(code)

    def _unwatch_idle(self, ctx: StrategyContext) -> None:
        """Stop ticks for symbols that are neither candidates nor held nor being traded."""
        candidates = self._candidates
        idle = [c for c in self._watched if c not in candidates and self._desk.idle(c, ctx)]
        if idle:
            for code in sorted(idle):
                self._watched.discard(code)
                ctx.unwatch(code)
