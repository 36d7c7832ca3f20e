"""`kiwoom-bot demo`: the whole daemon trading one simulated day against the built-in exchange.

The same code path as `kiwoom-bot run --config config/demo.toml`: only the journal goes to a fresh
temporary directory (so every demo starts from an empty day) and the run ends at 15:40 simulated.
"""

from __future__ import annotations

import tempfile
import time as walltime
from collections.abc import Callable
from datetime import time
from pathlib import Path

import anyio

from bot.app import RunSummary, make_clock, run_daemon
from bot.config import BotConfig, load_config
from bot.engine.market_state import MarketState
from bot.notify.console import ConsoleFeed
from bot.summary import render_summary

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"
DEMO_END = time(15, 40)


def demo_config(path: Path, *, speed: float | None, seed: int | None, state_dir: Path) -> BotConfig:
    """The demo file with the command line's speed/seed and a private state directory."""
    cfg = load_config(path)
    sim = cfg.simulator.model_copy(
        update={k: v for k, v in (("speed", speed), ("seed", seed)) if v is not None}
    )
    broker = cfg.broker.model_copy(update={"state_dir": state_dir})
    store = cfg.store.model_copy(update={"path": state_dir / "kiwoom-bot.sqlite3"})
    return cfg.model_copy(update={"simulator": sim, "broker": broker, "store": store})


async def run_demo(
    cfg: BotConfig, source: str, write: Callable[[str], None], *, quiet: bool = False
) -> RunSummary:
    """Run the configured simulated day with a live feed on `write`, then return its summary."""
    clock = make_clock(cfg)
    market = MarketState()
    feed = ConsoleFeed(market, write, quiet=quiet)

    def ready() -> None:
        names = ", ".join(s.name for s in cfg.strategy if s.enabled)
        write(f"{clock.now():%H:%M:%S}  준비완료  daemon ready in simulator mode: {names}")

    return await run_daemon(
        cfg, source=source, sink=feed, clock=clock, stop_at=DEMO_END, ready=ready, market=market
    )


def main(path: Path, *, speed: float | None, seed: int | None, write: Callable[[str], None]) -> int:
    """Run the demo; returns the exit code."""
    started = walltime.monotonic()
    with tempfile.TemporaryDirectory(prefix="kiwoom-bot-demo-") as tmp:
        cfg = demo_config(path, speed=speed, seed=seed, state_dir=Path(tmp))
        summary = anyio.run(lambda: run_demo(cfg, str(path), write))
        for line in render_summary(summary):
            write(line)
    write(f"wall time {walltime.monotonic() - started:.1f} s")
    return 0
