"""Command line: `kiwoom-bot <command>`.

Each subcommand is a small function from parsed arguments to an exit code; output for people goes
through `_out` (stdout, flushed line by line so pipes and `--json` consumers see it at once).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import anyio

from bot.log import configure_logging

EXIT_OK = 0
EXIT_USAGE = 64
EXIT_CONFIG = 78


def _out(line: str) -> None:
    """Write one line for the user, flushed immediately."""
    print(line, flush=True)


def _cmd_simulator(args: argparse.Namespace) -> int:
    """Serve the loopback Kiwoom exchange until interrupted."""
    from bot.sim.standalone import serve_standalone

    configure_logging(args.log_level)
    if args.speed <= 0:
        _out(f"kiwoom-bot simulator: --speed must be > 0, got {args.speed}")
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
            )
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        _out(f"kiwoom-bot simulator: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
        return 75
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
    sim.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    sim.set_defaults(handler=_cmd_simulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)
