"""Strategy timers on the engine clock: one task sleeps until the earliest deadline, then reports it."""

from __future__ import annotations

import heapq
from datetime import datetime

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectSendStream

from bot.clock import Clock
from bot.domain.market import TimerFired


class Timers:
    """Pending timers keyed by (strategy, key); setting a key again moves it, None cancels it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._due: dict[tuple[str, str], datetime] = {}
        self._heap: list[tuple[datetime, str, str]] = []
        self._changed = anyio.Event()

    def set(self, strategy: str, key: str, at: datetime | None) -> None:
        """Arm, move or (with None) cancel a timer."""
        if at is None:
            self._due.pop((strategy, key), None)
        else:
            self._due[(strategy, key)] = at
            heapq.heappush(self._heap, (at, strategy, key))
        self._changed.set()

    def pop_due(self, now: datetime) -> list[TimerFired]:
        """Every timer whose deadline has passed, in deadline order."""
        fired: list[TimerFired] = []
        while self._heap and self._heap[0][0] <= now:
            at, strategy, key = heapq.heappop(self._heap)
            if self._due.get((strategy, key)) == at:
                del self._due[(strategy, key)]
                fired.append(TimerFired(strategy, key, at))
        return fired

    def next_due(self) -> datetime | None:
        """The earliest live deadline."""
        while self._heap and self._due.get((self._heap[0][1], self._heap[0][2])) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    async def run(
        self,
        out: MemoryObjectSendStream[TimerFired],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Report due timers to the kernel's inbox as they come due on the clock."""
        task_status.started()
        while True:
            changed = self._changed = anyio.Event()
            due = self.next_due()
            async with anyio.create_task_group() as tg:
                tg.start_soon(_cancel_when_set, changed, tg.cancel_scope)
                if due is not None:
                    await self._clock.sleep_until(due)
                    tg.cancel_scope.cancel()
            for fired in self.pop_due(self._clock.now()):
                with anyio.fail_after(30):
                    await out.send(fired)


async def _cancel_when_set(event: anyio.Event, scope: anyio.CancelScope) -> None:
    """Cancel `scope` once `event` is set (the timer set changed: recompute the next deadline)."""
    await event.wait()
    scope.cancel()
