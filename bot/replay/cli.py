"""`kiwoom-bot replay SESSION_FILE [--config F] [--speed max|1x|Nx] [--json]`: run a recording through
the engine with the dry-run broker and print the demo's summary plus per-strategy statistics.

Exit codes (bot/cli.py): 0 done, 64 a bad argument (`--speed`), 78 a config that fails validation
(or names a condition the recording does not list), 65 a recording that cannot be replayed
(missing, unreadable, a corrupt line — named by file and line — or no frames).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from bot.config import BotConfig, load_config
from bot.errors import ConfigError
from bot.notify.console import krw
from bot.record import RecordingCorrupt
from bot.replay.engine import RecordingError, ReplayResult, replay_file
from bot.summary import render_summary

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_DATA = 65  # EX_DATAERR: the recording cannot be replayed
EXIT_CONFIG = 78

Write = Callable[[str], None]


def parse_speed(text: str) -> float | None:
    """`max` → None (as fast as possible); `1x`, `60x`, `0.5x` → the factor; anything else ValueError."""
    value = text.strip().lower()
    if value == "max":
        return None
    if value.endswith("x"):
        try:
            factor = float(value[:-1])
        except ValueError:
            factor = 0.0
        if factor > 0 and factor != float("inf"):
            return factor
    raise ValueError(f"--speed: expected max, 1x or Nx with N > 0 (e.g. 60x), got {text!r}")


def _leaf(exc: BaseException) -> BaseException:
    """The first non-group exception inside (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def run_replay(args: argparse.Namespace, *, out: Write, err: Write) -> int:
    """The `replay` command; returns the exit code."""
    from bot.demo import DEMO_CONFIG
    from bot.log import configure_logging

    try:
        speed = parse_speed(str(args.speed))
    except ValueError as exc:
        err(f"kiwoom-bot replay: {exc}")
        return EXIT_USAGE
    config_path = Path(args.config) if args.config else DEMO_CONFIG
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            err(line)
        return EXIT_CONFIG
    session = Path(args.session)
    if not session.is_file():
        err(f"kiwoom-bot replay: {session}: no such recording")
        return EXIT_DATA
    configure_logging(getattr(args, "log_level", "error") or "error")
    store: str | None = getattr(args, "store", None)
    try:
        result = _run(session, cfg, str(config_path), speed, Path(store) if store else None)
    except BaseException as exc:  # unwrap task-group wrappers; anything else is re-raised
        leaf = _leaf(exc)
        if isinstance(leaf, RecordingError | RecordingCorrupt):
            err(f"kiwoom-bot replay: {leaf}")
            return EXIT_DATA
        if isinstance(leaf, OSError):
            err(f"kiwoom-bot replay: {session}: cannot read the recording ({leaf})")
            return EXIT_DATA
        if isinstance(leaf, ConfigError):
            for line in str(leaf).splitlines():
                err(line)
            return EXIT_CONFIG
        if isinstance(leaf, KeyboardInterrupt):
            return EXIT_OK
        raise
    if args.json:
        out(json.dumps(result_json(result, session, str(config_path)), ensure_ascii=False, indent=2))
    else:
        for line in render_result(result, session):
            out(line)
    return EXIT_OK


def _run(session: Path, cfg: BotConfig, source: str, speed: float | None, store: Path | None) -> ReplayResult:
    """Replay into `store`, or into a fresh journal in a temporary directory removed afterwards."""
    if store is not None:
        return anyio.run(lambda: replay_file(session, cfg, store_path=store, source=source, speed=speed))
    with tempfile.TemporaryDirectory(prefix="kiwoom-bot-replay-") as tmp:
        path = Path(tmp) / "replay.sqlite3"
        return anyio.run(lambda: replay_file(session, cfg, store_path=path, source=source, speed=speed))


def render_result(result: ReplayResult, session: Path) -> list[str]:
    """The demo's summary, the per-strategy table and the replay's own figures, as terminal lines."""
    lines = render_summary(result.summary)
    lines += [
        "",
        f"{'strategy':<20}{'trades':>7}{'win rate':>9}{'P&L after costs':>17}{'max drawdown':>15}"
        f"{'max exposure':>15}{'avg exposure':>15}",
    ]
    for s in result.strategies.values():
        rate = f"{s.win_rate:.0%}" if s.win_rate is not None else "-"
        lines.append(
            f"{s.strategy:<20}{s.trades:>7,}{rate:>9}{krw(s.realized_pnl):>17}{krw(s.max_drawdown):>15}"
            f"{krw(s.max_exposure):>15}{krw(s.avg_exposure):>15}"
        )
    per_s = result.events / result.elapsed_s if result.elapsed_s > 0 else 0.0
    lines.append(
        f"replayed {session}: {result.records:,} records, {result.frames:,} frames, {result.events:,} "
        f"events, {result.malformed:,} malformed skipped{', file truncated' if result.truncated else ''} "
        f"in {result.elapsed_s:.1f} s ({per_s:,.0f} events/s)"
    )
    return lines


def result_json(result: ReplayResult, session: Path, config: str) -> dict[str, Any]:
    """One JSON document: the run, the kernel's counters, per-strategy figures, orders and fills."""
    summary = result.summary
    stats = summary.stats
    return {
        "session": str(session),
        "config": config,
        "records": result.records,
        "frames": result.frames,
        "events": result.events,
        "malformed": result.malformed,
        "truncated": result.truncated,
        "elapsed_s": round(result.elapsed_s, 3),
        "started": summary.started.isoformat(),
        "ended": summary.ended.isoformat(),
        "state": summary.state,
        "disabled": summary.disabled,
        "counters": {
            "submitted": stats.submitted,
            "fills": stats.fills,
            "rejected": stats.rejected,
            "unknown": stats.unknown,
            "denied": stats.denied,
            "denials_by_rule": stats.denials_by_rule,
            "condition_hits": stats.condition_hits,
            "ticks": stats.ticks,
        },
        "strategies": {name: s.to_json() for name, s in result.strategies.items()},
        "open_positions": [
            {"strategy": strategy, "code": code, "qty": pos.qty, "avg_price": pos.avg_price}
            for (strategy, code), pos in sorted(summary.portfolio.positions().items())
        ],
        "orders": [
            {
                "intent_id": o.intent.intent_id,
                "strategy": o.intent.command.strategy,
                "code": o.intent.command.code,
                "side": str(o.intent.command.side),
                "order_type": str(o.intent.command.order_type),
                "qty": o.intent.command.qty,
                "price": o.intent.command.price,
                "state": str(o.intent.state),
                "order_no": o.intent.order_no,
                "filled_qty": o.intent.filled_qty,
                "created_at": o.intent.created_at.isoformat(),
            }
            for o in result.orders
        ],
        "fills": [
            {
                "order_no": f.order_no,
                "fill_no": f.fill_no,
                "intent_id": f.intent_id,
                "strategy": f.strategy,
                "code": f.code,
                "side": str(f.side),
                "qty": f.qty,
                "price": f.price,
                "fee": f.fee,
                "tax": f.tax,
                "realized_pnl": f.realized_pnl,
                "time": f.time.isoformat(),
            }
            for f in result.fills
        ],
    }
