"""Reconnect: drop the WebSocket N times; time until re-logged-in with every condition and tick back.

    uv run python bench/reconnect.py [--drops 10] [--backoff-base 0.5] [--quick]

The daemon (`bot.app.run_daemon`, paper mode aimed at the loopback simulator) runs in this process
with two condition strategies (saved conditions 거래량급증 and 신고가돌파, realtime) and a strategy
watching five symbols' ticks. Each round the simulator's fault API closes every session
(`faults.drop_ws()`, no SYSTEM frame); the server itself stays reachable, so the clock starts at
the drop. It stops when the simulator holds a logged-in session whose registrations and realtime
conditions equal those before the drop (probed every 0.5 ms, the resolution of the figures).
A session that had been up for `[broker] reconnect_steady_s` is retried at once (the bench sets it
to 0.5 s: its sessions live ~1 s, a real one hours); a younger one waits the back-off
(`reconnect_base_s`). CNSRREQ requests are paced `[broker] condition_pace_s` apart (default 1 s,
kiwoom-protocol.md §8), so with two realtime conditions the second is re-requested about one pace
after the first: that pacing, kept on purpose, is most of the figure. The per-phase medians show
where the time goes. Drops are 1.1 s apart after each restoration so
that pacing left over from the previous round does not count.
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
from bot.sim.hub import WsSession

TARGET_P99_S = 1.0
PACE_LAPSE_S = 1.1
CODES = ["005930", "000660", "035420", "035720", "003530"]


def _restored(
    sim: TimedSimulator, registered: dict[str, list[str]], conditions: set[str]
) -> WsSession | None:
    for session in sim.hub.sessions:
        if (
            session.logged_in
            and not session.closed
            and session.registered() == registered
            and session.realtime_conditions == conditions
        ):
            return session
    return None


def _logged_in(sim: TimedSimulator) -> bool:
    return any(s.logged_in and not s.closed for s in sim.hub.sessions)


def _ticks_back(sim: TimedSimulator, registered: dict[str, list[str]]) -> bool:
    return any(s.logged_in and not s.closed and s.registered() == registered for s in sim.hub.sessions)


async def measure(drops: int, backoff_base: float, pace: float) -> dict[str, list[float]]:
    """Seconds from each drop to: logged in, ticks re-registered, everything restored."""
    settings = SimSettings(seed=1, start=kst(2026, 11, 20, 9, 30), rest_rate_per_s=100_000)
    sim = TimedSimulator(settings, Stopwatch())
    strategies = (
        StrategyConfig(name="surge", plugin="bench_every_tick", budget_krw=10**9, condition="거래량급증",
                       params={"symbols": []}),
        StrategyConfig(name="highs", plugin="bench_every_tick", budget_krw=10**9, condition="신고가돌파",
                       params={"symbols": []}),
        StrategyConfig(name="ticks", plugin="bench_every_tick", budget_krw=10**9, params={"symbols": CODES}),
    )  # fmt: skip
    phases: dict[str, list[float]] = {"login": [], "ticks": [], "all": []}
    with tempfile.TemporaryDirectory(prefix="kiwoom-reconnect-") as tmp:
        async with sim.serve() as ep:
            cfg = bench_config(
                ep, Path(tmp), *strategies, reconnect_base_s=backoff_base, reconnect_steady_s=0.5,
                condition_pace_s=pace,
            )  # fmt: skip
            async with running_daemon(sim, cfg):
                if not await until(lambda: all(sim.hub.wanted("0B", c) for c in CODES), within=15):
                    raise SystemExit("the daemon never subscribed its ticks")
                await until(lambda: any(len(s.realtime_conditions) == 2 for s in sim.hub.sessions), within=15)
                session = sim.hub.sessions[-1]
                registered, conditions = session.registered(), set(session.realtime_conditions)
                await anyio.sleep(PACE_LAPSE_S)  # the start-up CNSRREQs' pacing lapses first, too
                for _ in range(drops):
                    sim.faults.drop_ws()
                    start = time.perf_counter()
                    await until(
                        lambda: not any(s.logged_in and not s.closed for s in sim.hub.sessions), within=5
                    )
                    marks: dict[str, float] = {}

                    def probe(marks: dict[str, float] = marks, start: float = start) -> bool:
                        now = time.perf_counter() - start
                        if "login" not in marks and _logged_in(sim):
                            marks["login"] = now
                        if "ticks" not in marks and _ticks_back(sim, registered):
                            marks["ticks"] = now
                        if _restored(sim, registered, conditions) is not None:
                            marks["all"] = now
                            return True
                        return False

                    if not await until(probe, within=30):
                        raise SystemExit("the daemon did not restore its subscriptions within 30 s")
                    for name, value in marks.items():
                        phases[name].append(value)
                    # an outage does not follow a resubscription within a second: let the client's
                    # CNSRREQ pacing (which spans connections) lapse before the next drop
                    await anyio.sleep(PACE_LAPSE_S)
    return phases


def main(argv: list[str] | None = None) -> int:
    """Measure and print one line per metric."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drops", type=int, default=10)
    parser.add_argument(
        "--backoff-base", type=float, default=0.5, help="[broker] reconnect_base_s (default 0.5)"
    )
    parser.add_argument(
        "--condition-pace", type=float, default=1.0, help="[broker] condition_pace_s (default 1.0)"
    )
    parser.add_argument("--quick", action="store_true", help="1 drop: a smoke run")
    args = parser.parse_args(argv)
    quiet_logs()
    register_bench_plugins()
    t0 = time.perf_counter()
    drops = 1 if args.quick else args.drops
    phases = anyio.run(measure, drops, args.backoff_base, args.condition_pace)
    metric(
        "reconnect_drops",
        drops,
        "drops",
        note=f"reconnect_base_s={args.backoff_base:g}, condition_pace_s={args.condition_pace:g}, "
        "2 conditions, 5 codes",
    )
    metric("reconnect_login_p50", percentile(phases["login"], 50), "s", note="drop → LOGIN acked")
    metric("reconnect_ticks_p50", percentile(phases["ticks"], 50), "s", note="drop → 0B/00/04/1h registered")
    metric("reconnect_p50", percentile(phases["all"], 50), "s", note="drop → conditions realtime too")
    metric("reconnect_p99", percentile(phases["all"], 99), "s", target=TARGET_P99_S, lower_is_better=True)
    metric("total_time", time.perf_counter() - t0, "s", target=60.0, lower_is_better=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
