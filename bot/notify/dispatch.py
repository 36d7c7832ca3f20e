"""The bounded, lossy fan-out from the engine to the operator's channels.

The kernel's sink is `Notifier.__call__(event)`: it describes the event, routes it and puts it on
each chosen sink's bounded queue without waiting. A full queue drops the notice and counts it; it
never blocks and never raises. `Notifier.run()` drains every queue in its own task: notices that
arrive within `batch_window_s` of the first go out as one message (30 fills in a second → one Slack
post), each delivery runs in a worker thread (the sinks are blocking clients) and is retried with
exponential backoff; a batch that still fails is dropped, counted and logged. The next message to
that sink starts with "N notices lost", so drops are reported to the operator later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import anyio
import structlog
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from bot.clock import Clock
from bot.notify.messages import Notice, dropped_notice
from bot.notify.routing import Routing

log = structlog.get_logger(__name__)


class Sink(Protocol):
    """A blocking delivery channel (Slack, SMTP, console); called from a worker thread."""

    name: str

    def deliver(self, notices: Sequence[Notice]) -> None:
        """Send the batch as one message; raise on failure (the dispatcher retries)."""
        ...

    def redact(self, text: str) -> str:
        """`text` with this sink's secrets masked (for logging its errors)."""
        ...


@dataclass(frozen=True, slots=True)
class SinkStats:
    """Counters for one sink, for status and the end-of-day report."""

    queued: int = 0
    delivered: int = 0  # notices delivered
    messages: int = 0  # messages (batches) delivered
    dropped: int = 0  # notices dropped because the queue was full
    failed: int = 0  # notices dropped after the last retry failed
    retries: int = 0


@dataclass(slots=True)
class _Lane:
    sink: Sink
    send: MemoryObjectSendStream[Notice]
    receive: MemoryObjectReceiveStream[Notice]
    stats: SinkStats
    unreported: int = 0  # lost notices not yet told to the operator on this sink
    busy: bool = False  # a batch is being collected or delivered
    waiters: list[anyio.Event] = field(default_factory=list)

    def settled(self) -> bool:
        """Nothing queued and nothing in delivery."""
        return not self.busy and self.receive.statistics().current_buffer_used == 0


class Notifier:
    """Engine events → routed notices → per-sink bounded queues, drained by `run()`."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        routing: Routing,
        describe: Callable[[object], Notice | None],
        clock: Clock,
        *,
        queue_size: int = 1000,
        batch_window_s: float = 1.0,
        max_batch: int = 100,
        retries: int = 3,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 30.0,
        attempt_deadline_s: float = 120.0,
    ) -> None:
        self._routing = routing
        self._describe = describe
        self._clock = clock
        self._window = batch_window_s
        self._max_batch = max_batch
        self._retries = retries
        self._backoff = (backoff_base_s, backoff_cap_s)
        self._deadline = attempt_deadline_s
        self._lanes: dict[str, _Lane] = {}
        self.describe_errors = 0
        for sink in sinks:
            send, receive = anyio.create_memory_object_stream[Notice](queue_size)
            self._lanes[sink.name] = _Lane(sink, send, receive, SinkStats())

    def __call__(self, event: object) -> None:
        """Queue `event` for its sinks; never blocks, never raises (the kernel calls this inline)."""
        try:
            notice = self._describe(event)
            if notice is None:
                return
            targets = self._routing.sinks_for(notice, self._clock.now())
        except Exception:
            self.describe_errors += 1
            log.exception("notify_describe_failed", event_type=type(event).__name__)
            return
        for name in targets:
            lane = self._lanes.get(name)
            if lane is not None:
                self._offer(lane, notice)

    def _offer(self, lane: _Lane, notice: Notice) -> None:
        try:
            lane.send.send_nowait(notice)
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            lane.stats = replace(lane.stats, dropped=lane.stats.dropped + 1)
            lane.unreported += 1
        else:
            lane.stats = replace(lane.stats, queued=lane.stats.queued + 1)

    def stats(self) -> Mapping[str, SinkStats]:
        """A snapshot of every sink's counters."""
        return {name: lane.stats for name, lane in self._lanes.items()}

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Drain every sink's queue until cancelled (start with `tg.start(notifier.run)`)."""
        async with anyio.create_task_group() as tg:
            for lane in self._lanes.values():
                tg.start_soon(self._drain, lane)
            task_status.started()

    async def flush(self, limit_s: float) -> bool:
        """Wait up to `limit_s` for every queue to be delivered (or given up); True if all settled.

        For an orderly stop: call it before cancelling `run()` so the last notices still go out.
        """
        with anyio.move_on_after(limit_s):
            for lane in self._lanes.values():
                if not lane.settled():
                    done = anyio.Event()
                    lane.waiters.append(done)
                    await done.wait()
        return all(lane.settled() for lane in self._lanes.values())

    async def _drain(self, lane: _Lane) -> None:
        limiter = anyio.CapacityLimiter(1)
        async with lane.receive:
            while True:
                if lane.settled():
                    for waiter in lane.waiters:
                        waiter.set()
                    lane.waiters.clear()
                batch = [await lane.receive.receive()]  # idle until there is something to say
                lane.busy = True
                with anyio.move_on_after(self._window):
                    while len(batch) < self._max_batch:
                        batch.append(await lane.receive.receive())
                reported = lane.unreported
                if reported:
                    lane.unreported = 0
                    log.warning("notify_dropped", sink=lane.sink.name, count=reported)
                    batch.insert(0, dropped_notice(reported, lane.sink.name, self._clock.now()))
                if not await self._deliver(lane, batch, limiter):
                    lane.unreported += reported + len(batch) - (1 if reported else 0)
                lane.busy = False

    async def _deliver(self, lane: _Lane, batch: list[Notice], limiter: anyio.CapacityLimiter) -> bool:
        base, cap = self._backoff
        real = sum(1 for n in batch if n.kind != "dropped")
        for attempt in range(self._retries + 1):
            try:
                with anyio.fail_after(self._deadline):
                    await anyio.to_thread.run_sync(
                        lane.sink.deliver, tuple(batch), abandon_on_cancel=True, limiter=limiter
                    )
            except Exception as exc:
                log.warning(
                    "notify_delivery_failed",
                    sink=lane.sink.name,
                    attempt=attempt + 1,
                    notices=len(batch),
                    error=lane.sink.redact(f"{type(exc).__name__}: {exc}"),
                )
                if attempt == self._retries:
                    break
                lane.stats = replace(lane.stats, retries=lane.stats.retries + 1)
                await anyio.sleep(min(cap, base * 2**attempt))  # backoff, not synchronisation
            else:
                s = lane.stats
                lane.stats = replace(s, delivered=s.delivered + real, messages=s.messages + 1)
                return True
        lane.stats = replace(lane.stats, failed=lane.stats.failed + real)
        log.error("notify_batch_dropped", sink=lane.sink.name, notices=real)
        return False


class ConsoleSink:
    """Notices as plain lines on a writer (a terminal, or a test's list)."""

    name = "console"

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def deliver(self, notices: Sequence[Notice]) -> None:
        """Write one line per notice."""
        for n in notices:
            self._write(n.plain())

    def redact(self, text: str) -> str:
        """The console has no secrets."""
        return text
