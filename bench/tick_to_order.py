"""Tick to order: the simulator writes a 0B frame that triggers an entry → it receives the kt10000 POST.

    uv run python bench/tick_to_order.py [--triggers 1000] [--code 003530] [--quick]

The whole daemon (`bot.app.run_daemon`, paper mode aimed at the loopback simulator: WebSocket
client, codec, kernel, risk gate, router, journal, REST client) runs in this process with one
strategy, `bench/plugins/bench_every_tick.py`, that market-buys on every print of exactly 777,777
shares. The benchmark injects such a print through the simulator's hub (values built by the
simulator itself) and times, inside the simulator's ASGI app (`_simbench.TimedSimulator`), from the
frame being handed to the server for writing to the order POST arriving. One trigger at a time:
the next one is written once the previous order is acknowledged (its number known to the engine)
and 12 ms after the simulator's latest REST request, so the client's REST pacer (1/rate plus its
guard between any two requests: 0.105 ms at the bench config's 10,000/s; at Kiwoom's 5/s it is
210 ms) grants the order's slot at once.
Simulator and daemon share one event loop, as in `kiwoom-bot demo`; the simulator's own market
keeps running (a step per simulated second) and its frames queue with the triggers.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anyio

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
    until,
)

from bot.clock import kst
from bot.config import StrategyConfig
from bot.sim import SimSettings
from bot.sim.realtime import real_entry, tick_values

TRIGGER_QTY = 777_777
TARGET_P99_MS = 1.0
PACING_NS = 12_000_000


async def measure(triggers: int, code: str) -> tuple[list[float], int, int, dict[str, int]]:
    """Latencies (ms) of the triggers that produced an order; triggers sent; missed; denials by rule."""
    watch = Stopwatch(marker=f'"15":"+{TRIGGER_QTY}"', api_id=b"kt10000")
    settings = SimSettings(seed=1, start=kst(2026, 11, 20, 9, 30), rest_rate_per_s=100_000)
    sim = TimedSimulator(settings, watch)
    strategy = StrategyConfig(
        name="bench", plugin="bench_every_tick", budget_krw=10**12, max_positions=1_000,
        params={"symbols": [code], "trigger_qty": TRIGGER_QTY},
    )  # fmt: skip
    latencies: list[float] = []
    missed = 0
    with tempfile.TemporaryDirectory(prefix="kiwoom-t2o-") as tmp:
        async with sim.serve() as ep, running_daemon(sim, bench_config(ep, Path(tmp), strategy)) as daemon:
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
                # the next trigger once the engine knows this order's number (else the risk gate
                # rightly refuses a second entry while one is unconfirmed)
                await until(lambda: all(o.order_no for o in kernel.portfolio.working()), within=2)
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
    args = parser.parse_args(argv)
    quiet_logs()
    register_bench_plugins()
    t0 = time.perf_counter()
    latencies, sent, missed, denials = anyio.run(measure, 50 if args.quick else args.triggers, args.code)
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
