"""Command line: `kiwoom-bot <command>`.

Each subcommand is a small function from parsed arguments to an exit code; output for people goes
through `_out` (stdout, flushed line by line so pipes and `--json` consumers see it at once).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from bot.config import BotConfig, ConfigInspection, credential_problems, inspect_config, load_config
from bot.errors import BrokerUnreachable, ConfigError
from bot.instance import AlreadyRunning
from bot.log import configure_logging

if TYPE_CHECKING:
    from bot.operator import Report

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_CONFIG = 78


def _out(line: str) -> None:
    """Write one line for the user, flushed immediately."""
    print(line, flush=True)


def _err(line: str) -> None:
    """Write one problem line to stderr, flushed immediately."""
    print(line, file=sys.stderr, flush=True)


def _err_lines(error: BaseException) -> None:
    """Write every line of an error (a ConfigError lists one problem per line) to stderr."""
    for line in str(error).splitlines():
        _err(line)


def _cmd_simulator(args: argparse.Namespace) -> int:
    """Serve the loopback Kiwoom exchange until interrupted."""
    from bot.sim.standalone import serve_standalone

    configure_logging(args.log_level)
    if args.speed <= 0:
        _out(f"kiwoom-bot simulator: --speed must be > 0, got {args.speed}")
        return EXIT_USAGE
    if args.record and Path(args.record).exists():
        _out(f"kiwoom-bot simulator: --record: {args.record} exists (a recording is never overwritten)")
        return EXIT_USAGE
    try:
        anyio.run(
            lambda: serve_standalone(
                host=args.host,
                port=args.port,
                seed=args.seed,
                speed=args.speed,
                as_json=args.json,
                write=_out,
                record_to=Path(args.record) if args.record else None,
            )
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        _out(f"kiwoom-bot simulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 75
    return EXIT_OK


# --- check-config ------------------------------------------------------------------------------------
def _strategy_problems(found: ConfigInspection, source: str) -> list[str]:
    """Build every strategy table that validated, so each plugin checks its own params."""
    from bot.engine.strategy import build_strategy

    problems: list[str] = []
    for index, strategy in found.strategies:
        try:
            build_strategy(strategy, source, index)
        except ConfigError as exc:
            problems += str(exc).splitlines()
    return problems


def _calendar_problems(found: ConfigInspection, source: str) -> list[str]:
    """Load the holiday override through the calendar; check the simulator's day is a trading day."""
    from bot.market.calendar import CalendarRangeError, TradingCalendar

    if found.market is None:
        return []
    try:
        calendar = TradingCalendar.load(found.market.holiday_file)
    except ConfigError as exc:
        return [f"{source}: market.holiday_file: {line}" for line in str(exc).splitlines()]
    sim = found.simulator
    if found.broker is None or found.broker.mode != "simulator" or sim is None or not sim.trading_day:
        return []
    day = date.fromisoformat(sim.trading_day)
    try:
        closed = calendar.closure_reason(day)
    except CalendarRangeError as exc:
        return [f"{source}: simulator.trading_day: {exc} (given: {sim.trading_day!r})"]
    if closed is not None:
        return [
            f"{source}: simulator.trading_day: expected a KRX trading day, the calendar says closed "
            f"({closed}) (given: {sim.trading_day!r})"
        ]
    return []


def check_config(path: Path, env: Mapping[str, str]) -> tuple[list[str], str]:
    """Every problem of a config file (config, strategy params, calendar, secrets) and a one-line summary.

    Nothing is connected or started: no simulator, no broker, no store.
    """
    source = str(path)
    try:
        found = inspect_config(path)
    except ConfigError as exc:
        return str(exc).splitlines(), ""
    problems = list(found.problems)
    problems += _strategy_problems(found, source)
    problems += _calendar_problems(found, source)
    if found.broker is not None:
        problems += credential_problems(found.broker, env, source)
    if problems or found.config is None:
        return problems, ""
    cfg = found.config
    names = (
        ", ".join(f"{s.name} ({s.plugin}{'' if s.enabled else ', disabled'})" for s in cfg.strategy) or "none"
    )
    count = len(cfg.strategy)
    summary = (
        f"OK {source}: mode={cfg.broker.mode}, {count} {'strategy' if count == 1 else 'strategies'}: {names}"
    )
    return [], summary


