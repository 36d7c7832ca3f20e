"""What the engine knows about each symbol right now: last trade, name, limits, VI, freshness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.market import Tick, ViReleased, ViTriggered


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """Static facts of a symbol for the day: Korean name and the daily price limits."""

    code: str
    name: str
    base_price: int = 0
    upper_limit: int = 0
    lower_limit: int = 0
    is_etf: bool = False


class MarketState:
    """Latest market facts per symbol, updated by the kernel from feed events."""

    def __init__(self) -> None:
        self._ticks: dict[str, Tick] = {}
        self._info: dict[str, SymbolInfo] = {}
        self._vi: dict[str, datetime] = {}

    def on_tick(self, tick: Tick) -> None:
        """Remember the latest trade of a symbol."""
        self._ticks[tick.code] = tick

    def on_vi(self, event: ViTriggered | ViReleased) -> None:
        """Track which symbols are in a volatility interruption."""
        if isinstance(event, ViTriggered):
            self._vi[event.code] = event.time
        else:
            self._vi.pop(event.code, None)

    def set_info(self, info: SymbolInfo) -> None:
        """Record a symbol's name and limits (from the broker's stock-info query)."""
        self._info[info.code] = info

    def info(self, code: str) -> SymbolInfo | None:
        """Name and limits of a symbol, if known."""
        return self._info.get(code)

    def name(self, code: str) -> str:
        """The Korean name as the broker gives it, or the code when unknown."""
        info = self._info.get(code)
        return info.name if info and info.name else code

    def last_tick(self, code: str) -> Tick | None:
        """The latest trade print of a symbol."""
        return self._ticks.get(code)

    def last_price(self, code: str) -> int | None:
        """The latest traded price, falling back to the base price before the first trade."""
        tick = self._ticks.get(code)
        if tick is not None:
            return tick.price
        info = self._info.get(code)
        return info.base_price if info and info.base_price else None

    def in_vi(self, code: str) -> bool:
        """Whether the symbol is halted by a VI right now."""
        return code in self._vi
