"""The kernel's vocabulary: its ports, the inputs it accepts besides feed events, the events it
publishes, and its bookkeeping records. Kept apart so the kernel module holds only behaviour."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.config import StrategyConfig
from bot.domain.account import OrderEvent
from bot.domain.market import Tick, ViReleased, ViTriggered
from bot.domain.snapshots import FillRecord, Holding, OpenOrder
from bot.domain.values import TradingState
from bot.engine.portfolio import WorkingOrder
from bot.engine.strategy import Strategy, StrategyContext


class FeedControl(Protocol):
    """What the kernel may ask of the market-data feed (subscriptions are the feed's business)."""

    async def watch(self, codes: Sequence[str]) -> None:
        """Deliver ticks for these codes from now on (and after every reconnect)."""
        ...

    async def unwatch(self, codes: Sequence[str]) -> None:
        """Stop delivering ticks for these codes."""
        ...


class LocalFills(Protocol):
    """A broker that fills locally against ticks (dry-run): the kernel feeds it every tick."""

    def on_tick(self, tick: Tick) -> list[OrderEvent]:
        """Order events caused by this trade print."""
        ...

    def on_vi(self, event: ViTriggered | ViReleased) -> list[OrderEvent]:
        """Order events caused by a VI starting or ending (IOC/FOK canceled)."""
        ...


@dataclass(frozen=True, slots=True)
class OperatorState:
    """The persisted kill switch changed outside the kernel (CLI, Slack)."""

    state: TradingState
    reason: str
    by: str


@dataclass(frozen=True, slots=True)
class Flatten:
    """Exit every position the strategies hold (operator command): trading goes REDUCING first so
    nothing re-enters, working entries are canceled, and each position gets one exit order."""

    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class Reconcile:
    """Ask the kernel to reconcile with the broker now (after a reconnect, or to resolve UNKNOWN)."""

    reason: str


@dataclass(frozen=True, slots=True)
class BrokerView:
    """What the broker reported for a reconciliation, and the engine's working orders when it asked."""

    reason: str
    orders: tuple[WorkingOrder, ...]
    open_orders: tuple[OpenOrder, ...]
    fills: tuple[FillRecord, ...]
    holdings: tuple[Holding, ...]


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """Replace the strategy set (SIGHUP reload): plugins already built and validated by the caller."""

    strategies: tuple[tuple[StrategyConfig, Strategy, str], ...]  # (config, plugin, condition seq)


@dataclass(frozen=True, slots=True)
class StateChanged:
    """Trading state changed (published to the operator)."""

    state: TradingState
    reason: str
    by: str
    time: datetime


@dataclass(frozen=True, slots=True)
class StrategyDisabled:
    """A plugin raised; it is switched off and the others keep running."""

    strategy: str
    error: str
    time: datetime


@dataclass(frozen=True, slots=True)
class Reconciled:
    """A reconciliation finished; `differences` should be 0 on a clean day."""

    reason: str
    synced_orders: int
    differences: int
    detail: tuple[str, ...]
    time: datetime


@dataclass(frozen=True, slots=True)
class FlattenStarted:
    """A `Flatten` was acted on: trading is REDUCING, working entries are being canceled and exits sent.

    `positions` counts the strategy positions found, `orders` the exit orders sent, `canceled` the
    entry cancels asked for; `skipped` says, per symbol, why no exit went out (denied, nothing left).
    """

    by: str
    reason: str
    positions: int
    orders: int
    canceled: int
    skipped: tuple[str, ...]
    time: datetime


@dataclass(frozen=True, slots=True)
class FeedStorm:
    """The real-time session dropped `count` times within `window_s` seconds (a reconnect storm)."""

    count: int
    window_s: int
    time: datetime


KernelInput = Any  # feed events, router outcomes, timers, SymbolInfo, OperatorState, Reconcile
EventSink = Callable[[object], None]


@dataclass(slots=True)
class StrategySlot:
    """A configured plugin instance with its context; disabled for good after an exception."""

    config: StrategyConfig
    plugin: Strategy
    ctx: StrategyContext
    condition_seq: str = ""
    enabled: bool = True
    watched: set[str] = field(default_factory=set)


@dataclass(slots=True)
class KernelStats:
    """Counters for the summary, status and benchmarks."""

    events: int = 0
    ticks: int = 0
    condition_hits: int = 0
    submitted: int = 0
    denied: int = 0
    rejected: int = 0
    unknown: int = 0
    fills: int = 0
    reconnects: int = 0
    reconciles: int = 0
    differences: int = 0
    denials_by_rule: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReloadRefused:
    """A SIGHUP found a bad file; the running configuration was kept."""

    file: str
    problems: tuple[str, ...]