def _cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a config file without connecting anything; exit 78 listing every problem on stderr."""
    configure_logging("warning")  # a plugin that logs while being built must not write to stdout
    problems, summary = check_config(Path(args.file), os.environ)
    if problems:
        for line in problems:
            _err(line)
        _out(f"FAILED {args.file}: {len(problems)} problem{'' if len(problems) == 1 else 's'} (see stderr)")
        return EXIT_CONFIG
    _out(summary)
    return EXIT_OK


# --- run and demo --------------------------------------------------------------------------------------
EXIT_TEMPFAIL = 75
EXIT_SOFTWARE = 70


def _load_or_report(path: Path) -> BotConfig | None:
    """The validated config, or None after printing every problem on stderr."""
    try:
        return load_config(path)
    except ConfigError as exc:
        _err_lines(exc)
        return None


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or the exception itself."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _run_guarded(main: Callable[[], Awaitable[None]], what: str) -> int:
    """Run an async entry point, mapping failures to the exit codes systemd understands."""
    try:
        anyio.run(main)
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:  # task groups wrap errors: sort them by what the operator must do
        leaves = _leaves(exc)
        config = [e for e in leaves if isinstance(e, ConfigError)]
        if config:
            for error in config:
                _err_lines(error)
            return EXIT_CONFIG
        running = [e for e in leaves if isinstance(e, AlreadyRunning)]
        if running:
            _err(f"kiwoom-bot {what}: {running[0]}")
            return EXIT_TEMPFAIL
        unreachable = [e for e in leaves if isinstance(e, BrokerUnreachable)]
        if unreachable:
            _err(f"kiwoom-bot {what}: broker unreachable: {unreachable[0]}")
            return EXIT_TEMPFAIL
        import traceback

        _err(f"kiwoom-bot {what}: internal error: {type(exc).__name__}: {exc}")
        traceback.print_exception(exc, file=sys.stderr)
        return EXIT_SOFTWARE
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    """The daemon: run until SIGTERM/SIGINT with the given config (SIGHUP reloads it)."""
    from bot.engine.market_state import MarketState
    from bot.notify.console import ConsoleFeed
    from bot.notify.logfeed import LogFeed
    from bot.service import apply_logging, serve

    path = Path(args.config)
    cfg = _load_or_report(path)
    if cfg is None:
        return EXIT_CONFIG
    if args.log_level:
        cfg = cfg.model_copy(update={"log": cfg.log.model_copy(update={"level": args.log_level})})
    redactor = apply_logging(cfg)
    market = MarketState()
    feed: Callable[[object], None] = (
        ConsoleFeed(market, _out) if sys.stdout.isatty() else LogFeed(market)  # JSON lines under systemd
    )
    return _run_guarded(lambda: serve(cfg, path, sink=feed, market=market, redactor=redactor), "run")


def _cmd_demo(args: argparse.Namespace) -> int:
    """One simulated trading day against the built-in exchange, with a live feed and a summary."""
    from bot.demo import DEMO_CONFIG, main

    if args.speed is not None and args.speed <= 0:
        _err(f"kiwoom-bot demo: --speed must be > 0, got {args.speed}")
        return EXIT_USAGE
    path = Path(args.config) if args.config else DEMO_CONFIG
    if _load_or_report(path) is None:
        return EXIT_CONFIG
    configure_logging(args.log_level)
    try:
        return main(path, speed=args.speed, seed=args.seed, write=_out)
    except ConfigError as exc:
        _err_lines(exc)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK


def _cmd_switch(args: argparse.Namespace) -> int:
    """`kill` / `resume`: change the persisted kill switch; a running daemon follows within a second."""
    from bot.clock import LiveClock
    from bot.domain.values import TradingState
    from bot.store import StoreFailed, change_trading_state

    cfg = _load_or_report(Path(args.config))
    if cfg is None:
        return EXIT_CONFIG
    configure_logging("warning")
    state = TradingState.ACTIVE if args.command == "resume" else TradingState(args.mode)
    reason = args.reason or (
        "resumed by the operator" if state is TradingState.ACTIVE else "killed by the operator"
    )
    who = f"cli:{os.environ.get('USER') or os.getuid()}"

    async def change() -> None:
        record = await change_trading_state(cfg.store.path, state, reason, who, time=LiveClock().now())
        _out(f"trading state {record.state} (version {record.version}): {reason}")

    try:
        anyio.run(change)
    except StoreFailed as exc:
        _err(f"kiwoom-bot {args.command}: {exc}")
        return EXIT_TEMPFAIL
    return EXIT_OK


# --- operator read commands ----------------------------------------------------------------------------
def _iso_date(text: str) -> date:
    """`--date` values: a KST trading day as YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _print_report(report: Report, as_json: bool) -> None:
    """An operator command's report as aligned lines, or as one JSON document."""
    import json

    if as_json:
        _out(json.dumps(report.data, ensure_ascii=False, indent=2))
    else:
        for line in report.lines:
            _out(line)


