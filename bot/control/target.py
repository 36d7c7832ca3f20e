"""What Slack control needs from the running daemon, and the adapter over `bot.app.Daemon`.

The kill switch is changed exactly like `kiwoom-bot kill`: persisted in the journal through
`change_trading_state` (so it survives a restart) and, in the same breath, posted to the kernel as
`OperatorState` so entries stop at once instead of at the kernel's next one-second poll. The read
commands reuse `bot.operator.read_report` (the CLI's tables) on the daemon's journal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.domain.values import TradingState
from bot.engine.kernel_types import Flatten, OperatorState
from bot.operator import Query, Report, read_report
from bot.store import TradingStateRecord, change_trading_state

if TYPE_CHECKING:
    from bot.app import Daemon


class ControlTarget(Protocol):
    """The daemon as Slack control sees it: a status line, the kernel's inbox, the journal."""

    def status_line(self) -> str:
        """The daemon's one-line live status (mode, state, feed, counts)."""
        ...

    async def post(self, item: OperatorState | Flatten) -> None:
        """Put an operator input on the kernel's inbox."""
        ...

    async def set_trading_state(self, state: TradingState, reason: str, by: str) -> TradingStateRecord:
        """Persist the kill switch in the journal (as `kiwoom-bot kill/resume` does)."""
        ...

    async def report(self, command: str) -> Report:
        """One of the CLI's read commands (`status`, `positions`, `pnl`) for today, from the journal."""
        ...


class DaemonTarget:
    """`ControlTarget` over the running daemon's handle (kernel, config, journal path, clock)."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def status_line(self) -> str:
        """`Daemon.status()`: the same line systemd shows."""
        return self._daemon.status()

    async def post(self, item: OperatorState | Flatten) -> None:
        """Straight onto the kernel's inbox (bounded wait inside `Kernel.post`)."""
        await self._daemon.kernel.post(item)

    async def set_trading_state(self, state: TradingState, reason: str, by: str) -> TradingStateRecord:
        """`change_trading_state` on the daemon's journal, stamped with the daemon's clock."""
        now = self._daemon.kernel.clock.now()
        return await change_trading_state(self._daemon.config.store.path, state, reason, by, time=now)

    async def report(self, command: str) -> Report:
        """`bot.operator.read_report` for today's KST trading day (the daemon's clock)."""
        today = self._daemon.kernel.clock.now().date()
        return await read_report(self._daemon.config.store.path, Query(command, today))
