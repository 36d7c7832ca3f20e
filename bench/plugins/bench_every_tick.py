"""A bench-only strategy: buy on every trigger tick (a print of exactly `trigger_qty` shares).

Found by the plugin loader as `strategies.bench_every_tick` once a benchmark appends this
directory to the `strategies` package path (`bench/tick_to_order.py` does); never shipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.market import Tick
from bot.domain.orders import Command
from bot.domain.values import OrderType
from bot.engine.strategy import StrategyContext, StrategyEvent, StrategyParams


class EveryTickParams(StrategyParams):
    """Which symbols to watch and which print size is a trigger."""

    symbols: tuple[str, ...]
    trigger_qty: int = 777_777


class Plugin:
    """Market-buys 1..97 shares per trigger (cycling, so no two recent orders are identical)."""

    Params = EveryTickParams

    def __init__(self, params: EveryTickParams) -> None:
        self.params = params
        self.triggers = 0

    def on_start(self, ctx: StrategyContext) -> Sequence[Command]:
        """Watch the symbols."""
        for code in self.params.symbols:
            ctx.watch(code)
        return []

    def on_event(self, event: StrategyEvent, ctx: StrategyContext) -> Sequence[Command]:
        """A trigger print → one market buy."""
        if not isinstance(event, Tick) or abs(event.qty) != self.params.trigger_qty:
            return []
        self.triggers += 1
        order = ctx.buy(event.code, qty=1 + self.triggers % 97, order_type=OrderType.MARKET, reason="bench")
        return [order] if order is not None else []