def _cmd_read(args: argparse.Namespace) -> int:
    """`status` / `orders` / `fills` / `positions` / `pnl`: read the journal (safe while the daemon runs)."""
    from bot.app import make_clock
    from bot.operator import Query, read_report
    from bot.store import StoreFailed

    cfg = _load_or_report(Path(args.config))
    if cfg is None:
        return EXIT_CONFIG
    configure_logging("warning")
    today = make_clock(cfg).now().date()
    query = Query(args.command, today, getattr(args, "date", None), getattr(args, "open", False))
    try:
        report = anyio.run(read_report, cfg.store.path, query)
    except StoreFailed as exc:
        _err(f"kiwoom-bot {args.command}: {exc}")
        return EXIT_TEMPFAIL
    _print_report(report, args.json)
    return EXIT_OK


def _cmd_conditions(args: argparse.Namespace) -> int:
    """`conditions`: log in, list the account's saved condition searches (seq, name), disconnect."""
    from bot.errors import KiwoomBotError
    from bot.operator import conditions_report, list_conditions

    path = Path(args.config)
    cfg = _load_or_report(path)
    if cfg is None:
        return EXIT_CONFIG
    configure_logging("warning")
    try:
        listed = anyio.run(list_conditions, cfg, str(path))
    except Exception as exc:
        leaves = _leaves(exc)
        config = [e for e in leaves if isinstance(e, ConfigError)]
        for error in config:
            _err_lines(error)
        if config:
            return EXIT_CONFIG
        known = [e for e in leaves if isinstance(e, KiwoomBotError)]
        if not known:
            raise
        _err(f"kiwoom-bot conditions: {known[0]}")
        return EXIT_TEMPFAIL
    _print_report(conditions_report(listed), args.json)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="kiwoom-bot",
        description="Rule-based trading daemon for Kiwoom Securities' REST + WebSocket API.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser(
        "simulator",
        help="serve the loopback Kiwoom exchange simulator until interrupted",
        description="Serve a loopback exchange that speaks Kiwoom's REST + WebSocket protocol.",
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    sim.add_argument("--seed", type=int, default=1, help="seed of the synthetic market (default 1)")
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    sim.add_argument(
        "--json", action="store_true", help="print one JSON line: rest_url, ws_url, appkey, secretkey"
    )
    sim.add_argument(
        "--record", metavar="FILE", default=None,
        help="record the frames sent and REST replies served to FILE (gzip JSON lines, e.g. s.jsonl.gz)",
    )  # fmt: skip
    sim.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    sim.set_defaults(handler=_cmd_simulator)

    check = sub.add_parser(
        "check-config",
        help="validate a config file (keys, strategy params, holiday file, secrets) without connecting",
        description=(
            "Validate a kiwoom-bot TOML file without connecting anything. Prints one OK line and exits 0, "
            "or prints one line per problem on stderr and exits 78."
        ),
    )
    check.add_argument("file", help="the TOML file, e.g. /etc/kiwoom-bot/bot.toml")
    check.set_defaults(handler=_cmd_check_config)

    run = sub.add_parser("run", help="run the trading daemon", description="Run the trading daemon.")
    run.add_argument("--config", required=True, help="the TOML file, e.g. /etc/kiwoom-bot/bot.toml")
    run.add_argument(
        "--log-level",
        default=None,
        choices=("debug", "info", "warning", "error"),
        help="override [log] level",
    )
    run.set_defaults(handler=_cmd_run)

    kill = sub.add_parser(
        "kill",
        help="stop new entries now (persisted; a running daemon follows within a second)",
        description="Throw the kill switch in the journal named by the config. Cancels still go out.",
    )
    kill.add_argument("--config", required=True, help="the daemon's TOML file (names the journal)")
    kill.add_argument(
        "--mode",
        default="HALTED",
        choices=("HALTED", "REDUCING"),
        help="HALTED (default) or REDUCING (exits only)",
    )
    kill.add_argument("--reason", default="", help="why, for the journal and the operator")
    kill.set_defaults(handler=_cmd_switch)
    resume = sub.add_parser("resume", help="allow trading again (ACTIVE)", description="Set ACTIVE again.")
    resume.add_argument("--config", required=True, help="the daemon's TOML file (names the journal)")
    resume.add_argument("--reason", default="", help="why, for the journal")
    resume.set_defaults(handler=_cmd_switch)

    demo = sub.add_parser(
        "demo",
        help="trade one simulated day (08:30-15:40) against the built-in exchange, then print a summary",
        description="The whole bot against the built-in simulator: the same code path as `run`.",
    )
    demo.add_argument("--speed", type=float, default=None, help="simulated seconds per real second")
    demo.add_argument("--seed", type=int, default=None, help="seed of the synthetic market")
    demo.add_argument("--config", default=None, help="a config to use instead of config/demo.toml")
    demo.add_argument("--log-level", default="error", choices=("debug", "info", "warning", "error"))
    demo.set_defaults(handler=_cmd_demo)
    _add_read_parsers(sub)
    _add_report_replay_parsers(sub)
    return parser


