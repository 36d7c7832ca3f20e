"""Tick to order: the simulator writes a 0B frame that triggers an entry → it receives the kt10000 POST.

    uv run python bench/tick_to_order.py [--triggers 1000] [--code 003530] [--quick] [--in-process]

The whole daemon (`bot.app.run_daemon`, paper mode aimed at the loopback simulator: WebSocket
client, codec, kernel, risk gate, router, journal, REST client) runs in this process with one
strategy, `bench/plugins/bench_every_tick.py`, that market-buys on every print of exactly 777,777
shares. The simulator runs in a process of its own (`bench/_simproc.py`), as Kiwoom's servers do not
share the daemon's CPU; `--in-process` puts it on the daemon's event loop instead (as `kiwoom-bot
demo` does), where its own HTTP parsing, frame writing and market steps queue with the daemon's
work. The simulator injects each triggering print through its hub and times, inside its ASGI app
(`_simbench.TimedSimulator`), from the frame being handed to the server for writing to the order
POST arriving: both timestamps in one process. One trigger at a time: the next one is written once
the previous order is acknowledged (its number known to the engine) and 12 ms after the simulator's
latest REST request, so the client's REST pacer (1/rate plus its guard between any two requests:
0.105 ms at the bench config's 10,000/s; at Kiwoom's 5/s it is 210 ms) grants the order's slot at
once. The simulator's market keeps running (a step per simulated second): market orders fill at its
next step, so a few dozen orders are working at any time, as for a busy strategy.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _metrics import metric, quiet_logs
from _simbench import (
    Stopwatch,
    TimedSimulator,
    bench_config,
    percentile,
    register_bench_plugins,
    running_daemon,
    running_daemon_on,
    until,
)

from bot.clock import SimClock, kst
from bot.config import StrategyConfig
from bot.engine.kernel import Kernel
from bot.sim import SimEndpoints, SimSettings
from bot.sim.realtime import real_entry, tick_values

TRIGGER_QTY = 777_777
TARGET_P99_MS = 1.0
PACING_NS = 12_000_000
START = kst(2026, 11, 20, 9, 30)
MARKER = f'"15":"+{TRIGGER_QTY}"'
SIMPROC = Path(__file__).resolve().parent / "_simproc.py"


def strategy_config(code: str) -> StrategyConfig:
    """The bench strategy: a market buy on every trigger print of `code`."""
    return StrategyConfig(
        name="bench", plugin="bench_every_tick", budget_krw=10**12, max_positions=1_000,
        params={"symbols": [code], "trigger_qty": TRIGGER_QTY},
    )  # fmt: skip


async def acknowledged(kernel: Kernel) -> None:
    """Wait until the engine knows every working order's number (else the risk gate rightly refuses
    a second entry while one is unconfirmed)."""
    await until(lambda: all(o.order_no for o in kernel.portfolio.working()), within=2)


class RemoteSim:
    """The control connection to `bench/_simproc.py`."""

    def __init__(self, stream: SocketStream) -> None:
        self._stream = stream
        self._lines = BufferedByteReceiveStream(stream)

    async def ask(self, **request: Any) -> dict[str, Any]:
        """One request, one reply."""
        await self._stream.send(json.dumps(request).encode() + b"\n")
        with anyio.fail_after(10):
            reply: dict[str, Any] = json.loads(await self._lines.receive_until(b"\n", 1 << 16))
        return reply


@asynccontextmanager
async def simulator_process() -> AsyncIterator[tuple[SimEndpoints, RemoteSim]]:
    """Start `_simproc.py`, yield its endpoints and control connection; stop it at the end."""
    cmd = [sys.executable, str(SIMPROC), "--start", START.strftime("%Y-%m-%dT%H:%M"), "--marker", MARKER]
    async with await anyio.open_process(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stdin is not None
        with anyio.fail_after(20):
            first = await BufferedByteReceiveStream(proc.stdout).receive_until(b"\n", 1 << 16)
        info = json.loads(first)
        host_port = info["rest_url"].removeprefix("http://")
        host, port = host_port.rsplit(":", 1)
        try:
            async with await anyio.connect_tcp("127.0.0.1", info["control_port"]) as stream:
                yield SimEndpoints(host, int(port)), RemoteSim(stream)
        finally:
            await proc.stdin.aclose()  # EOF: the simulator exits
            with anyio.move_on_after(5):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()


async def measure(
    triggers: int, code: str, background_per_s: float = 0.0
) -> tuple[list[float], int, int, dict[str, int]]:
    """Latencies (ms) of the triggers that produced an order; triggers sent; missed; denials by rule.

    `background_per_s`: ordinary prints of the same symbol between triggers (a traded market keeps
    the feed path warm; the order path stays as cold as orders are rare)."""
    latencies: list[float] = []
    missed = 0
    with tempfile.TemporaryDirectory(prefix="kiwoom-t2o-") as tmp:
        async with simulator_process() as (ep, sim):
            cfg = bench_config(ep, Path(tmp), strategy_config(code))
            async with running_daemon_on(cfg, SimClock(START)) as daemon:
                with anyio.fail_after(10):
                    while not (await sim.ask(op="wanted", type="0B", code=code))["ok"]:  # noqa: ASYNC110
                        await anyio.sleep(0.01)  # a probe of the other process's state: no event to wait on
                kernel = daemon.kernel
                if background_per_s:
                    await sim.ask(op="background", code=code, per_s=background_per_s)
                for _ in range(triggers):
                    got = await sim.ask(op="trigger", code=code, qty=TRIGGER_QTY, gap_ns=PACING_NS, wait_s=2)
                    if got["write"] is None or got["post"] is None:
                        missed += 1
                        continue
                    latencies.append((got["post"] - got["write"]) / 1e6)
                    await acknowledged(kernel)
                denials = dict(kernel.stats.denials_by_rule)
    return latencies, triggers, missed, denials


async def measure_in_process(
    triggers: int, code: str, background_per_s: float = 0.0
) -> tuple[list[float], int, int, dict[str, int]]:
    """`measure` with the simulator on this process's event loop (`--in-process`)."""
    watch = Stopwatch(marker=MARKER, api_id=b"kt10000")
    settings = SimSettings(seed=1, start=START, rest_rate_per_s=100_000)
    sim = TimedSimulator(settings, watch)
    latencies: list[float] = []
    missed = 0
    with tempfile.TemporaryDirectory(prefix="kiwoom-t2o-") as tmp:
        async with (
            sim.serve() as ep,
            running_daemon(sim, bench_config(ep, Path(tmp), strategy_config(code))) as daemon,
        ):
            if not await until(lambda: sim.hub.wanted("0B", code), within=10):
                raise SystemExit(f"the daemon never subscribed 0B for {code}")
            kernel = daemon.kernel
            for _ in range(triggers):
                watch.arm()
                n_writes, n_posts = len(watch.writes), len(watch.requests)
                values = tick_values(sim.market.symbol(code), TRIGGER_QTY, sim.clock.now())
                sim.hub.publish([real_entry("0B", "주식체결", code, values)])
                with anyio.move_on_after(2):
                    await watch.requested.wait()
                if len(watch.requests) == n_posts or len(watch.writes) == n_writes:
                    missed += 1
                    continue
                latencies.append((watch.requests[n_posts] - watch.writes[n_writes]) / 1e6)
                await acknowledged(kernel)
                # and once the client's REST pacer would grant a slot at once (its interval is
                # 1/rate + a guard): queueing behind the previous request is not the subject
                await until(lambda: time.perf_counter_ns() - watch.last_rest > PACING_NS, within=1)
            denials = dict(kernel.stats.denials_by_rule)
    return latencies, triggers, missed, denials


