"""The strategy plugin API: the protocol, the context a plugin sees, and the plugin loader.

A plugin is a class with a pydantic `Params` model and synchronous hooks; it never does I/O.
It returns commands; the kernel passes them through the risk gate. Plugins are found in the
`strategies/` package and through the `kiwoom_bot.strategies` entry-point group.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.clock import Clock
from bot.config import StrategyConfig
from bot.domain.market import (
    ConditionExit,
    ConditionHit,
    SessionChanged,
    Tick,
    TimerFired,
    ViReleased,
    ViTriggered,
)
from bot.domain.orders import (
    CancelOrder,
    Command,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    SubmitOrder,
)
from bot.domain.position import PositionState
from bot.domain.values import OrderType, Side, Venue
from bot.engine.market_state import MarketState
from bot.engine.portfolio import Portfolio, WorkingOrder, reserve_price
from bot.errors import ConfigError
from bot.market.ticks import InstrumentKind, add_ticks, ceil_to_tick, floor_to_tick

StrategyEvent = (
    Tick
    | ConditionHit
    | ConditionExit
    | TimerFired
    | SessionChanged
    | ViTriggered
    | ViReleased
    | OrderFilled
    | OrderCanceled
    | OrderRejected
    | OrderDenied
)

ENTRY_POINT_GROUP = "kiwoom_bot.strategies"

__all__ = [
    "ENTRY_POINT_GROUP",
    "Strategy",
    "StrategyContext",
    "StrategyEvent",
    "StrategyParams",
    "WorkingOrder",
    "build_strategy",
    "find_plugin",
]


class StrategyParams(BaseModel):
    """Base for a plugin's `Params`: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@runtime_checkable
class Strategy(Protocol):
    """What a plugin implements. Hooks are synchronous and must not do I/O."""

    Params: ClassVar[type[StrategyParams]]

    def on_start(self, ctx: StrategyContext) -> Sequence[Command]:
        """Called once after reconciliation, before the first event."""
        ...

    def on_event(self, event: StrategyEvent, ctx: StrategyContext) -> Sequence[Command]:
        """Called for every event addressed to this strategy; returns commands (may be empty)."""
        ...