def _cmd_report(args: argparse.Namespace) -> int:
    """`report`: print the stored end-of-day report of a day (made from the journal if none was stored)."""
    from bot.report.cli import run_report

    return run_report(args, out=_out, err=_err)


def _cmd_replay(args: argparse.Namespace) -> int:
    """`replay`: feed a recorded session through the engine with the dry-run broker; print the summary."""
    from bot.replay.cli import run_replay

    return run_replay(args, out=_out, err=_err)


def _add_report_replay_parsers(sub: Any) -> None:
    """`report` (the end-of-day report) and `replay` (a recorded session through the same engine)."""
    report = sub.add_parser(
        "report",
        help="print the end-of-day report of a KST trading day (default today)",
        description="Print the end-of-day report: trades, realized P&L after fees and tax, positions, "
        "differences with the broker, denials by rule, reconnects, lost notifications.",
    )
    report.add_argument("--config", required=True, help="the daemon's TOML file (names the journal)")
    report.add_argument("--date", type=_iso_date, default=None, help="YYYY-MM-DD (default today)")
    report.add_argument("--json", action="store_true", help="print one JSON document (money as int KRW)")
    report.set_defaults(handler=_cmd_report)
    replay = sub.add_parser(
        "replay",
        help="replay a recorded session through the engine with the dry-run broker",
        description="Feed a recording (see [record]) through the same codec, kernel, strategies, risk and "
        "store with a simulated clock and local fills; print the summary and per-strategy statistics.",
    )
    replay.add_argument("session", metavar="SESSION_FILE", help="a recording, e.g. 2026-11-20.1.jsonl.gz")
    replay.add_argument("--config", default=None, help="strategies and risk to use (default: the demo's)")
    replay.add_argument("--speed", default="max", help="max (default), 1x, or Nx (e.g. 60x)")
    replay.add_argument("--json", action="store_true", help="print the result as one JSON document")
    replay.add_argument("--store", default=None, help="keep the journal of the replay here (default: temp)")
    replay.add_argument("--log-level", default="error", choices=("debug", "info", "warning", "error"))
    replay.set_defaults(handler=_cmd_replay)


def _add_read_parsers(sub: Any) -> None:
    """The operator's read commands: `status`, `orders`, `fills`, `positions`, `pnl`, `conditions`."""

    def add(
        name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        cmd: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("--config", required=True, help="the daemon's TOML file (names the journal)")
        cmd.add_argument("--json", action="store_true", help="print one JSON document (money as int KRW)")
        cmd.set_defaults(handler=handler)
        return cmd

    add("status", "trading state, today's orders by outcome, open positions, today's realized P&L", _cmd_read)
    orders = add("orders", "today's orders (default) or every working order", _cmd_read)
    which = orders.add_mutually_exclusive_group()
    which.add_argument("--today", action="store_true", help="orders of today's KST trading day (default)")
    which.add_argument("--open", action="store_true", help="every working order, of any day")
    fills = add("fills", "the fills of a KST trading day (default today)", _cmd_read)
    fills.add_argument("--date", type=_iso_date, default=None, help="YYYY-MM-DD (default today)")
    add("positions", "open positions per strategy and stock", _cmd_read)
    pnl = add("pnl", "realized P&L per strategy of a KST trading day (default today)", _cmd_read)
    pnl.add_argument("--date", type=_iso_date, default=None, help="YYYY-MM-DD (default today)")
    add(
        "conditions",
        "list the account's saved condition searches (seq and name) for [[strategy]] condition",
        _cmd_conditions,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
