"""The parent's end of the recorder's writer process: spawn, send batches, read its reports, end it.

The child (`python -m bot.record.child`) reads batches from its stdin and writes JSON-line reports
on its stdout. A batch's payloads are copied into a shared-memory ring (a memfd the child maps, see
`batch.py` for why) by a worker thread with `os.pwritev`, which releases the GIL for the copy: the
trading thread neither copies the frames nor pulls them through its cache again. Then the batch's
header and columns go out with `os.writev` on a non-blocking pipe (a full pipe is waited on with
`anyio.wait_writable`). The child reports, with each batch written, the ring position it has
released; a batch that finds no room waits for that. A batch larger than the ring, or every batch
where no ring could be made, sends its payloads on the pipe after its columns instead. A batch cut
short by a cancellation is finished before the next one, so the stream stays whole. The reports come
back through the event loop's pipe. No call here blocks trading.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from itertools import accumulate, takewhile
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from bot.record.batch import INLINE, Packed

MAX_REPORT = 1 << 20
PIPE_SIZE = 1 << 20  # a whole batch fits: one writev, few wake-ups (Linux caps it at fs/pipe-max-size)
IOV_MAX = 1024  # buffers per writev (Linux's limit)
# The shared ring: small enough to stay in the cache between the copy and the child's read (a 16 MB
# ring cost twice as much per frame as a 2-4 MB one), large enough for a few batches in flight.
RING_SIZE = 4 << 20
MAX_BLOB = RING_SIZE // 4  # the sender cuts batches to this (`batch.pack`)
_ROOT = str(Path(__file__).resolve().parents[2])  # where the `bot` package lives, for the child's path
_ENDED = (anyio.EndOfStream, anyio.IncompleteRead, anyio.DelimiterNotFound, anyio.ClosedResourceError,
          anyio.BrokenResourceError, OSError)  # fmt: skip


class WriterDied(Exception):
    """The writer process is gone (or its pipe broke): recording is off."""


class WriterProcess:
    """One writer child; `start`, then `send` batches while `read_reports` runs, then `end_input`."""

    def __init__(self, settings: dict[str, Any], ring_size: int = RING_SIZE) -> None:
        self._settings = settings
        self._ring_size = ring_size
        self._proc: Process | None = None
        self._fd = -1  # our end of the child's stdin
        self._parts: list[bytes | memoryview] = []  # not yet written, in order, from `_at`
        self._at = 0
        self._backlog: deque[Packed] = deque()  # batches given to `send`, not yet placed
        self._ring_fd = -1  # the shared ring (a memfd), written with pwritev
        self._copying = False  # a worker thread is writing to the ring: its fd stays open until it is done
        self._head = 0  # ring bytes ever reserved (positions are taken modulo the size)
        self._released = 0  # ring bytes the child has released
        self._room: anyio.Event | None = None  # set when the child releases ring space or exits
        self._exited = False

    @property
    def pid(self) -> int | None:
        """The child's process id (None before `start`)."""
        return None if self._proc is None else self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The child's exit code once it has been reaped."""
        return None if self._proc is None else self._proc.returncode

    async def start(self) -> None:
        """Spawn the child (raises OSError if it cannot be started)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH", "")) if p)
        self._ring_fd = ring_fd = self._make_ring()
        settings = dict(self._settings, ring_fd=ring_fd, ring_size=self._ring_size if ring_fd >= 0 else 0)
        cmd = [sys.executable, "-m", "bot.record.child", json.dumps(settings)]
        read_end, write_end = os.pipe()  # neither end is inherited by other children (O_CLOEXEC)
        try:
            with suppress(OSError):
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            os.set_blocking(write_end, False)
            self._proc = await anyio.open_process(
                cmd, stdin=read_end, stdout=subprocess.PIPE, stderr=None, env=env,
                pass_fds=(ring_fd,) if ring_fd >= 0 else (),
            )  # fmt: skip
        except BaseException:
            os.close(write_end)
            self._close_ring()
            raise
        finally:
            os.close(read_end)
        self._fd = write_end

    def _make_ring(self) -> int:
        """Create the shared ring; its fd, or -1 (payloads then go on the pipe)."""
        try:
            fd = os.memfd_create("kiwoom-bot-record")  # close-on-exec: only `pass_fds` hands it over
        except (AttributeError, OSError):  # not Linux, or no memfd
            return -1
        try:
            os.posix_fallocate(fd, 0, self._ring_size)  # the pages exist now, not at the first batch
        except OSError:
            os.close(fd)
            return -1
        return fd

    def _close_ring(self) -> None:
        if self._ring_fd >= 0 and not self._copying:
            os.close(self._ring_fd)
            self._ring_fd = -1

    async def read_reports(self, on_report: Callable[[dict[str, Any]], None]) -> None:
        """Hand each report to `on_report` until the child closes its stdout (it exited); the ring
        position a report releases is taken here."""
        assert self._proc is not None and self._proc.stdout is not None
        reports = BufferedByteReceiveStream(self._proc.stdout)
        try:
            while True:
                try:
                    line = await reports.receive_until(b"\n", MAX_REPORT)
                except _ENDED:
                    return
                with suppress(ValueError):
                    report = json.loads(line)
                    if isinstance(report, dict):
                        released = report.pop("ring", None)
                        if type(released) is int and released > self._released:
                            self._released = released
                            self._wake_sender()
                        on_report(report)
        finally:
            self._exited = True
            self._wake_sender()

    def _wake_sender(self) -> None:
        if self._room is not None:
            self._room.set()
            self._room = None

    async def send(self, batches: Iterable[Packed]) -> None:
        """Send batches in order after any unfinished ones (none: just finish those); waits while the ring
        or the pipe is full. Cancelled, what is left is kept and goes first with the next call."""
        if self._fd < 0:
            raise WriterDied("writer pipe closed")
        self._backlog += batches
        await self._write_parts()
        while self._backlog:
            if self._ring_fd < 0 or self._backlog[0].size > self._ring_size:
                batch = self._backlog.popleft().encoded()  # any str payloads encoded (inline is rare)
                self._parts += (batch.header(INLINE, self._head), *batch.columns, *batch.payloads)
            else:
                released = self._released
                if not await self._place():
                    if self._released == released:  # (else the child released room during the copy)
                        await self._wait_for_room()
                    continue
            await self._write_parts()

    async def _place(self) -> bool:
        """Copy the payloads of the leading backlog batches that fit into the ring (in a worker thread)
        and queue their headers and columns for the pipe; False when none fitted (no room)."""
        fits = list(takewhile(lambda b: b.size <= self._ring_size, self._backlog))  # up to an inline one
        self._copying = True
        try:  # not cancellable: whatever is copied is also queued, so the child's stream stays whole
            head, parts, placed, not_bytes = await anyio.to_thread.run_sync(
                _copy_into_ring, self._ring_fd, self._ring_size, self._head, self._released, fits
            )
        except OSError as exc:
            raise WriterDied(f"shared ring write failed ({type(exc).__name__}: {exc})") from None
        finally:
            self._copying = False
            if self._fd < 0:  # closed meanwhile (`kill`)
                self._close_ring()
        self._head = head
        self._parts += parts
        for _ in range(placed):
            self._backlog.popleft()
        if not_bytes:  # the next batch holds str payloads: encoded, it goes next time round
            self._backlog[0] = self._backlog[0].encoded()
            return True
        return placed > 0

    async def _wait_for_room(self) -> None:
        """Until the child releases ring space; WriterDied when it is gone."""
        if self._fd < 0 or self._exited:
            raise WriterDied("writer process exited")
        room = self._room = self._room or anyio.Event()
        await room.wait()

    async def _write_parts(self) -> None:
        """Write the queued buffers (`_parts` from `_at`) to the pipe; waits while it is full."""
        fd, parts = self._fd, self._parts
        while self._at < len(parts):
            window = parts[self._at : self._at + IOV_MAX]
            try:
                written = os.writev(fd, window)
            except BlockingIOError:
                try:
                    await anyio.wait_writable(fd)
                except anyio.ClosedResourceError:  # killed meanwhile (`kill`)
                    raise WriterDied("writer pipe closed") from None
                continue
            except OSError as exc:
                raise WriterDied(f"writer pipe broke ({type(exc).__name__})") from None
            ends = list(accumulate(map(len, window)))
            done = bisect_right(ends, written)  # buffers written whole
            self._at += done
            if done < len(window):
                already = written - (ends[done - 1] if done else 0)
                if already:
                    parts[self._at] = memoryview(window[done])[already:]
        parts.clear()
        self._at = 0

    async def end_input(self) -> None:
        """EOF on the child's stdin (after any unfinished batch): it writes what it has, closes the file
        and exits."""
        if self._fd >= 0:
            with suppress(WriterDied):
                await self.send(())
            self._close_pipe()

    async def wait(self) -> int:
        """The child's exit code, once it has exited."""
        assert self._proc is not None
        return await self._proc.wait()

    def kill(self) -> None:
        """SIGKILL the child (works on a stopped one too) and close our end of its pipe."""
        self._close_pipe()
        if self._proc is not None and self._proc.returncode is None:
            with suppress(ProcessLookupError):
                self._proc.kill()

    def _close_pipe(self) -> None:
        if self._fd >= 0:
            anyio.notify_closing(self._fd)  # wakes a send waiting on it
            os.close(self._fd)
            self._fd = -1
        self._close_ring()  # (by `_place` instead while a worker thread is still writing to it)
        self._wake_sender()