class StrategyContext:
    """A plugin's window on the engine: its own positions and budget, prices, the clock, order helpers."""

    def __init__(
        self,
        config: StrategyConfig,
        clock: Clock,
        portfolio: Portfolio,
        market: MarketState,
        *,
        venue: Venue,
        on_timer: Callable[[str, str, datetime | None], None],
        on_watch: Callable[[str, str, bool], None],
    ) -> None:
        self.name = config.name
        self.budget_krw = config.budget_krw
        self.max_positions = config.max_positions
        self.condition = config.condition
        self._clock = clock
        self._portfolio = portfolio
        self._market = market
        self._venue = venue
        self._on_timer = on_timer
        self._on_watch = on_watch
        self.log = structlog.get_logger("strategy").bind(strategy=config.name)

    # --- reading ------------------------------------------------------------------------
    def now(self) -> datetime:
        """The engine clock's current instant (KST)."""
        return self._clock.now()

    def position(self, code: str) -> PositionState:
        """This strategy's holding in a symbol."""
        return self._portfolio.position(self.name, code)

    def positions(self) -> dict[str, PositionState]:
        """This strategy's non-flat holdings by code."""
        return {code: p for (_, code), p in self._portfolio.positions(self.name).items()}

    def opened_at(self, code: str) -> datetime | None:
        """When this strategy's position in `code` was opened."""
        return self._portfolio.opened_at(self.name, code)

    def working_orders(self, code: str | None = None) -> list[WorkingOrder]:
        """This strategy's orders that may still trade."""
        return self._portfolio.working(self.name, code)

    def budget_left(self) -> int:
        """KRW this strategy may still commit."""
        return max(0, self.budget_krw - self._portfolio.budget_used(self.name, self._market))

    def last_price(self, code: str) -> int | None:
        """Latest traded price of a symbol."""
        return self._market.last_price(code)

    def last_tick(self, code: str) -> Tick | None:
        """Latest trade print of a symbol."""
        return self._market.last_tick(code)

    def stock_name(self, code: str) -> str:
        """Korean name as the broker gives it."""
        return self._market.name(code)

    def in_vi(self, code: str) -> bool:
        """Whether a VI halts the symbol now."""
        return self._market.in_vi(code)

    # --- requests to the engine -----------------------------------------------------------
    def set_timer(self, at: datetime, key: str) -> None:
        """Ask for a `TimerFired(key)` at `at` (engine clock); setting a key again moves it."""
        self._on_timer(self.name, key, at)

    def cancel_timer(self, key: str) -> None:
        """Forget a pending timer (no-op if none is set under `key`)."""
        self._on_timer(self.name, key, None)

    def watch(self, code: str) -> None:
        """Ask for ticks of a symbol (the engine subscribes once for all strategies)."""
        self._on_watch(self.name, code, True)

    def unwatch(self, code: str) -> None:
        """Stop asking for ticks of a symbol."""
        self._on_watch(self.name, code, False)

    # --- order helpers (they build commands; nothing is sent until the risk gate approves) --
    def _kind(self, code: str) -> InstrumentKind:
        info = self._market.info(code)
        return InstrumentKind.ETF if info and info.is_etf else InstrumentKind.STOCK

    def limit_price(
        self, code: str, side: Side, offset_ticks: int = 0, base: int | None = None
    ) -> int | None:
        """A tick-aligned limit price `offset_ticks` more aggressive than `base` (default: last price)."""
        ref = base if base is not None else self.last_price(code)
        if not ref:
            return None
        kind = self._kind(code)
        price = floor_to_tick(ref, kind) if side is Side.BUY else ceil_to_tick(ref, kind)
        try:
            price = add_ticks(price, offset_ticks if side is Side.BUY else -offset_ticks, kind)
        except ValueError:  # below the lowest tick: the lowest valid price is as aggressive as it gets
            price = 1
        info = self._market.info(code)
        if info and info.upper_limit and info.lower_limit:
            price = min(max(price, info.lower_limit), info.upper_limit)
        return price

    def buy(
        self,
        code: str,
        *,
        krw: int | None = None,
        qty: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        price: int | None = None,
        offset_ticks: int = 0,
        reason: str = "",
    ) -> SubmitOrder | None:
        """A buy for `qty` shares or as many as `krw` buys at the limit price; None if it cannot be priced."""
        limit = price if price is not None else self.limit_price(code, Side.BUY, offset_ticks)
        if limit is None:
            return None
        if qty is None:
            if krw is None:
                raise ValueError("buy() needs qty or krw")
            reserve = self._reservation_price(code, order_type, limit)
            qty = krw // reserve if reserve else 0
        if qty <= 0:
            return None
        return SubmitOrder(
            strategy=self.name,
            code=code,
            side=Side.BUY,
            qty=qty,
            order_type=order_type,
            price=limit if order_type.needs_price else 0,
            venue=self._venue,
            reason=reason,
        )

    def sell(
        self,
        code: str,
        *,
        qty: int | None = None,
        order_type: OrderType = OrderType.LIMIT,
        price: int | None = None,
        offset_ticks: int = 0,
        reason: str = "",
    ) -> SubmitOrder | None:
        """A sell of `qty` shares (default: everything held and not already being sold)."""
        held = self.position(code).qty
        selling = sum(o.remaining_qty for o in self.working_orders(code) if o.side is Side.SELL)
        qty = held - selling if qty is None else min(qty, held - selling)
        if qty <= 0:
            return None
        limit = price if price is not None else self.limit_price(code, Side.SELL, offset_ticks)
        if order_type.needs_price and limit is None:
            return None
        return SubmitOrder(
            strategy=self.name,
            code=code,
            side=Side.SELL,
            qty=qty,
            order_type=order_type,
            price=(limit or 0) if order_type.needs_price else 0,
            venue=self._venue,
            reason=reason,
            is_exit=True,
        )

    def cancel(self, order: WorkingOrder, reason: str = "") -> CancelOrder:
        """Cancel the remaining quantity of one of this strategy's orders."""
        return CancelOrder(strategy=self.name, intent_id=order.intent_id, reason=reason)

    def _reservation_price(self, code: str, order_type: OrderType, limit: int) -> int:
        """Market buys are accepted as buys at the upper limit (krx-market-rules.md §6)."""
        if order_type.needs_price:
            return limit
        return reserve_price(self._market, code) or limit


def _builtin_plugin(name: str) -> type[Any] | None:
    """A plugin shipped in the `strategies/` package: module `strategies.<name>`, attribute `Plugin`."""
    try:
        module = importlib.import_module(f"strategies.{name}")
    except ModuleNotFoundError as exc:
        if exc.name in (f"strategies.{name}", "strategies"):
            return None
        raise
    plugin = getattr(module, "Plugin", None)
    return plugin if isinstance(plugin, type) else None


def find_plugin(name: str) -> type[Any]:
    """The plugin class registered under `name` (built-in first, then entry points)."""
    found = _builtin_plugin(name)
    if found is None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                found = ep.load()
                break
    if found is None:
        raise LookupError(
            f"no strategy plugin named {name!r} (looked in strategies/ and '{ENTRY_POINT_GROUP}')"
        )
    if not (isinstance(getattr(found, "Params", None), type) and issubclass(found.Params, StrategyParams)):
        raise LookupError(f"strategy plugin {name!r} has no Params model derived from StrategyParams")
    return found


def build_strategy(config: StrategyConfig, source: str, index: int) -> Strategy:
    """Instantiate a configured plugin with validated params; errors name the file and key."""
    where = f"{source}: strategy[{index}]"
    try:
        cls = find_plugin(config.plugin)
    except LookupError as exc:
        raise ConfigError(f"{where}.plugin: {exc} (given: {config.plugin!r})") from None
    try:
        params = cls.Params.model_validate(config.params)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            shown = "" if err["type"] == "missing" else f" (given: {err.get('input')!r})"
            msg = "unknown key (typo?)" if err["type"] == "extra_forbidden" else err["msg"]
            lines.append(f"{where}.params.{key}: {msg.removeprefix('Value error, ')}{shown}")
        raise ConfigError("\n".join(lines)) from None
    instance = cls(params)
    if not isinstance(instance, Strategy):
        raise ConfigError(f"{where}.plugin: {config.plugin!r} does not implement on_start/on_event")
    return instance
