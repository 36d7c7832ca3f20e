"""`SessionRecorder`: records inbound frames and REST exchanges without ever slowing trading down.

The taps (`ws`, `rest`) are synchronous and O(1): they append a small tuple (the Clock's reading,
see `stamp_source`, time.monotonic() and the raw text/bytes) to a bounded queue and return. When the
queue is full the record is dropped and counted (logged once per burst). A writer task takes the
queue as a batch every `flush_interval_s` (sooner when it fills up) and hands it to a worker thread
that encodes, compresses, writes and flushes it, opening the next `<day>.<n>.jsonl.gz` when the
Clock's KST date changes. A failing disk turns recording off (logged, later records counted as
dropped); it never raises into trading. Start with `tg.start(recorder.run)` or
`async with recorder.running()`; cancelling the task writes what is queued and closes the file
within `close_timeout_s`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus

from bot.clock import Clock, LiveClock
from bot.record.format import SOURCES
from bot.record.writer import FileWriter, Opener, open_exclusive

log = structlog.get_logger(__name__)
_monotonic = time.monotonic

DEFAULT_CAPACITY = 100_000


def stamp_source(clock: Clock) -> Callable[[], int | datetime]:
    """What the taps call for a record's Clock reading (the writer turns it into `wall`).

    A `LiveClock` reads the system clock, so `time.time_ns()` is the same instant at a fraction of
    the cost of building a zoned datetime (the writer floors it to microseconds, as `datetime.now`
    does); any other Clock (`SimClock`, `ManualClock`, ...) is asked for its datetime.
    """
    return time.time_ns if type(clock) is LiveClock else clock.now


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """Counters of one recorder: accepted by the taps, written to disk, dropped (queue full or off)."""

    recorded: int
    written: int
    dropped: int
    queued: int
    files: tuple[Path, ...]
    bytes_in: int


class SessionRecorder:
    """A bounded, lossy, append-only recording of one process's broker traffic (see module doc)."""

    def __init__(
        self,
        clock: Clock,
        *,
        directory: Path | None = None,
        path: Path | None = None,
        source: str = "daemon",
        mode: str = "",
        config: str = "",
        keep_days: int = 30,
        capacity: int = DEFAULT_CAPACITY,
        flush_interval_s: float = 1.0,
        close_timeout_s: float = 5.0,
        compresslevel: int = 3,
        opener: Opener | None = None,
    ) -> None:
        if (directory is None) == (path is None):
            raise ValueError("SessionRecorder: give exactly one of directory= (daily files) or path=")
        if source not in SOURCES:
            raise ValueError(f"source: expected one of {', '.join(SOURCES)}, got {source!r}")
        if capacity < 1 or flush_interval_s <= 0 or close_timeout_s <= 0 or keep_days < 1:
            raise ValueError("capacity, keep_days >= 1 and flush_interval_s, close_timeout_s > 0 required")
        self._clock = clock
        self._stamp = stamp_source(clock)  # bound once: the taps run per frame
        self._writer = FileWriter(
            directory=directory, path=path, keep_days=keep_days, source=source, mode=mode, config=config,
            opener=opener or open_exclusive, compresslevel=compresslevel,
        )  # fmt: skip
        self._capacity = capacity
        self._wake_at = max(1, capacity // 4)
        self._flush_interval_s = flush_interval_s
        self._close_timeout_s = close_timeout_s
        self._queue: deque[tuple[Any, ...]] = deque()
        self._taken = 0  # records handed to the writer so far (accepted = taken + queued)
        self._written = 0
        self._lost = 0  # accepted, then lost with a failed write
        self._dropped = 0
        self._burst_from: int | None = None  # drop count when the current burst began
        self._wake: anyio.Event | None = None
        self._progress: anyio.Event | None = None
        self._started = False
        self._stopped = False

    def __repr__(self) -> str:
        s = self.stats
        return f"SessionRecorder(files={[p.name for p in s.files]}, written={s.written}, dropped={s.dropped})"

    # ----------------------------------------------------------------- taps (sync, O(1), never raise)

    def ws(self, frame: str) -> None:
        """Record one inbound WebSocket text frame exactly as received (callers skip PING)."""
        queue = self._queue
        n = len(queue)
        if n >= self._capacity:
            self._drop()
            return
        queue.append((self._stamp(), _monotonic(), frame))
        if n == self._wake_at:
            self._wake_writer()

    def rest(
        self,
        api_id: str,
        path: str,
        req: bytes | Mapping[str, Any] | None,
        status: int | None,
        latency_ms: float,
        cont_yn: str = "",
        next_key: str = "",
        resp: bytes | None = None,
        error: str | None = None,
    ) -> None:
        """Record one REST exchange when its reply arrived (or failed: status None, error = class name)."""
        queue = self._queue
        n = len(queue)
        if n >= self._capacity:
            self._drop()
            return
        queue.append((self._stamp(), _monotonic(), api_id, path, req, status, latency_ms, cont_yn, next_key,
                      resp, error))  # fmt: skip
        if n == self._wake_at:
            self._wake_writer()

    def _wake_writer(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _drop(self) -> None:
        self._dropped += 1
        if self._burst_from is None:
            self._burst_from = self._dropped - 1
            if not self._stopped:
                log.warning("recording_queue_full_dropping", capacity=self._capacity)

    # ----------------------------------------------------------------- state

    @property
    def stats(self) -> RecorderStats:
        """A snapshot of the counters and the files written so far."""
        return RecorderStats(
            recorded=self._taken + len(self._queue), written=self._written, dropped=self._dropped,
            queued=len(self._queue), files=tuple(self._writer.paths), bytes_in=self._writer.bytes_in,
        )  # fmt: skip

    @property
    def dropped(self) -> int:
        """Records dropped so far (queue full, recording failed or stopped)."""
        return self._dropped

    @property
    def path(self) -> Path | None:
        """The file being written (the last one after a stop)."""
        return self._writer.paths[-1] if self._writer.paths else None

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until every record accepted before this call is written and flushed to the file."""
        target = self._taken + len(self._queue)
        with anyio.fail_after(timeout_s):
            while self._written + self._lost < target and not self._stopped:
                if self._wake is None or self._progress is None:
                    await anyio.sleep(0.01)  # not started yet: nothing to wait on
                    continue
                self._wake.set()
                await self._progress.wait()

    # ----------------------------------------------------------------- writer task

    @asynccontextmanager
    async def running(self) -> AsyncIterator[SessionRecorder]:
        """Run the writer in a task group for the duration of the block; closes the file on exit."""
        async with anyio.create_task_group() as tg:
            await tg.start(self.run)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Open the first file (deleting old ones), `started()`, then write batches until cancelled."""
        if self._started:
            raise RuntimeError("SessionRecorder.run() may be called only once")
        self._started = True
        self._wake, self._progress = anyio.Event(), anyio.Event()
        try:
            with anyio.fail_after(self._close_timeout_s):
                path = await anyio.to_thread.run_sync(
                    self._writer.start, self._clock.now(), time.monotonic(), abandon_on_cancel=True
                )
        except (OSError, TimeoutError) as exc:
            self._fail(exc)
            task_status.started()
            return
        log.info("recording_started", file=str(path), capacity=self._capacity)
        task_status.started()
        try:
            while not self._stopped:
                with anyio.move_on_after(self._flush_interval_s):
                    await self._wake.wait()
                if self._wake.is_set():
                    self._wake = anyio.Event()
                await self._drain()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self._close_timeout_s) as scope:
                await self._drain()
                self._stop()
                await anyio.to_thread.run_sync(self._writer.close, abandon_on_cancel=True)
            self._stop()
            if scope.cancelled_caught:
                log.error("recording_close_timed_out", seconds=self._close_timeout_s, file=str(self.path))
            log.info("recording_stopped", written=self._written, dropped=self._dropped, file=str(self.path))

    async def _drain(self) -> None:
        """Hand the queued records to the writer thread as one batch."""
        if self._queue and not self._stopped:
            batch, self._queue = self._queue, deque()
            self._taken += len(batch)
            try:
                self._written += await anyio.to_thread.run_sync(
                    self._writer.write, batch, time.monotonic(), abandon_on_cancel=True
                )
            except OSError as exc:
                self._lost += len(batch)
                self._fail(exc)
        if self._burst_from is not None and not self._stopped:
            log.warning(
                "recording_drops_ended", dropped=self._dropped - self._burst_from, total=self._dropped
            )
            self._burst_from = None
        if self._progress is not None:
            self._progress.set()
            self._progress = anyio.Event()

    def _fail(self, exc: BaseException) -> None:
        """Recording is off from now on; trading carries on."""
        log.error("recording_failed", error=f"{type(exc).__name__}: {exc}", file=str(self.path))
        self._stop()

    def _stop(self) -> None:
        """No more records: the taps count everything as dropped from now on."""
        self._stopped = True
        self._capacity = 0
        self._dropped += len(self._queue)
        self._taken += len(self._queue)  # accepted, then dropped: flush() waiters must not wait for them
        self._lost += len(self._queue)
        self._queue.clear()
        if self._progress is not None:
            self._progress.set()
