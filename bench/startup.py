"""Startup: process start → READY=1 on a real NOTIFY_SOCKET, reconciliation included (target ≤ 2 s).

    uv run python bench/startup.py [--runs 3] [--rate 5] [--quick]

The loopback simulator runs in this process holding 50 positions (its 32 well-known symbols plus 18
synthetic listings, `SimSettings.extra_listings`) and 20 open orders placed "from HTS" through
its fault API (`inject_external_order`), so the daemon's startup reconciliation pages through
kt00018 holdings and ka10075 open orders and adopts every difference. Each run starts
`python -m bot run --config FILE` (paper mode aimed at the simulator, fresh state directory) as a
subprocess with `NOTIFY_SOCKET` set to an AF_UNIX datagram socket of ours, and times from just
before the process is spawned to the `READY=1` datagram; then the daemon is stopped with SIGTERM.
A second figure does the same through `uv run kiwoom-bot run` (uv's own start-up included).
`--rate` is the client's REST pacing (`[broker.throttle] requests_per_s`; Kiwoom's real server
allows about 5/s, which bounds how fast reconciliation can page).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _metrics import metric, quiet_logs
from _simbench import ENV, percentile

from bot.clock import kst
from bot.domain.values import Side
from bot.market.ticks import floor_to_tick
from bot.sim import SimEndpoints, SimSettings, Simulator
from bot.sim.exchange import Holding

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0
OPEN_ORDERS = 20
RECONCILE_APIS = ("ka10075", "ka10076", "kt00018")  # open orders, fills, holdings


def seed_account(sim: Simulator) -> tuple[int, int]:
    """Give the simulated account a holding in every listed symbol and 20 resting buy orders."""
    market = sim.market
    for code in market.codes:
        price = market.last_price(code)
        sim.exchange.positions[code] = Holding(code, market.name(code), 10, 10 * price)
    for code in list(market.codes)[:OPEN_ORDERS]:
        low = floor_to_tick(market.last_price(code) * 9 // 10)  # well under the market: it rests
        sim.faults.inject_external_order(code=code, side=str(Side.BUY), qty=1, price=low)
    return len(sim.exchange.holdings()), len(sim.exchange.open_orders())


def write_config(ep: SimEndpoints, tmp: Path, rate: float) -> Path:
    """A paper-mode TOML aimed at the simulator, as an operator would write it."""
    path = tmp / "bot.toml"
    path.write_text(
        f"""[broker]
mode = "paper"
rest_url = "{ep.rest_url}"
ws_url = "{ep.ws_url}"
state_dir = "{tmp / "state"}"
[broker.throttle]
requests_per_s = {rate}
[market]
no_entry_after_open_min = 0
no_entry_before_close_min = 0
[store]
path = "{tmp / "journal.sqlite3"}"
[[strategy]]
name = "basket"
plugin = "scheduled_rebalance"
budget_krw = 2000000
max_positions = 1
[strategy.params]
symbols = ["005930"]
krw_per_symbol = 700000
buy_at = "15:00"
sell_at = false
""",
        encoding="utf-8",
    )
    return path


async def one_run(command: list[str], ep: SimEndpoints, rate: float) -> float:
    """Seconds from spawning the daemon to its READY=1 datagram."""
    with tempfile.TemporaryDirectory(prefix="kiwoom-startup-") as tmp_name:
        tmp = Path(tmp_name)
        config = write_config(ep, tmp, rate)
        notify = str(tmp / "notify.sock")
        log_path = tmp / "daemon.log"
        async with await anyio.create_unix_datagram_socket(local_path=notify) as sock:
            env = {**os.environ, **ENV, "NOTIFY_SOCKET": notify}
            with log_path.open("wb") as log_file:
                start = time.perf_counter()
                proc = await anyio.open_process(
                    [*command, "run", "--config", str(config)],
                    stdout=subprocess.DEVNULL, stderr=log_file, env=env, cwd=ROOT,
                )  # fmt: skip
                try:
                    with anyio.fail_after(60):
                        while True:
                            data, _ = await sock.receive()
                            if b"READY=1" in data.split(b"\n"):
                                elapsed = time.perf_counter() - start
                                break
                except TimeoutError:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise SystemExit(f"no READY=1 within 60 s; the daemon's stderr ends:\n{tail}") from None
                finally:
                    with anyio.CancelScope(shield=True):
                        if proc.returncode is None:
                            proc.send_signal(signal.SIGTERM)
                        with anyio.move_on_after(30):
                            await proc.wait()
                        if proc.returncode is None:
                            proc.kill()
                            await proc.wait()
    return elapsed


async def measure(runs: int, rate: float) -> dict[str, list[float]]:
    """READY times for `python -m bot` and `uv run kiwoom-bot`, against one seeded simulator."""
    settings = SimSettings(
        seed=1, start=kst(2026, 11, 20, 9, 10), rest_rate_per_s=max(rate, 5.0) * 2, extra_listings=18
    )
    sim = Simulator(settings)
    out: dict[str, list[float]] = {"python": [], "uv": []}
    async with sim.serve() as ep:
        held, working = seed_account(sim)
        out["seeded"] = [float(held), float(working)]
        before = dict(sim.stats.rest_calls)
        for _ in range(runs):
            out["python"].append(await one_run([sys.executable, "-m", "bot"], ep, rate))
        calls = {k: (v - before.get(k, 0)) / runs for k, v in sim.stats.rest_calls.items()}
        out["calls"] = [float(calls.get(api, 0)) for api in RECONCILE_APIS]
        uv = shutil.which("uv")
        if uv is not None:
            for _ in range(runs):
                out["uv"].append(await one_run([uv, "run", "--frozen", "kiwoom-bot"], ep, rate))
    return out


def main(argv: list[str] | None = None) -> int:
    """Measure and print one line per metric."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--rate", type=float, default=5.0, help="client REST requests/s (default 5, Kiwoom's)"
    )
    parser.add_argument("--quick", action="store_true", help="one run each: a smoke run")
    args = parser.parse_args(argv)
    quiet_logs()
    t0 = time.perf_counter()
    r = anyio.run(measure, 1 if args.quick else args.runs, args.rate)
    held, working = r["seeded"]
    note = f"{held:.0f} holdings, {working:.0f} open orders at the broker; REST {args.rate:g}/s"
    metric("startup_ready_p50", percentile(r["python"], 50), "s", note=f"python -m bot run; {note}")
    metric("startup_ready_max", max(r["python"]), "s", target=TARGET_S, lower_is_better=True)
    if r["uv"]:
        metric("startup_ready_uv_max", max(r["uv"]), "s", target=TARGET_S, lower_is_better=True,
               note="uv run kiwoom-bot run")  # fmt: skip
    calls = ", ".join(f"{api} x{n:g}" for api, n in zip(RECONCILE_APIS, r["calls"], strict=True))
    metric("startup_reconcile_requests", sum(r["calls"]), "requests", note=f"per start: {calls}")
    metric("total_time", time.perf_counter() - t0, "s", target=60.0, lower_is_better=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
