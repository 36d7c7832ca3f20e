"""Where recordings go: `<dir>/<day>.<n>.jsonl.gz` numbering and deletion of old days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import structlog

from bot.record.format import file_name, parse_file_name

log = structlog.get_logger(__name__)


def next_path(directory: Path, day: date) -> Path:
    """The next free `<day>.<n>.jsonl.gz` in `directory` (n = 1 + the highest already there)."""
    used = [0]
    for entry in directory.iterdir():
        parsed = parse_file_name(entry.name)
        if parsed is not None and parsed[0] == day:
            used.append(parsed[1])
    return directory / file_name(day, max(used) + 1)


def prune(directory: Path, today: date, keep_days: int) -> list[Path]:
    """Delete recordings of days more than `keep_days` before `today`; returns what was deleted."""
    deleted: list[Path] = []
    for entry in sorted(directory.iterdir()):
        parsed = parse_file_name(entry.name)
        if parsed is None or (today - parsed[0]).days <= keep_days or not entry.is_file():
            continue
        try:
            entry.unlink()
        except OSError as exc:
            log.warning("recording_delete_failed", file=str(entry), error=str(exc))
            continue
        deleted.append(entry)
    if deleted:
        log.info("recordings_deleted", count=len(deleted), keep_days=keep_days, dir=str(directory))
    return deleted