def main(argv: list[str] | None = None) -> int:
    """Measure and print one line per metric."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--triggers", type=int, default=1_000)
    parser.add_argument("--code", default="003530", help="a simulator symbol (default 한화투자증권, cheap)")
    parser.add_argument("--quick", action="store_true", help="50 triggers: a smoke run")
    parser.add_argument(
        "--in-process", action="store_true", help="the simulator on the daemon's event loop (as the demo)"
    )
    parser.add_argument(
        "--background", type=float, default=0.0, metavar="N",
        help="N ordinary prints/s of the symbol between triggers (out-of-process simulator only)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    quiet_logs()
    register_bench_plugins()
    t0 = time.perf_counter()
    run = measure_in_process if args.in_process else measure
    count = 50 if args.quick else args.triggers
    latencies, sent, missed, denials = anyio.run(run, count, args.code, args.background)
    metric(
        "tick_to_order_triggers", sent, "triggers",
        note=f"{len(latencies)} orders, {missed} without an order, denials {denials or 'none'}",
    )  # fmt: skip
    if latencies:
        metric("tick_to_order_p50", percentile(latencies, 50), "ms")
        metric(
            "tick_to_order_p99", percentile(latencies, 99), "ms", target=TARGET_P99_MS, lower_is_better=True
        )
        metric("tick_to_order_max", max(latencies), "ms")
    metric("total_time", time.perf_counter() - t0, "s", target=60.0, lower_is_better=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
