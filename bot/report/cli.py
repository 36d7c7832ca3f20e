"""`kiwoom-bot report --config F [--date D] [--json]`: print a day's end-of-day report.

The report the daemon stored for that day is printed as it was made. If there is none, one is made
from the journal alone and marked `not compared`: the CLI never opens a broker session (Kiwoom
allows one WebSocket session per app key and the daemon may hold it). Nothing is written.
Exit codes as in `bot.cli`: 0 printed, 78 bad config, 75 no journal or unreadable journal.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import anyio

from bot.errors import ConfigError
from bot.operator import JournalMissing
from bot.report.build import build_report
from bot.report.model import EndOfDayReport, from_json, to_json
from bot.report.text import report_lines
from bot.store import StoreFailed, StoreReader

EXIT_OK = 0
EXIT_TEMPFAIL = 75
EXIT_CONFIG = 78
JOURNAL_SOURCE = "journal"
NOT_COMPARED = (
    "no report stored by the daemon for this day; made from the journal alone "
    "(the CLI never opens a broker session)"
)


async def load_report(path: Path, day: date, now_of: Callable[[], datetime]) -> EndOfDayReport:
    """The stored report of `day`, or one made from the journal at `path` alone (JournalMissing if none)."""
    if not await anyio.Path(path).is_file():
        raise JournalMissing(
            f"no journal at {path} (has the daemon run with this config? nothing was created)"
        )
    async with StoreReader.open(path) as reader:
        stored = await reader.daily_report(day)
        if stored is not None:
            try:
                return from_json(stored.body)
            except ValueError as exc:
                raise StoreFailed(
                    f"journal {path}: the report of {day.isoformat()} cannot be read: {exc}"
                ) from exc
        return await build_report(
            reader, day, time=now_of(), source=JOURNAL_SOURCE, not_compared=NOT_COMPARED
        )


def run_report(args: argparse.Namespace, *, out: Callable[[str], None], err: Callable[[str], None]) -> int:
    """Print the report of `args.date` (default today, KST); returns the exit code."""
    from bot.app import make_clock
    from bot.config import load_config
    from bot.log import configure_logging

    try:
        cfg = load_config(Path(args.config))
    except ConfigError as exc:
        for line in str(exc).splitlines():
            err(line)
        return EXIT_CONFIG
    configure_logging("warning")
    clock = make_clock(cfg)
    day = args.date or clock.now().date()
    try:
        report = anyio.run(load_report, cfg.store.path, day, clock.now)
    except StoreFailed as exc:
        err(f"kiwoom-bot report: {exc}")
        return EXIT_TEMPFAIL
    if args.json:
        out(json.dumps(to_json(report), ensure_ascii=False, indent=2))
    else:
        for line in report_lines(report):
            out(line)
    return EXIT_OK
