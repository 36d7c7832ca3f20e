"""Reading a recording back: records in order, a truncated tail tolerated, corruption named.

A file cut short by a crash (no gzip trailer, a last line without its newline, or a last line that
is not whole JSON) ends the iteration quietly after a warning; `truncated` and `count` say what
happened. Anything else that is wrong (a bad line followed by more lines, a damaged gzip stream, a
first line that is not `meta`) raises `RecordingCorrupt` naming the file and the line.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

from bot.errors import KiwoomBotError
from bot.record.format import FORMAT_VERSION

log = structlog.get_logger(__name__)

KINDS = frozenset({"meta", "ws", "rest"})


class RecordingCorrupt(KiwoomBotError, ValueError):
    """A recording that cannot be read past some line; the message names the file and the line."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}: line {line}: {problem}")
        self.path = path
        self.line = line


class SessionReader:
    """Iterates the records (dicts) of one recording; `count`/`truncated` are final once exhausted."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.count = 0
        self.truncated = False
        self.meta: dict[str, Any] | None = None
        self._iter = self._records()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._iter)

    def _records(self) -> Iterator[dict[str, Any]]:
        with gzip.open(self.path, "rb") as gz:
            lines = self._lines(gz)
            number = 0
            pending = next(lines, None)
            while pending is not None:
                number += 1
                following = next(lines, None)
                last = following is None
                record = self._parse(pending, number, last)
                if record is None:  # a damaged last line: the truncated tail
                    break
                self.count += 1
                yield record
                pending = following
        if self.truncated:
            log.warning("recording_truncated", file=str(self.path), records=self.count)

    def _lines(self, gz: gzip.GzipFile) -> Iterator[bytes]:
        """Raw lines; stops (truncated) at an unfinished gzip stream or a last line without newline."""
        number = 0
        while True:
            try:
                line = gz.readline()
            except EOFError:
                self.truncated = True
                return
            except (gzip.BadGzipFile, zlib.error, OSError) as exc:
                raise RecordingCorrupt(self.path, number + 1, f"unreadable gzip data ({exc})") from None
            if not line:
                return
            if not line.endswith(b"\n"):
                self.truncated = True
                return
            number += 1
            yield line

    def _parse(self, line: bytes, number: int, last: bool) -> dict[str, Any] | None:
        """One line → its record; None for a damaged LAST line (truncation), else RecordingCorrupt."""
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            if last:
                self.truncated = True
                return None
            raise RecordingCorrupt(self.path, number, f"not a JSON line ({exc})") from None
        if not isinstance(record, dict) or record.get("k") not in KINDS:
            got = record.get("k") if isinstance(record, dict) else type(record).__name__
            raise RecordingCorrupt(self.path, number, f"expected k in meta/ws/rest, got {got!r}")
        if number == 1:
            if record["k"] != "meta":
                raise RecordingCorrupt(self.path, 1, f"expected the meta record first, got k={record['k']!r}")
            if record.get("v") != FORMAT_VERSION:
                raise RecordingCorrupt(self.path, 1, f"unsupported format version {record.get('v')!r}")
            self.meta = record
        return record


def read_session(path: Path | str) -> SessionReader:
    """The records of a recording, in order (see `SessionReader` for counts and truncation)."""
    return SessionReader(path)
