"""`SessionRecorder`: records inbound frames and REST exchanges without ever slowing trading down.

The taps (`ws`, `rest`) are synchronous and O(1): they append the Clock's reading (nanoseconds, see
`stamp_source`) to one list and the raw bytes (or the REST call's arguments) to another, a bounded queue,
and return. With a `LiveClock` that reading is `time.time_ns()` and a record's `mono` is derived from it
with the wall-minus-monotonic offset read when its batch is packed (within `flush_interval_s`; exact
unless the system clock is adjusted in between): one clock read per frame. Other clocks (simulated time)
add a `time.monotonic()` reading per record. When the queue is full the record is dropped and counted
(logged once per burst). A sender task takes the queue every `flush_interval_s` (sooner when it fills up),
packs it (`batch.pack`: per-record columns, no copy of the frames) and hands it to a child process
(`bot.record.child`, through `process.WriterProcess`: the payloads copied into a shared-memory ring by a
worker thread with the GIL released, the columns over a pipe); the child formats the lines, compresses,
writes and flushes them, opening the next `<day>.<n>.jsonl.gz` when the KST date of the stamps changes,
and reports back what it wrote. So the trading process never formats, encodes or compresses a frame. A
dead or stalled child, or a failing disk, turns recording off (logged once, later records counted as
dropped); it never raises into trading. Start with `tg.start(recorder.run)` or `async with
recorder.running()`; cancelling the task sends what is queued and waits (up to `close_timeout_s`) for the
child to close the file and exit; the child also exits on its own when the parent dies (EOF on its stdin).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus

from bot.clock import Clock, LiveClock
from bot.record.batch import ns_of, pack
from bot.record.format import SOURCES
from bot.record.process import MAX_BLOB, WriterDied, WriterProcess

log = structlog.get_logger(__name__)
_monotonic = time.monotonic

DEFAULT_CAPACITY = 100_000
WAKE_RECORDS = 1000  # the sender wakes early once this many wait: a batch fits the pipe and the cache
_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})


def stamp_source(clock: Clock) -> Callable[[], int]:
    """What the taps call for a record's Clock reading, in nanoseconds (the writer renders `wall`).

    A `LiveClock` reads the system clock, so `time.time_ns()` is the same instant at a fraction of
    the cost of building a zoned datetime (the writer floors it to microseconds, as `datetime.now`
    does); any other Clock (`SimClock`, `ManualClock`, ...) is asked for its datetime.
    """
    if type(clock) is LiveClock:
        return time.time_ns
    now = clock.now
    return lambda: ns_of(now())


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

    # Slots, because the taps run per frame: with ~30 attributes an instance dict stops sharing its keys
    # and every attribute load (and the method lookup of each `ws` call) becomes a dict probe.
    __slots__ = (
        "_burst_from", "_bytes_in", "_capacity", "_child", "_clock", "_close_timeout_s", "_dropped",
        "_failed", "_flush_interval_s", "_frames", "_live", "_lost", "_monos", "_paths", "_progress",
        "_rest_at", "_settings", "_settled", "_stall_timeout_s", "_stamp", "_stamps", "_start_timeout_s",
        "_started", "_stopped", "_taken", "_wake", "_wake_at", "_writer_gone", "_written",
    )  # fmt: skip

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
        start_timeout_s: float = 15.0,
        stall_timeout_s: float = 60.0,
        compresslevel: int = 3,
    ) -> None:
        if (directory is None) == (path is None):
            raise ValueError("SessionRecorder: give exactly one of directory= (daily files) or path=")
        if source not in SOURCES:
            raise ValueError(f"source: expected one of {', '.join(SOURCES)}, got {source!r}")
        if capacity < 1 or keep_days < 1 or min(flush_interval_s, close_timeout_s, start_timeout_s,
                                                stall_timeout_s) <= 0:  # fmt: skip
            raise ValueError("capacity, keep_days >= 1 and flush/close/start/stall timeouts > 0 required")
        self._clock = clock
        self._stamp = stamp_source(clock)  # bound once: the taps run per frame
        self._settings: dict[str, Any] = {
            "directory": str(directory) if directory is not None else None,
            "path": str(path) if path is not None else None, "keep_days": keep_days, "source": source,
            "mode": mode, "config": config, "compresslevel": compresslevel,
        }  # fmt: skip
        self._capacity = capacity
        self._wake_at = max(1, min(capacity // 4, WAKE_RECORDS))
        self._flush_interval_s = flush_interval_s
        self._close_timeout_s = close_timeout_s
        self._start_timeout_s = start_timeout_s
        self._stall_timeout_s = stall_timeout_s
        # The queue, one entry per record in each list: payload (frame bytes, or REST call arguments),
        # stamp and (clocks other than LiveClock) mono; and the indices of the REST records. Lists of
        # Python objects, because two appends are the cheapest per-frame work; `batch.pack` converts.
        self._frames: list[Any] = []
        self._stamps: list[int] = []
        self._monos: list[float] = []
        self._rest_at: list[int] = []
        self._live = type(clock) is LiveClock  # mono derived from the wall stamp (see module doc)
        self._taken = 0  # records handed to the writer so far (accepted = taken + queued)
        self._written = 0  # as reported by the writer process
        self._lost = 0  # accepted, then lost (writer failed, or a batch that could not be packed)
        self._dropped = 0
        self._bytes_in = 0
        self._paths: list[Path] = []
        self._burst_from: int | None = None  # drop count when the current burst began
        self._wake: anyio.Event | None = None
        self._progress: anyio.Event | None = None
        self._settled = anyio.Event()  # the first file is open, or the writer is gone
        self._writer_gone = anyio.Event()
        self._child: WriterProcess | None = None
        self._started = False
        self._stopped = False
        self._failed = False

    def __repr__(self) -> str:
        s = self.stats
        return f"SessionRecorder(files={[p.name for p in s.files]}, written={s.written}, dropped={s.dropped})"

    # ----------------------------------------------------------------- taps (sync, O(1), never raise)

    def ws(self, frame: str | bytes) -> None:
        """Record one inbound WebSocket text frame exactly as received, ideally its raw UTF-8 bytes
        (callers skip PING). Runs per frame: a length check, one clock read, two appends."""
        frames = self._frames
        n = len(frames)
        if n >= self._capacity:
            self._drop()
            return
        self._stamps.append(self._stamp())
        if not self._live:
            self._monos.append(_monotonic())
        frames.append(frame)  # a str frame (the simulator's) is encoded by the sender
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
        frames = self._frames
        n = len(frames)
        if n >= self._capacity:
            self._drop()
            return
        self._stamps.append(self._stamp())
        if not self._live:
            self._monos.append(_monotonic())
        self._rest_at.append(n)
        frames.append((api_id, path, req, status, latency_ms, cont_yn, next_key, resp, error))
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
            recorded=self._taken + self._queued, written=self._written, dropped=self._dropped,
            queued=self._queued, files=tuple(self._paths), bytes_in=self._bytes_in,
        )  # fmt: skip

    @property
    def _queued(self) -> int:
        return len(self._frames)

    @property
    def dropped(self) -> int:
        """Records dropped so far (queue full, recording failed or stopped)."""
        return self._dropped

    @property
    def path(self) -> Path | None:
        """The file being written (the last one after a stop)."""
        return self._paths[-1] if self._paths else None

    @property
    def writer_pid(self) -> int | None:
        """The writer process's id while it runs (for operators and tests)."""
        return None if self._child is None or self._writer_gone.is_set() else self._child.pid

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Wait until every record accepted before this call is written and flushed to the file."""
        target = self._taken + self._queued
        with anyio.fail_after(timeout_s):
            while self._written + self._lost < target and not self._stopped:
                if self._wake is None or self._progress is None:
                    await anyio.sleep(0.01)  # not started yet: nothing to wait on
                    continue
                self._wake.set()
                await self._progress.wait()

    # ----------------------------------------------------------------- sender task

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
        """Start the writer process (it opens the first file, deleting old ones), `started()`, then send
        batches until cancelled."""
        if self._started:
            raise RuntimeError("SessionRecorder.run() may be called only once")
        self._started = True
        self._wake, self._progress = anyio.Event(), anyio.Event()
        self._settings.update(now_ns=ns_of(self._clock.now()), mono=time.monotonic())
        child = self._child = WriterProcess(self._settings)
        try:
            with anyio.fail_after(self._start_timeout_s):
                await child.start()
        except (OSError, TimeoutError) as exc:
            self._writer_gone.set()
            self._fail(exc)
            task_status.started()
            return
        async with anyio.create_task_group() as tg:
            reader = anyio.CancelScope(shield=True)  # reports are read until the child exits, even on cancel
            tg.start_soon(self._read_reports, child, reader)
            try:
                with anyio.move_on_after(self._start_timeout_s):
                    await self._settled.wait()
                if not self._settled.is_set():
                    self._fail(TimeoutError(f"writer did not open a file within {self._start_timeout_s} s"))
                elif not self._stopped:
                    log.info("recording_started", file=str(self.path), capacity=self._capacity, pid=child.pid)
                task_status.started()
                while not self._stopped:
                    with anyio.move_on_after(self._flush_interval_s):
                        await self._wake.wait()
                    if self._wake.is_set():
                        self._wake = anyio.Event()
                    await self._send()
            finally:
                await self._close(child)
                reader.cancel()

    async def _close(self, child: WriterProcess) -> None:
        """Send what is queued, EOF, and wait for the child to close the file and exit (bounded)."""
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(self._close_timeout_s) as scope:
                await self._send()
                self._stop()
                await child.end_input()
                await self._writer_gone.wait()
                await child.wait()
            if scope.cancelled_caught:
                log.error("recording_close_timed_out", seconds=self._close_timeout_s, file=str(self.path))
                self._give_up()
                child.kill()
                with anyio.move_on_after(self._close_timeout_s):
                    await child.wait()
        log.info("recording_stopped", written=self._written, dropped=self._dropped, file=str(self.path))

    async def _send(self) -> None:
        """Hand the queued records to the writer process (as batches of at most `MAX_BLOB` payload bytes)."""
        if self._frames and not self._stopped and self._child is not None:
            frames, stamps, monos, rest_at = self._take()
            self._taken += len(frames)
            try:
                offset = time.time_ns() - time.monotonic_ns() if self._live else None
                batches = pack(frames, stamps, monos, rest_at, offset, MAX_BLOB)
            except Exception as exc:  # a record that cannot be packed must never reach trading
                log.error(
                    "recording_batch_skipped", records=len(frames), error=f"{type(exc).__name__}: {exc}"
                )
                self._lost += len(frames)
                self._dropped += len(frames)
                return
            del frames, stamps, monos  # the frames stay referenced by the batches until they are copied
            try:
                with anyio.fail_after(self._stall_timeout_s):
                    await self._child.send(batches)
            except TimeoutError:
                self._fail(TimeoutError(f"writer stalled for {self._stall_timeout_s} s"))
            except WriterDied as exc:
                self._fail(exc)
        if self._burst_from is not None and not self._stopped:
            log.warning(
                "recording_drops_ended", dropped=self._dropped - self._burst_from, total=self._dropped
            )
            self._burst_from = None

    def _take(self) -> tuple[list[Any], list[int], list[float], list[int]]:
        """The queue's contents, leaving it empty."""
        taken = self._frames, self._stamps, self._monos, self._rest_at
        self._frames, self._stamps, self._monos, self._rest_at = [], [], [], []
        return taken

    async def _read_reports(self, child: WriterProcess, scope: anyio.CancelScope) -> None:
        """The writer's reports until it exits; an exit before we asked is a failure."""
        with scope:
            await child.read_reports(self._on_report)
        self._writer_gone.set()
        self._settled.set()
        if not self._stopped:
            self._fail(WriterDied(f"writer process exited (code {child.returncode})"))

    def _on_report(self, report: dict[str, Any]) -> None:
        """One report line from the writer process."""
        event = report.pop("event", None)
        level = report.pop("level", "info")
        if event == "batch_written":
            if not self._failed:
                self._written, self._bytes_in = int(report["written"]), int(report["bytes_in"])
                self._progressed()
            return
        if event == "recording_failed":
            self._fail(WriterDied(str(report.get("error"))))
            return
        if event == "recording_opened":
            self._paths.append(Path(str(report.get("file"))))
            self._settled.set()
        if isinstance(event, str):
            getattr(log, level if level in _LEVELS else "info")(event, **report)

    def _progressed(self) -> None:
        if self._progress is not None:
            self._progress.set()
            self._progress = anyio.Event()

    def _fail(self, exc: BaseException) -> None:
        """Recording is off from now on (logged once); trading carries on."""
        if self._failed:
            return
        log.error("recording_failed", error=f"{type(exc).__name__}: {exc}", file=str(self.path))
        self._give_up()
        if self._child is not None:
            self._child.kill()

    def _give_up(self) -> None:
        """Stop, and count every record the writer has not confirmed as dropped."""
        self._failed = True
        self._stop()
        unconfirmed = self._taken - self._written - self._lost
        self._lost += unconfirmed
        self._dropped += unconfirmed
        self._progressed()

    def _stop(self) -> None:
        """No more records: the taps count everything as dropped from now on."""
        self._stopped = True
        self._capacity = 0
        queued = len(self._take()[0])
        self._dropped += queued
        self._taken += queued  # accepted, then dropped: flush() waiters must not wait for them
        self._lost += queued
        if self._wake is not None:
            self._wake.set()
        self._progressed()
