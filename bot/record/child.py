"""The recorder's writer process: `python -m bot.record.child SETTINGS_JSON`, batches on stdin.

Started by `SessionRecorder`; reads batches (`batch.py`) from stdin and their payloads from the shared
ring (`ring_fd` in the settings, inherited), writes them with `FileWriter` and reports on stdout as JSON
lines (structlog events: `recording_opened`, `batch_written` with the running counts and the ring
position now free, `recording_failed`, and its other log events for the parent to log). It runs at a
lower priority (`NICE`): when CPUs are scarce trading comes first, and the recorder catches up from
its queue (or drops, counted) rather than slowing the trading process. It exits on
EOF after closing the gzip stream, so it dies with its parent however the parent ends; SIGINT and
SIGTERM are ignored (a Ctrl-C or a service stop reaching the whole process group must not cut the
recording short: the parent's EOF ends it).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TextIO

import structlog

from bot.clock import KST
from bot.record.batch import read_batch
from bot.record.writer import FileWriter

NICE = 19  # the lowest priority: a contended CPU gives it ~1.5% (CFS weights), an idle one all of it


def _reports(out: TextIO) -> structlog.typing.FilteringBoundLogger:
    """A logger whose events go to `out` as JSON lines (the parent reads and logs them)."""
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.WriteLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger("bot.record.child")
    return logger


def settings_of(argv: list[str]) -> dict[str, Any]:
    """The settings the parent passed (see `SessionRecorder._child_settings`)."""
    if len(argv) != 2:
        raise SystemExit("usage: python -m bot.record.child SETTINGS_JSON (started by SessionRecorder)")
    settings: dict[str, Any] = json.loads(argv[1])
    return settings


def _map_ring(fd: int, size: int) -> mmap.mmap | None:
    """The parent's shared ring (read only), or None when it made none."""
    if fd < 0 or size <= 0:
        return None
    try:
        return mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    finally:
        os.close(fd)


def run(settings: dict[str, Any], source: IO[bytes], report: structlog.typing.FilteringBoundLogger) -> int:
    """Open the first file, then write batches until EOF; 0 on a clean end, 1 after a failure."""
    directory, path = settings["directory"], settings["path"]
    writer = FileWriter(
        directory=Path(directory) if directory else None, path=Path(path) if path else None,
        keep_days=settings["keep_days"], source=settings["source"], mode=settings["mode"],
        config=settings["config"], compresslevel=settings["compresslevel"],
    )  # fmt: skip
    ns = settings["now_ns"]
    now = datetime.fromtimestamp(ns // 1_000_000_000, KST).replace(microsecond=ns // 1000 % 1_000_000)
    try:
        ring = _map_ring(settings.get("ring_fd", -1), settings.get("ring_size", 0))
        writer.start(now, settings["mono"])
        written = 0
        while (batch := read_batch(source, ring)) is not None:
            written += writer.write(batch)
            report.info("batch_written", written=written, bytes_in=writer.bytes_in, ring=batch.release)
    except (OSError, EOFError, ValueError) as exc:
        report.error("recording_failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        try:
            writer.close()
        except OSError as exc:
            report.error("recording_close_failed", error=f"{type(exc).__name__}: {exc}")
    return 0


def main() -> int:
    """Entry point: stdout becomes the report channel, anything printed by mistake goes to stderr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(NICE)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    report = _reports(out)
    started = time.monotonic()
    code = run(settings_of(sys.argv), sys.stdin.buffer, report)
    report.debug("recording_child_exiting", code=code, seconds=round(time.monotonic() - started, 3))
    return code


if __name__ == "__main__":
    sys.exit(main())
