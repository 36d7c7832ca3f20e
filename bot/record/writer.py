"""The writer thread's side of a recording: encoding, gzip, rotation by KST date.

Only ever called through `anyio.to_thread` by `SessionRecorder`; a lock serialises calls so that an
abandoned call (a stalled disk at shutdown) and a later one never interleave in the gzip stream.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import structlog

from bot.record.files import next_path, prune
from bot.record.format import meta_line, rest_line, ws_line

log = structlog.get_logger(__name__)

Opener = Callable[[Path], IO[bytes]]
# Queued records: ws (wall, mono, frame), or rest (wall, mono, api_id, path, req, status, latency_ms,
# cont_yn, next_key, resp, error): told apart by length.
WS_LEN = 3


def open_exclusive(path: Path) -> IO[bytes]:
    """Create `path` for writing; never truncates an existing recording."""
    return path.open("xb")


class FileWriter:
    """Writes encoded records to the current gzip file; opens the next one when the day changes."""

    def __init__(
        self,
        *,
        directory: Path | None,
        path: Path | None,
        keep_days: int,
        source: str,
        mode: str,
        config: str,
        opener: Opener,
        compresslevel: int,
    ) -> None:
        self._directory = directory
        self._fixed = path
        self._keep_days = keep_days
        self._meta = {"source": source, "mode": mode, "config": config}
        self._opener = opener
        self._level = compresslevel
        self._lock = threading.Lock()
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self.day: date | None = None
        self.paths: list[Path] = []
        self.bytes_in = 0  # uncompressed bytes written

    def start(self, now: datetime, mono: float) -> Path:
        """Delete old recordings (daily mode) and open the first file."""
        with self._lock:
            if self._directory is not None:
                self._directory.mkdir(parents=True, exist_ok=True)
                prune(self._directory, now.date(), self._keep_days)
            else:
                assert self._fixed is not None
                self._fixed.parent.mkdir(parents=True, exist_ok=True)
            return self._open(now, mono)

    def write(self, batch: Iterable[tuple[Any, ...]], mono: float) -> int:
        """Encode and write `batch`, rotating at a date change; flushed so readers see it. Returns count."""
        with self._lock:
            lines: list[str] = []
            count = 0
            rotate = self._directory is not None
            for item in batch:
                when: datetime = item[0]
                if rotate and when.date() != self.day:
                    self._put(lines)
                    lines = []
                    self._close()
                    self._open(when, mono)
                if len(item) == WS_LEN:
                    lines.append(ws_line(when, item[1], item[2]))
                else:
                    lines.append(rest_line(when, *item[1:]))
                count += 1
            self._put(lines)
            if self._gz is not None:
                self._gz.flush()
            return count

    def close(self) -> None:
        """Finish the gzip stream (trailer) and close the file."""
        with self._lock:
            self._close()

    def _put(self, lines: list[str]) -> None:
        if lines and self._gz is not None:
            data = "".join(lines).encode("utf-8")
            self._gz.write(data)
            self.bytes_in += len(data)

    def _open(self, now: datetime, mono: float) -> Path:
        day = now.date()
        path = self._fixed if self._fixed is not None else next_path(self._directory or Path("."), day)
        raw = self._opener(path)
        try:
            gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=self._level)
            gz.write(meta_line(now, mono, trading_day=day, **self._meta).encode("utf-8"))
            gz.flush()
        except BaseException:
            raw.close()
            raise
        self._raw, self._gz, self.day = raw, gz, day
        self.paths.append(path)
        log.info("recording_opened", file=str(path), trading_day=day.isoformat())
        return path

    def _close(self) -> None:
        gz, raw = self._gz, self._raw
        self._gz = self._raw = None
        try:
            if gz is not None:
                gz.close()
        finally:
            if raw is not None:
                raw.close()
