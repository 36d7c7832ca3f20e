"""Read a session recording (gzip JSON lines, /work/brief/record-format.md) into record dicts.

A minimal reader kept inside the replay package until the recorder's own reader (`bot.record`)
lands. It follows the format exactly: one JSON object per line, `k`/`wall`/`mono` on every record,
a `meta` record first. A file cut short by a crash (a truncated gzip stream or a half-written last
line) is accepted: reading stops there with a warning and `ReadStats.truncated` says so. A bad line
anywhere else is an error naming the file and the line.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import structlog

from bot.errors import KiwoomBotError

log = structlog.get_logger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
FORMAT_VERSION = 1


class RecordingError(KiwoomBotError):
    """A recording that cannot be replayed: missing, unreadable, corrupt, or without frames."""


@dataclass(slots=True)
class ReadStats:
    """How far reading got: records returned, and whether the file ended mid-record."""

    records: int = 0
    truncated: bool = False


def _open(path: Path) -> IO[str]:
    """The file as text lines, gunzipped when it starts with the gzip magic."""
    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such recording") from None
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the recording ({exc.strerror or exc})") from None
    if magic == _GZIP_MAGIC:
        return gzip.open(path, "rt", encoding="utf-8", newline="\n")
    return path.open("r", encoding="utf-8", newline="\n")


def _lines(path: Path, stream: IO[str], stats: ReadStats) -> Iterator[str]:
    """Lines of the stream; a truncated gzip stream ends them (with a warning), never an error."""
    lineno = 0
    while True:
        try:
            line = stream.readline()
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            stats.truncated = True
            log.warning("recording_truncated", path=str(path), after_line=lineno, error=str(exc))
            return
        except UnicodeDecodeError as exc:
            raise RecordingError(f"{path}: line {lineno + 1}: not UTF-8 text ({exc.reason})") from None
        if not line:
            return
        lineno += 1
        yield line


def read_records(path: str | Path, stats: ReadStats | None = None) -> Iterator[dict[str, Any]]:
    """Every record of a recording, in order (the `meta` record first); see the module docstring."""
    path = Path(path)
    stats = stats if stats is not None else ReadStats()
    with _open(path) as stream:
        lines = _lines(path, stream, stats)
        pending: tuple[int, str] | None = None
        for lineno, line in enumerate(lines, 1):
            if pending is not None:  # the previous line is not the last: it must be whole
                yield _record(path, *pending, last=False)
                stats.records += 1
            pending = (lineno, line)
        if pending is not None:
            record = _record(path, *pending, last=True, truncated=stats.truncated)
            if record:
                yield record
                stats.records += 1
            else:
                stats.truncated = True
                log.warning("recording_last_line_incomplete", path=str(path), line=pending[0])
    if stats.truncated:
        log.warning("recording_read_partially", path=str(path), records=stats.records)


def _record(path: Path, lineno: int, line: str, *, last: bool, truncated: bool = False) -> dict[str, Any]:
    """One line → its record; `{}` for a half-written last line (the caller stops there)."""
    cut = last and (truncated or not line.endswith("\n"))
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        if cut:
            return {}
        raise RecordingError(
            f"{path}: line {lineno}: not a JSON object ({exc.msg} at column {exc.colno})"
        ) from None
    if not isinstance(record, dict):
        raise RecordingError(f"{path}: line {lineno}: expected a JSON object, got {type(record).__name__}")
    check_record(record, f"{path}: line {lineno}")
    if lineno == 1:
        if record["k"] != "meta":
            raise RecordingError(f"{path}: line 1: expected the 'meta' record first, got k={record['k']!r}")
        if record.get("v") != FORMAT_VERSION:
            raise RecordingError(
                f"{path}: line 1: unsupported format version v={record.get('v')!r} (expected 1)"
            )
    return record


def check_record(record: dict[str, Any], where: str) -> None:
    """The fields every record must have (`k` and `wall` strings), else a RecordingError naming `where`."""
    kind, wall = record.get("k"), record.get("wall")
    if type(kind) is not str:
        raise RecordingError(f"{where}: expected a string 'k' (record kind), got {kind!r}")
    if type(wall) is not str:
        raise RecordingError(f"{where}: expected a string 'wall' (ISO-8601 KST time), got {wall!r}")
