"""The writer child's file side: formatting lines, gzip, rotation by the KST date of the stamps.

Runs in the recorder's child process (`bot.record.child`), one batch at a time, so the trading
process never spends a cycle on escaping, encoding or compressing.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import date, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import IO

import structlog

from bot.clock import KST
from bot.record.batch import WS, Batch
from bot.record.files import next_path, prune
from bot.record.format import REST_LINE, WS_LINE, WallFromNs, meta_line

log = structlog.get_logger(__name__)

Opener = Callable[[Path], IO[bytes]]
# Lines are encoded and compressed this many at a time: the text stays in the CPU cache between the
# escaper, the UTF-8 encoder and deflate (one huge join per batch costs more than the encoding).
CHUNK = 256


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
        opener: Opener = open_exclusive,
        compresslevel: int,
    ) -> None:
        self._directory = directory
        self._fixed = path
        self._keep_days = keep_days
        self._meta = {"source": source, "mode": mode, "config": config}
        self._opener = opener
        self._level = compresslevel
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self.day: date | None = None
        self.paths: list[Path] = []
        self.bytes_in = 0  # uncompressed bytes written
        self._walls = WallFromNs()

    def start(self, now: datetime, mono: float) -> Path:
        """Delete old recordings (daily mode) and open the first file."""
        if self._directory is not None:
            self._directory.mkdir(parents=True, exist_ok=True)
            prune(self._directory, now.date(), self._keep_days)
        else:
            assert self._fixed is not None
            self._fixed.parent.mkdir(parents=True, exist_ok=True)
        return self._open(now, mono)

    def write(self, batch: Batch) -> int:
        """Format and write `batch`, rotating at a KST date change; flushed so readers see it. Returns count.

        Lines are joined, encoded and compressed in cache-sized chunks (zlib's deflate and crc32 run
        without the GIL); a frame's bytes that are not valid UTF-8 are written as U+FFFD.
        """
        lines: list[str] = []
        add = lines.append
        ws_line, rest_line, escape = WS_LINE, REST_LINE, encode_basestring
        walls = self._walls
        rotate = self._directory is not None
        blob = batch.blob.decode("latin-1")  # bytes as code points: see `_put`; offsets stay byte offsets
        at = 0
        for kind, stamp, mono, length in zip(
            batch.kinds, batch.stamps, batch.monos, batch.lengths, strict=True
        ):
            end = at + length
            text = blob[at:end]
            at = end
            second, micro = divmod(stamp // 1000, 1_000_000)
            if second != walls.second:
                walls.set_second(second)
                if rotate and walls.day != self.day:
                    self._put(lines)
                    lines.clear()
                    self._rotate(datetime.fromtimestamp(second, KST).replace(microsecond=micro), mono)
            if kind == WS:
                add(ws_line % (walls.head, micro, walls.tail, mono, escape(text)))
            else:
                add(rest_line % (walls.head, micro, walls.tail, mono, text))
            if len(lines) >= CHUNK:
                self._put(lines)
                lines.clear()
        self._put(lines)
        if self._gz is not None:
            self._gz.flush()
        return len(batch.kinds)

    def close(self) -> None:
        """Finish the gzip stream (trailer) and close the file."""
        self._close()

    def _put(self, lines: list[str]) -> None:
        """Write formatted lines whose payloads went in as Latin-1 text: each payload byte is one code
        point, so encoding back to Latin-1 restores the UTF-8 bytes exactly. JSON escaping only ever
        touches ASCII (quote, backslash, controls), which UTF-8 never uses inside a multi-byte
        character, so the escaped text is the UTF-8 frame correctly escaped. This skips a UTF-8 decode
        and re-encode per record; the chunk is checked to be UTF-8 once (invalid bytes become U+FFFD)."""
        if lines and self._gz is not None:
            data = "".join(lines).encode("latin-1")
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                data = data.decode("utf-8", "replace").encode("utf-8")
            self._gz.write(data)
            self.bytes_in += len(data)

    def _rotate(self, now: datetime, mono: float) -> None:
        self._close()
        self._open(now, mono)

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
