"""Time-driven: at `buy_at` bring each configured symbol up to `krw_per_symbol`, sell everything at `sell_at`.

The buy tops each holding up to its target value at the last price, so a restart or a repeated
timer never buys twice what is already held or being bought. The sell is the shared desk's forced
exit (cancel working buys, sell the lot, re-price a stale limit, back off after a denial). A time
already past when the bot starts is not caught up on, except the sell: started after `sell_at`
with shares still held, it sells them at once.

```toml
[[strategy]]
name = "morning-basket"
plugin = "scheduled_rebalance"
budget_krw = 3_000_000
max_positions = 3
[strategy.params]
symbols = ["005930", "000660", "035420"]
krw_per_symbol = 1_000_000
buy_at = "09:30"
sell_at = "15:10"
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import time

from pydantic import Field, ValidationInfo, field_validator

from bot.domain.market import Tick, TimerFired
from bot.domain.orders import Command, OrderCanceled, OrderDenied, OrderFilled, OrderRejected
from bot.engine.strategy import StrategyContext, StrategyEvent
from strategies._desk import Desk
from strategies._params import OptionalTime, OrderParams, Symbols, TimeOfDay, today_at
from strategies._rules import DeskRules

_BUY = "buy"


class RebalanceParams(OrderParams):
    """Which symbols, how much of each, and when to buy and sell."""

    symbols: Symbols = Field(description="stock codes to hold, e.g. ['005930', '000660']")
    krw_per_symbol: int = Field(gt=0, description="target value of each holding in KRW at the last price")
    buy_at: TimeOfDay = Field(default=time(9, 30), description="when to top the holdings up to target")
    sell_at: OptionalTime = Field(default=time(15, 10), description="when to sell everything (false: hold)")

    @field_validator("sell_at")
    @classmethod
    def _sell_after_buy(cls, sell_at: time | None, info: ValidationInfo) -> time | None:
        buy_at = info.data.get("buy_at")
        if sell_at is not None and buy_at is not None and sell_at <= buy_at:
            raise ValueError(f"must be later than buy_at ({buy_at}), got {sell_at}")
        return sell_at


class Plugin:
    """Buys a fixed KRW amount of each symbol at one time of day and sells it at another."""

    Params = RebalanceParams

    def __init__(self, params: RebalanceParams) -> None:
        self.params = params
        rules = DeskRules.for_orders(params)
        self._desk = Desk(replace(rules, close_at=params.sell_at))

    def on_start(self, ctx: StrategyContext) -> Sequence[Command]:
        """Watch the symbols (for prices), adopt what a restart left behind and arm today's timers."""
        self._desk.new_day(ctx)
        for code in sorted(set(self.params.symbols) | set(self._desk.adopt(ctx))):
            ctx.watch(code)
        return self._start_day(ctx)

    def on_event(self, event: StrategyEvent, ctx: StrategyContext) -> Sequence[Command]:
        """Buy on the buy timer; the desk sells on the sell timer and follows every order outcome."""
        cmds: list[Command] = []
        if self._desk.new_day(ctx):
            cmds += self._start_day(ctx)
        if isinstance(event, Tick):
            cmds += self._desk.on_tick(event, ctx)
        elif isinstance(event, TimerFired):
            if event.key == _BUY:
                cmds += self._buy(ctx)
            elif self._desk.owns_timer(event.key):
                cmds += self._desk.on_timer(event.key, ctx)
        elif isinstance(event, OrderFilled | OrderCanceled | OrderRejected | OrderDenied):
            cmds += self._desk.on_order_event(event, ctx)
        return cmds

    def _start_day(self, ctx: StrategyContext) -> list[Command]:
        """Arm the buy timer if its time is still ahead, and the sell (or sell now if past it)."""
        buy_at = today_at(ctx.now(), self.params.buy_at)
        if ctx.now() < buy_at:
            ctx.set_timer(buy_at, _BUY)
        else:
            ctx.log.info("buy_time_passed", buy_at=buy_at.isoformat())
        return self._desk.start_day(ctx)

    def _buy(self, ctx: StrategyContext) -> list[Command]:
        """For each symbol, buy the shortfall between its target and what is held, at the last price.

        The budget and the position count are tracked across the batch: the portfolio only sees
        these orders once the kernel has taken them.
        """
        cmds: list[Command] = []
        budget = ctx.budget_left()
        open_count = self._desk.open_count(ctx)
        for code in self.params.symbols:
            last = ctx.last_price(code)
            held = ctx.position(code).qty
            if not last or not self._desk.can_enter(code, ctx, top_up=True):
                ctx.log.info("rebalance_skipped", symbol=code, last=last, in_vi=ctx.in_vi(code))
                continue
            if not held and open_count >= ctx.max_positions:
                ctx.log.info("rebalance_skipped", symbol=code, reason="max_positions")
                continue
            krw = min(self.params.krw_per_symbol - held * last, budget)
            if krw <= 0:
                continue
            sent = self._desk.enter(code, krw, ctx, reason="rebalance")
            if sent:
                budget -= krw
                open_count += 0 if held else 1
                cmds += sent
        return cmds