def _copy_into_ring(
    fd: int, ring_size: int, head: int, released: int, batches: Sequence[Packed]
) -> tuple[int, list[bytes], int, bool]:
    """Runs in a worker thread: write the batches' payloads into the ring, in order, while they fit, each
    batch in one piece (the ring's tail is skipped when it would wrap). Returns the new head, the pipe
    parts (header and columns) of the batches written, how many they are, and whether it stopped at a
    batch with str payloads (not written: `Packed.encoded()` must go instead)."""
    parts: list[bytes] = []
    placed = 0
    for batch in batches:
        size = batch.size
        at = head % ring_size
        skip = ring_size - at if at + size > ring_size else 0
        if head + skip + size - released > ring_size:
            break
        at = start = 0 if skip else at
        payloads = batch.payloads
        try:
            if len(payloads) <= IOV_MAX:  # no slice: each would touch every frame once more
                at += os.pwritev(fd, payloads, at)  # the GIL is released for the copy
            else:
                for i in range(0, len(payloads), IOV_MAX):
                    at += os.pwritev(fd, payloads[i : i + IOV_MAX], at)
        except TypeError:  # a str payload: nothing of this batch counts (its header is not sent)
            return head, parts, placed, True
        if at - start != size:  # a tmpfs file is written whole: anything else is a fault
            raise OSError(f"short write to the shared ring ({at - start} of {size} bytes)")
        head += skip + size
        parts += (batch.header(start, head), *batch.columns)
        placed += 1
    return head, parts, placed, False
