"""The parent's end of the recorder's writer process: spawn, send batches, read its reports, end it.

The child (`python -m bot.record.child`) reads batches from its stdin and writes JSON-line reports
on its stdout. Batches go out with `os.writev` on a non-blocking pipe (the kernel copies the frames'
bytes straight from the queued objects; a full pipe is waited on with `anyio.wait_writable`), and a
batch cut short by a cancellation is finished before the next one, so the stream stays whole. The
reports come back through the event loop's pipe. No call here blocks trading.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from bisect import bisect_right
from collections.abc import Callable, Sequence
from contextlib import suppress
from itertools import accumulate
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

MAX_REPORT = 1 << 20
PIPE_SIZE = 1 << 20  # a whole batch fits: one writev, few wake-ups (Linux caps it at fs/pipe-max-size)
IOV_MAX = 1024  # buffers per writev (Linux's limit)
_ROOT = str(Path(__file__).resolve().parents[2])  # where the `bot` package lives, for the child's path
_ENDED = (anyio.EndOfStream, anyio.IncompleteRead, anyio.DelimiterNotFound, anyio.ClosedResourceError,
          anyio.BrokenResourceError, OSError)  # fmt: skip


class WriterDied(Exception):
    """The writer process is gone (or its pipe broke): recording is off."""


class WriterProcess:
    """One writer child; `start`, then `send` batches while `read_reports` runs, then `end_input`."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._settings = settings
        self._proc: Process | None = None
        self._fd = -1  # our end of the child's stdin
        self._parts: list[bytes | memoryview] = []  # not yet written, in order, from `_at`
        self._at = 0

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
        cmd = [sys.executable, "-m", "bot.record.child", json.dumps(self._settings)]
        read_end, write_end = os.pipe()  # neither end is inherited by other children (O_CLOEXEC)
        try:
            with suppress(OSError):
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
            os.set_blocking(write_end, False)
            self._proc = await anyio.open_process(
                cmd, stdin=read_end, stdout=subprocess.PIPE, stderr=None, env=env
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        self._fd = write_end

    async def read_reports(self, on_report: Callable[[dict[str, Any]], None]) -> None:
        """Hand each report to `on_report` until the child closes its stdout (it exited)."""
        assert self._proc is not None and self._proc.stdout is not None
        reports = BufferedByteReceiveStream(self._proc.stdout)
        while True:
            try:
                line = await reports.receive_until(b"\n", MAX_REPORT)
            except _ENDED:
                return
            with suppress(ValueError):
                report = json.loads(line)
                if isinstance(report, dict):
                    on_report(report)

    async def send(self, parts: Sequence[bytes]) -> None:
        """Write one batch (its buffers, see `batch.pack`) to the child, after any unfinished one; waits
        while the pipe is full. Cancelled, the rest is kept and goes first with the next call."""
        if self._fd < 0:
            raise WriterDied("writer pipe closed")
        if self._at:
            del self._parts[: self._at]
            self._at = 0
        self._parts.extend(parts)
        fd, parts_ = self._fd, self._parts
        while self._at < len(parts_):
            window = parts_[self._at : self._at + IOV_MAX]
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
                    parts_[self._at] = memoryview(window[done])[already:]
        parts_.clear()
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
