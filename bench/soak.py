"""Soak: resident memory before and after 10M events through the engine (target growth < 20 MB).

    uv run python bench/soak.py [--events 10000000] [--config config/demo.toml] [--quick]

The events go through `Kernel.process` exactly as a replay feeds them (the dry-run broker fills
locally, the journal is a real SQLite file, the config's strategies run: by default the demo's
three), on a manual clock that crosses the whole regular session 09:00-15:20, so strategy timers,
phase changes, condition hits and exits, orders, fills and cancels all happen along the way.

To run 10M events in under a minute the events are made in-process as domain objects (`Tick`,
`ConditionHit`, `ConditionExit`), not as JSON frames: the feed codec is not the subject here (its
allocations are per frame and measured by `replay_throughput.py`). Ticks cover 200 symbols, a few
of which the strategies watch at any time; one event in 500 is a condition insert or delete.
After set-up the heap is frozen out of the collector's rounds (`gc.freeze()`, as a daemon may do
once started; it makes the run ~12 % faster, RSS is unaffected). The clock moves at each block of
500 events (about a simulated second). RSS is read from
/proc/self/statm after a full garbage collection; `growth` is end minus the
figure after a 1M-event warm-up (caches filled), `growth_total` end minus before the first event.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _engine
from _metrics import metric, quiet_logs
from gen_session import LISTINGS, SESSION_DAY

from bot.clock import KST
from bot.config import load_config
from bot.domain.market import ConditionExit, ConditionHit, Tick
from bot.engine.market_state import SymbolInfo
from bot.market.ticks import InstrumentKind, floor_to_tick, price_limits, tick_size

ROOT = Path(__file__).resolve().parent.parent
TARGET_GROWTH_MB = 20.0
SYMBOLS = 200
CONDITION_EVERY = 500
WARMUP = 1_000_000
OPEN = datetime.combine(SESSION_DAY, datetime.min.time(), KST) + timedelta(hours=9, seconds=1)
SESSION_S = 6 * 3600 + 19 * 60


def rss_mb() -> float:
    """Resident set size of this process in MB, after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize() / 1_048_576


def universe(rng: random.Random) -> list[tuple[str, str, int, InstrumentKind]]:
    """The generator's well-known listings plus synthetic ones up to SYMBOLS (code, name, base, kind)."""
    out = [(code, name, base, kind) for code, name, base, kind, _ in LISTINGS]
    n = 0
    while len(out) < SYMBOLS:
        n += 1
        base = floor_to_tick(rng.randint(2_000, 300_000))
        out.append((f"9{n:05d}", f"종목{n}", base, InstrumentKind.STOCK))
    return out


async def soak(total: int, config: Path, seed: int) -> dict[str, float]:
    """Run `total` events; returns the RSS figures and timings."""
    rng = random.Random(seed)
    cfg = load_config(config)
    symbols = universe(rng)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kiwoom-soak-") as tmp:
        async with _engine.engine(cfg, OPEN, Path(tmp) / "journal.sqlite3") as eng:
            k = eng.kernel
            ladders: list[list[int]] = []  # every valid price of the day, so a step is an index move
            for code, name, base, kind in symbols:
                lower, upper = price_limits(base, kind)
                eng.dry.set_reference(code, name, base, upper, lower, kind=kind)
                await k.process(SymbolInfo(code, name, base, upper, lower, kind is InstrumentKind.ETF))
                ladder, p = [], lower
                while p <= upper:
                    ladder.append(p)
                    p += tick_size(p, kind)
                ladders.append(ladder)
            await _engine.start(eng, {"거래량급증": "0", "신고가돌파": "1", "상승률상위": "2"})
            codes = [s[0] for s in symbols]
            at = [ladder.index(base) if base in ladder else len(ladder) // 2
                  for ladder, (_, _, base, _) in zip(ladders, symbols, strict=True)]  # fmt: skip
            members: set[str] = set()
            step_every = max(1, total // SESSION_S)
            process, random_ = k.process, rng.random
            n_codes = len(codes)
            out["rss_before"] = rss_mb()
            gc.freeze()  # the start-up heap (modules, config, plugins) out of the collector's rounds
            start = time.perf_counter()
            now = OPEN
            cum = [0] * n_codes
            tops = [len(ladder) - 1 for ladder in ladders]
            for chunk in range(0, total, CONDITION_EVERY):  # a condition event, then ticks
                if chunk >= WARMUP and "rss_warm" not in out:
                    out["warmup_s"] = time.perf_counter() - start
                    out["rss_warm"] = rss_mb()
                second = chunk // step_every
                if second and OPEN + timedelta(seconds=second) > now:
                    now = OPEN + timedelta(seconds=second)
                    await _engine.advance(eng, now)
                    await _engine.drain(eng)
                code = codes[int(random_() * 64)]  # the first 64: real names and some synthetic
                if code in members:
                    members.discard(code)
                    await process(ConditionExit("0", code, now))
                else:
                    members.add(code)
                    await process(ConditionHit("0", code, now))
                for _ in range(min(CONDITION_EVERY, total - chunk) - 1):
                    r = random_()
                    i = int(r * 1_000_003) % n_codes
                    j = at[i]
                    if r < 0.3:
                        if j:
                            j -= 1
                            at[i] = j
                    elif r > 0.7 and j < tops[i]:
                        j += 1
                        at[i] = j
                    ladder = ladders[i]
                    price = ladder[j]
                    qty = 1 + int(r * 300)
                    cum[i] += qty
                    ask = ladder[j + 1] if j < tops[i] else price
                    signed = qty if r > 0.5 else -qty
                    await process(
                        Tick(codes[i], now, price, signed, cum[i], 0, 0, price, price, price, ask, price)
                    )
            await _engine.drain(eng)
            out["elapsed_s"] = time.perf_counter() - start
            out["rss_after"] = rss_mb()
            stats = k.stats
            out.update(
                ticks=stats.ticks, hits=stats.condition_hits, orders=stats.submitted, fills=stats.fills,
                denied=stats.denied, tracked_orders=sum(1 for _ in k.portfolio.orders()),
            )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print one line per metric."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", type=Path, default=ROOT / "config" / "demo.toml")
    parser.add_argument("--quick", action="store_true", help="200,000 events: a smoke run")
    args = parser.parse_args(argv)
    total = 200_000 if args.quick else args.events
    quiet_logs()
    t0 = time.perf_counter()
    r = anyio.run(soak, total, args.config, args.seed)
    metric("soak_events", total, "events", note="domain events in-process, no JSON (codec not the subject)")
    metric("soak_rate", total / r["elapsed_s"], "events/s")
    metric("rss_before", r["rss_before"], "MB")
    if "rss_warm" in r:
        metric("rss_after_warmup", r["rss_warm"], "MB", note=f"after {WARMUP:,} events")
    metric("rss_after", r["rss_after"], "MB")
    warm = r.get("rss_warm", r["rss_before"])
    metric("rss_growth", r["rss_after"] - warm, "MB", target=TARGET_GROWTH_MB, lower_is_better=True)
    metric(
        "rss_growth_total",
        r["rss_after"] - r["rss_before"],
        "MB",
        target=TARGET_GROWTH_MB,
        lower_is_better=True,
    )
    metric(
        "soak_activity", r["orders"], "orders",
        note=f"ticks={r['ticks']:.0f} hits={r['hits']:.0f} fills={r['fills']:.0f} denied={r['denied']:.0f} "
        f"orders_tracked={r['tracked_orders']:.0f}",
    )  # fmt: skip
    metric("total_time", time.perf_counter() - t0, "s", target=60.0, lower_is_better=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
